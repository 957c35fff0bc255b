package server

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// served counts, by "METHOD /path", the requests whose handler has returned,
// and wakes waiters at each one: a test waits for the server to be done with
// a request (an SSE stream that ended, say) instead of polling its state.
type served struct {
	mu   sync.Mutex
	n    map[string]int
	next chan struct{} // closed when the next request is done
}

// wrap returns h recording each request when h returns. The ResponseWriter
// is passed on untouched (flushing, deadlines and hijacking still work).
func (s *served) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer s.done(r.Method + " " + r.URL.Path)
		h.ServeHTTP(w, r)
	})
}

func (s *served) done(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		s.n = map[string]int{}
	}
	s.n[key]++
	if s.next != nil {
		close(s.next)
		s.next = nil
	}
}

// count returns how many key requests are done, and a channel closed when the
// next request (any) is.
func (s *served) count(key string) (int, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next == nil {
		s.next = make(chan struct{})
	}
	return s.n[key], s.next
}

// await waits until n key requests are done, failing the test after 10s.
func (s *served) await(t *testing.T, key string, n int) {
	t.Helper()
	limit := time.After(10 * time.Second)
	for {
		got, next := s.count(key)
		if got >= n {
			return
		}
		select {
		case <-next:
		case <-limit:
			t.Fatalf("%d of %d %s requests done after 10s", got, n, key)
		}
	}
}

// handlerTransport is an http.RoundTripper that serves each request with a
// handler in the calling goroutine, without a network: a client and an
// HTTPHandler can then run inside a testing/synctest bubble. Responses are
// whole (no streaming), which suits requests that end.
type handlerTransport struct{ h http.Handler }

func (ht handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	sr := req.Clone(req.Context())
	sr.RequestURI = req.URL.RequestURI()
	sr.RemoteAddr = "127.0.0.1:40000"
	if sr.Body == nil {
		sr.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	ht.h.ServeHTTP(rec, sr)
	if req.Body != nil {
		_ = req.Body.Close()
	}
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

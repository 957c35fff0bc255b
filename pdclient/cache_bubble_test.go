package pdclient

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"
)

// Tests of caches, shared fetches and waiters run inside a testing/synctest
// bubble: the clock is fake (a TTL passes when the test sleeps past it, at
// once and exactly), and synctest.Wait tells when every other goroutine is
// parked, which is how a test knows that concurrent callers have all queued
// behind one request, instead of sleeping "long enough".
//
// Two rules make a client usable in a bubble:
//
//   - It is built outside the bubble (before synctest.Test). New starts the
//     cache janitors, goroutines that tick until the cache is garbage
//     collected; started in a bubble they would outlive its test function,
//     which synctest reports as a deadlock. Outside, they keep the real clock
//     and tick once a minute at the soonest, long after these tests end.
//   - Its requests do not touch the network (a goroutine blocked on a socket
//     is not durably blocked, so neither Wait nor the fake clock could
//     proceed): inMemory serves them with the fake's handler in the calling
//     goroutine. Gates a handler waits on are made inside the bubble, so a
//     request held at one is durably blocked.

// inMemory is the option that sends the client's requests straight to the
// fake's handler.
func (f *fakeAPI) inMemory() Option {
	return WithHTTPClient(&http.Client{Transport: handlerTransport{f.srv.Config.Handler}})
}

// handlerTransport is an http.RoundTripper that serves each request with a
// handler, synchronously, as a server would have received it.
type handlerTransport struct{ h http.Handler }

func (ht handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	sr := req.Clone(req.Context())
	sr.RequestURI = req.URL.RequestURI()
	sr.RemoteAddr = "192.0.2.1:40000"
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

// TestBubbleClockDrivesTheCaches checks the premise of the bubble tests: a
// client built outside the bubble keeps its entries for the TTL of the fake
// clock, and its requests reach the fake.
func TestBubbleClockDrivesTheCaches(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.handle("GET /v1/connect/proj_test1/accounts", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"data":[{"id":"apn_1"}]}`)
	})
	cfg := f.config()
	cfg.AccountsTTL = time.Hour
	c, err := New(cfg, f.inMemory())
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if _, err := c.ListAccounts(t.Context(), "u", "slack"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(59 * time.Minute)
		if _, err := c.ListAccounts(t.Context(), "u", "slack"); err != nil {
			t.Fatal(err)
		}
		if got := f.apiCalls.Load(); got != 1 {
			t.Errorf("requests within the TTL = %d, want 1", got)
		}
		time.Sleep(2 * time.Minute)
		if _, err := c.ListAccounts(t.Context(), "u", "slack"); err != nil {
			t.Fatal(err)
		}
		if got := f.apiCalls.Load(); got != 2 {
			t.Errorf("requests after the TTL = %d, want 2", got)
		}
		if d := time.Since(start); d != 61*time.Minute {
			t.Errorf("the fake clock moved %v, want exactly the 61m slept", d)
		}
	})
}

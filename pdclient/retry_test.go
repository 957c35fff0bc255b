package pdclient

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// statusSequence answers with the given statuses in turn, then 200 with ok.
func statusSequence(statuses []int, header map[string]string, ok string) (http.HandlerFunc, *atomic.Int32) {
	var n atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i < len(statuses) {
			for k, v := range header {
				w.Header().Set(k, v)
			}
			writeJSON(w, statuses[i], `{"error":"try again"}`)
			return
		}
		writeJSON(w, 200, ok)
	}, &n
}

// resetConn closes the connection without an answer.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // RST rather than FIN
	}
	_ = conn.Close()
}

func TestRetries(t *testing.T) {
	t.Parallel()
	const runOK = `{"exports":{"$summary":"ran"}}`
	tests := []struct {
		name       string
		run        bool // POST actions/run rather than GET an account
		idempotent bool
		statuses   []int
		header     map[string]string
		wantErr    bool
		wantCalls  int32
	}{
		{name: "get 500 500 then ok", statuses: []int{500, 500}, wantCalls: 3},
		{name: "get 408 then ok", statuses: []int{408}, wantCalls: 2},
		{name: "get 503 always", statuses: []int{503, 503, 503, 503, 503}, wantErr: true, wantCalls: 4},
		{name: "get 400 not retried", statuses: []int{400}, wantErr: true, wantCalls: 1},
		{name: "get 404 not retried", statuses: []int{404}, wantErr: true, wantCalls: 1},
		{name: "get 429 past http date", statuses: []int{429}, header: map[string]string{"Retry-After": "Mon, 02 Jan 2006 15:04:05 GMT"}, wantCalls: 2},
		{name: "run 500 not retried", run: true, statuses: []int{500}, wantErr: true, wantCalls: 1},
		{name: "run 502 not retried", run: true, statuses: []int{502}, wantErr: true, wantCalls: 1},
		{name: "run 408 not retried", run: true, statuses: []int{408}, wantErr: true, wantCalls: 1},
		{name: "run 429 retried", run: true, statuses: []int{429, 429}, wantCalls: 3},
		{name: "idempotent run 500 retried", run: true, idempotent: true, statuses: []int{500, 503}, wantCalls: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			if tt.run {
				h, _ := statusSequence(tt.statuses, tt.header, runOK)
				f.handle("POST /v1/connect/proj_test1/actions/run", h)
			} else {
				h, _ := statusSequence(tt.statuses, tt.header, `{"id":"apn_1"}`)
				f.handle("GET /v1/connect/proj_test1/accounts/{id}", h)
			}
			c := f.client()
			var err error
			if tt.run {
				_, err = c.RunAction(t.Context(), RunActionRequest{ID: "x-y", ExternalUserID: "u", Idempotent: tt.idempotent})
			} else {
				_, err = c.GetAccount(t.Context(), "apn_1")
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got := f.apiCalls.Load(); got != tt.wantCalls {
				t.Errorf("requests = %d, want %d", got, tt.wantCalls)
			}
			if got := c.Stats().Retries; got != int64(tt.wantCalls-1) {
				t.Errorf("Stats.Retries = %d, want %d", got, tt.wantCalls-1)
			}
		})
	}
}

func TestRetryAfterSecondsIsHonoured(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	h, _ := statusSequence([]int{429}, map[string]string{"Retry-After": "1"}, `{"id":"apn_1"}`)
	f.handle("GET /v1/connect/proj_test1/accounts/{id}", h)
	start := time.Now()
	if _, err := f.client().GetAccount(t.Context(), "apn_1"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 950*time.Millisecond {
		t.Errorf("retried after %v, want at least the 1s Retry-After", d)
	}
}

func TestConnectionReset(t *testing.T) {
	t.Parallel()
	t.Run("get retried", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		var n atomic.Int32
		f.handle("GET /v1/connect/proj_test1/accounts/{id}", func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				resetConn(w)
				return
			}
			writeJSON(w, 200, `{"id":"apn_1"}`)
		})
		if _, err := f.client().GetAccount(t.Context(), "apn_1"); err != nil {
			t.Fatal(err)
		}
		if got := n.Load(); got != 2 {
			t.Errorf("requests = %d, want 2", got)
		}
	})
	t.Run("run not retried", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		var n atomic.Int32
		f.handle("POST /v1/connect/proj_test1/actions/run", func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			resetConn(w)
		})
		_, err := f.client().RunAction(t.Context(), RunActionRequest{ID: "x-y", ExternalUserID: "u"})
		if err == nil {
			t.Fatal("RunAction succeeded on a reset connection")
		}
		var ae *APIError
		if errors.As(err, &ae) {
			t.Errorf("err = %v, want a transport error", err)
		}
		if got := n.Load(); got != 1 {
			t.Errorf("requests = %d, want 1 (the action may have run)", got)
		}
	})
}

// refuseRunOnce fails the first actions/run as if the connection was refused.
type refuseRunOnce struct {
	base    http.RoundTripper
	refused atomic.Bool
}

func (t *refuseRunOnce) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && r.URL.Path == testPrefix+"/v1/connect/proj_test1/actions/run" && t.refused.CompareAndSwap(false, true) {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	return t.base.RoundTrip(r)
}

func TestRunRetriedWhenNeverSent(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	var n atomic.Int32
	f.handle("POST /v1/connect/proj_test1/actions/run", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		writeJSON(w, 200, `{"ret":1}`)
	})
	rt := &refuseRunOnce{base: http.DefaultTransport}
	c := f.client(WithHTTPClient(&http.Client{Transport: rt}))
	if _, err := c.RunAction(t.Context(), RunActionRequest{ID: "x-y", ExternalUserID: "u"}); err != nil {
		t.Fatal(err)
	}
	if !rt.refused.Load() || n.Load() != 1 {
		t.Errorf("refused %v, executed %d times; want a refusal and one execution", rt.refused.Load(), n.Load())
	}
}

func TestRetryBounds(t *testing.T) {
	t.Parallel()
	t.Run("max elapsed", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		h, _ := statusSequence([]int{503, 503, 503, 503, 503, 503, 503, 503, 503, 503}, nil, `{}`)
		f.handle("GET /v1/connect/proj_test1/accounts/{id}", h)
		c := f.client(WithRetry(RetryPolicy{MaxAttempts: 10, BaseDelay: 40 * time.Millisecond, MaxDelay: 40 * time.Millisecond, MaxElapsed: 100 * time.Millisecond}))
		start := time.Now()
		_, err := c.GetAccount(t.Context(), "apn_1")
		if err == nil {
			t.Fatal("want an error")
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("gave up after %v", d)
		}
		if got := f.apiCalls.Load(); got < 2 || got > 5 {
			t.Errorf("requests = %d, want 2..5 within 100ms of 20-40ms waits", got)
		}
	})
	t.Run("max attempts 1 disables retries", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		h, _ := statusSequence([]int{503}, nil, `{"id":"apn_1"}`)
		f.handle("GET /v1/connect/proj_test1/accounts/{id}", h)
		_, err := f.client(WithRetry(RetryPolicy{MaxAttempts: 1})).GetAccount(t.Context(), "apn_1")
		if err == nil || f.apiCalls.Load() != 1 {
			t.Errorf("err %v after %d requests; want an error after 1", err, f.apiCalls.Load())
		}
	})
	t.Run("deadline shorter than retry-after", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		h, _ := statusSequence([]int{429}, map[string]string{"Retry-After": "1"}, `{"id":"apn_1"}`)
		f.handle("GET /v1/connect/proj_test1/accounts/{id}", h)
		// 800 ms: short of the 1 s Retry-After, long enough for the first
		// answer on a busy machine under -race.
		ctx, cancel := context.WithTimeout(t.Context(), 800*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := f.client().GetAccount(ctx, "apn_1")
		if !errors.Is(err, ErrRateLimited) {
			t.Fatalf("err = %v, want the 429 (no time to wait for Retry-After)", err)
		}
		if d := time.Since(start); d > 600*time.Millisecond {
			t.Errorf("returned after %v, want at once", d)
		}
	})
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}.withDefaults()
	for attempt, max := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 5: time.Second, 30: time.Second} {
		for range 50 {
			d := p.backoff(attempt)
			if d < max/2 || d > max {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", attempt, d, max/2, max)
			}
		}
	}
}

func TestCancellationAndDeadline(t *testing.T) {
	t.Parallel()
	t.Run("deadline while waiting for the answer", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		f.handle("GET /v1/connect/proj_test1/accounts/{id}", func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		})
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := f.client().GetAccount(ctx, "apn_1")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("returned after %v", d)
		}
		if f.apiCalls.Load() != 1 {
			t.Errorf("requests = %d, want 1", f.apiCalls.Load())
		}
	})
	t.Run("cancel while sleeping between retries", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		h, _ := statusSequence([]int{503, 503}, map[string]string{"Retry-After": "1"}, `{"id":"apn_1"}`)
		f.handle("GET /v1/connect/proj_test1/accounts/{id}", h)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := f.client().GetAccount(ctx, "apn_1")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want Canceled", err)
		}
		if d := time.Since(start); d > 600*time.Millisecond {
			t.Errorf("returned after %v, want soon after the cancel", d)
		}
		if f.apiCalls.Load() != 1 {
			t.Errorf("requests = %d, want 1", f.apiCalls.Load())
		}
	})
	t.Run("cancelled run", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		f.handle("POST /v1/connect/proj_test1/actions/run", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body) // the server notices a gone client only after the body
			<-r.Context().Done()
		})
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err := f.client().RunAction(ctx, RunActionRequest{ID: "x-y", ExternalUserID: "u"})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want Canceled", err)
		}
	})
}

package pdclient

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func accountHandler(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, `{"id":"`+r.PathValue("id")+`","healthy":true}`)
}

func TestTokenFetchedOnceForConcurrentCalls(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.handle("GET /v1/connect/proj_test1/accounts/{id}", accountHandler)
	c := f.client(f.inMemory())

	synctest.Test(t, func(t *testing.T) {
		f.tokenGate = make(chan struct{})
		const n = 50
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				_, err := c.GetAccount(t.Context(), "apn_1")
				errs <- err
			})
		}
		// Every call has queued behind the one token request, which the gate
		// holds; then answer it.
		synctest.Wait()
		if got := f.tokenCalls.Load(); got != 1 {
			t.Errorf("token requests with %d calls waiting = %d, want 1", n, got)
		}
		close(f.tokenGate)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got := f.tokenCalls.Load(); got != 1 {
			t.Errorf("token requests = %d, want 1", got)
		}
		if got := f.apiCalls.Load(); got != n {
			t.Errorf("API requests = %d, want %d", got, n)
		}
	})
}

func TestTokenMargin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expiresIn    int64
		stillCached  time.Duration // no new token at this age
		refreshedAge time.Duration // a new token at this age
	}{
		{expiresIn: 60, stillCached: 29 * time.Second, refreshedAge: 31 * time.Second},       // half of a short lifetime
		{expiresIn: 200, stillCached: 99 * time.Second, refreshedAge: 101 * time.Second},     // still short: half
		{expiresIn: 3600, stillCached: 3470 * time.Second, refreshedAge: 3490 * time.Second}, // 2 minutes
	}
	for _, tt := range tests {
		t.Run(time.Duration(tt.expiresIn*int64(time.Second)).String(), func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.expiresIn.Store(tt.expiresIn)
			f.handle("GET /v1/connect/proj_test1/accounts/{id}", accountHandler)
			c := f.client()
			clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			c.now = clock.now

			get := func() {
				t.Helper()
				if _, err := c.GetAccount(t.Context(), "apn_1"); err != nil {
					t.Fatal(err)
				}
			}
			get()
			clock.advance(tt.stillCached)
			get()
			if got := f.tokenCalls.Load(); got != 1 {
				t.Fatalf("after %v: token requests = %d, want 1", tt.stillCached, got)
			}
			clock.advance(tt.refreshedAge - tt.stillCached)
			get()
			if got := f.tokenCalls.Load(); got != 2 {
				t.Fatalf("after %v: token requests = %d, want 2", tt.refreshedAge, got)
			}
		})
	}
}

func TestUnauthorizedRefreshesOnceAndRetries(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	var runs, bodies box[[]string]
	f.handle("GET /v1/connect/proj_test1/accounts/{id}", accountHandler)
	f.handle("POST /v1/connect/proj_test1/actions/run", func(w http.ResponseWriter, r *http.Request) {
		b := readBody(t, r)
		bodies.set(append(bodies.get(), b["id"].(string)))
		runs.set(append(runs.get(), r.Header.Get("Authorization")))
		writeJSON(w, 200, `{"exports":{"$summary":"done"}}`)
	})
	c := f.client()
	if _, err := c.GetAccount(t.Context(), "apn_1"); err != nil {
		t.Fatal(err)
	}
	// The API stops accepting the cached token (say, it was revoked).
	f.revoke(f.tokenAt(0))
	before := f.apiCalls.Load()

	resp, err := c.RunAction(t.Context(), RunActionRequest{ID: "slack-send-message", ExternalUserID: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Summary() != "done" {
		t.Errorf("Summary = %q", resp.Summary())
	}
	if got := f.tokenCalls.Load(); got != 2 {
		t.Errorf("token requests = %d, want 2 (one refresh)", got)
	}
	if got := f.apiCalls.Load() - before; got != 2 {
		t.Errorf("run requests = %d, want 2 (the refused one and one retry)", got)
	}
	if got := runs.get(); len(got) != 1 || got[0] != "Bearer "+f.tokenAt(1) {
		t.Errorf("runs executed with %v, want one with the new token", got)
	}
	if got := bodies.get(); len(got) != 1 || got[0] != "slack-send-message" {
		t.Errorf("replayed body ids = %v", got)
	}
}

func TestUnauthorizedTwiceIsAnError(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.mux.HandleFunc("GET /v1/connect/proj_test1/accounts/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.apiCalls.Add(1)
		writeJSON(w, 401, `{"error":"token rejected"}`)
	})
	c := f.client()
	_, err := c.GetAccount(t.Context(), "apn_1")
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Message != "token rejected" || ae.Path != "/v1/connect/proj_test1/accounts/apn_1" {
		t.Errorf("APIError = %+v", ae)
	}
	if got := f.tokenCalls.Load(); got != 2 {
		t.Errorf("token requests = %d, want 2", got)
	}
	if got := f.apiCalls.Load(); got != 2 {
		t.Errorf("API requests = %d, want 2 (no retry of a 401 beyond the refresh)", got)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		body       string
		wantUnauth bool
		wantCalls  int32 // token requests for one call (retries included)
		wantCode   string
		wantMsg    string
	}{
		{name: "401 invalid_client", status: 401, body: `{"error":"invalid_client","error_description":"Client authentication failed"}`,
			wantUnauth: true, wantCalls: 1, wantCode: "invalid_client", wantMsg: "Client authentication failed"},
		{name: "400 invalid_client", status: 400, body: `{"error":"invalid_client"}`,
			wantUnauth: true, wantCalls: 1, wantCode: "invalid_client"},
		{name: "400 other", status: 400, body: `{"error":"invalid_scope","error_description":"no such scope"}`,
			wantCalls: 1, wantCode: "invalid_scope", wantMsg: "no such scope"},
		{name: "503 retried", status: 503, body: `upstream unavailable`, wantCalls: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.tokenHook = func(w http.ResponseWriter, r *http.Request) bool {
				writeJSON(w, tt.status, tt.body)
				return true
			}
			f.handle("GET /v1/connect/proj_test1/accounts/{id}", accountHandler)
			c := f.client()
			_, err := c.GetAccount(t.Context(), "apn_1")
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if ae.StatusCode != tt.status || ae.Method != "POST" || ae.Path != "/v1/oauth/token" {
				t.Errorf("APIError = %+v", ae)
			}
			if errors.Is(err, ErrUnauthorized) != tt.wantUnauth {
				t.Errorf("Is(ErrUnauthorized) = %v, want %v", !tt.wantUnauth, tt.wantUnauth)
			}
			if ae.Code != tt.wantCode || ae.Message != tt.wantMsg {
				t.Errorf("Code, Message = %q, %q; want %q, %q", ae.Code, ae.Message, tt.wantCode, tt.wantMsg)
			}
			if got := f.tokenCalls.Load(); got != tt.wantCalls {
				t.Errorf("token requests = %d, want %d", got, tt.wantCalls)
			}
			if got := f.apiCalls.Load(); got != 0 {
				t.Errorf("API requests = %d, want 0", got)
			}
		})
	}
}

func TestCancelledWaiterDoesNotBreakTokenFetch(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	c := f.client(f.inMemory())

	synctest.Test(t, func(t *testing.T) {
		f.tokenGate = make(chan struct{})
		ctxA, cancelA := context.WithCancel(t.Context())
		errA := make(chan error, 1)
		go func() {
			_, err := c.AccessToken(ctxA)
			errA <- err
		}()
		synctest.Wait() // A's fetch is at the token endpoint, held by the gate
		if got := f.tokenCalls.Load(); got != 1 {
			t.Fatalf("token requests = %d, want A's one", got)
		}
		tokB := make(chan string, 1)
		go func() {
			tok, err := c.AccessToken(t.Context())
			if err != nil {
				t.Error(err)
			}
			tokB <- tok
		}()
		synctest.Wait() // B waits on the same fetch
		cancelA()
		select {
		case err := <-errA:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("A: err = %v, want context.Canceled", err)
			}
		case <-time.After(2 * time.Second): // fake clock: fires only if A never returns
			t.Fatal("A did not return after its context was cancelled")
		}
		close(f.tokenGate)
		if tok := <-tokB; tok != f.tokenAt(0) {
			t.Errorf("B got %q, want %q", tok, f.tokenAt(0))
		}
		if got := f.tokenCalls.Load(); got != 1 {
			t.Errorf("token requests = %d, want 1", got)
		}
	})
}

func TestCheckCredentials(t *testing.T) {
	t.Parallel()
	t.Run("ok", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		var query box[string]
		f.handle("GET /v1/connect/proj_test1/accounts", func(w http.ResponseWriter, r *http.Request) {
			query.set(r.URL.RawQuery)
			writeJSON(w, 200, `{"data":[],"page_info":{"count":0}}`)
		})
		c := f.client()
		if err := c.CheckCredentials(t.Context()); err != nil {
			t.Fatal(err)
		}
		if f.tokenCalls.Load() != 1 || f.apiCalls.Load() != 1 {
			t.Errorf("token, API requests = %d, %d; want 1, 1", f.tokenCalls.Load(), f.apiCalls.Load())
		}
		if got := query.get(); got != "limit=1" {
			t.Errorf("query = %q, want limit=1", got)
		}
	})
	t.Run("unknown project", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		f.handle("GET /v1/connect/proj_test1/accounts", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 404, `{"error":"project not found"}`)
		})
		err := f.client().CheckCredentials(t.Context())
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "project not found") {
			t.Errorf("err = %v, want ErrNotFound naming the project", err)
		}
	})
	t.Run("refused client", func(t *testing.T) {
		t.Parallel()
		f := newFake(t)
		cfg := f.config()
		cfg.ClientSecret = "wrong-secret"
		c, err := New(cfg, WithRetry(fastRetry))
		if err != nil {
			t.Fatal(err)
		}
		err = c.CheckCredentials(t.Context())
		if !errors.Is(err, ErrUnauthorized) {
			t.Errorf("err = %v, want ErrUnauthorized", err)
		}
		if f.apiCalls.Load() != 0 {
			t.Errorf("API requests = %d, want 0", f.apiCalls.Load())
		}
	})
}

func TestAccessTokenIsCached(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	c := f.client()
	a, err := c.AccessToken(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.AccessToken(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if a != b || a != f.tokenAt(0) || f.tokenCalls.Load() != 1 {
		t.Errorf("tokens %q, %q after %d requests", a, b, f.tokenCalls.Load())
	}
}

package pdclient

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testPrefix   = "/api-prefix"
	testProject  = "proj_test1"
	testClientID = "client-id-1"
	testSecret   = "cs-PLANTED-client-secret-0001"
	testEnv      = "development"
)

// fastRetry keeps retries quick in tests while leaving room for a 1s
// Retry-After.
var fastRetry = RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 1500 * time.Millisecond, MaxElapsed: 5 * time.Second}

// fakeAPI is an httptest server that serves a token endpoint and whatever
// handlers a test adds, all under testPrefix. Requests outside the prefix fail
// the test (they would mean an absolute path dropped the base URL's path).
type fakeAPI struct {
	t   *testing.T
	srv *httptest.Server
	mux *http.ServeMux

	tokenCalls atomic.Int32
	apiCalls   atomic.Int32 // requests to handlers added with handle, refused ones included
	expiresIn  atomic.Int64
	// tokenGate, when set, is waited on by the token endpoint before answering.
	tokenGate chan struct{}
	// tokenHook, when set, answers the token endpoint instead (after the gate).
	tokenHook func(w http.ResponseWriter, r *http.Request) bool

	mu     sync.Mutex
	issued map[string]bool // tokens the API accepts
	tokens []string        // in issue order
}

func newFake(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{t: t, mux: http.NewServeMux(), issued: map[string]bool{}}
	f.expiresIn.Store(3600)
	root := http.NewServeMux()
	root.Handle(testPrefix+"/", http.StripPrefix(testPrefix, f.mux))
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request outside the base path: %s %s", r.Method, r.URL.Path)
		http.Error(w, "outside base path", http.StatusTeapot)
	})
	f.mux.HandleFunc("POST /v1/oauth/token", f.token)
	f.srv = httptest.NewServer(root)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) token(w http.ResponseWriter, r *http.Request) {
	n := f.tokenCalls.Add(1)
	if f.tokenGate != nil {
		<-f.tokenGate
	}
	if f.tokenHook != nil && f.tokenHook(w, r) {
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, 400, `{"error":"invalid_request"}`)
		return
	}
	if r.Header.Get("Authorization") != "" {
		f.t.Errorf("token request has an Authorization header; want credentials in the body")
	}
	if got := r.PostForm.Get("grant_type"); got != "client_credentials" {
		f.t.Errorf("grant_type = %q, want client_credentials", got)
	}
	if r.PostForm.Get("client_id") != testClientID || r.PostForm.Get("client_secret") != testSecret {
		writeJSON(w, 401, `{"error":"invalid_client","error_description":"bad client credentials"}`)
		return
	}
	tok := fmt.Sprintf("at-PLANTED-access-token-%03d", n)
	f.mu.Lock()
	f.issued[tok] = true
	f.tokens = append(f.tokens, tok)
	f.mu.Unlock()
	writeJSON(w, 200, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": f.expiresIn.Load()})
}

// revoke makes the API refuse a token it issued.
func (f *fakeAPI) revoke(tok string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.issued, tok)
}

// handle adds an API handler (pattern without the prefix, e.g.
// "GET /v1/connect/proj_test1/actions") behind a bearer-token check.
func (f *fakeAPI) handle(pattern string, h http.HandlerFunc) {
	f.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		f.apiCalls.Add(1)
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		f.mu.Lock()
		valid := ok && f.issued[tok]
		f.mu.Unlock()
		if !valid {
			writeJSON(w, 401, `{"error":"invalid or expired access token"}`)
			return
		}
		if got := r.Header.Get("x-pd-environment"); got != testEnv {
			f.t.Errorf("%s: x-pd-environment = %q, want %q", pattern, got, testEnv)
		}
		h(w, r)
	})
}

func (f *fakeAPI) config() Config {
	return Config{
		ClientID:     testClientID,
		ClientSecret: testSecret,
		ProjectID:    testProject,
		Environment:  testEnv,
		BaseURL:      f.srv.URL + testPrefix,
		Version:      "1.2.3",
	}
}

func (f *fakeAPI) client(opts ...Option) *Client {
	f.t.Helper()
	c, err := New(f.config(), append([]Option{WithRetry(fastRetry)}, opts...)...)
	if err != nil {
		f.t.Fatalf("New: %v", err)
	}
	return c
}

// writeJSON writes a status and a body: a string is written as is, anything
// else is encoded.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if s, ok := v.(string); ok {
		_, _ = io.WriteString(w, s)
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}

// readBody decodes a JSON request body into a map.
func readBody(t *testing.T, r *http.Request) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		t.Errorf("request body: %v", err)
	}
	return m
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func debugLogger() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// fakeClock is a settable clock for token expiry.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// box is a value shared between a handler and the test.
type box[T any] struct {
	mu sync.Mutex
	v  T
}

func (b *box[T]) set(v T) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.v = v
}

func (b *box[T]) get() T {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.v
}

// tokenAt returns the i-th token the fake issued.
func (f *fakeAPI) tokenAt(i int) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i >= len(f.tokens) {
		return ""
	}
	return f.tokens[i]
}

package pdclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// workflowHost is an httptest server standing in for a deployed workflow: it
// records every request and answers with answer.
type workflowHost struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []*http.Request // with the body read into bodies
	bod [][]byte
}

func newWorkflowHost(t *testing.T, answer http.HandlerFunc) *workflowHost {
	t.Helper()
	h := &workflowHost{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.got = append(h.got, r)
		h.bod = append(h.bod, body)
		h.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// calls returns the requests received so far and their bodies.
func (h *workflowHost) calls() ([]*http.Request, [][]byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*http.Request(nil), h.got...), append([][]byte(nil), h.bod...)
}

func TestInvokeWorkflowSendsTheCall(t *testing.T) {
	t.Parallel()
	h := newWorkflowHost(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id":"inv_42"}`)
	})
	cases := []struct {
		name             string
		req              WorkflowRequest
		wantAuth, wantEv string
	}{
		{"bearer with environment", WorkflowRequest{BearerToken: "bearer-token-1", Environment: "production"}, "Bearer bearer-token-1", "production"},
		{"token source", WorkflowRequest{Token: func(context.Context) (string, error) { return "at-token-2", nil }}, "Bearer at-token-2", ""},
		{"no auth", WorkflowRequest{}, "", ""},
	}
	for i, tc := range cases {
		req := tc.req
		req.URL = h.srv.URL + "/en1?x=1"
		req.Body = []byte(`{"n":12345678901234567890}`)
		req.ExternalUserID = "user-1"
		resp, err := InvokeWorkflow(t.Context(), req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if resp.StatusCode != http.StatusCreated || string(resp.Body) != `{"id":"inv_42"}` || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: response %d %q %v", tc.name, resp.StatusCode, resp.Body, resp.Header)
		}
		got, bodies := h.calls()
		if len(got) != i+1 {
			t.Fatalf("%s: %d requests, want %d", tc.name, len(got), i+1)
		}
		r := got[i]
		want := map[string]string{
			"Content-Type": "application/json", "Accept": "application/json, text/plain;q=0.9, */*;q=0.8",
			"X-PD-External-User-ID": "user-1", "X-PD-Environment": tc.wantEv, "Authorization": tc.wantAuth,
		}
		for k, v := range want {
			if r.Header.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", tc.name, k, r.Header.Get(k), v)
			}
		}
		if r.Method != http.MethodPost || r.URL.RequestURI() != "/en1?x=1" || string(bodies[i]) != string(req.Body) {
			t.Errorf("%s: the workflow saw %s %s %s", tc.name, r.Method, r.URL.RequestURI(), bodies[i])
		}
	}
}

// TestInvokeWorkflowRedirects: a redirect to another origin is refused before
// anything reaches it; one within the workflow's origin is followed, with the
// credential and the body (307).
func TestInvokeWorkflowRedirects(t *testing.T) {
	t.Parallel()
	o := newOtherOrigin(t)
	h := newWorkflowHost(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, o.srv.URL+"/steal?token=x", http.StatusTemporaryRedirect)
		case "/home":
			http.Redirect(w, r, "/there", http.StatusTemporaryRedirect)
		default:
			_, _ = io.WriteString(w, r.Header.Get("Authorization")+" "+r.URL.Path)
		}
	})
	const token = "bearer-s3cret-token"
	_, err := InvokeWorkflow(t.Context(), WorkflowRequest{URL: h.srv.URL + "/away", BearerToken: token, ExternalUserID: "u"})
	var we *WorkflowError
	var re *RedirectError
	if !errors.As(err, &we) || we.NoToken || !errors.Is(err, ErrRedirectRefused) || !errors.As(err, &re) || re.To != o.srv.URL || re.Status != http.StatusTemporaryRedirect {
		t.Fatalf("err = %v (%T), want a *WorkflowError with the refused redirect to %s", err, err, o.srv.URL)
	}
	if got := o.received(); len(got) != 0 {
		t.Errorf("the other origin received %d request(s):\n%s", len(got), got[0])
	}
	if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "/steal") {
		t.Errorf("the error reveals the credential or the target's path: %v", err)
	}

	resp, err := InvokeWorkflow(t.Context(), WorkflowRequest{URL: h.srv.URL + "/home", BearerToken: "short", ExternalUserID: "u"})
	if err != nil || string(resp.Body) != "Bearer short /there" {
		t.Errorf("same-origin redirect: %v, body %q", err, respBody(resp))
	}
}

func respBody(r *WorkflowResponse) string {
	if r == nil {
		return "<no response>"
	}
	return string(r.Body)
}

// TestInvokeWorkflowRefreshesARefusedToken: a 401 to an access token of the
// client's invalidates it, fetches one fresh token and sends once more; a
// second 401 stands, and a token source that cannot be invalidated gets no
// second send.
func TestInvokeWorkflowRefreshesARefusedToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		accept      int // the token number the trigger accepts (0: none)
		invalidate  bool
		wantSends   int
		wantTokens  int32
		wantStatus  int
		wantLastTok int
	}{
		{"refreshed once", 2, true, 2, 2, http.StatusOK, 2},
		{"refused twice", 0, true, 2, 2, http.StatusUnauthorized, 2},
		{"cannot invalidate", 2, false, 1, 1, http.StatusUnauthorized, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			cl := f.client()
			h := newWorkflowHost(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.accept == 0 || r.Header.Get("Authorization") != "Bearer "+f.tokenAt(tc.accept-1) {
					http.Error(w, "invalid or expired OAuth access token", http.StatusUnauthorized)
					return
				}
				_, _ = io.WriteString(w, `{"ok":true}`)
			})
			req := WorkflowRequest{URL: h.srv.URL, Body: []byte(`{"a":1}`), ExternalUserID: "u", Token: cl.AccessToken}
			if tc.invalidate {
				req.InvalidateToken = cl.InvalidateAccessToken
			}
			resp, err := InvokeWorkflow(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			got, bodies := h.calls()
			if resp.StatusCode != tc.wantStatus || len(got) != tc.wantSends || f.tokenCalls.Load() != tc.wantTokens {
				t.Fatalf("status %d after %d sends and %d token fetches, want %d, %d, %d", resp.StatusCode, len(got), f.tokenCalls.Load(), tc.wantStatus, tc.wantSends, tc.wantTokens)
			}
			last := got[len(got)-1]
			if last.Header.Get("Authorization") != "Bearer "+f.tokenAt(tc.wantLastTok-1) || string(bodies[len(bodies)-1]) != `{"a":1}` {
				t.Errorf("last send had %q and body %q", last.Header.Get("Authorization"), bodies[len(bodies)-1])
			}
		})
	}
}

func TestInvokeWorkflowRetryAfter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		header, value string
		want          time.Duration
	}{
		{"Retry-After", "7", 7 * time.Second},
		{"Retry-After", time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat), 30 * time.Second},
		{"Retry-After-Ms", "1500", 1500 * time.Millisecond},
		{"Retry-After", "soon", 0},
	} {
		h := newWorkflowHost(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set(tc.header, tc.value)
			http.Error(w, `{"error":"rate limit exceeded"}`, http.StatusTooManyRequests)
		})
		resp, err := InvokeWorkflow(t.Context(), WorkflowRequest{URL: h.srv.URL, ExternalUserID: "u"})
		if err != nil {
			t.Fatalf("%s: %v", tc.value, err)
		}
		if got, _ := h.calls(); len(got) != 1 {
			t.Errorf("%s: %d sends; a workflow is never retried", tc.value, len(got))
		}
		if resp.StatusCode != http.StatusTooManyRequests || resp.RetryAfter > tc.want || resp.RetryAfter < tc.want-2*time.Second {
			t.Errorf("%s: %s = %q gave %d after %s, want %s", tc.value, tc.header, tc.value, resp.StatusCode, resp.RetryAfter, tc.want)
		}
	}
}

func TestInvokeWorkflowBoundsTheBody(t *testing.T) {
	t.Parallel()
	h := newWorkflowHost(t, func(w http.ResponseWriter, r *http.Request) {
		chunk := strings.Repeat("x", 1<<20)
		for range maxWorkflowBody>>20 + 2 {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	})
	resp, err := InvokeWorkflow(t.Context(), WorkflowRequest{URL: h.srv.URL, ExternalUserID: "u"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Body) != maxWorkflowBody {
		t.Errorf("read %d bytes, want the body cut at %d", len(resp.Body), maxWorkflowBody)
	}
}

// TestInvokeWorkflowSecrets: the credential a workflow echoes is redacted from
// its answer; no error carries the credential, the client secret or the URL's
// query.
func TestInvokeWorkflowSecrets(t *testing.T) {
	t.Parallel()
	echo := newWorkflowHost(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"headers": r.Header})
	})
	const bearer = "bearer-s3cret-value-123"
	resp, err := InvokeWorkflow(t.Context(), WorkflowRequest{URL: echo.srv.URL, BearerToken: bearer, ExternalUserID: "u"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(resp.Body), bearer) || !strings.Contains(string(resp.Body), "Bearer [redacted]") {
		t.Errorf("echoed body not redacted: %s", resp.Body)
	}

	// A refused token request: the token endpoint's answer names the secret.
	f := newFake(t)
	f.tokenHook = func(w http.ResponseWriter, r *http.Request) bool {
		writeJSON(w, 401, fmt.Sprintf(`{"error":"invalid_client","error_description":"bad secret %s"}`, testSecret))
		return true
	}
	cl := f.client(WithRetry(RetryPolicy{MaxAttempts: 1}))
	_, err = InvokeWorkflow(t.Context(), WorkflowRequest{URL: echo.srv.URL + "/?key=q-s3cret", Token: cl.AccessToken, ExternalUserID: "u"})
	var we *WorkflowError
	var ae *APIError
	if !errors.As(err, &we) || !we.NoToken || !errors.As(err, &ae) || !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v (%T), want a *WorkflowError of the token endpoint's *APIError", err, err)
	}
	if got, _ := echo.calls(); len(got) != 1 {
		t.Errorf("%d sends, want none without a token", len(got)-1)
	}

	// A connection refused, to a URL with a secret in its query.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	_, err2 := InvokeWorkflow(t.Context(), WorkflowRequest{URL: deadURL + "/en1?key=q-s3cret", BearerToken: bearer, ExternalUserID: "u"})
	if !errors.As(err2, &we) || we.NoToken || we.Endpoint != deadURL+"/en1" {
		t.Fatalf("err = %v (%T), want a *WorkflowError naming %s/en1", err2, err2, deadURL)
	}
	for _, e := range []error{err, err2} {
		for _, secret := range []string{bearer, testSecret, "q-s3cret"} {
			if strings.Contains(e.Error(), secret) {
				t.Errorf("error reveals %q: %v", secret, e)
			}
		}
	}
}

func TestInvokeWorkflowDeadline(t *testing.T) {
	t.Parallel()
	h := newWorkflowHost(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := InvokeWorkflow(ctx, WorkflowRequest{URL: h.srv.URL, ExternalUserID: "u"})
	var we *WorkflowError
	if !errors.As(err, &we) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v (%T), want a *WorkflowError of the deadline", err, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the deadline was not honoured: %s", d)
	}
}

func TestInvokeWorkflowRefusesBadURLs(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "ftp://en1.m.pipedream.net", "https://user:pw@en1.m.pipedream.net", "/relative", "https://%zz"} {
		if _, err := InvokeWorkflow(t.Context(), WorkflowRequest{URL: u}); err == nil || strings.Contains(err.Error(), "pw") {
			t.Errorf("URL %q: err = %v, want a refusal that does not repeat it", u, err)
		}
	}
}

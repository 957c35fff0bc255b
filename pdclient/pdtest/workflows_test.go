package pdtest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// wfEnv is a Fake with a token and a WorkflowHost served on loopback.
type wfEnv struct {
	*env
	host *WorkflowHost
	url  string
}

func newWorkflowEnv(t *testing.T) *wfEnv {
	t.Helper()
	f := New(Config{})
	e := newEnv(t, f)
	f.AddAccount(Account{ExternalUserID: "alice", App: "slack", Healthy: true})
	f.AddAccount(Account{ExternalUserID: "alice", App: "gmail", Healthy: false})
	f.AddAccount(Account{ExternalUserID: "prod-user", App: "slack", Healthy: true, Environment: "production"})
	h := NewWorkflowHost(f)
	h.Add(Workflow{ID: "enecho"})
	h.Add(Workflow{ID: "enslack", Apps: []string{"slack"}})
	h.Add(Workflow{ID: "enhubspot", Apps: []string{"slack", "hubspot"}})
	h.Add(Workflow{ID: "engmail", Apps: []string{"gmail"}})
	h.Add(Workflow{ID: "enack", Behavior: WorkflowAcknowledge})
	h.Add(Workflow{ID: "enteapot", Behavior: WorkflowRespond, Status: 418, Body: "short and stout"})
	h.Add(Workflow{ID: "enjson", Behavior: WorkflowRespond, Status: 201, Body: `{"id":"inv_1"}`})
	h.Add(Workflow{ID: "enmoved", Behavior: WorkflowRedirect, Location: "http://elsewhere.example/x"})
	h.Add(Workflow{ID: "enbearer", Auth: WorkflowAuthBearer, BearerToken: "wf-token"})
	h.Add(Workflow{ID: "enopen", Auth: WorkflowAuthNone, Anonymous: true})
	h.Add(Workflow{ID: "enslow", Delay: time.Minute})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &wfEnv{env: e, host: h, url: srv.URL}
}

type wfReq struct {
	path, host, authz, user, environment, body string
}

func (e *wfEnv) send(ctx context.Context, r wfReq) (*http.Response, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url+r.path, strings.NewReader(r.body))
	if err != nil {
		return nil, "", err
	}
	if r.host != "" {
		req.Host = r.host
	}
	if r.authz != "" {
		req.Header.Set("Authorization", r.authz)
	}
	if r.user != "" {
		req.Header.Set("X-PD-External-User-ID", r.user)
	}
	if r.environment != "" {
		req.Header.Set("X-PD-Environment", r.environment)
	}
	req.Header.Set("Content-Type", "application/json")
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

func TestWorkflowHostAnswers(t *testing.T) {
	t.Parallel()
	e := newWorkflowEnv(t)
	bearer := "Bearer " + e.token
	ok := func(p, user string) wfReq {
		return wfReq{path: p, authz: bearer, user: user, environment: "development", body: `{"n":1}`}
	}
	cases := []struct {
		name     string
		req      wfReq
		business bool
		status   int
		body     string // exact body, or a JSON object to compare when it starts with {
		ctype    string // prefix of Content-Type
	}{
		{"echo", ok("/enecho", "alice"), false, 200, `{"workflow":"enecho","external_user_id":"alice","environment":"development","body":{"n":1}}`, "application/json"},
		{"routed by host label", wfReq{path: "/", host: "enecho.m.pipedream.net", authz: bearer, user: "alice", environment: "development", body: `"x"`}, false, 200, `{"workflow":"enecho","external_user_id":"alice","environment":"development","body":"x"}`, "application/json"},
		{"needs an account the user has", ok("/enslack/sub/path", "alice"), false, 200, `{"workflow":"enslack","external_user_id":"alice","environment":"development","body":{"n":1}}`, "application/json"},
		{"required account not found", ok("/enhubspot", "alice"), false, 400, "Pipedream Connect Error: Required account for hubspot not found for external user ID alice in development", "text/plain"},
		{"only an unhealthy account", ok("/engmail", "alice"), false, 400, "Pipedream Connect Error: Required account for gmail not found for external user ID alice in development", "text/plain"},
		{"no external user ID", ok("/enecho", ""), false, 400, ErrTextNoExternalUser, "text/plain"},
		{"unknown external user", ok("/enecho", "ghost"), false, 400, "Pipedream Connect Error: No matching external user ID ghost in development", "text/plain"},
		{"user of the other environment", ok("/enecho", "prod-user"), false, 400, "Pipedream Connect Error: No matching external user ID prod-user in development", "text/plain"},
		{"production without the plan", wfReq{path: "/enecho", authz: bearer, user: "prod-user", environment: "production"}, false, 403, ErrTextProductionNeedsPlan, "text/plain"},
		{"production with the plan", wfReq{path: "/enecho", authz: bearer, user: "prod-user", environment: "production", body: "plain"}, true, 200, `{"workflow":"enecho","external_user_id":"prod-user","environment":"production","body":"plain"}`, "application/json"},
		{"bad environment", wfReq{path: "/enecho", authz: bearer, user: "alice", environment: "staging"}, false, 400, `Pipedream Connect Error: the x-pd-environment header must be "development" or "production"`, "text/plain"},
		{"no token", wfReq{path: "/enecho", user: "alice", environment: "development"}, false, 401, "Unauthorized: this workflow requires an OAuth access token (Authorization: Bearer <token>)", "text/plain"},
		{"token not issued by the fake", wfReq{path: "/enecho", authz: "Bearer forged", user: "alice", environment: "development"}, false, 401, "Unauthorized: invalid or expired OAuth access token", "text/plain"},
		{"bearer trigger, right token", wfReq{path: "/enbearer", authz: "Bearer wf-token", user: "alice", environment: "development"}, false, 200, `{"workflow":"enbearer","external_user_id":"alice","environment":"development","body":""}`, "application/json"},
		{"bearer trigger, access token", ok("/enbearer", "alice"), false, 401, "Unauthorized: this workflow requires a valid bearer token", "text/plain"},
		{"open anonymous trigger", wfReq{path: "/enopen"}, false, 200, `{"workflow":"enopen","external_user_id":"","environment":"","body":""}`, "application/json"},
		{"generic acknowledgement", ok("/enack", "alice"), false, 200, WorkflowAcknowledgement, "text/html"},
		{"custom text response", ok("/enteapot", "alice"), false, 418, "short and stout", "text/plain"},
		{"custom JSON response", ok("/enjson", "alice"), false, 201, `{"id":"inv_1"}`, "application/json"},
		{"unknown workflow", ok("/ennope", "alice"), false, 404, "Not Found: no workflow is deployed at this endpoint", "text/plain"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The plan is host-wide: these subtests run one after another.
			e.host.SetBusinessPlan(tc.business)
			resp, body, err := e.send(t.Context(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Errorf("status = %d, want %d (body %q)", resp.StatusCode, tc.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.ctype) {
				t.Errorf("Content-Type = %q, want %s", ct, tc.ctype)
			}
			if strings.HasPrefix(tc.body, "{") {
				var got, want any
				if json.Unmarshal([]byte(body), &got) != nil || json.Unmarshal([]byte(tc.body), &want) != nil || !jsonEqual(got, want) {
					t.Errorf("body = %s, want %s", body, tc.body)
				}
			} else if body != tc.body {
				t.Errorf("body = %q, want %q", body, tc.body)
			}
		})
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestWorkflowHostRecordsCalls(t *testing.T) {
	t.Parallel()
	e := newWorkflowEnv(t)
	resp, _, err := e.send(t.Context(), wfReq{path: "/enslack", authz: "Bearer " + e.token, user: "alice", environment: "development", body: `{"a":true}`})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("send: %v %v", resp, err)
	}
	_, _, _ = e.send(t.Context(), wfReq{path: "/enhubspot", authz: "Bearer " + e.token, user: "alice", environment: "development"})
	calls := e.host.Calls()
	if len(calls) != 2 {
		t.Fatalf("calls = %+v, want 2", calls)
	}
	c := calls[0]
	if c.ID != "enslack" || c.Method != "POST" || c.ExternalUserID != "alice" || c.Environment != "development" ||
		c.Authorization != "Bearer "+e.token || c.ContentType != "application/json" || string(c.Body) != `{"a":true}` || c.Status != 200 {
		t.Errorf("first call = %+v", c)
	}
	if calls[1].ID != "enhubspot" || calls[1].Status != 400 {
		t.Errorf("second call = %+v, want the refused hubspot call", calls[1])
	}
}

func TestWorkflowHostExpiredToken(t *testing.T) {
	t.Parallel()
	e := newWorkflowEnv(t)
	e.fake.ExpireTokens()
	resp, body, err := e.send(t.Context(), wfReq{path: "/enecho", authz: "Bearer " + e.token, user: "alice", environment: "development"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 401 || !strings.Contains(body, "expired") {
		t.Errorf("expired token: %d %q, want 401", resp.StatusCode, body)
	}
}

func TestWorkflowHostRedirectAndDelay(t *testing.T) {
	t.Parallel()
	e := newWorkflowEnv(t)
	resp, _, err := e.send(t.Context(), wfReq{path: "/enmoved", authz: "Bearer " + e.token, user: "alice", environment: "development"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "http://elsewhere.example/x" {
		t.Errorf("redirect: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// The host's handler goes on after the client gave up: served is closed
	// once it has returned, and so recorded the call's final status.
	served := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(served)
		e.host.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	slow := *e
	slow.url = srv.URL
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, _, err = slow.send(ctx, wfReq{path: "/enslow", authz: "Bearer " + e.token, user: "alice", environment: "development"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow workflow: err = %v, want the deadline", err)
	}
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		t.Fatal("the delay did not end with the request")
	}
	calls := e.host.Calls()
	if last := calls[len(calls)-1]; last.ID != "enslow" || last.Status != 0 {
		t.Errorf("slow call recorded as %+v, want no answer", last)
	}
}

func TestWorkflowHostStart(t *testing.T) {
	t.Parallel()
	f := New(Config{})
	h := NewWorkflowHost(f)
	h.Add(Workflow{ID: "enopen", Auth: WorkflowAuthNone, Anonymous: true, Behavior: WorkflowAcknowledge})
	srv, err := h.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(srv.URL+"/enopen", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != WorkflowAcknowledgement {
		t.Errorf("started host answered %d %q", resp.StatusCode, b)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if _, err := http.Post(srv.URL+"/enopen", "application/json", strings.NewReader("{}")); err == nil {
		t.Error("the host still answers after Close")
	}
}

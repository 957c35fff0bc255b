package pdtest

// This file owns the WorkflowHost: a fake of Pipedream's workflow domain
// (*.m.pipedream.net) that runs deployed workflows for external users, with
// the users and accounts of a Fake.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Behaviours of a fake workflow (Workflow.Behavior): what it answers once the
// request passed every check of the host.
const (
	// WorkflowEcho answers 200 with JSON: {"workflow", "external_user_id",
	// "environment", "body"}, where body is the request body (parsed when JSON).
	WorkflowEcho = "echo"
	// WorkflowAcknowledge answers Pipedream's generic acknowledgement, as a
	// workflow without a custom HTTP response does.
	WorkflowAcknowledge = "acknowledge"
	// WorkflowRespond answers Status (default 200) with Body and ContentType
	// (default: JSON when Body looks like JSON, else text): a custom response.
	WorkflowRespond = "respond"
	// WorkflowRedirect answers 302 Found with Location.
	WorkflowRedirect = "redirect"
)

// Workflow trigger protection (Workflow.Auth).
const (
	WorkflowAuthOAuth  = "oauth"  // a valid access token issued by the Fake
	WorkflowAuthBearer = "bearer" // exactly Workflow.BearerToken
	WorkflowAuthNone   = "none"   // no check
)

// WorkflowAcknowledgement is the body of Pipedream's default HTTP response
// (200, text/html), sent by a workflow that does not customise its response.
const WorkflowAcknowledgement = "<p><b>Success!</b></p>\n<p>To customize this response, check out our docs <a href=\"https://docs.pipedream.com/workflows/steps/triggers/#customizing-the-http-response\">here</a></p>\n"

// The error texts Pipedream answers when a workflow that uses end users' auth
// cannot run (seed "Running workflows for your end users", section Errors, and
// connect-api.md section 10). The %s verbs are the app, the external user ID and
// the environment.
const (
	ErrTextNoExternalUser      = "Pipedream Connect Error: No external user ID passed, but one or more steps require it"
	ErrTextNoMatchingUser      = "Pipedream Connect Error: No matching external user ID %s in %s"
	ErrTextAccountNotFound     = "Pipedream Connect Error: Required account for %s not found for external user ID %s in %s"
	ErrTextProductionNeedsPlan = "Pipedream Connect Error: Running workflows for your users in production requires a higher tier plan. Upgrade to the Business plan to run on behalf of production users."
)

// Workflow is one deployed HTTP-triggered workflow of a WorkflowHost.
type Workflow struct {
	// ID is the endpoint ID ("en..."). A request reaches the workflow when the
	// first label of its host is the ID (en123.m.pipedream.net) or, on hosts
	// such as 127.0.0.1, when the first path segment is (/en123/...).
	ID string
	// Behavior is one of the Workflow* behaviours; default WorkflowEcho.
	Behavior string
	// Auth is how the trigger is protected: WorkflowAuth*; default oauth.
	Auth string
	// BearerToken is the token a WorkflowAuthBearer trigger accepts.
	BearerToken string
	// Anonymous workflows have no step that uses end users' auth: the
	// external user and environment headers are not checked.
	Anonymous bool
	// Apps are the apps whose steps use the end user's account: the user needs
	// a healthy account of each in the request's environment.
	Apps []string
	// Delay is waited before anything else (the request's cancellation ends it).
	Delay time.Duration
	// Status, Body and ContentType are the answer of WorkflowRespond.
	Status      int
	Body        string
	ContentType string
	// Location is where WorkflowRedirect points.
	Location string
}

// WorkflowCall is one request that reached a fake workflow.
type WorkflowCall struct {
	ID             string // the workflow's endpoint ID
	Method         string
	Path           string
	Authorization  string // the raw Authorization header ("" when absent)
	ExternalUserID string // X-PD-External-User-ID ("" when absent)
	Environment    string // X-PD-Environment ("" when absent)
	ContentType    string
	Body           []byte
	// Status is the HTTP status the fake answered (0 when the caller went away
	// before the answer).
	Status int
}

// WorkflowHost serves deployed workflows the way Pipedream's workflow domain
// (*.m.pipedream.net) does: a POST runs the workflow for the end user named
// in X-PD-External-User-ID, in the environment of X-PD-Environment, with the
// documented errors as text bodies. Users and their accounts are the Fake's:
// an external user exists in an environment once they have an account there.
// It is an http.Handler, safe for concurrent use.
type WorkflowHost struct {
	f *Fake

	mu       sync.Mutex
	flows    map[string]Workflow
	calls    []WorkflowCall
	business bool
}

// NewWorkflowHost returns a host with no workflows, whose users, accounts and
// access tokens are those of f. The project has no Business plan: production
// runs are refused until SetBusinessPlan(true).
func NewWorkflowHost(f *Fake) *WorkflowHost {
	return &WorkflowHost{f: f, flows: map[string]Workflow{}}
}

// Add deploys (or replaces, by ID) a workflow.
func (h *WorkflowHost) Add(w Workflow) {
	if w.Behavior == "" {
		w.Behavior = WorkflowEcho
	}
	if w.Auth == "" {
		w.Auth = WorkflowAuthOAuth
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.flows[strings.ToLower(w.ID)] = w
}

// SetBusinessPlan says whether the project may run workflows for production
// users.
func (h *WorkflowHost) SetBusinessPlan(on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.business = on
}

// Calls returns every request that reached a workflow, oldest first.
func (h *WorkflowHost) Calls() []WorkflowCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]WorkflowCall, len(h.calls))
	for i, c := range h.calls {
		c.Body = bytes.Clone(c.Body)
		out[i] = c
	}
	return out
}

// find resolves the workflow of a request by host label, then by path.
func (h *WorkflowHost) find(r *http.Request) (Workflow, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	host := r.Host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		host = hh
	}
	label, _, _ := strings.Cut(host, ".")
	if w, ok := h.flows[strings.ToLower(label)]; ok && net.ParseIP(host) == nil {
		return w, true
	}
	seg, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	w, ok := h.flows[strings.ToLower(seg)]
	return w, ok
}

// ServeHTTP checks the request as Pipedream does, in this order: the trigger's
// auth (401), the environment (400), the production plan (403), the external
// user (400 when missing or unknown), the accounts of Apps (400); then answers
// with the workflow's behaviour. Error bodies are text/plain.
func (h *WorkflowHost) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	flow, ok := h.find(r)
	if !ok {
		writeText(w, http.StatusNotFound, "Not Found: no workflow is deployed at this endpoint")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 512<<10))
	if err != nil {
		writeText(w, http.StatusRequestEntityTooLarge, "Payload Too Large")
		return
	}
	call := WorkflowCall{
		ID: flow.ID, Method: r.Method, Path: r.URL.Path,
		Authorization:  r.Header.Get("Authorization"),
		ExternalUserID: r.Header.Get("X-PD-External-User-ID"),
		Environment:    r.Header.Get("X-PD-Environment"),
		ContentType:    r.Header.Get("Content-Type"),
		Body:           body,
	}
	h.mu.Lock()
	i := len(h.calls)
	h.calls = append(h.calls, call)
	h.mu.Unlock()
	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		h.mu.Lock()
		h.calls[i].Status = rec.status
		h.mu.Unlock()
	}()

	if flow.Delay > 0 {
		t := time.NewTimer(flow.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if status, msg := h.checkAuth(flow, call.Authorization); status != 0 {
		rec.Header().Set("WWW-Authenticate", `Bearer realm="pipedream"`)
		writeText(rec, status, msg)
		return
	}
	if !flow.Anonymous {
		if status, msg := h.checkUser(flow, call.ExternalUserID, call.Environment); status != 0 {
			writeText(rec, status, msg)
			return
		}
	}
	h.respond(rec, r, flow, call)
}

// checkAuth returns the refusal of the trigger's auth, or 0.
func (h *WorkflowHost) checkAuth(flow Workflow, authz string) (int, string) {
	tok, ok := strings.CutPrefix(authz, "Bearer ")
	tok = strings.TrimSpace(tok)
	switch flow.Auth {
	case WorkflowAuthNone:
		return 0, ""
	case WorkflowAuthBearer:
		if !ok || tok == "" || tok != flow.BearerToken {
			return http.StatusUnauthorized, "Unauthorized: this workflow requires a valid bearer token"
		}
		return 0, ""
	}
	if !ok || tok == "" {
		return http.StatusUnauthorized, "Unauthorized: this workflow requires an OAuth access token (Authorization: Bearer <token>)"
	}
	h.f.mu.Lock()
	exp, known := h.f.tokens[tok]
	h.f.mu.Unlock()
	if !known || !time.Now().Before(exp) {
		return http.StatusUnauthorized, "Unauthorized: invalid or expired OAuth access token"
	}
	return 0, ""
}

// checkUser checks the environment, the plan, the external user and the
// accounts the workflow's steps use; it returns the refusal, or 0.
func (h *WorkflowHost) checkUser(flow Workflow, user, env string) (int, string) {
	if env != "development" && env != "production" {
		return http.StatusBadRequest, `Pipedream Connect Error: the x-pd-environment header must be "development" or "production"`
	}
	h.mu.Lock()
	business := h.business
	h.mu.Unlock()
	if env == "production" && !business {
		return http.StatusForbidden, ErrTextProductionNeedsPlan
	}
	if strings.TrimSpace(user) == "" {
		return http.StatusBadRequest, ErrTextNoExternalUser
	}
	f := h.f
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.accountsFor(env, user, "")) == 0 {
		return http.StatusBadRequest, fmt.Sprintf(ErrTextNoMatchingUser, user, env)
	}
	for _, app := range flow.Apps {
		healthy := false
		for _, a := range f.accountsFor(env, user, app) {
			healthy = healthy || a.Healthy
		}
		if !healthy {
			return http.StatusBadRequest, fmt.Sprintf(ErrTextAccountNotFound, app, user, env)
		}
	}
	return 0, ""
}

// respond answers with the workflow's behaviour.
func (h *WorkflowHost) respond(w http.ResponseWriter, r *http.Request, flow Workflow, call WorkflowCall) {
	switch flow.Behavior {
	case WorkflowAcknowledge:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, WorkflowAcknowledgement)
	case WorkflowRespond:
		status := flow.Status
		if status == 0 {
			status = http.StatusOK
		}
		ct := flow.ContentType
		if ct == "" {
			ct = "text/plain; charset=utf-8"
			if json.Valid([]byte(flow.Body)) {
				ct = "application/json; charset=utf-8"
			}
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, flow.Body)
	case WorkflowRedirect:
		http.Redirect(w, r, flow.Location, http.StatusFound)
	default:
		var payload any = string(call.Body)
		if json.Valid(call.Body) {
			payload = json.RawMessage(call.Body)
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"workflow":         flow.ID,
			"external_user_id": call.ExternalUserID,
			"environment":      call.Environment,
			"body":             payload,
		})
	}
}

// Start serves the host on addr (e.g. "127.0.0.1:0") until Close. Workflows
// are reached at URL + "/" + ID.
func (h *WorkflowHost) Start(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{
		URL:  "http://" + ln.Addr().String(),
		srv:  &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// statusRecorder remembers the status written through it.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// writeText answers a text/plain body, as Pipedream does for workflow errors.
func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg)
}

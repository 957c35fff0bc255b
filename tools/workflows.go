package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/schema"
)

// DefaultWorkflowDomain is the host Pipedream serves HTTP-triggered workflows
// on; endpoint IDs (en..., eo...) are subdomains of it.
const DefaultWorkflowDomain = "m.pipedream.net"

// Trigger protections of a workflow (Workflow.Auth).
const (
	WorkflowAuthOAuth  = "oauth"
	WorkflowAuthBearer = "bearer"
	WorkflowAuthNone   = "none"
)

// Workflow is a deployed HTTP-triggered Pipedream workflow served as a tool
// (DESIGN.md "Workflows"). A call POSTs the tool's arguments, as the JSON body,
// to URL with Authorization (per Auth), X-PD-External-User-ID (the caller, or
// ServiceUser when Admin) and X-PD-Environment, and answers with the same
// result shape as actions, the response body as ret.
//
// A workflow that does not customise its HTTP response answers every request
// with Pipedream's generic acknowledgement (200 and a "Success! To customize
// this response ..." text) as soon as it is triggered, before its steps finish:
// such a result says only that the workflow was started, and says so.
type Workflow struct {
	Name        string // tool name
	URL         string // full endpoint URL (endpoint IDs already expanded)
	Description string
	InputSchema []byte // JSON Schema of the body; nil = any JSON object
	Admin       bool   // run as ServiceUser instead of the caller
	ServiceUser string
	Auth        string // oauth (default) | bearer | none
	BearerToken string // for auth: bearer; never logged or shown
	Environment string // X-PD-Environment; omitted when ""
	// Domain is the workflow domain: URL's host must be it or one of its
	// subdomains (compared without the port). Default DefaultWorkflowDomain.
	Domain string
	// Token returns an access token of the connection credentials (auth: oauth).
	Token func(ctx context.Context) (string, error)
	// InvalidateToken drops a cached access token the trigger refused, so the
	// next Token fetches a new one (optional).
	InvalidateToken func(stale string)
	// Connect creates the Connect Links offered when the workflow needs an
	// account the user has not connected; nil offers none.
	Connect ConnectTokens
}

// ConnectTokens creates Connect tokens; *pdclient.Client satisfies it.
type ConnectTokens interface {
	CreateConnectToken(ctx context.Context, req pdclient.ConnectTokenRequest) (*pdclient.ConnectToken, error)
}

// workflowTool is one workflow, checked and ready to call.
type workflowTool struct {
	tool   mcp.Tool
	handle func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error)

	flow  Workflow
	url   *url.URL
	input *schema.InputSchema
}

// workflowTools returns the workflow tools built by New.
func (s *Set) workflowTools() []*workflowTool { return s.flows }

// buildWorkflows checks every workflow and builds its tool. Any problem is an
// error naming the workflow: configuration is checked before serving.
func (s *Set) buildWorkflows(flows []Workflow) ([]*workflowTool, error) {
	var out []*workflowTool
	var problems []error
	seen := map[string]bool{}
	for _, w := range flows {
		wt, err := s.buildWorkflow(w)
		switch {
		case err != nil:
			problems = append(problems, fmt.Errorf("tools: workflow %q: %w", w.Name, err))
		case seen[w.Name]:
			problems = append(problems, fmt.Errorf("tools: workflow name %q is used twice", w.Name))
		default:
			seen[w.Name] = true
			out = append(out, wt)
		}
	}
	return out, errors.Join(problems...)
}

// buildWorkflow checks one workflow and builds its tool and handler.
func (s *Set) buildWorkflow(w Workflow) (*workflowTool, error) {
	w, u, err := checkWorkflow(w)
	if err != nil {
		return nil, err
	}
	input, err := schema.CompileInputSchema(w.InputSchema)
	if err != nil {
		return nil, err
	}
	wt := &workflowTool{flow: w, url: u, input: input}
	wt.tool = mcp.NewToolWithRawSchema(w.Name, workflowDescription(w, len(bytes.TrimSpace(w.InputSchema)) == 0), input.JSON())
	wt.tool.Annotations = mcp.ToolAnnotation{
		Title:           w.Name,
		ReadOnlyHint:    mcp.ToBoolPtr(false),
		DestructiveHint: mcp.ToBoolPtr(true), // a workflow may do anything
		IdempotentHint:  mcp.ToBoolPtr(false),
		OpenWorldHint:   mcp.ToBoolPtr(true),
	}
	if _, err := json.Marshal(wt.tool); err != nil {
		return nil, fmt.Errorf("its definition does not encode: %w", err)
	}
	wt.handle = func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		stop := s.startProgress(ctx, req, "workflow "+wt.tool.Name)
		r, user, code := s.runWorkflow(ctx, wt, req)
		stop()
		noteWorkflow(ctx, wt, user, code) // for the call's audit line (observe.go)
		return toolResult(r, s.opts.ResultLimit), nil
	}
	return wt, nil
}

// checkWorkflow checks a workflow's name, endpoint, auth and identity, and
// returns it with its defaults filled in (domain, auth) and its parsed URL.
func checkWorkflow(w Workflow) (Workflow, *url.URL, error) {
	if !ValidToolName(w.Name) {
		return w, nil, errors.New("the name is not a valid tool name (1 to 64 of a-z, A-Z, 0-9, _ and -)")
	}
	if IsHelper(w.Name) {
		return w, nil, errors.New("the name is taken by a built-in tool")
	}
	if w.Domain == "" {
		w.Domain = DefaultWorkflowDomain
	}
	u, err := url.Parse(w.URL)
	if err != nil || u.Host == "" {
		return w, nil, fmt.Errorf("invalid endpoint URL %q", w.URL)
	}
	if err := checkWorkflowURL(u, w.Domain); err != nil {
		return w, nil, err
	}
	if w.Auth == "" {
		w.Auth = WorkflowAuthOAuth
	}
	if err := checkWorkflowAuth(w); err != nil {
		return w, nil, err
	}
	if w.Admin && w.ServiceUser == "" {
		return w, nil, errors.New("an admin workflow needs a service identity")
	}
	return w, u, nil
}

// checkWorkflowAuth checks that a workflow has what its auth sends.
func checkWorkflowAuth(w Workflow) error {
	switch w.Auth {
	case WorkflowAuthOAuth:
		if w.Token == nil {
			return errors.New("auth: oauth needs a token source")
		}
	case WorkflowAuthBearer:
		if w.BearerToken == "" {
			return errors.New("auth: bearer needs a token")
		}
	case WorkflowAuthNone:
	default:
		return fmt.Errorf("unknown auth %q (use oauth, bearer or none)", w.Auth)
	}
	return nil
}

// checkWorkflowURL accepts only hosts on the workflow domain (or a subdomain,
// compared without the port), over https unless the host is loopback, and
// without credentials in the URL: the same check as Pipedream's SDK, against
// sending the access token anywhere else.
func checkWorkflowURL(u *url.URL, domain string) error {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if h, _, err := net.SplitHostPort(domain); err == nil {
		domain = h
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	switch {
	case host != domain && !strings.HasSuffix(host, "."+domain):
		return fmt.Errorf("endpoint host %q is not on the workflow domain %s", host, domain)
	case u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(host)):
		return fmt.Errorf("endpoint %q must use https (http only on a loopback host)", u.Redacted())
	case u.User != nil:
		return errors.New("the endpoint URL must not hold credentials")
	}
	return nil
}

// isLoopback reports whether host is localhost or a loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// workflowDescription is the configured description and what an agent must know.
func workflowDescription(w Workflow, freeForm bool) string {
	var b strings.Builder
	desc := strings.TrimSpace(w.Description)
	if desc == "" {
		desc = "Runs the Pipedream workflow " + w.Name + "."
	}
	b.WriteString(desc)
	b.WriteString("\n\nRuns a deployed Pipedream workflow")
	if w.Admin {
		b.WriteString(" as this server's service identity")
	} else {
		b.WriteString(" as the caller, with the caller's connected accounts")
	}
	b.WriteString(". The arguments are sent as the request body; the result's ret is the workflow's HTTP response.")
	if freeForm {
		b.WriteString(" Takes any JSON object: pass the fields the workflow expects.")
	}
	return b.String()
}

// runWorkflow validates, sends and maps one workflow call. It returns the
// result, the end user and the HTTP status (0 when none came back).
func (s *Set) runWorkflow(ctx context.Context, wt *workflowTool, req mcp.CallToolRequest) (Result, string, int) {
	w := wt.flow
	var base Result

	// Validate: no request on bad input.
	body, ferrs := wt.input.Validate(rawArguments(req))
	if len(ferrs) > 0 {
		return invalidArgs(base, ferrs, fmt.Sprintf("Fix the fields above and call %s again.", w.Name)), "", 0
	}

	user, ok := s.endUser(ctx, w.Admin, w.ServiceUser, req.Params.Meta)
	if !ok {
		base.Status = StatusError
		base.Errors = []string{"no end user: this server was started without an external user id for this session"}
		base.Next = "Ask the operator to configure --external-user-id (stdio) or authenticate the HTTP session."
		return base, "", 0
	}
	r, code := s.sendWorkflow(ctx, wt, base, user, body)
	return r, user, code
}

// sendWorkflow calls the workflow for user within the call timeout and maps
// the outcome; it returns the result and the HTTP status (0 when none came
// back).
func (s *Set) sendWorkflow(ctx context.Context, wt *workflowTool, base Result, user string, body []byte) (Result, int) {
	rctx, cancel := context.WithTimeout(ctx, s.callTimeout(ctx))
	defer cancel()
	started := s.opts.Now()
	resp, err := pdclient.InvokeWorkflow(rctx, s.observeWorkflow(wt.request(user, body)))
	var we *pdclient.WorkflowError
	if errors.As(err, &we) && we.NoToken {
		r := s.failure(ctx, base, we.Err, false)
		if r.Status == StatusUpstreamError {
			r.Errors = []string{"could not get an access token for the workflow: " + we.Err.Error()}
		}
		return r, 0
	}
	elapsed := s.opts.Now().Sub(started).Milliseconds()
	base.ExecutedAt = started.UTC().Format(time.RFC3339)
	base.DurationMS = &elapsed
	if err != nil {
		code := 0
		var re *pdclient.RedirectError
		if errors.As(err, &re) {
			code = re.Status
		}
		return s.workflowTransportFailure(ctx, wt, base, err), code
	}
	return s.workflowResponse(ctx, wt, base, user, resp), resp.StatusCode
}

// request is the HTTP call of the workflow for user, with the credential its
// auth sends.
func (wt *workflowTool) request(user string, body []byte) pdclient.WorkflowRequest {
	w := wt.flow
	req := pdclient.WorkflowRequest{URL: wt.url.String(), Body: body, ExternalUserID: user, Environment: w.Environment}
	switch w.Auth {
	case WorkflowAuthOAuth:
		req.Token, req.InvalidateToken = w.Token, w.InvalidateToken
	case WorkflowAuthBearer:
		req.BearerToken = w.BearerToken
	}
	return req
}

// workflowTransportFailure maps a call that got no answer.
func (s *Set) workflowTransportFailure(ctx context.Context, wt *workflowTool, base Result, err error) Result {
	var re *pdclient.RedirectError
	switch {
	case errors.As(err, &re):
		base.Status = StatusUpstreamError
		base.Errors = []string{fmt.Sprintf("the workflow answered with a redirect to %s, which was not followed (only redirects to the workflow's own host are)", re.To)}
		base.Next = "The workflow was triggered and may have run. Tell the operator to check the workflow's HTTP response."
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		base.Status = StatusTimeout
		if ctx.Err() == context.Canceled {
			base.Errors = []string{"the call was cancelled"}
		} else {
			base.Errors = []string{fmt.Sprintf("the workflow did not answer within %s", s.callTimeout(ctx))}
		}
		base.Next = "The workflow may or may not have run. Check its effect before retrying."
	default:
		base.Status = StatusUpstreamError
		msg := err.Error()
		var we *pdclient.WorkflowError
		if errors.As(err, &we) {
			msg = we.Err.Error()
		}
		base.Errors = []string{fmt.Sprintf("could not reach the workflow at %s: %s", wt.url.Host, msg)}
		base.Next = "Retry in a little while; if the error came after the request was sent, check the workflow's effect first."
	}
	return base
}

// connectErr is a kind of Pipedream's documented errors for workflows run for
// end users.
type connectErr int

// The kinds of connectErr.
const (
	connectErrNone connectErr = iota
	connectErrNoUser
	connectErrUnknownUser
	connectErrAccount
	connectErrPlan
)

var accountNotFound = regexp.MustCompile(`(?i)required account for ([a-z0-9_]+) not found`)

// classifyConnectError recognises Pipedream's documented error texts, e.g.
// "Pipedream Connect Error: Required account for hubspot not found for external
// user ID abc-123 in development"; for an account it returns the app slug when
// the text names it.
func classifyConnectError(text string) (connectErr, string) {
	lower := strings.ToLower(text)
	switch {
	case strings.Contains(lower, "no external user id passed"):
		return connectErrNoUser, ""
	case strings.Contains(lower, "no matching external user id"):
		return connectErrUnknownUser, ""
	case accountNotFound.MatchString(text):
		return connectErrAccount, strings.ToLower(accountNotFound.FindStringSubmatch(text)[1])
	case strings.Contains(lower, "required account") && strings.Contains(lower, "not found"):
		return connectErrAccount, ""
	case strings.Contains(lower, "higher tier plan") || (strings.Contains(lower, "production") && strings.Contains(lower, "business plan")):
		return connectErrPlan, ""
	}
	return connectErrNone, ""
}

// isAcknowledgement reports whether a body is Pipedream's generic answer of a
// workflow without a custom HTTP response (HTML, or JSON with an "info" text).
func isAcknowledgement(body []byte) bool {
	return bytes.Contains(bytes.ToLower(body), []byte("to customize this response"))
}

// workflowResponse maps the workflow's HTTP answer to a result.
func (s *Set) workflowResponse(ctx context.Context, wt *workflowTool, base Result, user string, resp *pdclient.WorkflowResponse) Result {
	base.Ret = responseRet(resp.Header.Get("Content-Type"), resp.Body)
	text := errorText(resp.Body)
	if resp.StatusCode >= 400 || strings.HasPrefix(text, "Pipedream Connect Error") {
		if kind, app := classifyConnectError(text); kind != connectErrNone {
			base.Ret = nil // the message is in errors
			base.Errors = []string{text}
			return s.connectErrorResult(ctx, wt, base, user, kind, app)
		}
	}
	w := wt.flow
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		base.Status = StatusSuccess
		if isAcknowledgement(resp.Body) {
			base.Summary = fmt.Sprintf("Workflow %s was triggered.", w.Name)
			base.Notes = append(base.Notes, "The workflow answered with Pipedream's generic acknowledgement: it has no custom HTTP response, so its outcome is not reported here. Check its effect before relying on it.")
			return base
		}
		base.Summary = fmt.Sprintf("Workflow %s answered HTTP %d.", w.Name, code)
		base.Resource = findResource(base.Ret)
	case code == http.StatusTooManyRequests:
		base.Status = StatusRateLimited
		secs := int(math.Ceil(resp.RetryAfter.Seconds()))
		if secs <= 0 {
			secs = 60
		}
		base.RetryAfterSeconds = secs
		base.Errors = []string{"Pipedream rate limit reached for the workflow"}
		base.Next = fmt.Sprintf("Nothing was run. Retry after %d s.", secs)
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		base.Status = StatusUpstreamError
		base.Errors = []string{fmt.Sprintf("the workflow's trigger refused the request (HTTP %d): %s", code, shortText(text))}
		base.Next = fmt.Sprintf("Nothing was run. The trigger's auth (%s) does not accept this server's credentials; tell the operator, retrying will not help.", w.Auth)
	case code >= 500:
		base.Status = StatusUpstreamError
		base.Errors = []string{fmt.Sprintf("the workflow failed (HTTP %d): %s", code, shortText(text))}
		base.Next = "The workflow may or may not have run; check its effect before retrying."
	default:
		base.Status = StatusError
		base.Head = "The workflow answered with an error:"
		base.Errors = []string{fmt.Sprintf("the workflow answered HTTP %d: %s", code, shortText(text))}
		base.Next = "See the workflow's response below: fix what it names and retry. (A 404 can also mean no workflow is deployed at this endpoint: then tell the operator.)"
	}
	return base
}

// connectErrorResult maps one of Pipedream's documented errors of a workflow
// run for an end user (kind is not connectErrNone); nothing was run.
func (s *Set) connectErrorResult(ctx context.Context, wt *workflowTool, base Result, user string, kind connectErr, app string) Result {
	w := wt.flow
	base.Head = "Pipedream refused to run the workflow; nothing was run:"
	switch kind {
	case connectErrNoUser:
		base.Status = StatusError
		base.Next = "Nothing was run. Pipedream received no external user ID although this server sends one: tell the operator (a proxy may drop the X-PD-External-User-ID header)."
	case connectErrUnknownUser:
		env := "the project's environment"
		if w.Environment != "" {
			env = "the " + w.Environment + " environment"
		}
		base.Status = StatusError
		if w.Admin {
			base.Next = fmt.Sprintf("Nothing was run. Pipedream knows no end user %q in %s: an administrator must connect the accounts this workflow uses for the service identity, or fix its external_user_id.", user, env)
		} else {
			base.Next = fmt.Sprintf("Nothing was run. Pipedream knows no end user %q in %s: the user has not connected any account in this project yet. Ask the user to connect the accounts this workflow uses (pipedream_accounts gives a link), then retry.", user, env)
		}
	case connectErrAccount:
		return s.workflowAccountRequired(ctx, wt, base, user, app)
	case connectErrPlan:
		base.Status = StatusUpstreamError
		base.Next = "Nothing was run. Running workflows for production users needs Pipedream's Business plan; retrying will not help. Tell the operator."
	}
	return base
}

// workflowAccountRequired is the account_required result for a workflow that
// needs an account the end user has not connected.
func (s *Set) workflowAccountRequired(ctx context.Context, wt *workflowTool, base Result, user, app string) Result {
	w := wt.flow
	base.Status = StatusAccountRequired
	base.App = app
	what := "the accounts this workflow uses"
	if app != "" {
		what = "a " + app + " account"
	}
	base.Summary = fmt.Sprintf("Workflow %s needs an account that %q has not connected.", w.Name, user)
	if app != "" {
		base.Summary = fmt.Sprintf("Workflow %s needs a %s account that %q has not connected.", w.Name, app, user)
	}
	switch {
	case w.Admin:
		base.Next = fmt.Sprintf("Nothing was run. An administrator must connect %s for the service identity %q in Pipedream Connect; no link is offered here because anyone using it would attach their account to the shared identity.", what, user)
	case app == "":
		base.Next = "Nothing was run. Ask the user to connect the accounts this workflow uses (pipedream_accounts gives a link), then retry."
	case w.Connect == nil:
		base.Next = fmt.Sprintf("Nothing was run. Ask the user to connect %s in Pipedream Connect, then retry.", what)
	default:
		tok, err := w.Connect.CreateConnectToken(ctx, pdclient.ConnectTokenRequest{ExternalUserID: user, WebhookURI: s.opts.WebhookURI})
		link := pdclient.ConnectLink(tok, app)
		if err != nil || link == "" {
			if err != nil {
				base.Errors = append(base.Errors, "a Connect Link could not be created: "+err.Error())
			}
			base.Next = fmt.Sprintf("Nothing was run. Ask the user to connect %s, then retry (retry later to get a link).", what)
			return base
		}
		base.ConnectURL = link
		base.Notes = append(base.Notes, s.sandboxLinkNotes()...)
		base.Next = fmt.Sprintf("Nothing was run. Ask the user to open this link to connect their %s account, then retry: %s", app, link)
	}
	return base
}

// responseRet is the body as ret: JSON as is (a JSON media type, or an object
// or array sent as text or without a type), anything else as a JSON string;
// nil when empty.
func responseRet(contentType string, body []byte) json.RawMessage {
	t := bytes.TrimSpace(body)
	if len(t) == 0 {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	jsonType := mt == "application/json" || strings.HasSuffix(mt, "+json")
	structured := (mt == "" || mt == "text/plain") && (t[0] == '{' || t[0] == '[')
	if (jsonType || structured) && json.Valid(t) {
		return json.RawMessage(t)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // an HTML body stays readable
	_ = enc.Encode(string(body))
	return bytes.TrimSpace(buf.Bytes())
}

// errorText is the message of a body: the "error" or "message" of a JSON
// object, else the body as text.
func errorText(body []byte) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) == nil {
		for _, k := range []string{"error", "message", "detail"} {
			var s string
			if json.Unmarshal(m[k], &s) == nil && s != "" {
				return strings.TrimSpace(s)
			}
		}
	}
	return strings.TrimSpace(string(body))
}

func shortText(s string) string {
	if s == "" {
		return "(no body)"
	}
	if len(s) > 300 {
		return cutUTF8(s, 300) + "…"
	}
	return s
}

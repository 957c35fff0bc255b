package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
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

// defaultWorkflowSchema is the input schema of a workflow without input_schema:
// any JSON object, sent as the body unchanged.
const defaultWorkflowSchema = `{"type":"object","properties":{},"additionalProperties":true}`

// maxWorkflowBody bounds how much of a workflow's response is read; the result
// is cut further at Options.ResultLimit.
const maxWorkflowBody = 8 << 20

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

	flow   Workflow
	url    *url.URL
	schema *jsonschema.Schema
	fields map[string]string // top-level property -> description
	client *http.Client
}

// workflowTools returns the workflow tools built by New.
func (s *Set) workflowTools() []*workflowTool { return s.flows }

// buildWorkflows checks every workflow and builds its tool. Any problem is an
// error naming the workflow: configuration is checked before serving.
func (s *Set) buildWorkflows(flows []Workflow) ([]*workflowTool, error) {
	// Keep idle connections to the workflow hosts (Go's default keeps 2 per host).
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64
	client := &http.Client{CheckRedirect: sameHostRedirects, Transport: transport}
	var out []*workflowTool
	var problems []error
	seen := map[string]bool{}
	for _, w := range flows {
		wt, err := s.buildWorkflow(w, client)
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

func (s *Set) buildWorkflow(w Workflow, client *http.Client) (*workflowTool, error) {
	if !ValidToolName(w.Name) {
		return nil, errors.New("the name is not a valid tool name (1 to 64 of a-z, A-Z, 0-9, _ and -)")
	}
	for _, h := range helperNames {
		if w.Name == h {
			return nil, errors.New("the name is taken by a built-in tool")
		}
	}
	if w.Domain == "" {
		w.Domain = DefaultWorkflowDomain
	}
	u, err := url.Parse(w.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("invalid endpoint URL %q", w.URL)
	}
	if err := checkWorkflowURL(u, w.Domain); err != nil {
		return nil, err
	}
	switch w.Auth {
	case "", WorkflowAuthOAuth:
		w.Auth = WorkflowAuthOAuth
		if w.Token == nil {
			return nil, errors.New("auth: oauth needs a token source")
		}
	case WorkflowAuthBearer:
		if w.BearerToken == "" {
			return nil, errors.New("auth: bearer needs a token")
		}
	case WorkflowAuthNone:
	default:
		return nil, fmt.Errorf("unknown auth %q (use oauth, bearer or none)", w.Auth)
	}
	if w.Admin && w.ServiceUser == "" {
		return nil, errors.New("an admin workflow needs a service identity")
	}
	raw, sch, fields, err := workflowSchema(w.InputSchema)
	if err != nil {
		return nil, err
	}
	wt := &workflowTool{flow: w, url: u, schema: sch, fields: fields, client: client}
	wt.tool = mcp.NewToolWithRawSchema(w.Name, workflowDescription(w, w.InputSchema == nil), raw)
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
		start := time.Now()
		r, user, code := s.runWorkflow(ctx, wt, req)
		s.log.InfoContext(ctx, "tool call", "workflow", w.Name, "external_user_id", user, "status", r.Status,
			"http_status", code, "duration_ms", time.Since(start).Milliseconds())
		return toolResult(r, s.opts.ResultLimit), nil
	}
	return wt, nil
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

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redirectError is a redirect the workflow client refused to follow.
type redirectError struct{ to string }

func (e *redirectError) Error() string { return "redirect to " + e.to + " not followed" }

// sameHostRedirects follows a redirect only to the same scheme and host (port
// included), at most five times: a workflow URL is checked against the
// workflow domain, and its headers carry the access token and the end user.
func sameHostRedirects(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	if !strings.EqualFold(req.URL.Host, first.Host) || req.URL.Scheme != first.Scheme {
		return &redirectError{to: req.URL.Scheme + "://" + req.URL.Host}
	}
	if len(via) >= 5 {
		return &redirectError{to: req.URL.Redacted() + " (too many redirects)"}
	}
	return nil
}

// workflowSchema returns the advertised input schema (type object added when
// missing), its compiled form, and the descriptions of its top-level fields.
func workflowSchema(in []byte) (json.RawMessage, *jsonschema.Schema, map[string]string, error) {
	raw := json.RawMessage(defaultWorkflowSchema)
	if len(bytes.TrimSpace(in)) > 0 {
		var m map[string]any
		if err := json.Unmarshal(in, &m); err != nil {
			return nil, nil, nil, fmt.Errorf("input schema is not a JSON object: %v", err)
		}
		if t, ok := m["type"]; ok && t != "object" {
			return nil, nil, nil, errors.New(`input schema must have "type": "object" (the arguments are the request body)`)
		}
		raw = in
		if _, ok := m["type"]; !ok {
			m["type"] = "object"
			b, err := json.Marshal(m)
			if err != nil {
				return nil, nil, nil, err
			}
			raw = b
		}
	}
	c := jsonschema.NewCompiler()
	c.LoadURL = func(s string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("schema references are not loaded (%s)", s)
	}
	const id = "mem:///workflow-input.json"
	if err := c.AddResource(id, bytes.NewReader(raw)); err != nil {
		return nil, nil, nil, fmt.Errorf("input schema: %w", err)
	}
	sch, err := c.Compile(id)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("input schema does not compile: %w", err)
	}
	var top struct {
		Properties map[string]struct {
			Title       string `json:"title"`
			Description string `json:"description"`
		} `json:"properties"`
	}
	_ = json.Unmarshal(raw, &top)
	fields := map[string]string{}
	for k, p := range top.Properties {
		fields[k] = strings.TrimSpace(strings.Trim(p.Title+": "+p.Description, ": "))
	}
	return raw, sch, fields, nil
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
	body, ferrs := wt.validate(rawArguments(req))
	if len(ferrs) > 0 {
		base.Status = StatusInvalidArgs
		base.Errors = ferrs
		base.Next = fmt.Sprintf("Fix the fields above and call %s again.", w.Name)
		return base, "", 0
	}

	user, ok := s.endUser(ctx, w.Admin, w.ServiceUser, req.Params.Meta)
	if !ok {
		base.Status = StatusError
		base.Errors = []string{"no end user: this server was started without an external user id for this session"}
		base.Next = "Ask the operator to configure --external-user-id (stdio) or authenticate the HTTP session."
		return base, "", 0
	}
	if err := checkWorkflowURL(wt.url, w.Domain); err != nil {
		base.Status = StatusError
		base.Errors = []string{"refused to call the workflow: " + err.Error()}
		base.Next = "Nothing was run. Tell the operator to fix the workflow's endpoint."
		return base, user, 0
	}

	rctx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	defer cancel()
	secret := ""
	switch w.Auth {
	case WorkflowAuthOAuth:
		tok, err := w.Token(rctx)
		if err != nil {
			r := s.failure(ctx, base, err, false)
			if r.Status == StatusUpstreamError {
				r.Errors = []string{"could not get an access token for the workflow: " + err.Error()}
			}
			return r, user, 0
		}
		secret = tok
	case WorkflowAuthBearer:
		secret = w.BearerToken
	}

	send := func(secret string) (*http.Response, []byte, error) {
		hreq, err := http.NewRequestWithContext(rctx, http.MethodPost, wt.url.String(), bytes.NewReader(body))
		if err != nil {
			return nil, nil, err
		}
		hreq.Header.Set("Content-Type", "application/json")
		hreq.Header.Set("Accept", "application/json, text/plain;q=0.9, */*;q=0.8")
		hreq.Header.Set("X-PD-External-User-ID", user)
		if w.Environment != "" {
			hreq.Header.Set("X-PD-Environment", w.Environment)
		}
		if secret != "" {
			hreq.Header.Set("Authorization", "Bearer "+secret)
		}
		resp, err := wt.client.Do(hreq)
		var respBody []byte
		if err == nil {
			respBody, err = io.ReadAll(io.LimitReader(resp.Body, maxWorkflowBody))
			_ = resp.Body.Close()
		}
		return resp, respBody, err
	}

	started := s.opts.Now()
	resp, respBody, err := send(secret)
	if err == nil && resp.StatusCode == http.StatusUnauthorized && w.Auth == WorkflowAuthOAuth && w.InvalidateToken != nil {
		// The trigger refused the access token, so the workflow did not run:
		// drop the token, fetch a fresh one and send once more.
		w.InvalidateToken(secret)
		if tok, terr := w.Token(rctx); terr == nil && tok != secret {
			secret = tok
			resp, respBody, err = send(secret)
		}
	}
	elapsed := s.opts.Now().Sub(started).Milliseconds()
	base.ExecutedAt = started.UTC().Format(time.RFC3339)
	base.DurationMS = &elapsed
	if err != nil {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		return s.workflowTransportFailure(ctx, wt, base, err), user, code
	}
	if secret != "" && len(secret) >= 8 {
		// A workflow that echoes its request must not hand the token to the agent.
		respBody = bytes.ReplaceAll(respBody, []byte(secret), []byte("[redacted]"))
	}
	return s.workflowResponse(ctx, wt, base, user, resp, respBody), user, resp.StatusCode
}

// validate checks the arguments against the workflow's schema and returns the
// body to send: the arguments exactly as given ({} when absent).
func (wt *workflowTool) validate(raw json.RawMessage) (body []byte, problems []string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		raw = json.RawMessage("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, []string{"the arguments are not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, []string{"the arguments must be a JSON object"}
	}
	if path, bad := insaneNumber(v, ""); bad {
		return nil, []string{fieldMsg(path, "number out of range")}
	}
	defer func() {
		if r := recover(); r != nil {
			body, problems = nil, []string{fmt.Sprintf("the arguments could not be validated: %v", r)}
		}
	}()
	err := wt.schema.Validate(v)
	if err == nil {
		return raw, nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return nil, []string{"the arguments could not be validated: " + err.Error()}
	}
	var out []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			out = append(out, wt.leafProblems(e)...)
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	sort.Strings(out)
	return nil, dedupe(out)
}

var quotedName = regexp.MustCompile(`'((?:[^'\\]|\\.)*)'`)

// leafProblems words one failed keyword for an agent: the field path, then
// what is wrong, with the field's description for missing fields.
func (wt *workflowTool) leafProblems(e *jsonschema.ValidationError) []string {
	field := instancePath(e.InstanceLocation)
	kw := e.KeywordLocation[strings.LastIndex(e.KeywordLocation, "/")+1:]
	names := func() []string {
		var out []string
		for _, m := range quotedName.FindAllStringSubmatch(e.Message, -1) {
			out = append(out, strings.ReplaceAll(m[1], `\'`, `'`))
		}
		return out
	}
	switch kw {
	case "required":
		var out []string
		for _, n := range names() {
			msg := "required field is missing"
			if d := wt.fields[n]; d != "" && field == "" {
				msg += " (" + d + ")"
			}
			out = append(out, fieldMsg(join(field, n), msg))
		}
		return out
	case "additionalProperties":
		var out []string
		for _, n := range names() {
			msg := "unknown field"
			if field == "" {
				msg += " (this tool takes: " + wt.fieldList() + ")"
			}
			out = append(out, fieldMsg(join(field, n), msg))
		}
		return out
	}
	return []string{fieldMsg(field, e.Message)}
}

func (wt *workflowTool) fieldList() string {
	names := make([]string, 0, len(wt.fields))
	for k := range wt.fields {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "no fields"
	}
	return strings.Join(names, ", ")
}

func fieldMsg(field, msg string) string {
	if field == "" {
		return msg
	}
	return field + ": " + msg
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// instancePath turns a JSON pointer ("/items/0/name") into "items[0].name".
func instancePath(ptr string) string {
	if ptr == "" || ptr == "/" {
		return ""
	}
	var b strings.Builder
	for i, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		if _, err := strconv.Atoi(tok); err == nil && i > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

// insaneNumber finds a number too long or too large for the validator (which
// works with big.Rat and could be made to allocate without bound).
func insaneNumber(v any, path string) (string, bool) {
	switch x := v.(type) {
	case json.Number:
		s := string(x)
		if len(s) > 400 {
			return path, true
		}
		if i := strings.IndexAny(s, "eE"); i >= 0 {
			exp, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
			return path, err != nil || exp > 400 || exp < -400
		}
	case []any:
		for i, it := range x {
			if p, bad := insaneNumber(it, fmt.Sprintf("%s[%d]", path, i)); bad {
				return p, true
			}
		}
	case map[string]any:
		for k, it := range x {
			if p, bad := insaneNumber(it, join(path, k)); bad {
				return p, true
			}
		}
	}
	return "", false
}

// workflowTransportFailure maps an error of the request itself.
func (s *Set) workflowTransportFailure(ctx context.Context, wt *workflowTool, base Result, err error) Result {
	var re *redirectError
	switch {
	case errors.As(err, &re):
		base.Status = StatusUpstreamError
		base.Errors = []string{fmt.Sprintf("the workflow answered with a redirect to %s, which was not followed (only redirects to the workflow's own host are)", re.to)}
		base.Next = "The workflow was triggered and may have run. Tell the operator to check the workflow's HTTP response."
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		base.Status = StatusTimeout
		if ctx.Err() == context.Canceled {
			base.Errors = []string{"the call was cancelled"}
		} else {
			base.Errors = []string{fmt.Sprintf("the workflow did not answer within %s", s.opts.CallTimeout)}
		}
		base.Next = "The workflow may or may not have run. Check its effect before retrying."
	default:
		base.Status = StatusUpstreamError
		msg := err.Error()
		var ue *url.Error
		if errors.As(err, &ue) {
			msg = ue.Err.Error()
		}
		base.Errors = []string{fmt.Sprintf("could not reach the workflow at %s: %s", wt.url.Host, msg)}
		base.Next = "Retry in a little while; if the error came after the request was sent, check the workflow's effect first."
	}
	return base
}

// Kinds of Pipedream's documented errors for workflows run for end users.
const (
	connectErrNone = iota
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
func classifyConnectError(text string) (int, string) {
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
func (s *Set) workflowResponse(ctx context.Context, wt *workflowTool, base Result, user string, resp *http.Response, body []byte) Result {
	w := wt.flow
	code := resp.StatusCode
	base.Ret = responseRet(resp.Header.Get("Content-Type"), body)
	text := errorText(body)
	kind := connectErrNone
	app := ""
	if code >= 400 || strings.HasPrefix(text, "Pipedream Connect Error") {
		kind, app = classifyConnectError(text)
	}
	env := "the project's environment"
	if w.Environment != "" {
		env = "the " + w.Environment + " environment"
	}
	if kind != connectErrNone {
		base.Ret = nil // the message is in errors
		base.Errors = []string{text}
	}
	switch kind {
	case connectErrNoUser:
		base.Status = StatusError
		base.Next = "Nothing was run. Pipedream received no external user ID although this server sends one: tell the operator (a proxy may drop the X-PD-External-User-ID header)."
		return base
	case connectErrUnknownUser:
		base.Status = StatusError
		if w.Admin {
			base.Next = fmt.Sprintf("Nothing was run. Pipedream knows no end user %q in %s: an administrator must connect the accounts this workflow uses for the service identity, or fix its external_user_id.", user, env)
		} else {
			base.Next = fmt.Sprintf("Nothing was run. Pipedream knows no end user %q in %s: the user has not connected any account in this project yet. Ask the user to connect the accounts this workflow uses (pipedream_accounts gives a link), then retry.", user, env)
		}
		return base
	case connectErrAccount:
		return s.workflowAccountRequired(ctx, wt, base, user, app)
	case connectErrPlan:
		base.Status = StatusUpstreamError
		base.Next = "Nothing was run. Running workflows for production users needs Pipedream's Business plan; retrying will not help. Tell the operator."
		return base
	}

	switch {
	case code >= 200 && code < 300:
		base.Status = StatusSuccess
		if isAcknowledgement(body) {
			base.Summary = fmt.Sprintf("Workflow %s was triggered.", w.Name)
			base.Notes = append(base.Notes, "The workflow answered with Pipedream's generic acknowledgement: it has no custom HTTP response, so its outcome is not reported here. Check its effect before relying on it.")
			return base
		}
		base.Summary = fmt.Sprintf("Workflow %s answered HTTP %d.", w.Name, code)
		base.Resource = findResource(base.Ret)
		return base
	case code == http.StatusTooManyRequests:
		base.Status = StatusRateLimited
		secs := retryAfterSeconds(resp.Header.Get("Retry-After"), s.opts.Now())
		base.RetryAfterSeconds = secs
		base.Errors = []string{"Pipedream rate limit reached for the workflow"}
		base.Next = fmt.Sprintf("Nothing was run. Retry after %d s.", secs)
		return base
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		base.Status = StatusUpstreamError
		base.Errors = []string{fmt.Sprintf("the workflow's trigger refused the request (HTTP %d): %s", code, shortText(text))}
		base.Next = fmt.Sprintf("Nothing was run. The trigger's auth (%s) does not accept this server's credentials; tell the operator, retrying will not help.", w.Auth)
		return base
	case code >= 500:
		base.Status = StatusUpstreamError
		base.Errors = []string{fmt.Sprintf("the workflow failed (HTTP %d): %s", code, shortText(text))}
		base.Next = "The workflow may or may not have run; check its effect before retrying."
		return base
	default:
		base.Status = StatusError
		base.Errors = []string{fmt.Sprintf("the workflow answered HTTP %d: %s", code, shortText(text))}
		base.Next = "See the workflow's response below: fix what it names and retry. (A 404 can also mean no workflow is deployed at this endpoint: then tell the operator.)"
		return base
	}
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

// retryAfterSeconds reads Retry-After (seconds or an HTTP date); default 60.
func retryAfterSeconds(v string, now time.Time) int {
	v = strings.TrimSpace(v)
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return n
	}
	if t, err := http.ParseTime(v); err == nil {
		if secs := int(math.Ceil(t.Sub(now).Seconds())); secs > 0 {
			return secs
		}
		return 1
	}
	return 60
}

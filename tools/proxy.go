package tools

// This file serves pipedream_proxy_request (DESIGN.md "Beyond actions"): one
// request to an app's own API as the caller, through the Connect proxy, for
// when no action fits. It is opt-in per connection and refuses, before any
// upstream call, what an agent must not do with someone's credentials: a
// method the connection does not allow, a URL off the app's API, headers that
// carry credentials or steer the connection, a body over the limit.

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

// ToolProxyRequest is the tool that calls an app's API through the proxy.
const ToolProxyRequest = "pipedream_proxy_request"

// defaultProxyMethods are the methods a connection with the proxy on allows
// when it names none.
var defaultProxyMethods = []string{http.MethodGet}

// CheckProxyMethod reports whether m is a method the Connect proxy takes,
// with an error that lists them.
func CheckProxyMethod(m string) error {
	if slices.Contains(pdclient.ProxyMethods, m) {
		return nil
	}
	return fmt.Errorf("%q is not a proxy method: use %s", m, strings.Join(pdclient.ProxyMethods, ", "))
}

const proxySchema = `{"type":"object","properties":{` +
	`"app":{"type":"string","description":"App slug (or connection name) whose API to call, e.g. github."},` +
	`"method":{"type":"string","description":"HTTP method: GET, or another one the server allows for this app."},` +
	`"url":{"type":"string","description":"Absolute https URL on the app's API, query string included (e.g. https://api.github.com/user/repos?per_page=5); a path such as /user is resolved against the app's API base URL."},` +
	`"headers":{"type":"object","description":"Optional request headers for the app (no credentials: the user's account is used).","additionalProperties":{"type":"string"}},` +
	`"body":{"description":"Optional request body: a JSON value (sent as JSON) or a string (sent as is)."},` +
	`"_account_id":{"type":"string","description":"The account to use (apn_...), when the user has several."}` +
	`},"required":["app","method","url"],"additionalProperties":false}`

const proxyDescription = "Calls the app's own API as the user (their connected account's credentials are added by Pipedream), for what no action covers. " +
	"Answers {\"http_status\", \"headers\", \"ret\": the body, JSON-decoded when it is JSON}. Prefer an action when one fits. " +
	"Only the app's API domain over https, only the methods this server allows; never send credentials."

// proxyTool is the tool's definition for the proxy connections of a scope:
// read-only when they all allow only GET, else destructive.
func (s *Set) proxyTool(conns []*connState) mcpserver.ServerTool {
	readOnly := true
	apps := make([]string, 0, len(conns))
	for _, c := range conns {
		methods := c.proxyMethods()
		if slices.ContainsFunc(methods, func(m string) bool { return m != http.MethodGet }) {
			readOnly = false
		}
		apps = append(apps, fmt.Sprintf("%s (%s)", c.App, strings.Join(methods, ", ")))
	}
	t := mcp.NewToolWithRawSchema(ToolProxyRequest, proxyDescription+" Apps and methods here: "+strings.Join(apps, "; ")+".", json.RawMessage(proxySchema))
	t.Annotations = mcp.ToolAnnotation{Title: "Call an app's API", OpenWorldHint: mcp.ToBoolPtr(true)}
	if readOnly {
		t.Annotations.ReadOnlyHint, t.Annotations.DestructiveHint = mcp.ToBoolPtr(true), mcp.ToBoolPtr(false)
		t.Annotations.IdempotentHint = mcp.ToBoolPtr(true)
	} else {
		t.Annotations.DestructiveHint = mcp.ToBoolPtr(true)
	}
	return mcpserver.ServerTool{Tool: t, Handler: s.withCallTimeout(s.withArgsBack(json.RawMessage(proxySchema), s.handleProxy))}
}

// proxyConns are the connections with the proxy on, within scope ("" for all).
func (s *Set) proxyConns(scope string) []*connState {
	var out []*connState
	for _, c := range s.conns {
		if c.Proxy && (scope == "" || c.Name == scope) {
			out = append(out, c)
		}
	}
	return out
}

// proxyMethods are the methods the connection allows through the proxy.
func (c *Connection) proxyMethods() []string {
	if c.ReadOnly {
		return []string{http.MethodGet}
	}
	if len(c.ProxyMethods) == 0 {
		return defaultProxyMethods
	}
	return c.ProxyMethods
}

type proxyArgs struct {
	App       string            `json:"app"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	AccountID string            `json:"_account_id"`
}

// Headers an agent may not set: hop-by-hop headers (RFC 9110 7.6.1) and
// those the transport owns, and credentials (Pipedream adds the account's
// own). Pipedream's own (x-pd-*) are refused too.
var (
	transportHeaders = []string{
		"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
		"host", "content-length", "expect",
	}
	credentialHeaders = []string{
		"authorization", "proxy-authorization", "proxy-authenticate", "cookie", "set-cookie",
		"x-api-key", "api-key", "apikey", "x-auth-token", "x-access-token", "x-csrf-token", "x-amz-security-token",
	}
)

// refusedHeader says why an agent may not set the header name, or "".
func refusedHeader(name string) string {
	n := strings.ToLower(strings.TrimSpace(name))
	switch {
	case n == "" || strings.ContainsAny(n, " \t\r\n:"):
		return "is not a header name"
	case strings.HasPrefix(n, "x-pd-"):
		return "is Pipedream's own"
	case slices.Contains(transportHeaders, n):
		return "is a hop-by-hop or transport header the connection sets itself"
	case slices.Contains(credentialHeaders, n) || strings.Contains(n, "token") || strings.Contains(n, "secret") || strings.HasSuffix(n, "-auth"):
		return "carries credentials; the user's account is used instead"
	}
	return ""
}

// proxyHeadersShown are the response headers the result carries.
var proxyHeadersShown = []string{"Content-Type", "Content-Length", "Location", "Link", "Etag", "Last-Modified", "Retry-After", "X-Request-Id", "X-Github-Request-Id"}

func (s *Set) handleProxy(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	var a proxyArgs
	if err := decodeArgs(req, &a); err != nil {
		return helperError(StatusInvalidArgs, err.Error(), "Pass {\"app\", \"method\", \"url\"} and optionally \"headers\" (an object of strings) and \"body\"."), nil
	}
	c, r := s.proxyConn(ctx, a.App)
	if r != nil {
		return toolResult(*r, s.opts.ResultLimit), nil
	}
	res, acct, user := s.proxyCall(ctx, req, c, a)
	noteProxy(ctx, c, user, acct) // for the call's audit line (observe.go)
	if res.ask != nil {
		return res.ask, nil
	}
	return toolResult(res, s.opts.ResultLimit), nil
}

// proxyConfirmArgs is a proxy request's headers and body as a confirmation
// shows them (credentials cannot be among them: refusedHeader).
func proxyConfirmArgs(a proxyArgs) string {
	shown := map[string]any{}
	if len(a.Headers) > 0 {
		shown["headers"] = a.Headers
	}
	if len(a.Body) > 0 {
		shown["body"] = a.Body
	}
	return shownArgs(shown)
}

// proxyCall checks the request, resolves the account and sends it; it
// returns the result, the account and the user.
func (s *Set) proxyCall(ctx context.Context, req mcp.CallToolRequest, c *connState, a proxyArgs) (Result, string, string) {
	base := Result{App: c.App}
	method := strings.ToUpper(strings.TrimSpace(a.Method))
	if allowed := c.proxyMethods(); !slices.Contains(allowed, method) {
		why := "this server allows"
		if c.ReadOnly {
			why = "this read-only connection allows"
		}
		return invalid(base, fmt.Sprintf("method: %q is not allowed for %s: %s only %s", a.Method, c.App, why, strings.Join(allowed, ", ")),
			fmt.Sprintf("Use one of %s, or find an action that does this (the operator may allow more methods with proxy_methods).", strings.Join(allowed, ", "))), "", ""
	}
	for name, v := range a.Headers {
		if why := refusedHeader(name); why != "" {
			return invalid(base, fmt.Sprintf("headers: %q %s", name, why), "Leave that header out and call again."), "", ""
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return invalid(base, fmt.Sprintf("headers: the value of %q holds a line break or NUL", name), "Send the value on one line."), "", ""
		}
	}
	body, contentType, r := s.proxyBody(base, method, a)
	if r != nil {
		return *r, "", ""
	}
	user, ok := s.endUser(ctx, c.Admin, c.ServiceUser, req.Params.Meta)
	if !ok {
		base.Status = StatusError
		base.Errors = []string{"no end user: this server was started without an external user id for this session"}
		base.Next = "Ask the operator to configure --external-user-id (stdio) or authenticate the HTTP session."
		return base, "", ""
	}
	target, r := s.proxyTarget(ctx, c, base, a.URL)
	if r != nil {
		return *r, "", user
	}
	acct, r := s.resolveAccount(ctx, c, c.App, user, a.AccountID, base)
	if r != nil {
		return *r, "", user
	}
	base.AccountID = acct.ID
	if method != http.MethodGet && method != http.MethodHead {
		subj := confirmSubject{policy: c.Confirm, tool: req.Params.Name, title: method + " " + target,
			key: "a " + method + " request to " + c.App + "'s API", why: "a write through the Connect proxy", args: proxyConfirmArgs(a)}
		if cf := s.confirmDestructive(ctx, subj, req, user, rawArguments(req), base); !cf.run {
			return cf.instead(base), acct.ID, user
		}
	}
	headers := make(map[string]string, len(a.Headers))
	for k, v := range a.Headers {
		if strings.EqualFold(k, "content-type") {
			contentType = v
			continue
		}
		headers[k] = v
	}
	started := s.opts.Now()
	resp, err := c.Client.Proxy(ctx, pdclient.ProxyRequest{
		ExternalUserID: user, AccountID: acct.ID, Method: method, URL: target,
		Headers: headers, Body: body, ContentType: contentType, MaxResponseBytes: int64(s.opts.ResultLimit),
	})
	elapsed := s.opts.Now().Sub(started).Milliseconds()
	base.ExecutedAt, base.DurationMS = started.UTC().Format(time.RFC3339), &elapsed
	if err != nil {
		r := s.failure(ctx, base, err, method != http.MethodGet)
		r.Next = strings.ReplaceAll(r.Next, "The action may or may not have run", "The request may or may not have reached the app")
		return r, acct.ID, user
	}
	return proxyResult(base, method, target, resp), acct.ID, user
}

// proxyConn finds the connection in scope with the proxy on for app (a slug
// or a connection name).
func (s *Set) proxyConn(ctx context.Context, app string) (*connState, *Result) {
	conns := s.proxyConns(ScopeFrom(ctx))
	for _, c := range conns {
		if app != "" && (c.App == app || c.Name == app) {
			return c, nil
		}
	}
	names := make([]string, 0, len(conns))
	for _, c := range conns {
		names = append(names, c.App)
	}
	r := invalid(Result{}, fmt.Sprintf("app: %q has no API access through this server (apps: %s)", app, strings.Join(names, ", ")),
		"Pass one of the apps listed, or use the app's actions.")
	return nil, &r
}

// proxyBody encodes the body: a JSON string is sent as is, any other JSON
// value as JSON. GET and DELETE take none, and none may pass the limit.
func (s *Set) proxyBody(base Result, method string, a proxyArgs) ([]byte, string, *Result) {
	raw := strings.TrimSpace(string(a.Body))
	if raw == "" || raw == "null" {
		return nil, "", nil
	}
	if method == http.MethodGet || method == http.MethodDelete {
		r := invalid(base, fmt.Sprintf("body: a %s request takes no body", method), "Leave body out, or put the parameters in the URL's query string.")
		return nil, "", &r
	}
	body, ct := []byte(raw), "application/json"
	var str string
	if json.Unmarshal(a.Body, &str) == nil {
		body, ct = []byte(str), "text/plain; charset=utf-8"
	}
	if len(body) > s.opts.ResultLimit {
		r := invalid(base, fmt.Sprintf("body: %d bytes is over this server's limit of %d bytes", len(body), s.opts.ResultLimit), "Send less data per request (split it into several), or use an action made for uploads.")
		return nil, "", &r
	}
	return body, ct, nil
}

// proxyTarget checks the URL: absolute https on one of the app's allowed
// domains, or a path resolved against the app's documented API base URL.
func (s *Set) proxyTarget(ctx context.Context, c *connState, base Result, raw string) (string, *Result) {
	app, err := c.Client.GetApp(ctx, c.App)
	if err != nil {
		r := s.failure(ctx, base, err, false)
		return "", &r
	}
	pc := app.Connect
	if pc != nil && !pc.ProxyEnabled {
		r := invalid(base, fmt.Sprintf("app: Pipedream does not proxy requests to %s's API", c.App), "Use the app's actions instead.")
		return "", &r
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || raw == "" {
		r := invalid(base, fmt.Sprintf("url: %q is not a URL", raw), "Pass an absolute https URL on the app's API.")
		return "", &r
	}
	if !u.IsAbs() && u.Host == "" && strings.HasPrefix(u.Path, "/") {
		if pc == nil || pc.BaseProxyTargetURL == "" {
			r := invalid(base, fmt.Sprintf("url: %q is a path, and Pipedream documents no API base URL for %s to resolve it against", raw, c.App), "Pass the absolute https URL of the app's API.")
			return "", &r
		}
		b, err := url.Parse(pc.BaseProxyTargetURL)
		if err != nil {
			r := invalid(base, fmt.Sprintf("url: the API base URL Pipedream gives for %s is not a URL", c.App), "Pass the absolute https URL of the app's API.")
			return "", &r
		}
		u = b.ResolveReference(&url.URL{Path: strings.TrimSuffix(b.Path, "/") + u.Path, RawQuery: u.RawQuery})
	}
	switch {
	case u.Scheme != "https" || u.Host == "":
		r := invalid(base, fmt.Sprintf("url: %q is not an absolute https URL", raw), "Pass an https URL on the app's API (e.g. https://api.example.com/v1/...).")
		return "", &r
	case u.User != nil:
		r := invalid(base, "url: credentials in the URL are refused; the user's account is used", "Leave the user and password out of the URL.")
		return "", &r
	case credentialQuery(u.Query()) != "":
		r := invalid(base, fmt.Sprintf("url: the query parameter %q carries credentials; the user's account is used", credentialQuery(u.Query())), "Leave that parameter out of the URL.")
		return "", &r
	case u.Fragment != "":
		u.Fragment = ""
	}
	if pc != nil && len(pc.AllowedDomains) > 0 && !onDomains(u.Hostname(), pc.AllowedDomains) {
		r := invalid(base, fmt.Sprintf("url: %s is not on %s's API (allowed: %s)", u.Hostname(), c.App, strings.Join(pc.AllowedDomains, ", ")), "Pass a URL on one of the allowed domains.")
		return "", &r
	}
	return u.String(), nil
}

// credentialQuery is the first query parameter of q named like a credential
// (access_token, api_key, client_secret, ...), or "".
func credentialQuery(q url.Values) string {
	for name := range q {
		n := strings.ToLower(name)
		if n == "api_key" || n == "apikey" || n == "key" || n == "auth" || strings.Contains(n, "token") || strings.Contains(n, "secret") || strings.Contains(n, "password") {
			return name
		}
	}
	return ""
}

// onDomains reports whether host is one of domains or a subdomain of one.
func onDomains(host string, domains []string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, d := range domains {
		d = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "*."))
		if d != "" && (host == d || strings.HasSuffix(host, "."+d)) {
			return true
		}
	}
	return false
}

func invalid(base Result, msg, next string) Result {
	base.Status = StatusInvalidArgs
	base.Errors = []string{msg}
	base.Next = next
	return base
}

// proxyResult shapes the app's answer: status, selected headers and the body
// (JSON-decoded when it is JSON). A 4xx or 5xx is an error result carrying the
// app's own message.
func proxyResult(base Result, method, target string, resp *pdclient.ProxyResponse) Result {
	base.HTTPStatus = resp.StatusCode
	base.Headers = map[string]string{}
	for _, h := range proxyHeadersShown {
		if v := resp.Header.Get(h); v != "" {
			base.Headers[strings.ToLower(h)] = v
		}
	}
	if len(base.Headers) == 0 {
		base.Headers = nil
	}
	base.Ret, base.Truncated = proxyBodyJSON(resp)
	line := fmt.Sprintf("%s %s answered %d %s.", method, target, resp.StatusCode, http.StatusText(resp.StatusCode))
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		base.Status = StatusRateLimited
		secs := retryAfterSeconds(resp.Header.Get("Retry-After"))
		base.RetryAfterSeconds = secs
		base.Errors = []string{line + appMessage(base.Ret)}
		base.Next = fmt.Sprintf("The app is rate limiting these requests. Retry after %d s.", secs)
	case resp.StatusCode >= 400:
		base.Status = StatusError
		base.Head = "The app refused the request:"
		if resp.StatusCode >= 500 {
			base.Head = "The app failed:"
		}
		base.Errors = []string{line + appMessage(base.Ret)}
		switch {
		case resp.StatusCode == 401 || resp.StatusCode == 403:
			base.Next = "The user's account may lack the permission or scope this needs; check the URL, or reconnect the account with more access."
		case resp.StatusCode == 404:
			base.Next = "Check the URL (path and IDs) against the app's API documentation."
		case resp.StatusCode >= 500:
			base.Next = "The app failed; the request may or may not have had an effect. Check before retrying."
		default:
			base.Next = "Fix the request as the app's message says, then call again."
		}
	default:
		base.Status = StatusSuccess
		base.Summary = line
	}
	return base
}

// proxyBodyJSON is the body as JSON: the value itself when it is JSON, else
// a string of its text, else a note on the binary body.
func proxyBodyJSON(resp *pdclient.ProxyResponse) (json.RawMessage, bool) {
	if len(resp.Body) == 0 {
		return nil, resp.Truncated
	}
	ct := strings.ToLower(resp.Header.Get("Content-Type"))
	if !resp.Truncated && json.Valid(resp.Body) && (ct == "" || strings.Contains(ct, "json")) {
		return json.RawMessage(resp.Body), false
	}
	var text string
	switch {
	case ct == "" || strings.HasPrefix(ct, "text/") || strings.Contains(ct, "json") || strings.Contains(ct, "xml"):
		text = strings.ToValidUTF8(string(resp.Body), "\uFFFD")
		if resp.Truncated {
			text += "\n…[truncated at the server's result limit]"
		}
	default:
		text = fmt.Sprintf("[binary body (%s), %d bytes%s, not shown]", ct, len(resp.Body), map[bool]string{true: " or more", false: ""}[resp.Truncated])
	}
	b, _ := json.Marshal(text)
	return b, resp.Truncated
}

// appMessage is ": <message>" from an app's error body (message, error,
// error_description, errors[0].message), or "".
func appMessage(body json.RawMessage) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		var s string
		if json.Unmarshal(body, &s) == nil && strings.TrimSpace(s) != "" {
			return ": " + cutUTF8(strings.TrimSpace(s), 500)
		}
		return ""
	}
	for _, k := range []string{"message", "error_description", "error", "detail", "title"} {
		if s := scalarText(m[k]); s != "" {
			return ": " + cutUTF8(s, 500)
		}
	}
	var errs []struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(m["errors"], &errs) == nil && len(errs) > 0 && errs[0].Message != "" {
		return ": " + cutUTF8(errs[0].Message, 500)
	}
	return ""
}

// retryAfterSeconds reads a Retry-After in seconds (60 when absent or a date).
func retryAfterSeconds(v string) int {
	if n, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && n > 0 && n < 86400 {
		return int(math.Ceil(n))
	}
	return 60
}

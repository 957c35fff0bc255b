package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// The tests below run the real mcp-go transports over real HTTP against a
// small tool set: "whoami" reports the identity the handler saw, "count"
// counts its runs, "slow" takes a while, and alpha_*/beta_* belong to the
// connections alpha and beta.

type userKey struct{}
type scopeKey struct{}

func testIdentity(ctx context.Context, user, conn string, _ url.Values) context.Context {
	return context.WithValue(context.WithValue(ctx, userKey{}, user), scopeKey{}, conn)
}

func scopeOf(ctx context.Context) string { s, _ := ctx.Value(scopeKey{}).(string); return s }
func userOf(ctx context.Context) string  { s, _ := ctx.Value(userKey{}).(string); return s }

type fakeTools struct {
	ready atomic.Bool
	runs  atomic.Int32
	slow  time.Duration
	// started, when set, receives a value as each "slow" call starts.
	started chan struct{}
	// blocked, when set, receives a value as each "block" call starts.
	blocked chan struct{}
}

func (f *fakeTools) Tools() []mcpserver.ServerTool {
	text := func(name string, fn func(ctx context.Context) string) mcpserver.ServerTool {
		return mcpserver.ServerTool{
			Tool: mcp.NewTool(name, mcp.WithDescription(name)),
			Handler: func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return mcp.NewToolResultText(fn(ctx)), nil
			},
		}
	}
	return []mcpserver.ServerTool{
		text("whoami", func(ctx context.Context) string { return userOf(ctx) + "|" + scopeOf(ctx) }),
		text("count", func(context.Context) string { return fmt.Sprint(f.runs.Add(1)) }),
		text("slow", func(ctx context.Context) string {
			if f.started != nil {
				f.started <- struct{}{}
			}
			select {
			case <-time.After(f.slow):
				return "done"
			case <-ctx.Done():
				return "cancelled"
			}
		}),
		text("alpha_echo", func(context.Context) string { return "alpha" }),
		text("beta_echo", func(context.Context) string { return "beta" }),
		{
			// block runs until its call is cancelled, then says why.
			Tool: mcp.NewTool("block", mcp.WithDescription("block")),
			Handler: func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				if f.blocked != nil {
					f.blocked <- struct{}{}
				}
				<-ctx.Done()
				return mcp.NewToolResultError("cancelled: " + context.Cause(ctx).Error()), nil
			},
		},
	}
}

func (f *fakeTools) Filter(ctx context.Context, tools []mcp.Tool) []mcp.Tool {
	scope := scopeOf(ctx)
	if scope == "" {
		return tools
	}
	return slices.DeleteFunc(slices.Clone(tools), func(t mcp.Tool) bool {
		return (strings.HasPrefix(t.Name, "alpha_") || strings.HasPrefix(t.Name, "beta_")) && !strings.HasPrefix(t.Name, scope+"_")
	})
}

func (f *fakeTools) Ready() bool                                    { return f.ready.Load() }
func (f *fakeTools) WaitReady(ctx context.Context, _ time.Duration) {}

// tokenAuth maps bearer tokens to users.
type tokenAuth map[string]string

func (a tokenAuth) Authenticate(r *http.Request) (string, error) {
	tok, aerr := bearerToken(r)
	if aerr != nil {
		return "", aerr
	}
	if u, ok := a[tok]; ok {
		return u, nil
	}
	return "", &AuthError{Code: authInvalidToken, Description: "unknown token"}
}

var testAuth = tokenAuth{"tok-alice": "alice", "tok-bob": "bob"}

type fixture struct {
	tools *fakeTools
	srv   *Server
	h     *HTTPHandler
	url   string
	// served records the requests the handler is done with.
	served *served
}

func newFixture(t *testing.T, mutate func(*HTTPOptions)) *fixture {
	t.Helper()
	f := newHandler(t, mutate)
	ts := httptest.NewServer(f.served.wrap(f.h))
	t.Cleanup(ts.Close)
	f.url = ts.URL
	return f
}

// newHandler is a fixture without a server (url ""); its sessions are closed
// when the test ends.
func newHandler(t *testing.T, mutate func(*HTTPOptions)) *fixture {
	t.Helper()
	ft := &fakeTools{slow: 300 * time.Millisecond}
	ft.ready.Store(true)
	s := New(ft, Options{Name: "test", Version: "0"})
	opts := HTTPOptions{
		Transport:              "http",
		Auth:                   testAuth,
		Identity:               testIdentity,
		HasConnection:          func(n string) bool { return n == "alpha" || n == "beta" },
		DNSRebindingProtection: true,
		Routes: map[string]http.Handler{"/extra/": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "extra")
		})},
	}
	if mutate != nil {
		mutate(&opts)
	}
	h, err := s.NewHTTPHandler(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.CloseSessions(context.Background()) })
	return &fixture{tools: ft, srv: s, h: h, served: &served{}}
}

func initRequest() mcp.InitializeRequest {
	return mcp.InitializeRequest{Params: mcp.InitializeParams{ClientInfo: mcp.Implementation{Name: "test", Version: "1"}}}
}

// dialHTTP connects a Streamable HTTP client; legacy pins 2025-11-25
// (sessions), otherwise the client negotiates 2026-07-28.
func dialHTTP(t *testing.T, url, token string, legacy bool) *client.Client {
	t.Helper()
	tr, err := transport.NewStreamableHTTP(url, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	if err != nil {
		t.Fatal(err)
	}
	var opts []client.ClientOption
	if legacy {
		opts = append(opts, client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
	}
	c := client.NewClient(tr, opts...)
	start(t, c)
	return c
}

func dialSSE(t *testing.T, url, token string) *client.Client {
	t.Helper()
	c, err := client.NewSSEMCPClient(url, client.WithHeaders(map[string]string{"Authorization": "Bearer " + token}))
	if err != nil {
		t.Fatal(err)
	}
	start(t, c)
	return c
}

func start(t *testing.T, c *client.Client) {
	t.Helper()
	// The SSE transport keeps its stream on Start's context.
	if err := c.Start(t.Context()); err != nil {
		t.Fatalf("start: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := c.Initialize(ctx, initRequest()); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
}

func toolNames(t *testing.T, c *client.Client) []string {
	t.Helper()
	res, err := c.ListTools(t.Context(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	return names
}

// callText calls a tool and returns its text, or "error: ..." for an error.
func callText(t *testing.T, c *client.Client, name string) string {
	t.Helper()
	res, err := c.CallTool(t.Context(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: name}})
	if err != nil {
		return "error: " + err.Error()
	}
	var b strings.Builder
	for _, ct := range res.Content {
		if tc, ok := ct.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	if res.IsError {
		return "error: " + b.String()
	}
	return b.String()
}

func TestStreamableHTTPIdentityAndScope(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	for _, legacy := range []bool{true, false} {
		era := map[bool]string{true: "2025-11-25", false: "2026-07-28"}[legacy]
		t.Run(era, func(t *testing.T) {
			t.Parallel()
			all := dialHTTP(t, f.url+"/mcp", "tok-alice", legacy)
			if got := all.ProtocolVersion(); got != era {
				t.Fatalf("negotiated %s, want %s", got, era)
			}
			if hasSession := all.GetSessionId() != ""; hasSession != legacy {
				t.Errorf("session id %q for era %s", all.GetSessionId(), era)
			}
			if got := callText(t, all, "whoami"); got != "alice|" {
				t.Errorf("whoami on /mcp = %q, want alice|", got)
			}
			if got := toolNames(t, all); !slices.Contains(got, "alpha_echo") || !slices.Contains(got, "beta_echo") {
				t.Errorf("/mcp lists %v, want both connections", got)
			}

			alpha := dialHTTP(t, f.url+"/mcp/alpha", "tok-bob", legacy)
			if got := callText(t, alpha, "whoami"); got != "bob|alpha" {
				t.Errorf("whoami on /mcp/alpha = %q, want bob|alpha", got)
			}
			names := toolNames(t, alpha)
			if !slices.Contains(names, "alpha_echo") || slices.Contains(names, "beta_echo") {
				t.Errorf("/mcp/alpha lists %v, want alpha_echo and not beta_echo", names)
			}
			if got := callText(t, alpha, "beta_echo"); !strings.HasPrefix(got, "error") {
				t.Errorf("calling beta_echo on /mcp/alpha = %q, want an error", got)
			}
		})
	}
}

// rawPost sends one JSON-RPC message as a legacy-era client would.
func rawPost(t *testing.T, url, token, session, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set(mcp.HeaderProtocolVersion, mcp.LATEST_LEGACY_PROTOCOL_VERSION)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if session != "" {
		req.Header.Set(mcpserver.HeaderKeySessionID, session)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

const callCount = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"count","arguments":{}}}`

func TestSessionsBelongToTheirUser(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	alice := dialHTTP(t, f.url+"/mcp", "tok-alice", true)
	sid := alice.GetSessionId()
	if sid == "" {
		t.Fatal("no session id")
	}
	if got := callText(t, alice, "count"); got != "1" {
		t.Fatalf("count = %q", got)
	}
	cases := []struct {
		name, url, token, session string
		want                      int
	}{
		{"another user's session", f.url + "/mcp", "tok-bob", sid, http.StatusForbidden},
		{"made-up session", f.url + "/mcp", "tok-alice", "mcp-session-made-up", http.StatusNotFound},
		{"session from another endpoint", f.url + "/mcp/alpha", "tok-alice", sid, http.StatusNotFound},
		{"no credentials", f.url + "/mcp", "", sid, http.StatusUnauthorized},
	}
	for _, tc := range cases {
		resp := rawPost(t, tc.url, tc.token, tc.session, callCount)
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
	if n := f.tools.runs.Load(); n != 1 {
		t.Errorf("count ran %d times, want 1: a refused request ran the tool", n)
	}
	// The owner still can.
	if resp := rawPost(t, f.url+"/mcp", "tok-alice", sid, callCount); resp.StatusCode != http.StatusOK {
		t.Errorf("owner's request: status %d", resp.StatusCode)
	}
	// The owner's DELETE ends the session. (mcp-go's client sends its DELETE
	// without the configured headers, so it is refused like any
	// unauthenticated request and the session ends by idle expiry instead.)
	del := func(token string) int {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodDelete, f.url+"/mcp", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set(mcpserver.HeaderKeySessionID, sid)
		req.Header.Set(mcp.HeaderProtocolVersion, mcp.LATEST_LEGACY_PROTOCOL_VERSION)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := del("tok-bob"); got != http.StatusForbidden {
		t.Errorf("another user's DELETE: %d, want 403", got)
	}
	if got := del(""); got != http.StatusUnauthorized {
		t.Errorf("unauthenticated DELETE: %d, want 401", got)
	}
	if got := del("tok-alice"); got != http.StatusOK {
		t.Errorf("owner's DELETE: %d, want 200", got)
	}
	if resp := rawPost(t, f.url+"/mcp", "tok-alice", sid, callCount); resp.StatusCode != http.StatusNotFound {
		t.Errorf("request on a deleted session: status %d, want 404", resp.StatusCode)
	}
	if n := f.h.Sessions(); n != 0 {
		t.Errorf("%d sessions still bound after DELETE", n)
	}
}

func TestUnauthorized(t *testing.T) {
	t.Parallel()
	plain := newFixture(t, nil)
	withIssuer := newFixture(t, func(o *HTTPOptions) {
		o.Issuer = "https://auth.example.com"
		o.PublicURL = "https://mcp.example.com/pd/"
	})
	cases := []struct {
		name, url, token string
		wantChallenge    []string
		notInChallenge   []string
	}{
		{"no token", plain.url + "/mcp", "", []string{`Bearer realm="pipedream-mcp"`}, []string{"error=", "resource_metadata"}},
		{"bad token", plain.url + "/mcp", "tok-mallory", []string{`Bearer realm="pipedream-mcp"`, `error="invalid_token"`}, []string{"resource_metadata", "tok-mallory"}},
		{"issuer, no token", withIssuer.url + "/mcp", "", []string{`resource_metadata="https://mcp.example.com/pd/.well-known/oauth-protected-resource/mcp"`}, nil},
		{"issuer, per connection", withIssuer.url + "/mcp/alpha", "tok-x", []string{`error="invalid_token"`, `resource_metadata="https://mcp.example.com/pd/.well-known/oauth-protected-resource/mcp/alpha"`}, nil},
	}
	for _, tc := range cases {
		resp := rawPost(t, tc.url, tc.token, "", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", tc.name, resp.StatusCode)
			continue
		}
		ch := resp.Header.Get("WWW-Authenticate")
		for _, want := range tc.wantChallenge {
			if !strings.Contains(ch, want) {
				t.Errorf("%s: WWW-Authenticate %q lacks %q", tc.name, ch, want)
			}
		}
		for _, not := range tc.notInChallenge {
			if strings.Contains(ch, not) {
				t.Errorf("%s: WWW-Authenticate %q contains %q", tc.name, ch, not)
			}
		}
		body, _ := io.ReadAll(resp.Body)
		if strings.Contains(string(body), "tok-") {
			t.Errorf("%s: body repeats the token: %s", tc.name, body)
		}
	}

	// RFC 9728 metadata.
	for path, resource := range map[string]string{
		"/.well-known/oauth-protected-resource":            "https://mcp.example.com/pd/mcp",
		"/.well-known/oauth-protected-resource/mcp":        "https://mcp.example.com/pd/mcp",
		"/.well-known/oauth-protected-resource/mcp/beta":   "https://mcp.example.com/pd/mcp/beta",
		"/.well-known/oauth-protected-resource/mcp/gamma":  "",
		"/.well-known/oauth-protected-resource/elsewhere":  "",
		"/.well-known/oauth-protected-resource/mcp/a/b/c":  "",
		"/.well-known/oauth-protected-resource/sse/alpha/": "",
	} {
		resp, err := http.Get(withIssuer.url + path)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Resource             string   `json:"resource"`
			AuthorizationServers []string `json:"authorization_servers"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if resource == "" {
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s: status %d, want 404", path, resp.StatusCode)
			}
			continue
		}
		if resp.StatusCode != http.StatusOK || doc.Resource != resource || !slices.Equal(doc.AuthorizationServers, []string{"https://auth.example.com"}) {
			t.Errorf("%s: status %d, doc %+v; want resource %s", path, resp.StatusCode, doc, resource)
		}
	}
	if resp, _ := http.Get(plain.url + "/.well-known/oauth-protected-resource"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("metadata served without an issuer: %d", resp.StatusCode)
	}
}

func TestHTTPEndpoints(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *HTTPOptions) { o.MaxBodyBytes = 1024 })
	get := func(path string) int {
		resp, err := http.Get(f.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get("/healthz"); got != 200 {
		t.Errorf("healthz = %d", got)
	}
	f.tools.ready.Store(false)
	if got := get("/readyz"); got != http.StatusServiceUnavailable {
		t.Errorf("readyz while loading = %d, want 503", got)
	}
	if got := get("/healthz"); got != 200 {
		t.Errorf("healthz while loading = %d, want 200", got)
	}
	f.tools.ready.Store(true)
	if got := get("/readyz"); got != 200 {
		t.Errorf("readyz when ready = %d", got)
	}
	if got := get("/extra/x"); got != 200 {
		t.Errorf("extra route without credentials = %d, want 200", got)
	}
	if got := get("/nowhere"); got != 404 {
		t.Errorf("unknown path = %d", got)
	}

	big := `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"pad":"` + strings.Repeat("x", 2048) + `"}}`
	if resp := rawPost(t, f.url+"/mcp", "tok-alice", "", big); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d, want 413", resp.StatusCode)
	}
	// Chunked (no Content-Length) bodies are limited too.
	req, _ := http.NewRequest(http.MethodPost, f.url+"/mcp", io.MultiReader(strings.NewReader(big)))
	req.Header.Set("Authorization", "Bearer tok-alice")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized chunked body: %d, want 413", resp.StatusCode)
	}
	if resp := rawPost(t, f.url+"/mcp/gamma", "tok-alice", "", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown connection: %d, want 404", resp.StatusCode)
	}
	if resp := rawPost(t, f.url+"/mcp/gamma", "", "", `{}`); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unknown connection without credentials: %d, want 401 (no probing)", resp.StatusCode)
	}
}

func TestDNSRebindingProtection(t *testing.T) {
	t.Parallel()
	for _, transportName := range []string{"http", "sse"} {
		for _, on := range []bool{true, false} {
			f := newFixture(t, func(o *HTTPOptions) { o.Transport = transportName; o.DNSRebindingProtection = on })
			path, method := "/mcp", http.MethodPost
			if transportName == "sse" {
				path, method = "/sse", http.MethodGet
			}
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			req, _ := http.NewRequestWithContext(ctx, method, f.url+path, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
			req.Host = "evil.example.com"
			req.Header.Set("Authorization", "Bearer tok-alice")
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				cancel()
				t.Fatal(err)
			}
			resp.Body.Close()
			cancel()
			if got := resp.StatusCode == http.StatusForbidden; got != on {
				t.Errorf("%s protection=%v: status %d", transportName, on, resp.StatusCode)
			}
		}
	}
}

// sseEndpoint opens an SSE stream by hand and returns the endpoint event.
func sseEndpoint(t *testing.T, url, token string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		cancel()
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			return strings.TrimSpace(data), func() { cancel(); resp.Body.Close() }
		}
	}
	cancel()
	t.Fatal("no endpoint event")
	return "", nil
}

func TestSSE(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *HTTPOptions) { o.Transport = "sse" })
	alice := dialSSE(t, f.url+"/sse", "tok-alice")
	if got := callText(t, alice, "whoami"); got != "alice|" {
		t.Errorf("whoami on /sse = %q", got)
	}
	bob := dialSSE(t, f.url+"/sse/beta", "tok-bob")
	if got := callText(t, bob, "whoami"); got != "bob|beta" {
		t.Errorf("whoami on /sse/beta = %q", got)
	}
	names := toolNames(t, bob)
	if !slices.Contains(names, "beta_echo") || slices.Contains(names, "alpha_echo") {
		t.Errorf("/sse/beta lists %v", names)
	}
	if got := callText(t, bob, "alpha_echo"); !strings.HasPrefix(got, "error") {
		t.Errorf("alpha_echo on /sse/beta = %q, want an error", got)
	}

	// The endpoint event keeps the connection in the message path.
	ep, stop := sseEndpoint(t, f.url+"/sse/alpha", "tok-alice")
	defer stop()
	if !strings.HasPrefix(ep, "/sse/alpha/message?sessionId=") {
		t.Fatalf("endpoint event %q", ep)
	}
	cases := []struct {
		name, url, token string
		want             int
	}{
		{"another user", f.url + ep, "tok-bob", http.StatusForbidden},
		{"another endpoint", f.url + "/message?" + strings.SplitN(ep, "?", 2)[1], "tok-alice", http.StatusNotFound},
		{"unknown session", f.url + "/sse/alpha/message?sessionId=nope", "tok-alice", http.StatusNotFound},
		{"no credentials", f.url + ep, "", http.StatusUnauthorized},
	}
	for _, tc := range cases {
		if resp := rawPost(t, tc.url, tc.token, "", callCount); resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
	if n := f.tools.runs.Load(); n != 0 {
		t.Errorf("a refused message ran the tool %d times", n)
	}
	if resp := rawPost(t, f.url+ep, "tok-alice", "", callCount); resp.StatusCode != http.StatusAccepted {
		t.Errorf("owner's message: status %d, want 202", resp.StatusCode)
	}

	// Sessions are forgotten when their stream ends.
	before := f.h.Sessions()
	streams, _ := f.served.count("GET /sse/alpha")
	stop()
	f.served.await(t, "GET /sse/alpha", streams+1) // the server is done with the stream
	if f.h.Sessions() >= before {
		t.Errorf("closing an SSE stream left its session bound (%d -> %d)", before, f.h.Sessions())
	}
}

func TestSSEEndpointUsesPublicURL(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *HTTPOptions) { o.Transport = "sse"; o.PublicURL = "https://mcp.example.com/pd" })
	for path, want := range map[string]string{
		"/sse":       "https://mcp.example.com/pd/message?sessionId=",
		"/sse/alpha": "https://mcp.example.com/pd/sse/alpha/message?sessionId=",
	} {
		ep, stop := sseEndpoint(t, f.url+path, "tok-alice")
		stop()
		if !strings.HasPrefix(ep, want) {
			t.Errorf("%s: endpoint %q, want prefix %q", path, ep, want)
		}
	}
}

// serveFixture runs Serve on a loopback listener.
func serveFixture(t *testing.T, transportName string, grace time.Duration, slow time.Duration) (*fixture, context.CancelFunc, chan error) {
	t.Helper()
	ft := &fakeTools{slow: slow, started: make(chan struct{}, 1), blocked: make(chan struct{}, 1)}
	ft.ready.Store(true)
	s := New(ft, Options{Name: "test", Version: "0"})
	h, err := s.NewHTTPHandler(HTTPOptions{Transport: transportName, Auth: testAuth, Identity: testIdentity, DNSRebindingProtection: true})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, h, ServeOptions{ShutdownTimeout: grace}) }()
	t.Cleanup(cancel)
	return &fixture{tools: ft, srv: s, h: h, url: "http://" + ln.Addr().String()}, cancel, done
}

func TestShutdownFinishesCallsInFlight(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		transport string
		legacy    bool
	}{{"http", true}, {"http", false}, {"sse", true}} {
		t.Run(fmt.Sprintf("%s legacy=%v", tc.transport, tc.legacy), func(t *testing.T) {
			t.Parallel()
			f, stop, done := serveFixture(t, tc.transport, 5*time.Second, 500*time.Millisecond)
			var c *client.Client
			if tc.transport == "sse" {
				c = dialSSE(t, f.url+"/sse", "tok-alice")
			} else {
				c = dialHTTP(t, f.url+"/mcp", "tok-alice", tc.legacy)
			}
			result := make(chan string, 1)
			go func() { result <- callText(t, c, "slow") }()
			awaitStarted(t, f.tools.started)
			began := time.Now()
			stop()
			if got := <-result; got != "done" {
				t.Errorf("call in flight during shutdown = %q, want done", got)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve = %v, want nil", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Serve did not return")
			}
			if took := time.Since(began); took > 3*time.Second {
				t.Errorf("shutdown took %v", took)
			}
			// No longer accepting.
			if resp, err := http.Get(f.url + "/healthz"); err == nil {
				resp.Body.Close()
				t.Error("still accepting connections after shutdown")
			}
		})
	}
}

// awaitStarted waits until a tool call reports that its handler runs.
func awaitStarted(t *testing.T, started <-chan struct{}) {
	t.Helper()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the call never started")
	}
}

func TestShutdownGraceExpires(t *testing.T) {
	t.Parallel()
	f, stop, done := serveFixture(t, "http", 200*time.Millisecond, time.Hour)
	c := dialHTTP(t, f.url+"/mcp", "tok-alice", true)
	result := make(chan string, 1)
	go func() { result <- callText(t, c, "slow") }()
	awaitStarted(t, f.tools.started)
	began := time.Now()
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the grace period")
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("shutdown with a stuck call took %v, want about the 200ms grace", took)
	}
	<-result
}

// callRecorder is an HTTP client transport that keeps the id of the last
// tools/call it sent and the body of the answer to it.
type callRecorder struct {
	mu   sync.Mutex // guards id
	id   json.RawMessage
	body LockedWriter // a *bytes.Buffer
}

func (c *callRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var msg rpcPeek
	if req.Method == http.MethodPost && req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		_ = json.Unmarshal(b, &msg)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || msg.Method != string(mcp.MethodToolsCall) {
		return resp, err
	}
	c.mu.Lock()
	c.id = msg.ID
	c.mu.Unlock()
	c.body.mu.Lock()
	c.body.w = &bytes.Buffer{}
	c.body.mu.Unlock()
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.TeeReader(resp.Body, &c.body), resp.Body}
	return resp, nil
}

// answered returns the answer to the last tools/call and whether it carried
// the call's id.
func (c *callRecorder) answered() (string, bool) {
	c.mu.Lock()
	id := string(c.id)
	c.mu.Unlock()
	c.body.mu.Lock()
	defer c.body.mu.Unlock()
	body := ""
	if c.body.w != nil {
		body = c.body.w.(*bytes.Buffer).String()
	}
	return body, id != "" && strings.Contains(body, `"id":`+id)
}

// TestShutdownDeliversCancelledCalls (reliability: shutdown delivery on every
// transport): a call still running when the grace period ends is cancelled,
// and the client still gets the JSON-RPC response for its id, built by the
// handler from the cancellation, instead of an empty answer or none.
func TestShutdownDeliversCancelledCalls(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		transport string
		legacy    bool
	}{{"http", true}, {"http", false}, {"sse", true}} {
		t.Run(fmt.Sprintf("%s legacy=%v", tc.transport, tc.legacy), func(t *testing.T) {
			t.Parallel()
			f, stop, done := serveFixture(t, tc.transport, 200*time.Millisecond, time.Millisecond)
			rec := &callRecorder{}
			var c *client.Client
			if tc.transport == "sse" {
				c = dialSSE(t, f.url+"/sse", "tok-alice")
			} else {
				tr, err := transport.NewStreamableHTTP(f.url+"/mcp",
					transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer tok-alice"}),
					transport.WithHTTPBasicClient(&http.Client{Transport: rec}))
				if err != nil {
					t.Fatal(err)
				}
				var opts []client.ClientOption
				if tc.legacy {
					opts = append(opts, client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
				}
				c = client.NewClient(tr, opts...)
				start(t, c)
			}
			type outcome struct {
				res *mcp.CallToolResult
				err error
			}
			result := make(chan outcome, 1)
			ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
			defer cancel()
			go func() {
				res, err := c.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "block"}})
				result <- outcome{res, err}
			}()
			select {
			case <-f.tools.blocked:
			case <-ctx.Done():
				t.Fatal("the call never started")
			}
			stop()
			var got outcome
			select {
			case got = <-result:
			case <-ctx.Done():
				t.Fatal("no answer to the call in flight at shutdown")
			}
			if got.err != nil {
				t.Fatalf("call in flight at shutdown: %v, want its cancelled result", got.err)
			}
			text := ""
			for _, ct := range got.res.Content {
				if tc, ok := ct.(mcp.TextContent); ok {
					text += tc.Text
				}
			}
			if !got.res.IsError || !strings.Contains(text, "cancelled") || !strings.Contains(text, "shutting down") {
				t.Errorf("result %q (isError %v), want the handler's cancellation saying the server is shutting down", text, got.res.IsError)
			}
			if tc.transport == "http" {
				if body, ok := rec.answered(); !ok {
					t.Errorf("the HTTP answer to the call does not carry its id: %q", body)
				}
			}
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve = %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Serve did not return")
			}
		})
	}
}

func TestNewHTTPHandlerValidates(t *testing.T) {
	t.Parallel()
	s := New(&fakeTools{}, Options{})
	for name, o := range map[string]HTTPOptions{
		"no auth":       {Transport: "http", Identity: testIdentity},
		"no identity":   {Transport: "http", Auth: testAuth},
		"bad transport": {Transport: "stdio", Auth: testAuth, Identity: testIdentity},
	} {
		if _, err := s.NewHTTPHandler(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestConcurrentSessions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	var wg sync.WaitGroup
	errs := make(chan string, 40)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, user := "tok-alice", "alice"
			if i%2 == 1 {
				tok, user = "tok-bob", "bob"
			}
			c := dialHTTP(t, f.url+"/mcp", tok, i%4 < 2)
			for range 5 {
				if got := callText(t, c, "whoami"); got != user+"|" {
					errs <- fmt.Sprintf("session %d: whoami = %q, want %s|", i, got, user)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestStreamsCarryNotifications checks that the long-lived streams of both
// eras (legacy GET, 2026-07-28 subscriptions/listen) pass authentication and
// deliver list_changed, and that shutdown does not wait for them.
func TestStreamsCarryNotifications(t *testing.T) {
	t.Parallel()
	f, stop, done := serveFixture(t, "http", 10*time.Second, time.Millisecond)
	headers := map[string]string{"Authorization": "Bearer tok-alice"}
	got := make(chan string, 10)
	onNote := func(era string) func(mcp.JSONRPCNotification) {
		return func(n mcp.JSONRPCNotification) {
			if n.Method == string(mcp.MethodNotificationToolsListChanged) {
				got <- era
			}
		}
	}

	//lint:ignore SA1019 the legacy era's GET stream (deprecated in mcp-go for the modern era) is one of the two streams under test.
	trLegacy, err := transport.NewStreamableHTTP(f.url+"/mcp", transport.WithHTTPHeaders(headers), transport.WithContinuousListening())
	if err != nil {
		t.Fatal(err)
	}
	legacy := client.NewClient(trLegacy, client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
	legacy.OnNotification(onNote("legacy"))
	start(t, legacy)

	modern := dialHTTP(t, f.url+"/mcp", "tok-alice", false)
	modern.OnNotification(onNote("modern"))
	stopListen, err := modern.ListenAsync(t.Context(), mcp.SubscriptionFilter{ToolsListChanged: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stopListen()

	// Both streams are open once a refresh reaches them; retry the refresh
	// until it does (the GET and listen requests are asynchronous).
	seen := map[string]bool{}
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !seen["legacy"] || !seen["modern"] {
		select {
		case era := <-got:
			seen[era] = true
		case <-tick.C:
			f.srv.Refresh()
		case <-deadline:
			t.Fatalf("list_changed reached only %v", seen)
		}
	}

	began := time.Now()
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown waited for the open streams")
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("shutdown with open streams took %v", took)
	}
}

func TestServeTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert := writeTestCert(t, dir, 1)
	certFile, keyFile := cert.certFile, cert.keyFile

	ft := &fakeTools{}
	ft.ready.Store(true)
	s := New(ft, Options{})
	h, err := s.NewHTTPHandler(HTTPOptions{Transport: "http", Auth: testAuth, Identity: testIdentity})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(t.Context(), mustListen(t), h, ServeOptions{TLSCert: certFile, TLSKey: filepath.Join(dir, "missing.pem")}); err == nil {
		t.Error("Serve with a missing key file succeeded")
	}
	ln := mustListen(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, h, ServeOptions{TLSCert: certFile, TLSKey: keyFile}) }()
	pool := x509.NewCertPool()
	pool.AddCert(cert.leaf)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Get("https://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Errorf("healthz over TLS: %d (TLS %v)", resp.StatusCode, resp.TLS != nil)
	}
	hc.CloseIdleConnections()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve = %v", err)
	}
}

func mustListen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestIdleSessionsExpire runs the handler and its client in a synctest
// bubble, without a network: the idle TTL and mcp-go's session sweeper run on
// the fake clock, so the test sleeps past them at once and exactly.
func TestIdleSessionsExpire(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const ttl = time.Second
		f := newHandler(t, func(o *HTTPOptions) { o.SessionIdleTTL = ttl })
		defer f.h.CloseSessions(context.Background()) // stops the sweeper before the bubble ends
		hc := &http.Client{Transport: handlerTransport{f.h}}
		const url = "http://127.0.0.1/mcp"
		tr, err := transport.NewStreamableHTTP(url, transport.WithHTTPBasicClient(hc),
			transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer tok-alice"}))
		if err != nil {
			t.Fatal(err)
		}
		c := client.NewClient(tr, client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
		start(t, c)
		sid := c.GetSessionId()
		if got := callText(t, c, "whoami"); got != "alice|" {
			t.Fatalf("whoami = %q", got)
		}
		time.Sleep(ttl / 2)
		synctest.Wait()
		if n := f.h.Sessions(); n != 1 {
			t.Fatalf("%d sessions bound before the idle TTL, want 1", n)
		}
		time.Sleep(2 * ttl) // past the TTL and the sweep after it (every max(ttl/2, 1s))
		synctest.Wait()
		if n := f.h.Sessions(); n != 0 {
			t.Fatalf("%d sessions still bound after the idle TTL", n)
		}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(callCount))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set(mcp.HeaderProtocolVersion, mcp.LATEST_LEGACY_PROTOCOL_VERSION)
		req.Header.Set("Authorization", "Bearer tok-alice")
		req.Header.Set(mcpserver.HeaderKeySessionID, sid)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("request on an expired session: %d, want 404", resp.StatusCode)
		}
	})
}

// TestGetWithoutSession: GET on the Streamable HTTP endpoint without a
// session answers 405 at once instead of holding a stream open.
func TestGetWithoutSession(t *testing.T) {
	t.Parallel()
	srv := New(&fakeTools{}, Options{})
	h, err := srv.NewHTTPHandler(HTTPOptions{Transport: "http", Auth: StaticUser("u"), Identity: testIdentity})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/mcp", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(string(body), "POST JSON-RPC") {
		t.Errorf("GET /mcp: %d %s", resp.StatusCode, body)
	}
}

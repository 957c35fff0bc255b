package app

// End-to-end tests of the sse and http transports: the whole program (run)
// in process against the simulated Connect API, driven over real HTTP by the
// mcp-go client.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
)

const (
	e2eJWTSecret     = "e2e-jwt-secret-e2e-jwt-secret-e2e-jwt"
	e2eWebhookSecret = "e2e-webhook-secret-0123456789"
	e2eAudience      = "pipedream-mcp-e2e"
	e2eIssuer        = "https://auth.example.com"
)

// e2eLog collects a server's stderr.
type e2eLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *e2eLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *e2eLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// e2eServer is one run of `pipedream-mcp serve` in process.
type e2eServer struct {
	fake   *pdtest.Fake
	api    *pdtest.Server
	url    string
	stop   context.CancelFunc
	done   chan error
	stderr *e2eLog
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// startServe runs the server with the sandbox fake as its API (through the
// real-credentials path, so the test can drive the fake) and waits until it
// is ready.
func startServe(t *testing.T, args ...string) *e2eServer {
	t.Helper()
	fake := pdtest.NewSandbox()
	api, err := fake.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	s := &e2eServer{fake: fake, api: api, url: "http://127.0.0.1:" + port, done: make(chan error, 1), stderr: &e2eLog{}}
	env := map[string]string{
		"NO_COLOR":                      "1",
		"PIPEDREAM_CLIENT_ID":           pdtest.SandboxClientID,
		"PIPEDREAM_CLIENT_SECRET":       pdtest.SandboxClientSecret,
		"PIPEDREAM_PROJECT_ID":          pdtest.SandboxProjectID,
		"PIPEDREAM_PROJECT_ENVIRONMENT": pdtest.SandboxEnvironment,
		"PIPEDREAM_BASE_URL":            api.URL,
		"PIPEDREAM_APPS":                "slack,github,notion",
		"PD_MCP_JWT_SECRET":             e2eJWTSecret,
	}
	full := append([]string{"serve", "--addr", "127.0.0.1:" + port, "--public-url", s.url,
		"--webhook-secret", e2eWebhookSecret, "--shutdown-timeout", "10s"}, args...)
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	go func() {
		s.done <- Run(ctx, full, func(k string) string { return env[k] }, strings.NewReader(""), io.Discard, s.stderr)
	}()
	t.Cleanup(func() {
		s.shutdown(t)
		_ = api.Close()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case err := <-s.done:
			t.Fatalf("the server exited: %v\n%s", err, s.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not become ready\n%s", s.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// shutdown stops the server and returns run's error (once).
func (s *e2eServer) shutdown(t *testing.T) error {
	t.Helper()
	s.stop()
	select {
	case err, ok := <-s.done:
		if ok {
			close(s.done)
		}
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("the server did not shut down")
		return nil
	}
}

func mintJWT(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(e2eJWTSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// userToken is a valid token for the e2e audience and issuer.
func userToken(t *testing.T, user string) string {
	return mintJWT(t, jwt.MapClaims{"sub": user, "aud": e2eAudience, "iss": e2eIssuer, "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()})
}

// e2eDial connects an mcp-go client over Streamable HTTP (legacy pins
// 2025-11-25) or, with sse, over SSE.
func e2eDial(t *testing.T, url, token string, legacy bool) *client.Client {
	t.Helper()
	headers := map[string]string{"Authorization": "Bearer " + token}
	var c *client.Client
	if strings.Contains(url, "/sse") {
		var err error
		c, err = client.NewSSEMCPClient(url, client.WithHeaders(headers))
		if err != nil {
			t.Fatal(err)
		}
	} else {
		tr, err := transport.NewStreamableHTTP(url, transport.WithHTTPHeaders(headers))
		if err != nil {
			t.Fatal(err)
		}
		var opts []client.ClientOption
		if legacy {
			opts = append(opts, client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
		}
		c = client.NewClient(tr, opts...)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatalf("start %s: %v", url, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "e2e-http", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize %s: %v", url, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// e2eResult is a tool result with its structured content decoded.
type e2eResult struct {
	isError bool
	sc      map[string]any
	text    string
	err     error
}

func e2eCall(ctx context.Context, c *client.Client, name, args string) e2eResult {
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = json.RawMessage(args)
	res, err := c.CallTool(ctx, req)
	if err != nil {
		return e2eResult{err: err}
	}
	out := e2eResult{isError: res.IsError}
	b, _ := json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(b, &out.sc)
	for _, ct := range res.Content {
		if tc, ok := ct.(mcp.TextContent); ok {
			out.text += tc.Text
		}
	}
	return out
}

func (r e2eResult) String() string {
	if r.err != nil {
		return "error: " + r.err.Error()
	}
	return fmt.Sprintf("isError=%v status=%v text=%.300q", r.isError, r.sc["status"], r.text)
}

func (r e2eResult) status() string {
	s, _ := r.sc["status"].(string)
	return s
}

func e2eToolNames(t *testing.T, c *client.Client) []string {
	t.Helper()
	list, err := c.ListTools(t.Context(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var names []string
	for _, tl := range list.Tools {
		names = append(names, tl.Name)
	}
	return names
}

// e2ePost sends one legacy-era JSON-RPC message by hand.
func e2ePost(t *testing.T, url, token, session, body string) *http.Response {
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

const getRepo = `{"repoFullname":"acme/widgets"}`

func runsOf(f *pdtest.Fake, user string) int {
	n := 0
	for _, r := range f.Runs() {
		if r.ExternalUserID == user {
			n++
		}
	}
	return n
}

func TestHTTPTransportE2E(t *testing.T) {
	t.Parallel()
	s := startServe(t, "--transport", "http", "--auth", "jwt", "--jwt-audience", e2eAudience, "--jwt-issuer", e2eIssuer)
	demo := userToken(t, pdtest.DemoUser)
	other := userToken(t, pdtest.OtherUser)

	t.Run("health", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/readyz"} {
			resp, err := http.Get(s.url + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s = %d", path, resp.StatusCode)
			}
		}
	})

	t.Run("401", func(t *testing.T) {
		now := time.Now()
		badSig, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": pdtest.DemoUser, "aud": e2eAudience, "iss": e2eIssuer, "exp": now.Add(time.Hour).Unix()}).SignedString([]byte("not-the-secret-not-the-secret-xx"))
		if err != nil {
			t.Fatal(err)
		}
		for name, tok := range map[string]string{
			"no token":       "",
			"bad signature":  badSig,
			"expired":        mintJWT(t, jwt.MapClaims{"sub": pdtest.DemoUser, "aud": e2eAudience, "iss": e2eIssuer, "exp": now.Add(-time.Hour).Unix()}),
			"wrong audience": mintJWT(t, jwt.MapClaims{"sub": pdtest.DemoUser, "aud": "someone-else", "iss": e2eIssuer, "exp": now.Add(time.Hour).Unix()}),
			"no audience":    mintJWT(t, jwt.MapClaims{"sub": pdtest.DemoUser, "iss": e2eIssuer, "exp": now.Add(time.Hour).Unix()}),
			"wrong issuer":   mintJWT(t, jwt.MapClaims{"sub": pdtest.DemoUser, "aud": e2eAudience, "iss": "https://evil.example.com", "exp": now.Add(time.Hour).Unix()}),
		} {
			resp := e2ePost(t, s.url+"/mcp", tok, "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s: status %d, want 401", name, resp.StatusCode)
				continue
			}
			ch := resp.Header.Get("WWW-Authenticate")
			want := `resource_metadata="` + s.url + `/.well-known/oauth-protected-resource/mcp"`
			if !strings.HasPrefix(ch, "Bearer ") || !strings.Contains(ch, want) {
				t.Errorf("%s: WWW-Authenticate %q lacks %s", name, ch, want)
			}
			if (tok != "") != strings.Contains(ch, `error="invalid_token"`) {
				t.Errorf("%s: WWW-Authenticate %q", name, ch)
			}
		}
		resp, err := http.Get(s.url + "/.well-known/oauth-protected-resource")
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Resource             string   `json:"resource"`
			AuthorizationServers []string `json:"authorization_servers"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if doc.Resource != s.url+"/mcp" || !slices.Equal(doc.AuthorizationServers, []string{e2eIssuer}) {
			t.Errorf("protected resource metadata = %+v", doc)
		}
	})

	for _, legacy := range []bool{true, false} {
		era := map[bool]string{true: "2025-11-25", false: "2026-07-28"}[legacy]
		t.Run("runs as its user "+era, func(t *testing.T) {
			c := e2eDial(t, s.url+"/mcp", demo, legacy)
			if got := c.ProtocolVersion(); got != era {
				t.Fatalf("negotiated %s, want %s", got, era)
			}
			names := e2eToolNames(t, c)
			for _, want := range []string{"github_get_repository", "slack_send_message_to_channel", "notion_search", "pipedream_accounts"} {
				if !slices.Contains(names, want) {
					t.Errorf("/mcp lacks %s", want)
				}
			}
			before := runsOf(s.fake, pdtest.DemoUser)
			if r := e2eCall(t.Context(), c, "github_get_repository", getRepo); r.status() != "success" || r.sc["account_id"] != "apn_demo_github" {
				t.Errorf("call: %v (account %v)", r, r.sc["account_id"])
			}
			if runsOf(s.fake, pdtest.DemoUser) != before+1 {
				t.Error("the action did not run as demo-user")
			}
		})
	}

	t.Run("another user's account", func(t *testing.T) {
		c := e2eDial(t, s.url+"/mcp", other, false)
		before := len(s.fake.Runs())
		r := e2eCall(t.Context(), c, "github_get_repository", `{"repoFullname":"acme/widgets","_account_id":"apn_demo_github"}`)
		if !r.isError || r.status() != "invalid_arguments" || !strings.Contains(r.text, "_account_id") {
			t.Errorf("other-user using apn_demo_github: %v", r)
		}
		if len(s.fake.Runs()) != before {
			t.Error("the action ran with another user's account")
		}
		// The user's own account works.
		if r := e2eCall(t.Context(), c, "github_get_repository", getRepo); r.status() != "success" || r.sc["account_id"] != "apn_other_github" {
			t.Errorf("other-user's own account: %v", r)
		}
	})

	t.Run("another user's session", func(t *testing.T) {
		c := e2eDial(t, s.url+"/mcp", demo, true)
		sid := c.GetSessionId()
		before := len(s.fake.Runs())
		call := `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"github_get_repository","arguments":` + getRepo + `}}`
		if resp := e2ePost(t, s.url+"/mcp", other, sid, call); resp.StatusCode != http.StatusForbidden {
			t.Errorf("other-user on demo-user's session: %d, want 403", resp.StatusCode)
		}
		if resp := e2ePost(t, s.url+"/mcp", demo, "mcp-session-not-a-session", call); resp.StatusCode != http.StatusNotFound {
			t.Errorf("unknown session: %d, want 404", resp.StatusCode)
		}
		if len(s.fake.Runs()) != before {
			t.Error("a refused request ran an action")
		}
		if resp := e2ePost(t, s.url+"/mcp", demo, sid, call); resp.StatusCode != http.StatusOK {
			t.Errorf("the owner's request: %d", resp.StatusCode)
		}
	})

	t.Run("per-connection endpoint", func(t *testing.T) {
		for _, legacy := range []bool{true, false} {
			c := e2eDial(t, s.url+"/mcp/github", demo, legacy)
			for _, name := range e2eToolNames(t, c) {
				if !strings.HasPrefix(name, "github_") && !strings.HasPrefix(name, "pipedream_") {
					t.Errorf("/mcp/github lists %s", name)
				}
			}
			if r := e2eCall(t.Context(), c, "github_get_repository", getRepo); r.status() != "success" {
				t.Errorf("github call on /mcp/github: %v", r)
			}
			before := len(s.fake.Runs())
			if r := e2eCall(t.Context(), c, "slack_send_message_to_channel", `{"conversation":"C00001000","text":"x"}`); r.err == nil && !r.isError {
				t.Errorf("slack call on /mcp/github succeeded: %v", r)
			}
			if r := e2eCall(t.Context(), c, "pipedream_describe", `{"tool":"slack_send_message_to_channel"}`); r.err == nil && !r.isError {
				t.Errorf("pipedream_describe of a slack tool on /mcp/github succeeded: %v", r)
			}
			if len(s.fake.Runs()) != before {
				t.Error("a filtered-out tool ran")
			}
		}
		if resp := e2ePost(t, s.url+"/mcp/nosuch", demo, "", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`); resp.StatusCode != http.StatusNotFound {
			t.Errorf("/mcp/nosuch: %d, want 404", resp.StatusCode)
		}
	})

	t.Run("webhook makes a new account usable at once", func(t *testing.T) {
		c := e2eDial(t, s.url+"/mcp", demo, false)
		r := e2eCall(t.Context(), c, "notion_search", `{}`)
		connectURL, _ := r.sc["connect_url"].(string)
		if r.status() != "account_required" || !strings.Contains(connectURL, "&app=notion") {
			t.Fatalf("first call: %v", r)
		}
		toks := s.fake.ConnectTokens()
		tok := toks[len(toks)-1]
		if tok.ExternalUserID != pdtest.DemoUser || tok.WebhookURI != s.url+"/webhooks/pipedream/"+e2eWebhookSecret {
			t.Fatalf("connect token %+v: want demo-user and this server's webhook URI", tok)
		}
		// The fake delivers CONNECTION_SUCCESS to the token's webhook URI.
		if _, err := s.fake.CompleteConnect(tok.Token, "notion"); err != nil {
			t.Fatal(err)
		}
		if r := e2eCall(t.Context(), c, "notion_search", `{}`); r.status() != "success" {
			t.Errorf("call after the webhook: %v", r)
		}
	})

	t.Run("webhook by hand", func(t *testing.T) {
		c := e2eDial(t, s.url+"/mcp", other, false)
		if r := e2eCall(t.Context(), c, "notion_search", `{}`); r.status() != "account_required" {
			t.Fatalf("first call: %v", r)
		}
		acct := s.fake.AddAccount(pdtest.Account{ExternalUserID: pdtest.OtherUser, App: "notion", Name: "other's notion", Healthy: true})
		// Without the webhook the cached "no account" answer stands.
		if r := e2eCall(t.Context(), c, "notion_search", `{}`); r.status() != "account_required" {
			t.Fatalf("call before the webhook (cache): %v", r)
		}
		event := fmt.Sprintf(`{"event":"CONNECTION_SUCCESS","connect_token":"ctok_x","environment":"development","connect_session_id":1,
			"account":{"id":%q,"name":null,"external_id":%q,"healthy":true,"dead":false,
			"app":{"id":"app_1","name_slug":"notion","name":"Notion","categories":"Productivity","custom_fields_json":[]}}}`, acct.ID, pdtest.OtherUser)
		post := func(path, body string) int {
			resp, err := http.Post(s.url+path, "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if got := post("/webhooks/pipedream/wrong-secret-0123456789", event); got != http.StatusNotFound {
			t.Errorf("wrong secret: %d, want 404", got)
		}
		if got := post("/webhooks/pipedream/"+e2eWebhookSecret, `{"event":`); got != http.StatusBadRequest {
			t.Errorf("malformed body: %d, want 400", got)
		}
		if got := post("/webhooks/pipedream/"+e2eWebhookSecret, `{"event":"CONNECTION_SUCCESS","pad":"`+strings.Repeat("x", 70<<10)+`"}`); got != http.StatusRequestEntityTooLarge {
			t.Errorf("oversized body: %d, want 413", got)
		}
		if r := e2eCall(t.Context(), c, "notion_search", `{}`); r.status() != "account_required" {
			t.Fatalf("refused webhooks changed something: %v", r)
		}
		if got := post("/webhooks/pipedream/"+e2eWebhookSecret, event); got != http.StatusOK {
			t.Fatalf("webhook: %d", got)
		}
		if r := e2eCall(t.Context(), c, "notion_search", `{}`); r.status() != "success" || r.sc["account_id"] != acct.ID {
			t.Errorf("call after the webhook: %v", r)
		}
	})

	if err := s.shutdown(t); err != nil {
		t.Errorf("run = %v", err)
	}
	logs := s.stderr.String()
	for _, secret := range []string{e2eJWTSecret, e2eWebhookSecret, demo, other, "ctok_"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains a secret (%.12s...)", secret)
		}
	}
	if !strings.Contains(logs, "webhooks/pipedream/<secret>") {
		t.Errorf("the log does not show the webhook URL:\n%s", logs)
	}
}

func TestSSETransportE2E(t *testing.T) {
	t.Parallel()
	const demoKey, otherKey = "demo-key-0123456789abcdef", "other-key-0123456789abcdef"
	keys := filepath.Join(t.TempDir(), "keys.yaml")
	if err := os.WriteFile(keys, []byte(demoKey+": "+pdtest.DemoUser+"\n"+otherKey+": "+pdtest.OtherUser+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, "--transport", "sse", "--auth", "keys", "--api-keys-file", keys)

	c := e2eDial(t, s.url+"/sse", demoKey, true)
	if names := e2eToolNames(t, c); !slices.Contains(names, "slack_send_message_to_channel") || !slices.Contains(names, "github_get_repository") {
		t.Errorf("/sse lists %v", names)
	}
	if r := e2eCall(t.Context(), c, "github_get_repository", getRepo); r.status() != "success" || r.sc["account_id"] != "apn_demo_github" {
		t.Errorf("call over SSE: %v", r)
	}

	gh := e2eDial(t, s.url+"/sse/github", otherKey, true)
	for _, name := range e2eToolNames(t, gh) {
		if !strings.HasPrefix(name, "github_") && !strings.HasPrefix(name, "pipedream_") {
			t.Errorf("/sse/github lists %s", name)
		}
	}
	if r := e2eCall(t.Context(), gh, "github_get_repository", getRepo); r.status() != "success" || r.sc["account_id"] != "apn_other_github" {
		t.Errorf("call over /sse/github: %v", r)
	}
	if r := e2eCall(t.Context(), gh, "slack_send_message_to_channel", `{"conversation":"C00001000","text":"x"}`); r.err == nil && !r.isError {
		t.Errorf("slack call on /sse/github succeeded: %v", r)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.url+"/sse", nil)
	req.Header.Set("Authorization", "Bearer not-a-key-0123456789")
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("SSE stream with a bad key: %d, want 401", resp.StatusCode)
		}
	}
}

func TestShutdownCompletesCallInFlightE2E(t *testing.T) {
	t.Parallel()
	for _, tr := range []string{"http", "sse"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			s := startServe(t, "--transport", tr, "--auth", "jwt")
			path := "/mcp"
			if tr == "sse" {
				path = "/sse"
			}
			c := e2eDial(t, s.url+path, mintJWT(t, jwt.MapClaims{"sub": pdtest.DemoUser, "exp": time.Now().Add(time.Hour).Unix()}), true)
			s.fake.SetRunDelay(time.Second)
			result := make(chan e2eResult, 1)
			go func() { result <- e2eCall(context.Background(), c, "github_get_repository", getRepo) }()
			deadline := time.Now().Add(5 * time.Second)
			for s.fake.Count(pdtest.EndpointRun) == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			began := time.Now()
			s.stop()
			if r := <-result; r.status() != "success" {
				t.Errorf("call in flight during shutdown: %v", r)
			}
			if err := s.shutdown(t); err != nil {
				t.Errorf("run = %v, want nil", err)
			}
			if took := time.Since(began); took > 5*time.Second {
				t.Errorf("shutdown took %v", took)
			}
		})
	}
}

// TestConcurrentSessionsE2E runs 50 sessions of two users at once, in both
// protocol eras, and checks that nothing fails and that no goroutine outlives
// the server. It is not parallel, so the goroutine count means something.
func TestConcurrentSessionsE2E(t *testing.T) {
	base := goruntime.NumGoroutine()
	func() {
		s := startServe(t, "--transport", "http", "--auth", "jwt")
		tokens := map[string]string{
			pdtest.DemoUser:  mintJWT(t, jwt.MapClaims{"sub": pdtest.DemoUser, "exp": time.Now().Add(time.Hour).Unix()}),
			pdtest.OtherUser: mintJWT(t, jwt.MapClaims{"sub": pdtest.OtherUser, "exp": time.Now().Add(time.Hour).Unix()}),
		}
		want := map[string]string{pdtest.DemoUser: "apn_demo_github", pdtest.OtherUser: "apn_other_github"}
		var wg sync.WaitGroup
		errs := make(chan string, 100)
		var clients []*client.Client
		var mu sync.Mutex
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				user := pdtest.DemoUser
				if i%2 == 1 {
					user = pdtest.OtherUser
				}
				headers := map[string]string{"Authorization": "Bearer " + tokens[user]}
				tr, err := transport.NewStreamableHTTP(s.url+"/mcp", transport.WithHTTPHeaders(headers))
				if err != nil {
					errs <- err.Error()
					return
				}
				var opts []client.ClientOption
				if i%4 < 2 {
					opts = append(opts, client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
				}
				c := client.NewClient(tr, opts...)
				mu.Lock()
				clients = append(clients, c)
				mu.Unlock()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if err := c.Start(ctx); err != nil {
					errs <- fmt.Sprintf("session %d start: %v", i, err)
					return
				}
				init := mcp.InitializeRequest{}
				init.Params.ClientInfo = mcp.Implementation{Name: "load", Version: "1"}
				if _, err := c.Initialize(ctx, init); err != nil {
					errs <- fmt.Sprintf("session %d initialize: %v", i, err)
					return
				}
				if _, err := c.ListTools(ctx, mcp.ListToolsRequest{}); err != nil {
					errs <- fmt.Sprintf("session %d list: %v", i, err)
					return
				}
				for range 3 {
					if r := e2eCall(ctx, c, "github_get_repository", getRepo); r.status() != "success" || r.sc["account_id"] != want[user] {
						errs <- fmt.Sprintf("session %d (%s): %v account %v", i, user, r, r.sc["account_id"])
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
		for _, c := range clients {
			_ = c.Close()
		}
		if err := s.shutdown(t); err != nil {
			t.Errorf("run = %v", err)
		}
		_ = s.api.Close()
	}()
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	n := goruntime.NumGoroutine()
	for n > base+5 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		n = goruntime.NumGoroutine()
	}
	if n > base+5 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after the server stopped, %d before:\n%s", n, base, buf[:goruntime.Stack(buf, true)])
	}
}

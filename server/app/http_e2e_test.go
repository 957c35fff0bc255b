package app

// End-to-end tests of the sse and http transports: the whole program (run)
// in process against the simulated Connect API, driven over real HTTP by the
// mcp-go client (see harness_test.go).

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
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

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
)

const (
	e2eAudience = "pipedream-mcp-e2e"
	e2eIssuer   = "https://auth.example.com"
)

// userToken is a valid token for the e2e audience and issuer.
func userToken(t *testing.T, user string) string {
	return mintJWT(t, jwt.MapClaims{"sub": user, "aud": e2eAudience, "iss": e2eIssuer, "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()})
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
	s := startServer(t, serverOptions{logLevel: "info", args: []string{"--jwt-audience", e2eAudience, "--jwt-issuer", e2eIssuer}})
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
			resp := rawPost(t, s.url+"/mcp", tok, "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`)
			if resp.status != http.StatusUnauthorized {
				t.Errorf("%s: status %d, want 401", name, resp.status)
				continue
			}
			ch := resp.header.Get("WWW-Authenticate")
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
			c := dial(t, s.url+"/mcp", demo, dialOptions{legacy: legacy})
			if got := c.ProtocolVersion(); got != era {
				t.Fatalf("negotiated %s, want %s", got, era)
			}
			names := toolNames(t, c)
			for _, want := range []string{"github_get_repository", "slack_send_message_to_channel", "notion_search", "pipedream_accounts"} {
				if !slices.Contains(names, want) {
					t.Errorf("/mcp lacks %s", want)
				}
			}
			before := runsOf(s.fake, pdtest.DemoUser)
			if r := callTool(t.Context(), c, "github_get_repository", getRepo); r.status() != "success" || r.sc["account_id"] != "apn_demo_github" {
				t.Errorf("call: %v (account %v)", r, r.sc["account_id"])
			}
			if runsOf(s.fake, pdtest.DemoUser) != before+1 {
				t.Error("the action did not run as demo-user")
			}
		})
	}

	t.Run("another user's account", func(t *testing.T) {
		c := dial(t, s.url+"/mcp", other, dialOptions{})
		before := len(s.fake.Runs())
		r := callTool(t.Context(), c, "github_get_repository", `{"repoFullname":"acme/widgets","_account_id":"apn_demo_github"}`)
		if !r.isError || r.status() != "invalid_arguments" || !strings.Contains(r.text, "_account_id") {
			t.Errorf("other-user using apn_demo_github: %v", r)
		}
		if len(s.fake.Runs()) != before {
			t.Error("the action ran with another user's account")
		}
		// The user's own account works.
		if r := callTool(t.Context(), c, "github_get_repository", getRepo); r.status() != "success" || r.sc["account_id"] != "apn_other_github" {
			t.Errorf("other-user's own account: %v", r)
		}
	})

	t.Run("another user's session", func(t *testing.T) {
		c := dial(t, s.url+"/mcp", demo, dialOptions{legacy: true})
		sid := c.GetSessionId()
		before := len(s.fake.Runs())
		call := `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"github_get_repository","arguments":` + getRepo + `}}`
		if resp := rawPost(t, s.url+"/mcp", other, sid, call); resp.status != http.StatusForbidden {
			t.Errorf("other-user on demo-user's session: %d, want 403", resp.status)
		}
		if resp := rawPost(t, s.url+"/mcp", demo, "mcp-session-not-a-session", call); resp.status != http.StatusNotFound {
			t.Errorf("unknown session: %d, want 404", resp.status)
		}
		if len(s.fake.Runs()) != before {
			t.Error("a refused request ran an action")
		}
		if resp := rawPost(t, s.url+"/mcp", demo, sid, call); resp.status != http.StatusOK {
			t.Errorf("the owner's request: %d", resp.status)
		}
	})

	t.Run("per-connection endpoint", func(t *testing.T) {
		for _, legacy := range []bool{true, false} {
			c := dial(t, s.url+"/mcp/github", demo, dialOptions{legacy: legacy})
			for _, name := range toolNames(t, c) {
				if !strings.HasPrefix(name, "github_") && !strings.HasPrefix(name, "pipedream_") {
					t.Errorf("/mcp/github lists %s", name)
				}
			}
			if r := callTool(t.Context(), c, "github_get_repository", getRepo); r.status() != "success" {
				t.Errorf("github call on /mcp/github: %v", r)
			}
			before := len(s.fake.Runs())
			if r := callTool(t.Context(), c, "slack_send_message_to_channel", `{"conversation":"C00001000","text":"x"}`); r.err == nil && !r.isError {
				t.Errorf("slack call on /mcp/github succeeded: %v", r)
			}
			if r := callTool(t.Context(), c, "pipedream_describe", `{"tool":"slack_send_message_to_channel"}`); r.err == nil && !r.isError {
				t.Errorf("pipedream_describe of a slack tool on /mcp/github succeeded: %v", r)
			}
			if len(s.fake.Runs()) != before {
				t.Error("a filtered-out tool ran")
			}
		}
		if resp := rawPost(t, s.url+"/mcp/nosuch", demo, "", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`); resp.status != http.StatusNotFound {
			t.Errorf("/mcp/nosuch: %d, want 404", resp.status)
		}
	})

	t.Run("webhook makes a new account usable at once", func(t *testing.T) {
		c := dial(t, s.url+"/mcp", demo, dialOptions{})
		r := callTool(t.Context(), c, "notion_search", `{}`)
		connectURL, _ := r.sc["connect_url"].(string)
		if r.status() != "account_required" || !strings.Contains(connectURL, "&app=notion") {
			t.Fatalf("first call: %v", r)
		}
		toks := s.fake.ConnectTokens()
		tok := toks[len(toks)-1]
		if tok.ExternalUserID != pdtest.DemoUser || tok.WebhookURI != s.url+"/webhooks/pipedream/"+plantedWebhookSecret {
			t.Fatalf("connect token %+v: want demo-user and this server's webhook URI", tok)
		}
		// The fake delivers CONNECTION_SUCCESS to the token's webhook URI.
		if _, err := s.fake.CompleteConnect(tok.Token, "notion"); err != nil {
			t.Fatal(err)
		}
		if r := callTool(t.Context(), c, "notion_search", `{}`); r.status() != "success" {
			t.Errorf("call after the webhook: %v", r)
		}
	})

	t.Run("webhook by hand", func(t *testing.T) {
		c := dial(t, s.url+"/mcp", other, dialOptions{})
		if r := callTool(t.Context(), c, "notion_search", `{}`); r.status() != "account_required" {
			t.Fatalf("first call: %v", r)
		}
		acct := s.fake.AddAccount(pdtest.Account{ExternalUserID: pdtest.OtherUser, App: "notion", Name: "other's notion", Healthy: true})
		// Without the webhook the cached "no account" answer stands.
		if r := callTool(t.Context(), c, "notion_search", `{}`); r.status() != "account_required" {
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
		if got := post("/webhooks/pipedream/"+plantedWebhookSecret, `{"event":`); got != http.StatusBadRequest {
			t.Errorf("malformed body: %d, want 400", got)
		}
		if got := post("/webhooks/pipedream/"+plantedWebhookSecret, `{"event":"CONNECTION_SUCCESS","pad":"`+strings.Repeat("x", 70<<10)+`"}`); got != http.StatusRequestEntityTooLarge {
			t.Errorf("oversized body: %d, want 413", got)
		}
		if r := callTool(t.Context(), c, "notion_search", `{}`); r.status() != "account_required" {
			t.Fatalf("refused webhooks changed something: %v", r)
		}
		if got := post("/webhooks/pipedream/"+plantedWebhookSecret, event); got != http.StatusOK {
			t.Fatalf("webhook: %d", got)
		}
		if r := callTool(t.Context(), c, "notion_search", `{}`); r.status() != "success" || r.sc["account_id"] != acct.ID {
			t.Errorf("call after the webhook: %v", r)
		}
	})

	if err := s.shutdown(t); err != nil {
		t.Errorf("run = %v", err)
	}
	logs := s.stderr.String()
	for _, secret := range []string{plantedJWTSecret, plantedWebhookSecret, demo, other, "ctok_"} {
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
	s := startServer(t, serverOptions{transport: "sse", auth: "keys", logLevel: "info"})

	c := dial(t, s.url+"/sse", s.credential(t, pdtest.DemoUser), dialOptions{legacy: true})
	if names := toolNames(t, c); !slices.Contains(names, "slack_send_message_to_channel") || !slices.Contains(names, "github_get_repository") {
		t.Errorf("/sse lists %v", names)
	}
	if r := callTool(t.Context(), c, "github_get_repository", getRepo); r.status() != "success" || r.sc["account_id"] != "apn_demo_github" {
		t.Errorf("call over SSE: %v", r)
	}

	gh := dial(t, s.url+"/sse/github", s.credential(t, pdtest.OtherUser), dialOptions{legacy: true})
	for _, name := range toolNames(t, gh) {
		if !strings.HasPrefix(name, "github_") && !strings.HasPrefix(name, "pipedream_") {
			t.Errorf("/sse/github lists %s", name)
		}
	}
	if r := callTool(t.Context(), gh, "github_get_repository", getRepo); r.status() != "success" || r.sc["account_id"] != "apn_other_github" {
		t.Errorf("call over /sse/github: %v", r)
	}
	if r := callTool(t.Context(), gh, "slack_send_message_to_channel", `{"conversation":"C00001000","text":"x"}`); r.err == nil && !r.isError {
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
			s := startServer(t, serverOptions{transport: tr, logLevel: "info"})
			path := "/mcp"
			if tr == "sse" {
				path = "/sse"
			}
			c := s.dial(t, pdtest.DemoUser, path, dialOptions{legacy: true})
			s.fake.SetRunDelay(time.Second)
			runs, _ := s.tap.runs()
			result := make(chan toolResult, 1)
			go func() { result <- callTool(context.Background(), c, "github_get_repository", getRepo) }()
			if !s.tap.awaitRuns(5*time.Second, runs+1, 0) {
				t.Fatal("the call did not reach actions/run")
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
		s := startServer(t, serverOptions{logLevel: "info"})
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
					if r := callTool(ctx, c, "github_get_repository", getRepo); r.status() != "success" || r.sc["account_id"] != want[user] {
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
		s.close(t)
	}()
	checkGoroutinesSettle(t, base, "")
}

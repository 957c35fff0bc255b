package tools_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

const whSecret = "webhook-secret-0123456789"

// whRecorder records Invalidate calls.
type whRecorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *whRecorder) invalidate(user, app string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, user+"/"+app)
	if app == "unserved" {
		return 0
	}
	return 1
}

func (r *whRecorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

// docSuccess is the example of Pipedream's webhook docs, loose types included.
const docSuccess = `{"event": "CONNECTION_SUCCESS", "connect_token": "ctok_secret_token", "environment": "production",
 "connect_session_id": 123,
 "account": {"id": "apn_abc123", "name": "My Slack workspace", "external_id": "U123456", "healthy": true, "dead": false,
   "app": {"id": "app_abc123", "name_slug": "slack", "name": "Slack", "auth_type": "oauth", "custom_fields_json": [], "categories": "Communication"},
   "created_at": "2021-09-01T00:00:00Z", "updated_at": "2021-09-01T00:00:00Z"}}`

func TestWebhookHandler(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		method     string
		path       string
		body       string
		chunked    bool
		tokenUser  func(string) string
		wantStatus int
		wantCalls  []string
		wantLog    string
	}{
		{name: "success", path: tools.WebhookPath + whSecret, body: docSuccess, wantStatus: 200, wantCalls: []string{"U123456/slack"}},
		{name: "wrong secret", path: tools.WebhookPath + "webhook-secret-0123456780", body: docSuccess, wantStatus: 404},
		{name: "secret with a suffix", path: tools.WebhookPath + whSecret + "x", body: docSuccess, wantStatus: 404},
		{name: "secret prefix", path: tools.WebhookPath + whSecret[:20], body: docSuccess, wantStatus: 404},
		{name: "trailing slash", path: tools.WebhookPath + whSecret + "/", body: docSuccess, wantStatus: 404},
		{name: "no secret", path: tools.WebhookPath, body: docSuccess, wantStatus: 404},
		{name: "GET", method: http.MethodGet, path: tools.WebhookPath + whSecret, wantStatus: 405},
		{name: "malformed", path: tools.WebhookPath + whSecret, body: `{"event":"CONNECTION_SUCCESS",`, wantStatus: 400},
		{name: "not an object", path: tools.WebhookPath + whSecret, body: `["CONNECTION_SUCCESS"]`, wantStatus: 400},
		{name: "no event", path: tools.WebhookPath + whSecret, body: `{}`, wantStatus: 400},
		{name: "wrong type", path: tools.WebhookPath + whSecret, body: `{"event":"CONNECTION_SUCCESS","account":{"external_id":7,"app":{"name_slug":"slack"}}}`, wantStatus: 400},
		{name: "success without app", path: tools.WebhookPath + whSecret, body: `{"event":"CONNECTION_SUCCESS","account":{"external_id":"u1"}}`, wantStatus: 400},
		{name: "success without user", path: tools.WebhookPath + whSecret, body: `{"event":"CONNECTION_SUCCESS","connect_token":"ctok_1","account":{"app":{"name_slug":"slack"}}}`, wantStatus: 400},
		{name: "user from the token", path: tools.WebhookPath + whSecret, tokenUser: func(tok string) string {
			if tok == "ctok_1" {
				return "u-from-token"
			}
			return ""
		}, body: `{"event":"CONNECTION_SUCCESS","connect_token":"ctok_1","account":{"app":{"name_slug":"slack"}}}`, wantStatus: 200, wantCalls: []string{"u-from-token/slack"}},
		{name: "app not served", path: tools.WebhookPath + whSecret, body: `{"event":"CONNECTION_SUCCESS","account":{"external_id":"u1","app":{"name_slug":"unserved"}}}`, wantStatus: 200, wantCalls: []string{"u1/unserved"}, wantLog: "does not serve"},
		{name: "error event", path: tools.WebhookPath + whSecret, body: `{"event":"CONNECTION_ERROR","connect_token":"ctok_secret_token","environment":"production","connect_session_id":123,"error":"You've hit your limit on the number of external users you can connect."}`, wantStatus: 200, wantLog: "hit your limit"},
		{name: "unknown event", path: tools.WebhookPath + whSecret, body: `{"event":"ACCOUNT_DELETED","account":{"external_id":"u1","app":{"name_slug":"slack"}}}`, wantStatus: 200},
		{name: "oversized", path: tools.WebhookPath + whSecret, body: `{"event":"CONNECTION_ERROR","error":"` + strings.Repeat("x", 65<<10) + `"}`, wantStatus: 413},
		{name: "oversized chunked", path: tools.WebhookPath + whSecret, chunked: true, body: `{"event":"CONNECTION_ERROR","error":"` + strings.Repeat("x", 65<<10) + `"}`, wantStatus: 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &whRecorder{}
			var logs bytes.Buffer
			h, err := tools.NewWebhookHandler(tools.WebhookOptions{
				Secret: whSecret, Invalidate: rec.invalidate, TokenUser: tc.tokenUser,
				Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			var body io.Reader = strings.NewReader(tc.body)
			if tc.chunked {
				body = io.MultiReader(body) // hides the length: sent chunked
			}
			req, _ := http.NewRequest(method, srv.URL+tc.path, body)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if got := rec.got(); strings.Join(got, ",") != strings.Join(tc.wantCalls, ",") {
				t.Errorf("invalidated %v, want %v", got, tc.wantCalls)
			}
			if tc.wantLog != "" && !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log lacks %q:\n%s", tc.wantLog, logs.String())
			}
			for _, secret := range []string{whSecret, "ctok_secret_token"} {
				if strings.Contains(logs.String(), secret) {
					t.Errorf("log contains %q:\n%s", secret, logs.String())
				}
			}
		})
	}
}

func TestNewWebhookHandlerValidates(t *testing.T) {
	t.Parallel()
	if _, err := tools.NewWebhookHandler(tools.WebhookOptions{Secret: "short", Invalidate: (&whRecorder{}).invalidate}); err == nil {
		t.Error("a short secret was accepted")
	}
	if _, err := tools.NewWebhookHandler(tools.WebhookOptions{Secret: whSecret}); err == nil {
		t.Error("a handler without Invalidate was accepted")
	}
}

// whConnect records InvalidateAccounts calls; the rest of Connect is unused.
type whConnect struct {
	tools.Connect
	mu    sync.Mutex
	calls []string
}

func (c *whConnect) InvalidateAccounts(user, app string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, user+"/"+app)
}

func TestSetInvalidateAccounts(t *testing.T) {
	t.Parallel()
	a, b := &whConnect{}, &whConnect{}
	set, err := tools.New(tools.Options{Connections: []tools.Connection{
		{Name: "slack", App: "slack", Client: a},
		{Name: "slack_admin", App: "slack", Admin: true, ServiceUser: "svc", Client: b},
		{Name: "github", App: "github", Client: a},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if n := set.InvalidateAccounts("u1", "slack"); n != 2 {
		t.Errorf("InvalidateAccounts(slack) = %d, want 2 connections", n)
	}
	if n := set.InvalidateAccounts("u1", "notion"); n != 0 {
		t.Errorf("InvalidateAccounts(notion) = %d, want 0", n)
	}
	if strings.Join(a.calls, ",") != "u1/slack" || strings.Join(b.calls, ",") != "u1/slack" {
		t.Errorf("clients saw %v and %v, want u1/slack on both", a.calls, b.calls)
	}
}

// TestWebhookMakesNewAccountVisible goes through the real client and its
// account cache: an account connected after a call is invisible until the
// webhook arrives, and visible at once after it.
func TestWebhookMakesNewAccountVisible(t *testing.T) {
	t.Parallel()
	fake := pdtest.NewSandbox()
	api := httptest.NewServer(fake)
	defer api.Close()
	cl, err := pdclient.New(pdclient.Config{
		ClientID: pdtest.SandboxClientID, ClientSecret: pdtest.SandboxClientSecret,
		ProjectID: pdtest.SandboxProjectID, Environment: pdtest.SandboxEnvironment,
		BaseURL: api.URL, Version: "test", AccountsTTL: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	set, err := tools.New(tools.Options{Connections: []tools.Connection{{Name: "notion", App: "notion", Client: cl}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	call := func() string {
		ctx := tools.WithUser(t.Context(), pdtest.DemoUser)
		for _, st := range set.Tools() {
			if st.Tool.Name == "notion_search" {
				req := mcp.CallToolRequest{}
				req.Params.Name = "notion_search"
				req.Params.Arguments = map[string]any{}
				res, err := st.Handler(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				var sc struct {
					Status string `json:"status"`
				}
				b, _ := json.Marshal(res.StructuredContent)
				_ = json.Unmarshal(b, &sc)
				return sc.Status
			}
		}
		t.Fatal("no notion_search tool")
		return ""
	}
	if got := call(); got != "account_required" {
		t.Fatalf("first call: %s", got)
	}
	acct := fake.AddAccount(pdtest.Account{ExternalUserID: pdtest.DemoUser, App: "notion", Name: "new", Healthy: true})
	if got := call(); got != "account_required" {
		t.Fatalf("before the webhook the cached answer must stand, got %s", got)
	}
	h, err := tools.NewWebhookHandler(tools.WebhookOptions{Secret: whSecret, Invalidate: set.InvalidateAccounts})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"event":"CONNECTION_SUCCESS","account":{"id":"` + acct.ID + `","external_id":"` + pdtest.DemoUser + `","app":{"name_slug":"notion"}}}`
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequestWithContext(context.Background(), http.MethodPost, tools.WebhookPath+whSecret, strings.NewReader(body)))
	if rr.Code != http.StatusOK {
		t.Fatalf("webhook: %d %s", rr.Code, rr.Body)
	}
	if got := call(); got != "success" {
		t.Errorf("after the webhook: %s, want success", got)
	}
}

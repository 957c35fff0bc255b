package app

// End-to-end tests of pipedream_proxy_request through the built server and
// the fake's Connect proxy with its simulated GitHub API: successful GET and
// POST, every refusal (made before any upstream call), the app's 4xx as an
// error result, the listing per scope and tool mode, and the secret scan
// (startServer's checkSecrets) over all of it.

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// proxyConfig serves github with the proxy for GET and POST, slack read-only
// with the proxy (which allows only GET, whatever proxy_methods says), and
// notion without it.
const proxyConfig = `connections:
  - app: github
    proxy: true
    proxy_methods: [GET, post]
  - app: slack
    name: slackro
    read_only: true
    proxy: true
    proxy_methods: [GET, POST]
  - app: notion
`

// startProxyServer starts a server with proxyConfig.
func startProxyServer(t *testing.T, extra ...string) *testServer {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "proxy.yaml")
	if err := os.WriteFile(cfg, []byte(proxyConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return startServer(t, serverOptions{env: map[string]string{"PIPEDREAM_APPS": ""}, args: append([]string{"--config", cfg}, extra...)})
}

func TestProxyRequests(t *testing.T) {
	s := startProxyServer(t)
	user := s.newUser("github", "slack")
	c := s.dial(t, user, "/mcp", dialOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	t.Run("GET", func(t *testing.T) {
		r := s.call(ctx, c, user, tools.ToolProxyRequest, `{"app":"github","method":"GET","url":"https://api.github.com/user","headers":{"Accept":"application/vnd.github+json"}}`)
		if r.isError || r.status() != tools.StatusSuccess || r.sc["http_status"] != float64(200) {
			t.Fatalf("GET /user: %v", r)
		}
		if ret, _ := r.sc["ret"].(map[string]any); ret["login"] != strings.ToLower(user+"'s-github") {
			t.Errorf("ret = %v, want the account's login", r.sc["ret"])
		}
		hdrs, _ := r.sc["headers"].(map[string]any)
		if hdrs["content-type"] == nil || hdrs["set-cookie"] != nil {
			t.Errorf("headers = %v, want content-type and no set-cookie", hdrs)
		}
		last := lastProxied(t, s.fake)
		if last.Method != "GET" || last.URL != "https://api.github.com/user" || last.Headers["accept"] != "application/vnd.github+json" {
			t.Errorf("the proxy got %+v", last)
		}
		if !strings.HasPrefix(last.AccountID, "apn_") || last.ExternalUserID != user {
			t.Errorf("the proxy ran as %s with %s, want %s with their account", last.ExternalUserID, last.AccountID, user)
		}
	})

	t.Run("POST", func(t *testing.T) {
		r := s.call(ctx, c, user, tools.ToolProxyRequest, `{"app":"github","method":"POST","url":"https://api.github.com/repos/octo-org/api/issues","body":{"title":"Filed through the proxy","labels":["bug"]}}`)
		if r.isError || r.sc["http_status"] != float64(201) {
			t.Fatalf("POST issues: %v", r)
		}
		ret, _ := r.sc["ret"].(map[string]any)
		if ret["title"] != "Filed through the proxy" || ret["number"] != float64(3) {
			t.Errorf("ret = %v", ret)
		}
		if hdrs, _ := r.sc["headers"].(map[string]any); hdrs["location"] != "https://api.github.com/repos/octo-org/api/issues/3" {
			t.Errorf("headers = %v, want the Location of the new issue", hdrs)
		}
		if last := lastProxied(t, s.fake); last.Method != "POST" || last.ContentType != "application/json" || !strings.Contains(last.Body, `"Filed through the proxy"`) {
			t.Errorf("the proxy got %+v", last)
		}
	})

	t.Run("relative path on the app's base URL", func(t *testing.T) {
		r := s.call(ctx, c, user, tools.ToolProxyRequest, `{"app":"github","method":"GET","url":"/repos/octo-org/api/issues?state=all&per_page=5"}`)
		if r.isError {
			t.Fatalf("relative GET: %v", r)
		}
		if last := lastProxied(t, s.fake); last.URL != "https://api.github.com/repos/octo-org/api/issues?state=all&per_page=5" {
			t.Errorf("the proxy got %s", last.URL)
		}
	})

	t.Run("the app's 4xx", func(t *testing.T) {
		for _, tc := range []struct{ name, args, status, text string }{
			{"422", `{"app":"github","method":"POST","url":"https://api.github.com/repos/octo-org/api/issues","body":{"body":"no title"}}`, "422", "Validation Failed"},
			{"404", `{"app":"github","method":"GET","url":"https://api.github.com/repos/octo-org/nope"}`, "404", "Not Found"},
		} {
			r := s.call(ctx, c, user, tools.ToolProxyRequest, tc.args)
			if !r.isError || r.status() != tools.StatusError || !strings.Contains(r.text, tc.status) || !strings.Contains(r.text, tc.text) {
				t.Errorf("%s: %v, want an error result with the app's message %q", tc.name, r, tc.text)
			}
		}
	})
}

// TestProxyRefusals checks that every refusal is an invalid_arguments result
// that names the problem, made before any request reaches the proxy.
func TestProxyRefusals(t *testing.T) {
	s := startProxyServer(t)
	user := s.newUser("github", "slack", "notion")
	c := s.dial(t, user, "/mcp", dialOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	big := strings.Repeat("x", 70_000) // over the default --result-limit of 64 KiB
	cases := []struct{ name, args, want string }{
		{"method not allowed", `{"app":"github","method":"DELETE","url":"https://api.github.com/repos/octo-org/api"}`, "only GET, POST"},
		{"read-only connection", `{"app":"slack","method":"POST","url":"https://slack.com/api/chat.postMessage","body":{"text":"hi"}}`, "read-only connection allows only GET"},
		{"plain http", `{"app":"github","method":"GET","url":"http://api.github.com/user"}`, "not an absolute https URL"},
		{"not a URL", `{"app":"github","method":"GET","url":"user"}`, "not an absolute https URL"},
		{"another domain", `{"app":"github","method":"GET","url":"https://evil.example.com/user"}`, "not on github's API"},
		{"credentials in the URL", `{"app":"github","method":"GET","url":"https://me:pw@api.github.com/user"}`, "credentials in the URL"},
		{"credentials in the query", `{"app":"github","method":"GET","url":"https://api.github.com/user?access_token=abc"}`, "carries credentials"},
		{"authorization header", `{"app":"github","method":"GET","url":"https://api.github.com/user","headers":{"Authorization":"token abc"}}`, "carries credentials"},
		{"cookie header", `{"app":"github","method":"GET","url":"https://api.github.com/user","headers":{"Cookie":"a=b"}}`, "carries credentials"},
		{"header value with a line break", `{"app":"github","method":"GET","url":"https://api.github.com/user","headers":{"X-Note":"a\r\nHost: evil"}}`, "line break"},
		{"hop-by-hop header", `{"app":"github","method":"GET","url":"https://api.github.com/user","headers":{"Connection":"close"}}`, "hop-by-hop"},
		{"transfer-encoding header", `{"app":"github","method":"GET","url":"https://api.github.com/user","headers":{"Transfer-Encoding":"chunked"}}`, "hop-by-hop"},
		{"Pipedream's header", `{"app":"github","method":"GET","url":"https://api.github.com/user","headers":{"x-pd-proxy-x":"1"}}`, "Pipedream's own"},
		{"body too large", `{"app":"github","method":"POST","url":"https://api.github.com/repos/octo-org/api/issues","body":"` + big + `"}`, "over this server's limit"},
		{"GET with a body", `{"app":"github","method":"GET","url":"https://api.github.com/user","body":{"a":1}}`, "takes no body"},
		{"app without the proxy", `{"app":"notion","method":"GET","url":"https://api.notion.com/v1/users/me"}`, "has no API access through this server"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(s.fake.ProxyRequests())
			r := s.call(ctx, c, user, tools.ToolProxyRequest, tc.args)
			if !r.isError || r.status() != tools.StatusInvalidArgs || !strings.Contains(r.text, tc.want) {
				t.Errorf("%v, want invalid_arguments saying %q", r, tc.want)
			}
			if n := len(s.fake.ProxyRequests()); n != before {
				t.Errorf("%d requests reached the proxy", n-before)
			}
		})
	}
}

// TestProxyListing checks where the tool is listed, and its annotations:
// destructive where a connection in scope allows more than GET, read-only
// where they all allow only GET, absent where none has the proxy on; the
// catalog mode lists it too.
func TestProxyListing(t *testing.T) {
	s := startProxyServer(t)
	user := s.newUser("github")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cases := []struct {
		path     string
		listed   bool
		readOnly bool
	}{
		{"/mcp", true, false},
		{"/mcp?tool_mode=catalog", true, false},
		{"/mcp/github", true, false},
		{"/mcp/slackro", true, true},
		{"/mcp/notion", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			c := s.dial(t, user, tc.path, dialOptions{})
			list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			var found *mcp.Tool
			for i := range list.Tools {
				if list.Tools[i].Name == tools.ToolProxyRequest {
					found = &list.Tools[i]
				}
			}
			if (found != nil) != tc.listed {
				t.Fatalf("listed = %v, want %v", found != nil, tc.listed)
			}
			if found == nil {
				r := s.call(ctx, c, user, tools.ToolProxyRequest, `{"app":"github","method":"GET","url":"https://api.github.com/user"}`)
				if !r.isError && r.err == nil {
					t.Errorf("calling the unlisted tool: %v, want it refused", r)
				}
				return
			}
			a := found.Annotations
			ro := a.ReadOnlyHint != nil && *a.ReadOnlyHint
			destructive := a.DestructiveHint != nil && *a.DestructiveHint
			if ro != tc.readOnly || destructive == tc.readOnly {
				t.Errorf("readOnlyHint=%v destructiveHint=%v, want read-only %v", ro, destructive, tc.readOnly)
			}
		})
	}
}

// lastProxied is the newest request the fake's proxy passed on.
func lastProxied(t *testing.T, f *pdtest.Fake) pdtest.ProxyRecord {
	t.Helper()
	all := f.ProxyRequests()
	if len(all) == 0 {
		t.Fatal("no request reached the proxy")
	}
	return all[len(all)-1]
}

// TestProxyConfirmsWrites: with --confirm-destructive, a write through the
// proxy is confirmed as a destructive action is (2026-07-28 round trip by
// hand): the question shows the request; yes sends it once; a client that
// cannot ask is refused; a GET is never asked about. Nothing reaches the
// proxy before the yes.
func TestProxyConfirmsWrites(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "proxy.yaml")
	if err := os.WriteFile(cfg, []byte(proxyConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, serverOptions{auth: "none", env: map[string]string{"PIPEDREAM_APPS": "", "PIPEDREAM_EXTERNAL_USER_ID": pdtest.DemoUser},
		args: []string{"--config", cfg, "--confirm-destructive"}})
	url := s.url + "/mcp"
	post := map[string]any{"app": "github", "method": "POST", "url": "https://api.github.com/repos/octo-org/api/issues", "body": map[string]any{"title": "Confirmed first"}}
	proxied := func() int { return len(s.fake.ProxyRequests()) }

	res, rpcErr := modernCall(t, url, map[string]any{"name": tools.ToolProxyRequest, "arguments": post})
	state, _ := res["requestState"].(string)
	asks, _ := res["inputRequests"].(map[string]any)
	question, _ := json.Marshal(asks["confirm_destructive"])
	if rpcErr != nil || res["resultType"] != "input_required" || state == "" || !strings.Contains(string(question), "POST https://api.github.com/repos/octo-org/api/issues") || !strings.Contains(string(question), "Confirmed first") {
		t.Fatalf("want a confirmation showing the request, got %v %v", res, rpcErr)
	}
	if n := proxied(); n != 0 {
		t.Fatalf("%d requests reached the proxy before the answer", n)
	}
	yes := map[string]any{"confirm_destructive": map[string]any{"action": "accept", "content": map[string]any{"confirm": true}}}
	res, _ = modernCall(t, url, map[string]any{"name": tools.ToolProxyRequest, "arguments": post, "requestState": state, "inputResponses": yes})
	if sc, _ := res["structuredContent"].(map[string]any); sc["http_status"] != float64(201) || proxied() != 1 {
		t.Fatalf("after yes: %v, %d proxied", res, proxied())
	}

	get := map[string]any{"app": "github", "method": "GET", "url": "https://api.github.com/user"}
	if res, _ := modernCall(t, url, map[string]any{"name": tools.ToolProxyRequest, "arguments": get}); res["resultType"] == "input_required" {
		t.Errorf("a GET was asked about: %v", res)
	}

	// A client without elicitation (the mcp-go client declares none).
	c := dial(t, url, "", dialOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	before := proxied()
	r := s.call(ctx, c, pdtest.DemoUser, tools.ToolProxyRequest, `{"app":"github","method":"POST","url":"https://api.github.com/repos/octo-org/api/issues","body":{"title":"never"}}`)
	if r.status() != tools.StatusConfirmationRequired || !strings.Contains(r.text, "a write through the Connect proxy") || proxied() != before {
		t.Errorf("a client that cannot ask: %v, %d proxied", r, proxied()-before)
	}
}

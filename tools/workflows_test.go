package tools_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// wfHarness is a tool set serving workflows deployed on the fake workflow host,
// on loopback, with the sandbox's users and accounts and a real pdclient for
// access tokens and Connect Links.
type wfHarness struct {
	fake    *pdtest.Fake
	host    *pdtest.WorkflowHost
	hostURL string
	cl      *pdclient.Client
	set     *tools.Set
}

// wfDeploy is a workflow deployed on the host and the tool serving it.
type wfDeploy struct {
	deploy pdtest.Workflow // ID "" when the tool points elsewhere
	tool   tools.Workflow  // URL "" means the host's URL + "/" + deploy.ID
}

func newWFHarness(t *testing.T, opts tools.Options, flows ...wfDeploy) *wfHarness {
	t.Helper()
	fake := pdtest.NewSandbox()
	api := httptest.NewServer(fake)
	t.Cleanup(api.Close)
	cl, err := pdclient.New(pdclient.Config{
		ClientID: pdtest.SandboxClientID, ClientSecret: pdtest.SandboxClientSecret,
		ProjectID: pdtest.SandboxProjectID, Environment: pdtest.SandboxEnvironment,
		BaseURL: api.URL, Version: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	host := pdtest.NewWorkflowHost(fake)
	hs := httptest.NewServer(host)
	t.Cleanup(hs.Close)
	h := &wfHarness{fake: fake, host: host, hostURL: hs.URL, cl: cl}
	for _, f := range flows {
		if f.deploy.ID != "" {
			host.Add(f.deploy)
		}
		opts.Workflows = append(opts.Workflows, h.workflow(f))
	}
	set, err := tools.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	h.set = set
	return h
}

// workflow fills in what main would: URL, domain, environment, token source
// and Connect client.
func (h *wfHarness) workflow(f wfDeploy) tools.Workflow {
	w := f.tool
	if w.URL == "" {
		w.URL = h.hostURL + "/" + f.deploy.ID
	}
	if w.Domain == "" {
		w.Domain = "127.0.0.1"
	}
	if w.Environment == "" {
		w.Environment = pdtest.SandboxEnvironment
	}
	if w.Auth == "" || w.Auth == tools.WorkflowAuthOAuth {
		w.Token = h.cl.AccessToken
		w.InvalidateToken = h.cl.InvalidateAccessToken
	}
	w.Connect = h.cl
	return w
}

// call runs a tool as user (none when "") through its handler.
func (h *wfHarness) call(t *testing.T, ctx context.Context, user, name, args string) (map[string]any, *mcp.CallToolResult) {
	t.Helper()
	return callTool(t, h.set, ctx, user, name, args)
}

func echoed(t *testing.T, sc map[string]any) map[string]any {
	t.Helper()
	ret, ok := sc["ret"].(map[string]any)
	if !ok {
		t.Fatalf("ret is not the echo object: %v", sc["ret"])
	}
	return ret
}

func TestWorkflowRunsForTheRightUser(t *testing.T) {
	t.Parallel()
	h := newWFHarness(t, tools.Options{},
		wfDeploy{deploy: pdtest.Workflow{ID: "enuser", Apps: []string{"slack"}}, tool: tools.Workflow{Name: "notify_team"}},
		wfDeploy{deploy: pdtest.Workflow{ID: "enadmin", Apps: []string{"hubspot"}}, tool: tools.Workflow{Name: "sync_crm", Admin: true, ServiceUser: pdtest.ServiceUser}},
	)
	token, err := h.cl.AccessToken(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, tool, caller, args, wantUser, wantID string
	}{
		{"user workflow runs as the caller", "notify_team", pdtest.DemoUser, `{"channel":"#general","text":"Hello, world!","n":12345678901234567890}`, pdtest.DemoUser, "enuser"},
		{"admin workflow runs as the service identity", "sync_crm", pdtest.DemoUser, `{"since":"2025-01-01"}`, pdtest.ServiceUser, "enadmin"},
		{"admin workflow needs no caller", "sync_crm", "", `{}`, pdtest.ServiceUser, "enadmin"},
		{"no arguments send an empty object", "notify_team", pdtest.DemoUser, ``, pdtest.DemoUser, "enuser"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.host.Calls())
			sc, res := h.call(t, t.Context(), tc.caller, tc.tool, tc.args)
			if sc["status"] != "success" {
				t.Fatalf("want success, got %v\n%s", sc, text(res))
			}
			for _, f := range []string{"summary", "ret", "executed_at", "duration_ms"} {
				if _, ok := sc[f]; !ok {
					t.Errorf("result lacks %q: %v", f, sc)
				}
			}
			if got := echoed(t, sc)["external_user_id"]; got != tc.wantUser {
				t.Errorf("ran as %v, want %s", got, tc.wantUser)
			}
			calls := h.host.Calls()
			if len(calls) != before+1 {
				t.Fatalf("want exactly one request, got %d", len(calls)-before)
			}
			c := calls[len(calls)-1]
			wantBody := tc.args
			if wantBody == "" {
				wantBody = "{}"
			}
			if c.ID != tc.wantID || c.Method != http.MethodPost || c.ExternalUserID != tc.wantUser ||
				c.Environment != "development" || c.ContentType != "application/json" ||
				c.Authorization != "Bearer "+token || string(c.Body) != wantBody {
				t.Errorf("the workflow saw %+v (body %s)", c, c.Body)
			}
			if strings.Contains(text(res), token) {
				t.Error("the access token reached the result")
			}
		})
	}
}

func TestWorkflowUserWithoutIdentityRunsNothing(t *testing.T) {
	t.Parallel()
	h := newWFHarness(t, tools.Options{}, wfDeploy{deploy: pdtest.Workflow{ID: "enuser"}, tool: tools.Workflow{Name: "notify_team"}})
	sc, res := h.call(t, t.Context(), "", "notify_team", `{}`)
	if sc["status"] != "error" || !strings.Contains(text(res), "external-user-id") {
		t.Errorf("want an error naming the missing end user, got %v\n%s", sc, text(res))
	}
	if n := len(h.host.Calls()); n != 0 {
		t.Errorf("%d requests sent without an end user", n)
	}
}

func TestWorkflowTrustedMetaUser(t *testing.T) {
	t.Parallel()
	h := newWFHarness(t, tools.Options{}, wfDeploy{deploy: pdtest.Workflow{ID: "enuser"}, tool: tools.Workflow{Name: "notify_team"}})
	ctx := tools.WithClientNamedUser(tools.WithUser(t.Context(), pdtest.DemoUser))
	var handler func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error)
	for _, st := range h.set.Tools() {
		if st.Tool.Name == "notify_team" {
			handler = st.Handler
		}
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = "notify_team"
	req.Params.Meta = &mcp.Meta{AdditionalFields: map[string]any{tools.MetaUserKey: pdtest.OtherUser}}
	if _, err := handler(ctx, req); err != nil {
		t.Fatal(err)
	}
	if c := h.host.Calls(); len(c) != 1 || c[0].ExternalUserID != pdtest.OtherUser {
		t.Errorf("want the _meta user with --trust-client-user, got %+v", c)
	}
}

func TestWorkflowErrors(t *testing.T) {
	t.Parallel()
	wrongUser := pdtest.Workflow{ID: "enstrip", Behavior: pdtest.WorkflowRespond, Status: 400, Body: pdtest.ErrTextNoExternalUser}
	h := newWFHarness(t, tools.Options{WebhookURI: "https://mcp.example.com/webhooks/pipedream/s3cret"},
		wfDeploy{deploy: pdtest.Workflow{ID: "enecho"}, tool: tools.Workflow{Name: "echo"}},
		wfDeploy{deploy: pdtest.Workflow{ID: "ennotion", Apps: []string{"slack", "notion"}}, tool: tools.Workflow{Name: "notion_digest"}},
		wfDeploy{deploy: pdtest.Workflow{ID: "enadminnotion", Apps: []string{"notion"}}, tool: tools.Workflow{Name: "admin_digest", Admin: true, ServiceUser: pdtest.ServiceUser}},
		wfDeploy{deploy: pdtest.Workflow{ID: "enprod"}, tool: tools.Workflow{Name: "prod_flow", Environment: "production"}},
		wfDeploy{deploy: wrongUser, tool: tools.Workflow{Name: "stripped"}},
		wfDeploy{deploy: pdtest.Workflow{ID: "enboom", Behavior: pdtest.WorkflowRespond, Status: 502, Body: "Bad Gateway"}, tool: tools.Workflow{Name: "boom"}},
		wfDeploy{deploy: pdtest.Workflow{ID: "eninvalid", Behavior: pdtest.WorkflowRespond, Status: 422, Body: `{"error":"amount must be positive","field":"amount"}`}, tool: tools.Workflow{Name: "picky"}},
		wfDeploy{deploy: pdtest.Workflow{ID: "enbearer", Auth: pdtest.WorkflowAuthBearer, BearerToken: "right-token-123"}, tool: tools.Workflow{Name: "wrong_bearer", Auth: tools.WorkflowAuthBearer, BearerToken: "wrong-token-456"}},
	)
	cases := []struct {
		name, tool, user   string
		status             string
		text               []string // substrings of the text
		app, connectSuffix string
	}{
		{"no matching external user ID", "echo", "ghost-user", "error",
			[]string{"No matching external user ID ghost-user in development", "has not connected any account", "Nothing was run"}, "", ""},
		{"required account not found gives a Connect Link", "notion_digest", pdtest.DemoUser, "account_required",
			[]string{"Workflow notion_digest needs a notion account that \"demo-user\" has not connected.", "Required account for notion not found for external user ID demo-user in development", "open this link to connect their notion account"}, "notion", "&app=notion"},
		{"admin workflow without the account gives no link", "admin_digest", "", "account_required",
			[]string{"Required account for notion not found", "An administrator must connect a notion account", pdtest.ServiceUser}, "notion", ""},
		{"production needs a higher plan", "prod_flow", pdtest.DemoUser, "upstream_error",
			[]string{"higher tier plan", "Business plan", "retrying will not help"}, "", ""},
		{"no external user ID passed", "stripped", pdtest.DemoUser, "error",
			[]string{"No external user ID passed", "X-PD-External-User-ID"}, "", ""},
		{"5xx", "boom", pdtest.DemoUser, "upstream_error",
			[]string{"HTTP 502", "Bad Gateway", "may or may not have run"}, "", ""},
		{"the workflow's own 4xx", "picky", pdtest.DemoUser, "error",
			[]string{"HTTP 422", "amount must be positive", `"field": "amount"`}, "", ""},
		{"trigger refuses the token", "wrong_bearer", pdtest.DemoUser, "upstream_error",
			[]string{"HTTP 401", "tell the operator"}, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			toksBefore := len(h.fake.ConnectTokens())
			sc, res := h.call(t, t.Context(), tc.user, tc.tool, `{}`)
			txt := text(res)
			if sc["status"] != tc.status || !res.IsError {
				t.Fatalf("status = %v, want %s\n%s", sc["status"], tc.status, txt)
			}
			for _, want := range tc.text {
				if !strings.Contains(txt, want) {
					t.Errorf("text lacks %q:\n%s", want, txt)
				}
			}
			if got, _ := sc["app"].(string); got != tc.app {
				t.Errorf("app = %q, want %q", got, tc.app)
			}
			link, _ := sc["connect_url"].(string)
			newToks := h.fake.ConnectTokens()[toksBefore:]
			if tc.connectSuffix == "" {
				if link != "" || len(newToks) != 0 {
					t.Errorf("no Connect Link expected, got %q (%d tokens)", link, len(newToks))
				}
				return
			}
			if !strings.Contains(link, "token=ctok_") || !strings.HasSuffix(link, tc.connectSuffix) || !strings.Contains(txt, link) {
				t.Errorf("connect_url = %q, want a link ending %s that the text carries", link, tc.connectSuffix)
			}
			if len(newToks) != 1 || newToks[0].ExternalUserID != tc.user || newToks[0].WebhookURI != "https://mcp.example.com/webhooks/pipedream/s3cret" {
				t.Errorf("connect tokens: %+v", newToks)
			}
		})
	}
}

func TestWorkflowExpiredAccessTokenIsRefreshed(t *testing.T) {
	t.Parallel()
	h := newWFHarness(t, tools.Options{}, wfDeploy{deploy: pdtest.Workflow{ID: "enecho"}, tool: tools.Workflow{Name: "echo"}})
	if sc, _ := h.call(t, t.Context(), pdtest.DemoUser, "echo", `{}`); sc["status"] != "success" {
		t.Fatalf("first call: %v", sc)
	}
	h.fake.ExpireTokens() // the client's cached token is now refused
	sc, res := h.call(t, t.Context(), pdtest.DemoUser, "echo", `{"n":1}`)
	if sc["status"] != "success" {
		t.Fatalf("a refused token must be refreshed once and the call sent again: %v\n%s", sc, text(res))
	}
	calls := h.host.Calls()
	if len(calls) != 3 || calls[1].Status != 401 || calls[2].Status != 200 {
		var got []int
		for _, c := range calls {
			got = append(got, c.Status)
		}
		t.Errorf("host saw statuses %v, want [200 401 200]", got)
	}
}

func TestWorkflowRateLimited(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		header string
		want   float64
	}{{"7", 7}, {"", 60}, {time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat), 30}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.header != "" {
				w.Header().Set("Retry-After", tc.header)
			}
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"error":"rate limit exceeded"}`))
		}))
		t.Cleanup(srv.Close)
		h := newWFHarness(t, tools.Options{}, wfDeploy{tool: tools.Workflow{Name: "limited", URL: srv.URL + "/en1"}})
		sc, res := h.call(t, t.Context(), pdtest.DemoUser, "limited", `{}`)
		got, _ := sc["retry_after_seconds"].(float64)
		if sc["status"] != "rate_limited" || got < tc.want-2 || got > tc.want {
			t.Errorf("Retry-After %q: want rate_limited after ~%v s, got %v", tc.header, tc.want, sc)
		}
		if !strings.Contains(text(res), "Retry after") {
			t.Errorf("text should say when to retry: %s", text(res))
		}
	}
}

func TestWorkflowResponses(t *testing.T) {
	t.Parallel()
	big := `{"items":"` + strings.Repeat("x", 4000) + `"}`
	h := newWFHarness(t, tools.Options{ResultLimit: 1000},
		wfDeploy{deploy: pdtest.Workflow{ID: "enack", Behavior: pdtest.WorkflowAcknowledge}, tool: tools.Workflow{Name: "fire_and_forget"}},
		wfDeploy{deploy: pdtest.Workflow{ID: "entext", Behavior: pdtest.WorkflowRespond, Body: "queued 3 messages", ContentType: "text/plain"}, tool: tools.Workflow{Name: "texty"}},
		wfDeploy{deploy: pdtest.Workflow{ID: "encreated", Behavior: pdtest.WorkflowRespond, Status: 201, Body: `{"id":"inv_42","url":"https://billing.example.com/inv_42"}`}, tool: tools.Workflow{Name: "create_invoice"}},
		wfDeploy{deploy: pdtest.Workflow{ID: "enbig", Behavior: pdtest.WorkflowRespond, Body: big}, tool: tools.Workflow{Name: "big"}},
		wfDeploy{deploy: pdtest.Workflow{ID: "enempty", Behavior: pdtest.WorkflowRespond, Status: 204}, tool: tools.Workflow{Name: "empty"}},
	)

	sc, res := h.call(t, t.Context(), pdtest.DemoUser, "fire_and_forget", `{}`)
	if sc["status"] != "success" || !strings.Contains(text(res), "generic acknowledgement") || !strings.Contains(text(res), "Check its effect") {
		t.Errorf("acknowledgement: want success saying the outcome is unknown, got %v\n%s", sc, text(res))
	}
	if ret, _ := sc["ret"].(string); !strings.HasPrefix(ret, "<p><b>Success!</b></p>") || !strings.Contains(text(res), "<p><b>Success!") {
		t.Errorf("acknowledgement: ret = %q, want the body as readable text", ret)
	}

	sc, _ = h.call(t, t.Context(), pdtest.DemoUser, "texty", `{}`)
	if sc["status"] != "success" || sc["ret"] != "queued 3 messages" {
		t.Errorf("text response: ret = %#v", sc["ret"])
	}

	sc, res = h.call(t, t.Context(), pdtest.DemoUser, "create_invoice", `{}`)
	res2, _ := sc["resource"].(map[string]any)
	if sc["status"] != "success" || res2["id"] != "inv_42" || res2["url"] != "https://billing.example.com/inv_42" || !strings.Contains(text(res), "HTTP 201") {
		t.Errorf("JSON response: %v\n%s", sc, text(res))
	}

	sc, res = h.call(t, t.Context(), pdtest.DemoUser, "big", `{}`)
	if sc["status"] != "success" || sc["truncated"] != true || len(text(res)) > 1400 {
		t.Errorf("big response: want it cut at the result limit, got truncated=%v and %d bytes of text", sc["truncated"], len(text(res)))
	}
	if ret, ok := sc["ret"].(string); !ok || len(ret) > 1000 {
		t.Errorf("big response: ret must be replaced by its cut text, got %T of %d", sc["ret"], len(ret))
	}

	sc, _ = h.call(t, t.Context(), pdtest.DemoUser, "empty", `{}`)
	if _, has := sc["ret"]; sc["status"] != "success" || has {
		t.Errorf("204: want success without ret, got %v", sc)
	}
}

func TestWorkflowSecretsNeverReachTheResult(t *testing.T) {
	t.Parallel()
	// A workflow that echoes its request headers, as a debugging step might.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"headers": r.Header})
	}))
	t.Cleanup(srv.Close)
	const secret = "bearer-s3cret-value-123"
	h := newWFHarness(t, tools.Options{},
		wfDeploy{tool: tools.Workflow{Name: "leaky_bearer", URL: srv.URL + "/en1", Auth: tools.WorkflowAuthBearer, BearerToken: secret}},
		wfDeploy{tool: tools.Workflow{Name: "leaky_oauth", URL: srv.URL + "/en2"}},
	)
	token, err := h.cl.AccessToken(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"leaky_bearer", "leaky_oauth"} {
		sc, res := h.call(t, t.Context(), pdtest.DemoUser, name, `{}`)
		b, _ := json.Marshal(sc)
		all := text(res) + string(b)
		if sc["status"] != "success" || !strings.Contains(all, "[redacted]") {
			t.Errorf("%s: want success with the token redacted, got %s", name, all)
		}
		if strings.Contains(all, secret) || strings.Contains(all, token) {
			t.Errorf("%s: a secret reached the result: %s", name, all)
		}
	}
}

func TestWorkflowAuthNoneSendsNoAuthorization(t *testing.T) {
	t.Parallel()
	h := newWFHarness(t, tools.Options{}, wfDeploy{deploy: pdtest.Workflow{ID: "enopen", Auth: pdtest.WorkflowAuthNone}, tool: tools.Workflow{Name: "open", Auth: tools.WorkflowAuthNone}})
	sc, _ := h.call(t, t.Context(), pdtest.DemoUser, "open", `{"a":1}`)
	c := h.host.Calls()
	if sc["status"] != "success" || len(c) != 1 || c[0].Authorization != "" || c[0].ExternalUserID != pdtest.DemoUser {
		t.Errorf("auth none: %v, calls %+v", sc, c)
	}
}

func TestWorkflowSchemaValidation(t *testing.T) {
	t.Parallel()
	schema := `{"type":"object","properties":{` +
		`"customer":{"type":"string","title":"Customer","description":"The customer's ID"},` +
		`"amount":{"type":"number","minimum":0},` +
		`"lines":{"type":"array","items":{"type":"object","properties":{"sku":{"type":"string"}},"required":["sku"]}}},` +
		`"required":["customer","amount"],"additionalProperties":false}`
	h := newWFHarness(t, tools.Options{},
		wfDeploy{deploy: pdtest.Workflow{ID: "eninvoice"}, tool: tools.Workflow{Name: "create_invoice", InputSchema: []byte(schema)}},
		wfDeploy{deploy: pdtest.Workflow{ID: "enfree"}, tool: tools.Workflow{Name: "free"}},
	)
	cases := []struct {
		tool, args string
		want       []string
	}{
		{"create_invoice", `{"amount":"12"}`, []string{"customer: required field is missing (Customer: The customer's ID)", "amount: expected number, but got string"}},
		{"create_invoice", `{"customer":"c1","amount":-1,"extra":true}`, []string{"amount: must be >= 0", "extra: unknown field (this tool takes: amount, customer, lines)"}},
		{"create_invoice", `{"customer":"c1","amount":1,"lines":[{"sku":"a"},{}]}`, []string{"lines[1].sku: required field is missing"}},
		{"create_invoice", `{"customer":"c1","amount":1e999999999}`, []string{"amount: number out of range"}},
		{"free", `[1,2]`, []string{"the arguments must be a JSON object"}},
		{"free", `{"a":`, []string{"the arguments are not valid JSON"}},
	}
	for _, tc := range cases {
		sc, res := h.call(t, t.Context(), pdtest.DemoUser, tc.tool, tc.args)
		if sc["status"] != "invalid_arguments" {
			t.Errorf("%s %s: want invalid_arguments, got %v", tc.tool, tc.args, sc)
			continue
		}
		for _, want := range tc.want {
			if !strings.Contains(text(res), want) {
				t.Errorf("%s %s: text lacks %q:\n%s", tc.tool, tc.args, want, text(res))
			}
		}
	}
	if n := len(h.host.Calls()); n != 0 {
		t.Fatalf("%d requests sent for invalid arguments", n)
	}
	sc, res := h.call(t, t.Context(), pdtest.DemoUser, "create_invoice", `{"customer":"c1","amount":12.5,"lines":[{"sku":"a"}]}`)
	if sc["status"] != "success" {
		t.Fatalf("valid arguments: %v\n%s", sc, text(res))
	}
	if c := h.host.Calls(); len(c) != 1 || string(c[0].Body) != `{"customer":"c1","amount":12.5,"lines":[{"sku":"a"}]}` {
		t.Errorf("the body must be sent as given: %+v", c)
	}
	sc, _ = h.call(t, t.Context(), pdtest.DemoUser, "free", `{"anything":{"goes":[1,"two"]}}`)
	if sc["status"] != "success" {
		t.Errorf("default schema takes any object: %v", sc)
	}
}

func TestWorkflowTimeoutAndCancel(t *testing.T) {
	t.Parallel()
	h := newWFHarness(t, tools.Options{CallTimeout: 150 * time.Millisecond},
		wfDeploy{deploy: pdtest.Workflow{ID: "enslow", Delay: 5 * time.Second}, tool: tools.Workflow{Name: "slow"}})
	start := time.Now()
	sc, res := h.call(t, t.Context(), pdtest.DemoUser, "slow", `{}`)
	if sc["status"] != "timeout" || !strings.Contains(text(res), "may or may not have run") || !strings.Contains(text(res), "150ms") {
		t.Errorf("want a timeout telling to check before retrying, got %v\n%s", sc, text(res))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the deadline was not honoured: %s", d)
	}

	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	start = time.Now()
	sc, res = h.call(t, ctx, pdtest.DemoUser, "slow", `{}`)
	if sc["status"] != "timeout" || !strings.Contains(text(res), "cancelled") {
		t.Errorf("want the cancellation reported, got %v\n%s", sc, text(res))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the cancellation was not honoured: %s", d)
	}
}

func TestWorkflowRedirects(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		if r.Header.Get("Authorization") != "" || r.Header.Get("X-PD-External-User-ID") != "" {
			t.Errorf("credentials or user sent to another host")
		}
	}))
	t.Cleanup(other.Close)
	h := newWFHarness(t, tools.Options{},
		wfDeploy{deploy: pdtest.Workflow{ID: "enaway", Behavior: pdtest.WorkflowRedirect, Location: other.URL + "/steal"}, tool: tools.Workflow{Name: "away"}},
		wfDeploy{deploy: pdtest.Workflow{ID: "enlocalhost", Behavior: pdtest.WorkflowRedirect}, tool: tools.Workflow{Name: "other_name"}},
		wfDeploy{deploy: pdtest.Workflow{ID: "enhome", Behavior: pdtest.WorkflowRedirect, Location: "/enecho"}, tool: tools.Workflow{Name: "home"}},
		wfDeploy{deploy: pdtest.Workflow{ID: "enecho"}, tool: tools.Workflow{Name: "echo"}},
	)
	// The same port under another name is another host too.
	h.host.Add(pdtest.Workflow{ID: "enlocalhost", Behavior: pdtest.WorkflowRedirect, Location: strings.Replace(h.hostURL, "127.0.0.1", "localhost", 1) + "/enecho"})

	for _, name := range []string{"away", "other_name"} {
		sc, res := h.call(t, t.Context(), pdtest.DemoUser, name, `{}`)
		if sc["status"] != "upstream_error" || !strings.Contains(text(res), "not followed") {
			t.Errorf("%s: want the redirect refused, got %v\n%s", name, sc, text(res))
		}
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the other host was called %d times", n)
	}
	sc, res := h.call(t, t.Context(), pdtest.DemoUser, "home", `{}`)
	if sc["status"] != "success" || echoed(t, sc)["workflow"] != "enecho" {
		t.Errorf("a redirect on the same host is followed: %v\n%s", sc, text(res))
	}
}

func TestWorkflowToolsListed(t *testing.T) {
	t.Parallel()
	schema := `{"properties":{"q":{"type":"string"}},"required":["q"]}`
	h := newWFHarness(t, tools.Options{},
		wfDeploy{deploy: pdtest.Workflow{ID: "en1"}, tool: tools.Workflow{Name: "search_crm", Description: "Search the CRM.", InputSchema: []byte(schema)}},
		wfDeploy{deploy: pdtest.Workflow{ID: "en2"}, tool: tools.Workflow{Name: "nightly_report", Admin: true, ServiceUser: "bot"}},
	)
	byName := map[string]mcp.Tool{}
	for _, st := range h.set.Tools() {
		byName[st.Tool.Name] = st.Tool
	}
	crm, ok := byName["search_crm"]
	if !ok {
		t.Fatalf("search_crm not listed: %v", byName)
	}
	if !strings.HasPrefix(crm.Description, "Search the CRM.") || !strings.Contains(crm.Description, "as the caller") {
		t.Errorf("description = %q", crm.Description)
	}
	var sch map[string]any
	_ = json.Unmarshal(crm.RawInputSchema, &sch)
	if sch["type"] != "object" || sch["required"] == nil {
		t.Errorf("schema = %s, want the configured one with type object", crm.RawInputSchema)
	}
	rep := byName["nightly_report"]
	if !strings.Contains(rep.Description, "service identity") || !strings.Contains(rep.Description, "any JSON object") {
		t.Errorf("admin description = %q", rep.Description)
	}
	if string(rep.RawInputSchema) != `{"type":"object","properties":{},"additionalProperties":true}` {
		t.Errorf("default schema = %s", rep.RawInputSchema)
	}
	if a := rep.Annotations; a.ReadOnlyHint == nil || *a.ReadOnlyHint || a.DestructiveHint == nil || !*a.DestructiveHint {
		t.Errorf("annotations = %+v, want explicit readOnly false and destructive true", a)
	}

	var all []mcp.Tool
	for _, st := range h.set.Tools() {
		all = append(all, st.Tool)
	}
	for _, tc := range []struct {
		scope string
		want  bool
	}{{"", true}, {"slack", false}} {
		ctx := tools.WithScope(t.Context(), tc.scope)
		got := slices.ContainsFunc(h.set.Filter(ctx, all), func(tl mcp.Tool) bool { return tl.Name == "search_crm" })
		if got != tc.want {
			t.Errorf("scope %q: workflow listed = %v, want %v", tc.scope, got, tc.want)
		}
	}
}

func TestNewRefusesBadWorkflows(t *testing.T) {
	t.Parallel()
	tok := func(context.Context) (string, error) { return "t", nil }
	ok := tools.Workflow{Name: "w", URL: "https://en1.m.pipedream.net", Token: tok}
	cases := []struct {
		name string
		edit func(*tools.Workflow)
		want string
	}{
		{"host outside the workflow domain", func(w *tools.Workflow) { w.URL = "https://evil.example.com/m.pipedream.net" }, `not on the workflow domain m.pipedream.net`},
		{"suffix without a dot", func(w *tools.Workflow) { w.URL = "https://evilm.pipedream.net" }, `not on the workflow domain`},
		{"plain http off loopback", func(w *tools.Workflow) { w.URL = "http://en1.m.pipedream.net" }, "must use https"},
		{"credentials in the URL", func(w *tools.Workflow) { w.URL = "https://u:p@en1.m.pipedream.net" }, "must not hold credentials"},
		{"custom domain", func(w *tools.Workflow) { w.URL = "https://en1.flows.example.com"; w.Domain = "flows.example.com" }, ""},
		{"loopback domain with a port", func(w *tools.Workflow) { w.URL = "http://127.0.0.1:8080/en1"; w.Domain = "127.0.0.1" }, ""},
		{"bad name", func(w *tools.Workflow) { w.Name = "has space" }, "not a valid tool name"},
		{"helper name", func(w *tools.Workflow) { w.Name = tools.ToolAccounts }, "taken by a built-in tool"},
		{"oauth without a token source", func(w *tools.Workflow) { w.Token = nil }, "token source"},
		{"bearer without a token", func(w *tools.Workflow) { w.Auth = tools.WorkflowAuthBearer }, "needs a token"},
		{"unknown auth", func(w *tools.Workflow) { w.Auth = "magic" }, "unknown auth"},
		{"admin without identity", func(w *tools.Workflow) { w.Admin = true }, "service identity"},
		{"schema of an array", func(w *tools.Workflow) { w.InputSchema = []byte(`{"type":"array"}`) }, `"type": "object"`},
		{"schema that does not compile", func(w *tools.Workflow) {
			w.InputSchema = []byte(`{"type":"object","properties":{"n":{"minimum":"x"}}}`)
		}, "does not compile"},
	}
	for _, tc := range cases {
		w := ok
		tc.edit(&w)
		_, err := tools.New(tools.Options{Workflows: []tools.Workflow{w}})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := tools.New(tools.Options{Workflows: []tools.Workflow{ok, ok}}); err == nil || !strings.Contains(err.Error(), "used twice") {
		t.Errorf("duplicate names: %v", err)
	}
}

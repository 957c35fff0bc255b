package tools_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// listingsPerApp is how many action listings loading one app's catalog takes:
// the public and the private registry (pdclient.RegistryAll, the default).
const listingsPerApp = 2

// harness is a tool set over the sandbox fake, served on a loopback httptest
// server and reached through the real pdclient.
type harness struct {
	fake *pdtest.Fake
	set  *tools.Set
	cl   *pdclient.Client
}

func newHarness(t *testing.T, opts tools.Options, conns ...tools.Connection) *harness {
	t.Helper()
	fake, cl := sandboxClient(t)
	for i := range conns {
		conns[i].Client = cl
	}
	opts.Connections = conns
	set, err := tools.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	return &harness{fake: fake, set: set, cl: cl}
}

// sandboxClient is a client of a fresh sandbox fake on loopback, with fast
// retries.
func sandboxClient(t *testing.T) (*pdtest.Fake, *pdclient.Client) {
	t.Helper()
	fake := pdtest.NewSandbox()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	cl, err := pdclient.New(pdclient.Config{
		ClientID: pdtest.SandboxClientID, ClientSecret: pdtest.SandboxClientSecret,
		ProjectID: pdtest.SandboxProjectID, Environment: pdtest.SandboxEnvironment,
		BaseURL: srv.URL, Version: "test",
	}, pdclient.WithRetry(pdclient.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxElapsed: time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	return fake, cl
}

func userConn(name, app string) tools.Connection { return tools.Connection{Name: name, App: app} }

func (h *harness) names() []string {
	var out []string
	for _, t := range h.set.Tools() {
		out = append(out, t.Tool.Name)
	}
	return out
}

// call runs a tool as user through its handler, exactly as mcp-go would after
// the tool filter.
func (h *harness) call(t *testing.T, ctx context.Context, user, name, args string) (map[string]any, *mcp.CallToolResult) {
	t.Helper()
	return callTool(t, h.set, ctx, user, name, args)
}

// callTool runs a tool of set as user (none when "") through its handler,
// after checking that the tool filter lets it through in ctx's scope, and
// checks that isError agrees with the status.
func callTool(t *testing.T, set *tools.Set, ctx context.Context, user, name, args string) (map[string]any, *mcp.CallToolResult) {
	t.Helper()
	if user != "" {
		ctx = tools.WithUser(ctx, user)
	}
	var all []mcp.Tool
	for _, st := range set.Tools() {
		all = append(all, st.Tool)
	}
	if !slices.ContainsFunc(set.Filter(ctx, all), func(tl mcp.Tool) bool { return tl.Name == name }) {
		t.Fatalf("tool %s is not served in this scope", name)
	}
	for _, st := range set.Tools() {
		if st.Tool.Name != name {
			continue
		}
		req := mcp.CallToolRequest{}
		req.Params.Name = name
		req.Params.RawArguments = json.RawMessage(args)
		res, err := st.Handler(ctx, req)
		if err != nil {
			t.Fatalf("handler returned a Go error: %v", err)
		}
		var sc map[string]any
		b, _ := json.Marshal(res.StructuredContent)
		if err := json.Unmarshal(b, &sc); err != nil {
			t.Fatalf("structured content %s: %v", b, err)
		}
		if res.IsError != (sc["status"] != nil && sc["status"] != "success") {
			t.Errorf("isError = %v with status %v", res.IsError, sc["status"])
		}
		return sc, res
	}
	t.Fatalf("no tool %s", name)
	return nil, nil
}

func text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func TestToolsListSeveralConnections(t *testing.T) {
	h := newHarness(t, tools.Options{}, userConn("slack", "slack"), userConn("gh", "github"))
	names := h.names()
	for _, want := range []string{"pipedream_list_options", "pipedream_describe", "pipedream_accounts", "slack_send_message_to_channel", "gh_create_issue", "gh_get_repository"} {
		if !slices.Contains(names, want) {
			t.Errorf("missing tool %s in %v", want, names)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("tools are not sorted by name: %v", names)
	}
	for _, st := range h.set.Tools() {
		if !tools.ValidToolName(st.Tool.Name) {
			t.Errorf("invalid tool name %q", st.Tool.Name)
		}
		var sch map[string]any
		if err := json.Unmarshal(st.Tool.RawInputSchema, &sch); err != nil || sch["type"] != "object" {
			t.Errorf("%s: input schema is not an object schema: %s", st.Tool.Name, st.Tool.RawInputSchema)
		}
		if _, err := json.Marshal(st.Tool); err != nil {
			t.Errorf("%s does not encode: %v", st.Tool.Name, err)
		}
	}
}

func TestEdgeCatalogNamesAndLeftOut(t *testing.T) {
	h := newHarness(t, tools.Options{}, userConn("pd_edge", "pd_edge"))
	names := h.names()
	if !slices.Contains(names, "pd_edge_foo_bar") {
		t.Errorf("pd_edge-foo-bar should keep the plain name; have %v", names)
	}
	var collided, long int
	for _, n := range names {
		if strings.HasPrefix(n, "pd_edge_foo_bar_") {
			collided++
		}
		if strings.HasPrefix(n, "pd_edge_this_action_key") {
			long++
			if len(n) > 64 {
				t.Errorf("long name not shortened: %s", n)
			}
		}
	}
	if collided != 1 || long != 1 {
		t.Errorf("want one de-duplicated and one shortened name, got %d and %d in %v", collided, long, names)
	}
	for _, n := range names {
		if strings.Contains(n, "malformed") {
			t.Errorf("an action with malformed props must be left out, found %s", n)
		}
	}
	st := h.set.Status()
	if len(st) != 1 || len(st[0].Warnings) == 0 || !strings.Contains(strings.Join(st[0].Warnings, "\n"), "pd_edge-malformed-props") {
		t.Errorf("want a warning naming pd_edge-malformed-props, got %+v", st)
	}
}

func TestCallSuccess(t *testing.T) {
	h := newHarness(t, tools.Options{}, userConn("slack", "slack"))
	sc, res := h.call(t, t.Context(), pdtest.DemoUser, "slack_send_message_to_channel", `{"conversation":"C00001000","text":"hello"}`)
	if res.IsError || sc["status"] != "success" {
		t.Fatalf("want success, got %v\n%s", sc, text(res))
	}
	for _, f := range []string{"summary", "action", "version", "account_id", "ret", "executed_at", "duration_ms"} {
		if _, ok := sc[f]; !ok {
			t.Errorf("result lacks %q: %v", f, sc)
		}
	}
	if !strings.HasPrefix(text(res), sc["summary"].(string)) {
		t.Errorf("text should lead with the summary %q: %s", sc["summary"], text(res))
	}
	runs := h.fake.Runs()
	if len(runs) != 1 {
		t.Fatalf("want 1 run upstream, got %d", len(runs))
	}
	r := runs[0]
	if r.ID != "slack-send-message-to-channel" || r.ExternalUserID != pdtest.DemoUser || r.Version == "" || r.HasStashID {
		t.Errorf("unexpected run: %+v", r)
	}
	app, _ := r.ConfiguredProps["slack"].(map[string]any)
	if app["authProvisionId"] != sc["account_id"] {
		t.Errorf("app prop = %v, want authProvisionId %v", r.ConfiguredProps["slack"], sc["account_id"])
	}
	if r.ConfiguredProps["text"] != "hello" {
		t.Errorf("text not passed: %v", r.ConfiguredProps)
	}
}

func TestBadArgumentsRunNothing(t *testing.T) {
	h := newHarness(t, tools.Options{}, userConn("slack", "slack"))
	h.fake.ResetCounts()
	sc, res := h.call(t, t.Context(), pdtest.DemoUser, "slack_send_message_to_channel", `{"text":42,"bogus":1}`)
	if !res.IsError || sc["status"] != "invalid_arguments" {
		t.Fatalf("want invalid_arguments, got %v", sc)
	}
	msg := text(res)
	for _, want := range []string{"conversation", "text", "bogus"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error text should name %q: %s", want, msg)
		}
	}
	for _, ep := range []string{pdtest.EndpointRun, pdtest.EndpointAccounts} {
		if n := h.fake.Count(ep); n != 0 {
			t.Errorf("%s called %d times for invalid arguments", ep, n)
		}
	}
}

func TestMissingAccountGivesConnectLink(t *testing.T) {
	h := newHarness(t, tools.Options{WebhookURI: "https://mcp.example.com/webhooks/pipedream/s3cret"}, userConn("notion", "notion"))
	sc, res := h.call(t, t.Context(), pdtest.DemoUser, "notion_search", `{"query":"roadmap"}`)
	if !res.IsError || sc["status"] != "account_required" {
		t.Fatalf("want account_required, got %v", sc)
	}
	link, _ := sc["connect_url"].(string)
	if !strings.Contains(link, "token=ctok_") || !strings.HasSuffix(link, "&app=notion") {
		t.Errorf("connect_url = %q", link)
	}
	if !strings.Contains(text(res), link) {
		t.Errorf("text should carry the link: %s", text(res))
	}
	toks := h.fake.ConnectTokens()
	if len(toks) != 1 || toks[0].ExternalUserID != pdtest.DemoUser || toks[0].WebhookURI != "https://mcp.example.com/webhooks/pipedream/s3cret" {
		t.Errorf("connect tokens: %+v", toks)
	}
	if len(h.fake.Runs()) != 0 {
		t.Error("nothing may run without an account")
	}
}

func TestAccountChoice(t *testing.T) {
	h := newHarness(t, tools.Options{}, userConn("slack", "slack"), userConn("github", "github"))
	accts, err := h.cl.ListAccounts(t.Context(), pdtest.DemoUser, "slack")
	if err != nil || len(accts) < 2 {
		t.Fatalf("want two slack accounts, got %v %v", accts, err)
	}
	slices.SortFunc(accts, func(a, b pdclient.Account) int { return a.Created().Compare(b.Created()) })
	older, newer := accts[0].ID, accts[len(accts)-1].ID

	sc, _ := h.call(t, t.Context(), pdtest.DemoUser, "slack_list_channels", `{}`)
	if sc["account_id"] != newer {
		t.Errorf("default account = %v, want the newest %s", sc["account_id"], newer)
	}
	sc, _ = h.call(t, t.Context(), pdtest.DemoUser, "slack_list_channels", `{"_account_id":"`+older+`"}`)
	if sc["status"] != "success" || sc["account_id"] != older {
		t.Errorf("chosen account not used: %v", sc)
	}

	// Another user's account is refused and nothing runs.
	others, _ := h.cl.ListAccounts(t.Context(), pdtest.OtherUser, "github")
	if len(others) == 0 {
		t.Fatal("sandbox: other-user should have a github account")
	}
	before := len(h.fake.Runs())
	sc, res := h.call(t, t.Context(), pdtest.DemoUser, "github_get_repository", `{"repoFullname":"octo/hello","_account_id":"`+others[0].ID+`"}`)
	if sc["status"] != "invalid_arguments" || !strings.Contains(text(res), "_account_id") {
		t.Errorf("someone else's account must be refused naming _account_id: %v %s", sc, text(res))
	}
	if len(h.fake.Runs()) != before {
		t.Error("a refused account must not run anything")
	}
}

func TestRemoteOptionsPaging(t *testing.T) {
	h := newHarness(t, tools.Options{}, userConn("slack", "slack"))
	seen := map[string]bool{}
	token := ""
	pages := 0
	for {
		args := `{"tool":"slack_send_message_to_channel","prop":"conversation"`
		if token != "" {
			args += `,"page_token":"` + token + `"`
		}
		sc, res := h.call(t, t.Context(), pdtest.DemoUser, "pipedream_list_options", args+"}")
		if res.IsError {
			t.Fatalf("list options failed: %s", text(res))
		}
		opts, _ := sc["options"].([]any)
		for _, o := range opts {
			m := o.(map[string]any)
			v := m["value"].(string)
			if seen[v] {
				t.Errorf("value %s listed twice", v)
			}
			seen[v] = true
			if m["label"] == "" {
				t.Errorf("option without label: %v", m)
			}
		}
		pages++
		next, _ := sc["next_page_token"].(string)
		if next == "" {
			break
		}
		token = next
		if pages > 20 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 27 {
		t.Errorf("want all 27 channels across pages, got %d in %d pages", len(seen), pages)
	}
	if pages < 3 {
		t.Errorf("want several pages, got %d", pages)
	}
}

func TestDynamicPropsRun(t *testing.T) {
	h := newHarness(t, tools.Options{}, userConn("sheets", "google_sheets"))
	const sheet = "1BfWjFF2dTW_YDiLISj5N9nKCUErShgugPS434liyytg"

	// Missing the field that appears after the reload: named, nothing runs.
	sc, res := h.call(t, t.Context(), pdtest.DemoUser, "sheets_add_single_row", `{"sheetId":"`+sheet+`","sheetName":"Sheet1","hasHeaders":"No"}`)
	if sc["status"] != "invalid_arguments" || !strings.Contains(text(res), "myColumnData") {
		t.Fatalf("want invalid_arguments naming myColumnData, got %v\n%s", sc, text(res))
	}
	if len(h.fake.Runs()) != 0 {
		t.Fatal("nothing may run")
	}

	sc, res = h.call(t, t.Context(), pdtest.DemoUser, "sheets_add_single_row", `{"sheetId":"`+sheet+`","sheetName":"Sheet1","hasHeaders":"No","myColumnData":["a","b"]}`)
	if sc["status"] != "success" {
		t.Fatalf("want success, got %v\n%s", sc, text(res))
	}
	runs := h.fake.Runs()
	if len(runs) != 1 || !strings.HasPrefix(runs[0].DynamicPropsID, "dyp_") {
		t.Fatalf("run must carry the reloaded dynamic props id: %+v", runs)
	}
	lv, _ := runs[0].ConfiguredProps["sheetId"].(map[string]any)
	inner, _ := lv["__lv"].(map[string]any)
	if inner["value"] != sheet || inner["label"] == nil {
		t.Errorf("withLabel prop must be wrapped as __lv: %v", runs[0].ConfiguredProps["sheetId"])
	}

	// pipedream_describe reveals the fields and an id that a call can pass back.
	sc, res = h.call(t, t.Context(), pdtest.DemoUser, "pipedream_describe", `{"tool":"sheets_add_single_row","configured_props":{"sheetId":"`+sheet+`","hasHeaders":"Yes"}}`)
	if res.IsError {
		t.Fatalf("describe failed: %s", text(res))
	}
	schemaJSON, _ := json.Marshal(sc["input_schema"])
	if !strings.Contains(string(schemaJSON), "col_0000") {
		t.Errorf("describe should show the header columns: %s", schemaJSON)
	}
	id, _ := sc["dynamic_props_id"].(string)
	if !strings.HasPrefix(id, "dyp_") {
		t.Fatalf("describe id = %q", id)
	}
	sc, res = h.call(t, t.Context(), pdtest.DemoUser, "sheets_add_single_row", `{"sheetId":"`+sheet+`","sheetName":"Sheet1","hasHeaders":"Yes","col_0000":"Acme","_dynamic_props_id":"`+id+`"}`)
	if sc["status"] != "success" {
		t.Fatalf("run with the described id failed: %v\n%s", sc, text(res))
	}
	runs = h.fake.Runs()
	if got := runs[len(runs)-1]; got.DynamicPropsID != id || got.ConfiguredProps["col_0000"] != "Acme" {
		t.Errorf("run did not use the described id and fields: %+v", got)
	}
}

func TestActionErrorObservation(t *testing.T) {
	h := newHarness(t, tools.Options{}, userConn("pd_edge", "pd_edge"))
	sc, res := h.call(t, t.Context(), pdtest.DemoUser, "pd_edge_always_fails", `{}`)
	if !res.IsError || sc["status"] != "error" {
		t.Fatalf("want status error, got %v", sc)
	}
	errs, _ := sc["errors"].([]any)
	if len(errs) == 0 {
		t.Errorf("the error observation's message must be reported: %v", sc)
	}
}

func TestLargeResultIsCut(t *testing.T) {
	const limit = 4096
	h := newHarness(t, tools.Options{ResultLimit: limit}, userConn("pd_edge", "pd_edge"))
	sc, res := h.call(t, t.Context(), pdtest.DemoUser, "pd_edge_large_result", `{}`)
	if sc["status"] != "success" || sc["truncated"] != true {
		t.Fatalf("want a truncated success, got status=%v truncated=%v", sc["status"], sc["truncated"])
	}
	txt := text(res)
	if len(txt) > limit+1024 || !strings.Contains(txt, "truncated") {
		t.Errorf("text is %d bytes, want about %d with a note", len(txt), limit)
	}
	ret, _ := json.Marshal(sc["ret"])
	if len(ret) > limit+64 {
		t.Errorf("structured ret is %d bytes, want at most about %d", len(ret), limit)
	}
}

func TestAdminConnection(t *testing.T) {
	h := newHarness(t, tools.Options{},
		tools.Connection{Name: "hubspot", App: "hubspot", Admin: true, ServiceUser: pdtest.ServiceUser, Include: []string{"hubspot-get-*"}},
		tools.Connection{Name: "gmail", App: "gmail", Admin: true, ServiceUser: "nobody-connected"})
	sc, res := h.call(t, t.Context(), "", "hubspot_get_contact", `{"contactId":"101"}`)
	if sc["status"] != "success" {
		t.Fatalf("admin call failed: %v\n%s", sc, text(res))
	}
	runs := h.fake.Runs()
	if runs[len(runs)-1].ExternalUserID != pdtest.ServiceUser {
		t.Errorf("admin connection must run as the service identity, ran as %s", runs[len(runs)-1].ExternalUserID)
	}
	sc, res = h.call(t, t.Context(), pdtest.DemoUser, "gmail_find_email", `{}`)
	if sc["status"] != "account_required" || sc["connect_url"] != nil || !strings.Contains(text(res), "administrator") {
		t.Errorf("admin connections never hand out a Connect Link: %v\n%s", sc, text(res))
	}
	if n := len(h.fake.ConnectTokens()); n != 0 {
		t.Errorf("no connect token may be created for an admin connection, got %d", n)
	}
}

func TestFiltering(t *testing.T) {
	h := newHarness(t, tools.Options{},
		tools.Connection{Name: "hs", App: "hubspot", Include: []string{"hubspot-*-contact*"}, Exclude: []string{"hubspot-delete-*"}},
		tools.Connection{Name: "gh", App: "github", ReadOnly: true})
	for _, n := range h.names() {
		switch {
		case strings.HasPrefix(n, "hs_"):
			if !strings.Contains(n, "contact") || strings.HasPrefix(n, "hs_delete") {
				t.Errorf("include/exclude not applied: %s", n)
			}
		case strings.HasPrefix(n, "gh_"):
			if n != "gh_get_repository" && n != "gh_list_commits" && n != "gh_search_issues_and_pull_requests" {
				t.Errorf("read_only keeps only read-only actions, found %s", n)
			}
		}
	}
	if !slices.Contains(h.names(), "hs_create_contact") || !slices.Contains(h.names(), "gh_get_repository") {
		t.Errorf("filters removed too much: %v", h.names())
	}
}

func TestConnectionScope(t *testing.T) {
	h := newHarness(t, tools.Options{}, userConn("slack", "slack"), userConn("github", "github"))
	ctx := tools.WithScope(t.Context(), "github")
	var all []mcp.Tool
	for _, st := range h.set.Tools() {
		all = append(all, st.Tool)
	}
	for _, tl := range h.set.Filter(ctx, all) {
		if strings.HasPrefix(tl.Name, "slack_") {
			t.Errorf("scope github lists %s", tl.Name)
		}
	}
	sc, _ := h.call(t, ctx, pdtest.DemoUser, "pipedream_list_options", `{"tool":"slack_send_message_to_channel","prop":"conversation"}`)
	if sc["status"] != "invalid_arguments" {
		t.Errorf("helpers must refuse tools outside the scope: %v", sc)
	}
	// Asked for another connection's accounts, a scoped endpoint names only
	// its own app: it reveals no other connection and suggests nothing it refuses.
	sc, res := h.call(t, ctx, pdtest.DemoUser, "pipedream_accounts", `{"app":"slack"}`)
	if sc["status"] != "invalid_arguments" || strings.Contains(text(res), "slack") && !strings.Contains(text(res), `"slack" is not served`) ||
		!strings.Contains(text(res), "(apps: github)") {
		t.Errorf("scoped accounts helper: %v\n%s", sc, text(res))
	}
}

// TestClientNamedUser: _meta names the end user only on a context the stdio
// transport marked (--trust-client-user); anywhere else the caller's user runs.
func TestClientNamedUser(t *testing.T) {
	for _, trust := range []bool{false, true} {
		h := newHarness(t, tools.Options{}, userConn("github", "github"))
		var handler func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error)
		for _, st := range h.set.Tools() {
			if st.Tool.Name == "github_get_repository" {
				handler = st.Handler
			}
		}
		req := mcp.CallToolRequest{}
		req.Params.Name = "github_get_repository"
		req.Params.RawArguments = json.RawMessage(`{"repoFullname":"octo/hello"}`)
		req.Params.Meta = &mcp.Meta{AdditionalFields: map[string]any{tools.MetaUserKey: pdtest.OtherUser}}
		ctx := tools.WithUser(t.Context(), pdtest.DemoUser)
		if trust {
			ctx = tools.WithClientNamedUser(ctx)
		}
		if _, err := handler(ctx, req); err != nil {
			t.Fatal(err)
		}
		runs := h.fake.Runs()
		want := pdtest.DemoUser
		if trust {
			want = pdtest.OtherUser
		}
		if len(runs) != 1 || runs[0].ExternalUserID != want {
			t.Errorf("trust=%v: ran as %+v, want %s", trust, runs, want)
		}
	}
}

func TestAccountsHelper(t *testing.T) {
	h := newHarness(t, tools.Options{}, userConn("slack", "slack"), userConn("notion", "notion"))
	sc, res := h.call(t, t.Context(), pdtest.DemoUser, "pipedream_accounts", `{}`)
	if res.IsError {
		t.Fatal(text(res))
	}
	apps, _ := sc["apps"].([]any)
	if len(apps) != 2 {
		t.Fatalf("want two apps, got %v", sc)
	}
	for _, a := range apps {
		m := a.(map[string]any)
		accts, _ := m["accounts"].([]any)
		switch m["app"] {
		case "slack":
			if len(accts) < 2 {
				t.Errorf("slack accounts: %v", m)
			}
		case "notion":
			if len(accts) != 0 {
				t.Errorf("notion accounts: %v", m)
			}
		}
		if u, _ := m["connect_url"].(string); !strings.HasSuffix(u, "&app="+m["app"].(string)) {
			t.Errorf("connect_url for %v: %q", m["app"], u)
		}
	}
}

func TestRateLimitedRun(t *testing.T) {
	h := newHarness(t, tools.Options{}, userConn("slack", "slack"))
	h.fake.InjectFault(pdtest.Fault{Endpoint: pdtest.EndpointRun, Status: 429, RetryAfter: "7"})
	sc, res := h.call(t, t.Context(), pdtest.DemoUser, "slack_list_channels", `{}`)
	if sc["status"] != "rate_limited" || sc["retry_after_seconds"] != float64(7) || !strings.Contains(text(res), "7 s") {
		t.Errorf("want rate_limited with retry_after_seconds 7, got %v\n%s", sc, text(res))
	}
}

func TestTimeout(t *testing.T) {
	h := newHarness(t, tools.Options{CallTimeout: 200 * time.Millisecond}, userConn("slack", "slack"))
	h.fake.SetRunDelay(2 * time.Second)
	start := time.Now()
	sc, res := h.call(t, t.Context(), pdtest.DemoUser, "slack_send_message_to_channel", `{"conversation":"C1","text":"x"}`)
	if sc["status"] != "timeout" || !strings.Contains(text(res), "may or may not have run") {
		t.Errorf("want timeout telling to check before retrying, got %v\n%s", sc, text(res))
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("the deadline was not honoured: %v", d)
	}
}

func TestAppPropsOfOtherApps(t *testing.T) {
	h := newHarness(t, tools.Options{}, userConn("pd_edge", "pd_edge"))
	// Two app props: the connection's own and Airtable's; both get an account.
	sc, res := h.call(t, t.Context(), pdtest.DemoUser, "pd_edge_airtable_refs", `{"baseId":"appBASE","tableId":"tblTABLE"}`)
	if sc["status"] != "success" {
		t.Fatalf("want success, got %v\n%s", sc, text(res))
	}
	run := h.fake.Runs()[0]
	for _, prop := range []string{"pd_edge", "airtable"} {
		v, _ := run.ConfiguredProps[prop].(map[string]any)
		if id, _ := v["authProvisionId"].(string); !strings.HasPrefix(id, "apn_") {
			t.Errorf("app prop %s = %v, want an account", prop, run.ConfiguredProps[prop])
		}
	}
	// Only another app's prop: served, and run with the caller's Slack account.
	sc, res = h.call(t, t.Context(), pdtest.DemoUser, "pd_edge_other_app_prop", `{"text":"hi"}`)
	if sc["status"] != "success" {
		t.Fatalf("want success, got %v\n%s", sc, text(res))
	}
	if acct, _ := sc["account_id"].(string); !strings.Contains(acct, "slack") {
		t.Errorf("want the caller's slack account, got %v", sc["account_id"])
	}
}

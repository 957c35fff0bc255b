package tools_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// listed is what tools/list holds for ctx: the tool filter over every tool.
func listed(set *tools.Set, ctx context.Context) []mcp.Tool {
	var all []mcp.Tool
	for _, st := range set.Tools() {
		all = append(all, st.Tool)
	}
	return set.Filter(ctx, all)
}

func names(list []mcp.Tool) []string {
	out := make([]string, len(list))
	for i, t := range list {
		out[i] = t.Name
	}
	return out
}

func catalogConns() []tools.Connection {
	return []tools.Connection{userConn("slack", "slack"), userConn("github", "github"), userConn("hubspot", "hubspot"),
		userConn("google_sheets", "google_sheets"), userConn("notion", "notion")}
}

func TestToolModes(t *testing.T) {
	catalogTools := []string{tools.ToolAccounts, tools.ToolDescribe, tools.ToolListOptions, tools.ToolRunAction, tools.ToolRunReadAction, tools.ToolSearchActions}
	tests := []struct {
		name     string
		mode     string // the server's
		session  string // the session's, "" for none
		scope    string
		wantList func(t *testing.T, got []string)
	}{
		{name: "catalog: the fixed tools only", mode: tools.ToolModeCatalog, wantList: func(t *testing.T, got []string) {
			if !slices.Equal(got, catalogTools) {
				t.Errorf("tools = %q, want %q", got, catalogTools)
			}
		}},
		{name: "direct: no catalog tools", mode: tools.ToolModeDirect, wantList: func(t *testing.T, got []string) {
			if slices.Contains(got, tools.ToolSearchActions) || !slices.Contains(got, "slack_send_message_to_channel") {
				t.Errorf("tools = %q", got)
			}
		}},
		{name: "session picks catalog", mode: tools.ToolModeDirect, session: tools.ToolModeCatalog, wantList: func(t *testing.T, got []string) {
			if !slices.Equal(got, catalogTools) {
				t.Errorf("tools = %q", got)
			}
		}},
		{name: "auto over 40 tools: catalog", mode: tools.ToolModeAuto, wantList: func(t *testing.T, got []string) {
			if !slices.Equal(got, catalogTools) {
				t.Errorf("tools = %q", got)
			}
		}},
		{name: "auto on a small connection: direct", mode: tools.ToolModeAuto, scope: "slack", wantList: func(t *testing.T, got []string) {
			if slices.Contains(got, tools.ToolSearchActions) || !slices.Contains(got, "slack_send_message_to_channel") {
				t.Errorf("tools = %q", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tools.Options{ToolMode: tt.mode}, catalogConns()...)
			ctx := tools.WithScope(t.Context(), tt.scope)
			if tt.session != "" {
				ctx = tools.WithToolMode(ctx, tt.session)
			}
			tt.wantList(t, names(listed(h.set, ctx)))
		})
	}
}

// TestCatalogListSize: catalog mode's tools/list stays small whatever the
// number of apps.
func TestCatalogListSize(t *testing.T) {
	h := newHarness(t, tools.Options{ToolMode: tools.ToolModeCatalog}, catalogConns()...)
	b, err := json.Marshal(map[string]any{"tools": listed(h.set, t.Context())})
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 12<<10 {
		t.Errorf("catalog tools/list is %d bytes, over 12 KiB", len(b))
	}
}

func TestCatalogSearchRunsLikeDirect(t *testing.T) {
	h := newHarness(t, tools.Options{ToolMode: tools.ToolModeCatalog}, catalogConns()...)
	ctx := t.Context()
	sc, res := h.call(t, ctx, pdtest.DemoUser, tools.ToolSearchActions, `{"query":"post a message in a slack channel"}`)
	if res.IsError {
		t.Fatal(text(res))
	}
	results, _ := sc["results"].([]any)
	if len(results) == 0 {
		t.Fatalf("no results: %v", sc)
	}
	first := results[0].(map[string]any)
	if first["tool"] != "slack_send_message_to_channel" || first["app"] != "slack" || first["connected"] != true {
		t.Errorf("first result = %v", first)
	}
	for _, r := range results {
		if d, _ := r.(map[string]any)["description"].(string); len([]rune(d)) > 200 {
			t.Errorf("description of %d characters", len([]rune(d)))
		}
	}

	// Run it through the catalog: the same upstream run as the direct tool.
	args := `{"conversation":"C00001000","text":"hello from catalog mode"}`
	sc, res = h.call(t, ctx, pdtest.DemoUser, tools.ToolRunAction, `{"tool":"slack_send_message_to_channel","arguments":`+args+`}`)
	if res.IsError || sc["status"] != "success" {
		t.Fatalf("run: %v\n%s", sc, text(res))
	}
	direct, _ := h.call(t, tools.WithToolMode(ctx, tools.ToolModeDirect), pdtest.DemoUser, "slack_send_message_to_channel", args)
	runs := h.fake.Runs()
	if len(runs) != 2 || runs[0].ExternalUserID != pdtest.DemoUser || !equalJSON(t, runs[0].ConfiguredProps, runs[1].ConfiguredProps) {
		t.Errorf("catalog and direct runs differ: %+v", runs)
	}
	if sc["action"] != direct["action"] || sc["account_id"] != direct["account_id"] {
		t.Errorf("results differ: catalog %v, direct %v", sc, direct)
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestCatalogRunRead(t *testing.T) {
	h := newHarness(t, tools.Options{ToolMode: tools.ToolModeCatalog}, catalogConns()...)
	sc, res := h.call(t, t.Context(), pdtest.DemoUser, tools.ToolRunReadAction, `{"tool":"slack_send_message_to_channel","arguments":{"conversation":"C00001000","text":"x"}}`)
	if sc["status"] != "invalid_arguments" || !strings.Contains(text(res), tools.ToolRunAction) {
		t.Errorf("a write through the read tool: %v\n%s", sc, text(res))
	}
	if n := len(h.fake.Runs()); n != 0 {
		t.Fatalf("%d runs", n)
	}
	sc, res = h.call(t, t.Context(), pdtest.DemoUser, tools.ToolRunReadAction, `{"tool":"github_get_repository","arguments":{"repoFullname":"acme/widgets"}}`)
	if sc["status"] != "success" {
		t.Errorf("a read through the read tool: %v\n%s", sc, text(res))
	}
}

// TestCatalogBadInput: each mistake is an error result that names the problem
// and the next step, and nothing runs upstream.
func TestCatalogBadInput(t *testing.T) {
	conns := catalogConns()
	conns[0].Exclude = []string{"slack-send-*"} // hidden: neither found nor run
	h := newHarness(t, tools.Options{ToolMode: tools.ToolModeCatalog}, conns...)
	tests := []struct {
		name, tool, args string
		want             []string // in the text
	}{
		{"empty query", tools.ToolSearchActions, `{"query":"  "}`, []string{"query: empty"}},
		{"limit 0", tools.ToolSearchActions, `{"query":"send","limit":0}`, []string{"limit: 0 is out of range", "1 to 25"}},
		{"limit 26", tools.ToolSearchActions, `{"query":"send","limit":26}`, []string{"limit: 26 is out of range"}},
		{"unknown app", tools.ToolSearchActions, `{"query":"send","app":"slak"}`, []string{`app: "slak" is not served here`, "slack"}},
		{"unknown argument", tools.ToolSearchActions, `{"query":"send","apps":"slack"}`, []string{`unknown field "apps"`}},
		{"arguments not an object", tools.ToolRunAction, `{"tool":"github_get_repository","arguments":[1]}`, []string{"arguments: not an object"}},
		{"misspelt tool", tools.ToolRunAction, `{"tool":"github_get_repositry","arguments":{}}`, []string{"github_get_repository"}},
		{"hidden tool", tools.ToolRunAction, `{"tool":"slack_send_message_to_channel","arguments":{}}`, []string{"not an action tool of this server"}},
		{"misspelt tool in describe", tools.ToolDescribe, `{"tool":"github_get_repo"}`, []string{"github_get_repository"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, res := h.call(t, t.Context(), pdtest.DemoUser, tt.tool, tt.args)
			if sc["status"] != "invalid_arguments" {
				t.Errorf("status %v", sc["status"])
			}
			for _, w := range tt.want {
				if !strings.Contains(text(res), w) {
					t.Errorf("text lacks %q:\n%s", w, text(res))
				}
			}
		})
	}
	sc, _ := h.call(t, t.Context(), pdtest.DemoUser, tools.ToolSearchActions, `{"query":"send a message to a slack channel","limit":25}`)
	for _, r := range sc["results"].([]any) {
		if strings.HasPrefix(r.(map[string]any)["action"].(string), "slack-send-") {
			t.Errorf("a hidden action was found: %v", r)
		}
	}
	if n := len(h.fake.Runs()); n != 0 {
		t.Errorf("%d runs upstream", n)
	}
}

// TestCatalogScope: on a connection's endpoint, search and run see only that
// connection's actions.
func TestCatalogScope(t *testing.T) {
	h := newHarness(t, tools.Options{ToolMode: tools.ToolModeCatalog}, catalogConns()...)
	ctx := tools.WithScope(t.Context(), "github")
	sc, _ := h.call(t, ctx, pdtest.DemoUser, tools.ToolSearchActions, `{"query":"send a message to slack","limit":25}`)
	for _, r := range sc["results"].([]any) {
		if r.(map[string]any)["app"] != "github" {
			t.Errorf("scope github found %v", r)
		}
	}
	sc, _ = h.call(t, ctx, pdtest.DemoUser, tools.ToolRunAction, `{"tool":"slack_send_message_to_channel","arguments":{"conversation":"C00001000","text":"x"}}`)
	if sc["status"] != "invalid_arguments" || len(h.fake.Runs()) != 0 {
		t.Errorf("scope github ran slack: %v", sc)
	}
}

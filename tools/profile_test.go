package tools_test

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/schema"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// profiledSchemas is tools/list in ctx: name -> input schema.
func profiledSchemas(t *testing.T, set *tools.Set, ctx context.Context) map[string]map[string]any {
	t.Helper()
	var all []mcp.Tool
	for _, st := range set.Tools() {
		all = append(all, st.Tool)
	}
	out := map[string]map[string]any{}
	for _, tl := range set.Filter(ctx, all) {
		var s map[string]any
		if err := json.Unmarshal(tl.RawInputSchema, &s); err != nil {
			t.Fatalf("%s: %v", tl.Name, err)
		}
		out[tl.Name] = s
	}
	return out
}

func TestFilterServesTheSessionsProfile(t *testing.T) {
	h := newHarness(t, tools.Options{SchemaProfile: schema.ProfileGemini}, userConn("slack", "slack"))
	server := profiledSchemas(t, h.set, t.Context())
	if _, ok := server["slack_list_channels"]["additionalProperties"]; ok {
		t.Errorf("the server's profile (gemini) is not applied: %v", server["slack_list_channels"])
	}
	strict := profiledSchemas(t, h.set, tools.WithSchemaProfile(t.Context(), schema.ProfileOpenAIStrict))
	for name, s := range strict {
		props, _ := s["properties"].(map[string]any)
		req, _ := s["required"].([]any)
		if s["additionalProperties"] != false || len(req) != len(props) {
			t.Errorf("%s is not in the session's profile (openai-strict): %v", name, s)
		}
	}
	portable := profiledSchemas(t, h.set, tools.WithSchemaProfile(t.Context(), schema.ProfilePortable))
	for _, st := range h.set.Tools() {
		if s, ok := portable[st.Tool.Name]; ok {
			b, _ := json.Marshal(s)
			var want map[string]any
			_ = json.Unmarshal(st.Tool.RawInputSchema, &want)
			if !reflect.DeepEqual(s, want) {
				t.Errorf("%s: portable differs from the built schema: %s", st.Tool.Name, b)
			}
		}
	}
	// The tools themselves stay portable; a second listing gives the same bytes.
	again := profiledSchemas(t, h.set, tools.WithSchemaProfile(t.Context(), schema.ProfileOpenAIStrict))
	if !reflect.DeepEqual(strict, again) {
		t.Error("a second strict listing differs")
	}
	for _, st := range h.set.Tools() {
		if strings.Contains(string(st.Tool.RawInputSchema), `"null"`) {
			t.Errorf("%s: the served tool itself was changed: %s", st.Tool.Name, st.Tool.RawInputSchema)
		}
	}
}

// lastRun is the configured_props of the fake's last run (app props left out).
func lastRun(t *testing.T, fake *pdtest.Fake) map[string]any {
	t.Helper()
	runs := fake.Runs()
	if len(runs) == 0 {
		t.Fatal("nothing ran")
	}
	r := runs[len(runs)-1]
	b, _ := json.Marshal(map[string]any{"id": r.ID, "props": r.ConfiguredProps, "dyp": r.DynamicPropsID != ""})
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// TestProfilesRunTheSameCall calls each tool once with portable arguments and
// once per profile with the same arguments written as that profile's schema
// asks: the upstream run must be the same, and no coercion note appears.
func TestProfilesRunTheSameCall(t *testing.T) {
	h := newHarness(t, tools.Options{}, userConn("pd_edge", "pd_edge"), userConn("sheets", "google_sheets"))
	const sheet = "1BfWjFF2dTW_YDiLISj5N9nKCUErShgugPS434liyytg"
	cases := []struct {
		name, tool string
		portable   string
		profiled   map[schema.Profile]string // "" entries: filled with nulls from the strict schema
	}{
		{"free-form object, any value, absent optionals", "pd_edge_all_prop_types",
			`{"secretToken":"s","tier":"pro","count":4,"metadata":{"a":1},"payload":[1,"two"]}`,
			map[schema.Profile]string{
				schema.ProfileOpenAIStrict: `{"secretToken":"s","tier":"pro","count":4,"metadata":"{\"a\":1}","payload":"[1,\"two\"]"}`,
				schema.ProfileGemini:       `{"secretToken":"s","tier":"pro","count":4,"metadata":"{\"a\":1}","payload":"[1,\"two\"]"}`,
			}},
		{"revealed fields through _more_fields", "sheets_add_single_row",
			`{"sheetId":"` + sheet + `","sheetName":"Sheet1","hasHeaders":"No","myColumnData":["a","b"]}`,
			map[schema.Profile]string{
				schema.ProfileOpenAIStrict: `{"sheetId":"` + sheet + `","sheetName":"Sheet1","hasHeaders":"No","_more_fields":"{\"myColumnData\":[\"a\",\"b\"]}"}`,
				schema.ProfileGemini:       `{"sheetId":"` + sheet + `","sheetName":"Sheet1","hasHeaders":"No","_more_fields":"{\"myColumnData\":[\"a\",\"b\"]}"}`,
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sc, res := h.call(t, t.Context(), pdtest.DemoUser, c.tool, c.portable)
			if sc["status"] != "success" {
				t.Fatalf("portable call: %v\n%s", sc, text(res))
			}
			want := lastRun(t, h.fake)
			for p, args := range c.profiled {
				ctx := tools.WithSchemaProfile(t.Context(), p)
				if p == schema.ProfileOpenAIStrict {
					args = withNulls(t, profiledSchemas(t, h.set, ctx)[c.tool], args)
				}
				sc, res := h.call(t, ctx, pdtest.DemoUser, c.tool, args)
				if sc["status"] != "success" {
					t.Fatalf("%s call %s: %v\n%s", p, args, sc, text(res))
				}
				if sc["notes"] != nil {
					t.Errorf("%s: notes %v: the arguments were not mapped back before validation", p, sc["notes"])
				}
				if got := lastRun(t, h.fake); !reflect.DeepEqual(got, want) {
					t.Errorf("%s ran\n%v\nwant\n%v", p, got, want)
				}
			}
		})
	}
}

// withNulls sets every property of s that args leaves out to null, as OpenAI
// strict mode makes a model do.
func withNulls(t *testing.T, s map[string]any, args string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(args), &m); err != nil {
		t.Fatal(err)
	}
	props, _ := s["properties"].(map[string]any)
	for k := range props {
		if _, ok := m[k]; !ok {
			m[k] = nil
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func TestProfilesHelpersAndCatalog(t *testing.T) {
	h := newHarness(t, tools.Options{}, userConn("pd_edge", "pd_edge"), userConn("slack", "slack"))
	for _, p := range []schema.Profile{schema.ProfileOpenAIStrict, schema.ProfileGemini} {
		ctx := tools.WithSchemaProfile(t.Context(), p)
		// A free-form object of a helper, JSON-encoded.
		sc, res := h.call(t, ctx, pdtest.DemoUser, "pipedream_list_options",
			withNulls(t, profiledSchemas(t, h.set, ctx)["pipedream_list_options"], `{"tool":"slack_send_message_to_channel","prop":"conversation","configured_props":"{}"}`))
		if res.IsError || sc["options"] == nil {
			t.Errorf("%s: list_options: %v\n%s", p, sc, text(res))
		}
		// Catalog mode: arguments JSON-encoded; the run is the direct tool's.
		cctx := tools.WithToolMode(ctx, tools.ToolModeCatalog)
		run := profiledSchemas(t, h.set, cctx)["pipedream_run_action"]
		if props, _ := run["properties"].(map[string]any); !strings.Contains(string(mustMarshal(t, props["arguments"])), `"string"`) {
			t.Errorf("%s: run_action's arguments are not a string: %v", p, props["arguments"])
		}
		sc, res = h.call(t, cctx, pdtest.DemoUser, "pipedream_run_action",
			withNulls(t, run, `{"tool":"pd_edge_echo","arguments":"{\"message\":\"hi `+string(p)+`\"}"}`))
		if sc["status"] != "success" {
			t.Errorf("%s: run_action: %v\n%s", p, sc, text(res))
		}
		if got := lastRun(t, h.fake); !strings.Contains(string(mustMarshal(t, got)), "hi "+string(p)) {
			t.Errorf("%s: run_action ran %v", p, got)
		}
		// A _more_fields that is not an object: refused, nothing runs.
		before := len(h.fake.Runs())
		sc, res = h.call(t, ctx, pdtest.DemoUser, "pd_edge_dynamic_form", `{"shape":"circle","_more_fields":"[1]"}`)
		if sc["status"] != "invalid_arguments" || !strings.Contains(text(res), "_more_fields") || len(h.fake.Runs()) != before {
			t.Errorf("%s: a bad _more_fields: %v\n%s", p, sc, text(res))
		}
	}
	// Under the portable profile _more_fields is no argument of a closed tool.
	sc, _ := h.call(t, t.Context(), pdtest.DemoUser, "pd_edge_echo", `{"message":"x","_more_fields":"{}"}`)
	if sc["status"] != "invalid_arguments" {
		t.Errorf("portable accepted _more_fields: %v", sc)
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNewRefusesAnUnknownProfile(t *testing.T) {
	if _, err := tools.New(tools.Options{SchemaProfile: "strict"}); err == nil || !slices.ContainsFunc([]string{"portable, openai-strict, gemini"}, func(s string) bool { return strings.Contains(err.Error(), s) }) {
		t.Errorf("New with an unknown profile: %v", err)
	}
	if err := tools.CheckSchemaProfile("gemini"); err != nil {
		t.Error(err)
	}
}

// TestProfilesWorkflows: a workflow's body is the same under every profile
// (nulls dropped, _more_fields merged into the body of an open schema).
func TestProfilesWorkflows(t *testing.T) {
	const invoice = `{"type":"object","properties":{"customer":{"type":"string"},"amount":{"type":"number"},"note":{"type":"string"}},"required":["customer","amount"],"additionalProperties":false}`
	h := newWFHarness(t, tools.Options{},
		wfDeploy{deploy: pdtest.Workflow{ID: "eninvoice"}, tool: tools.Workflow{Name: "create_invoice", InputSchema: []byte(invoice)}},
		wfDeploy{deploy: pdtest.Workflow{ID: "enfree"}, tool: tools.Workflow{Name: "free"}},
	)
	calls := []struct {
		p          schema.Profile
		tool, args string
		body       string
	}{
		{schema.ProfileOpenAIStrict, "create_invoice", `{"customer":"c1","amount":12.5,"note":null}`, `{"amount":12.5,"customer":"c1"}`},
		{schema.ProfileGemini, "create_invoice", `{"customer":"c1","amount":12.5}`, `{"amount":12.5,"customer":"c1"}`},
		{schema.ProfileOpenAIStrict, "free", `{"_more_fields":"{\"anything\":{\"goes\":[1,\"two\"]}}"}`, `{"anything":{"goes":[1,"two"]}}`},
		{schema.ProfileGemini, "free", `{"_more_fields":"{\"anything\":{\"goes\":[1,\"two\"]}}"}`, `{"anything":{"goes":[1,"two"]}}`},
	}
	for _, c := range calls {
		ctx := tools.WithSchemaProfile(t.Context(), c.p)
		if _, ok := profiledSchemas(t, h.set, ctx)[c.tool]["properties"].(map[string]any)[schema.ArgMoreFields]; ok != (c.tool == "free") {
			t.Errorf("%s %s: _more_fields listed %v", c.p, c.tool, ok)
		}
		sc, res := h.call(t, ctx, pdtest.DemoUser, c.tool, c.args)
		if sc["status"] != "success" {
			t.Fatalf("%s %s: %v\n%s", c.p, c.tool, sc, text(res))
		}
		calls := h.host.Calls()
		if got := string(calls[len(calls)-1].Body); got != c.body {
			t.Errorf("%s %s sent %s, want %s", c.p, c.tool, got, c.body)
		}
	}
}

package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	gosdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestSchemaProfileE2E drives the built binary with the Go SDK client: the
// server's --schema-profile and a session's ?schema_profile= reshape every
// listed schema; a call written for the profile runs the action with the
// same input as the portable call; a bad profile is refused; the initialize
// result explains the reserved arguments once.
func TestSchemaProfileE2E(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	schemas := func(cs *gosdk.ClientSession) map[string]map[string]any {
		res, err := cs.ListTools(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]map[string]any{}
		for _, tl := range res.Tools {
			b, _ := json.Marshal(tl.InputSchema)
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			out[tl.Name] = m
		}
		return out
	}
	strict := func(s map[string]any) bool {
		props, _ := s["properties"].(map[string]any)
		req, _ := s["required"].([]any)
		return s["additionalProperties"] == false && len(req) == len(props)
	}

	srv := startBinary(t, append([]string{"--transport", "http"}, everySandboxApp()...)...)
	portable := connectSDK(ctx, t, srv.base+"/mcp")
	if ins := portable.InitializeResult().Instructions; !strings.Contains(ins, "_account_id") || !strings.Contains(ins, "_dynamic_props_id") || !strings.Contains(ins, "pipedream_list_options") {
		t.Errorf("the instructions do not explain the reserved arguments and the helpers: %q", ins)
	}
	args := map[string]any{"secretToken": "s", "tier": "pro", "metadata": map[string]any{"a": 1.0}}
	want, text := sdkCall(ctx, t, portable, "pd_edge_all_prop_types", args)
	if want["status"] != "success" {
		t.Fatalf("portable call: %v\n%s", want, text)
	}

	for _, p := range []string{"openai-strict", "gemini"} {
		cs := connectSDK(ctx, t, srv.base+"/mcp?schema_profile="+p)
		listed := schemas(cs)
		for name, s := range listed {
			_, open := s["additionalProperties"]
			if (p == "openai-strict" && !strict(s)) || (p == "gemini" && open) {
				t.Errorf("?schema_profile=%s: %s is not reshaped: %v", p, name, s)
			}
		}
		pargs := map[string]any{"secretToken": "s", "tier": "pro", "metadata": `{"a":1}`}
		if p == "openai-strict" {
			for k := range listed["pd_edge_all_prop_types"]["properties"].(map[string]any) {
				if _, ok := pargs[k]; !ok {
					pargs[k] = nil
				}
			}
		}
		got, text := sdkCall(ctx, t, cs, "pd_edge_all_prop_types", pargs)
		if got["status"] != "success" || !jsonEqual(got["ret"], want["ret"]) {
			t.Errorf("%s ran with %v, want %v\n%s", p, got["ret"], want["ret"], text)
		}
	}

	// The server's own profile; a session may still choose another.
	gem := startBinary(t, append([]string{"--transport", "http", "--schema-profile", "gemini"}, everySandboxApp()...)...)
	for name, s := range schemas(connectSDK(ctx, t, gem.base+"/mcp")) {
		if _, open := s["additionalProperties"]; open {
			t.Errorf("--schema-profile gemini: %s has additionalProperties", name)
		}
	}
	for name, s := range schemas(connectSDK(ctx, t, gem.base+"/mcp/slack?schema_profile=openai-strict")) {
		if !strict(s) {
			t.Errorf("/mcp/slack?schema_profile=openai-strict on a gemini server: %s is not strict", name)
		}
	}

	if code, msg := initializeAt(ctx, t, srv.base+"/mcp?schema_profile=strict"); code != http.StatusBadRequest || !strings.Contains(msg, `"strict" is not a schema profile`) {
		t.Errorf("?schema_profile=strict: %d %q", code, msg)
	}
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

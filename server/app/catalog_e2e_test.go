package app

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	gosdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// connectSDK opens a Go SDK (modelcontextprotocol/go-sdk) session on url.
func connectSDK(ctx context.Context, t *testing.T, url string) *gosdk.ClientSession {
	t.Helper()
	c := gosdk.NewClient(&gosdk.Implementation{Name: "catalog-e2e", Version: "1.0.0"}, nil)
	cs, err := c.Connect(ctx, &gosdk.StreamableClientTransport{Endpoint: url, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// sdkCall calls a tool and returns its structured content and text.
func sdkCall(ctx context.Context, t *testing.T, cs *gosdk.ClientSession, name string, args map[string]any) (map[string]any, string) {
	t.Helper()
	res, err := cs.CallTool(ctx, &gosdk.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("call %s: %v", name, err)
	}
	var text strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*gosdk.TextContent); ok {
			text.WriteString(tc.Text)
		}
	}
	var sc map[string]any
	b, _ := json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(b, &sc)
	return sc, text.String()
}

func sdkToolNames(ctx context.Context, t *testing.T, cs *gosdk.ClientSession) ([]string, int) {
	t.Helper()
	res, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	b, _ := json.Marshal(res)
	var out []string
	for _, tl := range res.Tools {
		out = append(out, tl.Name)
	}
	return out, len(b)
}

// TestCatalogModeE2E drives the built binary in catalog mode with the Go SDK
// client: the fixed tools only, under 12 KB (in auto mode, the sandbox's
// default, for all apps; direct tools for one); a search finds the action; the
// run tool runs it as its direct tool would; a session on a direct server may
// pick catalog mode with ?tool_mode=, and a bad mode is refused.
func TestCatalogModeE2E(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	fixed := []string{tools.ToolAccounts, tools.ToolDescribe, tools.ToolListOptions, tools.ToolRunAction, tools.ToolRunReadAction, tools.ToolSearchActions}

	// The sandbox with no mode given is in auto mode: catalog mode over
	// every app (161 action tools), direct tools for one app's connection.
	srv := startBinary(t, "--transport", "http")
	cs := connectSDK(ctx, t, srv.base+"/mcp")
	names, size := sdkToolNames(ctx, t, cs)
	if !slices.Equal(names, fixed) || size > 12<<10 {
		t.Errorf("catalog tools/list: %q, %d bytes", names, size)
	}
	names, _ = sdkToolNames(ctx, t, connectSDK(ctx, t, srv.base+"/mcp/slack"))
	if slices.Contains(names, tools.ToolSearchActions) || !slices.Contains(names, "slack_list_channels") || len(names) > tools.AutoToolLimit {
		t.Errorf("auto mode at /mcp/slack lists %q", names)
	}
	sc, text := sdkCall(ctx, t, cs, tools.ToolSearchActions, map[string]any{"query": "create an issue in github"})
	results, _ := sc["results"].([]any)
	if len(results) == 0 || results[0].(map[string]any)["tool"] != "github_create_issue" {
		t.Fatalf("search: %v\n%s", sc, text)
	}
	sc, text = sdkCall(ctx, t, cs, tools.ToolRunAction, map[string]any{"tool": "github_create_issue",
		"arguments": map[string]any{"repoFullname": "acme/widgets", "title": "From catalog mode"}})
	if sc["status"] != "success" || sc["action"] != "github-create-issue" {
		t.Errorf("run: %v\n%s", sc, text)
	}
	sc, _ = sdkCall(ctx, t, cs, tools.ToolDescribe, map[string]any{"tool": "github_create_issue"})
	if sc["input_schema"] == nil {
		t.Errorf("describe: %v", sc)
	}

	// The open catalog: nothing loaded at start; a search naming an app loads
	// it, and a run of an app not loaded yet loads that one.
	open := startBinary(t, "--transport", "http", "--app", "*")
	ocs := connectSDK(ctx, t, open.base+"/mcp")
	if names, _ := sdkToolNames(ctx, t, ocs); !slices.Equal(names, fixed) {
		t.Errorf("open catalog lists %q", names)
	}
	sc, text = sdkCall(ctx, t, ocs, tools.ToolSearchActions, map[string]any{"query": "refund a stripe payment", "limit": 3})
	if results, _ := sc["results"].([]any); len(results) == 0 || results[0].(map[string]any)["tool"] != "stripe_create_refund" {
		t.Errorf("open catalog search: %v\n%s", sc, text)
	}
	sc, text = sdkCall(ctx, t, ocs, tools.ToolRunReadAction, map[string]any{"tool": "zendesk_list_tickets", "arguments": map[string]any{}})
	if sc["status"] != "success" {
		t.Errorf("open catalog run of an app not loaded: %v\n%s", sc, text)
	}

	direct := startBinary(t, "--transport", "http", "--tool-mode", "direct")
	names, _ = sdkToolNames(ctx, t, connectSDK(ctx, t, direct.base+"/mcp"))
	if slices.Contains(names, tools.ToolSearchActions) || len(names) < 100 {
		t.Errorf("direct server lists %d tools: %q", len(names), names)
	}
	names, _ = sdkToolNames(ctx, t, connectSDK(ctx, t, direct.base+"/mcp?tool_mode=catalog"))
	if !slices.Equal(names, fixed) {
		t.Errorf("?tool_mode=catalog lists %q", names)
	}
	names, _ = sdkToolNames(ctx, t, connectSDK(ctx, t, direct.base+"/mcp/github?tool_mode=catalog"))
	if !slices.Equal(names, fixed) {
		t.Errorf("/mcp/github?tool_mode=catalog lists %q", names)
	}

	if code, msg := initializeAt(ctx, t, direct.base+"/mcp?tool_mode=lazy"); code != http.StatusBadRequest || !strings.Contains(msg, `"lazy" is not a tool mode`) {
		t.Errorf("?tool_mode=lazy: %d %q", code, msg)
	}
}

// initializeAt sends a legacy-era initialize to url and returns the HTTP
// status and, for a refused request, the error the server gave.
func initializeAt(ctx context.Context, t *testing.T, url string) (int, string) {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct{ Error string }
	_ = json.NewDecoder(resp.Body).Decode(&answer)
	return resp.StatusCode, answer.Error
}

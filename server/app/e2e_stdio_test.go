package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// TestStdioBinarySandbox drives the built binary over stdio with the mcp-go
// client: handshake, tools/list, a successful call, a Connect Link.
func TestStdioBinarySandbox(t *testing.T) {
	bin := builtBinary(t)
	stderr := &syncBuffer{}
	c, err := client.NewStdioMCPClientWithOptions(bin, cleanEnv(), []string{"--sandbox"},
		transport.WithCommandStderrWriter(stderr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "e2e", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	list, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// The README's client config: every realistic app, in auto mode, so a
	// host is never given more than tools.AutoToolLimit tools.
	var names []string
	for _, tl := range list.Tools {
		names = append(names, tl.Name)
	}
	if len(names) > tools.AutoToolLimit {
		t.Errorf("tools/list has %d tools, over the %d hosts like Cursor take: %q", len(names), tools.AutoToolLimit, names)
	}
	for _, want := range []string{tools.ToolSearchActions, tools.ToolRunAction, "pipedream_list_options", "pipedream_accounts"} {
		if !slices.Contains(names, want) {
			t.Errorf("tools/list lacks %s: %q", want, names)
		}
	}

	call := func(name, args string) (*mcp.CallToolResult, map[string]any) {
		req := mcp.CallToolRequest{}
		req.Params.Name = name
		req.Params.Arguments = json.RawMessage(args)
		res, err := c.CallTool(ctx, req)
		if err != nil {
			t.Fatalf("call %s: %v", name, err)
		}
		var sc map[string]any
		b, _ := json.Marshal(res.StructuredContent)
		_ = json.Unmarshal(b, &sc)
		return res, sc
	}
	_, sc := call(tools.ToolSearchActions, `{"query":"send a message to a slack channel"}`)
	found := map[string]bool{}
	for _, r := range sc["results"].([]any) {
		tool := r.(map[string]any)["tool"].(string)
		found[tool] = true
		if strings.HasPrefix(tool, pdtest.EdgeApp) {
			t.Errorf("the default sandbox serves the %s test fixture: %s", pdtest.EdgeApp, tool)
		}
	}
	if !found["slack_send_message_to_channel"] {
		t.Errorf("search did not find slack_send_message_to_channel: %v", sc)
	}
	res, sc := call(tools.ToolRunAction, `{"tool":"slack_send_message_to_channel","arguments":{"conversation":"C00001000","text":"hi from e2e"}}`)
	if res.IsError || sc["status"] != "success" {
		t.Errorf("call failed: %v", sc)
	}
	res, sc = call(tools.ToolRunAction, `{"tool":"notion_search","arguments":{}}`)
	if !res.IsError || sc["status"] != "account_required" || !strings.Contains(sc["connect_url"].(string), "&app=notion") {
		t.Errorf("want account_required with a Connect Link, got %v", sc)
	}
	logs := stderr.String()
	if !strings.Contains(logs, "SANDBOX") {
		t.Errorf("the sandbox must be announced on stderr:\n%s", logs)
	}
	if strings.Contains(logs, "sandbox-secret") || strings.Contains(logs, "ctok_") {
		t.Errorf("secrets in the logs:\n%s", logs)
	}
}

// TestStdioOnlyFrames checks that stdout carries nothing but JSON-RPC frames,
// with debug logging on.
func TestStdioOnlyFrames(t *testing.T) {
	bin := builtBinary(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--sandbox", "--log-level", "debug")
	cmd.Env = cleanEnv()
	in := strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"github_get_repository","arguments":{"repoFullname":"octo/hello"}}}`,
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"no_such_tool","arguments":{}}}`,
		`this is not json`,
	}, "\n") + "\n"
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = stdin.Write([]byte(in)) }()
	got := map[float64]bool{}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var msg map[string]any
		if err := json.Unmarshal(line, &msg); err != nil || msg["jsonrpc"] != "2.0" {
			t.Errorf("stdout line is not a JSON-RPC frame: %q", line)
			continue
		}
		if id, ok := msg["id"].(float64); ok {
			got[id] = true
		}
		if got[1] && got[2] && got[3] && got[4] {
			break
		}
	}
	_ = stdin.Close()
	_ = cmd.Wait()
	for _, id := range []float64{1, 2, 3, 4} {
		if !got[id] {
			t.Errorf("no response with id %v; stderr:\n%s", id, stderr.String())
		}
	}
}

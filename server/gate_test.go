package server

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/mark3labs/mcp-go/mcp"
)

// handle sends one JSON-RPC request to s in process and returns its result.
func handle(t *testing.T, s *Server, id int, method string, params any) json.RawMessage {
	t.Helper()
	raw, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(s.MCP().HandleMessage(context.Background(), raw))
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Result json.RawMessage
		Error  json.RawMessage
	}
	if err := json.Unmarshal(out, &resp); err != nil || resp.Error != nil {
		t.Fatalf("%s: %s (%v)", method, out, err)
	}
	return resp.Result
}

// TestGateHoldsOnlyToolCalls: with Options.Gate, initialize and tools/list
// are answered at once while a tool call waits for the gate; an open gate
// runs the call, a failed one answers it with an error result and runs
// nothing.
func TestGateHoldsOnlyToolCalls(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		verdict error
	}{
		{"gate opens", nil},
		{"gate fails", errors.New("credentials rejected")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				open := make(chan struct{})
				gate := func(ctx context.Context) error {
					select {
					case <-open:
						return tc.verdict
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				ft := &fakeTools{}
				ft.ready.Store(true)
				s := New(ft, Options{Gate: gate})
				handle(t, s, 1, "initialize", map[string]any{
					"protocolVersion": mcp.LATEST_LEGACY_PROTOCOL_VERSION,
					"clientInfo":      map[string]any{"name": "t", "version": "1"},
					"capabilities":    map[string]any{},
				})
				if list := handle(t, s, 2, "tools/list", map[string]any{}); !strings.Contains(string(list), `"count"`) {
					t.Fatalf("tools/list: %s", list)
				}
				done := make(chan json.RawMessage, 1)
				go func() { done <- handle(t, s, 3, "tools/call", map[string]any{"name": "count"}) }()
				synctest.Wait() // the call is blocked: on the gate, or nowhere
				select {
				case res := <-done:
					t.Fatalf("the call was answered before the gate opened: %s", res)
				default:
				}
				close(open)
				var res mcp.CallToolResult
				if err := json.Unmarshal(<-done, &res); err != nil {
					t.Fatal(err)
				}
				switch {
				case tc.verdict == nil && (res.IsError || ft.runs.Load() != 1):
					t.Errorf("open gate: result %+v, %d runs; want the call run once", res, ft.runs.Load())
				case tc.verdict != nil && (!res.IsError || ft.runs.Load() != 0):
					t.Errorf("failed gate: result %+v, %d runs; want an error result and no run", res, ft.runs.Load())
				case tc.verdict != nil && !strings.Contains(res.Content[0].(mcp.TextContent).Text, tc.verdict.Error()):
					t.Errorf("failed gate: %+v does not say why", res.Content)
				}
			})
		})
	}
}

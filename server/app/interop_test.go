package app

// Interoperability with Go MCP clients we did not write: the official Go SDK
// (github.com/modelcontextprotocol/go-sdk) and the mcp-go client, each against
// the built binary with --sandbox over stdio, Streamable HTTP and legacy SSE,
// in both protocol eras this server speaks. Every combination lists the whole
// catalog, calls a tool and reads its structuredContent, and reads an error
// result. The TypeScript SDK, the MCP Inspector and the conformance suite run
// from .ci/interop/run.sh.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	gosdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// The two protocol eras: the initialize handshake with sessions, and the
// stateless protocol with server/discover.
const (
	eraLegacy = "2025-11-25"
	eraModern = "2026-07-28"
)

// binServer is the built binary serving one HTTP transport on a loopback port
// the kernel picked.
type binServer struct {
	base string // http://127.0.0.1:<port>
	log  *syncBuffer
}

// startBinary runs the built binary with --sandbox and args on 127.0.0.1:0,
// waits until /readyz answers 200, and stops it (SIGTERM) when the test ends.
func startBinary(t *testing.T, args ...string) *binServer {
	t.Helper()
	cmd := exec.Command(builtBinary(t), append([]string{"--sandbox", "--addr", "127.0.0.1:0", "--log-format", "json"}, args...)...)
	cmd.Env = cleanEnv()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &binServer{log: &syncBuffer{}}
	addr := make(chan string, 1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			s.log.Write(append(line, '\n'))
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "listening" && rec.Addr != "" {
				select {
				case addr <- rec.Addr:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-readDone:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-readDone
			t.Errorf("server did not stop within 15s of SIGTERM; log:\n%s", s.log)
		}
		_ = cmd.Wait()
	})
	select {
	case a := <-addr:
		s.base = "http://" + a
	case <-readDone:
		t.Fatalf("server exited before listening; log:\n%s", s.log)
	case <-time.After(20 * time.Second):
		t.Fatalf("server did not listen within 20s; log:\n%s", s.log)
	}
	waitReady(t, s.base, 20*time.Second, s.log)
	return s
}

// interopSession is what the tests need from a connected client, whichever
// library it is.
type interopSession interface {
	// protocolVersion is the protocol version the client negotiated.
	protocolVersion() string
	// listTools returns every tool's input schema by name, across all pages.
	listTools(ctx context.Context) (map[string]any, error)
	callTool(ctx context.Context, name string, args map[string]any) (interopResult, error)
	close() error
}

// interopResult is a tool result as the client library decoded it.
type interopResult struct {
	isError    bool
	text       string
	structured map[string]any
}

// asJSONValue turns any decoded value into plain JSON values (maps, slices,
// float64...), so results from both libraries compare alike.
func asJSONValue(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}

// --- the official Go SDK -------------------------------------------------

type goSDKSession struct{ cs *gosdk.ClientSession }

func connectGoSDK(ctx context.Context, t *testing.T, transportName, era string, srv *binServer, stderr io.Writer) (interopSession, error) {
	c := gosdk.NewClient(&gosdk.Implementation{Name: "interop-go-sdk", Version: "1.0.0"}, nil)
	var tr gosdk.Transport
	switch transportName {
	case "stdio":
		cmd := exec.Command(builtBinary(t), append([]string{"--sandbox"}, everySandboxApp()...)...)
		cmd.Env = cleanEnv()
		cmd.Stderr = stderr
		tr = &gosdk.CommandTransport{Command: cmd}
	case "http":
		tr = &gosdk.StreamableClientTransport{Endpoint: srv.base + "/mcp", MaxRetries: -1}
	case "sse":
		tr = &gosdk.SSEClientTransport{Endpoint: srv.base + "/sse"}
	}
	cs, err := c.Connect(ctx, tr, &gosdk.ClientSessionOptions{ProtocolVersion: era})
	if err != nil {
		return nil, err
	}
	return goSDKSession{cs}, nil
}

func (s goSDKSession) protocolVersion() string { return s.cs.InitializeResult().ProtocolVersion }

func (s goSDKSession) listTools(ctx context.Context) (map[string]any, error) {
	out := map[string]any{}
	for tool, err := range s.cs.Tools(ctx, nil) {
		if err != nil {
			return nil, err
		}
		schema, err := asJSONValue(tool.InputSchema)
		if err != nil {
			return nil, err
		}
		out[tool.Name] = schema
	}
	return out, nil
}

func (s goSDKSession) callTool(ctx context.Context, name string, args map[string]any) (interopResult, error) {
	res, err := s.cs.CallTool(ctx, &gosdk.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		return interopResult{}, err
	}
	r := interopResult{isError: res.IsError}
	for _, c := range res.Content {
		if tc, ok := c.(*gosdk.TextContent); ok {
			r.text += tc.Text
		}
	}
	sc, err := asJSONValue(res.StructuredContent)
	if err != nil {
		return r, err
	}
	r.structured, _ = sc.(map[string]any)
	return r, nil
}

func (s goSDKSession) close() error { return s.cs.Close() }

// --- the mcp-go client ---------------------------------------------------

type mcpGoSession struct{ c *client.Client }

func connectMCPGo(ctx context.Context, t *testing.T, transportName, era string, srv *binServer, stderr io.Writer) (interopSession, error) {
	var c *client.Client
	var err error
	switch transportName {
	case "stdio":
		c, err = client.NewStdioMCPClientWithOptions(builtBinary(t), cleanEnv(), append([]string{"--sandbox"}, everySandboxApp()...), transport.WithCommandStderrWriter(stderr))
	case "http":
		c, err = client.NewStreamableHttpClient(srv.base + "/mcp")
	case "sse":
		c, err = client.NewSSEMCPClient(srv.base + "/sse")
	}
	if err != nil {
		return nil, err
	}
	// Start wires notifications (and opens the SSE stream); it does not
	// restart a stdio process NewStdioMCPClient already started.
	if err := c.Start(ctx); err != nil {
		c.Close()
		return nil, err
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = era
	init.Params.ClientInfo = mcp.Implementation{Name: "interop-mcp-go", Version: "1.0.0"}
	if _, err := c.Initialize(ctx, init); err != nil {
		c.Close()
		return nil, err
	}
	return mcpGoSession{c}, nil
}

func (s mcpGoSession) protocolVersion() string { return s.c.ProtocolVersion() }

func (s mcpGoSession) listTools(ctx context.Context) (map[string]any, error) {
	res, err := s.c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for _, tool := range res.Tools {
		schema, err := asJSONValue(tool.InputSchema)
		if err != nil {
			return nil, err
		}
		out[tool.Name] = schema
	}
	return out, nil
}

func (s mcpGoSession) callTool(ctx context.Context, name string, args map[string]any) (interopResult, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := s.c.CallTool(ctx, req)
	if err != nil {
		return interopResult{}, err
	}
	r := interopResult{isError: res.IsError}
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			r.text += tc.Text
		}
	}
	sc, err := asJSONValue(res.StructuredContent)
	if err != nil {
		return r, err
	}
	r.structured, _ = sc.(map[string]any)
	return r, nil
}

func (s mcpGoSession) close() error { return s.c.Close() }

// --- the tests -----------------------------------------------------------

var (
	catalogOnce sync.Once
	catalog     map[string]any // tool name -> input schema, from `tools --json`
	catalogErr  error
)

// sandboxCatalog is what the server itself says it serves with --sandbox:
// `pipedream-mcp tools --sandbox --json`, exactly the tools/list result.
func sandboxCatalog(t *testing.T) map[string]any {
	t.Helper()
	catalogOnce.Do(func() {
		cmd := exec.Command(builtBinary(t), append([]string{"tools", "--sandbox", "--json"}, everySandboxApp()...)...)
		cmd.Env = cleanEnv()
		out, err := cmd.Output()
		if err != nil {
			catalogErr = fmt.Errorf("tools --sandbox --json: %w", err)
			return
		}
		var list struct {
			Tools []struct {
				Name        string `json:"name"`
				InputSchema any    `json:"inputSchema"`
			} `json:"tools"`
		}
		if err := json.Unmarshal(out, &list); err != nil {
			catalogErr = err
			return
		}
		catalog = map[string]any{}
		for _, tl := range list.Tools {
			catalog[tl.Name] = tl.InputSchema
		}
	})
	if catalogErr != nil {
		t.Fatal(catalogErr)
	}
	return catalog
}

// rootSchema keeps the root keywords mcp-go's client decodes into its
// ToolInputSchema (type, properties, required, additionalProperties), so the
// schemas it lists compare with the server's.
func rootSchema(s any) any {
	m, ok := s.(map[string]any)
	if !ok {
		return s
	}
	out := map[string]any{}
	for _, k := range []string{"type", "properties", "required", "additionalProperties"} {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	if req, ok := out["required"].([]any); ok && len(req) == 0 {
		delete(out, "required")
	}
	return out
}

// TestInteropGoClients runs each client library over each transport in each
// protocol era against the built binary.
func TestInteropGoClients(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	want := sandboxCatalog(t)
	servers := map[string]*binServer{
		"http": startBinary(t, append([]string{"--transport", "http"}, everySandboxApp()...)...),
		"sse":  startBinary(t, append([]string{"--transport", "sse"}, everySandboxApp()...)...),
	}
	clients := []struct {
		name    string
		connect func(context.Context, *testing.T, string, string, *binServer, io.Writer) (interopSession, error)
		// fullSchemas: the library keeps whole input schemas (mcp-go keeps
		// only the root keywords of its ToolInputSchema).
		fullSchemas bool
	}{
		{"go-sdk", connectGoSDK, true},
		{"mcp-go", connectMCPGo, false},
	}
	for _, cl := range clients {
		for _, tr := range []string{"stdio", "http", "sse"} {
			for _, era := range []string{eraLegacy, eraModern} {
				t.Run(cl.name+"/"+tr+"/"+era, func(t *testing.T) {
					t.Parallel()
					ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
					defer cancel()
					stderr := &syncBuffer{}
					diag := func() string {
						if srv := servers[tr]; srv != nil {
							return srv.log.String()
						}
						return stderr.String()
					}
					s, err := cl.connect(ctx, t, tr, era, servers[tr], stderr)
					if err != nil {
						t.Fatalf("connect: %v\nserver log:\n%s", err, diag())
					}
					defer func() {
						if err := s.close(); err != nil && !strings.Contains(err.Error(), "signal: terminated") {
							t.Logf("close: %v", err)
						}
					}()
					if got := s.protocolVersion(); got != era {
						t.Errorf("negotiated protocol %q, want %q", got, era)
					}
					checkListing(ctx, t, s, want, cl.fullSchemas)
					checkCalls(ctx, t, s)
				})
			}
		}
	}
}

// checkListing: the client sees every tool the server serves, with the same
// input schema.
func checkListing(ctx context.Context, t *testing.T, s interopSession, want map[string]any, fullSchemas bool) {
	t.Helper()
	got, err := s.listTools(ctx)
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want))) {
		t.Fatalf("tools/list: got %d tools, want the %d of the sandbox catalog; missing or extra: %v", len(got), len(want), symmetricDiff(got, want))
	}
	for name, schema := range want {
		w := schema
		if !fullSchemas {
			w = rootSchema(schema)
		}
		if !reflect.DeepEqual(rootOrFull(got[name], fullSchemas), w) {
			g, _ := json.Marshal(got[name])
			ws, _ := json.Marshal(w)
			t.Errorf("%s: the client decoded the input schema as\n%s\nwant\n%s", name, g, ws)
		}
	}
}

func rootOrFull(s any, full bool) any {
	if full {
		return s
	}
	return rootSchema(s)
}

func symmetricDiff(a, b map[string]any) []string {
	var out []string
	for k := range a {
		if _, ok := b[k]; !ok {
			out = append(out, "+"+k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, "-"+k)
		}
	}
	slices.Sort(out)
	return out
}

// checkCalls: a successful call's text and structuredContent, and an action
// failure as an isError result the client reads as such.
func checkCalls(ctx context.Context, t *testing.T, s interopSession) {
	t.Helper()
	msg := "interop héllo " + strings.ReplaceAll(t.Name(), "/", " ")
	res, err := s.callTool(ctx, "pd_edge_echo", map[string]any{"message": msg})
	if err != nil {
		t.Fatalf("tools/call pd_edge_echo: %v", err)
	}
	if res.isError {
		t.Fatalf("pd_edge_echo: isError; text: %s", res.text)
	}
	sc := res.structured
	if sc["status"] != "success" || sc["action"] != "pd_edge-echo" || sc["account_id"] == nil {
		t.Errorf("structuredContent = %v, want status success, action pd_edge-echo and an account_id", sc)
	}
	if ret, _ := sc["ret"].(map[string]any); ret["message"] != msg {
		t.Errorf("structuredContent.ret = %v, want the message echoed back: %q", sc["ret"], msg)
	}
	if !strings.HasPrefix(res.text, "Echo: "+msg) {
		t.Errorf("text content %q does not lead with the summary", res.text)
	}

	res, err = s.callTool(ctx, "pd_edge_always_fails", map[string]any{})
	if err != nil {
		t.Fatalf("tools/call pd_edge_always_fails: %v", err)
	}
	if !res.isError || res.structured["status"] != "error" {
		t.Errorf("pd_edge_always_fails: isError %v, structuredContent %v; want an error result with status error", res.isError, res.structured)
	}
	if errs, _ := res.structured["errors"].([]any); len(errs) == 0 {
		t.Errorf("pd_edge_always_fails: structuredContent has no errors: %v", res.structured)
	}
}

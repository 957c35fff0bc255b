package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	gosdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// askServer is the built binary against a fake of the test's own (so the
// test can count the runs), serving slack to demo-user over stdio (started
// per client) and Streamable HTTP.
type askServer struct {
	fake    *pdtest.Fake
	env     []string
	args    []string
	httpURL string
	log     *syncBuffer
}

func startAskServer(t *testing.T, args ...string) *askServer {
	t.Helper()
	fake := pdtest.NewSandbox()
	fake.AcceptSecret(pdtest.SandboxClientID, plantedClientSecret)
	api := serveAPI(t, fake, "127.0.0.1:0")
	s := &askServer{fake: fake, args: args, log: &syncBuffer{},
		env: envList(serverEnv(api.url, "slack,pd_edge,notion", map[string]string{"PIPEDREAM_EXTERNAL_USER_ID": pdtest.DemoUser}))}
	port := freePort(t)
	s.httpURL = "http://127.0.0.1:" + port
	// The HTTP server has a public URL, so Connect's webhook reaches it (the
	// fake delivers to loopback); the stdio servers have none, and poll.
	cmd := exec.Command(builtBinary(t), append([]string{"--transport", "http", "--addr", "127.0.0.1:" + port,
		"--public-url", s.httpURL, "--webhook-secret", plantedWebhookSecret}, args...)...)
	cmd.Env = s.env
	cmd.Stderr = s.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("server log:\n%s", tail(s.log.String(), 40))
		}
	})
	waitReady(t, s.httpURL, 30*time.Second, s.log)
	return s
}

// askClient is a Go SDK client with what it was asked and told.
type askClient struct {
	cs *gosdk.ClientSession

	mu       sync.Mutex
	asked    []*gosdk.ElicitParams
	progress []*gosdk.ProgressNotificationParams
}

func (c *askClient) questions() []*gosdk.ElicitParams {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*gosdk.ElicitParams(nil), c.asked...)
}

// connect starts a Go SDK client on transport (stdio starts its own process)
// in era; answer, when not nil, answers elicitations (and makes the client
// declare the capability).
func (s *askServer) connect(ctx context.Context, t *testing.T, transport, era string, answer func(*gosdk.ElicitParams) *gosdk.ElicitResult) *askClient {
	return s.connectAt(ctx, t, transport, era, "/mcp", answer)
}

// connectURL is connect for a client that declares URL-mode elicitation
// (and form mode).
func (s *askServer) connectURL(ctx context.Context, t *testing.T, transport, era string, answer func(*gosdk.ElicitParams) *gosdk.ElicitResult) *askClient {
	return s.connectWith(ctx, t, transport, era, "/mcp", answer, &gosdk.ClientCapabilities{Elicitation: &gosdk.ElicitationCapabilities{
		Form: &gosdk.FormElicitationCapabilities{}, URL: &gosdk.URLElicitationCapabilities{}}})
}

// connectAt is connect with the Streamable HTTP path (and query) given.
func (s *askServer) connectAt(ctx context.Context, t *testing.T, transport, era, path string, answer func(*gosdk.ElicitParams) *gosdk.ElicitResult) *askClient {
	return s.connectWith(ctx, t, transport, era, path, answer, nil)
}

// connectWith is connectAt with the client's capabilities given (nil: the
// SDK's defaults).
func (s *askServer) connectWith(ctx context.Context, t *testing.T, transport, era, path string, answer func(*gosdk.ElicitParams) *gosdk.ElicitResult, caps *gosdk.ClientCapabilities) *askClient {
	t.Helper()
	c := &askClient{}
	opts := &gosdk.ClientOptions{
		Capabilities: caps,
		ProgressNotificationHandler: func(_ context.Context, req *gosdk.ProgressNotificationClientRequest) {
			c.mu.Lock()
			c.progress = append(c.progress, req.Params)
			c.mu.Unlock()
		},
	}
	if answer != nil {
		opts.ElicitationHandler = func(_ context.Context, req *gosdk.ElicitRequest) (*gosdk.ElicitResult, error) {
			c.mu.Lock()
			c.asked = append(c.asked, req.Params)
			c.mu.Unlock()
			return answer(req.Params), nil
		}
	}
	var tr gosdk.Transport
	switch transport {
	case "stdio":
		cmd := exec.Command(builtBinary(t), s.args...)
		cmd.Env = s.env
		cmd.Stderr = s.log
		tr = &gosdk.CommandTransport{Command: cmd}
	case "http":
		tr = &gosdk.StreamableClientTransport{Endpoint: s.httpURL + path, MaxRetries: -1}
	}
	cs, err := gosdk.NewClient(&gosdk.Implementation{Name: "ask-e2e", Version: "1.0.0"}, opts).Connect(ctx, tr, &gosdk.ClientSessionOptions{ProtocolVersion: era})
	if err != nil {
		t.Fatalf("connect over %s in %s: %v", transport, era, err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	c.cs = cs
	return c
}

// call calls a tool and returns its structured content.
func (c *askClient) call(ctx context.Context, t *testing.T, params *gosdk.CallToolParams) map[string]any {
	t.Helper()
	res, err := c.cs.CallTool(ctx, params)
	if err != nil {
		t.Fatalf("call %s: %v", params.Name, err)
	}
	var sc map[string]any
	b, _ := json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(b, &sc)
	return sc
}

// actionRuns counts the fake's runs of an action.
func actionRuns(f *pdtest.Fake, action string) int {
	n := 0
	for _, r := range f.Runs() {
		if r.ID == action {
			n++
		}
	}
	return n
}

var (
	eras       = []string{"2025-11-25", "2026-07-28"}
	transports = []string{"stdio", "http"}
)

// deleteArgs are slack_delete_message's arguments (a destructive action).
func deleteArgs(ts string) map[string]any {
	return map[string]any{"conversation": "C00001000", "timestamp": ts}
}

func accept(yes bool) func(*gosdk.ElicitParams) *gosdk.ElicitResult {
	return func(*gosdk.ElicitParams) *gosdk.ElicitResult {
		return &gosdk.ElicitResult{Action: "accept", Content: map[string]any{"confirm": yes}}
	}
}

// TestConfirmDestructiveE2E: with --confirm-destructive the user is asked
// (form-mode elicitation) before a destructive action runs, over stdio and
// Streamable HTTP in both protocol eras (elicitation/create in 2025-11-25,
// the input-request round trip in 2026-07-28); yes runs it once, no or a
// decline runs nothing; a client that cannot ask is refused, unless
// if-supported; actions that are not destructive are never asked about.
func TestConfirmDestructiveE2E(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()
	always := startAskServer(t, "--confirm-destructive")
	n := 0
	for _, transport := range transports {
		for _, era := range eras {
			t.Run(transport+"/"+era, func(t *testing.T) {
				for _, tc := range []struct {
					name       string
					answer     func(*gosdk.ElicitParams) *gosdk.ElicitResult
					wantStatus string
					wantRuns   int
					wantAsked  int
				}{
					{"yes runs it once", accept(true), tools.StatusSuccess, 1, 1},
					{"no runs nothing", accept(false), tools.StatusDeclined, 0, 1},
					{"decline runs nothing", func(*gosdk.ElicitParams) *gosdk.ElicitResult { return &gosdk.ElicitResult{Action: "decline"} }, tools.StatusDeclined, 0, 1},
					{"cancel runs nothing", func(*gosdk.ElicitParams) *gosdk.ElicitResult { return &gosdk.ElicitResult{Action: "cancel"} }, tools.StatusDeclined, 0, 1},
					{"a client without elicitation is refused", nil, tools.StatusConfirmationRequired, 0, 0},
				} {
					n++
					ts := fmt.Sprintf("1700000000.%06d", n) // a call of its own in the run log
					c := always.connect(ctx, t, transport, era, tc.answer)
					before := actionRuns(always.fake, "slack-delete-message")
					sc := c.call(ctx, t, &gosdk.CallToolParams{Name: "slack_delete_message", Arguments: deleteArgs(ts)})
					runs := actionRuns(always.fake, "slack-delete-message") - before
					asked := c.questions()
					if sc["status"] != tc.wantStatus || runs != tc.wantRuns || len(asked) != tc.wantAsked {
						t.Errorf("%s: status %v, %d runs, asked %d times; want %s, %d, %d\n%v", tc.name, sc["status"], runs, len(asked), tc.wantStatus, tc.wantRuns, tc.wantAsked, sc)
					}
					if len(asked) > 0 {
						q := asked[0]
						if q.Mode != "form" && q.Mode != "" || !strings.Contains(q.Message, "slack-delete-message") || !strings.Contains(q.Message, ts) || !strings.Contains(q.Message, pdtest.DemoUser) {
							t.Errorf("%s: the question does not show the action, its arguments and the user: %+v", tc.name, q)
						}
					}
				}
				// Not destructive: never asked.
				c := always.connect(ctx, t, transport, era, accept(false))
				if sc := c.call(ctx, t, &gosdk.CallToolParams{Name: "slack_list_channels", Arguments: map[string]any{}}); sc["status"] != tools.StatusSuccess || len(c.questions()) != 0 {
					t.Errorf("a read-only action: %v, asked %d times", sc["status"], len(c.questions()))
				}
				if transport != "http" {
					return
				}
				// Catalog mode asks the same way.
				c = always.connectAt(ctx, t, transport, era, "/mcp?tool_mode=catalog", accept(true))
				n++
				sc := c.call(ctx, t, &gosdk.CallToolParams{Name: tools.ToolRunAction, Arguments: map[string]any{"tool": "slack_delete_message", "arguments": deleteArgs(fmt.Sprintf("1700000000.%06d", n))}})
				if sc["status"] != tools.StatusSuccess || len(c.questions()) != 1 {
					t.Errorf("through %s: %v, asked %d times", tools.ToolRunAction, sc, len(c.questions()))
				}
			})
		}
	}

	ifSupported := startAskServer(t, "--confirm-destructive=if-supported")
	c := ifSupported.connect(ctx, t, "http", "2026-07-28", nil)
	if sc := c.call(ctx, t, &gosdk.CallToolParams{Name: "slack_delete_message", Arguments: deleteArgs("1700000001.000001")}); sc["status"] != tools.StatusSuccess || actionRuns(ifSupported.fake, "slack-delete-message") != 1 {
		t.Errorf("if-supported without elicitation runs it: %v", sc)
	}
}

// TestProgressE2E: a call with a progressToken hears notifications/progress
// while its run is in flight (at least every 5 s), over stdio and Streamable
// HTTP in both eras; a call without one hears nothing.
func TestProgressE2E(t *testing.T) {
	t.Parallel()
	srv := startAskServer(t)
	for _, transport := range transports {
		for _, era := range eras {
			t.Run(transport+"/"+era, func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
				defer cancel()
				c := srv.connect(ctx, t, transport, era, nil)
				params := &gosdk.CallToolParams{Name: "pd_edge_slow", Arguments: map[string]any{"delay_ms": 4500}}
				params.SetProgressToken("slow-1")
				if sc := c.call(ctx, t, params); sc["status"] != tools.StatusSuccess {
					t.Fatalf("pd_edge_slow: %v", sc)
				}
				c.mu.Lock()
				got := append([]*gosdk.ProgressNotificationParams(nil), c.progress...)
				c.mu.Unlock()
				if len(got) < 2 {
					t.Fatalf("%d progress notifications during a 4.5 s run, want at least 2 (one every %s)", len(got), tools.ProgressEvery)
				}
				for i, p := range got {
					if p.ProgressToken != "slow-1" || !strings.Contains(p.Message, "pd_edge-slow: still running after") || i > 0 && p.Progress <= got[i-1].Progress {
						t.Errorf("progress %d: %+v", i, p)
					}
				}
				c.mu.Lock()
				c.progress = nil
				c.mu.Unlock()
				sc := c.call(ctx, t, &gosdk.CallToolParams{Name: "pd_edge_slow", Arguments: map[string]any{"delay_ms": 2500}})
				c.mu.Lock()
				n := len(c.progress)
				c.mu.Unlock()
				if sc["status"] != tools.StatusSuccess || n != 0 {
					t.Errorf("without a progressToken: %v, %d notifications", sc["status"], n)
				}
			})
		}
	}
}

// modernCall sends one 2026-07-28 tools/call by hand over Streamable HTTP
// (the _meta every request of that era carries; the client declares form
// elicitation) and returns its JSON-RPC result or error, from a JSON or an
// SSE answer.
func modernCall(t *testing.T, url string, params map[string]any) (result, rpcErr map[string]any) {
	t.Helper()
	params["_meta"] = map[string]any{
		mcp.MetaKeyProtocolVersion:    "2026-07-28",
		mcp.MetaKeyClientInfo:         map[string]any{"name": "raw", "version": "1"},
		mcp.MetaKeyClientCapabilities: map[string]any{"elicitation": map[string]any{"form": map[string]any{}}},
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set(mcp.HeaderProtocolVersion, "2026-07-28")
	req.Header.Set(mcp.HeaderMethod, "tools/call")
	req.Header.Set(mcp.HeaderName, params["name"].(string))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	text := string(raw)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		for line := range strings.Lines(text) {
			if data, ok := strings.CutPrefix(strings.TrimSpace(line), "data:"); ok && strings.Contains(data, `"id":1`) {
				text = data
			}
		}
	}
	var msg struct {
		Result map[string]any `json:"result"`
		Error  map[string]any `json:"error"`
	}
	if err := json.Unmarshal([]byte(text), &msg); err != nil {
		t.Fatalf("HTTP %d, not a JSON-RPC answer: %v\n%s", resp.StatusCode, err, raw)
	}
	return msg.Result, msg.Error
}

// TestConfirmDestructiveBadAnswers drives the 2026-07-28 round trip by hand:
// answers of the wrong shape, answers to another call, replayed and forged
// states are refused with a clear error, and nothing runs; the right answer
// runs the action once, and replaying it runs nothing more.
func TestConfirmDestructiveBadAnswers(t *testing.T) {
	t.Parallel()
	srv := startAskServer(t, "--confirm-destructive")
	url := srv.httpURL + "/mcp"
	args := deleteArgs("1700000002.000001")
	res, rpcErr := modernCall(t, url, map[string]any{"name": "slack_delete_message", "arguments": args})
	state, _ := res["requestState"].(string)
	asks, _ := res["inputRequests"].(map[string]any)
	if rpcErr != nil || res["resultType"] != "input_required" || state == "" || asks["confirm_destructive"] == nil {
		t.Fatalf("want an input_required result asking confirm_destructive, got %v %v", res, rpcErr)
	}
	answer := func(a map[string]any) map[string]any { return map[string]any{"confirm_destructive": a} }
	yes := answer(map[string]any{"action": "accept", "content": map[string]any{"confirm": true}})
	for _, tc := range []struct {
		name    string
		args    map[string]any
		state   string
		answers map[string]any
		want    string
	}{
		{"a string for the boolean", args, state, answer(map[string]any{"action": "accept", "content": map[string]any{"confirm": "yes"}}), `no boolean "confirm"`},
		{"no content", args, state, answer(map[string]any{"action": "accept"}), `no boolean "confirm"`},
		{"an unknown action", args, state, answer(map[string]any{"action": "maybe"}), `"maybe" is none of accept, decline, cancel`},
		{"other arguments", deleteArgs("1700000002.999999"), state, yes, "does not belong to this call"},
		{"a forged state", args, "AAAA.BBBB", yes, "does not belong to this call"},
		{"no state", args, "", yes, "does not belong to this call"},
	} {
		// Each answer spends the state it carried, so each case asks anew.
		st := tc.state
		if st == state {
			res, _ := modernCall(t, url, map[string]any{"name": "slack_delete_message", "arguments": args})
			st, _ = res["requestState"].(string)
		}
		res, rpcErr := modernCall(t, url, map[string]any{"name": "slack_delete_message", "arguments": tc.args, "requestState": st, "inputResponses": tc.answers})
		sc, _ := res["structuredContent"].(map[string]any)
		text := resultText(res)
		if rpcErr != nil || res["isError"] != true || sc["status"] != tools.StatusInvalidArgs || !strings.Contains(text, tc.want) || !strings.Contains(text, "Nothing ran") {
			t.Errorf("%s: want an invalid_arguments error result naming %q, got %v %v", tc.name, tc.want, res, rpcErr)
		}
	}
	if n := actionRuns(srv.fake, "slack-delete-message"); n != 0 {
		t.Fatalf("%d runs after refused answers", n)
	}
	res, _ = modernCall(t, url, map[string]any{"name": "slack_delete_message", "arguments": args, "requestState": state, "inputResponses": yes})
	if sc, _ := res["structuredContent"].(map[string]any); sc["status"] != tools.StatusSuccess || actionRuns(srv.fake, "slack-delete-message") != 1 {
		t.Fatalf("the right answer: %v, %d runs", res, actionRuns(srv.fake, "slack-delete-message"))
	}
	res, _ = modernCall(t, url, map[string]any{"name": "slack_delete_message", "arguments": args, "requestState": state, "inputResponses": yes})
	text := resultText(res)
	if n := actionRuns(srv.fake, "slack-delete-message"); n != 1 || !strings.Contains(text, "already answered") {
		t.Errorf("a replayed answer: %d runs, %s", n, text)
	}
}

// resultText is the text of a tools/call result decoded as JSON.
func resultText(res map[string]any) string {
	var b strings.Builder
	content, _ := res["content"].([]any)
	for _, c := range content {
		if m, ok := c.(map[string]any); ok {
			text, _ := m["text"].(string)
			b.WriteString(text)
		}
	}
	return b.String()
}

// connectToken is the Connect token of a Connect Link.
func connectToken(t *testing.T, link string) string {
	t.Helper()
	u, err := neturl.Parse(link)
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("not a Connect Link: %q", link)
	}
	return u.Query().Get("token")
}

// TestConnectAccountInClientE2E: a call of a user connection whose caller has
// no account, from a client that declared URL-mode elicitation, shows the
// user the Connect Link in the client, waits for the account and runs with
// it, over stdio and Streamable HTTP in both eras; a decline, a client
// without URL mode, and a wait that outlives --connect-wait answer
// account_required with the link, as before, and run nothing.
func TestConnectAccountInClientE2E(t *testing.T) {
	t.Parallel()
	// A new params value per call: the Go SDK writes the client's _meta into
	// the one it is given.
	notionSearch := func() *gosdk.CallToolParams {
		return &gosdk.CallToolParams{Name: "notion_search", Arguments: map[string]any{"query": "Roadmap"}}
	}
	for _, transport := range transports {
		for _, era := range eras {
			t.Run(transport+"/"+era, func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
				defer cancel()
				srv := startAskServer(t) // demo-user has no notion account
				var connected string
				c := srv.connectURL(ctx, t, transport, era, func(p *gosdk.ElicitParams) *gosdk.ElicitResult {
					if p.Mode != "url" || !strings.Contains(p.URL, "&app=notion") || p.ElicitationID == "" {
						t.Errorf("want a URL elicitation with the notion Connect Link, got %+v", p)
						return &gosdk.ElicitResult{Action: "decline"}
					}
					acct, err := srv.fake.CompleteConnect(connectToken(t, p.URL), "notion")
					if err != nil {
						t.Error(err)
					}
					connected = acct.ID
					return &gosdk.ElicitResult{Action: "accept"}
				})
				sc := c.call(ctx, t, notionSearch())
				if sc["status"] != tools.StatusSuccess || connected == "" || sc["account_id"] != connected || len(c.questions()) != 1 {
					t.Errorf("want the call to run with the account connected in the client (%s), got %v", connected, sc)
				}
			})
		}
	}

	t.Run("declined, not supported, or not connected in time", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancel()
		srv := startAskServer(t, "--connect-wait", "3s")
		for _, tc := range []struct {
			name   string
			client func() *askClient
			asked  int
			note   string
		}{
			{"declined", func() *askClient {
				return srv.connectURL(ctx, t, "http", "2026-07-28", func(*gosdk.ElicitParams) *gosdk.ElicitResult { return &gosdk.ElicitResult{Action: "decline"} })
			}, 1, ""},
			{"a client with form mode only", func() *askClient { return srv.connect(ctx, t, "http", "2026-07-28", accept(true)) }, 0, ""},
			{"accepted, never connected", func() *askClient {
				return srv.connectURL(ctx, t, "stdio", "2025-11-25", func(*gosdk.ElicitParams) *gosdk.ElicitResult { return &gosdk.ElicitResult{Action: "accept"} })
			}, 1, "waited 3s for the account to be connected; none was"},
		} {
			c := tc.client()
			before := srv.fake.Count(pdtest.EndpointAccounts)
			sc := c.call(ctx, t, notionSearch())
			link, _ := sc["connect_url"].(string)
			notes, _ := json.Marshal(sc["notes"])
			if sc["status"] != tools.StatusAccountRequired || !strings.Contains(link, "&app=notion") || len(c.questions()) != tc.asked || !strings.Contains(string(notes), tc.note) {
				t.Errorf("%s: want account_required with a Connect Link, asked %d times, note %q; got %v (asked %d)", tc.name, tc.asked, tc.note, sc, len(c.questions()))
			}
			// Without a webhook the wait polls on a backoff (1 s, 2 s, ...):
			// a few reads in 3 s, not a busy loop.
			if reads := srv.fake.Count(pdtest.EndpointAccounts) - before; reads > 6 {
				t.Errorf("%s: %d account reads", tc.name, reads)
			}
		}
		if n := actionRuns(srv.fake, "notion-search"); n != 0 {
			t.Errorf("%d runs of notion-search", n)
		}
	})
}

// TestConnectAccountWaitWakesOnWebhook: with a public URL the wait reads the
// accounts once, then sleeps until Connect's webhook says the user connected
// one (no polling), and the call runs at once.
func TestConnectAccountWaitWakesOnWebhook(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	srv := startAskServer(t, "--connect-wait", "40s")
	tokens := make(chan string, 1)
	c := srv.connectURL(ctx, t, "http", "2026-07-28", func(p *gosdk.ElicitParams) *gosdk.ElicitResult {
		tokens <- connectToken(t, p.URL)
		return &gosdk.ElicitResult{Action: "accept"}
	})
	reads := srv.fake.Count(pdtest.EndpointAccounts)
	connected := make(chan string, 1)
	go func() {
		// The user connects once the call waits: after its first read of
		// the accounts that follows the answer.
		token := <-tokens
		if !eventually(20*time.Second, func() bool { return srv.fake.Count(pdtest.EndpointAccounts) >= reads+2 }) {
			connected <- ""
			return
		}
		acct, err := srv.fake.CompleteConnect(token, "notion")
		if err != nil {
			t.Error(err)
		}
		connected <- acct.ID
	}()
	started := time.Now()
	sc := c.call(ctx, t, &gosdk.CallToolParams{Name: "notion_search", Arguments: map[string]any{"query": "Roadmap"}})
	id := <-connected
	if sc["status"] != tools.StatusSuccess || id == "" || sc["account_id"] != id {
		t.Fatalf("want the call to run with the account connected (%q), got %v", id, sc)
	}
	// 1 read before asking, 1 when the wait starts, 1 after the webhook. The
	// fake counts a read when it arrives, so the wait's first read may still
	// be in flight when the user connects and already see the account: then
	// there is no third read. More would be polling.
	if n := srv.fake.Count(pdtest.EndpointAccounts) - reads; n < 2 || n > 3 || time.Since(started) > 20*time.Second {
		t.Errorf("%d account reads in %s, want 2 or 3 and no polling", n, time.Since(started))
	}
}

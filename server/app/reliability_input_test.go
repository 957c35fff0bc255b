package app

// Reliability suite, clients and input: hostile JSON-RPC over stdio (the built
// binary) and Streamable HTTP, cancelled calls, and HTTP abuse (credentials,
// oversized bodies, slow clients, foreign sessions, webhook floods). After
// every hostile message a good request must still be served.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/server"
)

// hostileFrame is one hostile JSON-RPC message and what must come back.
type hostileFrame struct {
	name  string
	frame string
	// id is the request id the answer carries ("" for an answer with a null
	// id, as JSON-RPC gives to messages it cannot read).
	id string
	// want checks the answer; nil accepts any well-formed answer.
	want func(msg map[string]any) error
}

// rpcError returns the JSON-RPC error code of msg (0 when it has none).
func rpcError(msg map[string]any) int {
	e, ok := msg["error"].(map[string]any)
	if !ok {
		return 0
	}
	code, _ := e["code"].(float64)
	if code == 0 {
		return -1
	}
	return int(code)
}

// isErrorResult reports whether msg is a tool result with isError.
func isErrorResult(msg map[string]any) bool {
	res, ok := msg["result"].(map[string]any)
	return ok && res["isError"] == true
}

func wantCode(code int) func(map[string]any) error {
	return func(msg map[string]any) error {
		if got := rpcError(msg); got != code {
			return fmt.Errorf("want JSON-RPC error %d, got %v", code, msg)
		}
		return nil
	}
}

// wantRefused accepts a JSON-RPC error or an error result.
func wantRefused(msg map[string]any) error {
	if rpcError(msg) != 0 || isErrorResult(msg) {
		return nil
	}
	return fmt.Errorf("want an error or an error result, got %.300v", msg)
}

// nested returns a JSON value nested depth arrays deep.
func nested(depth int) string {
	return strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth)
}

// mcpDefaultLimit is the message limit of both transports (4 MiB).
const mcpDefaultLimit = server.DefaultMaxMessageBytes

// hostileFrames are the messages every transport is fed. huge is the size of
// a string argument: over the limit it must be refused with -32600.
func hostileFrames(huge int) []hostileFrame {
	var hugeWant func(map[string]any) error // under the limit: any answer
	if huge > mcpDefaultLimit {
		hugeWant = wantCode(mcp.INVALID_REQUEST)
	}
	call := func(id, name, args string) string {
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":%q,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, id, name, args)
	}
	return []hostileFrame{
		{name: "not JSON", frame: `this is not json`, want: wantCode(mcp.PARSE_ERROR)},
		{name: "truncated JSON", frame: `{"jsonrpc":"2.0","id":"t1","method":"tools/li`, want: wantCode(mcp.PARSE_ERROR)},
		{name: "no method", frame: `{"jsonrpc":"2.0","id":"m1"}`, id: "m1", want: wantRefused},
		{name: "unknown method", frame: `{"jsonrpc":"2.0","id":"m2","method":"no/such/method"}`, id: "m2", want: wantCode(mcp.METHOD_NOT_FOUND)},
		{name: "params not an object", frame: `{"jsonrpc":"2.0","id":"p1","method":"tools/call","params":"oops"}`, id: "p1", want: wantRefused},
		{name: "tool name a number", frame: `{"jsonrpc":"2.0","id":"p2","method":"tools/call","params":{"name":42}}`, id: "p2", want: wantRefused},
		{name: "arguments an array", frame: call("p3", toolRepo, `[1,2]`), id: "p3", want: wantRefused},
		{name: "argument of the wrong type", frame: call("p4", toolRepo, `{"repoFullname":{"a":1}}`), id: "p4", want: wantRefused},
		{name: "unknown tool", frame: call("p5", "no_such_tool", `{}`), id: "p5", want: wantRefused},
		{name: "100k open brackets", frame: `{"jsonrpc":"2.0","id":"d1","method":"tools/call","params":{"name":"x","arguments":{"a":` + strings.Repeat("[", 100000), want: wantCode(mcp.PARSE_ERROR)},
		{name: "nesting past the decoder's limit", frame: call("d2", toolRepo, `{"repoFullname":"a/b","x":`+nested(20000)+`}`), want: wantCode(mcp.PARSE_ERROR)},
		{name: "deep nesting within the limit", frame: call("d3", toolRepo, `{"repoFullname":"a/b","x":`+nested(5000)+`}`), id: "d3", want: wantRefused},
		{name: "invalid UTF-8", frame: call("u1", toolRepo, "{\"repoFullname\":\"octo/\xff\xfe\xc3(\"}"), id: "u1"},
		{name: "huge arguments", frame: call("h1", toolRepo, `{"repoFullname":"`+strings.Repeat("x", huge)+`"}`), id: "h1", want: hugeWant},
	}
}

// stdioPeer drives the built binary over stdin/stdout.
type stdioPeer struct {
	t      *testing.T
	cmd    *exec.Cmd
	in     io.WriteCloser
	stderr *syncBuffer
	read   wakeup // at every message read from stdout
	mu     sync.Mutex
	byID   map[string]map[string]any
	nulls  []map[string]any
	eof    chan struct{}
}

func startStdio(t *testing.T, args ...string) *stdioPeer {
	t.Helper()
	bin := builtBinary(t)
	p := &stdioPeer{t: t, stderr: &syncBuffer{}, byID: map[string]map[string]any{}, eof: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = cleanEnv()
	p.cmd.Stderr = p.stderr
	var err error
	if p.in, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	})
	go func() {
		defer close(p.eof)
		r := bufio.NewReaderSize(out, 1<<20)
		for {
			line, err := r.ReadBytes('\n')
			if len(bytes.TrimSpace(line)) > 0 {
				var msg map[string]any
				if json.Unmarshal(line, &msg) != nil || msg["jsonrpc"] != "2.0" {
					t.Errorf("stdout line is not a JSON-RPC frame: %.200q", line)
				} else {
					p.mu.Lock()
					if id, ok := msg["id"]; ok && id != nil {
						p.byID[fmt.Sprint(id)] = msg
					} else if _, isNote := msg["method"]; !isNote {
						p.nulls = append(p.nulls, msg)
					}
					p.mu.Unlock()
					p.read.notify()
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return p
}

func (p *stdioPeer) send(frame string) {
	p.t.Helper()
	if _, err := io.WriteString(p.in, frame+"\n"); err != nil {
		p.t.Fatalf("write: %v\n%s", err, tail(p.stderr.String(), 30))
	}
}

// await returns the answer with id, failing the test after limit.
func (p *stdioPeer) await(id string, limit time.Duration) map[string]any {
	p.t.Helper()
	var msg map[string]any
	ok := p.read.await(limit, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		msg = p.byID[id]
		return msg != nil
	})
	if !ok {
		p.t.Fatalf("no answer with id %s within %v\n%s", id, limit, tail(p.stderr.String(), 30))
	}
	return msg
}

// awaitNull returns the n-th answer with a null id.
func (p *stdioPeer) awaitNull(n int, limit time.Duration) map[string]any {
	p.t.Helper()
	var msg map[string]any
	ok := p.read.await(limit, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.nulls) >= n {
			msg = p.nulls[n-1]
			return true
		}
		return false
	})
	if !ok {
		p.t.Fatalf("no answer with a null id (#%d) within %v\n%s", n, limit, tail(p.stderr.String(), 30))
	}
	return msg
}

// TestReliabilityStdioHostileInput feeds the stdio server (the built binary,
// debug logging) hostile messages: each gets a JSON-RPC error or an error
// result, a ping after each is answered, a cancelled call stops its upstream
// work, and the process exits cleanly at the end of input.
func TestReliabilityStdioHostileInput(t *testing.T) {
	t.Parallel()
	p := startStdio(t, append([]string{"--sandbox", "--log-level", "debug"}, everySandboxApp()...)...)
	p.send(`{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"hostile","version":"1"}}}`)
	p.await("init", 30*time.Second)
	p.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	p.send(`{"jsonrpc":"2.0","id":"list","method":"tools/list"}`)
	if msg := p.await("list", 30*time.Second); rpcError(msg) != 0 {
		t.Fatalf("tools/list: %v", msg)
	}

	nulls := 0
	frames := append(hostileFrames(5<<20),
		hostileFrame{name: "a 64 MiB message", frame: fmt.Sprintf(`{"jsonrpc":"2.0","id":"h2","method":"tools/call","params":{"name":%q,"arguments":{"message":"%s"}}}`, "pd_edge_echo", strings.Repeat("y", 64<<20)), id: "h2", want: wantCode(mcp.INVALID_REQUEST)})
	for i, f := range frames {
		t.Run(f.name, func(t *testing.T) {
			p.t = t
			p.send(f.frame)
			var msg map[string]any
			if f.id == "" {
				nulls++
				msg = p.awaitNull(nulls, 30*time.Second)
			} else {
				msg = p.await(f.id, 30*time.Second)
			}
			if f.want != nil {
				if err := f.want(msg); err != nil {
					t.Error(err)
				}
			}
			ping := fmt.Sprintf("ping-%d", i)
			p.send(`{"jsonrpc":"2.0","id":"` + ping + `","method":"ping"}`)
			if msg := p.await(ping, 10*time.Second); rpcError(msg) != 0 {
				t.Errorf("ping after %s: %v", f.name, msg)
			}
		})
	}
	p.t = t

	t.Run("cancelled call", func(t *testing.T) {
		p.t = t
		from := p.stderr.Len()
		p.send(`{"jsonrpc":"2.0","id":"slow","method":"tools/call","params":{"name":"pd_edge_slow","arguments":{"delay_ms":60000}}}`)
		// A cancellation that arrives before mcp-go starts the call is
		// dropped, and the call is queued to a worker. Its handler reads the
		// user's pd_edge accounts (not read before in this run) before it
		// runs the action: once the debug log shows that read, the request
		// is registered for cancellation.
		accountsRead := "path=/v1/connect/" + pdtest.SandboxProjectID + "/accounts "
		if !p.stderr.awaitLog(20*time.Second, func(log string) bool { return strings.Contains(log[from:], accountsRead) }) {
			t.Fatalf("the slow call never read the accounts:\n%s", tail(p.stderr.String()[from:], 20))
		}
		p.send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"slow","reason":"the user gave up"}}`)
		p.send(`{"jsonrpc":"2.0","id":"ping-after-cancel","method":"ping"}`)
		p.await("ping-after-cancel", 5*time.Second)
		// The handler saw the cancellation and ended (the audit line), long
		// before the action's 60 s.
		if !p.stderr.awaitLog(10*time.Second, func(logs string) bool {
			return strings.Contains(logs, "action=pd_edge-slow") && strings.Contains(logs, "status=timeout")
		}) {
			t.Errorf("the cancelled call did not end:\n%s", tail(p.stderr.String(), 20))
		}
	})
	p.t = t

	p.send(`{"jsonrpc":"2.0","id":"last","method":"tools/call","params":{"name":"github_get_repository","arguments":{"repoFullname":"octo/hello"}}}`)
	if msg := p.await("last", 30*time.Second); rpcError(msg) != 0 || isErrorResult(msg) {
		t.Errorf("a good call after everything: %v", msg)
	}
	_ = p.in.Close()
	done := make(chan error, 1)
	go func() { <-p.eof; done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the server exited with %v\n%s", err, tail(p.stderr.String(), 30))
		}
	case <-time.After(20 * time.Second):
		t.Error("the server did not exit at the end of its input")
	}
	logs := p.stderr.String()
	for _, bad := range []string{"panic", "ctok_", "pdat_", pdtest.SandboxClientSecret} {
		if strings.Contains(logs, bad) {
			t.Errorf("the log contains %q", bad)
		}
	}
}

// rpcFromBody decodes a JSON-RPC message from a JSON or SSE response body.
func rpcFromBody(body string) map[string]any {
	for line := range strings.Lines(body) {
		if data, ok := strings.CutPrefix(strings.TrimSpace(line), "data:"); ok {
			body = data
			break
		}
	}
	var msg map[string]any
	_ = json.Unmarshal([]byte(strings.TrimSpace(body)), &msg)
	return msg
}

// TestReliabilityHTTPHostileInput feeds Streamable HTTP the same hostile
// messages, oversized bodies and a cancelled call: each is refused with a
// JSON-RPC error, an error result or 413, never a 5xx, and the session keeps
// working.
func TestReliabilityHTTPHostileInput(t *testing.T) {
	t.Parallel()
	rs := startServer(t, serverOptions{})
	user := pdtest.DemoUser
	cred := rs.credential(t, user)
	c := rs.dial(t, user, "/mcp", listen(&counter{})) // legacy era: a session
	sid := c.GetSessionId()
	post := func(t *testing.T, cred string, body any) (int, string) {
		t.Helper()
		r := rawPost(t, rs.url+"/mcp", cred, sid, body)
		return r.status, r.body
	}
	good := fmt.Sprintf(`{"jsonrpc":"2.0","id":"good","method":"tools/call","params":{"name":%q,"arguments":%s}}`, toolRepo, getRepo)
	runsBefore := rs.fake.Count(pdtest.EndpointRun)
	goodRuns := 0
	for _, f := range hostileFrames(1 << 20) { // 1 MiB: under the body limit, so the server sees it
		t.Run(f.name, func(t *testing.T) {
			status, body := post(t, cred, f.frame)
			rs.recordText(user, body)
			if status >= 500 || status == 0 {
				t.Fatalf("HTTP %d: %.300s", status, body)
			}
			msg := rpcFromBody(body)
			if msg == nil {
				t.Fatalf("HTTP %d without a JSON-RPC answer: %.300s", status, body)
			}
			if f.want != nil {
				if err := f.want(msg); err != nil {
					t.Error(err)
				}
			}
			status, body = post(t, cred, good)
			goodRuns++
			if msg := rpcFromBody(body); status != http.StatusOK || rpcError(msg) != 0 || isErrorResult(msg) {
				t.Errorf("a good call after %s: HTTP %d %.300s", f.name, status, body)
			}
		})
	}
	// Only the good calls, the one with invalid UTF-8 (replaced by U+FFFD, a
	// valid if odd name) and the 1 MiB one (under the limit) reached
	// actions/run.
	if got := rs.fake.Count(pdtest.EndpointRun) - runsBefore; got != goodRuns+2 {
		t.Errorf("%d runs, want %d: a refused message ran an action", got, goodRuns+2)
	}

	t.Run("oversized bodies", func(t *testing.T) {
		big := `{"jsonrpc":"2.0","id":"big","method":"tools/call","params":{"name":"` + toolRepo + `","arguments":{"repoFullname":"` + strings.Repeat("z", 5<<20) + `"}}}`
		if status, body := post(t, cred, big); status != http.StatusRequestEntityTooLarge {
			t.Errorf("5 MiB with Content-Length: HTTP %d %.200s, want 413", status, body)
		}
		if status, body := post(t, cred, io.MultiReader(strings.NewReader(big))); status != http.StatusRequestEntityTooLarge {
			t.Errorf("5 MiB chunked: HTTP %d %.200s, want 413", status, body)
		}
		if status, _ := post(t, "", big); status != http.StatusUnauthorized {
			t.Errorf("5 MiB without credentials: HTTP %d, want 401 before the body is read", status)
		}
		if status, body := post(t, cred, good); status != http.StatusOK || isErrorResult(rpcFromBody(body)) {
			t.Errorf("a good call after the oversized ones: HTTP %d %.200s", status, body)
		}
	})

	t.Run("cancelled call", func(t *testing.T) {
		testCancelledCall(t, rs, c, user, cancelByContext(t, rs, c))
	})
}

// testCancelledCall has call start a call the fake holds for 3 s and cancel
// it once the call's run is at the fake, then checks that the call ended at
// once on the server, the upstream run was cancelled (never executed), and
// the session still works.
func testCancelledCall(t *testing.T, rs *testServer, c *client.Client, user string, call func(text string)) {
	rs.fake.SetRunDelay(3 * time.Second)
	defer rs.fake.SetRunDelay(0)
	text := "cancel-me-" + rand.Text()[:8]
	runs, done := rs.tap.runs()
	call(text)
	// The server's handler ends at once, before the fake would have answered
	// (3 s): its audit line says timeout, not success.
	if !rs.stderr.awaitLog(5*time.Second, func(log string) bool {
		for line := range strings.Lines(log) {
			if strings.Contains(line, "tool call") && strings.Contains(line, "external_user_id="+user) && strings.Contains(line, "status=timeout") {
				return true
			}
		}
		return false
	}) {
		t.Errorf("the server did not end the cancelled call:\n%s", tail(rs.stderr.String(), 20))
	}
	// Once the fake is done with the run (its handler returned), whether it
	// executed is settled: cancelled upstream, it ends at once unexecuted;
	// otherwise the fake executes it after its 3 s.
	if !rs.tap.awaitRuns(10*time.Second, runs+1, done+1) {
		t.Fatal("the cancelled call's run never ended at the fake")
	}
	for _, r := range rs.fake.Runs() {
		if r.ConfiguredProps["text"] == text && r.Executed {
			t.Error("the cancelled call's action was executed")
		}
	}
	rs.fake.SetRunDelay(0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if r := rs.call(ctx, c, user, toolSend, sendArgs("after cancel")); r.status() != "success" {
		t.Errorf("a call after the cancelled one: %v", r)
	}
}

// awaitRunStarted waits until one more actions/run request than runs has
// reached the fake.
func awaitRunStarted(t *testing.T, rs *testServer, runs int) {
	t.Helper()
	if !rs.tap.awaitRuns(20*time.Second, runs+1, 0) {
		t.Fatal("the call never reached actions/run")
	}
}

// cancelByContext cancels a call the way the mcp-go client does over
// Streamable HTTP: the request's context ends (the HTTP request is aborted),
// here once the call's run is at the fake.
func cancelByContext(t *testing.T, rs *testServer, c *client.Client) func(text string) {
	return func(text string) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		runs, _ := rs.tap.runs()
		go func() {
			defer cancel()
			rs.tap.awaitRuns(20*time.Second, runs+1, 0)
		}()
		req := mcp.CallToolRequest{}
		req.Params.Name = toolSend
		req.Params.Arguments = json.RawMessage(sendArgs(text))
		if _, err := c.CallTool(ctx, req); err == nil {
			t.Fatal("the cancelled call returned a result")
		}
	}
}

// TestReliabilityHTTPAbuse: bad credentials, slow clients, foreign sessions
// and webhook floods over Streamable HTTP.
func TestReliabilityHTTPAbuse(t *testing.T) {
	t.Parallel()
	rs := startServer(t, serverOptions{})
	demo := rs.credential(t, pdtest.DemoUser)
	other := rs.credential(t, pdtest.OtherUser)
	initMsg := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
	runs := func() int { return rs.fake.Count(pdtest.EndpointRun) }

	t.Run("credentials", func(t *testing.T) {
		before := runs()
		forged := func(claims string) string {
			enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
			return enc(`{"alg":"none","typ":"JWT"}`) + "." + enc(claims) + "."
		}
		exp := time.Now().Add(time.Hour).Unix()
		for name, auth := range map[string]string{
			"none":             "",
			"basic":            "Basic ZGVtbzpkZW1v",
			"empty bearer":     "Bearer ",
			"garbage":          "Bearer not.a.jwt",
			"alg none":         "Bearer " + forged(fmt.Sprintf(`{"sub":"demo-user","exp":%d}`, exp)),
			"no exp":           "Bearer " + signed(t, `{"sub":"demo-user"}`),
			"sub too long":     "Bearer " + signed(t, fmt.Sprintf(`{"sub":%q,"exp":%d}`, strings.Repeat("u", 300), exp)),
			"sub not a string": "Bearer " + signed(t, fmt.Sprintf(`{"sub":123,"exp":%d}`, exp)),
			"wrong secret":     "Bearer " + signedWith(t, "another-secret-another-secret-1234", fmt.Sprintf(`{"sub":"demo-user","exp":%d}`, exp)),
			"tampered":         "Bearer " + demo[:len(demo)-4] + "AAAA",
		} {
			req, _ := http.NewRequest(http.MethodPost, rs.url+"/mcp", strings.NewReader(initMsg))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			rs.recordText("<anonymous>", string(b))
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer ") {
				t.Errorf("%s: HTTP %d %q, want 401 with a Bearer challenge", name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		}
		// A header past the 64 KiB limit is refused before authentication.
		req, _ := http.NewRequest(http.MethodPost, rs.url+"/mcp", strings.NewReader(initMsg))
		req.Header.Set("Authorization", "Bearer "+strings.Repeat("A", 100<<10))
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
				t.Errorf("a 100 KiB Authorization header: HTTP %d, want 431", resp.StatusCode)
			}
		}
		if runs() != before {
			t.Error("a refused request ran an action")
		}
		if r := rawPost(t, rs.url+"/mcp", demo, "", initMsg); r.status != http.StatusOK {
			t.Errorf("a good initialize after the refused ones: HTTP %d", r.status)
		}
	})

	t.Run("slow clients", func(t *testing.T) {
		// Headers dribbled one line a second: the connection is closed by the
		// 10 s header timeout, and other clients are served meanwhile.
		const n = 16
		closed := make(chan time.Duration, n)
		began := time.Now()
		for range n {
			conn, err := net.Dial("tcp", strings.TrimPrefix(rs.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			go func() {
				_, _ = io.WriteString(conn, "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
				stop := make(chan struct{})
				go func() {
					for {
						select {
						case <-stop:
							return
						case <-time.After(time.Second):
							if _, err := io.WriteString(conn, "X-Slow: 1\r\n"); err != nil {
								return
							}
						}
					}
				}()
				_, _ = io.Copy(io.Discard, conn) // until the server closes it
				close(stop)
				closed <- time.Since(began)
			}()
		}
		// An unauthenticated request whose body never comes is answered at once.
		conn, err := net.Dial("tcp", strings.TrimPrefix(rs.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, _ = io.WriteString(conn, "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if line, err := bufio.NewReader(conn).ReadString('\n'); err != nil || !strings.Contains(line, "401") {
			t.Errorf("unauthenticated request with a body that never comes: %q %v, want 401 at once", line, err)
		}
		// Until every slow client is cut, other clients are served: a probe
		// a second (the pace of the dribble), each answered.
		probe := time.NewTicker(time.Second)
		defer probe.Stop()
		limit := time.After(25 * time.Second)
		probes := 0
		check := func() {
			probes++
			if got := rs.status("/healthz"); got != http.StatusOK {
				t.Errorf("healthz while slow clients hold connections (%d): %d", probes, got)
			}
		}
		check()
		for cut := 0; cut < n; {
			select {
			case d := <-closed:
				cut++
				if d < 8*time.Second || d > 16*time.Second {
					t.Errorf("a slow client was cut after %v, want about 10 s", d)
				}
			case <-probe.C:
				check()
			case <-limit:
				t.Fatal("a slow client's connection stayed open")
			}
		}
		if probes < 5 {
			t.Errorf("%d healthz probes while the slow clients held connections, want 5 or more", probes)
		}
	})

	t.Run("sessions", func(t *testing.T) {
		c := rs.dial(t, pdtest.DemoUser, "/mcp", listen(&counter{}))
		sid := c.GetSessionId()
		before := runs()
		call := fmt.Sprintf(`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, toolSend, sendArgs("foreign session"))
		if r := rawPost(t, rs.url+"/mcp", other, sid, call); r.status != http.StatusForbidden {
			t.Errorf("another user on the session: HTTP %d %.200s, want 403", r.status, r.body)
		}
		for range 50 {
			if r := rawPost(t, rs.url+"/mcp", demo, "mcp-session-"+strings.ToLower(rand.Text()), call); r.status != http.StatusNotFound {
				t.Errorf("a guessed session: HTTP %d, want 404", r.status)
				break
			}
		}
		if r := rawPost(t, rs.url+"/mcp/github", demo, sid, call); r.status != http.StatusNotFound {
			t.Errorf("the session on another endpoint: HTTP %d, want 404", r.status)
		}
		del, _ := http.NewRequest(http.MethodDelete, rs.url+"/mcp", nil)
		del.Header.Set("Authorization", "Bearer "+other)
		del.Header.Set(mcpserver.HeaderKeySessionID, sid)
		del.Header.Set(mcp.HeaderProtocolVersion, mcp.LATEST_LEGACY_PROTOCOL_VERSION)
		if resp, err := http.DefaultClient.Do(del); err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("another user deleting the session: HTTP %d, want 403", resp.StatusCode)
			}
		}
		if runs() != before {
			t.Error("a request on a foreign or guessed session ran an action")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if r := rs.call(ctx, c, pdtest.DemoUser, toolSend, sendArgs("own session")); r.status() != "success" {
			t.Errorf("the owner's session after the attempts: %v", r)
		}
	})

	t.Run("webhook flood with bad secrets", func(t *testing.T) {
		user := rs.newUser("slack")
		c := rs.dial(t, user, "/mcp", dialOptions{})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if r := rs.call(ctx, c, user, "notion_search", `{}`); r.status() != "account_required" {
			t.Fatalf("first call: %v", r)
		}
		acct := rs.fake.AddAccount(pdtest.Account{ExternalUserID: user, App: "notion", Name: "new", Healthy: true})
		event := fmt.Sprintf(`{"event":"CONNECTION_SUCCESS","connect_token":"ctok_x","environment":"development","account":{"id":%q,"external_id":%q,"healthy":true,"app":{"name_slug":"notion"}}}`, acct.ID, user)
		linesBefore := strings.Count(rs.stderr.String(), "\n")
		secrets := []string{plantedWebhookSecret[:len(plantedWebhookSecret)-1], plantedWebhookSecret + "x", strings.ToUpper(plantedWebhookSecret), "", "%2e%2e", plantedWebhookSecret + "/"}
		for range 300 {
			secrets = append(secrets, strings.ToLower(rand.Text()))
		}
		var wg sync.WaitGroup
		var wrong atomic.Int32
		sem := make(chan struct{}, 32)
		for _, s := range secrets {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				resp, err := http.Post(rs.url+"/webhooks/pipedream/"+s, "application/json", strings.NewReader(event))
				if err != nil {
					wrong.Add(1)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusNotFound {
					wrong.Add(1)
				}
			})
		}
		wg.Wait()
		if n := wrong.Load(); n > 0 {
			t.Errorf("%d of %d webhook posts with a bad secret were not 404", n, len(secrets))
		}
		if r := rs.call(ctx, c, user, "notion_search", `{}`); r.status() != "account_required" {
			t.Errorf("the flood invalidated the cached accounts: %v", r)
		}
		if grown := strings.Count(rs.stderr.String(), "\n") - linesBefore; grown > 2 {
			t.Errorf("the flood of %d posts added %d log lines", len(secrets), grown)
		}
		resp, err := http.Post(rs.url+"/webhooks/pipedream/"+plantedWebhookSecret, "application/json", strings.NewReader(event))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if r := rs.call(ctx, c, user, "notion_search", `{}`); resp.StatusCode != http.StatusOK || r.status() != "success" {
			t.Errorf("after the real webhook (HTTP %d): %v", resp.StatusCode, r)
		}
	})
}

// TestReliabilitySSEAbuse: foreign and guessed sessions, bad keys and a
// cancelled call over legacy SSE with API keys.
func TestReliabilitySSEAbuse(t *testing.T) {
	t.Parallel()
	rs := startServer(t, serverOptions{transport: "sse", auth: "keys"})
	c := rs.dial(t, pdtest.DemoUser, "/sse", dialOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if r := rs.call(ctx, c, pdtest.DemoUser, toolSend, sendArgs("over SSE")); r.status() != "success" {
		t.Fatalf("call over SSE: %v", r)
	}
	sid := sseSessionID(t, c)
	before := rs.fake.Count(pdtest.EndpointRun)
	call := fmt.Sprintf(`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, toolSend, sendArgs("foreign SSE session"))
	postBody := func(path, key, body string) int {
		req, _ := http.NewRequest(http.MethodPost, rs.url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	post := func(path, key string) int { return postBody(path, key, call) }
	if got := post("/message?sessionId="+sid, plantedAPIKeyOther); got != http.StatusForbidden {
		t.Errorf("another user's key on the session: HTTP %d, want 403", got)
	}
	if got := post("/message?sessionId="+sid, "not-a-key-not-a-key-0000"); got != http.StatusUnauthorized {
		t.Errorf("an unknown key on the session: HTTP %d, want 401", got)
	}
	if got := post("/message?sessionId="+sid, ""); got != http.StatusUnauthorized {
		t.Errorf("no key on the session: HTTP %d, want 401", got)
	}
	for range 50 {
		if got := post("/message?sessionId=mcp-session-"+strings.ToLower(rand.Text()), plantedAPIKeyDemo); got != http.StatusNotFound {
			t.Errorf("a guessed session: HTTP %d, want 404", got)
			break
		}
	}
	if got := post("/sse/github/message?sessionId="+sid, plantedAPIKeyDemo); got != http.StatusNotFound {
		t.Errorf("the session on another endpoint: HTTP %d, want 404", got)
	}
	if rs.fake.Count(pdtest.EndpointRun) != before {
		t.Error("a refused message ran an action")
	}
	t.Run("cancelled call", func(t *testing.T) {
		// Over SSE the call's POST is answered 202 at once, so a client
		// cancels with notifications/cancelled (the mcp-go client sends it on
		// stdio only; here it is sent by hand on the same session).
		testCancelledCall(t, rs, c, pdtest.DemoUser, func(text string) {
			msg := fmt.Sprintf(`{"jsonrpc":"2.0","id":"cancel-1","method":"tools/call","params":{"name":%q,"arguments":%s}}`, toolSend, sendArgs(text))
			runs, _ := rs.tap.runs()
			if got := postBody("/message?sessionId="+sid, plantedAPIKeyDemo, msg); got != http.StatusAccepted {
				t.Fatalf("the call: HTTP %d", got)
			}
			awaitRunStarted(t, rs, runs) // the call runs: mcp-go can cancel it
			note := `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"cancel-1","reason":"the user gave up"}}`
			if got := postBody("/message?sessionId="+sid, plantedAPIKeyDemo, note); got != http.StatusAccepted {
				t.Fatalf("notifications/cancelled: HTTP %d", got)
			}
		})
	})
}

// sseSessionID returns the session id from an SSE client's message endpoint.
func sseSessionID(t *testing.T, c *client.Client) string {
	t.Helper()
	tr, ok := c.GetTransport().(*transport.SSE)
	if !ok || tr.GetEndpoint() == nil {
		t.Fatal("not an SSE client with an endpoint")
	}
	sid := tr.GetEndpoint().Query().Get("sessionId")
	if sid == "" {
		t.Fatalf("no sessionId in %s", tr.GetEndpoint())
	}
	return sid
}

// signed signs claims (JSON) with the planted JWT secret.
func signed(t *testing.T, claims string) string {
	t.Helper()
	return signedWith(t, plantedJWTSecret, claims)
}

func signedWith(t *testing.T, secret, claims string) string {
	t.Helper()
	var m jwt.MapClaims
	if err := json.Unmarshal([]byte(claims), &m); err != nil {
		t.Fatal(err)
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, m).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

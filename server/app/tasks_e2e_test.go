package app

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/server"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// rpcAnswer is a JSON-RPC answer read from a POST (JSON or one SSE event).
type rpcAnswer struct {
	Result map[string]any `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func decodeAnswer(t *testing.T, r reply) rpcAnswer {
	t.Helper()
	text := r.body
	if strings.HasPrefix(r.header.Get("Content-Type"), "text/event-stream") {
		for line := range strings.Lines(text) {
			if data, ok := strings.CutPrefix(strings.TrimSpace(line), "data:"); ok && strings.Contains(data, `"id"`) {
				text = data
			}
		}
	}
	var a rpcAnswer
	if err := json.Unmarshal([]byte(text), &a); err != nil {
		t.Fatalf("HTTP %d, not a JSON-RPC answer: %v\n%s", r.status, err, r.body)
	}
	return a
}

// legacySession initializes a 2025-11-25 session by hand at url, declaring
// the tasks capability, and returns its id.
func legacySession(t *testing.T, url string) string {
	t.Helper()
	init := rawPost(t, url, "", "", `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"tasks":{"list":{},"cancel":{}}},"clientInfo":{"name":"raw","version":"1"}}}`)
	sid := init.header.Get(mcpserver.HeaderKeySessionID)
	if init.status != http.StatusOK || sid == "" {
		t.Fatalf("initialize: HTTP %d, session %q\n%s", init.status, sid, init.body)
	}
	caps := decodeAnswer(t, init).Result["capabilities"].(map[string]any)
	if _, ok := caps["tasks"]; !ok {
		t.Fatalf("initialize does not advertise tasks: %v", caps)
	}
	rawPost(t, url, "", sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return sid
}

// legacyRPC sends one request in a legacy session.
func legacyRPC(t *testing.T, url, sid string, id int, method string, params any) rpcAnswer {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	return decodeAnswer(t, rawPost(t, url, "", sid, string(body)))
}

// TestTasksLegacyHTTP drives 2025-11-25 tasks over Streamable HTTP with raw
// JSON-RPC (the Go SDK client has no tasks): a task-augmented call answers at
// once with a task, tasks/get and tasks/list show it, tasks/result waits for
// the run's result, the run happens once; unknown ids, another endpoint's
// tasks and cancelling an ended task get clear errors; a cancelled task stops
// its upstream run and has no result.
func TestTasksLegacyHTTP(t *testing.T) {
	t.Parallel()
	srv := startAskServer(t)
	// Long enough that the checks made while the task runs are made while
	// it runs, on a loaded machine too.
	srv.fake.SetRunDelay(3 * time.Second)
	url := srv.httpURL + "/mcp"
	sid := legacySession(t, url)

	list := legacyRPC(t, url, sid, 1, "tools/list", map[string]any{})
	for _, tl := range list.Result["tools"].([]any) {
		if exec, _ := tl.(map[string]any)["execution"].(map[string]any); exec["taskSupport"] != "optional" {
			t.Fatalf("tool %v does not say it can run as a task: %v", tl.(map[string]any)["name"], exec)
		}
	}

	runs := srv.fake.Count(pdtest.EndpointRun)
	created := time.Now()
	call := legacyRPC(t, url, sid, 2, "tools/call", map[string]any{"name": "slack_list_channels", "arguments": map[string]any{}, "task": map[string]any{"ttl": 120000}})
	if call.Error != nil || time.Since(created) > 2*time.Second {
		t.Fatalf("a task-augmented call should answer at once with a task: %+v after %s", call, time.Since(created))
	}
	task := call.Result["task"].(map[string]any)
	id, _ := task["taskId"].(string)
	if id == "" || task["status"] != "working" || task["ttl"] != float64(120000) || task["pollInterval"] == nil {
		t.Fatalf("CreateTaskResult: %v", task)
	}

	if got := legacyRPC(t, url, sid, 3, "tasks/get", map[string]any{"taskId": id}); got.Result["taskId"] != id || got.Result["status"] != "working" {
		t.Errorf("tasks/get while running: %+v", got)
	}
	if got := legacyRPC(t, url, sid, 4, "tasks/list", map[string]any{}); len(got.Result["tasks"].([]any)) != 1 {
		t.Errorf("tasks/list: %+v", got)
	}
	if m := metricsText(t, srv.httpURL); !strings.Contains(m, "\npipedream_mcp_tasks_running 1\n") || !strings.Contains(m, "\npipedream_mcp_tasks_kept 1\n") {
		t.Errorf("the task gauges do not show the running task:\n%s", m)
	}
	res := legacyRPC(t, url, sid, 5, "tasks/result", map[string]any{"taskId": id})
	sc, _ := res.Result["structuredContent"].(map[string]any)
	meta, _ := res.Result["_meta"].(map[string]any)
	if sc["status"] != tools.StatusSuccess || meta[mcp.RelatedTaskMetaKey] == nil {
		t.Fatalf("tasks/result: %+v", res)
	}
	if got := legacyRPC(t, url, sid, 6, "tasks/get", map[string]any{"taskId": id}); got.Result["status"] != "completed" {
		t.Errorf("tasks/get after the end: %+v", got)
	}
	// Read again: the stored result, not a second run.
	legacyRPC(t, url, sid, 7, "tasks/result", map[string]any{"taskId": id})
	if n := srv.fake.Count(pdtest.EndpointRun) - runs; n != 1 {
		t.Errorf("%d runs upstream for one task, want 1", n)
	}

	for _, tc := range []struct {
		name, method string
		params       map[string]any
		want         string
	}{
		{"unknown id", "tasks/get", map[string]any{"taskId": "task-nope"}, "no task"},
		{"unknown id for its result", "tasks/result", map[string]any{"taskId": "task-nope"}, "no task"},
		{"no id", "tasks/get", map[string]any{}, "taskId is required"},
		{"cancel an ended task", "tasks/cancel", map[string]any{"taskId": id}, "already ended"},
		{"unknown method", "tasks/frobnicate", map[string]any{"taskId": id}, "not found"},
		{"unknown tool", "tools/call", map[string]any{"name": "no_such_tool", "arguments": map[string]any{}, "task": map[string]any{}}, "tool 'no_such_tool' not found"},
	} {
		got := legacyRPC(t, url, sid, 8, tc.method, tc.params)
		if got.Error == nil || !strings.Contains(got.Error.Message, tc.want) {
			t.Errorf("%s: want an error saying %q, got %+v", tc.name, tc.want, got)
		}
	}

	// Another endpoint (another owner) does not see the task.
	other := srv.httpURL + "/mcp/slack"
	osid := legacySession(t, other)
	if got := legacyRPC(t, other, osid, 1, "tasks/get", map[string]any{"taskId": id}); got.Error == nil {
		t.Errorf("another endpoint read the task: %+v", got)
	}
	if got := legacyRPC(t, other, osid, 2, "tasks/list", map[string]any{}); len(got.Result["tasks"].([]any)) != 0 {
		t.Errorf("another endpoint lists tasks: %+v", got)
	}
	if got := legacyRPC(t, other, osid, 3, "tools/call", map[string]any{"name": "notion_search", "arguments": map[string]any{}, "task": map[string]any{}}); got.Error == nil || !strings.Contains(got.Error.Message, "not found") {
		t.Errorf("a task of a tool the endpoint does not serve: %+v", got)
	}

	// Cancel a running task: the upstream run stops, the task has no result.
	srv.fake.SetRunDelay(30 * time.Second)
	call = legacyRPC(t, url, sid, 9, "tools/call", map[string]any{"name": "slack_list_channels", "arguments": map[string]any{}, "task": map[string]any{}})
	id2 := call.Result["task"].(map[string]any)["taskId"].(string)
	waitFor(t, func() bool { return srv.fake.Count(pdtest.EndpointRun)-runs == 2 }, "the second run to reach the fake")
	cancelled := legacyRPC(t, url, sid, 10, "tasks/cancel", map[string]any{"taskId": id2})
	if cancelled.Result["status"] != "cancelled" {
		t.Fatalf("tasks/cancel: %+v", cancelled)
	}
	if got := legacyRPC(t, url, sid, 11, "tasks/result", map[string]any{"taskId": id2}); got.Error == nil || !strings.Contains(got.Error.Message, "cancelled") {
		t.Errorf("tasks/result of a cancelled task: %+v", got)
	}
	if !srv.log.awaitLog(10*time.Second, func(log string) bool { return strings.Contains(log, "status=timeout") }) {
		t.Errorf("the cancelled run was not stopped (no audit line)")
	}
}

// modernRPC sends one 2026-07-28 request; takesTasks declares the tasks
// extension.
func modernRPC(t *testing.T, url string, takesTasks bool, method string, params map[string]any) rpcAnswer {
	t.Helper()
	caps := map[string]any{}
	if takesTasks {
		caps["extensions"] = map[string]any{server.TasksExtension: map[string]any{}}
	}
	params["_meta"] = map[string]any{
		mcp.MetaKeyProtocolVersion:    "2026-07-28",
		mcp.MetaKeyClientInfo:         map[string]any{"name": "raw", "version": "1"},
		mcp.MetaKeyClientCapabilities: caps,
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set(mcp.HeaderProtocolVersion, "2026-07-28")
	req.Header.Set(mcp.HeaderMethod, method)
	name, _ := params["name"].(string)
	if id, ok := params["taskId"].(string); ok {
		name = id
	}
	if name != "" {
		req.Header.Set(mcp.HeaderName, name)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return decodeAnswer(t, reply{status: resp.StatusCode, header: resp.Header, body: string(raw)})
}

// TestTasksModernHTTP drives the 2026-07-28 tasks extension over Streamable
// HTTP: a call that ends within the call timeout answers as usual; one that
// outlives it answers with a task handle (resultType "task") and runs on, and
// tasks/get carries its result once it ends; a client without the extension
// still gets "timeout" at the call timeout.
func TestTasksModernHTTP(t *testing.T) {
	t.Parallel()
	srv := startAskServer(t, "--call-timeout", "1s")
	url := srv.httpURL + "/mcp"
	args := func() map[string]any {
		return map[string]any{"name": "slack_list_channels", "arguments": map[string]any{}}
	}

	caps, _ := modernRPC(t, url, true, "server/discover", map[string]any{}).Result["capabilities"].(map[string]any)
	if ext, _ := caps["extensions"].(map[string]any); ext[server.TasksExtension] == nil || caps["tasks"] != nil {
		t.Errorf("server/discover should advertise the tasks extension and not the 2025-11-25 capability: %v", caps)
	}

	quick := modernRPC(t, url, true, "tools/call", args())
	if quick.Result["resultType"] != "complete" || quick.Result["content"] == nil {
		t.Fatalf("a quick call should answer as usual: %+v", quick)
	}

	srv.fake.SetRunDelay(2500 * time.Millisecond)
	runs := srv.fake.Count(pdtest.EndpointRun)
	handle := modernRPC(t, url, true, "tools/call", args())
	id, _ := handle.Result["taskId"].(string)
	if handle.Result["resultType"] != "task" || id == "" || handle.Result["status"] != "working" || handle.Result["ttlSeconds"] == nil || handle.Result["result"] != nil {
		t.Fatalf("a call past the call timeout should answer with a task handle: %+v", handle)
	}
	var done rpcAnswer
	if !eventually(20*time.Second, func() bool {
		done = modernRPC(t, url, true, "tasks/get", map[string]any{"taskId": id})
		return done.Result["status"] != "working"
	}) {
		t.Fatalf("the task did not end: %+v", done)
	}
	result, _ := done.Result["result"].(map[string]any)
	sc, _ := result["structuredContent"].(map[string]any)
	if done.Result["status"] != "completed" || done.Result["resultType"] != "complete" || sc["status"] != tools.StatusSuccess {
		t.Fatalf("tasks/get of the ended task should carry the result: %+v", done)
	}
	if n := srv.fake.Count(pdtest.EndpointRun) - runs; n != 1 {
		t.Errorf("%d runs upstream for one call, want 1", n)
	}

	for _, tc := range []struct {
		method string
		params map[string]any
		ack    bool
		want   string
	}{
		{"tasks/result", map[string]any{"taskId": id}, false, "removed"},
		{"tasks/list", map[string]any{}, false, "removed"},
		{"tasks/get", map[string]any{"taskId": "task-nope"}, false, "no task"},
		{"tasks/cancel", map[string]any{"taskId": "task-nope"}, true, ""},
		{"tasks/cancel", map[string]any{"taskId": id}, true, ""},
	} {
		got := modernRPC(t, url, true, tc.method, tc.params)
		switch {
		case tc.ack && (got.Error != nil || got.Result["resultType"] != "complete"):
			t.Errorf("%s %v: want an acknowledgement, got %+v", tc.method, tc.params, got)
		case !tc.ack && (got.Error == nil || !strings.Contains(got.Error.Message, tc.want)):
			t.Errorf("%s %v: want an error saying %q, got %+v", tc.method, tc.params, tc.want, got)
		}
	}

	// Without the extension: unchanged, the call times out.
	plain := modernRPC(t, url, false, "tools/call", args())
	if sc, _ := plain.Result["structuredContent"].(map[string]any); sc["status"] != tools.StatusTimeout {
		t.Errorf("a client without the tasks extension should get %q: %+v", tools.StatusTimeout, plain)
	}
}

// TestTasksStdio runs a task-augmented call over stdio (the built binary),
// with raw JSON-RPC lines: the task answers at once, tasks/result brings the
// result, and stdout carries only protocol messages.
func TestTasksStdio(t *testing.T) {
	t.Parallel()
	fake := pdtest.NewSandbox()
	fake.AcceptSecret(pdtest.SandboxClientID, plantedClientSecret)
	fake.SetRunDelay(500 * time.Millisecond)
	api := serveAPI(t, fake, "127.0.0.1:0")
	cmd := exec.Command(builtBinary(t))
	cmd.Env = envList(serverEnv(api.url, "slack", map[string]string{"PIPEDREAM_EXTERNAL_USER_ID": pdtest.DemoUser}))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("server log:\n%s", tail(stderr.String(), 40))
		}
	})
	lines := bufio.NewScanner(stdout)
	lines.Buffer(nil, 16<<20)
	send := func(id int, method string, params any) map[string]any {
		t.Helper()
		b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
		fmt.Fprintf(stdin, "%s\n", b)
		for lines.Scan() {
			var msg map[string]any
			if err := json.Unmarshal(lines.Bytes(), &msg); err != nil {
				t.Fatalf("stdout carries something other than JSON-RPC: %q", lines.Text())
			}
			if msg["id"] == float64(id) {
				return msg
			}
		}
		t.Fatalf("stdout ended before the answer to %s", method)
		return nil
	}
	send(0, "initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{"tasks": map[string]any{}}, "clientInfo": map[string]any{"name": "raw", "version": "1"}})
	fmt.Fprintln(stdin, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	call := send(1, "tools/call", map[string]any{"name": "slack_list_channels", "arguments": map[string]any{}, "task": map[string]any{}})
	task, _ := call["result"].(map[string]any)["task"].(map[string]any)
	id, _ := task["taskId"].(string)
	if id == "" || task["status"] != "working" || task["ttl"] != float64(server.DefaultTaskTTL.Milliseconds()) {
		t.Fatalf("CreateTaskResult over stdio: %v", call)
	}
	res := send(2, "tasks/result", map[string]any{"taskId": id})
	sc, _ := res["result"].(map[string]any)["structuredContent"].(map[string]any)
	if sc["status"] != tools.StatusSuccess {
		t.Fatalf("tasks/result over stdio: %v", res)
	}
	if got := send(3, "tasks/get", map[string]any{"taskId": id}); got["result"].(map[string]any)["status"] != "completed" {
		t.Errorf("tasks/get over stdio: %v", got)
	}
}

// TestTasksLegacyContinuation: a 2025-11-25 client that declared the tasks
// capability makes an ordinary call that outlives --call-timeout: the answer
// names the task the call continues as, tasks/result brings the call's
// result, and it ran once. A session without the capability still gets
// "timeout".
func TestTasksLegacyContinuation(t *testing.T) {
	t.Parallel()
	srv := startAskServer(t, "--call-timeout", "1s")
	srv.fake.SetRunDelay(2500 * time.Millisecond)
	url := srv.httpURL + "/mcp"
	sid := legacySession(t, url)
	runs := srv.fake.Count(pdtest.EndpointRun)
	call := legacyRPC(t, url, sid, 1, "tools/call", map[string]any{"name": "slack_list_channels", "arguments": map[string]any{}})
	meta, _ := call.Result["_meta"].(map[string]any)
	related, _ := meta[mcp.RelatedTaskMetaKey].(map[string]any)
	id, _ := related["taskId"].(string)
	if id == "" || call.Result["isError"] == true || !strings.Contains(fmt.Sprint(call.Result["content"]), id) {
		t.Fatalf("the answer at the call timeout should name the task: %+v", call)
	}
	res := legacyRPC(t, url, sid, 2, "tasks/result", map[string]any{"taskId": id})
	if sc, _ := res.Result["structuredContent"].(map[string]any); sc["status"] != tools.StatusSuccess {
		t.Fatalf("tasks/result: %+v", res)
	}
	if n := srv.fake.Count(pdtest.EndpointRun) - runs; n != 1 {
		t.Errorf("%d runs upstream for one call, want 1", n)
	}

	init := rawPost(t, url, "", "", `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	plainSID := init.header.Get(mcpserver.HeaderKeySessionID)
	rawPost(t, url, "", plainSID, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	plain := legacyRPC(t, url, plainSID, 1, "tools/call", map[string]any{"name": "slack_list_channels", "arguments": map[string]any{}})
	if sc, _ := plain.Result["structuredContent"].(map[string]any); sc["status"] != tools.StatusTimeout {
		t.Errorf("a client without the tasks capability should get %q: %+v", tools.StatusTimeout, plain)
	}
}

// metricsText is the server's /metrics page.
func metricsText(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

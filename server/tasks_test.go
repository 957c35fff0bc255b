package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

// taskRequest sends one message to the task layer as owner and returns the
// answer, decoded.
func taskRequest(t testing.TB, s *Server, owner string, method string, params map[string]any) (result map[string]any, errMsg string) {
	t.Helper()
	raw, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	if err != nil {
		t.Fatal(err)
	}
	m, ok := peekTaskMessage(raw)
	if !ok {
		t.Fatalf("the task layer does not take %s", raw)
	}
	out, err := json.Marshal(s.tasks.serve(context.Background(), m, raw, owner))
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Result map[string]any
		Error  *struct{ Message string }
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Error != nil {
		return nil, resp.Error.Message
	}
	return resp.Result, ""
}

// startTask starts a task-augmented call of tool for owner and returns the
// task id ("" and the error when refused).
func startTask(t testing.TB, s *Server, owner, tool string, ttlMS int64) (string, string) {
	t.Helper()
	res, msg := taskRequest(t, s, owner, "tools/call", map[string]any{"name": tool, "task": map[string]any{"ttl": ttlMS}})
	if msg != "" {
		return "", msg
	}
	return res["task"].(map[string]any)["taskId"].(string), ""
}

func newTaskServer() (*Server, *fakeTools) {
	ft := &fakeTools{}
	ft.ready.Store(true)
	return New(ft, Options{}), ft
}

// TestTaskBounds: a user has at most MaxRunningTasksPerUser tasks running; the
// next is refused with what to do, another user is not affected, and ending
// one makes room.
func TestTaskBounds(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s, _ := newTaskServer()
		defer s.tasks.cancelAll()
		var first string
		for i := range MaxRunningTasksPerUser {
			id, msg := startTask(t, s, "alice", "block", 0)
			if msg != "" {
				t.Fatalf("task %d refused: %s", i, msg)
			}
			if first == "" {
				first = id
			}
		}
		if _, msg := startTask(t, s, "alice", "block", 0); !strings.Contains(msg, fmt.Sprint(MaxRunningTasksPerUser)) || !strings.Contains(msg, "tasks/cancel") {
			t.Errorf("the task over the bound: want a refusal naming the bound and tasks/cancel, got %q", msg)
		}
		if _, msg := startTask(t, s, "bob", "block", 0); msg != "" {
			t.Errorf("another user was refused: %s", msg)
		}
		if _, msg := taskRequest(t, s, "alice", "tasks/cancel", map[string]any{"taskId": first}); msg != "" {
			t.Fatal(msg)
		}
		if _, msg := startTask(t, s, "alice", "block", 0); msg != "" {
			t.Errorf("after a cancel: %s", msg)
		}
	})
}

// TestTaskLifetime: a task is kept for its lifetime (the client's ttl within
// [MinTaskTTL, MaxTaskTTL]), then forgotten; one still running then is
// stopped.
func TestTaskLifetime(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s, ft := newTaskServer()
		ft.blocked = make(chan struct{}, 1)
		running, _ := startTask(t, s, "alice", "block", 1) // 1 ms asks too little: a minute
		<-ft.blocked
		ended, _ := startTask(t, s, "alice", "count", 2*time.Minute.Milliseconds())
		if _, msg := taskRequest(t, s, "alice", "tasks/result", map[string]any{"taskId": ended}); msg != "" {
			t.Fatal(msg)
		}
		time.Sleep(MinTaskTTL + time.Second)
		synctest.Wait()
		if _, msg := taskRequest(t, s, "alice", "tasks/get", map[string]any{"taskId": running}); !strings.Contains(msg, "no task") {
			t.Errorf("the running task after its lifetime: %q", msg)
		}
		if res, msg := taskRequest(t, s, "alice", "tasks/get", map[string]any{"taskId": ended}); msg != "" || res["status"] != "completed" {
			t.Errorf("the ended task within its lifetime: %v %q", res, msg)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if s.Tasks() != 0 {
			t.Errorf("%d tasks kept after every lifetime ended", s.Tasks())
		}
	})
}

// TestTaskKeptBound: beyond MaxKeptTasksPerUser the oldest ended task goes.
func TestTaskKeptBound(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s, _ := newTaskServer()
		var ids []string
		for range MaxKeptTasksPerUser + 1 {
			id, msg := startTask(t, s, "alice", "count", 0)
			if msg != "" {
				t.Fatal(msg)
			}
			synctest.Wait() // it ends
			time.Sleep(time.Second)
			ids = append(ids, id)
		}
		if s.Tasks() != MaxKeptTasksPerUser {
			t.Errorf("%d tasks kept, want %d", s.Tasks(), MaxKeptTasksPerUser)
		}
		if _, msg := taskRequest(t, s, "alice", "tasks/get", map[string]any{"taskId": ids[0]}); msg == "" {
			t.Errorf("the oldest task is still kept")
		}
		s.tasks.cancelAll()
	})
}

func TestClampTTL(t *testing.T) {
	t.Parallel()
	ms := func(v int64) *int64 { return &v }
	for _, tc := range []struct {
		ask  *int64
		want time.Duration
	}{
		{nil, DefaultTaskTTL},
		{ms(0), DefaultTaskTTL},
		{ms(-5), DefaultTaskTTL},
		{ms(10), MinTaskTTL},
		{ms(5 * 60 * 1000), 5 * time.Minute},
		{ms(24 * 3600 * 1000), MaxTaskTTL},
	} {
		if got := clampTTL(tc.ask); got != tc.want {
			t.Errorf("clampTTL(%v) = %s, want %s", tc.ask, got, tc.want)
		}
	}
}

// TestPeekTaskMessage: the task layer takes exactly the task methods and the
// calls that may become tasks; everything else goes to mcp-go.
func TestPeekTaskMessage(t *testing.T) {
	t.Parallel()
	modern := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":%s}`
	for _, tc := range []struct {
		msg  string
		want bool
	}{
		{`{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"taskId":"x"}}`, true},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","task":{}}}`, true},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"}}`, false},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"task":"x"}}}`, false},
		{`{"jsonrpc":"2.0","method":"tasks/get","params":{"taskId":"x"}}`, false}, // a notification
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a",` + fmt.Sprintf(modern, `{"extensions":{"io.modelcontextprotocol/tasks":{}}}`) + `}}`, true},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a",` + fmt.Sprintf(modern, `{}`) + `}}`, false},
		// The modern era ignores the legacy params.task.
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","task":{},` + fmt.Sprintf(modern, `{}`) + `}}`, false},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, false},
	} {
		if _, got := peekTaskMessage([]byte(tc.msg)); got != tc.want {
			t.Errorf("peekTaskMessage(%s) = %v, want %v", tc.msg, got, tc.want)
		}
	}
}

// BenchmarkOpenTask reports the memory one running task holds (B/task): the
// task, its run's goroutines and context, and mcp-go's request state.
func BenchmarkOpenTask(b *testing.B) {
	s, ft := newTaskServer()
	ft.blocked = make(chan struct{}, 1)
	defer s.tasks.cancelAll()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < b.N; i++ {
		// One task per user: the per-user bound is not what is measured.
		if _, msg := startTask(b, s, fmt.Sprint("user-", i), "block", 0); msg != "" {
			b.Fatal(msg)
		}
		<-ft.blocked
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(b.N), "B/task")
	b.ReportMetric(float64(runtime.NumGoroutine())/float64(b.N), "goroutines/task")
}

// TestTasksRefusedOnSSE: the legacy SSE transport answers task messages with
// a clear error and runs nothing (its answers travel on the stream, which
// the task layer does not write to).
func TestTasksRefusedOnSSE(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *HTTPOptions) { o.Transport = "sse" })
	ep, stop := sseEndpoint(t, f.url+"/sse", "tok-alice")
	defer stop()
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"count","task":{}}}`,
		`{"jsonrpc":"2.0","id":8,"method":"tasks/get","params":{"taskId":"task-x"}}`,
	} {
		resp := rawPost(t, f.url+ep, "tok-alice", "", body)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "not the legacy SSE transport") {
			t.Errorf("%s: HTTP %d %s", body, resp.StatusCode, b)
		}
	}
	if n := f.tools.runs.Load(); n != 0 {
		t.Errorf("%d runs", n)
	}
}

// TestContinueAsTask: a 2025-11-25 client that declared tasks makes an
// ordinary call that outlives the call timeout: the answer names the task it
// continues as, whose result tasks/result brings; when the user already has
// MaxRunningTasksPerUser tasks running, the call stops at the call timeout
// and says why.
func TestContinueAsTask(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ft := &fakeTools{slow: time.Minute}
		ft.ready.Store(true)
		s := New(ft, Options{Tasks: TaskOptions{Wait: time.Second}})
		defer s.tasks.cancelAll()
		c, err := client.NewInProcessClient(s.MCP())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx := context.Background()
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		init := mcp.InitializeRequest{}
		init.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
		init.Params.Capabilities.Tasks = &mcp.TasksCapability{}
		if _, err := c.Initialize(ctx, init); err != nil {
			t.Fatal(err)
		}
		call := func() *mcp.CallToolResult {
			req := mcp.CallToolRequest{}
			req.Params.Name = "slow"
			res, err := c.CallTool(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}

		res := call()
		related, _ := res.Meta.AdditionalFields[mcp.RelatedTaskMetaKey].(map[string]any)
		id, _ := related["taskId"].(string)
		if id == "" || !strings.Contains(fmt.Sprint(res.Content), id) {
			t.Fatalf("want an answer naming the task, got %+v", res)
		}
		got, msg := taskRequest(t, s, stdioTaskOwner, "tasks/result", map[string]any{"taskId": id})
		if msg != "" || !strings.Contains(fmt.Sprint(got["content"]), "done") {
			t.Fatalf("tasks/result: %v %q", got, msg)
		}

		for range MaxRunningTasksPerUser {
			if _, msg := startTask(t, s, stdioTaskOwner, "block", 0); msg != "" {
				t.Fatal(msg)
			}
		}
		res = call()
		if res.Meta != nil || !strings.Contains(fmt.Sprint(res.Content), "stopped at the call timeout") || !strings.Contains(fmt.Sprint(res.Content), "cancelled") {
			t.Errorf("at the bound: want the call stopped, saying why, got %+v", res.Content)
		}
	})
}

// TestCheckTaskHeaders: a 2026-07-28 task message's headers must agree with
// its body, as mcp-go requires of the requests it serves.
func TestCheckTaskHeaders(t *testing.T) {
	t.Parallel()
	meta := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"extensions":{"io.modelcontextprotocol/tasks":{}}}}`
	get := `{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"taskId":"task-a",` + meta + `}}`
	call := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"count",` + meta + `}}`
	for _, tc := range []struct {
		name, msg, method, hname string
		ok                       bool
	}{
		{"task named", get, "tasks/get", "task-a", true},
		{"task not named", get, "tasks/get", "", true},
		{"another task", get, "tasks/get", "task-b", false},
		{"another method", get, "tasks/cancel", "task-a", false},
		{"tool named", call, "tools/call", "count", true},
		{"another tool", call, "tools/call", "slow", false},
		{"tool not named", call, "tools/call", "", false},
	} {
		m, ok := peekTaskMessage([]byte(tc.msg))
		if !ok {
			t.Fatalf("%s: not a task message", tc.name)
		}
		h := http.Header{}
		h.Set(mcp.HeaderProtocolVersion, "2026-07-28")
		h.Set(mcp.HeaderMethod, tc.method)
		if tc.hname != "" {
			h.Set(mcp.HeaderName, tc.hname)
		}
		if err := checkTaskHeaders(h, m, []byte(tc.msg)); (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

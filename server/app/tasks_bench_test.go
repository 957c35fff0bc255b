package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/server"
)

// BenchmarkOpenTasks reports what one running task costs the server: heap
// (KB/task) and goroutines, for task-augmented calls of a real action whose
// upstream runs the sandbox API (its own process) holds for 10 minutes. The
// server runs in process with JWT users, MaxRunningTasksPerUser tasks each.
//
//	PDMCP_BENCH_FULL=1 go test -run '^$' -bench OpenTasks -benchtime 1x ./server/app
func BenchmarkOpenTasks(b *testing.B) {
	benchNeedFull(b)
	const users = 10
	inspect := "127.0.0.1:" + freePort(b)
	api := benchStartAPI(b, "--run-delay", "10m", "--inspect-addr", inspect)
	for i := range users {
		acct, _ := json.Marshal(pdtest.Account{ID: fmt.Sprintf("apn_task_%d", i), ExternalUserID: fmt.Sprint("task-user-", i), App: "slack", Name: "ws", Healthy: true})
		resp, err := http.Post("http://"+inspect+"/accounts", "application/json", strings.NewReader(string(acct)))
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("add account: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	var perTask, goroutines float64
	for b.Loop() {
		b.StopTimer()
		srv := startServer(b, serverOptions{baseURL: api.url, apps: benchApps, logLevel: "info",
			env: map[string]string{"PIPEDREAM_CLIENT_SECRET": pdtest.SandboxClientSecret}})
		type session struct{ cred, id string }
		sessions := make([]session, users)
		for i := range sessions {
			cred := srv.credential(b, fmt.Sprint("task-user-", i))
			init := rawPost(b, srv.url+"/mcp", cred, "", `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"tasks":{}},"clientInfo":{"name":"bench","version":"1"}}}`)
			sessions[i] = session{cred, init.header.Get("Mcp-Session-Id")}
			rawPost(b, srv.url+"/mcp", cred, sessions[i].id, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
		}
		call, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
			"params": map[string]any{"name": benchTool, "arguments": benchArgs, "task": map[string]any{}}})
		// Measurement pauses, not orderings: the heap is read once the
		// server has settled, before and after the tasks start.
		time.Sleep(200 * time.Millisecond)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		g0 := runtime.NumGoroutine()
		b.StartTimer()
		for _, s := range sessions {
			for range server.MaxRunningTasksPerUser {
				if r := rawPost(b, srv.url+"/mcp", s.cred, s.id, string(call)); !strings.Contains(r.body, `"working"`) {
					b.Fatalf("no task: HTTP %d %s", r.status, r.body)
				}
			}
		}
		b.StopTimer()
		n := float64(users * server.MaxRunningTasksPerUser)
		time.Sleep(time.Second)
		runtime.GC()
		runtime.ReadMemStats(&after)
		perTask += float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
		goroutines += float64(runtime.NumGoroutine()-g0) / n
		http.DefaultClient.CloseIdleConnections()
		srv.close(b)
		b.StartTimer()
	}
	b.ReportMetric(perTask/float64(b.N)/1024, "KB/task")
	b.ReportMetric(goroutines/float64(b.N), "goroutines/task")
}

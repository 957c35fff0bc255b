package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// inProcess serves set to an mcp-go in-process client that declares form and
// URL elicitation and answers every elicitation with answer; calls run as
// user.
func inProcess(tb testing.TB, set *tools.Set, user string, answer func(mcp.ElicitationRequest) *mcp.ElicitationResult) *client.Client {
	tb.Helper()
	srv := mcpserver.NewMCPServer("ask-test", "1", mcpserver.WithToolHandlerMiddleware(func(next mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return next(tools.WithUser(ctx, user), req)
		}
	}))
	srv.AddTools(set.Tools()...)
	c := client.NewClient(transport.NewInProcessTransportWithOptions(srv, transport.WithElicitationHandler(elicitFunc(answer))), client.WithElicitationHandler(elicitFunc(answer)))
	if err := c.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "ask-test", Version: "1"}
	init.Params.Capabilities.Elicitation = &mcp.ElicitationCapability{Form: &struct{}{}, URL: &struct{}{}}
	if _, err := c.Initialize(context.Background(), init); err != nil {
		tb.Fatal(err)
	}
	return c
}

type elicitFunc func(mcp.ElicitationRequest) *mcp.ElicitationResult

func (f elicitFunc) Elicit(_ context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	return f(req), nil
}

func status(tb testing.TB, res *mcp.CallToolResult) string {
	tb.Helper()
	var sc struct{ Status string }
	b, _ := json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(b, &sc)
	return sc.Status
}

// TestAdminConnectionNeverAsksToConnect: an admin connection's missing
// account is the administrator's to connect, so even a client that can show
// a link is never asked, and no Connect token is made.
func TestAdminConnectionNeverAsksToConnect(t *testing.T) {
	h := newHarness(t, tools.Options{}, tools.Connection{Name: "gmail", App: "gmail", Admin: true, ServiceUser: "nobody-connected"})
	var asked atomic.Int32
	c := inProcess(t, h.set, pdtest.DemoUser, func(mcp.ElicitationRequest) *mcp.ElicitationResult {
		asked.Add(1)
		return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionAccept}}
	})
	req := mcp.CallToolRequest{}
	req.Params.Name = "gmail_find_email"
	req.Params.Arguments = map[string]any{}
	res, err := c.CallTool(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := status(t, res); got != tools.StatusAccountRequired || asked.Load() != 0 || len(h.fake.ConnectTokens()) != 0 {
		t.Errorf("status %s, asked %d times, %d Connect tokens; want account_required, 0, 0", got, asked.Load(), len(h.fake.ConnectTokens()))
	}
}

// BenchmarkWaitingForAccount measures what a call waiting for its user to
// connect an account costs while it waits: memory (heap and goroutine
// stacks) per waiting call, and upstream requests per wait (one read as the
// wait begins, with a webhook; that an idle wait reads nothing more is
// TestConnectAccountWaitWakesOnWebhook's). b.N calls wait at once; they end
// when the benchmark cancels them.
func BenchmarkWaitingForAccount(b *testing.B) {
	fake, url := benchFake(b)
	set, err := tools.New(tools.Options{Connections: benchConns(benchClient(b, url), "notion"), ConnectWait: time.Hour, WebhookURI: "https://mcp.example.com/webhooks/pipedream/x"})
	if err != nil {
		b.Fatal(err)
	}
	if err := set.Load(b.Context()); err != nil {
		b.Fatal(err)
	}
	asked := make(chan struct{}, b.N)
	c := inProcess(b, set, pdtest.DemoUser, func(mcp.ElicitationRequest) *mcp.ElicitationResult {
		asked <- struct{}{}
		return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{Action: mcp.ElicitationResponseActionAccept}}
	})
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	goroutines := runtime.NumGoroutine()
	reads := fake.Count(pdtest.EndpointAccounts)

	ctx, cancel := context.WithCancel(b.Context())
	var wg sync.WaitGroup
	b.ResetTimer()
	for i := range b.N {
		wg.Go(func() {
			req := mcp.CallToolRequest{}
			req.Params.Name = "notion_search"
			req.Params.Arguments = map[string]any{"query": fmt.Sprint(i)}
			_, _ = c.CallTool(ctx, req)
		})
	}
	for range b.N {
		<-asked
	}
	for set.AccountWaits() < b.N { // every call answered and waiting
		runtime.Gosched()
	}
	b.StopTimer()
	runtime.GC()
	var during runtime.MemStats
	runtime.ReadMemStats(&during)
	perWait := float64(during.HeapInuse+during.StackInuse) - float64(before.HeapInuse+before.StackInuse)
	b.ReportMetric(perWait/float64(b.N), "bytes/wait")
	b.ReportMetric(float64(runtime.NumGoroutine()-goroutines)/float64(b.N), "goroutines/wait")
	b.ReportMetric(float64(fake.Count(pdtest.EndpointAccounts)-reads)/float64(b.N), "account-reads/wait")
	cancel()
	wg.Wait()
}

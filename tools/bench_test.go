package tools_test

// Benchmarks of the tool set: building tools from catalogs, the cost of one
// call in the handler (with the real client against the in-process fake, and
// with a stub client that isolates this package), and the size of the tool
// list that agents read into their context.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// benchFake is the sandbox fake on loopback.
func benchFake(b *testing.B) (*pdtest.Fake, string) {
	b.Helper()
	fake := pdtest.NewSandbox()
	srv := httptest.NewServer(fake)
	b.Cleanup(srv.Close)
	return fake, srv.URL
}

func benchClient(b *testing.B, url string) *pdclient.Client {
	b.Helper()
	cl, err := pdclient.New(pdclient.Config{
		ClientID: pdtest.SandboxClientID, ClientSecret: pdtest.SandboxClientSecret,
		ProjectID: pdtest.SandboxProjectID, Environment: pdtest.SandboxEnvironment,
		BaseURL: url, Version: "bench",
	})
	if err != nil {
		b.Fatal(err)
	}
	return cl
}

func benchConns(cl tools.Connect, apps ...string) []tools.Connection {
	conns := make([]tools.Connection, len(apps))
	for i, app := range apps {
		conns[i] = tools.Connection{Name: app, App: app, Client: cl}
	}
	return conns
}

// BenchmarkLoadToolSet is a cold start of the tool set: a new client (no
// token, empty cache), every catalog fetched, every action translated to a
// tool with its validator. Metrics: upstream requests and tools per load.
func BenchmarkLoadToolSet(b *testing.B) {
	fake, url := benchFake(b)
	for _, tc := range []struct {
		name string
		apps []string
	}{
		{"hubspot", []string{"hubspot"}},
		{"all", fake.Apps()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var reqs, ntools int
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				fake.ResetCounts()
				cl := benchClient(b, url)
				b.StartTimer()
				set, err := tools.New(tools.Options{Connections: benchConns(cl, tc.apps...)})
				if err != nil {
					b.Fatal(err)
				}
				if err := set.Load(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				reqs += fake.Count(pdtest.EndpointAll)
				ntools += len(set.Tools())
				b.StartTimer()
			}
			b.ReportMetric(float64(reqs)/float64(b.N), "requests/op")
			b.ReportMetric(float64(ntools)/float64(b.N), "tools/op")
		})
	}
}

const (
	benchTool = "slack_send_message_to_channel"
	benchArgs = `{"conversation":"C00001000","text":"Deploy finished"}`
)

// handlerFor returns the handler of a tool and a context carrying the user.
func handlerFor(b *testing.B, set *tools.Set, name string) mcpserver.ToolHandlerFunc {
	b.Helper()
	for _, t := range set.Tools() {
		if t.Tool.Name == name {
			return t.Handler
		}
	}
	b.Fatalf("no tool %s", name)
	return nil
}

func benchCall(b *testing.B, h mcpserver.ToolHandlerFunc, ctx context.Context) {
	req := mcp.CallToolRequest{}
	req.Params.Name = benchTool
	req.Params.Arguments = json.RawMessage(benchArgs)
	res, err := h(ctx, req)
	if err != nil || res.IsError {
		b.Fatalf("call failed: %v %v", err, res)
	}
}

// BenchmarkCallHandler is one successful call of slack_send_message_to_channel
// in the handler: validation, account resolution (cached after the first
// call), the run and the result. "fake" goes through the real client to the
// in-process fake over loopback HTTP; "stub" answers from memory, so ns/op is
// this package's own cost.
func BenchmarkCallHandler(b *testing.B) {
	ctx := tools.WithUser(context.Background(), pdtest.DemoUser)
	b.Run("fake", func(b *testing.B) {
		_, url := benchFake(b)
		set, err := tools.New(tools.Options{Connections: benchConns(benchClient(b, url), "slack")})
		if err != nil {
			b.Fatal(err)
		}
		if err := set.Load(ctx); err != nil {
			b.Fatal(err)
		}
		h := handlerFor(b, set, benchTool)
		benchCall(b, h, ctx)
		b.ReportAllocs()
		for b.Loop() {
			benchCall(b, h, ctx)
		}
	})
	for _, stub := range []struct {
		name string
		run  *pdclient.RunActionResponse
	}{
		{"stub", stubRun},
		{"stub/ret=64KiB", largeRun(230)},
	} {
		b.Run(stub.name, func(b *testing.B) {
			_, url := benchFake(b)
			comps, err := benchClient(b, url).ListActions(ctx, "slack", pdclient.RegistryAll)
			if err != nil {
				b.Fatal(err)
			}
			set, err := tools.New(tools.Options{Connections: benchConns(&stubConnect{comps: comps, run: stub.run}, "slack")})
			if err != nil {
				b.Fatal(err)
			}
			if err := set.Load(ctx); err != nil {
				b.Fatal(err)
			}
			h := handlerFor(b, set, benchTool)
			b.SetBytes(int64(len(stub.run.Ret)))
			b.ReportAllocs()
			for b.Loop() {
				benchCall(b, h, ctx)
			}
		})
	}
}

// stubConnect answers from memory: one healthy account per app and a canned
// run result shaped like the fake's "created" answer.
type stubConnect struct {
	tools.Connect // methods the benchmark never calls
	comps         []pdclient.Component
	run           *pdclient.RunActionResponse
}

func (s *stubConnect) Environment() string { return "development" }

func (s *stubConnect) ListActions(context.Context, string, pdclient.Registry) ([]pdclient.Component, error) {
	return slices.Clone(s.comps), nil
}

func (s *stubConnect) ListAccounts(_ context.Context, user, app string) ([]pdclient.Account, error) {
	return []pdclient.Account{{ID: "apn_stub_" + app, ExternalID: user, Healthy: true, App: &pdclient.App{NameSlug: app}, CreatedAt: "2025-01-06T09:00:00.000Z"}}, nil
}

var stubRun = &pdclient.RunActionResponse{
	Exports: map[string]json.RawMessage{"$summary": json.RawMessage(`"Sent message to #general"`)},
	Ret:     json.RawMessage(`{"ok":true,"channel":"C00001000","ts":"1736153600.000100","message":{"text":"Deploy finished","type":"message","user":"U0000001"},"permalink":"https://acme.slack.com/archives/C00001000/p1736153600000100"}`),
}

func (s *stubConnect) RunAction(context.Context, pdclient.RunActionRequest) (*pdclient.RunActionResponse, error) {
	return s.run, nil
}

// largeRun is a run whose ret holds n records (230 make about 64 KiB).
func largeRun(n int) *pdclient.RunActionResponse {
	recs := make([]map[string]any, n)
	for i := range recs {
		recs[i] = map[string]any{
			"id": fmt.Sprintf("rec%06d", i), "createdTime": "2025-01-06T09:00:00.000Z",
			"fields": map[string]any{"Name": fmt.Sprintf("Record %d", i), "Status": "Todo", "Notes": strings.Repeat("lorem ipsum ", 8)},
		}
	}
	ret, _ := json.Marshal(map[string]any{"id": "tbl0001", "url": "https://airtable.com/app/tbl0001", "records": recs})
	return &pdclient.RunActionResponse{
		Exports: map[string]json.RawMessage{"$summary": json.RawMessage(`"Found records"`)},
		Ret:     ret,
	}
}

// BenchmarkToolListSize measures what tools/list costs an agent's context:
// per app, the bytes of that app's tools as tools/list sends them and the
// median and largest tool; "all" is the whole list with the helper tools.
// Tokens are estimated as bytes / 4, as the tools command does.
func BenchmarkToolListSize(b *testing.B) {
	fake, url := benchFake(b)
	cl := benchClient(b, url)
	set, err := tools.New(tools.Options{Connections: benchConns(cl, fake.Apps()...)})
	if err != nil {
		b.Fatal(err)
	}
	if err := set.Load(context.Background()); err != nil {
		b.Fatal(err)
	}
	for _, app := range append(fake.Apps(), "all") {
		b.Run("app="+app, func(b *testing.B) {
			var list []mcp.Tool
			for _, t := range set.Tools() {
				if app == "all" || strings.HasPrefix(t.Tool.Name, app+"_") {
					list = append(list, t.Tool)
				}
			}
			if len(list) == 0 {
				b.Fatalf("no tools for %s", app)
			}
			var whole []byte
			var sizes []int
			for b.Loop() {
				sizes = sizes[:0]
				for _, t := range list {
					one, err := json.Marshal(t)
					if err != nil {
						b.Fatal(err)
					}
					sizes = append(sizes, len(one))
				}
				if whole, err = json.Marshal(map[string]any{"tools": list}); err != nil {
					b.Fatal(err)
				}
			}
			sort.Ints(sizes)
			b.ReportMetric(float64(len(list)), "tools")
			b.ReportMetric(float64(len(whole)), "list-bytes")
			b.ReportMetric(float64((len(whole)+3)/4), "list-tokens")
			b.ReportMetric(float64(sizes[len(sizes)/2]), "median-tool-bytes")
			b.ReportMetric(float64(sizes[len(sizes)-1]), "max-tool-bytes")
		})
	}
}

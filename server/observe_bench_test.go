package server_test

import (
	"context"
	"runtime"
	"syscall"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
)

// cpuTime is the process's user and system CPU time so far, in ns.
func cpuTime(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkObservability is the cost of metrics and tracing per tool call: a
// successful pd_edge_echo over Streamable HTTP through the whole stack (MCP
// client and server, tools, pdclient, the fake Connect API on loopback; the
// account list cached, so one upstream request a call), b.N calls in each
// of three modes:
//
//	off:             no metrics (no observers, no /metrics), tracing off
//	metrics:         metrics on, tracing off (the global no-op provider)
//	metrics+tracing: metrics on, tracing on (an SDK TracerProvider sampling
//	                 every call, batching into an in-memory exporter)
//
// The modes take turns, 100 calls at a time, so that a change in the
// machine's load falls on all three alike. It reports each mode's CPU time
// per call (user + system of the whole process: client, server and fake),
// allocations per call, and the overheads in percent of "off":
// metrics-cpu-% (metrics, tracing off) and tracing-cpu-% (both on).
func BenchmarkObservability(b *testing.B) {
	prev := otel.GetTracerProvider()
	defer otel.SetTracerProvider(prev)
	off := trace.TracerProvider(noop.NewTracerProvider())
	exp := tracetest.NewInMemoryExporter()
	on := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	defer func() { _ = on.Shutdown(context.Background()) }()

	type mode struct {
		name    string
		c       *client.Client
		tp      trace.TracerProvider
		cpu     int64
		mallocs uint64
		done    int
	}
	bare, observed := newStackWith(b, quickRetry, false), newStackWith(b, quickRetry, true)
	modes := []*mode{
		{name: "off", c: bare.dial(b, pdtest.DemoUser, nil, true), tp: off},
		{name: "metrics", c: observed.dial(b, pdtest.DemoUser, nil, true), tp: off},
		{name: "metrics+tracing", c: observed.dial(b, pdtest.DemoUser, nil, true), tp: on},
	}
	args := map[string]any{"message": "bench"}
	for _, m := range modes { // warm: token, accounts, validator
		otel.SetTracerProvider(m.tp)
		call(b, m.c, "pd_edge_echo", args, nil)
	}
	var ms runtime.MemStats
	b.ResetTimer()
	for modes[0].done < b.N {
		for _, m := range modes {
			n := min(100, b.N-m.done)
			otel.SetTracerProvider(m.tp)
			runtime.ReadMemStats(&ms)
			mallocs, cpu := ms.Mallocs, cpuTime(b)
			for range n {
				if res := call(b, m.c, "pd_edge_echo", args, nil); res.IsError {
					b.Fatal("call failed")
				}
			}
			m.cpu += cpuTime(b) - cpu
			runtime.ReadMemStats(&ms)
			m.mallocs += ms.Mallocs - mallocs
			m.done += n
			exp.Reset()
		}
	}
	b.StopTimer()
	per := func(m *mode) float64 { return float64(m.cpu) / float64(m.done) }
	for _, m := range modes {
		b.ReportMetric(per(m), m.name+"-cpu-ns/op")
		b.ReportMetric(float64(m.mallocs)/float64(m.done), m.name+"-allocs/op")
	}
	b.ReportMetric(100*(per(modes[1])/per(modes[0])-1), "metrics-cpu-%")
	b.ReportMetric(100*(per(modes[2])/per(modes[0])-1), "tracing-cpu-%")
}

package app

// The floor of the call-overhead benchmark: a no-op mcp-go tool with the
// benchmark tool's name, served by mcp-go alone over the same transport to
// the same driver. The server under test is measured against it as a ratio,
// in one run, so what the framework costs on this machine is set apart from
// what this server adds.

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// benchFloorEnv, set in the environment of this test binary, makes
// TestBenchFloorServer serve the floor: "stdio", or "http" on the address in
// benchFloorAddrEnv. With benchFloorAPIEnv (the fake's URL) the tool makes
// the benchmark's run there, straight, before answering (floor+run).
const (
	benchFloorEnv     = "PDMCP_BENCH_FLOOR"
	benchFloorAddrEnv = "PDMCP_BENCH_FLOOR_ADDR"
	benchFloorAPIEnv  = "PDMCP_BENCH_FLOOR_API"
)

// newFloorServer is an mcp-go server whose only tool, named like the
// benchmark's, answers "ok" after run (nil: at once); options as this
// server's own (tool capabilities, logging).
func newFloorServer(run func() error) *mcpserver.MCPServer {
	s := mcpserver.NewMCPServer("floor", "1", mcpserver.WithToolCapabilities(true), mcpserver.WithLogging())
	s.AddTool(mcp.NewTool(benchTool, mcp.WithString("conversation"), mcp.WithString("text")),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if run != nil {
				if err := run(); err != nil {
					return mcp.NewToolResultError(err.Error()), nil
				}
			}
			return mcp.NewToolResultText("ok"), nil
		})
	return s
}

// TestBenchFloorServer is not a test: it is the floor's process, run by
// benchStartFloor as this test binary with benchFloorEnv set. It serves until
// stdin ends (stdio) or SIGTERM.
func TestBenchFloorServer(t *testing.T) {
	mode := os.Getenv(benchFloorEnv)
	if mode == "" {
		t.Skip("the floor server of BenchmarkCallOverhead; runs only as its child process")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	var run func() error
	if api := os.Getenv(benchFloorAPIEnv); api != "" {
		run = newBenchDirect(t, api).run
	}
	s := newFloorServer(run)
	switch mode {
	case "stdio":
		if err := mcpserver.NewStdioServer(s).Listen(ctx, os.Stdin, os.Stdout); err != nil && ctx.Err() == nil {
			t.Log(err)
		}
	case "http":
		mux := http.NewServeMux()
		mux.Handle("/mcp", mcpserver.NewStreamableHTTPServer(s))
		mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {})
		hs := &http.Server{Addr: os.Getenv(benchFloorAddrEnv), Handler: mux}
		go func() { <-ctx.Done(); _ = hs.Close() }()
		if err := hs.ListenAndServe(); err != http.ErrServerClosed {
			t.Fatal(err)
		}
	default:
		t.Fatalf("%s=%q: want stdio or http", benchFloorEnv, mode)
	}
}

// benchFloorCmd is this test binary running TestBenchFloorServer in mode,
// making the run at api ("": none).
func benchFloorCmd(b *testing.B, mode, api string, env ...string) *exec.Cmd {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestBenchFloorServer$")
	cmd.Env = append(cleanEnv(benchFloorEnv+"="+mode, benchFloorAPIEnv+"="+api), env...)
	if n := os.Getenv(benchGOMAXPROCSEnv); n != "" {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+n)
	}
	return cmd
}

// benchStartFloorStdio runs the floor (floor+run with api) on stdio and
// initializes it.
func benchStartFloorStdio(b *testing.B, api string) (*benchProc, *benchStdio) {
	b.Helper()
	return benchStartStdioCmd(b, benchFloorCmd(b, "stdio", api))
}

// benchStartFloorHTTP runs the floor (floor+run with api) on Streamable HTTP
// at /mcp.
func benchStartFloorHTTP(b *testing.B, api string) *benchProc {
	b.Helper()
	addr := net.JoinHostPort("127.0.0.1", freePort(b))
	cmd := benchFloorCmd(b, "http", api, benchFloorAddrEnv+"="+addr)
	p := &benchProc{cmd: cmd, url: "http://" + addr, stderr: newBenchLog()}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.stop)
	waitReady(b, p.url, 60*time.Second, p.stderr)
	return p
}

// benchRatio is ours / floor, for ReportMetric.
func benchRatio(ours, floor float64) float64 {
	if floor == 0 {
		return 0
	}
	return ours / floor
}

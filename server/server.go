// Package server assembles the MCP server (mark3labs/mcp-go) around a tool set
// and serves it over stdio, legacy SSE or Streamable HTTP, with HTTP
// authentication, health endpoints and graceful shutdown. It knows nothing of
// Pipedream: the tools package builds every tool and handler it serves.
package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// Toolset is what the server serves: the current tools, a per-request filter,
// and catalog readiness.
type Toolset interface {
	Tools() []mcpserver.ServerTool
	Filter(ctx context.Context, tools []mcp.Tool) []mcp.Tool
	Ready() bool
	WaitReady(ctx context.Context, max time.Duration)
}

// Options configure the server.
type Options struct {
	Name, Version string
	Instructions  string
	Logger        *slog.Logger
	// ListWait bounds how long tools/list waits for the catalogs on a cold start
	// (default 10s); after it, the tools known so far are listed.
	ListWait time.Duration
	// Metrics, when set, counts the open sessions (the tool set and its
	// upstream clients report the rest to it); serve it with
	// HTTPOptions.Metrics or NewOpsHandler.
	Metrics *Metrics
	// Gate, when set, is waited on by every tool call before its handler
	// runs: a start-up check that must pass before anything runs for a user,
	// while initialize and tools/list are answered without it. Its error ends
	// the call with an error result.
	Gate func(ctx context.Context) error
	// Tasks configures MCP tasks (tasks.go).
	Tasks TaskOptions
}

// Server is one MCP server over one tool set.
type Server struct {
	mcp      *mcpserver.MCPServer
	tools    Toolset
	log      *slog.Logger
	listWait time.Duration
	calls    *tracker // tool calls in flight
	metrics  *Metrics // nil: none
	tasks    *taskStore
}

// New builds the MCP server and registers the tool set's current tools.
func New(ts Toolset, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ListWait <= 0 {
		opts.ListWait = 10 * time.Second
	}
	s := &Server{tools: ts, log: opts.Logger, listWait: opts.ListWait, calls: newTracker(), metrics: opts.Metrics}
	hooks := &mcpserver.Hooks{}
	hooks.AddBeforeListTools(func(ctx context.Context, _ any, _ *mcp.ListToolsRequest) {
		if !ts.Ready() {
			ts.WaitReady(ctx, s.listWait)
		}
	})
	hooks.AddBeforeCallTool(func(ctx context.Context, _ any, _ *mcp.CallToolRequest) {
		if !ts.Ready() {
			ts.WaitReady(ctx, s.listWait)
		}
	})
	// Each era is told of its own tasks: 2025-11-25 of the tasks capability,
	// 2026-07-28 of the extension only (which a server must not advertise
	// beside the legacy capability).
	hooks.AddAfterInitialize(func(_ context.Context, _ any, _ *mcp.InitializeRequest, res *mcp.InitializeResult) {
		res.Capabilities.Extensions = nil
	})
	hooks.AddAfterDiscover(func(_ context.Context, _ any, _ *mcp.DiscoverRequest, res *mcp.DiscoverResult) {
		res.Capabilities.Tasks = nil
	})
	hooks.AddOnError(func(ctx context.Context, id any, method mcp.MCPMethod, _ any, err error) {
		s.log.Debug("request failed", "method", string(method), "err", err)
	})
	mopts := []mcpserver.ServerOption{
		mcpserver.WithToolCapabilities(true),
		mcpserver.WithLogging(),
		// Advertised here, answered by the task layer (tasks.go) before
		// mcp-go sees the request.
		mcpserver.WithTaskCapabilities(true, true, true),
		mcpserver.WithExtensions(map[string]any{TasksExtension: map[string]any{}}),
		mcpserver.WithHooks(hooks),
		mcpserver.WithToolFilter(ts.Filter),
		mcpserver.WithToolHandlerMiddleware(s.continueAsTask),
		mcpserver.WithToolHandlerMiddleware(s.traceCall),
		mcpserver.WithToolHandlerMiddleware(s.track),
		mcpserver.WithToolHandlerMiddleware(s.recover),
	}
	if opts.Gate != nil {
		mopts = append(mopts, mcpserver.WithToolHandlerMiddleware(gate(opts.Gate)))
	}
	if opts.Instructions != "" {
		mopts = append(mopts, mcpserver.WithInstructions(opts.Instructions))
	}
	s.mcp = mcpserver.NewMCPServer(opts.Name, opts.Version, mopts...)
	if cl, ok := opts.Logger.Handler().(*ClientLog); ok {
		cl.bind(s.mcp) // log records of a request reach its client (clientlog.go)
	}
	s.tasks = newTaskStore(s, opts.Tasks)
	opts.Metrics.setTasks(s.tasks.counts)
	s.mcp.SetTools(taskOptional(ts.Tools())...)
	return s
}

// taskOptional marks every tool as one a client may run as a task.
func taskOptional(tools []mcpserver.ServerTool) []mcpserver.ServerTool {
	for i := range tools {
		tools[i].Tool.Execution = &mcp.ToolExecution{TaskSupport: mcp.TaskSupportOptional}
	}
	return tools
}

// MCP returns the underlying mcp-go server (in-process clients in tests).
func (s *Server) MCP() *mcpserver.MCPServer { return s.mcp }

// Refresh re-registers the tool set's tools in one batch, which sends one
// notifications/tools/list_changed to every session.
func (s *Server) Refresh() {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("registering tools failed", "panic", fmt.Sprint(r))
		}
	}()
	s.mcp.SetTools(taskOptional(s.tools.Tools())...)
}

// ErrShuttingDown is the cause (context.Cause) of the cancellation of a tool
// call that was still running when the HTTP server's shutdown grace period
// ended.
var ErrShuttingDown = errors.New("the server is shutting down")

// callStopKey marks a request context with the context whose end cancels the
// request's tool calls (see withCallStop).
type callStopKey struct{}

// withCallStop returns ctx carrying stop: when stop ends, the tool calls run
// under ctx are cancelled with stop's cause, while ctx itself stays alive so
// the transport still sends the result the handler makes of it.
func withCallStop(ctx, stop context.Context) context.Context {
	return context.WithValue(ctx, callStopKey{}, stop)
}

// track counts calls in flight so shutdown can wait for them, and cancels a
// call when its request's stop context ends (see withCallStop).
func (s *Server) track(next mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		s.calls.begin("")
		defer s.calls.end("", 1)
		if stop, ok := ctx.Value(callStopKey{}).(context.Context); ok {
			var cancel context.CancelCauseFunc
			ctx, cancel = context.WithCancelCause(ctx)
			defer cancel(nil)
			defer context.AfterFunc(stop, func() { cancel(context.Cause(stop)) })()
		}
		return next(ctx, req)
	}
}

// recover turns a panicking handler into an error result; the stack goes to the
// log, never to the client.
func (s *Server) recover(next mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (res *mcp.CallToolResult, err error) {
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("tool handler panicked", "tool", req.Params.Name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				res, err = mcp.NewToolResultError("Internal error in this server while running the tool; it was logged. Retrying will likely fail the same way."), nil
			}
		}()
		return next(ctx, req)
	}
}

// gate makes every call wait for wait (see Options.Gate).
func gate(wait func(context.Context) error) mcpserver.ToolHandlerMiddleware {
	return func(next mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if err := wait(ctx); err != nil {
				return mcp.NewToolResultError(fmt.Sprintf("The server cannot run tools: %v", err)), nil
			}
			return next(ctx, req)
		}
	}
}

// WaitIdle waits until no tool call is in flight, or ctx ends.
func (s *Server) WaitIdle(ctx context.Context) error {
	return s.calls.wait(ctx)
}

// ServeStdio serves one client over in/out until in ends or ctx is cancelled.
// A message (line) larger than DefaultMaxMessageBytes is answered with a
// JSON-RPC error and skipped without being held in memory. base decorates the session context (the end user, from configuration). When
// ctx is cancelled, calls in flight get up to grace to finish first.
func (s *Server) ServeStdio(ctx context.Context, in io.Reader, out io.Writer, base func(context.Context) context.Context, grace time.Duration) error {
	listenCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	defer s.metrics.addSessions(func() int { return 1 })()
	// Messages over the limit are refused before mcp-go reads them whole.
	defer s.tasks.cancelAll()
	out = NewLockedWriter(out)
	limiter := newLineLimiter(in, DefaultMaxMessageBytes, out, s.log)
	stdio := mcpserver.NewStdioServer(s.mcp)
	stdio.SetErrorLogger(log.New(slogWriter{s.log}, "", 0))
	// The session's context (mcp-go's session, then base) is kept for the
	// task layer, which answers task messages before mcp-go reads them.
	var session atomic.Pointer[context.Context]
	stdio.SetContextFunc(func(ctx context.Context) context.Context {
		if base != nil {
			ctx = base(ctx)
		}
		session.Store(&ctx)
		return ctx
	})
	limiter.divert = func(line []byte) bool {
		ctx := session.Load()
		m, ok := peekTaskMessage(line)
		if !ok || ctx == nil {
			return false
		}
		go s.answerTask(*ctx, m, bytes.Clone(line), out)
		return true
	}
	in = limiter
	errc := make(chan error, 1)
	go func() { errc <- stdio.Listen(listenCtx, in, out) }()
	select {
	case err := <-errc:
		if err == io.EOF || err == context.Canceled {
			return nil
		}
		return err
	case <-ctx.Done():
		wctx, cancel := context.WithTimeout(context.Background(), grace)
		if err := s.WaitIdle(wctx); err != nil {
			s.log.Warn("shutdown: calls still in flight after the grace period; cancelling them", "grace", grace)
		}
		cancel()
		stop()
		<-errc
		return nil
	}
}

// answerTask answers a task message read on stdio (see tasks.go); a message
// the task layer leaves to mcp-go after all is served as mcp-go would.
func (s *Server) answerTask(ctx context.Context, m *taskMessage, line []byte, out io.Writer) {
	resp := s.tasks.serve(ctx, m, line, taskOwner(ctx))
	if resp == nil {
		resp = s.mcp.HandleMessage(ctx, line)
	}
	b, err := json.Marshal(resp)
	if err != nil {
		s.log.Error("stdio: a task answer could not be encoded", "err", err)
		return
	}
	_, _ = out.Write(append(b, '\n'))
}

// slogWriter adapts mcp-go's log.Logger output to slog at warn level.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	msg := string(p)
	if n := len(msg); n > 0 && msg[n-1] == '\n' {
		msg = msg[:n-1]
	}
	w.l.Warn(msg, "component", "mcp-stdio")
	return len(p), nil
}

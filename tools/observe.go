package tools

// This file observes every tool call the set serves: one audit line per call
// (helpers, catalog tools and workflows included), the Observer's metrics,
// and the call's attributes on its trace span.

import (
	"cmp"
	"context"
	"log/slog"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

// Observer is told of every tool call and catalog load, for metrics. Its
// methods are called synchronously, from many goroutines: they must be fast
// and safe for concurrent use.
//
// When the Observer also implements pdclient.Observer, the requests of
// workflow tools are reported to it too (endpoint "workflow"); the Connect
// API's are reported by the clients it is given to (pdclient.WithObserver).
type Observer interface {
	// Call reports a finished tool call: the connection it concerned ("" for
	// workflows and for helpers not about one connection's tool), the tool
	// as called, the result's status (StatusSuccess, StatusError, ...) and
	// how long it took.
	Call(connection, tool, status string, d time.Duration)
	// CatalogLoad reports a load of a connection's catalog and whether it
	// succeeded (a failure keeps the last good tools).
	CatalogLoad(connection string, ok bool)
}

// callRecord is what one call's handlers learn about it, for its audit line.
// Handlers of one call fill it in turn, never concurrently.
type callRecord struct {
	conn    *connState    // the connection whose tool the call ran or named
	flow    *workflowTool // the workflow it ran
	action  string        // the action's key
	user    string        // the end user it ran as
	account string        // the account it ran with
	code    int           // a workflow's HTTP status
}

type callRecordKey struct{}

func callRecordFrom(ctx context.Context) *callRecord {
	r, _ := ctx.Value(callRecordKey{}).(*callRecord)
	return r
}

// noteTool records that the call is about t (a helper or catalog tool
// naming it, or t itself).
func noteTool(ctx context.Context, t *actionTool) {
	if r := callRecordFrom(ctx); r != nil {
		r.conn, r.action = t.conn, t.component.Key
	}
}

// noteRun records the end user and account an action call resolved ("" when
// it stopped before).
func noteRun(ctx context.Context, t *actionTool, user, account string) {
	if r := callRecordFrom(ctx); r != nil {
		r.conn, r.action = t.conn, t.component.Key
		r.user, r.account = user, account
	}
}

// noteProxy records the connection, end user and account of a proxy call
// ("" when it stopped before).
func noteProxy(ctx context.Context, c *connState, user, account string) {
	if r := callRecordFrom(ctx); r != nil {
		r.conn, r.user, r.account = c, user, account
	}
}

// noteWorkflow records the end user a workflow call ran as and the HTTP
// status of its answer (0 when none came).
func noteWorkflow(ctx context.Context, wt *workflowTool, user string, code int) {
	if r := callRecordFrom(ctx); r != nil {
		r.flow, r.user, r.code = wt, user, code
	}
}

// observed wraps every handler of list with observe.
func (s *Set) observed(list []mcpserver.ServerTool) []mcpserver.ServerTool {
	for i := range list {
		list[i].Handler = s.observe(list[i].Tool.Name, list[i].Handler)
	}
	return list
}

// observe wraps the handler of the tool name: it counts the call's upstream
// requests and, when the call ends (a panic included), writes its audit
// line, tells the Observer and sets the call's attributes on its span.
func (s *Set) observe(name string, h mcpserver.ToolHandlerFunc) mcpserver.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (res *mcp.CallToolResult, err error) {
		start := time.Now()
		rec := &callRecord{}
		ctx = context.WithValue(ctx, callRecordKey{}, rec)
		ctx, requests := pdclient.CountRequests(ctx)
		done := false
		defer func() {
			if !done { // panicking: the server's recovery answers
				res, err = nil, errPanicked
			}
			s.finish(ctx, name, req, rec, res, err, time.Since(start), requests.Load())
		}()
		res, err = h(ctx, req)
		done = true
		return res, err
	}
}

// errPanicked stands for the outcome of a handler that panicked.
var errPanicked = panicError{}

type panicError struct{}

func (panicError) Error() string { return "the tool handler panicked" }

// finish writes the audit line of a call that ended with res or err, tells
// the Observer, and annotates the call's span.
func (s *Set) finish(ctx context.Context, name string, req mcp.CallToolRequest, rec *callRecord, res *mcp.CallToolResult, err error, d time.Duration, requests int64) {
	status := StatusError
	if err == nil && res != nil {
		status = StatusSuccess
		if res.IsError {
			status = StatusError
		}
		if res.NeedsInput() {
			status = StatusInputRequired
		}
		if r, ok := res.StructuredContent.(Result); ok && r.Status != "" {
			status = r.Status
			rec.action = cmp.Or(rec.action, r.Action)
			rec.account = cmp.Or(rec.account, r.AccountID)
		}
	}
	conn, user := s.callIdentity(ctx, name, req, rec)
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs, slog.String("tool", name), slog.String("connection", conn))
	if rec.action != "" {
		attrs = append(attrs, slog.String("action", rec.action))
	}
	attrs = append(attrs, slog.String("external_user_id", user))
	if rec.account != "" {
		attrs = append(attrs, slog.String("account_id", rec.account))
	}
	attrs = append(attrs, slog.String("status", status), slog.Int64("duration_ms", d.Milliseconds()), slog.Int64("upstream_requests", requests))
	if rec.flow != nil {
		attrs = append(attrs, slog.Int("http_status", rec.code))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	s.log.LogAttrs(ctx, auditLevel(status), "tool call", attrs...)
	if s.opts.Observer != nil {
		s.opts.Observer.Call(conn, name, status, d)
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(
			attribute.String("pipedream.connection", conn),
			attribute.String("pipedream.action", rec.action),
			attribute.String("pipedream.status", status),
			attribute.Int64("pipedream.upstream_requests", requests),
		)
	}
}

// callIdentity is the connection a call concerned ("" when none) and the end
// user it ran as: the one its handler resolved or else the one it would run
// as, the caller's (or the service identity of an admin connection or
// workflow), so that a call refused before it resolved one is still
// attributed.
func (s *Set) callIdentity(ctx context.Context, name string, req mcp.CallToolRequest, rec *callRecord) (string, string) {
	if rec.conn == nil && rec.flow == nil {
		snap := s.snap.Load()
		if t, ok := snap.byName[name]; ok {
			rec.conn = t.conn
		} else if w, ok := snap.flowMap[name]; ok {
			rec.flow = w
		}
	}
	conn, user := "", rec.user
	admin, service := false, ""
	switch {
	case rec.conn != nil:
		conn, admin, service = rec.conn.Name, rec.conn.Admin, rec.conn.ServiceUser
	case rec.flow != nil:
		admin, service = rec.flow.flow.Admin, rec.flow.flow.ServiceUser
	}
	if user == "" {
		user, _ = s.endUser(ctx, admin, service, req.Params.Meta)
	}
	return conn, user
}

// auditLevel is the level of a call's audit line, which is also the level a
// client sees it at (server.ClientLog): failures of the server or upstream
// at error, a call cut short at warn, the rest at info (an invalid argument
// or a missing account is the caller's to fix and no fault).
func auditLevel(status string) slog.Level {
	switch status {
	case StatusError, StatusUpstreamError:
		return slog.LevelError
	case StatusTimeout, StatusRateLimited:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// observeLoad tells the Observer of a catalog load.
func (s *Set) observeLoad(conn string, ok bool) {
	if s.opts.Observer != nil {
		s.opts.Observer.CatalogLoad(conn, ok)
	}
}

// observeWorkflow has req report to the Observer when it is also a
// pdclient.Observer.
func (s *Set) observeWorkflow(req pdclient.WorkflowRequest) pdclient.WorkflowRequest {
	if o, ok := s.opts.Observer.(pdclient.Observer); ok {
		req.Observer = o
	}
	return req
}

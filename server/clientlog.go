package server

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
)

// ClientLog is a slog.Handler that writes records to the handler it wraps
// and also sends the records logged under an MCP request's context (a tool
// call's audit line, retries of upstream requests, ...) to that request's client as
// notifications/message, when the client's level allows them: the level
// set with logging/setLevel (mcp-go's default is error), or, on protocol
// 2026-07-28, the level the request asked for (none when it asked for none).
// Records logged without such a context (startup, background work) reach
// only the wrapped handler.
//
// Build the server's logger on it (slog.New(NewClientLog(h))) and give that
// logger to New, which connects it to the MCP server; until then it only
// writes to h.
type ClientLog struct {
	inner slog.Handler
	mcp   *atomic.Pointer[mcpserver.MCPServer] // shared by With* copies
	attrs []slog.Attr                          // from WithAttrs, groups applied
	group string                               // dotted prefix from WithGroup
}

// ClientLogger is the "logger" of the notifications ClientLog sends.
const ClientLogger = "pipedream-mcp"

// NewClientLog wraps inner.
func NewClientLog(inner slog.Handler) *ClientLog {
	return &ClientLog{inner: inner, mcp: &atomic.Pointer[mcpserver.MCPServer]{}}
}

// bind connects h to the MCP server whose sessions it notifies.
func (h *ClientLog) bind(s *mcpserver.MCPServer) { h.mcp.Store(s) }

// Enabled reports whether the wrapped handler or ctx's client wants level.
func (h *ClientLog) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level) || h.clientWants(ctx, level)
}

// Handle writes r to the wrapped handler when it is enabled for r's level,
// and sends it to ctx's client when that client wants it.
func (h *ClientLog) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if h.inner.Enabled(ctx, r.Level) {
		err = h.inner.Handle(ctx, r)
	}
	if h.clientWants(ctx, r.Level) {
		h.send(ctx, r)
	}
	return err
}

// WithAttrs implements slog.Handler.
func (h *ClientLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.inner = h.inner.WithAttrs(attrs)
	c.attrs = append(c.attrs[:len(c.attrs):len(c.attrs)], prefixed(h.group, attrs)...)
	return &c
}

// WithGroup implements slog.Handler.
func (h *ClientLog) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.inner = h.inner.WithGroup(name)
	c.group = h.group + name + "."
	return &c
}

func prefixed(group string, attrs []slog.Attr) []slog.Attr {
	if group == "" {
		return attrs
	}
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = slog.Attr{Key: group + a.Key, Value: a.Value}
	}
	return out
}

// clientWants reports whether ctx belongs to a client request whose log
// level lets a record of level through.
func (h *ClientLog) clientWants(ctx context.Context, level slog.Level) bool {
	if h.mcp.Load() == nil {
		return false
	}
	session := mcpserver.ClientSessionFromContext(ctx)
	if session == nil || !session.Initialized() {
		return false
	}
	var min mcp.LoggingLevel
	if info := mcpserver.RequestProtocolInfoFromContext(ctx); info != nil && info.Modern {
		min = info.LogLevel
	} else if sl, ok := session.(mcpserver.SessionWithLogging); ok {
		min = sl.GetLogLevel()
	}
	return min != "" && mcpLevel(level).ShouldSendTo(min)
}

// send sends r to ctx's client: data is an object with the message and the
// record's attributes (groups flattened to dotted keys).
func (h *ClientLog) send(ctx context.Context, r slog.Record) {
	data := make(map[string]any, len(h.attrs)+r.NumAttrs()+1)
	for _, a := range h.attrs {
		addAttr(data, "", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		addAttr(data, h.group, a)
		return true
	})
	data["message"] = r.Message
	d, _ := ctx.Value(deliveryKey{}).(*deliveryWriter)
	seq := d.mark()
	// Delivery is best effort: a client that does not read its notifications
	// loses some, never blocks the call for long.
	if h.mcp.Load().SendLogMessageToClient(ctx, mcp.NewLoggingMessageNotification(mcpLevel(r.Level), ClientLogger, data)) == nil {
		d.waitPast(seq, notificationWait)
	}
}

// notificationWait bounds how long a log record waits for its notification
// to be written to a Streamable HTTP response (see deliveryWriter).
const notificationWait = 250 * time.Millisecond

type deliveryKey struct{}

// deliveryWriter is the response writer of a Streamable HTTP POST: it counts
// the writes, so that a notification sent during the request can wait until
// it is written. mcp-go (v1.2.1) forwards a request's notifications from a
// goroutine that can lose the last one to the response: when it has taken
// the notification off the session's channel but not yet written it as the
// handler returns, the response goes first and the notification is dropped
// (mark3labs/mcp-go#969). A call's audit line is logged just before its
// handler returns, so its notification would often be lost; waiting for the
// write (never past notificationWait) closes the race.
type deliveryWriter struct {
	http.ResponseWriter
	mu     sync.Mutex
	writes uint64
	done   bool          // the request was answered: nothing more is written
	wake   chan struct{} // closed by the next write; nil when nobody waits
}

func (w *deliveryWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.mu.Lock()
	w.writes++
	w.wakeLocked()
	w.mu.Unlock()
	return n, err
}

// finish marks the request answered, so that no one waits for a write (a
// record logged later under its context, by work it started).
func (w *deliveryWriter) finish() {
	w.mu.Lock()
	w.done = true
	w.wakeLocked()
	w.mu.Unlock()
}

func (w *deliveryWriter) wakeLocked() {
	if w.wake != nil {
		close(w.wake)
		w.wake = nil
	}
}

// Flush lets mcp-go stream the response (it streams only to a Flusher).
func (w *deliveryWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *deliveryWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// mark is the number of writes so far (0 for a nil writer).
func (w *deliveryWriter) mark() uint64 {
	if w == nil {
		return 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes
}

// waitPast waits until there were more than seq writes, or max passes. A nil
// writer (stdio, SSE: no race) does not wait.
func (w *deliveryWriter) waitPast(seq uint64, max time.Duration) {
	if w == nil {
		return
	}
	t := time.NewTimer(max)
	defer t.Stop()
	for {
		w.mu.Lock()
		if w.writes > seq || w.done {
			w.mu.Unlock()
			return
		}
		if w.wake == nil {
			w.wake = make(chan struct{})
		}
		wake := w.wake
		w.mu.Unlock()
		select {
		case <-wake:
		case <-t.C:
			return
		}
	}
}

func addAttr(data map[string]any, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range v.Group() {
			addAttr(data, p, g)
		}
		return
	}
	if a.Key == "" {
		return
	}
	switch v.Kind() {
	case slog.KindDuration:
		data[prefix+a.Key] = v.Duration().String()
	case slog.KindTime:
		data[prefix+a.Key] = v.Time()
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			data[prefix+a.Key] = err.Error()
			return
		}
		data[prefix+a.Key] = v.Any()
	default:
		data[prefix+a.Key] = v.Any()
	}
}

// mcpLevel is the MCP logging level of a slog level.
func mcpLevel(l slog.Level) mcp.LoggingLevel {
	switch {
	case l < slog.LevelInfo:
		return mcp.LoggingLevelDebug
	case l < slog.LevelWarn:
		return mcp.LoggingLevelInfo
	case l < slog.LevelError:
		return mcp.LoggingLevelWarning
	case l < slog.LevelError+4:
		return mcp.LoggingLevelError
	case l < slog.LevelError+8:
		return mcp.LoggingLevelCritical
	case l < slog.LevelError+12:
		return mcp.LoggingLevelAlert
	}
	return mcp.LoggingLevelEmergency
}

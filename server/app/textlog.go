package app

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/lmittmann/tint"

	"github.com/pipedream-mcp/pipedream-mcp/server"
)

// plainText is the log's text handler without colour: tint's format, written
// here for the records the server logs most, one audit line per call. tint
// (v1.2.1) copies every key and string value into a rune slice to strip ANSI
// escapes before it looks at it; a record whose text is plain ASCII without
// escapes is written here instead, with the same bytes
// (TestPlainTextMatchesTint), and tint writes every other record and every
// handler derived with WithAttrs or WithGroup.
type plainText struct {
	slog.Handler                      // tint
	w            *server.LockedWriter // the lines of plainText and tint, whole
}

// plainTimeFormat is the time of day each line starts with.
const plainTimeFormat = time.TimeOnly

func newPlainText(w io.Writer, level slog.Leveler) *plainText {
	lw := server.NewLockedWriter(w)
	return &plainText{
		Handler: tint.NewTextHandler(lw, &tint.Options{Level: level, NoColor: true, TimeFormat: plainTimeFormat}),
		w:       lw,
	}
}

var plainBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Handle writes r as tint would, or lets tint write it.
func (h *plainText) Handle(ctx context.Context, r slog.Record) error {
	bp := plainBufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 64<<10 {
			plainBufs.Put(bp)
		}
	}()
	b, ok := appendPlain((*bp)[:0], r)
	*bp = b
	var err error
	if ok {
		_, err = h.w.Write(b)
	} else {
		err = h.Handler.Handle(ctx, r)
	}
	if f, batched := h.w.Unwrap().(*logWriter); batched && r.Level >= slog.LevelWarn {
		f.flush() // warnings and errors are not held back
	}
	return err
}

// appendPlain appends r's line in tint's format without colour, or reports
// false when r holds anything but plain ASCII strings, integers and booleans.
func appendPlain(b []byte, r slog.Record) ([]byte, bool) {
	if !plainASCII(r.Message) {
		return b, false
	}
	if !r.Time.IsZero() {
		b = r.Time.AppendFormat(b, plainTimeFormat)
		b = append(b, ' ')
	}
	b = appendPlainLevel(b, r.Level)
	b = append(b, ' ')
	b = append(b, r.Message...)
	b = append(b, ' ')
	ok := true
	r.Attrs(func(a slog.Attr) bool {
		v := a.Value.Resolve()
		if !plainASCII(a.Key) {
			ok = false
			return false
		}
		switch v.Kind() {
		case slog.KindString:
			s := v.String()
			if !plainASCII(s) {
				ok = false
				return false
			}
			b = appendPlainString(b, a.Key)
			b = append(b, '=')
			b = appendPlainString(b, s)
		case slog.KindInt64:
			b = appendPlainString(b, a.Key)
			b = append(b, '=')
			b = strconv.AppendInt(b, v.Int64(), 10)
		case slog.KindBool:
			b = appendPlainString(b, a.Key)
			b = append(b, '=')
			b = strconv.AppendBool(b, v.Bool())
		default:
			ok = false
			return false
		}
		b = append(b, ' ')
		return true
	})
	if !ok {
		return b, false
	}
	b[len(b)-1] = '\n' // the last space
	return b, true
}

// plainASCII reports whether s is ASCII without the escape character tint
// strips.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] == 0x1b {
			return false
		}
	}
	return true
}

// appendPlainString appends s (plain ASCII), quoted where tint quotes it.
func appendPlainString(b []byte, s string) []byte {
	if plainNeedsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// plainNeedsQuoting is slog's (and tint's) needsQuoting for ASCII: empty, a
// space, "=", a control character or a double quote (a backslash alone is
// not quoted).
func plainNeedsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' && (c == ' ' || c == '=' || c < 0x20 || c == '"') {
			return true
		}
	}
	return false
}

func appendPlainLevel(b []byte, l slog.Level) []byte {
	base, d := "ERR", l-slog.LevelError
	switch {
	case l < slog.LevelInfo:
		base, d = "DBG", l-slog.LevelDebug
	case l < slog.LevelWarn:
		base, d = "INF", l-slog.LevelInfo
	case l < slog.LevelError:
		base, d = "WRN", l-slog.LevelWarn
	}
	b = append(b, base...)
	if d > 0 {
		b = append(b, '+')
	}
	if d != 0 {
		b = strconv.AppendInt(b, int64(d), 10)
	}
	return b
}

// logFlushDelay is how long a line of the server's log may wait in
// logWriter's buffer for the lines after it.
const logFlushDelay = 10 * time.Millisecond

// logBufferMax is the most logWriter holds before it writes at once.
const logBufferMax = 64 << 10

// logWriter batches the server's log lines: a line is written at most
// logFlushDelay after it was logged, together with the lines logged in the
// meantime, so that a busy server makes one write to its log per batch
// instead of one per tool call (each is a system call that wakes the
// reader of a pipe). plainText writes a warning or an error at once (with
// the lines before it); Close writes what is left. A process killed
// outright loses at most the last logFlushDelay of lines.
type logWriter struct {
	mu     sync.Mutex
	w      io.Writer
	buf    []byte
	timer  *time.Timer
	closed bool
}

func newLogWriter(w io.Writer) *logWriter { return &logWriter{w: w} }

func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || len(p) >= logBufferMax {
		if err := l.flushLocked(); err != nil {
			return 0, err
		}
		return l.w.Write(p)
	}
	if len(l.buf)+len(p) > logBufferMax {
		if err := l.flushLocked(); err != nil {
			return 0, err
		}
	}
	l.buf = append(l.buf, p...)
	if len(l.buf) == len(p) { // the first line of a batch
		if l.timer == nil {
			l.timer = time.AfterFunc(logFlushDelay, l.flush)
		} else {
			l.timer.Reset(logFlushDelay)
		}
	}
	return len(p), nil
}

// flush writes the batch (the timer's end).
func (l *logWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.flushLocked()
}

func (l *logWriter) flushLocked() error {
	if len(l.buf) == 0 {
		return nil
	}
	_, err := l.w.Write(l.buf)
	l.buf = l.buf[:0]
	return err
}

// Close writes what is buffered; later lines are written at once.
func (l *logWriter) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.timer != nil {
		l.timer.Stop()
	}
	return l.flushLocked()
}

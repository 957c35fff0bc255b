package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
)

// DefaultMaxMessageBytes caps one JSON-RPC message on stdio (one line), like
// DefaultMaxBodyBytes caps an HTTP request body: 4 MiB.
const DefaultMaxMessageBytes = DefaultMaxBodyBytes

// idScanBytes is how much of an oversized message is kept to find its id.
const idScanBytes = 64 << 10

// lineLimiter passes whole lines from src to its reader, except lines longer
// than max: those are discarded as they are read (memory stays bounded) and
// answered with a JSON-RPC error carrying the message's id when it can be
// found at the start of the message (null otherwise).
type lineLimiter struct {
	src    *bufio.Reader
	max    int
	out    io.Writer // the locked protocol writer
	log    *slog.Logger
	buf    []byte // the rest of the current line, not yet read
	err    error  // the error after buf
	reject func(prefix []byte, size int)
	// divert, when set, may take a whole line (a message) for itself: it is
	// then not passed on.
	divert func(line []byte) bool
}

func newLineLimiter(src io.Reader, max int, out io.Writer, log *slog.Logger) *lineLimiter {
	l := &lineLimiter{src: bufio.NewReaderSize(src, 64<<10), max: max, out: out, log: log}
	l.reject = l.answerTooLarge
	return l
}

// Read implements io.Reader.
func (l *lineLimiter) Read(p []byte) (int, error) {
	for len(l.buf) == 0 {
		if l.err != nil {
			return 0, l.err
		}
		l.buf, l.err = l.nextLine()
		if l.divert != nil && len(l.buf) > 0 && l.divert(l.buf) {
			l.buf = nil
		}
	}
	n := copy(p, l.buf)
	l.buf = l.buf[n:]
	return n, nil
}

// nextLine returns the next line of at most max bytes (with its newline),
// answering and skipping longer ones.
func (l *lineLimiter) nextLine() ([]byte, error) {
	var line, prefix []byte
	size, over := 0, false
	for {
		chunk, err := l.src.ReadSlice('\n')
		size += len(chunk)
		content := size // the message without its newline
		if err == nil {
			content--
		}
		switch {
		case over:
			if len(prefix) < idScanBytes {
				prefix = append(prefix, chunk[:min(len(chunk), idScanBytes-len(prefix))]...)
			}
		case content > l.max:
			over = true
			prefix = append(line[:min(len(line), idScanBytes):min(len(line), idScanBytes)], chunk[:min(len(chunk), max(0, idScanBytes-len(line)))]...)
			line = nil
		default:
			line = append(line, chunk...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if over {
			l.reject(prefix, size)
			if err != nil {
				return nil, err
			}
			line, prefix, size, over = nil, nil, 0, false
			continue
		}
		return line, err
	}
}

// answerTooLarge writes the JSON-RPC error for an oversized message.
func (l *lineLimiter) answerTooLarge(prefix []byte, size int) {
	id, method := peekIDMethod(prefix)
	l.log.Warn("stdio: message larger than the limit refused", "bytes", size, "limit", l.max, "method", method)
	msg := fmt.Sprintf("request larger than %d bytes (%d MiB): send less data, e.g. shorter arguments", l.max, l.max>>20)
	resp := mcp.NewJSONRPCError(mcp.NewRequestId(id), mcp.INVALID_REQUEST, msg, nil)
	b, err := json.Marshal(resp)
	if err != nil {
		return
	}
	_, _ = l.out.Write(append(b, '\n'))
}

// peekIDMethod finds the top-level "id" and "method" of a JSON object whose
// text may be cut short, reading tokens until the text runs out. The id is nil
// when it cannot be found.
func peekIDMethod(prefix []byte) (id any, method string) {
	dec := json.NewDecoder(bytes.NewReader(prefix))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, ""
	}
	for {
		t, err := dec.Token()
		if err != nil {
			return id, method
		}
		key, ok := t.(string)
		if !ok {
			return id, method
		}
		switch key {
		case "id", "method":
			v, err := dec.Token()
			if err != nil {
				return id, method
			}
			switch x := v.(type) {
			case string:
				if key == "method" {
					method = x
				} else {
					id = x
				}
			case json.Number:
				if key == "id" {
					if n, err := x.Int64(); err == nil {
						id = n
					}
				}
			case json.Delim: // not a scalar: skip the value, keep no id
				if !skipValue(dec, x) {
					return id, method
				}
			}
		default:
			v, err := dec.Token()
			if err != nil {
				return id, method
			}
			if d, ok := v.(json.Delim); ok && !skipValue(dec, d) {
				return id, method
			}
		}
	}
}

// skipValue consumes the rest of an object or array whose opening delimiter
// was just read; false when the text runs out first.
func skipValue(dec *json.Decoder, open json.Delim) bool {
	if open != '{' && open != '[' {
		return true
	}
	depth := 1
	for depth > 0 {
		t, err := dec.Token()
		if err != nil {
			return false
		}
		if d, ok := t.(json.Delim); ok {
			switch d {
			case '{', '[':
				depth++
			default:
				depth--
			}
		}
	}
	return true
}

// LockedWriter serialises writes to a writer, so that each Write (a protocol
// frame on stdio, a log line) stays whole when several goroutines write.
type LockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewLockedWriter serialises the writes to w.
func NewLockedWriter(w io.Writer) *LockedWriter { return &LockedWriter{w: w} }

func (w *LockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// Unwrap is the writer written to.
func (w *LockedWriter) Unwrap() io.Writer { return w.w }

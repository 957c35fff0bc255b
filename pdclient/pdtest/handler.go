package pdtest

// This file owns what endpoint handlers share: applying an injected fault,
// writing JSON and error bodies, decoding request bodies, cursor paging and
// random ids.

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// applyFault applies ft to the request routed to rt; it reports whether the
// request has been answered (false: handle it normally).
func (f *Fake) applyFault(w http.ResponseWriter, r *http.Request, ft Fault, rt route) bool {
	if ft.Delay > 0 {
		t := time.NewTimer(ft.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		}
	}
	switch {
	case ft.Reset:
		resetConnection(w)
		return true
	case ft.Status != 0:
		if ft.RetryAfter != "" {
			w.Header().Set("Retry-After", ft.RetryAfter)
		}
		body := ft.Body
		if body == "" {
			b, _ := json.Marshal(errorBody{Error: strings.ToLower(http.StatusText(ft.Status))})
			body = string(b)
		}
		if strings.HasPrefix(strings.TrimSpace(body), "{") {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
		} else {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
		w.WriteHeader(ft.Status)
		_, _ = w.Write([]byte(body))
		return true
	case ft.Truncate:
		rec := &recorder{header: http.Header{}}
		rt.serve(rec, r)
		writeTruncated(w, rec)
		return true
	case ft.EndlessPages:
		return f.writeEndlessPage(w, r, rt.endpoint, ft.ItemBytes)
	}
	return false
}

// resetConnection closes the connection without an answer.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // the server drops the connection
	}
	_ = conn.Close()
}

// recorder captures a response.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// writeTruncated sends the recorded response with its full Content-Length but
// only half of its body, then closes the connection, so the client sees an
// unexpected EOF.
func writeTruncated(w http.ResponseWriter, rec *recorder) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	body := rec.body.Bytes()
	half := body[:len(body)/2]
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (e.g. httptest.ResponseRecorder): send the cut body.
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(half)
		return
	}
	defer conn.Close()
	bw := bufio.NewWriter(conn)
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", rec.status, http.StatusText(rec.status))
	rec.header.Set("Content-Length", strconv.Itoa(len(body)))
	rec.header.Set("Connection", "close")
	_ = rec.header.Write(bw)
	_, _ = bw.WriteString("\r\n")
	_, _ = bw.Write(half)
	_ = bw.Flush()
}

// errorBody is the API's error shape.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code,omitempty"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

func writeErrorCode(w http.ResponseWriter, status int, msg, code string) {
	writeJSON(w, status, errorBody{Error: msg, Code: code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, `{"error":"internal error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// decodeBody decodes a JSON request body (at most 8 MiB).
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 8<<20))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON body: %v", err)
	}
	return nil
}

// pageInfo is the API's cursor block.
type pageInfo struct {
	Count       int    `json:"count"`
	TotalCount  int    `json:"total_count"`
	StartCursor string `json:"start_cursor"`
	EndCursor   string `json:"end_cursor"`
}

// parseLimit reads ?limit=, capped at the fake's page size.
func (f *Fake) parseLimit(r *http.Request) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return f.cfg.PageSize, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("limit must be a non-negative integer")
	}
	if n == 0 || n > f.cfg.PageSize {
		n = f.cfg.PageSize
	}
	return n, nil
}

// paginate returns the page of items after the cursor `after` (an encoded key).
// As the API does, every page with items carries an end_cursor, the last one
// too: only total_count (or the empty page after it) says the list is done.
func paginate[T any](items []T, key func(T) string, after string, limit int) ([]T, pageInfo, error) {
	start := 0
	if after != "" {
		k, err := base64.RawURLEncoding.DecodeString(after)
		if err != nil {
			return nil, pageInfo{}, fmt.Errorf("invalid cursor %q", after)
		}
		start = -1
		for i, it := range items {
			if key(it) == string(k) {
				start = i + 1
				break
			}
		}
		if start < 0 {
			return nil, pageInfo{}, fmt.Errorf("invalid cursor %q", after)
		}
	}
	end := min(start+limit, len(items))
	page := items[start:end]
	info := pageInfo{Count: len(page), TotalCount: len(items)}
	if len(page) > 0 {
		info.StartCursor = cursor(key(page[0]))
		info.EndCursor = cursor(key(page[len(page)-1]))
	}
	return page, info, nil
}

func cursor(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomAlnum returns n random letters and digits.
func randomAlnum(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}

// randomHex returns n random hex digits.
func randomHex(n int) string {
	const hex = "0123456789abcdef"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = hex[b[i]&15]
	}
	return string(b)
}

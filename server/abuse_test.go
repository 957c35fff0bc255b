package server

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// rawExchange writes req on a new connection and returns the status line of
// the answer and how long it took (status "" when the connection closed or
// timed out without one).
func rawExchange(t *testing.T, url, req string, limit time.Duration) (string, time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	began := time.Now()
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(limit))
	line, _ := bufio.NewReader(conn).ReadString('\n')
	return strings.TrimSpace(line), time.Since(began)
}

// TestBodiesThatNeverCome: a client that announces a body and never sends it
// holds nothing. Refused requests are answered at once; accepted ones and
// extra routes are cut at the body read timeout.
func TestBodiesThatNeverCome(t *testing.T) {
	t.Parallel()
	// A body timeout far above what "at once" may take on a busy machine
	// under -race (750 ms), so the two answers cannot be confused.
	f := newFixture(t, func(o *HTTPOptions) { o.BodyReadTimeout = 1500 * time.Millisecond })
	head := func(path, token string) string {
		h := "POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 100000\r\n"
		if token != "" {
			h += "Authorization: Bearer " + token + "\r\n"
		}
		return h + "\r\n{"
	}
	tests := []struct {
		name     string
		req      string
		want     string
		max, min time.Duration
	}{
		{name: "unauthenticated", req: head("/mcp", ""), want: "401", max: 750 * time.Millisecond},
		{name: "unknown connection", req: head("/mcp/nosuch", "tok-alice"), want: "404", max: 750 * time.Millisecond},
		{name: "authenticated, body stalls", req: head("/mcp", "tok-alice"), want: "400", min: 1500 * time.Millisecond, max: 4 * time.Second},
		{name: "extra route that ignores the body", req: head("/extra/x", ""), want: "200", max: 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			line, took := rawExchange(t, f.url, tt.req, 10*time.Second)
			if !strings.Contains(line, " "+tt.want+" ") {
				t.Errorf("answer %q, want %s", line, tt.want)
			}
			if took < tt.min || took > tt.max {
				t.Errorf("answered after %v, want %v..%v", took, tt.min, tt.max)
			}
		})
	}
}

// TestStreamsOutliveTheBodyTimeout: the read deadline every request starts
// with is lifted for accepted MCP requests, so SSE and Streamable HTTP
// streams stay open past it.
func TestStreamsOutliveTheBodyTimeout(t *testing.T) {
	t.Parallel()
	for _, tr := range []string{"sse", "http"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			const bodyTimeout = 200 * time.Millisecond
			f := newFixture(t, func(o *HTTPOptions) {
				o.Transport = tr
				o.BodyReadTimeout = bodyTimeout
			})
			var c *client.Client
			if tr == "sse" {
				c = dialSSE(t, f.url+"/sse", "tok-alice")
			} else {
				//lint:ignore SA1019 the legacy era's GET stream (deprecated in mcp-go for the modern era) is the stream under test.
				trp, err := transport.NewStreamableHTTP(f.url+"/mcp", transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer tok-alice"}), transport.WithContinuousListening())
				if err != nil {
					t.Fatal(err)
				}
				c = client.NewClient(trp, client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
				start(t, c)
			}
			notified := make(chan struct{}, 1)
			c.OnNotification(func(n mcp.JSONRPCNotification) {
				if n.Method == string(mcp.MethodNotificationToolsListChanged) {
					select {
					case notified <- struct{}{}:
					default:
					}
				}
			})
			// What is under test is time passing on the socket: the read
			// deadline set when the stream's request arrived would have
			// fired five times over by now had it not been lifted. Nothing
			// but the clock can show that; no goroutine is being ordered.
			time.Sleep(5 * bodyTimeout)
			if got := callText(t, c, "whoami"); got != "alice|" {
				t.Errorf("call after the stream idled: %q", got)
			}
			// The stream still carries notifications.
			f.srv.Refresh()
			select {
			case <-notified:
			case <-time.After(5 * time.Second):
				t.Error("no list_changed on a stream older than the body timeout")
			}
		})
	}
}

// TestMessageWithIDButNoMethod: a message that is neither a request nor a
// response gets a JSON-RPC invalid-request error with its id (mcp-go alone
// would take it for a response and answer nothing).
func TestMessageWithIDButNoMethod(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	c := dialHTTP(t, f.url+"/mcp", "tok-alice", true)
	for _, tt := range []struct{ body, id string }{
		{`{"jsonrpc":"2.0","id":"m1"}`, `"m1"`},
		{`{"jsonrpc":"2.0","id":7,"params":{}}`, `7`},
	} {
		resp := rawPost(t, f.url+"/mcp", "tok-alice", c.GetSessionId(), tt.body)
		var msg struct {
			ID    json.RawMessage `json:"id"`
			Error struct {
				Code int `json:"code"`
			} `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&msg)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || msg.Error.Code != mcp.INVALID_REQUEST || string(msg.ID) != tt.id {
			t.Errorf("%s: HTTP %d id %s code %d, want 400 with -32600 and id %s", tt.body, resp.StatusCode, msg.ID, msg.Error.Code, tt.id)
		}
	}
	// A response to the server (result) is still accepted as one.
	resp := rawPost(t, f.url+"/mcp", "tok-alice", c.GetSessionId(), `{"jsonrpc":"2.0","id":99,"result":{}}`)
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		t.Errorf("a response message: HTTP %d, want it accepted", resp.StatusCode)
	}
	if got := callText(t, c, "whoami"); got != "alice|" {
		t.Errorf("the session after the invalid messages: %q", got)
	}
}

// TestRefusedBodiesCloseTheConnection: a request whose body is refused after
// reading began (it stalled, or a chunked body ran past the limit) gets its
// answer and then loses its connection within the body read timeout: net/http
// must not go on draining the rest of the body with no deadline.
func TestRefusedBodiesCloseTheConnection(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	f := newFixture(t, func(o *HTTPOptions) {
		o.BodyReadTimeout = timeout
		o.MaxBodyBytes = 1024
	})
	const head = "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nAuthorization: Bearer tok-alice\r\n"
	oversized := strings.Repeat("x", 2048)
	tests := []struct {
		name, req, want string
	}{
		{"partial body", head + "Content-Length: 1000\r\n\r\n{", "400"},
		{"declared length over the limit", head + "Content-Length: 300000\r\n\r\n{", "413"},
		{"oversized chunked body, then silence", head + "Transfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n", len(oversized)) + oversized + "\r\n", "413"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conn, err := net.Dial("tcp", strings.TrimPrefix(f.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			began := time.Now()
			if _, err := io.WriteString(conn, tt.req); err != nil {
				t.Fatal(err)
			}
			// The body timeout, net/http's lingering close (500ms) and slack.
			bound := timeout + 2*time.Second
			_ = conn.SetReadDeadline(began.Add(bound))
			r := bufio.NewReader(conn)
			line, err := r.ReadString('\n')
			if err != nil || !strings.Contains(line, " "+tt.want+" ") {
				t.Fatalf("answer %q (%v), want %s", line, err, tt.want)
			}
			resp, err := http.ReadResponse(bufio.NewReader(io.MultiReader(strings.NewReader(line), r)), nil)
			if err != nil {
				t.Fatalf("reading the answer: %v", err)
			}
			if !resp.Close {
				t.Errorf("answer without Connection: close (headers %v)", resp.Header)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			// Whatever follows, the server must close the connection.
			_, err = io.Copy(io.Discard, r)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("the connection was still open %v after the request", bound)
			}
			t.Logf("closed after %v (%v)", time.Since(began).Round(time.Millisecond), err)
		})
	}
}

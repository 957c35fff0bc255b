package app

// The start-up critical path: the credential check runs beside the token,
// the catalogs and the server. initialize and tools/list never wait for it;
// tool calls do, and rejected credentials still end the server with exit 2
// before a call runs.

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
)

// inProcessStdio is serve over stdio in process, driven with raw JSON-RPC frames.
type inProcessStdio struct {
	t    *testing.T
	in   *io.PipeWriter
	out  chan json.RawMessage // every frame the server wrote
	done chan error           // Run's result
	logs *syncBuffer
}

// startInProcessStdio runs serve over stdio against api with the environment of
// startEnv and extra.
func startInProcessStdio(t *testing.T, api string, extra map[string]string) *inProcessStdio {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	p := &inProcessStdio{t: t, in: inW, out: make(chan json.RawMessage, 64), done: make(chan error, 1), logs: &syncBuffer{}}
	go func() {
		err := Run(t.Context(), []string{"serve"}, startEnv(api, extra), inR, outW, p.logs)
		_ = outW.Close()
		p.done <- err
	}()
	go func() {
		defer close(p.out)
		sc := bufio.NewScanner(outR)
		sc.Buffer(nil, 8<<20)
		for sc.Scan() {
			p.out <- json.RawMessage(append([]byte(nil), sc.Bytes()...))
		}
	}()
	t.Cleanup(func() { _ = inW.Close() })
	return p
}

// send writes one request (id > 0) or notification (id 0).
func (p *inProcessStdio) send(id int, method string, params any) {
	p.t.Helper()
	msg := map[string]any{"jsonrpc": "2.0", "method": method, "params": params}
	if id > 0 {
		msg["id"] = id
	}
	b, err := json.Marshal(msg)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.in.Write(append(b, '\n')); err != nil {
		p.t.Fatalf("write %s: %v", method, err)
	}
}

// rpcResponse is a JSON-RPC response frame.
type rpcResponse struct {
	ID     int             `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

// recv returns the rpcResponse with id, collecting the other responses it reads
// on the way in seen; it fails the test after 20s or when the output ends.
func (p *inProcessStdio) recv(id int, seen map[int]rpcResponse) rpcResponse {
	p.t.Helper()
	if r, ok := seen[id]; ok {
		return r
	}
	timeout := time.After(20 * time.Second)
	for {
		select {
		case frame, ok := <-p.out:
			if !ok {
				p.t.Fatalf("the server's output ended before rpcResponse %d:\n%s", id, p.logs)
			}
			var r rpcResponse
			if json.Unmarshal(frame, &r) != nil || r.ID == 0 {
				continue // a notification
			}
			if r.ID == id {
				return r
			}
			seen[r.ID] = r
		case <-timeout:
			p.t.Fatalf("no rpcResponse %d in 20s:\n%s", id, p.logs)
		}
	}
}

func initParams() map[string]any {
	return map[string]any{
		"protocolVersion": mcp.LATEST_LEGACY_PROTOCOL_VERSION,
		"clientInfo":      map[string]any{"name": "startup-test", "version": "1"},
		"capabilities":    map[string]any{},
	}
}

// toolNamesOf returns the tool names of a tools/list result.
func toolNamesOf(t *testing.T, result json.RawMessage) []string {
	t.Helper()
	var list struct{ Tools []struct{ Name string } }
	if err := json.Unmarshal(result, &list); err != nil {
		t.Fatalf("tools/list result: %v", err)
	}
	var names []string
	for _, tl := range list.Tools {
		names = append(names, tl.Name)
	}
	return names
}

// heldCheck passes requests to the fake, but holds the start-up credential
// check (the project-scoped accounts read that names no user) until release
// is closed, then answers it with status (0: the fake's own answer).
type heldCheck struct {
	next    http.Handler
	release chan struct{}
	status  int
}

func (h *heldCheck) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/accounts") && r.URL.Query().Get("external_user_id") == "" {
		<-h.release
		if h.status != 0 {
			http.Error(w, `{"error":"not found"}`, h.status)
			return
		}
	}
	h.next.ServeHTTP(w, r)
}

// TestStartServesBesideTheCredentialCheck: while the credential check is
// held upstream, initialize and a complete tools/list are answered; a tool
// call waits for the check and runs once it passes, or never runs when the
// check rejects the credentials, and the server then exits with status 2.
func TestStartServesBesideTheCredentialCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		status   int // the check's answer
		wantExit int
	}{
		{"check passes", 0, 0},
		{"project not found", http.StatusNotFound, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := pdtest.New(pdtest.Config{})
			fake.AddAccount(pdtest.Account{ExternalUserID: rotUser, App: "slack", Healthy: true})
			held := &heldCheck{next: fake, release: make(chan struct{}), status: tc.status}
			api := httptest.NewServer(held)
			t.Cleanup(api.Close)
			released := false
			release := func() {
				if !released {
					released = true
					close(held.release)
				}
			}
			t.Cleanup(release)

			p := startInProcessStdio(t, api.URL, nil)
			seen := map[int]rpcResponse{}
			p.send(1, "initialize", initParams())
			if r := p.recv(1, seen); r.Error != nil {
				t.Fatalf("initialize: %s", r.Error)
			}
			p.send(0, "notifications/initialized", map[string]any{})
			p.send(2, "tools/list", map[string]any{})
			names := toolNamesOf(t, p.recv(2, seen).Result)
			for _, want := range []string{"slack_send_message_to_channel", "github_create_issue"} {
				if !strings.Contains(strings.Join(names, " "), want) {
					t.Errorf("tools/list during the check lacks %s: %v", want, names)
				}
			}
			p.send(3, "tools/call", map[string]any{"name": "slack_send_message_to_channel", "arguments": map[string]any{"conversation": "C00001000", "text": "hi"}})
			p.send(4, "ping", map[string]any{})
			p.recv(4, seen) // the call has been read; it must wait for the check
			if r, ok := seen[3]; ok {
				t.Fatalf("the call was answered while the credential check was held: %s", r.Result)
			}
			if n := fake.Count(pdtest.EndpointRun); n != 0 {
				t.Fatalf("%d actions ran before the credentials were checked", n)
			}
			release()
			if tc.wantExit == 0 {
				var res struct {
					IsError           bool           `json:"isError"`
					StructuredContent map[string]any `json:"structuredContent"`
				}
				if err := json.Unmarshal(p.recv(3, seen).Result, &res); err != nil || res.IsError || res.StructuredContent["status"] != "success" {
					t.Errorf("call after the check: %+v (%v)", res, err)
				}
				_ = p.in.Close()
			}
			var msg strings.Builder
			if code := ExitCode(<-p.done, &msg); code != tc.wantExit {
				t.Fatalf("exit status %d, want %d: %s\n%s", code, tc.wantExit, msg.String(), p.logs)
			}
			if tc.wantExit == 2 {
				if !strings.Contains(msg.String(), "was not found for this OAuth client") {
					t.Errorf("the error does not name the problem: %s", msg.String())
				}
				if n := fake.Count(pdtest.EndpointRun); n != 0 {
					t.Errorf("%d actions ran with a project Pipedream does not know", n)
				}
			}
		})
	}
}

// TestStartCriticalPath: with every upstream request taking latency, the
// first complete tools/list comes within two round trips (the token, then
// the first and only catalog page of each app, in parallel) plus the
// server's own start, and initialize within a fraction of one.
func TestStartCriticalPath(t *testing.T) {
	t.Parallel()
	// Long enough that the server's own start (catalog builds, slower under
	// -race on a busy machine: up to about 200 ms) stays well inside one
	// round trip, so that the bound below tells 2 round trips from 3.
	const latency = 500 * time.Millisecond
	fake := pdtest.New(pdtest.Config{})
	fake.InjectFault(pdtest.Fault{Endpoint: pdtest.EndpointAll, Delay: latency})
	api := httptest.NewServer(fake)
	t.Cleanup(api.Close)

	start := time.Now()
	p := startInProcessStdio(t, api.URL, nil)
	seen := map[int]rpcResponse{}
	p.send(1, "initialize", initParams())
	p.recv(1, seen)
	initialized := time.Since(start)
	p.send(0, "notifications/initialized", map[string]any{})
	p.send(2, "tools/list", map[string]any{})
	names := toolNamesOf(t, p.recv(2, seen).Result)
	listed := time.Since(start)
	if !strings.Contains(strings.Join(names, " "), "slack_send_message_to_channel") {
		t.Errorf("tools/list is not complete: %v", names)
	}
	t.Logf("upstream latency %v: initialize at %v, first complete tools/list at %v", latency, initialized, listed)
	if initialized > latency/2 {
		t.Errorf("initialize took %v: it waited on upstream (latency %v)", initialized, latency)
	}
	// A third round trip (the credential check or an empty last page on the
	// path) would take the list past 3 × latency, whatever the start costs.
	if limit := 3 * latency; listed >= limit {
		t.Errorf("first complete tools/list at %v, want under %v (2 round trips of %v, plus the start; 3 would reach it)", listed, limit, latency)
	}
	if n := fake.Count(pdtest.EndpointToken); n != 1 {
		t.Errorf("token requests = %d, want 1 shared by the check and the catalogs", n)
	}
	_ = p.in.Close()
	if err := <-p.done; err != nil {
		t.Errorf("serve: %v\n%s", err, p.logs)
	}
}

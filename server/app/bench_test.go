package app

// Benchmarks of the whole server: catalog requests on a cold start, the
// latency a tool call gains by going through the server, server CPU per call,
// throughput, memory with a large catalog and per idle session.
//
// The heavy ones build the binary and run the server and the fake
// (`pipedream-mcp sandbox-api`) as separate processes, so the server's CPU
// time and RSS can be read from /proc without the fake's or the client's.
// They skip unless PDMCP_BENCH_FULL=1; CI runs every benchmark once
// (-benchtime 1x) without it. Everything is on loopback. The client here is a
// small JSON-RPC driver (raw HTTP and stdio frames), not the mcp-go client, so
// its own cost stays small next to the server's.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
)

// benchFullEnv turns on the heavy benchmarks.
const benchFullEnv = "PDMCP_BENCH_FULL"

func benchNeedFull(b *testing.B) {
	b.Helper()
	if os.Getenv(benchFullEnv) == "" {
		b.Skipf("builds the binary and runs separate processes; set %s=1 to run it", benchFullEnv)
	}
	if runtime.GOOS != "linux" {
		b.Skip("reads server CPU time and RSS from /proc")
	}
}

// The call every overhead and throughput benchmark makes, and the same run
// sent straight to the fake.
const (
	benchUser      = pdtest.DemoUser
	benchTool      = "slack_send_message_to_channel"
	benchActionKey = "slack-send-message-to-channel"
	benchAccount   = "apn_demo_slack_new"
	benchApps      = "slack,github,hubspot"
)

var benchArgs = map[string]any{"conversation": "C00001000", "text": "Deploy finished"}

// benchProc is a child process of the benchmark.
type benchProc struct {
	cmd    *exec.Cmd
	url    string // base URL, when it serves HTTP
	stderr *syncBuffer
}

// newBenchLog keeps the first MiB a process logs, where start-up problems are.
func newBenchLog() *syncBuffer { return &syncBuffer{max: 1 << 20} }

func (p *benchProc) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM and waits (SIGKILL after 10s).
func (p *benchProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// benchCPUTime is the user+system CPU time of a process so far (/proc/PID/stat,
// clock ticks of 10 ms).
func benchCPUTime(b *testing.B, pid int) time.Duration {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name, which is in parentheses: state is
	// field 3, utime 14, stime 15.
	rest := string(raw[bytes.LastIndexByte(raw, ')')+2:])
	f := strings.Fields(rest)
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	return time.Duration(ut+st) * tick
}

// benchRSS returns a process's resident set size and its peak, in bytes.
func benchRSS(b *testing.B, pid int) (cur, peak int64) {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(raw)) {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			cur = kb << 10
		case "VmHWM":
			peak = kb << 10
		}
	}
	return cur, peak
}

// benchStartAPI runs `pipedream-mcp sandbox-api` and returns it with its URL.
func benchStartAPI(b *testing.B, args ...string) *benchProc {
	b.Helper()
	cmd := exec.Command(builtBinary(b), append([]string{"sandbox-api", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "NO_COLOR=1"}
	p := &benchProc{cmd: cmd, stderr: newBenchLog()}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.stop)
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatalf("sandbox-api printed no URL: %v\n%s", err, p.stderr)
	}
	p.url = strings.TrimSpace(line)
	return p
}

// benchBeforeEnv, when set, names another pipedream-mcp binary (say, built
// from an earlier commit): CallOverhead and Throughput then also run it, as
// "before", in the same run, so a change is measured against what it
// replaces on the same machine under the same load.
const benchBeforeEnv = "PDMCP_BENCH_BEFORE"

// benchServerBinary is the binary of the server under test, or with before
// the one benchBeforeEnv names.
func benchServerBinary(b *testing.B, before bool) string {
	if before {
		return os.Getenv(benchBeforeEnv)
	}
	return builtBinary(b)
}

// benchGOMAXPROCSEnv, when set, is the GOMAXPROCS of every server process a
// benchmark starts (the floor's included), to compare runtime settings.
const benchGOMAXPROCSEnv = "PDMCP_BENCH_SERVER_GOMAXPROCS"

// benchEnv is the environment of a server using the fake at apiURL through
// the real-credentials path, with the sandbox's own secret (what
// `pipedream-mcp sandbox-api` accepts) and the benchmark's user.
func benchEnv(apiURL, apps string) map[string]string {
	env := serverEnv(apiURL, apps, map[string]string{
		"PIPEDREAM_CLIENT_SECRET":    pdtest.SandboxClientSecret,
		"PIPEDREAM_EXTERNAL_USER_ID": benchUser,
	})
	if n := os.Getenv(benchGOMAXPROCSEnv); n != "" {
		env["GOMAXPROCS"] = n
	}
	return env
}

// benchStartHTTP runs `pipedream-mcp serve --transport <transport>` (http or
// sse) and waits until /readyz answers 200. The log level is info, as
// deployed: one audit line per call goes to stderr (drained, not kept).
func benchStartHTTP(b *testing.B, apiURL, apps, transport string, args ...string) *benchProc {
	b.Helper()
	return benchStartHTTPBin(b, builtBinary(b), apiURL, apps, transport, args...)
}

// benchStartHTTPBin is benchStartHTTP with the server binary bin.
func benchStartHTTPBin(b *testing.B, bin, apiURL, apps, transport string, args ...string) *benchProc {
	b.Helper()
	port := freePort(b)
	cmd := exec.Command(bin, append([]string{"serve", "--transport", transport, "--addr", "127.0.0.1:" + port, "--auth", "none"}, args...)...)
	cmd.Env = envList(benchEnv(apiURL, apps))
	p := &benchProc{cmd: cmd, url: "http://127.0.0.1:" + port, stderr: newBenchLog()}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.stop)
	waitReady(b, p.url, 60*time.Second, p.stderr)
	return p
}

// benchResponse is a JSON-RPC response.
type benchResponse struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func benchFrame(id int64, method string, params any) []byte {
	m := map[string]any{"jsonrpc": "2.0", "method": method}
	if id != 0 {
		m["id"] = id
	}
	if params != nil {
		m["params"] = params
	}
	out, _ := json.Marshal(m)
	return out
}

var benchInitParams = map[string]any{
	"protocolVersion": mcp.LATEST_LEGACY_PROTOCOL_VERSION,
	"capabilities":    map[string]any{},
	"clientInfo":      map[string]any{"name": "bench", "version": "1"},
}

var benchCallParams = map[string]any{"name": benchTool, "arguments": benchArgs}

// benchCheckCall fails unless the result of a tools/call is a success.
func benchCheckCall(res benchResponse) error {
	if res.Error != nil {
		return fmt.Errorf("tools/call: %d %s", res.Error.Code, res.Error.Message)
	}
	var r struct {
		IsError bool `json:"isError"`
	}
	if err := json.Unmarshal(res.Result, &r); err != nil || r.IsError {
		return fmt.Errorf("tools/call failed: %s", res.Result)
	}
	return nil
}

// benchSession is one Streamable HTTP session of the legacy era
// (initialize, Mcp-Session-Id), or with modern the stateless 2026-07-28 era:
// no handshake, each request carrying its version, client and capabilities
// in _meta and its method and name in headers.
type benchSession struct {
	hc      *http.Client
	url     string
	modern  bool
	session string
	id      atomic.Int64
}

func benchHTTPClient(conns int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = conns + 16
	tr.MaxIdleConnsPerHost = conns + 16
	return &http.Client{Transport: tr, Timeout: 2 * time.Minute}
}

// newBenchSession initializes a session at endpoint (".../mcp").
func newBenchSession(ctx context.Context, hc *http.Client, endpoint string) (*benchSession, error) {
	return newBenchSessionEra(ctx, hc, endpoint, false)
}

// newBenchSessionEra is newBenchSession in either era: a modern one has no
// handshake.
func newBenchSessionEra(ctx context.Context, hc *http.Client, endpoint string, modern bool) (*benchSession, error) {
	c := &benchSession{hc: hc, url: endpoint, modern: modern}
	if modern {
		return c, nil
	}
	if _, err := c.call(ctx, "initialize", benchInitParams); err != nil {
		return nil, err
	}
	if err := c.notify(ctx, "notifications/initialized"); err != nil {
		return nil, err
	}
	return c, nil
}

// benchModernMeta is the _meta every 2026-07-28 request carries.
var benchModernMeta = map[string]any{
	mcp.MetaKeyProtocolVersion:    mcp.LATEST_PROTOCOL_VERSION,
	mcp.MetaKeyClientInfo:         benchInitParams["clientInfo"],
	mcp.MetaKeyClientCapabilities: map[string]any{},
}

func (c *benchSession) post(ctx context.Context, body []byte, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = header
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if c.modern {
		req.Header.Set("Mcp-Protocol-Version", mcp.LATEST_PROTOCOL_VERSION)
	}
	if c.session != "" {
		req.Header.Set("Mcp-Session-Id", c.session)
		req.Header.Set("MCP-Protocol-Version", mcp.LATEST_LEGACY_PROTOCOL_VERSION)
	}
	return c.hc.Do(req)
}

func (c *benchSession) notify(ctx context.Context, method string) error {
	resp, err := c.post(ctx, benchFrame(0, method, nil), http.Header{})
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: HTTP %d", method, resp.StatusCode)
	}
	return nil
}

// call sends a request and returns its response, from a JSON body or from
// the SSE stream the server may answer with.
func (c *benchSession) call(ctx context.Context, method string, params any) (benchResponse, error) {
	id := c.id.Add(1)
	header := http.Header{}
	if c.modern {
		p, _ := params.(map[string]any)
		p = maps.Clone(p)
		if p == nil {
			p = map[string]any{}
		}
		p["_meta"] = benchModernMeta
		params = p
		header.Set(mcp.HeaderMethod, method)
		if name, ok := p["name"].(string); ok {
			header.Set(mcp.HeaderName, name)
		}
	}
	resp, err := c.post(ctx, benchFrame(id, method, params), header)
	if err != nil {
		return benchResponse{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return benchResponse{}, fmt.Errorf("%s: HTTP %d: %s", method, resp.StatusCode, body)
	}
	if s := resp.Header.Get("Mcp-Session-Id"); s != "" {
		c.session = s
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return benchReadSSE(bufio.NewReader(resp.Body), id)
	}
	var r benchResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return benchResponse{}, fmt.Errorf("%s: %w", method, err)
	}
	return r, nil
}

// benchReadSSE reads SSE events until the response with id.
func benchReadSSE(br *bufio.Reader, id int64) (benchResponse, error) {
	want := strconv.FormatInt(id, 10)
	for {
		line, err := br.ReadBytes('\n')
		if data, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			var r benchResponse
			if json.Unmarshal(bytes.TrimSpace(data), &r) == nil && string(r.ID) == want {
				return r, nil
			}
		}
		if err != nil {
			return benchResponse{}, fmt.Errorf("stream ended before response %d: %w", id, err)
		}
	}
}

// benchStdio drives a server over stdio frames.
type benchStdio struct {
	in  io.Writer
	out *bufio.Reader
	id  int64
}

func (c *benchStdio) call(method string, params any) (benchResponse, error) {
	c.id++
	if _, err := c.in.Write(append(benchFrame(c.id, method, params), '\n')); err != nil {
		return benchResponse{}, err
	}
	want := strconv.FormatInt(c.id, 10)
	for {
		line, err := c.out.ReadBytes('\n')
		if err != nil {
			return benchResponse{}, err
		}
		var r benchResponse
		if json.Unmarshal(line, &r) == nil && string(r.ID) == want {
			return r, nil
		}
	}
}

// benchStartStdio runs `pipedream-mcp serve` on stdio and initializes it.
func benchStartStdio(b *testing.B, apiURL, apps string) (*benchProc, *benchStdio) {
	b.Helper()
	return benchStartStdioBin(b, builtBinary(b), apiURL, apps)
}

// benchStartStdioBin is benchStartStdio with the server binary bin.
func benchStartStdioBin(b *testing.B, bin, apiURL, apps string) (*benchProc, *benchStdio) {
	b.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = envList(benchEnv(apiURL, apps))
	return benchStartStdioCmd(b, cmd)
}

// benchStartStdioCmd starts an MCP server on stdio and initializes it.
func benchStartStdioCmd(b *testing.B, cmd *exec.Cmd) (*benchProc, *benchStdio) {
	b.Helper()
	p := &benchProc{cmd: cmd, stderr: newBenchLog()}
	cmd.Stderr = p.stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = in.Close(); p.stop() })
	c := &benchStdio{in: in, out: bufio.NewReaderSize(out, 1<<20)}
	if _, err := c.call("initialize", benchInitParams); err != nil {
		b.Fatalf("stdio initialize: %v\n%s", err, p.stderr)
	}
	if _, err := in.Write(append(benchFrame(0, "notifications/initialized", nil), '\n')); err != nil {
		b.Fatal(err)
	}
	// tools/list waits for the catalogs, so calls below find their tool.
	if _, err := c.call("tools/list", nil); err != nil {
		b.Fatal(err)
	}
	return p, c
}

// benchDirect posts the run the server would send straight to the fake.
type benchDirect struct {
	hc    *http.Client
	url   string
	token string
	body  []byte
}

func newBenchDirect(b testing.TB, apiURL string) *benchDirect {
	b.Helper()
	hc := benchHTTPClient(4)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {pdtest.SandboxClientID}, "client_secret": {pdtest.SandboxClientSecret}}
	resp, err := hc.PostForm(apiURL+"/v1/oauth/token", form)
	if err != nil {
		b.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || tok.AccessToken == "" {
		b.Fatalf("token: %v", err)
	}
	props := maps.Clone(benchArgs)
	props["slack"] = map[string]any{"authProvisionId": benchAccount}
	body, _ := json.Marshal(map[string]any{"id": benchActionKey, "external_user_id": benchUser, "configured_props": props})
	return &benchDirect{hc: hc, url: apiURL + "/v1/connect/" + pdtest.SandboxProjectID + "/actions/run", token: tok.AccessToken, body: body}
}

func (d *benchDirect) run() error {
	req, _ := http.NewRequest(http.MethodPost, d.url, bytes.NewReader(d.body))
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-PD-Environment", pdtest.SandboxEnvironment)
	resp, err := d.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var r struct {
		OS []struct {
			K string `json:"k"`
		} `json:"os"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("direct run: HTTP %d %v", resp.StatusCode, err)
	}
	for _, o := range r.OS {
		if o.K == "error" {
			return errors.New("direct run reported an error")
		}
	}
	return nil
}

// benchLatencies collects durations and reports percentiles.
type benchLatencies []time.Duration

func (l benchLatencies) pct(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p)
	return s[i]
}

func benchUS(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// BenchmarkCallOverhead measures what the server adds to a tool call. Each
// iteration makes the same run several ways, in turn: straight to the fake
// (direct); through a server on stdio, on Streamable HTTP in the legacy era
// (sessions) and in the 2026-07-28 era (stateless); the same three
// transports to the floor, a no-op mcp-go tool; and to floor+run, an mcp-go
// tool that only makes the direct run (bench_floor_test.go). Each server is
// its own process and the fake another, so the CPU time a server burns per
// call is read from /proc. Reported: p50 and p99 of each path, the added
// latency (server p50/p99 minus direct p50/p99), server CPU per call, and
// the ratio of ours to the floor's and to floor+run's CPU per call on each
// transport. With PDMCP_BENCH_BEFORE (benchBeforeEnv) the calls also go,
// interleaved, to that binary on the three transports (before-*).
// ns/op is the time of all the calls of an iteration.
func BenchmarkCallOverhead(b *testing.B) {
	benchNeedFull(b)
	for _, delay := range []time.Duration{0, 5 * time.Millisecond} {
		b.Run("upstream="+delay.String(), func(b *testing.B) {
			api := benchStartAPI(b, "--run-delay", delay.String())
			direct := newBenchDirect(b, api.url)
			ctx := context.Background()
			stdioCall := func(c *benchStdio) func() error {
				return func() error {
					r, err := c.call("tools/call", benchCallParams)
					if err != nil {
						return err
					}
					return benchCheckCall(r)
				}
			}
			httpCall := func(url string, modern bool) func() error {
				s, err := newBenchSessionEra(ctx, benchHTTPClient(4), url+"/mcp", modern)
				if err != nil {
					b.Fatal(err)
				}
				return func() error {
					r, err := s.call(ctx, "tools/call", benchCallParams)
					if err != nil {
						return err
					}
					return benchCheckCall(r)
				}
			}
			stdioProc, stdio := benchStartStdio(b, api.url, benchApps)
			httpProc := benchStartHTTP(b, api.url, benchApps, "http")
			modernProc := benchStartHTTP(b, api.url, benchApps, "http")
			floorStdioProc, floorStdio := benchStartFloorStdio(b, "")
			floorHTTPProc := benchStartFloorHTTP(b, "")
			floorModernProc := benchStartFloorHTTP(b, "")
			runStdioProc, runStdio := benchStartFloorStdio(b, api.url)
			runHTTPProc := benchStartFloorHTTP(b, api.url)
			runModernProc := benchStartFloorHTTP(b, api.url)
			type path struct {
				name  string
				proc  *benchProc // nil: direct
				floor int        // index of the floor path of the same transport; -1: none
				run   int        // index of the floor+run path of the same transport; -1: none
				call  func() error
			}
			paths := []path{
				{"direct", nil, -1, -1, direct.run},
				{"stdio", stdioProc, 4, 7, stdioCall(stdio)},
				{"http", httpProc, 5, 8, httpCall(httpProc.url, false)},
				{"http-modern", modernProc, 6, 9, httpCall(modernProc.url, true)},
				{"floor-stdio", floorStdioProc, -1, -1, stdioCall(floorStdio)},
				{"floor-http", floorHTTPProc, -1, -1, httpCall(floorHTTPProc.url, false)},
				{"floor-http-modern", floorModernProc, -1, -1, httpCall(floorModernProc.url, true)},
				{"floor+run-stdio", runStdioProc, -1, -1, stdioCall(runStdio)},
				{"floor+run-http", runHTTPProc, -1, -1, httpCall(runHTTPProc.url, false)},
				{"floor+run-http-modern", runModernProc, -1, -1, httpCall(runModernProc.url, true)},
			}
			if before := os.Getenv(benchBeforeEnv); before != "" {
				bStdioProc, bStdio := benchStartStdioBin(b, before, api.url, benchApps)
				bHTTPProc := benchStartHTTPBin(b, before, api.url, benchApps, "http")
				bModernProc := benchStartHTTPBin(b, before, api.url, benchApps, "http")
				paths = append(paths,
					path{"before-stdio", bStdioProc, 4, 7, stdioCall(bStdio)},
					path{"before-http", bHTTPProc, 5, 8, httpCall(bHTTPProc.url, false)},
					path{"before-http-modern", bModernProc, 6, 9, httpCall(bModernProc.url, true)},
				)
			}
			for range 200 { // warm up: connections, account caches, heaps
				for _, p := range paths {
					if err := p.call(); err != nil {
						b.Fatalf("%s: %v", p.name, err)
					}
				}
			}
			lat := make([]benchLatencies, len(paths))
			cpu := make([]time.Duration, len(paths))
			for k, p := range paths {
				if p.proc != nil {
					cpu[k] = -benchCPUTime(b, p.proc.pid())
				}
			}
			for i := 0; b.Loop(); i++ {
				for k := range paths {
					j := (i + k) % len(paths)
					start := time.Now()
					if err := paths[j].call(); err != nil {
						b.Fatalf("%s: %v", paths[j].name, err)
					}
					lat[j] = append(lat[j], time.Since(start))
				}
			}
			b.StopTimer()
			perCall := make([]float64, len(paths))
			for k, p := range paths {
				if p.proc != nil {
					perCall[k] = benchUS(cpu[k]+benchCPUTime(b, p.proc.pid())) / float64(b.N)
				}
			}
			d50, d99 := lat[0].pct(0.50), lat[0].pct(0.99)
			b.ReportMetric(benchUS(d50), "direct-p50-µs")
			b.ReportMetric(benchUS(d99), "direct-p99-µs")
			for k, p := range paths[1:] {
				k++
				l := lat[k]
				b.ReportMetric(benchUS(l.pct(0.50)), p.name+"-p50-µs")
				b.ReportMetric(benchUS(l.pct(0.99)), p.name+"-p99-µs")
				b.ReportMetric(perCall[k], p.name+"-server-cpu-µs/call")
				if p.floor < 0 {
					continue
				}
				b.ReportMetric(benchUS(l.pct(0.50)-d50), p.name+"-added-p50-µs")
				b.ReportMetric(benchUS(l.pct(0.99)-d99), p.name+"-added-p99-µs")
				b.ReportMetric(benchRatio(perCall[k], perCall[p.floor]), p.name+"-cpu/floor")
				b.ReportMetric(benchRatio(perCall[k], perCall[p.run]), p.name+"-cpu/floor+run")
			}
		})
	}
}

// BenchmarkThroughput runs tool calls from 1, 16 and 64 concurrent clients,
// each with its own Streamable HTTP session, against a server process and the
// fake in another process, all on this machine. Reported: calls/s, p50/p99
// latency under that load and server CPU per call. Each load also runs
// against the framework's floor (floor-clients=N: a no-op mcp-go tool) and
// floor+run (floor+run-clients=N: the same upstream run made with plain
// net/http), and with PDMCP_BENCH_BEFORE (benchBeforeEnv) against that
// binary (before-clients=N).
func BenchmarkThroughput(b *testing.B) {
	benchNeedFull(b)
	for _, delay := range []time.Duration{0, 20 * time.Millisecond} {
		b.Run("upstream="+delay.String(), func(b *testing.B) {
			api := benchStartAPI(b, "--run-delay", delay.String())
			servers := []struct {
				name string
				proc *benchProc
			}{
				{"", benchStartHTTP(b, api.url, benchApps, "http")},
				// The framework's ceiling on this machine: a no-op mcp-go
				// tool, and one that makes the same upstream run with plain
				// net/http, served the same way.
				{"floor-", benchStartFloorHTTP(b, "")},
				{"floor+run-", benchStartFloorHTTP(b, api.url)},
			}
			if before := os.Getenv(benchBeforeEnv); before != "" {
				servers = append(servers, struct {
					name string
					proc *benchProc
				}{"before-", benchStartHTTPBin(b, before, api.url, benchApps, "http")})
			}
			for _, clients := range []int{1, 16, 64} {
				for _, server := range servers {
					srv := server.proc
					b.Run(fmt.Sprintf("%sclients=%d", server.name, clients), func(b *testing.B) {
						ctx := context.Background()
						hc := benchHTTPClient(clients)
						sessions := make([]*benchSession, clients)
						for i := range sessions {
							s, err := newBenchSession(ctx, hc, srv.url+"/mcp")
							if err != nil {
								b.Fatal(err)
							}
							sessions[i] = s
							for range 5 {
								r, err := s.call(ctx, "tools/call", benchCallParams)
								if err == nil {
									err = benchCheckCall(r)
								}
								if err != nil {
									b.Fatal(err)
								}
							}
						}
						var next atomic.Int64
						lat := make([]benchLatencies, clients)
						errs := make([]error, clients)
						cpu0 := benchCPUTime(b, srv.pid())
						b.ResetTimer()
						start := time.Now()
						var wg sync.WaitGroup
						for i, s := range sessions {
							wg.Go(func() {
								for next.Add(1) <= int64(b.N) {
									t0 := time.Now()
									r, err := s.call(ctx, "tools/call", benchCallParams)
									if err == nil {
										err = benchCheckCall(r)
									}
									if err != nil {
										errs[i] = err
										return
									}
									lat[i] = append(lat[i], time.Since(t0))
								}
							})
						}
						wg.Wait()
						elapsed := time.Since(start)
						b.StopTimer()
						if err := errors.Join(errs...); err != nil {
							b.Fatal(err)
						}
						cpu := benchCPUTime(b, srv.pid()) - cpu0
						var all benchLatencies
						for _, l := range lat {
							all = append(all, l...)
						}
						b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
						b.ReportMetric(benchUS(all.pct(0.50)), "p50-µs")
						b.ReportMetric(benchUS(all.pct(0.99)), "p99-µs")
						b.ReportMetric(benchUS(cpu)/float64(b.N), "server-cpu-µs/call")
					})
				}
			}
		})
	}
}

// BenchmarkColdStartListTools starts the server (in process, Streamable HTTP)
// against a fake whose catalog pages take 100 ms each, and has 100 clients
// initialize and list tools at once while the catalogs load. Every client must
// get the whole list; the fake counts what the start cost upstream. The
// target: one catalog load per app (ceil(N/page size) list pages each, and
// one of the private registry), one token request, and the one credential
// check read.
func BenchmarkColdStartListTools(b *testing.B) {
	const clients = 100
	apps := []string{"slack", "github", "hubspot", "notion", "google_sheets"}
	var tokens, pages, checks, other, total float64
	for b.Loop() {
		b.StopTimer()
		fake := pdtest.NewSandbox()
		wantPages := 0
		for _, app := range apps {
			n := len(benchCatalogActions(b, app))
			// The public listing's pages, and the private registry's one
			// (the sandbox's private actions fit in a page).
			wantPages += (n+pdtest.DefaultPageSize-1)/pdtest.DefaultPageSize + 1
		}
		fake.InjectFault(pdtest.Fault{Endpoint: pdtest.EndpointActions, Delay: 100 * time.Millisecond})
		api, err := fake.Start("127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		port := freePort(b)
		base := "http://127.0.0.1:" + port
		env := benchEnv(api.URL, strings.Join(apps, ","))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		stderr := newBenchLog()
		b.StartTimer()
		go func() {
			done <- Run(ctx, []string{"serve", "--transport", "http", "--addr", "127.0.0.1:" + port, "--log-level", "warn"},
				getenvOf(env), strings.NewReader(""), io.Discard, stderr)
		}()
		// Listening, not ready: the clients below arrive during the load.
		if !eventually(60*time.Second, func() bool { return httpStatus(base+"/healthz") != 0 }) {
			b.Fatalf("the server did not listen\n%s", stderr)
		}
		hc := benchHTTPClient(clients)
		var wg sync.WaitGroup
		counts := make([]int, clients)
		errs := make([]error, clients)
		for i := range clients {
			wg.Go(func() {
				s, err := newBenchSession(ctx, hc, base+"/mcp")
				if err != nil {
					errs[i] = err
					return
				}
				r, err := s.call(ctx, "tools/list", nil)
				if err != nil {
					errs[i] = err
					return
				}
				var list struct {
					Tools []json.RawMessage `json:"tools"`
				}
				errs[i] = json.Unmarshal(r.Result, &list)
				counts[i] = len(list.Tools)
			})
		}
		wg.Wait()
		b.StopTimer()
		cancel()
		if err := <-done; err != nil {
			b.Fatalf("serve: %v\n%s", err, stderr)
		}
		_ = api.Close()
		if err := errors.Join(errs...); err != nil {
			b.Fatal(err)
		}
		if slices.Min(counts) != slices.Max(counts) || counts[0] < 100 {
			b.Fatalf("clients listed different or too few tools during the cold start: min %d, max %d", slices.Min(counts), slices.Max(counts))
		}
		t, p, c := fake.Count(pdtest.EndpointToken), fake.Count(pdtest.EndpointActions), fake.Count(pdtest.EndpointAccounts)
		all := fake.Count(pdtest.EndpointAll)
		if p > wantPages || t > 1 {
			b.Errorf("%d clients listing tools during a cold start cost %d list pages and %d token requests, want %d pages (one load per app) and 1 token", clients, p, t, wantPages)
		}
		tokens, pages, checks, total = tokens+float64(t), pages+float64(p), checks+float64(c), total+float64(all)
		other += float64(all - t - p - c)
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(total/n, "requests/op")
	b.ReportMetric(tokens/n, "token-requests/op")
	b.ReportMetric(pages/n, "list-pages/op")
	b.ReportMetric(checks/n, "accounts-reads/op")
	b.ReportMetric(other/n, "other-requests/op")
}

// benchCatalogActions returns an app's actions from the embedded catalog, as raw
// JSON objects.
func benchCatalogActions(b *testing.B, app string) []map[string]any {
	b.Helper()
	raw, err := fs.ReadFile(pdtest.CatalogFS(), app+".json")
	if err != nil {
		b.Fatal(err)
	}
	var f struct {
		Actions []map[string]any `json:"actions"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		b.Fatal(err)
	}
	return f.Actions
}

// benchBigCatalog serves a synthetic catalog of 8 apps and 400 actions: hubspot's
// 114 and 41 or 40 for each other app, made by copying that app's real
// actions under new keys. Action lists come in one page with props; every
// other request goes to the fake.
type benchBigCatalog struct {
	fake  http.Handler
	lists map[string][]byte
	total int
}

var benchBigCatalogApps = []string{"airtable_oauth", "github", "gmail", "google_sheets", "hubspot", "jira", "notion", "slack"}

func newBenchBigCatalog(b *testing.B, fake http.Handler) *benchBigCatalog {
	b.Helper()
	c := &benchBigCatalog{fake: fake, lists: map[string][]byte{}}
	const want = 400
	fixed := len(benchCatalogActions(b, "hubspot"))
	others := len(benchBigCatalogApps) - 1
	for i, app := range slices.DeleteFunc(slices.Clone(benchBigCatalogApps), func(a string) bool { return a == "hubspot" }) {
		n := (want - fixed) / others
		if i < (want-fixed)%others {
			n++
		}
		c.add(b, app, n)
	}
	c.add(b, "hubspot", fixed)
	if c.total != want {
		b.Fatalf("synthetic catalog has %d actions, want %d", c.total, want)
	}
	return c
}

func (c *benchBigCatalog) add(b *testing.B, app string, n int) {
	real := benchCatalogActions(b, app)
	items := make([]any, 0, n)
	for i := range n {
		a := maps.Clone(real[i%len(real)])
		if copyN := i / len(real); copyN > 0 {
			a["key"] = fmt.Sprintf("%s-copy-%d", a["key"], copyN)
			a["name"] = fmt.Sprintf("%s (copy %d)", a["name"], copyN)
		}
		items = append(items, a)
	}
	body, err := json.Marshal(map[string]any{
		"page_info": map[string]any{"count": n, "total_count": n, "start_cursor": "", "end_cursor": ""},
		"data":      items,
	})
	if err != nil {
		b.Fatal(err)
	}
	c.lists[app] = body
	c.total += n
}

func (c *benchBigCatalog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/actions") {
		if body, ok := c.lists[r.URL.Query().Get("app")]; ok {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
			return
		}
	}
	c.fake.ServeHTTP(w, r)
}

// benchServeBigCatalog serves the synthetic catalog on loopback from this process.
func benchServeBigCatalog(b *testing.B) string {
	b.Helper()
	cat := newBenchBigCatalog(b, pdtest.NewSandbox())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: cat, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	b.Cleanup(func() { _ = hs.Close() })
	return "http://" + ln.Addr().String()
}

// BenchmarkMemoryCatalog loads 8 apps with 400 actions (synthetic, see
// benchBigCatalog) into a server process (Streamable HTTP) and reads its RSS once
// ready; it also runs the same server in this process and reports the live
// heap it holds after a GC.
func BenchmarkMemoryCatalog(b *testing.B) {
	benchNeedFull(b)
	apiURL := benchServeBigCatalog(b)
	apps := strings.Join(benchBigCatalogApps, ",")
	var rssSum, peakSum, heapSum float64
	var ntools int
	for b.Loop() {
		srv := benchStartHTTP(b, apiURL, apps, "http")
		hs, err := newBenchSession(context.Background(), benchHTTPClient(1), srv.url+"/mcp")
		if err != nil {
			b.Fatal(err)
		}
		r, err := hs.call(context.Background(), "tools/list", nil)
		if err != nil {
			b.Fatal(err)
		}
		var list struct {
			Tools []json.RawMessage `json:"tools"`
		}
		_ = json.Unmarshal(r.Result, &list)
		ntools = len(list.Tools)
		// A measurement pause, not an ordering: the server's RSS is read
		// after it has sat idle with its catalogs loaded for a moment.
		time.Sleep(500 * time.Millisecond)
		cur, peak := benchRSS(b, srv.pid())
		srv.stop()
		rssSum += float64(cur)
		peakSum += float64(peak)
		heapSum += float64(benchInProcessHeap(b, apiURL, apps))
	}
	n := float64(b.N)
	b.ReportMetric(rssSum/n/(1<<20), "rss-MB")
	b.ReportMetric(peakSum/n/(1<<20), "peak-rss-MB")
	b.ReportMetric(heapSum/n/(1<<20), "heap-MB")
	b.ReportMetric(float64(ntools), "tools")
	if ntools < 400 {
		b.Errorf("the server lists %d tools, want the 400 actions and the helpers", ntools)
	}
}

// benchInProcessHeap runs the server in this process until ready and returns the
// live heap it added (after GC), catalogs, tools and caches included.
func benchInProcessHeap(b *testing.B, apiURL, apps string) uint64 {
	b.Helper()
	port := freePort(b)
	base := "http://127.0.0.1:" + port
	env := benchEnv(apiURL, apps)
	before := benchLiveHeap()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	stderr := newBenchLog()
	go func() {
		done <- Run(ctx, []string{"serve", "--transport", "http", "--addr", "127.0.0.1:" + port},
			getenvOf(env), strings.NewReader(""), io.Discard, stderr)
	}()
	waitReady(b, base, 60*time.Second, stderr)
	after := benchLiveHeap()
	cancel()
	if err := <-done; err != nil {
		b.Fatalf("serve: %v\n%s", err, stderr)
	}
	if after < before {
		return 0
	}
	return after - before
}

func benchLiveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkIdleSessions opens 1,000 sessions on a server process and reports
// the RSS each adds while idle: Streamable HTTP (initialize and initialized,
// no stream held open), the same holding the standing GET stream open (also
// against the floor, mcp-go alone) and SSE (an open event stream,
// initialized over the message endpoint).
func BenchmarkIdleSessions(b *testing.B) {
	benchNeedFull(b)
	const sessions = 1000
	api := benchStartAPI(b)
	// http-stream is a Streamable HTTP session that holds the legacy era's
	// standing GET stream open, as mcp-go's and other clients do;
	// floor-http-stream is the same against the floor, mcp-go serving a
	// no-op tool alone (bench_floor_test.go).
	for _, kind := range []string{"http", "http-stream", "floor-http-stream", "sse"} {
		floor := strings.HasPrefix(kind, "floor-")
		transport := strings.TrimSuffix(strings.TrimPrefix(kind, "floor-"), "-stream")
		b.Run(kind, func(b *testing.B) {
			var perSession float64
			for b.Loop() {
				b.StopTimer()
				var srv *benchProc
				if floor {
					srv = benchStartFloorHTTP(b, "")
				} else {
					srv = benchStartHTTP(b, api.url, benchApps, transport)
				}
				hc := benchHTTPClient(sessions)
				ctx, cancel := context.WithCancel(context.Background())
				open := func(n int) {
					var wg sync.WaitGroup
					errs := make([]error, n)
					sem := make(chan struct{}, 32)
					for i := range n {
						wg.Go(func() {
							sem <- struct{}{}
							defer func() { <-sem }()
							switch kind {
							case "http":
								_, errs[i] = newBenchSession(ctx, hc, srv.url+"/mcp")
							case "http-stream", "floor-http-stream":
								errs[i] = benchOpenStream(ctx, hc, srv.url+"/mcp")
							default:
								errs[i] = benchOpenSSE(ctx, hc, srv.url)
							}
						})
					}
					wg.Wait()
					if err := errors.Join(errs...); err != nil {
						b.Fatal(err)
					}
				}
				open(20) // warm up: connection pool, first-use allocations
				// Measurement pauses, not orderings: RSS is read after the
				// server has sat idle a moment, before and after the sessions.
				time.Sleep(200 * time.Millisecond)
				before, _ := benchRSS(b, srv.pid())
				b.StartTimer()
				open(sessions)
				b.StopTimer()
				time.Sleep(time.Second)
				after, _ := benchRSS(b, srv.pid())
				perSession += float64(after-before) / sessions
				cancel()
				hc.CloseIdleConnections()
				srv.stop()
				b.StartTimer()
			}
			b.ReportMetric(perSession/float64(b.N)/1024, "KB/session")
		})
	}
}

// benchOpenStream initializes a Streamable HTTP session at endpoint and
// opens its standing GET stream, held open until ctx ends.
func benchOpenStream(ctx context.Context, hc *http.Client, endpoint string) error {
	s, err := newBenchSession(ctx, hc, endpoint)
	if err != nil {
		return err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Session-Id", s.session)
	req.Header.Set("MCP-Protocol-Version", mcp.LATEST_LEGACY_PROTOCOL_VERSION)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return fmt.Errorf("GET stream: HTTP %d", resp.StatusCode)
	}
	go func() { // hold the stream open, reading whatever comes
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
	}()
	return nil
}

// benchOpenSSE opens an SSE stream, initializes the session over the
// message endpoint and leaves the stream open until ctx ends.
func benchOpenSSE(ctx context.Context, hc *http.Client, base string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/sse", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return fmt.Errorf("GET /sse: HTTP %d", resp.StatusCode)
	}
	br := bufio.NewReader(resp.Body)
	var endpoint string
	for endpoint == "" {
		line, err := br.ReadString('\n')
		if err != nil {
			resp.Body.Close()
			return fmt.Errorf("no endpoint event: %w", err)
		}
		if d, ok := strings.CutPrefix(line, "data:"); ok {
			endpoint = strings.TrimSpace(d)
		}
	}
	if !strings.HasPrefix(endpoint, "http") {
		endpoint = base + endpoint
	}
	post := func(body []byte) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		r, err := hc.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
		if r.StatusCode/100 != 2 {
			return fmt.Errorf("POST %s: HTTP %d", endpoint, r.StatusCode)
		}
		return nil
	}
	if err := post(benchFrame(1, "initialize", benchInitParams)); err != nil {
		resp.Body.Close()
		return err
	}
	if _, err := benchReadSSE(br, 1); err != nil {
		resp.Body.Close()
		return err
	}
	if err := post(benchFrame(0, "notifications/initialized", nil)); err != nil {
		resp.Body.Close()
		return err
	}
	go func() { // hold the stream open, reading whatever comes
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, br)
	}()
	return nil
}

// BenchmarkServerCallInProcess is one tool call over Streamable HTTP with the
// server, the fake and the client all in this process: cheap enough for CI,
// and the one to profile (go test -bench ServerCallInProcess -cpuprofile).
func BenchmarkServerCallInProcess(b *testing.B) {
	srv := startServer(b, serverOptions{apps: benchApps, auth: "none", logLevel: "info",
		env: map[string]string{"PIPEDREAM_EXTERNAL_USER_ID": benchUser}})
	ctx := context.Background()
	s, err := newBenchSession(ctx, benchHTTPClient(2), srv.url+"/mcp")
	if err != nil {
		b.Fatal(err)
	}
	call := func() {
		r, err := s.call(ctx, "tools/call", benchCallParams)
		if err == nil {
			err = benchCheckCall(r)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	call()
	b.ReportAllocs()
	for b.Loop() {
		call()
	}
}

// TestSandboxAPICommand runs the hidden sandbox-api command in process: it
// prints the fake's URL on stdout, serves the sandbox's credentials and
// accounts, applies --slim and --run-delay, stops when its context ends, and
// stays out of the usage.
func TestSandboxAPICommand(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"sandbox-api", "--addr", "127.0.0.1:0", "--slim", "--run-delay", "300ms"},
			func(string) string { return "" }, strings.NewReader(""), pw, io.Discard)
		_ = pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no URL on stdout: %v", err)
	}
	base := strings.TrimSpace(line)
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("stdout = %q, want the fake's URL", line)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {pdtest.SandboxClientID}, "client_secret": {pdtest.SandboxClientSecret}}
	resp, err := http.PostForm(base+"/v1/oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if tok.AccessToken == "" {
		t.Fatalf("the sandbox credentials got no token (HTTP %d)", resp.StatusCode)
	}
	get := func(path string) map[string]any {
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/connect/"+pdtest.SandboxProjectID+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("X-PD-Environment", pdtest.SandboxEnvironment)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: HTTP %d %v", path, resp.StatusCode, err)
		}
		return m
	}
	list, _ := get("/actions?app=slack")["data"].([]any)
	if len(list) == 0 {
		t.Fatal("the sandbox lists no slack actions")
	}
	if _, hasProps := list[0].(map[string]any)["configurable_props"]; hasProps {
		t.Errorf("--slim: list item %v carries configurable_props", list[0].(map[string]any)["key"])
	}
	if accts, _ := get("/accounts?external_user_id=" + benchUser + "&app=slack")["data"].([]any); len(accts) == 0 {
		t.Error("the sandbox's demo accounts are missing")
	}
	d := &benchDirect{hc: http.DefaultClient, url: base + "/v1/connect/" + pdtest.SandboxProjectID + "/actions/run", token: tok.AccessToken}
	props := maps.Clone(benchArgs)
	props["slack"] = map[string]any{"authProvisionId": benchAccount}
	d.body, _ = json.Marshal(map[string]any{"id": benchActionKey, "external_user_id": benchUser, "configured_props": props})
	start := time.Now()
	if err := d.run(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("--run-delay 300ms: the run answered after %v", took)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("sandbox-api returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sandbox-api did not stop when its context ended")
	}
	var usage strings.Builder
	printUsage(&usage)
	if strings.Contains(usage.String(), "sandbox-api") {
		t.Error("sandbox-api is listed in the usage; it is hidden")
	}
}

//go:build load || scaleout

package app

// Load harness (issue 8): N Streamable HTTP sessions and M SSE sessions call
// tools for a while against the fake Connect API, which runs in a child
// process (so its memory and goroutines are not counted) and holds every run
// for an injected latency. Run it without -race (the race detector stops at
// 8,128 goroutines):
//
//	go test -tags load -run TestLoad -count=1 .                       # CI: 100 + 50 sessions, 20 s
//	PDMCP_LOAD_HTTP=500 PDMCP_LOAD_SSE=200 PDMCP_LOAD_DURATION=2m \
//	  go test -tags load -run TestLoad -count=1 -timeout 10m -v .     # by hand
//
// Flags (after -args) or environment: -load.http / PDMCP_LOAD_HTTP,
// -load.sse / PDMCP_LOAD_SSE, -load.duration / PDMCP_LOAD_DURATION,
// -load.latency / PDMCP_LOAD_LATENCY (default 50ms), -load.users /
// PDMCP_LOAD_USERS (default 50), -load.report / PDMCP_LOAD_REPORT (a file for
// the figures as JSON).

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	goruntime "runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	n, err := strconv.Atoi(envOr(name, strconv.Itoa(def)))
	if err != nil {
		return def
	}
	return n
}

func envDuration(name string, def time.Duration) time.Duration {
	d, err := time.ParseDuration(envOr(name, def.String()))
	if err != nil {
		return def
	}
	return d
}

var (
	loadHTTP     = flag.Int("load.http", envInt("PDMCP_LOAD_HTTP", 100), "Streamable HTTP sessions")
	loadSSE      = flag.Int("load.sse", envInt("PDMCP_LOAD_SSE", 50), "SSE sessions")
	loadDuration = flag.Duration("load.duration", envDuration("PDMCP_LOAD_DURATION", 20*time.Second), "how long the sessions call tools")
	loadLatency  = flag.Duration("load.latency", envDuration("PDMCP_LOAD_LATENCY", 50*time.Millisecond), "latency the fake adds to every run")
	loadUsers    = flag.Int("load.users", envInt("PDMCP_LOAD_USERS", 50), "distinct end users")
	loadReport   = flag.String("load.report", os.Getenv("PDMCP_LOAD_REPORT"), "file to write the figures to (JSON)")
)

// Hard bounds, whatever the flags say: the harness stays loopback-only and
// finishes by itself.
const (
	maxLoadSessions = 2000
	maxLoadDuration = 10 * time.Minute
)

// loadFakeStats is what the child process reports when it stops.
type loadFakeStats struct {
	Runs     int            `json:"runs"`
	Executed int            `json:"executed"`
	Counts   map[string]int `json:"counts"`
	Creds    int            `json:"credentials_requested"`
}

// TestLoadFakeAPI is the child process of TestLoad: it serves the fake until
// its stdin closes, then prints what it saw.
func TestLoadFakeAPI(t *testing.T) {
	if os.Getenv("PDMCP_LOAD_CHILD") != "1" {
		t.Skip("started by TestLoad in a child process")
	}
	fake := pdtest.NewSandbox()
	fake.AcceptSecret(pdtest.SandboxClientID, plantedClientSecret)
	for i := range envInt("PDMCP_LOAD_USERS", 50) {
		for _, app := range []string{"slack", "github"} {
			fake.AddAccount(pdtest.Account{ExternalUserID: loadUser(i), App: app, Name: app, Healthy: true})
		}
	}
	fake.SetRunDelay(envDuration("PDMCP_LOAD_LATENCY", 50*time.Millisecond))
	srv, err := fake.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("\nLOADURL %s\n", srv.URL)
	_, _ = io.Copy(io.Discard, os.Stdin)
	st := loadFakeStats{Counts: map[string]int{}, Creds: fake.CredentialsRequested()}
	st.Runs, st.Executed = fake.RunTotals()
	for _, e := range []string{pdtest.EndpointToken, pdtest.EndpointActions, pdtest.EndpointAccounts, pdtest.EndpointRun} {
		st.Counts[e] = fake.Count(e)
	}
	b, _ := json.Marshal(st)
	fmt.Printf("\nLOADSTATS %s\n", b)
	_ = srv.Close()
}

func loadUser(i int) string { return fmt.Sprintf("load-user-%03d", i) }

// startLoadFake starts the child and returns the fake's URL and a function
// that stops it and returns its stats.
func startLoadFake(t *testing.T, users int, latency time.Duration) (string, func() loadFakeStats) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadFakeAPI$", "-test.count=1", "-test.timeout=0")
	cmd.Env = append(os.Environ(), "PDMCP_LOAD_CHILD=1", "PDMCP_LOAD_USERS="+strconv.Itoa(users), "PDMCP_LOAD_LATENCY="+latency.String())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	url := ""
	for lines.Scan() {
		if u, ok := strings.CutPrefix(lines.Text(), "LOADURL "); ok {
			url = u
			break
		}
	}
	if url == "" {
		_ = cmd.Process.Kill()
		t.Fatal("the fake did not start")
	}
	stopped := false
	stop := func() loadFakeStats {
		var st loadFakeStats
		if stopped {
			return st
		}
		stopped = true
		_ = stdin.Close()
		for lines.Scan() {
			if s, ok := strings.CutPrefix(lines.Text(), "LOADSTATS "); ok {
				_ = json.Unmarshal([]byte(s), &st)
			}
		}
		_ = cmd.Wait()
		return st
	}
	t.Cleanup(func() { stop() })
	return url, stop
}

// loadServer starts `pipedream-mcp serve` in process on the fake (see
// startServer); stop shuts it down and fails the test on any error it logged.
func loadServer(t *testing.T, apiURL, transportName string) (string, func()) {
	t.Helper()
	s := startServer(t, serverOptions{apps: "slack,github", transport: transportName, baseURL: apiURL, logLevel: "warn"})
	var once sync.Once
	stop := func() {
		once.Do(func() {
			if err := s.shutdown(t); err != nil {
				t.Errorf("%s server: %v", transportName, err)
			}
			if logs := s.stderr.String(); strings.Contains(logs, "ERR") || strings.Contains(logs, "panic") {
				t.Errorf("%s server logged errors:\n%s", transportName, tail(logs, 30))
			}
		})
	}
	t.Cleanup(stop)
	return s.url, stop
}

// loadStats collects what the sessions saw.
type loadStats struct {
	mu             sync.Mutex
	latencies      []time.Duration
	calls          atomic.Int64
	success        atomic.Int64
	errorResults   atomic.Int64
	protocolErrors atomic.Int64
	sessions       atomic.Int64
	samples        []string // the first protocol errors and error results
}

func (s *loadStats) sample(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) < 10 {
		s.samples = append(s.samples, fmt.Sprintf(format, args...))
	}
}

// bearerRT adds the session's credentials to every request, the DELETE that
// ends a Streamable HTTP session included (the mcp-go client sends its
// custom headers on its other requests only, so without this the server
// refuses the DELETE with 401 and keeps the session until it idles out).
type bearerRT struct {
	base  http.RoundTripper
	token string
}

func (b bearerRT) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

// loadSession opens one session and calls tools until deadline.
func loadSession(ctx context.Context, st *loadStats, tr http.RoundTripper, url, token string, legacy bool, deadline time.Time, i int) *client.Client {
	headers := map[string]string{"Authorization": "Bearer " + token}
	hc := &http.Client{Transport: bearerRT{base: tr, token: token}}
	var c *client.Client
	var err error
	if strings.HasSuffix(url, "/sse") {
		c, err = client.NewSSEMCPClient(url, client.WithHeaders(headers), client.WithHTTPClient(hc))
	} else {
		var tr *transport.StreamableHTTP
		tr, err = transport.NewStreamableHTTP(url, transport.WithHTTPHeaders(headers), transport.WithHTTPBasicClient(hc))
		if err == nil {
			var opts []client.ClientOption
			if legacy {
				opts = append(opts, client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
			}
			c = client.NewClient(tr, opts...)
		}
	}
	if err != nil {
		st.protocolErrors.Add(1)
		st.sample("session %d: %v", i, err)
		return nil
	}
	if err := c.Start(ctx); err != nil {
		st.protocolErrors.Add(1)
		st.sample("session %d start: %v", i, err)
		return c
	}
	ictx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "load", Version: "1"}
	if _, err := c.Initialize(ictx, init); err != nil {
		st.protocolErrors.Add(1)
		st.sample("session %d initialize: %v", i, err)
		return c
	}
	if _, err := c.ListTools(ictx, mcp.ListToolsRequest{}); err != nil {
		st.protocolErrors.Add(1)
		st.sample("session %d tools/list: %v", i, err)
		return c
	}
	st.sessions.Add(1)
	var lat []time.Duration
	for n := 0; time.Now().Before(deadline); n++ {
		res, d, err := loadCall(ctx, c, "load", i, n)
		lat = append(lat, d)
		st.calls.Add(1)
		switch {
		case err != nil:
			st.protocolErrors.Add(1)
			st.sample("session %d call: %v", i, err)
		case res.IsError:
			st.errorResults.Add(1)
			b, _ := json.Marshal(res.StructuredContent)
			st.sample("session %d error result: %.300s", i, b)
		default:
			st.success.Add(1)
		}
	}
	st.mu.Lock()
	st.latencies = append(st.latencies, lat...)
	st.mu.Unlock()
	return c
}

// loadCall makes the n-th call of session i, within 60 s: a send whose text
// is its own marker ("label i/n", so that a run executed twice shows at the
// fake) and a repository read, in turn. It returns the call's latency.
func loadCall(ctx context.Context, c *client.Client, label string, i, n int) (*mcp.CallToolResult, time.Duration, error) {
	req := mcp.CallToolRequest{}
	if n%2 == 0 {
		req.Params.Name, req.Params.Arguments = toolSend, json.RawMessage(sendArgs(fmt.Sprintf("%s %d/%d", label, i, n)))
	} else {
		req.Params.Name, req.Params.Arguments = toolRepo, json.RawMessage(getRepo)
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	began := time.Now()
	res, err := c.CallTool(ctx, req)
	return res, time.Since(began), err
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

type memSnapshot struct {
	Goroutines int `json:"goroutines"`
	// HeapAlloc is the live heap after a collection; HeapInuse also counts
	// the free space of spans still in use.
	HeapAlloc uint64 `json:"heap_alloc_bytes"`
	HeapInuse uint64 `json:"heap_inuse_bytes"`
}

// snapshot waits (up to settle) for the goroutines to drop to at most target
// (stop changing when target is 0), then measures.
func snapshot(target int, settle time.Duration) memSnapshot {
	var n int
	if target > 0 {
		n = settledGoroutines(target, settle)
	} else {
		n = stableGoroutines(settle)
	}
	goruntime.GC()
	goruntime.GC()
	var m goruntime.MemStats
	goruntime.ReadMemStats(&m)
	return memSnapshot{Goroutines: n, HeapAlloc: m.HeapAlloc, HeapInuse: m.HeapInuse}
}

// stableGoroutines waits until the goroutine count stops changing, and
// returns it.
func stableGoroutines(wait time.Duration) int {
	return stableCount(wait, goruntime.NumGoroutine)
}

// TestLoad runs the harness and fails on any protocol error, any error
// result, a run lost or repeated, or goroutines and heap that do not return
// to their level before the sessions opened.
func TestLoad(t *testing.T) {
	nHTTP, nSSE := min(*loadHTTP, maxLoadSessions), min(*loadSSE, maxLoadSessions)
	dur := min(*loadDuration, maxLoadDuration)
	users := max(*loadUsers, 1)
	t.Logf("load: %d Streamable HTTP + %d SSE sessions, %v, run latency %v, %d users", nHTTP, nSSE, dur, *loadLatency, users)

	apiURL, stopFake := startLoadFake(t, users, *loadLatency)
	before := snapshot(0, time.Second)
	httpURL, stopHTTP := loadServer(t, apiURL, "http")
	sseURL, stopSSE := loadServer(t, apiURL, "sse")
	tokens := make([]string, users)
	for i := range tokens {
		tokens[i] = mintJWT(t, jwt.MapClaims{"sub": loadUser(i), "exp": time.Now().Add(time.Hour).Unix()})
	}
	idle := snapshot(0, time.Second)

	// One pool for every client, large enough to keep connections alive
	// between calls (the default keeps two per host).
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 4*maxLoadSessions, 4*maxLoadSessions
	st := &loadStats{}
	ctx, cancel := context.WithTimeout(context.Background(), dur+5*time.Minute)
	defer cancel()
	began := time.Now()
	deadline := began.Add(dur)
	ramp := min(dur/4, 5*time.Second)
	var wg sync.WaitGroup
	var cmu sync.Mutex
	var clients []*client.Client
	total := nHTTP + nSSE
	var peakGoroutines atomic.Int64
	for i := range total {
		url := httpURL + "/mcp"
		if i >= nHTTP {
			url = sseURL + "/sse"
		}
		wg.Go(func() {
			// Load shaping, not an ordering: session i opens i/total of the
			// way into the ramp, so the sessions do not all handshake at once.
			time.Sleep(time.Duration(i) * ramp / time.Duration(max(total, 1)))
			c := loadSession(ctx, st, tr, url, tokens[i%users], i%2 == 0, deadline, i)
			if c != nil {
				cmu.Lock()
				clients = append(clients, c)
				cmu.Unlock()
			}
		})
	}
	stopPeak := make(chan struct{})
	go func() {
		for {
			select {
			case <-stopPeak:
				return
			case <-time.After(500 * time.Millisecond):
				if n := int64(goruntime.NumGoroutine()); n > peakGoroutines.Load() {
					peakGoroutines.Store(n)
				}
			}
		}
	}()
	wg.Wait()
	close(stopPeak)
	elapsed := time.Since(began)
	var mPeak goruntime.MemStats
	goruntime.ReadMemStats(&mPeak)
	var cwg sync.WaitGroup
	for _, c := range clients {
		cwg.Go(func() { _ = c.Close() })
	}
	cwg.Wait()
	clients = nil
	lat := st.latencies
	st.latencies = nil
	slices.Sort(lat)
	p50, p99, pmax := percentile(lat, 0.50), percentile(lat, 0.99), percentile(lat, 1)
	lat = nil // measured below: only the servers' memory should remain
	tr.CloseIdleConnections()
	// The servers keep a pool of idle connections to the API (at most 128,
	// two goroutines each) until it closes them; nothing else may remain.
	closedLimit := idle.Goroutines + 2*128 + 50
	closed := snapshot(closedLimit, 15*time.Second)
	var closedProfile strings.Builder
	if closed.Goroutines > closedLimit {
		_ = pprof.Lookup("goroutine").WriteTo(&closedProfile, 1)
	}
	stopHTTP()
	stopSSE()
	tr.CloseIdleConnections()
	fake := stopFake() // closes the pooled API connections
	after := snapshot(before.Goroutines+10, 15*time.Second)
	if name := os.Getenv("PDMCP_LOAD_HEAPPROFILE"); name != "" {
		if f, err := os.Create(name); err == nil {
			_ = pprof.WriteHeapProfile(f)
			_ = f.Close()
		}
	}

	report := map[string]any{
		"http_sessions": nHTTP, "sse_sessions": nSSE, "sessions_opened": st.sessions.Load(),
		"duration_s": elapsed.Seconds(), "run_latency_ms": loadLatency.Milliseconds(), "users": users,
		"calls": st.calls.Load(), "success": st.success.Load(), "error_results": st.errorResults.Load(),
		"protocol_errors": st.protocolErrors.Load(), "calls_per_s": float64(st.calls.Load()) / elapsed.Seconds(),
		"p50_ms": float64(p50.Microseconds()) / 1000, "p99_ms": float64(p99.Microseconds()) / 1000,
		"max_ms":         float64(pmax.Microseconds()) / 1000,
		"before_servers": before, "servers_idle": idle, "sessions_closed": closed, "servers_stopped": after,
		"peak_goroutines": peakGoroutines.Load(), "peak_heap_inuse_bytes": mPeak.HeapInuse,
		"fake": fake,
	}
	b, _ := json.MarshalIndent(report, "", "  ")
	t.Logf("figures:\n%s", b)
	fmt.Printf("load: %d+%d sessions for %.0fs: %d calls (%.0f/s), p50 %.1f ms, p99 %.1f ms, %d protocol errors, %d error results; goroutines %d idle -> %d peak -> %d after close -> %d stopped; live heap %.1f MiB idle -> %.1f MiB after close -> %.1f MiB stopped (peak in use %d MiB)\n",
		nHTTP, nSSE, elapsed.Seconds(), st.calls.Load(), report["calls_per_s"], report["p50_ms"], report["p99_ms"], st.protocolErrors.Load(), st.errorResults.Load(),
		idle.Goroutines, peakGoroutines.Load(), closed.Goroutines, after.Goroutines,
		float64(idle.HeapAlloc)/(1<<20), float64(closed.HeapAlloc)/(1<<20), float64(after.HeapAlloc)/(1<<20), mPeak.HeapInuse>>20)
	if *loadReport != "" {
		if err := os.WriteFile(*loadReport, b, 0o644); err != nil {
			t.Error(err)
		}
	}

	if n := st.protocolErrors.Load(); n > 0 {
		t.Errorf("%d protocol errors, e.g. %v", n, st.samples)
	}
	if n := st.errorResults.Load(); n > 0 {
		t.Errorf("%d error results, e.g. %v", n, st.samples)
	}
	if got := st.sessions.Load(); got != int64(total) {
		t.Errorf("%d of %d sessions opened", got, total)
	}
	if st.calls.Load() == 0 {
		t.Fatal("no calls")
	}
	// Nothing lost, nothing repeated: every success is one executed run.
	if int64(fake.Executed) != st.success.Load() || fake.Runs != fake.Executed {
		t.Errorf("the fake executed %d runs (%d received) for %d successful calls", fake.Executed, fake.Runs, st.success.Load())
	}
	if fake.Creds != 0 {
		t.Errorf("account credentials were requested %d times", fake.Creds)
	}
	if closed.Goroutines > closedLimit {
		t.Errorf("%d goroutines after the sessions closed, %d before they opened:\n%s", closed.Goroutines, idle.Goroutines, closedProfile.String())
	}
	if closed.HeapAlloc > idle.HeapAlloc+16<<20 {
		t.Errorf("live heap %d MiB after the sessions closed, %d MiB before they opened", closed.HeapAlloc>>20, idle.HeapAlloc>>20)
	}
	if after.Goroutines > before.Goroutines+10 {
		var buf strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
		t.Errorf("%d goroutines after the servers stopped, %d before they started:\n%s", after.Goroutines, before.Goroutines, buf.String())
	}
}

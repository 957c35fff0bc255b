//go:build scaleout

package app

// Scale-out test (issue 23): redis-server, one out-of-process fake Connect
// API (`sandbox-api --inspect-addr`, so every replica shares one fake and
// its request log), three replicas of the built binary, and HAProxy with
// testdata/scaleout/haproxy.cfg, all on loopback. Sessions of both protocol
// eras call tools through HAProxy; one replica is killed with SIGKILL half
// way. Needs redis-server and haproxy on PATH (.ci/run installs them):
//
//	go test -tags scaleout -run TestScaleOut -count=1 -timeout 15m -v ./server/app
//
// Environment: PDMCP_SCALEOUT_DURATION (default 2m), PDMCP_SCALEOUT_SESSIONS
// (default 500, half of each era), PDMCP_SCALEOUT_REPLICAS (default 3; 1 to
// measure one replica), PDMCP_SCALEOUT_REDIS (default 1; 0 to measure the
// replicas without Redis: the fleet's assertions are then skipped),
// PDMCP_SCALEOUT_KILL (default 1), PDMCP_SCALEOUT_BUDGET_RUNS (default 600
// per 5 s; raise it to measure the fleet rather than the budget),
// PDMCP_SCALEOUT_REQUIRE (1: fail, not
// skip, when redis-server or haproxy is missing; .ci/run sets it).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
	"github.com/pipedream-mcp/pipedream-mcp/server"
	"github.com/pipedream-mcp/pipedream-mcp/server/app/config"
)

const (
	scaleOutWebhookSecret = "scaleout-webhook-secret-0123456789"
	// scaleOutBudgetRuns per scaleOutBudgetWindow is the fleet's run
	// budget by default: low enough that the load meets it.
	scaleOutBudgetRuns   = 600
	scaleOutBudgetWindow = 5 * time.Second
)

var scaleOutApps = []string{"slack", "github", "notion"}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startProcess starts a child whose output goes to a log file in dir,
// killed at the end of the test.
func startProcess(t *testing.T, dir, name string, env []string, bin string, args ...string) *exec.Cmd {
	t.Helper()
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("%s log (tail):\n%s", name, tail(string(b), 15))
		}
	})
	return cmd
}

// waitHTTP polls url until it answers 200 (an external process starting).
func waitHTTP(t *testing.T, url string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no 200 within %v (%v)", url, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitTCP(t *testing.T, addr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not listening within %v", addr, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scaleOutStats are what the sessions saw, by era.
type scaleOutStats struct {
	calls, statelessFailures, legacyFailures, pinned404, reinitialized atomic.Int64
	mu                                                                 sync.Mutex
	latencies                                                          []time.Duration
	samples                                                            []string
}

func (s *scaleOutStats) sample(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) < 10 {
		s.samples = append(s.samples, fmt.Sprintf(format, args...))
	}
}

// scaleOutClient opens a session of one era on url.
func scaleOutClient(ctx context.Context, url string, legacy bool) (*client.Client, error) {
	tr, err := transport.NewStreamableHTTP(url)
	if err != nil {
		return nil, err
	}
	var opts []client.ClientOption
	if legacy {
		opts = append(opts, client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
	}
	c := client.NewClient(tr, opts...)
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "scaleout", Version: "1"}
	ictx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if _, err := c.Initialize(ictx, init); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// scaleOutSession calls tools until deadline; a legacy session whose replica
// died gets 404 and initializes again.
func scaleOutSession(ctx context.Context, st *scaleOutStats, url string, legacy bool, deadline time.Time, i int) {
	c, err := scaleOutClient(ctx, url, legacy)
	for n := 0; time.Now().Before(deadline); n++ {
		if err != nil {
			if legacy {
				st.legacyFailures.Add(1)
			} else {
				st.statelessFailures.Add(1)
			}
			st.sample("session %d (legacy %v) initialize: %v", i, legacy, err)
			return
		}
		res, d, cerr := loadCall(ctx, c, "scaleout", i, n)
		st.calls.Add(1)
		switch {
		case cerr != nil && legacy && (errors.Is(cerr, transport.ErrSessionTerminated) || strings.Contains(cerr.Error(), "404")):
			st.pinned404.Add(1)
			_ = c.Close()
			c, err = scaleOutClient(ctx, url, legacy)
			if err == nil {
				st.reinitialized.Add(1)
			}
			continue
		case cerr != nil || res.IsError:
			if legacy {
				st.legacyFailures.Add(1)
			} else {
				st.statelessFailures.Add(1)
			}
			st.sample("session %d (legacy %v) call: %v %v", i, legacy, cerr, res)
		default:
			st.mu.Lock()
			st.latencies = append(st.latencies, d)
			st.mu.Unlock()
		}
	}
	if c != nil {
		_ = c.Close()
	}
}

// accountsOf calls pipedream_accounts for app on one replica (stateless era)
// and returns the account IDs.
func accountsOf(ctx context.Context, url, app string) ([]string, error) {
	c, err := scaleOutClient(ctx, url, false)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = "pipedream_accounts", map[string]any{"app": app}
	res, err := c.CallTool(ctx, req)
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(res.StructuredContent)
	return regexp.MustCompile(`apn_[A-Za-z0-9_]+`).FindAllString(string(b), -1), nil
}

func TestScaleOut(t *testing.T) {
	for _, bin := range []string{"redis-server", "haproxy"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("PDMCP_SCALEOUT_REQUIRE") == "1" {
				t.Fatalf("%s is not installed: %v", bin, err)
			}
			t.Skipf("%s is not installed (.ci/run installs it): %v", bin, err)
		}
	}
	duration := envDuration("PDMCP_SCALEOUT_DURATION", 2*time.Minute)
	sessions := envInt("PDMCP_SCALEOUT_SESSIONS", 500)
	replicas := envInt("PDMCP_SCALEOUT_REPLICAS", 3)
	withRedis := envOr("PDMCP_SCALEOUT_REDIS", "1") == "1"
	kill := envOr("PDMCP_SCALEOUT_KILL", "1") == "1" && replicas > 1
	budgetRuns := envInt("PDMCP_SCALEOUT_BUDGET_RUNS", scaleOutBudgetRuns)
	dir := t.TempDir()

	bin := filepath.Join(dir, "pipedream-mcp")
	if out, err := exec.Command("go", "build", "-o", bin, moduleRoot).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	redisAddr := freeAddr(t)
	if withRedis {
		_, port, _ := net.SplitHostPort(redisAddr)
		startProcess(t, dir, "redis", nil, "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
		waitTCP(t, redisAddr, 10*time.Second)
	}
	apiAddr, inspectAddr := freeAddr(t), freeAddr(t)
	startProcess(t, dir, "sandbox-api", nil, bin, "sandbox-api", "--addr", apiAddr, "--inspect-addr", inspectAddr, "--run-delay", "50ms")
	waitTCP(t, inspectAddr, 10*time.Second)

	env := []string{
		config.EnvBaseURL + "=http://" + apiAddr, config.EnvClientID + "=" + pdtest.SandboxClientID,
		config.EnvClientSecret + "=" + pdtest.SandboxClientSecret, config.EnvProjectID + "=" + pdtest.SandboxProjectID,
		config.EnvEnvironment + "=development",
	}
	if withRedis {
		env = append(env, config.EnvRedisURL+"=redis://"+redisAddr)
	}
	addrs := make([]string, 3)
	cmds := make([]*exec.Cmd, replicas)
	for i := range addrs {
		addrs[i] = freeAddr(t)
	}
	for i := range replicas {
		cmds[i] = startProcess(t, dir, fmt.Sprintf("replica-%d", i+1), env, bin, "serve", "--transport", "http", "--addr", addrs[i],
			"--app", strings.Join(scaleOutApps, ","), "--external-user-id", pdtest.DemoUser, "--webhook-secret", scaleOutWebhookSecret,
			"--budget-runs", strconv.Itoa(budgetRuns), "--budget-window", scaleOutBudgetWindow.String(), "--log-level", "warn")
	}
	for i := range replicas {
		waitHTTP(t, "http://"+addrs[i]+"/readyz", 60*time.Second)
	}
	cold := fakeRequests(t, inspectAddr)
	coldRequests := len(cold)
	coldKinds := map[string]int{}
	for _, r := range cold {
		coldKinds[r.Method+" "+r.Path[strings.LastIndex(r.Path, "/")+1:]]++
	}
	t.Logf("cold start: %d upstream requests %v", coldRequests, coldKinds)

	lbAddr := freeAddr(t)
	lbEnv := []string{"PDMCP_LB_ADDR=" + lbAddr, "PDMCP_R1=" + addrs[0], "PDMCP_R2=" + addrs[1], "PDMCP_R3=" + addrs[2]}
	startProcess(t, dir, "haproxy", lbEnv, "haproxy", "-db", "-f", filepath.Join("testdata", "scaleout", "haproxy.cfg"))
	waitHTTP(t, "http://"+lbAddr+"/readyz", 10*time.Second)
	url := "http://" + lbAddr + "/mcp"
	ctx := t.Context()

	if withRedis && replicas > 1 {
		checkWebhookFanOut(t, ctx, addrs[:replicas], inspectAddr)
	}
	if replicas > 1 {
		checkTaskRouting(t, url)
	}

	st := &scaleOutStats{}
	began := time.Now()
	deadline := began.Add(duration)
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Go(func() { scaleOutSession(ctx, st, url, i%2 == 1, deadline, i) })
	}
	if kill {
		select {
		case <-time.After(duration / 2):
		case <-ctx.Done():
		}
		if err := cmds[0].Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		t.Logf("replica 1 killed at %v", time.Since(began).Round(time.Millisecond))
	}
	wg.Wait()
	elapsed := time.Since(began)

	slices.Sort(st.latencies)
	t.Logf("replicas %d, redis %v, sessions %d, %v: %d calls, %.0f calls/s, p50 %v, p99 %v; cold start: %d upstream requests",
		replicas, withRedis, sessions, elapsed.Round(time.Second), st.calls.Load(), float64(st.calls.Load())/elapsed.Seconds(),
		percentile(st.latencies, 0.5).Round(time.Millisecond), percentile(st.latencies, 0.99).Round(time.Millisecond), coldRequests)
	t.Logf("stateless failures %d, legacy failures %d, pinned 404 %d, re-initialized %d; samples: %q",
		st.statelessFailures.Load(), st.legacyFailures.Load(), st.pinned404.Load(), st.reinitialized.Load(), st.samples)

	if n := st.statelessFailures.Load(); n != 0 {
		t.Errorf("%d failed calls on stateless-era sessions, want 0", n)
	}
	if kill {
		if st.pinned404.Load() == 0 {
			t.Error("no pinned session met the dead replica's 404")
		}
		if st.reinitialized.Load() != st.pinned404.Load() {
			t.Errorf("%d sessions got 404 but %d re-initialized", st.pinned404.Load(), st.reinitialized.Load())
		}
	}
	if withRedis {
		logRedisFlips(t, dir, replicas)
	}
	reqs := fakeRequests(t, inspectAddr)
	checkNoDoubleRuns(t, reqs)
	if withRedis {
		checkOneCatalogLoadPerApp(t, reqs)
		checkBudget(t, reqs, budgetRuns)
	}
}

// logRedisFlips logs how often each replica lost and regained Redis (its
// log's transition lines): Redis runs all along, so any flip is a replica
// that timed out on a busy machine.
func logRedisFlips(t *testing.T, dir string, replicas int) {
	t.Helper()
	for i := range replicas {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("replica-%d.log", i+1)))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("replica %d: Redis down %d times, up again %d times", i+1,
			strings.Count(string(b), "Redis unreachable;"), strings.Count(string(b), "Redis reachable again;"))
	}
}

// fakeRequests reads the shared fake's request log.
func fakeRequests(t *testing.T, inspectAddr string) []pdtest.RequestRecord {
	t.Helper()
	resp, err := http.Get("http://" + inspectAddr + "/requests")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reqs []pdtest.RequestRecord
	if err := json.NewDecoder(resp.Body).Decode(&reqs); err != nil {
		t.Fatal(err)
	}
	return reqs
}

// checkWebhookFanOut: a webhook on one replica reaches every replica within
// 1 s (the accounts cache lives 30 s, so only the invalidation explains it).
func checkWebhookFanOut(t *testing.T, ctx context.Context, addrs []string, inspectAddr string) {
	t.Helper()
	for _, a := range addrs { // fill every replica's accounts cache
		if ids, err := accountsOf(ctx, "http://"+a+"/mcp", "notion"); err != nil || len(ids) != 0 {
			t.Fatalf("notion accounts before: %v, %v", ids, err)
		}
	}
	acct, _ := json.Marshal(pdtest.Account{ID: "apn_scaleout_notion", ExternalUserID: pdtest.DemoUser, App: "notion", Name: "ws", Healthy: true})
	resp, err := http.Post("http://"+inspectAddr+"/accounts", "application/json", strings.NewReader(string(acct)))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("add account: %v %v", resp, err)
	}
	resp.Body.Close()
	event := `{"event":"CONNECTION_SUCCESS","environment":"development","account":{"id":"apn_scaleout_notion","external_id":"` + pdtest.DemoUser + `","app":{"name_slug":"notion"}}}`
	sent := time.Now()
	resp, err = http.Post("http://"+addrs[len(addrs)-1]+"/webhooks/pipedream/"+scaleOutWebhookSecret, "application/json", strings.NewReader(event))
	if err != nil || resp.StatusCode >= 300 {
		t.Fatalf("webhook: %v %v", resp, err)
	}
	resp.Body.Close()
	for i, a := range addrs {
		for {
			ids, err := accountsOf(ctx, "http://"+a+"/mcp", "notion")
			if err == nil && slices.Contains(ids, "apn_scaleout_notion") {
				t.Logf("replica %d saw the new account %v after the webhook", i+1, time.Since(sent).Round(time.Millisecond))
				break
			}
			if time.Since(sent) > time.Second {
				t.Errorf("replica %d: the new account not seen within 1 s of the webhook (%v, %v)", i+1, ids, err)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

var runMarker = regexp.MustCompile(`scaleout \d+/\d+`)

// checkNoDoubleRuns: no send executed twice (each carries its own marker).
func checkNoDoubleRuns(t *testing.T, reqs []pdtest.RequestRecord) {
	t.Helper()
	seen := map[string]int{}
	for _, r := range reqs {
		if m := runMarker.FindString(r.Body); m != "" && r.Status == http.StatusOK {
			seen[m]++
		}
	}
	doubles := 0
	for m, n := range seen {
		if n > 1 {
			doubles++
			t.Errorf("%q ran %d times", m, n)
		}
	}
	t.Logf("%d sends executed, %d twice", len(seen), doubles)
}

// checkOneCatalogLoadPerApp: the fleet listed each app's actions once: one
// listing of each registry a load reads (registry: all reads the public and
// the private one).
func checkOneCatalogLoadPerApp(t *testing.T, reqs []pdtest.RequestRecord) {
	t.Helper()
	loads := map[string]int{}
	for _, r := range reqs {
		if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/actions") {
			loads[r.App+" "+r.Registry]++
		}
	}
	for _, app := range scaleOutApps {
		for _, reg := range []pdclient.Registry{pdclient.RegistryPublic, pdclient.RegistryPrivate} {
			if n := loads[app+" "+string(reg)]; n != 1 {
				t.Errorf("app %s: %d %s listings by the fleet, want 1 (%v)", app, n, reg, loads)
			}
		}
	}
}

// checkBudget: no window of the budget's length held more runs than the
// budget at the fake, counted as Pipedream counts them: by their arrival.
func checkBudget(t *testing.T, reqs []pdtest.RequestRecord, budget int) {
	t.Helper()
	var at []time.Time
	for _, r := range reqs {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/actions/run") {
			at = append(at, r.At)
		}
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	most, j := 0, 0
	for i := range at {
		for at[i].Sub(at[j]) >= scaleOutBudgetWindow {
			j++
		}
		most = max(most, i-j+1)
	}
	var per []int // runs in each consecutive window, to see the budget spent
	for _, a := range at {
		k := int(a.Sub(at[0]) / scaleOutBudgetWindow)
		for len(per) <= k {
			per = append(per, 0)
		}
		per[k]++
	}
	t.Logf("runs: %d; at most %d in any %v (budget %d); by window: %v", len(at), most, scaleOutBudgetWindow, budget, per)
	if most > budget {
		t.Errorf("%d runs in one budget window, budget %d", most, budget)
	}
	// The default budget is low enough that the load meets it: the fleet
	// spends most of it in every whole window (a leak of admissions, which
	// once cut it to 240 of 600, shows here before any call times out).
	if budget == scaleOutBudgetRuns && len(per) > 2 {
		for k, n := range per[:len(per)-1] {
			if n < budget*3/4 {
				t.Errorf("window %d held %d runs; a fleet under load should spend at least 3/4 of its budget of %d", k+1, n, budget)
			}
		}
	}
}

// checkTaskRouting: a task created through the balancer is found by every
// later tasks/get sent through it without a session (the 2026-07-28 way):
// the balancer learns the task's replica from the Mcp-Task-Id answer header
// and sends requests naming it (Mcp-Name) there. Round robin alone would
// send two polls in three to a replica that does not have it.
func checkTaskRouting(t *testing.T, url string) {
	t.Helper()
	init := rawPost(t, url, "", "", `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"tasks":{}},"clientInfo":{"name":"scaleout","version":"1"}}}`)
	sid := init.header.Get(mcpserver.HeaderKeySessionID)
	rawPost(t, url, "", sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	created := rawPost(t, url, "", sid, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slack_list_channels","arguments":{},"task":{}}}`)
	id := created.header.Get(server.HeaderTaskID)
	if id == "" || !strings.Contains(created.body, id) {
		t.Fatalf("the task-creating answer should name the task in %s: HTTP %d %v %s", server.HeaderTaskID, created.status, created.header, created.body)
	}
	for i := range 6 {
		got := modernRPC(t, url, true, "tasks/get", map[string]any{"taskId": id})
		if got.Error != nil || got.Result["taskId"] != id {
			t.Fatalf("poll %d through the balancer did not find the task: %+v", i+1, got)
		}
	}
}

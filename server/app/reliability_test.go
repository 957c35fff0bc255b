package app

// Reliability suite (issue 8): the whole server (run, in process) against the
// fake Connect API with injected faults. Every server started here logs at
// debug level, and when its test ends everything the test saw (stderr, tool
// results, errors) is scanned for the secrets planted in the run (see
// harness_test.go).

import (
	"context"
	"fmt"
	"net"
	"net/http"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
)

// Tools used throughout: one action that is not idempotent (a retry could post
// twice) and one that is.
const (
	toolSend = "slack_send_message_to_channel"
	toolRepo = "github_get_repository"
)

// sendArgs are arguments of toolSend with a text that identifies the run.
func sendArgs(text string) string {
	return fmt.Sprintf(`{"conversation":"C00001000","text":%q}`, text)
}

// executedRuns counts the runs of user that the fake executed, and all runs
// of user that reached the fake's handler.
func executedRuns(f *pdtest.Fake, user string) (executed, reached int) {
	for _, r := range f.Runs() {
		if r.ExternalUserID != user {
			continue
		}
		reached++
		if r.Executed {
			executed++
		}
	}
	return executed, reached
}

// TestReliabilityStartWhileAPIDown starts the server while Pipedream fails:
// it must serve the handshake and the helper tools within a bounded wait,
// report not ready, then load the catalog once the API recovers and announce
// the new tools with one list_changed.
func TestReliabilityStartWhileAPIDown(t *testing.T) {
	t.Parallel()
	helpersOnly := []string{"pipedream_accounts", "pipedream_describe", "pipedream_list_options"}

	t.Run("503 everywhere", func(t *testing.T) {
		t.Parallel()
		rs := startServer(t, serverOptions{apps: "github", noWait: true, before: func(f *pdtest.Fake) {
			f.InjectFault(pdtest.Fault{Endpoint: pdtest.EndpointAll, Status: http.StatusServiceUnavailable, Body: "<html>upstream unavailable</html>"})
		}})
		if got := rs.status("/readyz"); got != http.StatusServiceUnavailable {
			t.Errorf("/readyz = %d while the API is down, want 503", got)
		}
		// c is pushed notifications on its GET stream. probe has none: the
		// server keeps what it sends probe queued and writes it on probe's
		// next POST, ahead of the response, and the client counts it before
		// that request returns. So one round trip on probe shows every
		// notification the server had sent until then, with no waiting.
		var changed, probed counter
		began := time.Now()
		c := rs.dial(t, pdtest.DemoUser, "/mcp", listen(&changed))
		if d := time.Since(began); d > 5*time.Second {
			t.Errorf("the handshake took %v while the API is down", d)
		}
		probe := rs.dial(t, pdtest.DemoUser, "/mcp", dialOptions{legacy: true, listChanged: &probed})
		began = time.Now()
		if names := toolNames(t, c); !slices.Equal(names, helpersOnly) {
			t.Errorf("tools/list while down = %v, want the helpers %v", names, helpersOnly)
		}
		if d := time.Since(began); d > 15*time.Second {
			t.Errorf("tools/list took %v while the API is down (bounded wait is 10s)", d)
		}
		if got := rs.status("/healthz"); got != http.StatusOK {
			t.Errorf("/healthz = %d while the API is down, want 200", got)
		}
		rs.fake.ClearFaults()
		rs.waitStatus(t, "/readyz", http.StatusOK, 40*time.Second)
		if !changed.atLeast(1, 10*time.Second) {
			t.Fatal("no notifications/tools/list_changed after the catalog loaded")
		}
		names := toolNames(t, c)
		if !slices.Contains(names, toolRepo) || !slices.Contains(names, "pipedream_list_options") {
			t.Errorf("tools/list after recovery = %v", names)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if r := rs.call(ctx, c, pdtest.DemoUser, toolRepo, getRepo); r.status() != "success" {
			t.Errorf("call after recovery: %v", r)
		}
		// The catalog loaded (the server is ready, and it publishes tools
		// before it says so) and a call ran since: a second notification
		// for this change would have been sent by now, and the round trip
		// on probe brings whatever was sent.
		toolNames(t, probe)
		if n := probed.load(); n != 1 {
			t.Errorf("%d list_changed notifications, want exactly 1", n)
		}
		if n := changed.load(); n != 1 {
			t.Errorf("%d list_changed notifications on the GET stream, want exactly 1", n)
		}
		if logs := rs.stderr.String(); !strings.Contains(logs, "could not check the Pipedream credentials") {
			t.Errorf("the log does not say the credential check was inconclusive:\n%s", tail(logs, 30))
		}
	})

	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // nothing listens here until the API "comes back"
		rs := startServer(t, serverOptions{apps: "slack,github", apiDown: addr, noWait: true})
		if got := rs.status("/readyz"); got != http.StatusServiceUnavailable {
			t.Errorf("/readyz = %d while the API is unreachable, want 503", got)
		}
		var changed counter
		c := rs.dial(t, pdtest.DemoUser, "/mcp", listen(&changed))
		began := time.Now()
		if names := toolNames(t, c); !slices.Equal(names, helpersOnly) {
			t.Errorf("tools/list while unreachable = %v, want the helpers", names)
		}
		if d := time.Since(began); d > 15*time.Second {
			t.Errorf("tools/list took %v while the API is unreachable", d)
		}
		rs.api = serveAPI(t, rs.tap, addr)
		rs.waitStatus(t, "/readyz", http.StatusOK, 60*time.Second)
		if !changed.atLeast(1, 10*time.Second) {
			t.Fatal("no notifications/tools/list_changed after the catalogs loaded")
		}
		names := toolNames(t, c)
		if !slices.Contains(names, toolRepo) || !slices.Contains(names, toolSend) {
			t.Errorf("tools/list after recovery lacks the actions: %v", names)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if r := rs.call(ctx, c, pdtest.DemoUser, toolSend, sendArgs("after recovery")); r.status() != "success" {
			t.Errorf("call after recovery: %v", r)
		}
		if n := changed.load(); n < 1 || n > 2 {
			t.Errorf("%d list_changed notifications for two connections, want 1 (2 if they loaded in different rounds)", n)
		}
	})
}

// faultCase is one upstream failure and what the caller must see.
type faultCase struct {
	name   string
	faults []pdtest.Fault
	// setup runs before the call (after the user's accounts are cached when
	// warm is set); undo runs after it.
	setup, undo func(rs *testServer)
	warm        bool // make the call once first (successfully), so accounts are cached
	tool, args  string
	status      string
	// runs is how many actions/run requests reach the fake (faulted ones
	// included); executed how many the fake executed.
	runs, executed int
	// endpoint and hits, when set, count requests to another endpoint.
	endpoint string
	hits     int
	text     []string // substrings of the result text
	notText  []string
	minDur   time.Duration
	maxDur   time.Duration
	after    func(t *testing.T, rs *testServer)
}

// runFaultCases runs the cases one after another on one server (faults are
// global to its fake), each with a fresh user.
func runFaultCases(t *testing.T, rs *testServer, cases []faultCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			user := rs.newUser("slack", "github")
			c := rs.dial(t, user, "/mcp", dialOptions{})
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if tc.warm {
				// The same call once, so the accounts it needs are cached and
				// the fault meets the run itself.
				if r := rs.call(ctx, c, user, tc.tool, tc.args); r.status() != "success" {
					t.Fatalf("warm-up call: %v", r)
				}
			}
			execBefore, _ := executedRuns(rs.fake, user)
			runsBefore := rs.fake.Count(pdtest.EndpointRun)
			hitsBefore := 0
			if tc.endpoint != "" {
				hitsBefore = rs.fake.Count(tc.endpoint)
			}
			for _, f := range tc.faults {
				rs.fake.InjectFault(f)
			}
			if tc.setup != nil {
				tc.setup(rs)
			}
			began := time.Now()
			r := rs.call(ctx, c, user, tc.tool, tc.args)
			took := time.Since(began)
			rs.fake.ClearFaults()
			if tc.undo != nil {
				tc.undo(rs)
			}
			if r.err != nil {
				t.Fatalf("protocol error: %v", r.err)
			}
			got := r.status()
			if got == "" && !r.isError {
				got = "success" // helpers answer without a status
			}
			if got != tc.status || r.isError != (tc.status != "success") {
				t.Errorf("status %q isError=%v, want %q\n%s", r.status(), r.isError, tc.status, r.text)
			}
			for _, s := range tc.text {
				if !strings.Contains(r.text, s) {
					t.Errorf("the text lacks %q:\n%s", s, r.text)
				}
			}
			for _, s := range tc.notText {
				if strings.Contains(r.text, s) {
					t.Errorf("the text contains %q:\n%s", s, r.text)
				}
			}
			if got := rs.fake.Count(pdtest.EndpointRun) - runsBefore; got != tc.runs {
				t.Errorf("%d actions/run requests, want %d", got, tc.runs)
			}
			if got, _ := executedRuns(rs.fake, user); got-execBefore != tc.executed {
				t.Errorf("the action was executed %d times, want %d", got-execBefore, tc.executed)
			}
			if tc.endpoint != "" {
				if got := rs.fake.Count(tc.endpoint) - hitsBefore; got != tc.hits {
					t.Errorf("%d %s requests, want %d", got, tc.endpoint, tc.hits)
				}
			}
			if took < tc.minDur || (tc.maxDur > 0 && took > tc.maxDur) {
				t.Errorf("the call took %v, want %v..%v", took, tc.minDur, tc.maxDur)
			}
			if tc.after != nil {
				tc.after(t, rs)
			}
		})
	}
}

// TestReliabilityRunFaults injects failures into actions/run: a run is retried
// only when it certainly did not execute (429) or the action is idempotent,
// and every failure says what to do next.
func TestReliabilityRunFaults(t *testing.T) {
	t.Parallel()
	rs := startServer(t, serverOptions{callTimeout: "4s"})
	run := func(f pdtest.Fault) pdtest.Fault { f.Endpoint = pdtest.EndpointRun; return f }
	html := "<html><body>" + strings.Repeat("Bad gateway. ", 8000) + "</body></html>"
	runFaultCases(t, rs, []faultCase{
		{name: "429 twice with Retry-After", faults: []pdtest.Fault{run(pdtest.Fault{Status: 429, RetryAfter: "1", Count: 2})},
			tool: toolSend, args: sendArgs("429 twice"), status: "success", runs: 3, executed: 1,
			minDur: 2 * time.Second, maxDur: 4 * time.Second},
		{name: "429 storm", faults: []pdtest.Fault{run(pdtest.Fault{Status: 429, RetryAfter: "1"})},
			tool: toolSend, args: sendArgs("429 storm"), status: "rate_limited", runs: 4, executed: 0,
			text: []string{"Retry after 1 s", "Nothing was run"}, maxDur: 4 * time.Second},
		{name: "429 asking for more than the retry budget", faults: []pdtest.Fault{run(pdtest.Fault{Status: 429, RetryAfter: "120"})},
			tool: toolSend, args: sendArgs("429 long"), status: "rate_limited", runs: 1, executed: 0,
			text: []string{"Retry after 120 s"}, maxDur: time.Second},
		{name: "503 burst, not idempotent", faults: []pdtest.Fault{run(pdtest.Fault{Status: 503, Count: 2})},
			tool: toolSend, args: sendArgs("503"), status: "upstream_error", runs: 1, executed: 0,
			text: []string{"may or may not have run"}, maxDur: time.Second},
		{name: "503 burst, idempotent", faults: []pdtest.Fault{run(pdtest.Fault{Status: 503, Count: 2})},
			tool: toolRepo, args: getRepo, status: "success", runs: 3, executed: 1, maxDur: 4 * time.Second},
		{name: "502 with a large HTML body", faults: []pdtest.Fault{run(pdtest.Fault{Status: 502, Body: html, Count: 1})},
			tool: toolSend, args: sendArgs("502"), status: "upstream_error", runs: 1, executed: 0,
			text: []string{"Pipedream answered 502", "may or may not have run"}, maxDur: time.Second},
		{name: "connection reset, not idempotent", faults: []pdtest.Fault{run(pdtest.Fault{Reset: true, Count: 1})},
			tool: toolSend, args: sendArgs("reset"), status: "upstream_error", runs: 1, executed: 0,
			text: []string{"may or may not have run"}, maxDur: 2 * time.Second},
		{name: "connection reset, idempotent", faults: []pdtest.Fault{run(pdtest.Fault{Reset: true, Count: 1})},
			tool: toolRepo, args: getRepo, status: "success", runs: 2, executed: 1, maxDur: 3 * time.Second},
		{name: "truncated body, not idempotent", faults: []pdtest.Fault{run(pdtest.Fault{Truncate: true, Count: 1})},
			tool: toolSend, args: sendArgs("truncated"), status: "upstream_error", runs: 1, executed: 1,
			text: []string{"may or may not have run"}, notText: []string{"Retry in a little while"}, maxDur: 2 * time.Second},
		{name: "truncated body, idempotent", faults: []pdtest.Fault{run(pdtest.Fault{Truncate: true, Count: 1})},
			tool: toolRepo, args: getRepo, status: "success", runs: 2, executed: 2, maxDur: 3 * time.Second},
		{name: "non-JSON 200", faults: []pdtest.Fault{run(pdtest.Fault{Status: 200, Body: "<html>maintenance</html>", Count: 1})},
			tool: toolSend, args: sendArgs("non-JSON"), status: "upstream_error", runs: 1, executed: 0,
			text: []string{"may or may not have run"}, maxDur: 2 * time.Second},
		{name: "slower than the call deadline", faults: []pdtest.Fault{run(pdtest.Fault{Delay: 20 * time.Second, Count: 1})},
			tool: toolSend, args: sendArgs("slow"), status: "timeout", runs: 1, executed: 0,
			text: []string{"within 4s", "may or may not have run"}, minDur: 3 * time.Second, maxDur: 6 * time.Second},
	})
}

// TestReliabilityReadAndTokenFaults injects failures into the reads a call
// makes (accounts, options, Connect tokens) and into the token endpoint.
func TestReliabilityReadAndTokenFaults(t *testing.T) {
	t.Parallel()
	rs := startServer(t, serverOptions{callTimeout: "4s"})
	at := func(endpoint string, f pdtest.Fault) pdtest.Fault { f.Endpoint = endpoint; return f }
	accounts := func(f pdtest.Fault) pdtest.Fault { return at(pdtest.EndpointAccounts, f) }
	// Token requests, faulted ones included (TokenRequests counts only those
	// that reached the token handler).
	var tokensBefore, handledBefore int
	countTokens := func(rs *testServer) {
		tokensBefore = rs.fake.Count(pdtest.EndpointToken)
		handledBefore = rs.fake.TokenRequests(plantedClientSecret)
	}
	wantTokens := func(n int) func(t *testing.T, rs *testServer) {
		return func(t *testing.T, rs *testServer) {
			if got := rs.fake.Count(pdtest.EndpointToken) - tokensBefore; got != n {
				t.Errorf("%d token requests, want %d", got, n)
			}
		}
	}
	runFaultCases(t, rs, []faultCase{
		{name: "accounts 503 burst", faults: []pdtest.Fault{accounts(pdtest.Fault{Status: 503, Count: 2})},
			tool: toolSend, args: sendArgs("accounts 503"), status: "success", runs: 1, executed: 1,
			endpoint: pdtest.EndpointAccounts, hits: 3, maxDur: 4 * time.Second},
		{name: "accounts connection reset", faults: []pdtest.Fault{accounts(pdtest.Fault{Reset: true, Count: 1})},
			tool: toolSend, args: sendArgs("accounts reset"), status: "success", runs: 1, executed: 1, maxDur: 3 * time.Second},
		{name: "accounts truncated", faults: []pdtest.Fault{accounts(pdtest.Fault{Truncate: true, Count: 1})},
			tool: toolSend, args: sendArgs("accounts truncated"), status: "success", runs: 1, executed: 1,
			endpoint: pdtest.EndpointAccounts, hits: 2, maxDur: 3 * time.Second},
		{name: "accounts non-JSON 200", faults: []pdtest.Fault{accounts(pdtest.Fault{Status: 200, Body: "<html>login</html>", Count: 1})},
			tool: toolSend, args: sendArgs("accounts non-JSON"), status: "upstream_error", runs: 0, executed: 0,
			text: []string{"Retry"}, maxDur: 2 * time.Second},
		{name: "accounts slower than the call deadline", faults: []pdtest.Fault{accounts(pdtest.Fault{Delay: 20 * time.Second, Count: 1})},
			tool: toolSend, args: sendArgs("accounts slow"), status: "timeout", runs: 0, executed: 0,
			text: []string{"Nothing was run"}, minDur: 3 * time.Second, maxDur: 6 * time.Second},
		{name: "options 503 burst", faults: []pdtest.Fault{at(pdtest.EndpointConfigure, pdtest.Fault{Status: 503, Count: 2})},
			tool: "pipedream_list_options", args: `{"tool":"slack_send_message_to_channel","prop":"conversation"}`,
			status: "success", endpoint: pdtest.EndpointConfigure, hits: 3, maxDur: 4 * time.Second},
		{name: "Connect token endpoint failing", faults: []pdtest.Fault{at(pdtest.EndpointConnectTokens, pdtest.Fault{Status: 503})},
			tool: "notion_search", args: `{}`, status: "account_required", text: []string{"could not be created"}, maxDur: 6 * time.Second},
		{name: "token expired before the run", warm: true, setup: func(rs *testServer) { countTokens(rs); rs.fake.ExpireTokens() },
			tool: toolSend, args: sendArgs("expired token"), status: "success", runs: 2, executed: 1,
			maxDur: 2 * time.Second, after: wantTokens(1)},
		{name: "token endpoint 503 burst with an expired token", warm: true,
			faults: []pdtest.Fault{at(pdtest.EndpointToken, pdtest.Fault{Status: 503, Count: 2})},
			setup:  func(rs *testServer) { countTokens(rs); rs.fake.ExpireTokens() },
			tool:   toolSend, args: sendArgs("token 503"), status: "success", runs: 2, executed: 1,
			maxDur: 4 * time.Second, after: wantTokens(3)},
		{name: "client secret revoked", warm: true,
			setup: func(rs *testServer) {
				rs.fake.RevokeSecret(pdtest.SandboxClientID, plantedClientSecret)
				rs.fake.ExpireTokens()
			},
			undo: func(rs *testServer) { rs.fake.AcceptSecret(pdtest.SandboxClientID, plantedClientSecret) },
			tool: toolSend, args: sendArgs("revoked"), status: "upstream_error", runs: 1, executed: 0,
			text: []string{"credentials were refused", "Tell the operator"}, maxDur: 2 * time.Second},
		{name: "token endpoint slower than the call deadline", warm: true,
			faults: []pdtest.Fault{at(pdtest.EndpointToken, pdtest.Fault{Delay: 6 * time.Second, Count: 1})},
			setup:  func(rs *testServer) { countTokens(rs); rs.fake.ExpireTokens() },
			tool:   toolSend, args: sendArgs("token slow"), status: "timeout", runs: 1, executed: 0,
			minDur: 3 * time.Second, maxDur: 6 * time.Second,
			after: func(t *testing.T, rs *testServer) {
				// The token fetch goes on for the next callers and then serves them.
				if !rs.tap.await(10*time.Second, func() bool { return rs.fake.TokenRequests(plantedClientSecret) > handledBefore }) {
					t.Error("the token fetch never completed")
				}
			}},
	})
}

// TestReliabilityTokensExpireUnderLoad expires every access token while 24
// calls are in flight: each call runs exactly once, and the refused requests
// share one token refresh.
func TestReliabilityTokensExpireUnderLoad(t *testing.T) {
	t.Parallel()
	rs := startServer(t, serverOptions{apps: "slack"})
	c := rs.dial(t, pdtest.DemoUser, "/mcp", dialOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if r := rs.call(ctx, c, pdtest.DemoUser, toolSend, sendArgs("warm-up")); r.status() != "success" {
		t.Fatalf("warm-up: %v", r)
	}
	tokensBefore := rs.fake.TokenRequests(plantedClientSecret)
	// The fake holds each run for a second after checking its token.
	rs.fake.SetRunDelay(time.Second)
	const n = 24
	var wg sync.WaitGroup
	results := make([]toolResult, n)
	launch := func(from, to int) {
		for i := from; i < to; i++ {
			wg.Go(func() {
				results[i] = rs.call(ctx, c, pdtest.DemoUser, toolSend, sendArgs(fmt.Sprintf("load-%02d", i)))
			})
		}
	}
	// Half the calls are at the fake, past its token check, when every token
	// expires; the other half start with the expired token.
	runs, _ := rs.tap.runs()
	launch(0, n/2)
	if !rs.tap.awaitRuns(30*time.Second, runs+n/2, 0) {
		t.Fatal("the first calls did not reach actions/run")
	}
	rs.fake.ExpireTokens()
	launch(n/2, n)
	wg.Wait()
	rs.fake.SetRunDelay(0)
	for i, r := range results {
		if r.status() != "success" {
			t.Errorf("call %d: %v", i, r)
		}
	}
	ran := map[string]int{}
	for _, r := range rs.fake.Runs() {
		if r.Executed {
			if text, ok := r.ConfiguredProps["text"].(string); ok {
				ran[text]++
			}
		}
	}
	for i := range n {
		if k := ran[fmt.Sprintf("load-%02d", i)]; k != 1 {
			t.Errorf("load-%02d was executed %d times, want once", i, k)
		}
	}
	if got := rs.fake.TokenRequests(plantedClientSecret) - tokensBefore; got < 1 || got > 2 {
		t.Errorf("%d token requests after the tokens expired, want 1 (shared by every refused call)", got)
	}
}

// TestReliabilityCatalogRefreshKeepsLastGood makes every catalog refresh fail
// (5xx, truncated, non-JSON) after a successful load: the last good catalog
// keeps serving, with no list_changed and readiness unchanged.
func TestReliabilityCatalogRefreshKeepsLastGood(t *testing.T) {
	t.Parallel()
	rs := startServer(t, serverOptions{apps: "github", args: []string{"--catalog-ttl", "1s"}})
	// probe has no GET stream: its round trips bring every notification the
	// server sent it until then (see TestReliabilityStartWhileAPIDown).
	var changed, probed counter
	c := rs.dial(t, pdtest.DemoUser, "/mcp", listen(&changed))
	probe := rs.dial(t, pdtest.DemoUser, "/mcp", dialOptions{legacy: true, listChanged: &probed})
	want := toolNames(t, c)
	if !slices.Contains(want, toolRepo) {
		t.Fatalf("tools/list = %v", want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, f := range []pdtest.Fault{
		{Status: http.StatusBadGateway},
		{Truncate: true},
		{Status: http.StatusOK, Body: "<html>captive portal</html>"},
		{Reset: true},
	} {
		f.Endpoint = pdtest.EndpointActions
		before := rs.fake.Count(pdtest.EndpointActions)
		rs.fake.InjectFault(f)
		if !rs.tap.await(15*time.Second, func() bool { return rs.fake.Count(pdtest.EndpointActions) >= before+2 }) {
			t.Fatalf("fault %+v: the catalog was not refreshed", f)
		}
		if got := toolNames(t, c); !slices.Equal(got, want) {
			t.Errorf("fault %+v: tools/list = %v, want the last good %v", f, got, want)
		}
		if r := rs.call(ctx, c, pdtest.DemoUser, toolRepo, getRepo); r.status() != "success" {
			t.Errorf("fault %+v: call: %v", f, r)
		}
		if got := rs.status("/readyz"); got != http.StatusOK {
			t.Errorf("fault %+v: /readyz = %d", f, got)
		}
		rs.fake.ClearFaults()
	}
	// Refreshes succeed again: the same catalog, still no notification.
	before := rs.fake.Count(pdtest.EndpointActions)
	// Two more catalog requests: the round of the first has published its
	// outcome before the next round starts.
	if !rs.tap.await(15*time.Second, func() bool { return rs.fake.Count(pdtest.EndpointActions) > before+1 }) {
		t.Fatal("no refresh after the faults cleared")
	}
	if got := toolNames(t, c); !slices.Equal(got, want) {
		t.Errorf("tools/list after recovery = %v", got)
	}
	toolNames(t, probe)
	if n, m := changed.load(), probed.load(); n != 0 || m != 0 {
		t.Errorf("%d list_changed notifications (%d on the GET stream) for refreshes that changed nothing", m, n)
	}
	if logs := rs.stderr.String(); !strings.Contains(logs, "serving the last good catalog") {
		t.Errorf("the failed refreshes were not logged:\n%s", tail(logs, 20))
	}
}

// liveHeap is the heap in use by live objects after a collection.
func liveHeap() uint64 {
	goruntime.GC()
	var m goruntime.MemStats
	goruntime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestReliabilityFaultStormNoLeak runs three rounds of 40 concurrent calls
// into mixed faults (resets, 5xx, 429, truncated bodies, deadlines): every
// call ends with a result, goroutines and heap do not grow from round to
// round, and nothing outlives the server. Not parallel, so the counts mean
// something.
func TestReliabilityFaultStormNoLeak(t *testing.T) {
	base := goruntime.NumGoroutine()
	var rounds []int
	func() {
		rs := startServer(t, serverOptions{apps: "slack,github", callTimeout: "1s"})
		c := rs.dial(t, pdtest.DemoUser, "/mcp", dialOptions{})
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if r := rs.call(ctx, c, pdtest.DemoUser, toolRepo, getRepo); r.status() != "success" {
			t.Fatalf("warm-up: %v", r)
		}
		heapBefore := liveHeap()
		for round := range 3 {
			for _, f := range []pdtest.Fault{
				{Endpoint: pdtest.EndpointRun, Reset: true, Count: 8},
				{Endpoint: pdtest.EndpointRun, Status: 503, Count: 8},
				{Endpoint: pdtest.EndpointRun, Status: 429, RetryAfter: "0.2", Count: 8},
				{Endpoint: pdtest.EndpointRun, Truncate: true, Count: 8},
				{Endpoint: pdtest.EndpointRun, Delay: 3 * time.Second, Count: 8},
			} {
				rs.fake.InjectFault(f)
			}
			var wg sync.WaitGroup
			var protocolErrors atomic.Int32
			for i := range 40 {
				wg.Go(func() {
					tool, args := toolRepo, getRepo
					if i%2 == 0 {
						tool, args = toolSend, sendArgs(fmt.Sprintf("storm %d/%d", round, i))
					}
					if r := rs.call(ctx, c, pdtest.DemoUser, tool, args); r.err != nil || r.status() == "" {
						protocolErrors.Add(1)
					}
				})
			}
			wg.Wait()
			rs.fake.ClearFaults()
			if n := protocolErrors.Load(); n > 0 {
				t.Errorf("round %d: %d calls ended without a result", round, n)
			}
			// Delayed fault handlers end with their (cancelled) requests.
			rounds = append(rounds, workGoroutines(3*time.Second))
		}
		if rounds[2] > rounds[0]+3 {
			t.Errorf("goroutines (other than pooled connections) grew from round to round: %v", rounds)
		}
		if grown := int64(liveHeap()) - int64(heapBefore); grown > 16<<20 {
			t.Errorf("the live heap grew by %d MiB over three storms", grown>>20)
		}
		t.Logf("goroutines after each storm, pooled connections aside: %v (%d in all before the server started)", rounds, base)
		if r := rs.call(ctx, c, pdtest.DemoUser, toolRepo, getRepo); r.status() != "success" {
			t.Errorf("call after the storms: %v", r)
		}
		_ = c.Close()
		rs.close(t)
	}()
	checkGoroutinesSettle(t, base, fmt.Sprintf(" (rounds: %v)", rounds))
}

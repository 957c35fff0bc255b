package redisstore

import (
	"context"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

// replica is one Shared on the test's Redis, closed at the end.
func replica(t *testing.T, url string, limits map[pdclient.BudgetClass]int) *Shared {
	t.Helper()
	s, err := New(Options{URL: url, Limits: limits, Window: time.Minute, LockTTL: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// eventually polls cond until it holds or the deadline passes (the
// subscription and health loops run on their own).
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		url, want string
	}{
		{"redis://127.0.0.1:6379/0", ""},
		{"rediss://user:pw@cache.internal:6380", ""},
		{"http://127.0.0.1:6379", "must start with redis://"},
		{"redis://:hunter2secret@/0", "has no host"},
		{"redis://:hunter2secret@127.0.0.1:6379/notadb", "invalid database number"},
		{"redis://:hunter2secret@127.0.0.1:6379/?dial_timeout=hunter2secret", "invalid dial_timeout"},
		{"::not a url", "does not parse"},
	} {
		err := CheckURL(tc.url)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("CheckURL(%q) = %v", tc.url, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("CheckURL(%q) = %v, want %q", tc.url, err, tc.want)
		case err != nil && strings.Contains(err.Error(), "hunter2secret"):
			t.Errorf("CheckURL(%q) = %v: the password leaked", tc.url, err)
		}
	}
}

// TestFillOnceForTheFleet: two replicas miss the same key at once; one
// loads, the other waits for it and takes its value from Redis.
func TestFillOnceForTheFleet(t *testing.T) {
	m := miniredis.RunT(t)
	a, b := replica(t, "redis://"+m.Addr(), nil), replica(t, "redis://"+m.Addr(), nil)
	var loads atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	load := func(context.Context) (any, error) {
		if loads.Add(1) == 1 {
			close(started)
			<-release
		}
		return []pdclient.Component{{Key: "slack-send", PropsLoaded: true}}, nil
	}
	key := "proj\x00development\x00actions\x00slack"
	done := make(chan any)
	go func() {
		v, err := a.Fill(t.Context(), key, time.Minute, false, load)
		if err != nil {
			t.Error(err)
		}
		done <- v
	}()
	<-started // a holds the fleet's lock
	go func() {
		v, err := b.Fill(t.Context(), key, time.Minute, false, load)
		if err != nil {
			t.Error(err)
		}
		done <- v
	}()
	close(release)
	for range 2 {
		if v := <-done; len(v.([]pdclient.Component)) != 1 {
			t.Errorf("Fill = %#v", v)
		}
	}
	if n := loads.Load(); n != 1 {
		t.Errorf("loads = %d, want 1 for the fleet", n)
	}
	if _, ok := b.Get(t.Context(), key); !ok {
		t.Error("the waiting replica did not keep the value in its memory")
	}
	// A third replica, cold, takes it from Redis without loading.
	c := replica(t, "redis://"+m.Addr(), nil)
	if _, err := c.Fill(t.Context(), key, time.Minute, false, load); err != nil || loads.Load() != 1 {
		t.Errorf("cold replica: err %v, loads %d", err, loads.Load())
	}
}

// TestInvalidationReachesEveryReplica: an invalidation on one replica drops
// the entry from the others' memory and from Redis.
func TestInvalidationReachesEveryReplica(t *testing.T) {
	m := miniredis.RunT(t)
	reps := []*Shared{replica(t, "redis://"+m.Addr(), nil), replica(t, "redis://"+m.Addr(), nil), replica(t, "redis://"+m.Addr(), nil)}
	// A replica subscribes before New returns: one not subscribed yet would
	// miss the invalidation.
	channel := DefaultPrefix + invalidationChannel
	if n := m.PubSubNumSub(channel)[channel]; n != len(reps) {
		t.Fatalf("%d of %d replicas subscribed when New returned", n, len(reps))
	}
	key := "proj\x00development\x00accounts\x00u1\x00slack"
	for _, r := range reps {
		if _, err := r.Fill(t.Context(), key, time.Minute, false, func(context.Context) (any, error) {
			return []pdclient.Account{{ID: "apn_1"}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []pdclient.Invalidation{
		{Keys: []string{key}},
		{Prefix: "proj\x00development\x00accounts\x00u1\x00"},
	} {
		for _, r := range reps {
			r.mem.Set(key, []pdclient.Account{}, time.Minute, r.mem.Generation())
		}
		m.Set(DefaultPrefix+key, "x")
		reps[0].Invalidate(t.Context(), tc)
		for _, r := range reps {
			eventually(t, time.Second, "replica invalidated", func() bool { _, ok := r.Get(t.Context(), key); return !ok })
		}
		if m.Exists(DefaultPrefix + key) {
			t.Errorf("%+v: the Redis copy survived", tc)
		}
	}
}

// TestBudgetSharedByTheFleet: the limit holds across replicas; past it, Take
// says how long to wait; classes without a limit never wait.
func TestBudgetSharedByTheFleet(t *testing.T) {
	m := miniredis.RunT(t)
	limits := map[pdclient.BudgetClass]int{pdclient.BudgetRuns: 3}
	a, b := replica(t, "redis://"+m.Addr(), limits), replica(t, "redis://"+m.Addr(), limits)
	for i, r := range []*Shared{a, b, a} {
		if _, d := r.Take(t.Context(), "proj_x", pdclient.BudgetRuns); d != 0 {
			t.Fatalf("take %d waited %v", i, d)
		}
	}
	if _, d := b.Take(t.Context(), "proj_x", pdclient.BudgetRuns); d <= 0 || d > time.Minute {
		t.Errorf("4th take in the window: wait %v, want (0, 1m]", d)
	}
	if _, d := b.Take(t.Context(), "proj_y", pdclient.BudgetRuns); d != 0 {
		t.Errorf("another project waited %v", d)
	}
	if _, d := b.Take(t.Context(), "proj_x", pdclient.BudgetComponentReads); d != 0 {
		t.Errorf("an unlimited class waited %v", d)
	}
}

// TestBudgetCountsRequestsInFlight: an admitted request counts until its
// answer is in, however long that takes, and from its answer on for one
// window (Pipedream counts it when it arrives, which is before its answer).
func TestBudgetCountsRequestsInFlight(t *testing.T) {
	m := miniredis.RunT(t)
	const window = 100 * time.Millisecond
	s, err := New(Options{URL: "redis://" + m.Addr(), Limits: map[pdclient.BudgetClass]int{pdclient.BudgetRuns: 1}, Window: window})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	answered, d := s.Take(t.Context(), "proj_x", pdclient.BudgetRuns)
	if d != 0 || answered == nil {
		t.Fatalf("first take: wait %v", d)
	}
	admitted := time.Now()
	for time.Since(admitted) < 3*window { // the request is still in flight
		if _, d := s.Take(t.Context(), "proj_x", pdclient.BudgetRuns); d == 0 {
			t.Fatalf("admitted %v after a request still in flight, window %v", time.Since(admitted), window)
		} else if d > window {
			t.Fatalf("wait %v, more than the window", d)
		}
		time.Sleep(window / 4)
	}
	answered()
	eventually(t, 2*time.Second, "admitted a window after the answer", func() bool {
		_, d := s.Take(t.Context(), "proj_x", pdclient.BudgetRuns)
		return d == 0
	})
}

// TestLocalShareCountsWhatWasSentThroughRedis: a replica that loses Redis
// spends only what is left of its share (the limit over the replicas) after
// what it sent through Redis in the window.
func TestLocalShareCountsWhatWasSentThroughRedis(t *testing.T) {
	m := miniredis.RunT(t)
	limits := map[pdclient.BudgetClass]int{pdclient.BudgetRuns: 10}
	a, _ := replica(t, "redis://"+m.Addr(), limits), replica(t, "redis://"+m.Addr(), limits)
	eventually(t, 3*time.Second, "two replicas counted", func() bool {
		a.budget.mu.Lock()
		defer a.budget.mu.Unlock()
		return a.budget.replicas == 2 // a share of 5
	})
	for i := range 3 {
		if _, d := a.Take(t.Context(), "proj_x", pdclient.BudgetRuns); d != 0 {
			t.Fatalf("shared take %d waited %v", i, d)
		}
	}
	m.Close()
	eventually(t, 6*time.Second, "down", func() bool { return !a.Up() })
	for i := range 2 {
		if _, d := a.Take(t.Context(), "proj_x", pdclient.BudgetRuns); d != 0 {
			t.Fatalf("local take %d waited %v", i, d)
		}
	}
	if _, d := a.Take(t.Context(), "proj_x", pdclient.BudgetRuns); d <= 0 || d > time.Minute {
		t.Errorf("6th take of a share of 5: wait %v, want (0, 1m]", d)
	}
}

// TestRequestsSentWhileDownReachTheFleet: the requests a replica sent alone
// while Redis was down count in the fleet's window once Redis returns.
func TestRequestsSentWhileDownReachTheFleet(t *testing.T) {
	m := miniredis.RunT(t)
	limits := map[pdclient.BudgetClass]int{pdclient.BudgetRuns: 4}
	a, b := replica(t, "redis://"+m.Addr(), limits), replica(t, "redis://"+m.Addr(), limits)
	eventually(t, 3*time.Second, "two replicas counted", func() bool {
		a.budget.mu.Lock()
		defer a.budget.mu.Unlock()
		return a.budget.replicas == 2 // a share of 2
	})
	if _, d := a.Take(t.Context(), "proj_x", pdclient.BudgetRuns); d != 0 {
		t.Fatalf("shared take waited %v", d)
	}
	m.Close()
	eventually(t, 6*time.Second, "down", func() bool { return !a.Up() })
	if _, d := a.Take(t.Context(), "proj_x", pdclient.BudgetRuns); d != 0 {
		t.Fatalf("local take waited %v", d)
	}
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 6*time.Second, "both rejoined", func() bool { return a.Up() && b.Up() })
	for i := range 2 {
		if _, d := b.Take(t.Context(), "proj_x", pdclient.BudgetRuns); d != 0 {
			t.Fatalf("take %d of the 2 left waited %v", i, d)
		}
	}
	if _, d := b.Take(t.Context(), "proj_x", pdclient.BudgetRuns); d == 0 {
		t.Error("the fleet took a 5th request of 4: the one sent while Redis was down was not counted")
	}
}

// TestRedisDownServesFromMemory: with Redis gone, every operation answers
// from this replica's memory within the operation timeout, Up and Detail
// say so, and the replica rejoins when Redis returns.
func TestRedisDownServesFromMemory(t *testing.T) {
	m := miniredis.RunT(t)
	s := replica(t, "redis://"+m.Addr(), map[pdclient.BudgetClass]int{pdclient.BudgetRuns: 100})
	if !s.Up() {
		t.Fatal("not up at start")
	}
	m.Close()
	eventually(t, 6*time.Second, "down", func() bool { return !s.Up() })
	exercise(t, s)
	if d := s.Detail(); !strings.Contains(d, "down") {
		t.Errorf("Detail = %q", d)
	}
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 6*time.Second, "rejoined", s.Up)
}

// TestRedisSilentOrGarbage: a Redis that accepts and never answers, or
// answers garbage, costs no operation more than the timeout (plus
// scheduling) and counts as down.
func TestRedisSilentOrGarbage(t *testing.T) {
	for _, tc := range []struct {
		name  string
		serve func(net.Conn)
	}{
		{"silent", func(c net.Conn) {
			buf := make([]byte, 1024)
			for {
				if _, err := c.Read(buf); err != nil {
					return
				}
			}
		}},
		{"garbage", func(c net.Conn) {
			buf := make([]byte, 1024)
			for {
				if _, err := c.Read(buf); err != nil {
					return
				}
				_, _ = c.Write([]byte("%%garbage\r\n"))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = ln.Close() })
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go func() { defer c.Close(); tc.serve(c) }()
				}
			}()
			s := replica(t, "redis://"+ln.Addr().String(), map[pdclient.BudgetClass]int{pdclient.BudgetRuns: 100})
			s.up.Store(true) // as if it had answered before
			s.failures.Store(0)
			if tc.name == "garbage" {
				exercise(t, s) // the first garbage answer makes it down
			}
			eventually(t, 6*time.Second, "down", func() bool { return !s.Up() })
			exercise(t, s)
		})
	}
}

// exercise runs every operation once, each within a bound, and checks the
// answers come from memory.
func exercise(t *testing.T, s *Shared) {
	t.Helper()
	const bound = 250 * time.Millisecond // the 50 ms timeout, plus a busy machine
	timed := func(what string, f func()) {
		t.Helper()
		began := time.Now()
		f()
		if d := time.Since(began); d > bound {
			t.Errorf("%s took %v", what, d)
		}
	}
	key := "proj\x00development\x00actions\x00slack"
	for i := range failuresToDown + 1 {
		timed("Fill", func() {
			v, err := s.Fill(t.Context(), key+string(rune('a'+i)), time.Minute, false, func(context.Context) (any, error) { return []pdclient.Component{}, nil })
			if err != nil || v == nil {
				t.Errorf("Fill = %v, %v", v, err)
			}
		})
	}
	timed("Get", func() {
		if _, ok := s.Get(t.Context(), key+"a"); !ok {
			t.Error("Get missed what Fill stored in memory")
		}
	})
	timed("Take", func() {
		if _, d := s.Take(t.Context(), "proj_x", pdclient.BudgetRuns); d != 0 {
			t.Errorf("Take waited %v on the local share", d)
		}
	})
	timed("Invalidate", func() { s.Invalidate(t.Context(), pdclient.Invalidation{Keys: []string{key + "a"}}) })
	if _, ok := s.Get(t.Context(), key+"a"); ok {
		t.Error("Invalidate left this replica's copy")
	}
}

// TestLateAdmissionIsWithdrawn: a take whose answer comes after OpTimeout
// (a busy replica) is not sent, so the admission Redis recorded is taken
// back: it does not hold the fleet's budget for its time in flight (10
// minutes without a deadline), which starved a loaded fleet of runs.
func TestLateAdmissionIsWithdrawn(t *testing.T) {
	m := miniredis.RunT(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	var slow atomic.Bool // answers from Redis reach the replica 200 ms late
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r, err := net.Dial("tcp", m.Addr())
			if err != nil {
				_ = c.Close()
				return
			}
			go func() { defer r.Close(); _, _ = io.Copy(r, c) }()
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := r.Read(buf)
					if err != nil {
						return
					}
					if slow.Load() {
						time.Sleep(200 * time.Millisecond)
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
		}
	}()
	limits := map[pdclient.BudgetClass]int{pdclient.BudgetRuns: 1}
	late := replica(t, "redis://"+ln.Addr().String(), limits)
	other := replica(t, "redis://"+m.Addr(), limits)
	if _, d := late.Take(t.Context(), "proj_y", pdclient.BudgetRuns); d != 0 { // Redis has the script
		t.Fatalf("first take waited %v", d)
	}

	slow.Store(true)
	if answered, d := late.Take(t.Context(), "proj_x", pdclient.BudgetRuns); answered != nil || d == 0 {
		t.Fatalf("a take answered after OpTimeout was admitted (wait %v)", d)
	}
	slow.Store(false)
	if !late.Up() {
		t.Fatal("one slow answer made Redis down")
	}
	eventually(t, 3*time.Second, "the other replica admitted (window 1 min)", func() bool {
		_, d := other.Take(t.Context(), "proj_x", pdclient.BudgetRuns)
		return d == 0
	})
}

// TestResubscribingForgetsMemory: invalidations published while a replica's
// subscription is down are lost, so when it subscribes again it drops what
// it keeps in memory (read again from Redis, which the invalidating replica
// updated), instead of serving stale account lists until their TTL.
func TestResubscribingForgetsMemory(t *testing.T) {
	m := miniredis.RunT(t)
	r := replica(t, "redis://"+m.Addr(), nil)
	key := "proj\x00development\x00accounts\x00u1\x00slack"
	if _, err := r.Fill(t.Context(), key, time.Hour, false, func(context.Context) (any, error) {
		return []pdclient.Account{{ID: "apn_1"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Get(t.Context(), key); !ok {
		t.Fatal("not in memory after the fill")
	}
	m.Close() // the subscription's connection drops; whatever is published now is lost
	if _, ok := r.Get(t.Context(), key); !ok {
		t.Fatal("memory dropped while Redis is away (it serves from memory then)")
	}
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "memory dropped on subscribing again", func() bool { _, ok := r.Get(t.Context(), key); return !ok })
}

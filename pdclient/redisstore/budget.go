package redisstore

// This file owns the pdclient.Budget side of Shared: one sliding window per
// project and class in Redis, and the share of it each replica spends alone
// while Redis is down.
//
// Pipedream counts a request when it arrives, which is some time after the
// budget admitted it (a busy machine, a slow connection). So an admitted
// request stays in the window as if it arrived right now until its answer is
// in (its score is in the future until then), and only then takes the time
// of its answer, the latest it can have arrived. Whatever the delays, no
// window of Pipedream's holds more requests than the limit: of the requests
// that arrive in one window, the last admitted saw every other one counted.

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

const (
	// maxInFlight is how long an admitted request whose answer never
	// came (its replica died) counts, at most, in addition to the window;
	// a request with a deadline counts until its deadline.
	maxInFlight = 10 * time.Minute
	// answeredTimeout bounds a correction of the window (an answer
	// recorded, an admission withdrawn), which no call waits for.
	answeredTimeout = time.Second
	// correctAgain is when a correction runs a second time: after a failed
	// one, and always for a withdrawal, which must also undo an admission
	// whose script reached Redis late.
	correctAgain = time.Second
)

// windowScript is a sliding-window log on Redis's clock: KEYS[1] is a sorted
// set of admitted requests scored by the time in ms they count from; ARGV are
// the window in ms, the limit, a unique member and how long the request may
// be in flight, in ms. It returns 0 when the request is admitted (and records
// it, scored as in flight until then), else the ms until the oldest request
// leaves the window (at most the window: one in flight may leave sooner).
var windowScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local inflight = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now + inflight, ARGV[3])
  if redis.call('PTTL', KEYS[1]) < window + inflight then
    redis.call('PEXPIRE', KEYS[1], window + inflight)
  end
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, math.min(tonumber(oldest[2]) + window - now, window))
`)

// answeredScript records that the request ARGV[1] of KEYS[1] got its answer:
// it counts from now on, no longer from the end of its time in flight.
var answeredScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) > now then
  redis.call('ZADD', KEYS[1], now, ARGV[1])
end
return 0
`)

// Take implements pdclient.Budget: Redis's window, or this replica's share
// of the limit while Redis is down. While Redis is up but one ask fails, the
// request asks again soon: it never spends a local share on top of the
// fleet's window.
func (s *Shared) Take(ctx context.Context, project string, class pdclient.BudgetClass) (func(), time.Duration) {
	limit := s.opts.Limits[class]
	if limit <= 0 {
		return func() {}, 0
	}
	if !s.Up() {
		return s.budget.take(project, class)
	}
	inFlight := maxInFlight
	if dl, ok := ctx.Deadline(); ok {
		inFlight = min(max(time.Until(dl), time.Second), maxInFlight)
	}
	octx, cancel := s.opCtx(ctx)
	key := s.opts.Prefix + "budget:" + project + ":" + string(class)
	member := s.id + ":" + strconv.FormatUint(s.seq.Add(1), 36)
	ms, err := windowScript.Run(octx, s.rdb, []string{key}, s.opts.Window.Milliseconds(), limit, member, inFlight.Milliseconds()).Int64()
	cancel()
	switch {
	case err != nil || ms < 0:
		s.failed(err, err == nil || isGarbage(err))
		if err != nil && !errors.Is(err, redis.ErrPoolTimeout) {
			// The script may have admitted the request although its
			// answer came too late (a busy replica reads it after
			// OpTimeout): the request is not sent, so take the admission
			// back, or it would hold the fleet's budget until its time in
			// flight ends (a slow leak that starves a busy fleet). An
			// ask that found no free connection was never sent.
			go s.withdraw(key, member)
		}
		return nil, s.opts.OpTimeout
	case ms > 0:
		return nil, time.Duration(ms) * time.Millisecond
	}
	s.budget.record(project, class)
	return func() { go s.answered(key, member) }, 0
}

// answered runs answeredScript for one admitted request. When it fails
// twice the request counts until the end of its time in flight: longer,
// never less.
func (s *Shared) answered(key, member string) {
	s.correct(false, func(ctx context.Context) error {
		return answeredScript.Run(ctx, s.rdb, []string{key}, member).Err()
	})
}

// withdraw removes member, an admission whose answer never came, from key's
// window: now and again a moment later.
func (s *Shared) withdraw(key, member string) {
	s.correct(true, func(ctx context.Context) error { return s.rdb.ZRem(ctx, key, member).Err() })
}

// correct runs op, a correction of a window, within answeredTimeout, and
// once more correctAgain later when it failed or when twice is set.
func (s *Shared) correct(twice bool, op func(context.Context) error) {
	run := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), answeredTimeout)
		defer cancel()
		return op(ctx)
	}
	if err := run(); err == nil && !twice {
		return
	}
	t := time.NewTimer(correctAgain)
	defer t.Stop()
	select {
	case <-t.C:
		_ = run()
	case <-s.stop:
	}
}

// isGarbage reports whether err is an answer Redis should never give (as
// opposed to no answer, or no connection free in this replica's pool).
func isGarbage(err error) bool {
	var ne net.Error
	switch {
	case err == nil, errors.Is(err, redis.Nil), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.As(err, &ne), errors.Is(err, redis.ErrClosed), errors.Is(err, redis.ErrPoolTimeout),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return false
	}
	return true
}

// localBudget is this replica's share of each limit (the limit divided by
// the replicas last counted), spent alone while Redis is down. It remembers
// every request this replica sent in the last window, including those
// Redis admitted, so that a replica that loses Redis for a moment has
// already spent what it sent through Redis, and those it sent alone are
// added to Redis's window when Redis returns.
type localBudget struct {
	limits map[pdclient.BudgetClass]int
	window time.Duration

	mu       sync.Mutex
	replicas int
	sent     map[budgetKey][]sentRequest // oldest first
}

// budgetKey is one project's limit of one class.
type budgetKey struct {
	project string
	class   pdclient.BudgetClass
}

// sentRequest is one request this replica sent: when, and whether Redis
// counted it.
type sentRequest struct {
	at     time.Time
	shared bool
}

func newLocalBudget(limits map[pdclient.BudgetClass]int, window time.Duration) *localBudget {
	return &localBudget{limits: limits, window: window, replicas: 1, sent: map[budgetKey][]sentRequest{}}
}

// setReplicas sets the fleet's size; the shares follow it.
func (b *localBudget) setReplicas(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.replicas = max(n, 1)
}

// recent returns the requests of key in the window ending now (b.mu held).
func (b *localBudget) recent(key budgetKey, now time.Time) []sentRequest {
	sent := b.sent[key]
	i := 0
	for i < len(sent) && now.Sub(sent[i].at) >= b.window {
		i++
	}
	sent = sent[i:]
	if len(sent) == 0 {
		delete(b.sent, key)
		return nil
	}
	b.sent[key] = sent
	return sent
}

// record notes a request Redis admitted.
func (b *localBudget) record(project string, class pdclient.BudgetClass) {
	b.mu.Lock()
	defer b.mu.Unlock()
	key, now := budgetKey{project, class}, time.Now()
	b.sent[key] = append(b.recent(key, now), sentRequest{at: now, shared: true})
}

// take is Take on this replica's share: admitted when this replica sent
// fewer than its share in the last window.
func (b *localBudget) take(project string, class pdclient.BudgetClass) (func(), time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	key, now := budgetKey{project, class}, time.Now()
	sent := b.recent(key, now)
	if share := max(1, b.limits[class]/b.replicas); len(sent) >= share {
		return nil, max(time.Millisecond, sent[len(sent)-share].at.Add(b.window).Sub(now))
	}
	b.sent[key] = append(sent, sentRequest{at: now})
	return func() {}, 0
}

// unshared returns the requests of the window that Redis did not count
// (sent while it was down) and marks them counted.
func (b *localBudget) unshared() map[budgetKey][]time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	out := map[budgetKey][]time.Time{}
	for key := range b.sent {
		sent := b.recent(key, now)
		for i := range sent {
			if !sent[i].shared {
				out[key] = append(out[key], sent[i].at)
				sent[i].shared = true
			}
		}
	}
	return out
}

// shareLocal adds to Redis's windows the requests this replica sent while
// Redis was down, at their times on Redis's clock (local time plus offset),
// so that the fleet does not spend them again.
func (s *Shared) shareLocal(offset time.Duration) {
	local := s.budget.unshared()
	if len(local) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), answeredTimeout)
	defer cancel()
	pipe := s.rdb.Pipeline()
	for key, ats := range local {
		rkey := s.opts.Prefix + "budget:" + key.project + ":" + string(key.class)
		zs := make([]redis.Z, len(ats))
		for i, at := range ats {
			zs[i] = redis.Z{Score: float64(at.Add(offset).UnixMilli()), Member: s.id + ":" + strconv.FormatUint(s.seq.Add(1), 36)}
		}
		pipe.ZAdd(ctx, rkey, zs...)
		pipe.PExpire(ctx, rkey, s.opts.Window+maxInFlight)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		s.log.Warn("could not add the requests sent while Redis was down to the fleet's budget", "redis", s.addr, "error", describe(err))
	}
}

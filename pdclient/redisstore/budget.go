package redisstore

// This file owns the pdclient.Budget side of Shared: one sliding window per
// project and class in Redis, and the local share each replica spends alone
// while Redis is down.

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
	"golang.org/x/time/rate"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

// windowScript is a sliding-window log on Redis's clock: KEYS[1] is a sorted
// set of admitted requests scored by their time in ms; ARGV are the window
// in ms, the limit and a unique member. It returns 0 when the request is
// admitted (and records it), else the ms until the oldest request leaves the
// window. No window of ARGV[1] ms ever holds more than ARGV[2] requests.
var windowScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
`)

// Take implements pdclient.Budget: Redis's window, or this replica's share
// of the limit while Redis is down (or the ask failed).
func (s *Shared) Take(ctx context.Context, project string, class pdclient.BudgetClass) time.Duration {
	limit := s.opts.Limits[class]
	if limit <= 0 {
		return 0
	}
	if s.Up() {
		octx, cancel := s.opCtx(ctx)
		key := s.opts.Prefix + "budget:" + project + ":" + string(class)
		member := s.id + ":" + strconv.FormatUint(s.seq.Add(1), 36)
		ms, err := windowScript.Run(octx, s.rdb, []string{key}, s.opts.Window.Milliseconds(), limit, member).Int64()
		cancel()
		if err == nil && ms >= 0 {
			s.succeeded()
			return time.Duration(ms) * time.Millisecond
		}
		s.failed(err, err == nil || isGarbage(err))
		if s.Up() {
			// No answer this time: ask again soon rather than spend a
			// local share on top of the fleet's window.
			return s.opts.OpTimeout
		}
	}
	return s.budget.take(project, class)
}

// isGarbage reports whether err is an answer Redis should never give (as
// opposed to no answer).
func isGarbage(err error) bool {
	var ne net.Error
	switch {
	case err == nil, errors.Is(err, redis.Nil), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.As(err, &ne), errors.Is(err, redis.ErrClosed), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, io.EOF):
		return false
	}
	return true
}

// localBudget is a replica's share of each limit, spent alone while Redis is
// down: the limit divided by the replicas last counted.
type localBudget struct {
	limits map[pdclient.BudgetClass]int
	window time.Duration

	mu       sync.Mutex
	replicas int
	buckets  map[string]*rate.Limiter // project + class
}

func newLocalBudget(limits map[pdclient.BudgetClass]int, window time.Duration) *localBudget {
	return &localBudget{limits: limits, window: window, replicas: 1, buckets: map[string]*rate.Limiter{}}
}

// setReplicas sets the fleet's size; the shares change with it.
func (b *localBudget) setReplicas(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n < 1 {
		n = 1
	}
	if n != b.replicas {
		b.replicas = n
		b.buckets = map[string]*rate.Limiter{}
	}
}

// take is Take on this replica's share.
func (b *localBudget) take(project string, class pdclient.BudgetClass) time.Duration {
	b.mu.Lock()
	key := project + "\x00" + string(class)
	l, ok := b.buckets[key]
	if !ok {
		share := max(1, b.limits[class]/b.replicas)
		l = rate.NewLimiter(rate.Every(b.window/time.Duration(share)), max(1, share/10))
		b.buckets[key] = l
	}
	b.mu.Unlock()
	r := l.Reserve()
	d := r.Delay()
	if d > 0 {
		r.Cancel()
	}
	return d
}

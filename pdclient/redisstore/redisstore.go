// Package redisstore lets the replicas of a fleet share, through Redis, what
// each learns from Pipedream: catalogs and account lists (a pdclient.Store in
// front of each replica's own MemoryStore, with misses collapsed across the
// fleet by a short lock), account invalidations (pub/sub, applied by every
// replica), and Pipedream's per-project request limits (a pdclient.Budget: a
// sliding window in a Lua script).
//
// Redis is never needed to serve. Every Redis operation waits at most
// Options.OpTimeout (50 ms). While Redis is unreachable, slow, or answers
// garbage, each replica serves from its own memory and spends its own share
// of the budget, says so (a log line, Up, Detail), and rejoins when Redis
// answers again. Nothing fails a call because Redis failed. The URL's
// password never reaches a log line or an error.
package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

// Defaults of Options.
const (
	DefaultOpTimeout = 50 * time.Millisecond
	DefaultLockTTL   = 30 * time.Second
	DefaultPrefix    = "pdmcp:"
)

const (
	// pingEvery is how often the health loop checks Redis and announces
	// this replica.
	pingEvery = 500 * time.Millisecond
	// healthTimeout bounds one health check. No call waits on it, so it is
	// longer than OpTimeout: a busy machine's slow answer is not an outage.
	// The check has its own connection, so a pool busy with calls does not
	// fail it either.
	healthTimeout = 500 * time.Millisecond
	// failuresToDown is how many failed health checks in a row (timeouts,
	// refused connections) make Redis count as down; a garbage answer does
	// at once. A failed operation alone only falls back for itself.
	failuresToDown = 3
	// successesToUp is how many health checks in a row must pass before a
	// replica that was down shares again, so that a flapping Redis does not
	// flip the replica with every answer.
	successesToUp = 2
	// lockPoll is how often a replica waiting for another's fill looks again.
	lockPoll = 20 * time.Millisecond
	// replicaTTL is how long a replica that stopped announcing itself still
	// counts towards the fleet's size (for the budget's local shares).
	replicaTTL = 5 * time.Second
	// scanBatch is the COUNT of one SCAN of a prefix invalidation.
	scanBatch = 500
)

// notChecked is the reason Redis is down before the first check.
const notChecked = "not checked yet"

// Options configure New.
type Options struct {
	// URL is redis://[user:password@]host:port[/db] or rediss://... (required).
	URL string
	// Logger receives the up and down transitions (default: discard).
	Logger *slog.Logger
	// Limits are the fleet's requests per Window and project, by class; a
	// class without a positive limit is not limited.
	Limits map[pdclient.BudgetClass]int
	// Window is the budget's sliding window (default 5m).
	Window time.Duration
	// OpTimeout bounds every Redis operation (default 50 ms).
	OpTimeout time.Duration
	// LockTTL bounds how long one replica's fill holds the fleet's other
	// replicas waiting for it (default 30s); past it they load themselves.
	LockTTL time.Duration
	// Prefix starts every key and the channel (default "pdmcp:").
	Prefix string
}

// Shared is one replica's view of the fleet's Redis. It implements
// pdclient.Store and pdclient.Budget. Build it with New, stop it with Close.
type Shared struct {
	rdb    *redis.Client
	health *redis.Client // the health loop's own connection
	opts   Options
	addr   string // host:port, for logs (never the URL)
	id     string // this replica, in pub/sub messages and the budget's members
	log    *slog.Logger
	mem    *pdclient.MemoryStore
	budget *localBudget
	seq    atomic.Uint64

	up        atomic.Bool
	failures  atomic.Int32 // health checks failed in a row
	successes int          // health checks passed in a row (the health loop's)
	mu        sync.Mutex   // guards reason
	reason    string       // why Redis is down, for Detail

	stop chan struct{}
	done sync.WaitGroup
}

var (
	_ pdclient.Store  = (*Shared)(nil)
	_ pdclient.Budget = (*Shared)(nil)
)

// CheckURL reports what is wrong with a Redis URL, in words that never
// repeat its password; nil when it is usable.
func CheckURL(raw string) error {
	_, err := parseURL(raw)
	return err
}

func parseURL(raw string) (*redis.Options, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, errors.New("does not parse as a URL")
	case u.Scheme != "redis" && u.Scheme != "rediss":
		return nil, errors.New("must start with redis:// or rediss://")
	case u.Hostname() == "":
		return nil, errors.New("has no host")
	}
	o, err := redis.ParseURL(raw)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "redis: ")
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
		return nil, errors.New(msg)
	}
	return o, nil
}

// New connects to Redis (one ping, at most OpTimeout: an unreachable Redis is
// not an error, the replica starts alone and rejoins later), subscribes to
// the invalidation channel and starts the health loop.
func New(opts Options) (*Shared, error) {
	ro, err := parseURL(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("redisstore: the Redis URL %s", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Window <= 0 {
		opts.Window = pdclient.DefaultBudgetWindow
	}
	if opts.OpTimeout <= 0 {
		opts.OpTimeout = DefaultOpTimeout
	}
	if opts.LockTTL <= 0 {
		opts.LockTTL = DefaultLockTTL
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	ro.DialTimeout = opts.OpTimeout
	ro.ReadTimeout = opts.OpTimeout
	ro.WriteTimeout = opts.OpTimeout
	ro.PoolTimeout = opts.OpTimeout
	ro.ContextTimeoutEnabled = true
	ro.MaxRetries = -1 // a retry would wait past OpTimeout
	ro.DisableIdentity = true
	ro.Protocol = 2
	ro.PoolSize = max(ro.PoolSize, 64)
	quietOnce.Do(func() { redis.SetLogger(quiet{}) })
	ho := *ro
	ho.DialTimeout, ho.ReadTimeout, ho.WriteTimeout, ho.PoolTimeout = healthTimeout, healthTimeout, healthTimeout, healthTimeout
	ho.PoolSize, ho.MinIdleConns, ho.MaxIdleConns = 1, 0, 1
	s := &Shared{
		rdb:    redis.NewClient(ro),
		health: redis.NewClient(&ho),
		opts:   opts,
		addr:   ro.Addr,
		id:     randomID(),
		log:    opts.Logger,
		mem:    pdclient.NewMemoryStore(),
		budget: newLocalBudget(opts.Limits, opts.Window),
		stop:   make(chan struct{}),
		reason: notChecked,
	}
	s.check()
	if !s.Up() {
		s.log.Warn("Redis unreachable at start; this replica serves from its own memory until it answers", "redis", s.addr, "error", s.Detail())
	} else {
		s.log.Info("sharing catalogs, accounts and the request budget through Redis", "redis", s.addr)
	}
	// Subscribe before serving, so that no invalidation published from
	// now on is missed (bounded: a slow confirmation is handled by the
	// loop, which forgets what the replica filled meanwhile).
	ps := s.rdb.Subscribe(context.Background(), s.opts.Prefix+invalidationChannel)
	subscribed := false
	if s.Up() {
		_, err := ps.ReceiveTimeout(context.Background(), healthTimeout)
		subscribed = err == nil
	}
	s.done.Add(2)
	go s.healthLoop()
	go s.subscribe(ps, subscribed)
	return s, nil
}

// Close stops the health loop and the subscription and closes the
// connections.
func (s *Shared) Close() error {
	close(s.stop)
	err := errors.Join(s.rdb.Close(), s.health.Close())
	s.done.Wait()
	return err
}

// Up reports whether Redis answers: true means this replica shares, false
// that it serves from its own memory.
func (s *Shared) Up() bool { return s.up.Load() }

// Detail says, in a few words for /readyz, how Redis is doing.
func (s *Shared) Detail() string {
	if s.Up() {
		return "up: catalogs, accounts and the request budget are shared"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return "down (" + s.reason + "): serving from this replica's memory"
}

// opCtx bounds one Redis operation.
func (s *Shared) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), s.opts.OpTimeout)
}

// failed records a failed operation; garbage makes Redis down at once, other
// failures after failuresToDown in a row.
func (s *Shared) failed(err error, garbage bool) {
	if errors.Is(err, redis.Nil) {
		return
	}
	// One slow answer on a busy machine is not an outage: only garbage, or
	// the health loop's pings failing in a row, make Redis down.
	if !garbage && !isGarbage(err) {
		return
	}
	s.mu.Lock()
	s.reason = describe(err)
	s.mu.Unlock()
	if s.up.CompareAndSwap(true, false) {
		s.log.Warn("Redis unreachable; this replica serves from its own memory and its own share of the request budget", "redis", s.addr, "error", describe(err))
	}
}

// describe is err in words for logs and /readyz; it never holds the URL.
func describe(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer within the operation timeout"
	default:
		return err.Error()
	}
}

// healthLoop pings Redis, announces this replica and counts the fleet.
func (s *Shared) healthLoop() {
	defer s.done.Done()
	t := time.NewTicker(pingEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.check()
		}
	}
}

// check pings Redis on the health connection and announces this replica in
// the fleet's set, then sets Up: down after failuresToDown failed checks in a
// row, up again after successesToUp passed ones (at start, after one), once
// the requests sent meanwhile are in Redis's windows.
func (s *Shared) check() {
	ctx, cancel := context.WithTimeout(context.Background(), healthTimeout)
	defer cancel()
	key := s.opts.Prefix + "replicas"
	now := time.Now()
	pipe := s.health.TxPipeline()
	pipe.ZAdd(ctx, key, redis.Z{Score: float64(now.UnixMilli()), Member: s.id})
	pipe.ZRemRangeByScore(ctx, key, "-inf", fmt.Sprint(now.Add(-replicaTTL).UnixMilli()))
	card := pipe.ZCard(ctx, key)
	pipe.PExpire(ctx, key, 2*replicaTTL)
	clock := pipe.Time(ctx)
	if _, err := pipe.Exec(ctx); err != nil {
		s.successes = 0
		if s.failures.Add(1) >= failuresToDown {
			s.failed(err, true)
		}
		return
	}
	s.failures.Store(0)
	s.successes++
	s.budget.setReplicas(int(card.Val()))
	s.mu.Lock()
	first := s.reason == notChecked
	s.mu.Unlock()
	if s.Up() || (!first && s.successes < successesToUp) {
		return
	}
	s.shareLocal(clock.Val().Sub(now))
	if s.up.CompareAndSwap(false, true) && !first {
		s.log.Warn("Redis reachable again; this replica shares catalogs, accounts and the request budget again", "redis", s.addr, "replicas", card.Val())
	}
}

// quiet drops go-redis's own log lines (dial failures, one per attempt);
// Shared logs the transitions between up and down itself.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

var quietOnce sync.Once

func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

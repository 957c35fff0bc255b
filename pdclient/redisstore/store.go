package redisstore

// This file owns the pdclient.Store side of Shared: catalogs and account
// lists in Redis behind each replica's MemoryStore, fills collapsed across
// the fleet, and invalidations fanned out on a channel.

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
)

// unlockScript deletes a fill lock only while it is still the caller's.
var unlockScript = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)

// message is one invalidation on the channel.
type message struct {
	From string                `json:"from"`
	Inv  pdclient.Invalidation `json:"inv"`
}

// Get implements pdclient.Store: this replica's memory only (a miss goes to
// Fill, which looks in Redis).
func (s *Shared) Get(ctx context.Context, key string) (any, bool) {
	return s.mem.Get(ctx, key)
}

// Fill implements pdclient.Store. It takes the value another replica stored
// (unless fresh), else takes the fleet's lock of key and runs load, or waits
// for the replica that holds it. Without Redis, it runs load.
func (s *Shared) Fill(ctx context.Context, key string, ttl time.Duration, fresh bool, load func(context.Context) (any, error)) (any, error) {
	since := s.mem.Generation()
	v, left, err := s.fillShared(ctx, key, ttl, fresh, since, load)
	if err != nil {
		return nil, err
	}
	s.mem.Set(key, v, left, since)
	return v, nil
}

// fillShared returns the value of key and how long it has left to live.
func (s *Shared) fillShared(ctx context.Context, key string, ttl time.Duration, fresh bool, since uint64, load func(context.Context) (any, error)) (any, time.Duration, error) {
	loadAlone := func() (any, time.Duration, error) {
		v, err := load(ctx)
		return v, ttl, err
	}
	if !s.Up() {
		return loadAlone()
	}
	if !fresh {
		if v, left, ok := s.getShared(ctx, key); ok {
			return v, left, nil
		}
	}
	lock := s.opts.Prefix + "lock:" + key
	token := s.id + ":" + randomID()
	deadline := time.Now().Add(s.opts.LockTTL)
	for {
		octx, cancel := s.opCtx(ctx)
		took, err := s.rdb.SetNX(octx, lock, token, s.opts.LockTTL).Result()
		cancel()
		if err != nil {
			s.failed(err, false)
			return loadAlone()
		}
		if took {
			// A fill that ended between our look and our lock stored its value.
			if !fresh {
				if v, left, ok := s.getShared(ctx, key); ok {
					s.unlock(ctx, lock, token)
					return v, left, nil
				}
			}
			v, err := load(ctx)
			if err == nil {
				s.putShared(ctx, key, v, ttl, since)
			}
			s.unlock(ctx, lock, token)
			return v, ttl, err
		}
		if !s.waitUnlocked(ctx, lock, deadline) {
			if ctx.Err() != nil {
				return nil, 0, ctx.Err()
			}
			return loadAlone()
		}
		if v, left, ok := s.getShared(ctx, key); ok {
			return v, left, nil
		}
		// The holder stored nothing (its load failed, or it died): take over.
	}
}

// unlock releases the fleet's lock of a fill, if it is still token's.
func (s *Shared) unlock(ctx context.Context, lock, token string) {
	octx, cancel := s.opCtx(ctx)
	defer cancel()
	if err := unlockScript.Run(octx, s.rdb, []string{lock}, token).Err(); err != nil && !errors.Is(err, redis.Nil) {
		s.failed(err, false)
	}
}

// waitUnlocked waits until lock is gone: true then; false when Redis
// failed, ctx ended or deadline passed.
func (s *Shared) waitUnlocked(ctx context.Context, lock string, deadline time.Time) bool {
	t := time.NewTicker(lockPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
		if time.Now().After(deadline) || !s.Up() {
			return false
		}
		octx, cancel := s.opCtx(ctx)
		n, err := s.rdb.Exists(octx, lock).Result()
		cancel()
		if err != nil {
			s.failed(err, false)
			return false
		}
		if n == 0 {
			return true
		}
	}
}

// getShared reads key from Redis with its remaining lifetime.
func (s *Shared) getShared(ctx context.Context, key string) (any, time.Duration, bool) {
	octx, cancel := s.opCtx(ctx)
	defer cancel()
	pipe := s.rdb.Pipeline()
	get := pipe.Get(octx, s.opts.Prefix+key)
	pttl := pipe.PTTL(octx, s.opts.Prefix+key)
	if _, err := pipe.Exec(octx); err != nil {
		s.failed(err, false)
		return nil, 0, false
	}
	data, err := get.Bytes()
	if err != nil {
		s.failed(err, true)
		return nil, 0, false
	}
	v, err := pdclient.DecodeValue(data)
	left := pttl.Val()
	if err != nil || left <= 0 {
		if err == nil {
			err = errors.New("a cached value without a lifetime")
		}
		s.failed(err, true)
		return nil, 0, false
	}
	return v, left, true
}

// putShared stores v under key in Redis for ttl, unless an invalidation of
// key reached this replica after generation since.
func (s *Shared) putShared(ctx context.Context, key string, v any, ttl time.Duration, since uint64) {
	if s.mem.InvalidatedSince(key, since) || !s.Up() {
		return
	}
	data, err := pdclient.EncodeValue(v)
	if err != nil {
		s.log.Warn("not shared: the value does not encode", "error", err)
		return
	}
	octx, cancel := s.opCtx(ctx)
	defer cancel()
	if err := s.rdb.Set(octx, s.opts.Prefix+key, data, ttl).Err(); err != nil {
		s.failed(err, false)
		return
	}
}

// Invalidate implements pdclient.Store: this replica's memory at once, then
// Redis's copies, then every other replica through the channel. Without
// Redis, only this replica's memory (the others keep their copies until
// their lifetime ends).
func (s *Shared) Invalidate(ctx context.Context, inv pdclient.Invalidation) {
	s.mem.Invalidate(ctx, inv)
	if !s.Up() {
		s.log.Warn("account invalidation applied on this replica only: Redis is down", "redis", s.addr)
		return
	}
	octx, cancel := s.opCtx(ctx)
	defer cancel()
	keys := make([]string, 0, len(inv.Keys))
	for _, k := range inv.Keys {
		keys = append(keys, s.opts.Prefix+k)
	}
	if inv.Prefix != "" {
		it := s.rdb.Scan(octx, 0, escapeGlob(s.opts.Prefix+inv.Prefix)+"*", scanBatch).Iterator()
		for it.Next(octx) {
			keys = append(keys, it.Val())
		}
		if err := it.Err(); err != nil {
			s.failed(err, false)
		}
	}
	msg, _ := json.Marshal(message{From: s.id, Inv: inv})
	pipe := s.rdb.Pipeline()
	if len(keys) > 0 {
		pipe.Del(octx, keys...)
	}
	pipe.Publish(octx, s.opts.Prefix+invalidationChannel, msg)
	if _, err := pipe.Exec(octx); err != nil {
		s.failed(err, false)
		s.log.Warn("account invalidation not shared: Redis failed", "redis", s.addr, "error", describe(err))
		return
	}
}

// invalidationChannel is the channel (after the prefix) invalidations are
// published on.
const invalidationChannel = "invalidations"

// subscribe applies the invalidations other replicas publish until Close.
// Messages published while the subscription is down are lost, so each time
// it is made again (go-redis reconnects on its own), and when the first
// confirmation came only after New returned, the replica forgets its memory:
// what it needs is read again from Redis, which the invalidating replica
// had already updated.
func (s *Shared) subscribe(ps *redis.PubSub, subscribed bool) {
	defer s.done.Done()
	defer ps.Close()
	ctx := context.Background()
	ch := ps.ChannelWithSubscriptions()
	for {
		select {
		case <-s.stop:
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			switch m := m.(type) {
			case *redis.Subscription:
				if m.Kind != "subscribe" {
					continue
				}
				s.mem.Forget()
				if subscribed {
					s.log.Info("subscribed to Redis's invalidations again; dropped this replica's cached catalogs and accounts, which may have missed some (read again from Redis)", "redis", s.addr)
				}
				subscribed = true
			case *redis.Message:
				var msg message
				if err := json.Unmarshal([]byte(m.Payload), &msg); err != nil {
					s.log.Warn("ignored a malformed invalidation from Redis", "error", err)
					continue
				}
				if msg.From != s.id {
					s.mem.Invalidate(ctx, msg.Inv)
				}
			}
		}
	}
}

// escapeGlob quotes the characters SCAN MATCH treats as a pattern.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

package pdclient

// This file owns Store, where a Client keeps its catalogs (apps, action
// lists, the app directory) and account lists, and its in-process
// implementation, MemoryStore. A store shared by several replicas (Redis,
// package redisstore) implements the same interface.

import (
	"bytes"
	"context"
	"encoding/gob"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/patrickmn/go-cache"
)

// Store keeps a Client's catalogs and account lists. Keys are built by the
// client and already name the project and environment; values are the
// client's own types ([]Component, []Account, App, []App), which
// EncodeValue and DecodeValue turn into bytes for stores that leave the
// process. A Store must be safe for concurrent use and must never fail a
// call because of itself: a store that cannot reach its backend answers
// from memory, or runs load.
type Store interface {
	// Get returns the value stored under key, false on a miss.
	Get(ctx context.Context, key string) (any, bool)
	// Fill produces the value of key after a miss (or, with fresh, for a
	// refresh that must not reuse what is stored), and stores it for ttl.
	// The client calls it once at a time per key in a process; a shared
	// store also collapses the fills of other processes, so that load runs
	// once for all of them. A value filled while an Invalidation covering
	// key happened is returned but not stored.
	Fill(ctx context.Context, key string, ttl time.Duration, fresh bool, load func(context.Context) (any, error)) (any, error)
	// Invalidate drops the entries inv names, in every process that shares
	// the store.
	Invalidate(ctx context.Context, inv Invalidation)
}

// Invalidation names cache entries that became stale: some exact keys, and
// every key that starts with Prefix (none when Prefix is "").
type Invalidation struct {
	Keys   []string `json:"keys,omitempty"`
	Prefix string   `json:"prefix,omitempty"`
}

// Covers reports whether inv names key.
func (inv Invalidation) Covers(key string) bool {
	return slices.Contains(inv.Keys, key) || inv.Prefix != "" && strings.HasPrefix(key, inv.Prefix)
}

// WithStore sets where the client keeps catalogs and account lists; the
// default is a MemoryStore of its own. Clients of different projects or
// environments may share one store (keys name both).
func WithStore(s Store) Option {
	return func(c *Client) {
		if s != nil {
			c.store = s
		}
	}
}

// recentInvalidations is how many invalidations a MemoryStore remembers to
// tell a fill that raced one; a fill that saw more pass does not store.
const recentInvalidations = 64

// MemoryStore is the in-process Store (patrickmn/go-cache): the default, and
// the first level of shared stores, which answer from it when their backend
// is away. The zero value is not usable; build it with NewMemoryStore.
type MemoryStore struct {
	c *cache.Cache
	// mu orders invalidations against fills, so that a fill which started
	// before an invalidation of its key never stores its stale result.
	mu     sync.Mutex
	gen    uint64         // invalidations so far
	recent []Invalidation // the last ones, recent[len-1] is number gen
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{c: cache.New(cache.NoExpiration, time.Minute)}
}

// Get implements Store.
func (s *MemoryStore) Get(_ context.Context, key string) (any, bool) {
	return s.c.Get(key)
}

// Set stores v under key for ttl, unless an invalidation covering key
// happened after generation since (see Generation).
func (s *MemoryStore) Set(key string, v any, ttl time.Duration, since uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.invalidatedLocked(key, since) {
		return
	}
	s.c.Set(key, v, ttl)
}

// Generation is the number of invalidations so far, to pass to Set and
// InvalidatedSince.
func (s *MemoryStore) Generation() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen
}

// InvalidatedSince reports whether an invalidation covering key happened
// after generation since (or whether too many happened to tell).
func (s *MemoryStore) InvalidatedSince(key string, since uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.invalidatedLocked(key, since)
}

func (s *MemoryStore) invalidatedLocked(key string, since uint64) bool {
	n := s.gen - since
	if n == 0 {
		return false
	}
	if n > uint64(len(s.recent)) {
		return true
	}
	return slices.ContainsFunc(s.recent[len(s.recent)-int(n):], func(inv Invalidation) bool { return inv.Covers(key) })
}

// Fill implements Store: it runs load and stores its value.
func (s *MemoryStore) Fill(ctx context.Context, key string, ttl time.Duration, _ bool, load func(context.Context) (any, error)) (any, error) {
	since := s.Generation()
	v, err := load(ctx)
	if err != nil {
		return nil, err
	}
	s.Set(key, v, ttl, since)
	return v, nil
}

// Invalidate implements Store.
func (s *MemoryStore) Invalidate(_ context.Context, inv Invalidation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.recent = append(s.recent, inv)
	if len(s.recent) > recentInvalidations {
		s.recent = slices.Delete(s.recent, 0, len(s.recent)-recentInvalidations)
	}
	for _, k := range inv.Keys {
		s.c.Delete(k)
	}
	if inv.Prefix != "" {
		for k := range s.c.Items() {
			if strings.HasPrefix(k, inv.Prefix) {
				s.c.Delete(k)
			}
		}
	}
}

// Forget drops every entry, as an invalidation of every key would, for a
// first level that may have missed invalidations (a shared store whose
// subscription was down): fills that started before it do not store.
func (s *MemoryStore) Forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.recent = s.recent[:0] // every generation before this one: too many to tell
	s.c.Flush()
}

// cached wraps a stored value for gob, which needs an interface field to
// carry the concrete type.
type cached struct{ V any }

func init() {
	gob.Register([]Component(nil))
	gob.Register([]Account(nil))
	gob.Register(App{})
	gob.Register([]App(nil))
}

// EncodeValue turns a value a Client stores into bytes, for stores that
// keep values outside the process.
func EncodeValue(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(cached{V: v}); err != nil {
		return nil, fmt.Errorf("pdclient: encoding a cached %T: %w", v, err)
	}
	return b.Bytes(), nil
}

// DecodeValue is the inverse of EncodeValue.
func DecodeValue(data []byte) (any, error) {
	var c cached
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&c); err != nil {
		return nil, fmt.Errorf("pdclient: decoding a cached value: %w", err)
	}
	switch v := c.V.(type) {
	case []Account:
		if v == nil {
			return []Account{}, nil // an empty list stays a list
		}
	case []Component, App, []App:
	default:
		return nil, fmt.Errorf("pdclient: decoding a cached value: unexpected %T", c.V)
	}
	return c.V, nil
}

// fill produces the value of key after a miss: the process's concurrent
// callers with the same flight share one store.Fill (see shared).
func (c *Client) fill(ctx context.Context, key, flight string, ttl time.Duration, fresh bool, load func(context.Context) (any, error)) (any, error) {
	return c.shared(ctx, flight, func(ctx context.Context) (any, error) {
		return c.store.Fill(ctx, key, ttl, fresh, load)
	})
}

package pdclient

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// TestMemoryStoreFillRacingInvalidation: a fill that an invalidation of its
// key overtook returns its value but does not store it; one that an
// invalidation of other keys overtook stores.
func TestMemoryStoreFillRacingInvalidation(t *testing.T) {
	for _, tc := range []struct {
		name      string
		inv       Invalidation
		wantStore bool
	}{
		{"exact key", Invalidation{Keys: []string{"p\x00accounts\x00u\x00slack"}}, false},
		{"prefix", Invalidation{Prefix: "p\x00accounts\x00u\x00"}, false},
		{"other user", Invalidation{Prefix: "p\x00accounts\x00v\x00"}, true},
		{"other key", Invalidation{Keys: []string{"p\x00actions\x00slack"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewMemoryStore()
			key := "p\x00accounts\x00u\x00slack"
			v, err := s.Fill(t.Context(), key, time.Minute, false, func(ctx context.Context) (any, error) {
				s.Invalidate(ctx, tc.inv) // lands while the fill is under way
				return []Account{{ID: "apn_1"}}, nil
			})
			if err != nil || len(v.([]Account)) != 1 {
				t.Fatalf("Fill = %v, %v", v, err)
			}
			if _, ok := s.Get(t.Context(), key); ok != tc.wantStore {
				t.Errorf("stored = %v, want %v", ok, tc.wantStore)
			}
		})
	}
}

// TestMemoryStoreTooManyInvalidations: past the invalidations it remembers,
// a fill cannot tell whether one covered it, so it does not store.
func TestMemoryStoreTooManyInvalidations(t *testing.T) {
	s := NewMemoryStore()
	since := s.Generation()
	for range recentInvalidations + 1 {
		s.Invalidate(t.Context(), Invalidation{Keys: []string{"other"}})
	}
	if !s.InvalidatedSince("key", since) {
		t.Error("InvalidatedSince = false after more invalidations than remembered")
	}
	if s.InvalidatedSince("key", s.Generation()) {
		t.Error("InvalidatedSince(now) = true")
	}
}

// TestMemoryStoreForget: Forget drops every entry; a fill it overtook does
// not store, a fill after it does, and invalidations after it are told
// apart again.
func TestMemoryStoreForget(t *testing.T) {
	s := NewMemoryStore()
	s.Set("a", 1, time.Minute, s.Generation())
	before := s.Generation()
	s.Forget()
	if _, ok := s.Get(t.Context(), "a"); ok {
		t.Error("an entry survived Forget")
	}
	s.Set("b", 2, time.Minute, before)
	if _, ok := s.Get(t.Context(), "b"); ok {
		t.Error("a fill that Forget overtook stored")
	}
	after := s.Generation()
	s.Invalidate(t.Context(), Invalidation{Keys: []string{"other"}})
	if s.InvalidatedSince("c", after) {
		t.Error("an invalidation of another key after Forget covered c")
	}
	if !s.InvalidatedSince("c", before) {
		t.Error("a fill from before Forget is not told it was overtaken")
	}
	s.Set("c", 3, time.Minute, after)
	if _, ok := s.Get(t.Context(), "c"); !ok {
		t.Error("a fill after Forget did not store")
	}
}

// TestValueCodecRoundTrip: every type a Client stores comes back equal,
// the fields JSON leaves out (PropsLoaded, PropsError, Private, Raw) included, and an
// empty account list stays a list.
func TestValueCodecRoundTrip(t *testing.T) {
	min := 1.0
	for _, v := range []any{
		[]Component{{Key: "slack-send", Version: "0.1.0", PropsLoaded: true, PropsError: "x", Private: true,
			ConfigurableProps: []ConfigurableProp{{Name: "text", Type: "string", Min: &min, Default: json.RawMessage(`"hi"`), Raw: json.RawMessage(`{"name":"text"}`)}}}},
		[]Account{{ID: "apn_1", Healthy: true, App: &App{NameSlug: "slack"}}},
		[]Account{},
		App{NameSlug: "slack", Categories: []string{"chat"}},
		[]App{{NameSlug: "github"}},
	} {
		b, err := EncodeValue(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeValue(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, v) {
			t.Errorf("round trip of %T:\n got %#v\nwant %#v", v, got, v)
		}
	}
	for _, bad := range [][]byte{nil, []byte("garbage"), mustEncode(t, "a string")} {
		if v, err := DecodeValue(bad); err == nil {
			t.Errorf("DecodeValue(%q) = %v, want an error", bad, v)
		}
	}
}

func mustEncode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := EncodeValue(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

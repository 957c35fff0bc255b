package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.yaml.in/yaml/v3"
)

const fuzzJWTSecret = "fuzz-jwt-secret-PLANTED-0123456789abcdef"

// FuzzJWTAuth: any Authorization header is either refused with an
// *AuthError that shows neither the token nor the secret, or accepted only
// for a token whose signature, expiry and user claim check out independently,
// with no crit header, as the user claim exactly as written.
func FuzzJWTAuth(f *testing.F) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sign := func(method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(method, claims).SignedString(key)
		if err != nil {
			f.Fatal(err)
		}
		return s
	}
	exp := now.Add(time.Hour).Unix()
	for _, h := range []string{
		"", "Bearer", "Bearer ", "Basic dXNlcjpwdw==", "bearer x.y.z", "Bearer a.b", "Bearer ...", "Bearer \x00\xff",
		"Bearer " + sign(jwt.SigningMethodHS256, []byte(fuzzJWTSecret), jwt.MapClaims{"sub": "alice", "exp": exp}),
		"Bearer " + sign(jwt.SigningMethodHS512, []byte(fuzzJWTSecret), jwt.MapClaims{"sub": "bob", "exp": exp, "iss": "https://issuer.example", "aud": []string{"mcp"}}),
		"Bearer " + sign(jwt.SigningMethodHS256, []byte(fuzzJWTSecret), jwt.MapClaims{"sub": "late", "exp": now.Add(-time.Hour).Unix()}),
		"Bearer " + sign(jwt.SigningMethodHS256, []byte(fuzzJWTSecret), jwt.MapClaims{"sub": 42, "exp": exp}),
		"Bearer " + sign(jwt.SigningMethodHS256, []byte("not-the-secret-not-the-secret-000"), jwt.MapClaims{"sub": "mallory", "exp": exp}),
		"Bearer " + sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"sub": "none", "exp": exp}),
		"Bearer " + sign(jwt.SigningMethodHS256, []byte(fuzzJWTSecret), jwt.MapClaims{"sub": "alice", "exp": exp, "nbf": now.Add(time.Hour).Unix()}),
		"Bearer " + sign(jwt.SigningMethodHS256, []byte(fuzzJWTSecret), jwt.MapClaims{"sub": "  demo-user \t", "exp": exp}),
		"Bearer " + sign(jwt.SigningMethodHS256, []byte(fuzzJWTSecret), jwt.MapClaims{"sub": "demo\x00user", "exp": exp}),
		"Bearer " + critToken(f, fuzzJWTSecret, jwt.MapClaims{"sub": "alice", "exp": exp}),
	} {
		f.Add(h)
	}
	a, err := NewJWTAuth(context.Background(), JWTConfig{Secret: []byte(fuzzJWTSecret), Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("POST", "/mcp", nil)
		r.Header["Authorization"] = []string{header}
		user, err := a.Authenticate(r)
		if err != nil {
			var ae *AuthError
			if !errors.As(err, &ae) {
				t.Fatalf("%T is not an *AuthError", err)
			}
			tok := strings.TrimSpace(strings.TrimPrefix(header, "Bearer "))
			msg := err.Error()
			if strings.Contains(msg, fuzzJWTSecret) || (len(tok) >= 8 && strings.Contains(msg, tok)) {
				t.Fatalf("the error shows a credential: %q", msg)
			}
			return
		}
		raw, ok := strings.CutPrefix(header, "Bearer ")
		if !ok && !strings.HasPrefix(strings.ToLower(header), "bearer ") {
			t.Fatalf("accepted %q without the Bearer scheme", header)
		}
		if !ok {
			raw = header[len("bearer "):]
		}
		claims := jwt.MapClaims{}
		tok, perr := jwt.NewParser(jwt.WithValidMethods([]string{"HS256", "HS384", "HS512"}), jwt.WithTimeFunc(func() time.Time { return now }), jwt.WithExpirationRequired()).
			ParseWithClaims(strings.TrimSpace(raw), claims, func(*jwt.Token) (any, error) { return []byte(fuzzJWTSecret), nil })
		if perr != nil {
			t.Fatalf("accepted a token the reference parser refuses: %v", perr)
		}
		if sub, _ := claims["sub"].(string); sub != user || CheckUserID(user) != nil {
			t.Fatalf("user %q for claims %v", user, claims)
		}
		if _, crit := tok.Header["crit"]; crit {
			t.Fatalf("accepted a token with a crit header: %v", tok.Header)
		}
	})
}

// critToken signs claims with a crit header.
func critToken(f *testing.F, secret string, claims jwt.MapClaims) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["crit"] = []string{"exp"}
	s, err := tok.SignedString([]byte(secret))
	if err != nil {
		f.Fatal(err)
	}
	return s
}

// FuzzAPIKeys: any keys file either loads or fails with a problem that never
// quotes a key; a loaded file authenticates each of its raw keys as its user
// (and a key's hex digest entry likewise), and refuses everything else.
func FuzzAPIKeys(f *testing.F) {
	digest := sha256.Sum256([]byte("hashed-key-0123456789"))
	for _, s := range []string{
		"key-aaaaaaaaaaaaaaaa: alice\nkey-bbbbbbbbbbbbbbbb: bob\n",
		"sha256:" + hex.EncodeToString(digest[:]) + ": carol\n",
		"short: alice\n", "key-aaaaaaaaaaaaaaaa: \"\"\n", "- a\n- b\n", "key-aaaaaaaaaaaaaaaa: [x]\n", "{", "",
		"key-aaaaaaaaaaaaaaaa: alice\nkey-aaaaaaaaaaaaaaaa: bob\n", "sha256:ABC: dave\n",
		"key-aaaaaaaaaaaaaaaa: \" alice\"\n", "key-aaaaaaaaaaaaaaaa: \"al\\0ice\"\n",
	} {
		f.Add([]byte(s), "key-aaaaaaaaaaaaaaaa")
	}
	f.Add([]byte("sha256:"+hex.EncodeToString(digest[:])+": carol\n"), "hashed-key-0123456789")
	f.Fuzz(func(t *testing.T, data []byte, probe string) {
		keys, err := parseAPIKeys(data)
		doc := yamlPairs(data)
		if err != nil {
			for k := range doc {
				if len(k) >= minAPIKeyLen && strings.Contains(err.Error(), k) && !valueIs(doc, k) {
					t.Fatalf("the problem quotes a key: %v", err)
				}
			}
			return
		}
		a := &APIKeys{}
		a.set.Store(&keys)
		auth := func(tok string) (string, error) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			return a.Authenticate(r)
		}
		for k, user := range doc {
			if strings.HasPrefix(k, "sha256:") || strings.TrimSpace(k) != k || k == "" {
				continue
			}
			if got, err := auth(k); err != nil || got != user || CheckUserID(got) != nil {
				t.Fatalf("key %q: user %q, %v; want %q", k, got, err, user)
			}
		}
		d := sha256.Sum256([]byte(strings.TrimSpace(probe)))
		want := ""
		for k, user := range doc {
			hexd, isDigest := strings.CutPrefix(k, "sha256:")
			if (isDigest && hexd == hex.EncodeToString(d[:])) || (!isDigest && k == strings.TrimSpace(probe)) {
				want = user
			}
		}
		got, err := auth(probe)
		if strings.TrimSpace(probe) == "" || strings.ContainsAny(probe, "\r\n\x00") {
			return // not a header value a client can send
		}
		if got != want || (want == "") != (err != nil) {
			t.Fatalf("probe %q: user %q (%v), want %q", probe, got, err, want)
		}
		if err != nil && len(strings.TrimSpace(probe)) >= 8 && strings.Contains(err.Error(), strings.TrimSpace(probe)) {
			t.Fatalf("the error shows the key: %v", err)
		}
	})
}

// yamlPairs returns the scalar key: value pairs of a top-level YAML map, as
// written (parseAPIKeys reads the same text).
func yamlPairs(data []byte) map[string]string {
	out := map[string]string{}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return out
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Kind == yaml.ScalarNode && m.Content[i+1].Kind == yaml.ScalarNode {
			out[m.Content[i].Value] = m.Content[i+1].Value
		}
	}
	return out
}

// valueIs reports whether some value of doc contains the text k (a problem
// may name a user, which is a value).
func valueIs(doc map[string]string, k string) bool {
	for _, v := range doc {
		if strings.Contains(v, k) {
			return true
		}
	}
	return false
}

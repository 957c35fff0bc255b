package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

const testSecret = "0123456789abcdef0123456789abcdef"

func bearerRequest(token string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return r
}

func signHS(t *testing.T, secret string, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// authCode returns the RFC 6750 code of err, or "ok".
func authCode(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return "ok"
	}
	var ae *AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an *AuthError", err)
	}
	if ae.Code == "" {
		return "none"
	}
	return ae.Code
}

func TestJWTAuthHS256(t *testing.T) {
	t.Parallel()
	now := time.Now()
	exp := now.Add(time.Hour).Unix()
	cases := []struct {
		name     string
		cfg      JWTConfig
		header   string // raw Authorization header; overrides token
		token    func(t *testing.T) string
		wantUser string
		wantCode string
	}{
		{name: "valid", token: func(t *testing.T) string {
			return signHS(t, testSecret, jwt.MapClaims{"sub": "alice", "exp": exp})
		}, wantUser: "alice", wantCode: "ok"},
		{name: "no credentials", token: func(*testing.T) string { return "" }, wantCode: "none"},
		{name: "basic scheme", header: "Basic YWxpY2U6cHc=", wantCode: authInvalidRequest},
		{name: "empty bearer", header: "Bearer   ", wantCode: authInvalidRequest},
		{name: "garbage", token: func(*testing.T) string { return "not.a.jwt" }, wantCode: authInvalidToken},
		{name: "bad signature", token: func(t *testing.T) string {
			return signHS(t, "another-secret-another-secret-xx", jwt.MapClaims{"sub": "alice", "exp": exp})
		}, wantCode: authInvalidToken},
		{name: "expired", token: func(t *testing.T) string {
			return signHS(t, testSecret, jwt.MapClaims{"sub": "alice", "exp": now.Add(-2 * time.Minute).Unix()})
		}, wantCode: authInvalidToken},
		{name: "expired within leeway", token: func(t *testing.T) string {
			return signHS(t, testSecret, jwt.MapClaims{"sub": "alice", "exp": now.Add(-10 * time.Second).Unix()})
		}, wantUser: "alice", wantCode: "ok"},
		{name: "no exp", token: func(t *testing.T) string {
			return signHS(t, testSecret, jwt.MapClaims{"sub": "alice"})
		}, wantCode: authInvalidToken},
		{name: "not yet valid", token: func(t *testing.T) string {
			return signHS(t, testSecret, jwt.MapClaims{"sub": "alice", "exp": exp, "nbf": now.Add(5 * time.Minute).Unix()})
		}, wantCode: authInvalidToken},
		{name: "nbf within leeway", token: func(t *testing.T) string {
			return signHS(t, testSecret, jwt.MapClaims{"sub": "alice", "exp": exp, "nbf": now.Add(10 * time.Second).Unix()})
		}, wantUser: "alice", wantCode: "ok"},
		{name: "issued in the future", token: func(t *testing.T) string {
			return signHS(t, testSecret, jwt.MapClaims{"sub": "alice", "exp": exp, "iat": now.Add(5 * time.Minute).Unix()})
		}, wantCode: authInvalidToken},
		{name: "no sub", token: func(t *testing.T) string {
			return signHS(t, testSecret, jwt.MapClaims{"exp": exp})
		}, wantCode: authInvalidToken},
		{name: "numeric sub", token: func(t *testing.T) string {
			return signHS(t, testSecret, jwt.MapClaims{"sub": 42, "exp": exp})
		}, wantCode: authInvalidToken},
		{name: "alg none", token: func(t *testing.T) string {
			s, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "alice", "exp": exp}).SignedString(jwt.UnsafeAllowNoneSignatureType)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, wantCode: authInvalidToken},
		{name: "custom user claim", cfg: JWTConfig{UserClaim: "external_user_id"}, token: func(t *testing.T) string {
			return signHS(t, testSecret, jwt.MapClaims{"sub": "svc", "external_user_id": "bob", "exp": exp})
		}, wantUser: "bob", wantCode: "ok"},
		{name: "audience required and present", cfg: JWTConfig{Audience: "pd-mcp"}, token: func(t *testing.T) string {
			return signHS(t, testSecret, jwt.MapClaims{"sub": "alice", "exp": exp, "aud": []string{"other", "pd-mcp"}})
		}, wantUser: "alice", wantCode: "ok"},
		{name: "wrong audience", cfg: JWTConfig{Audience: "pd-mcp"}, token: func(t *testing.T) string {
			return signHS(t, testSecret, jwt.MapClaims{"sub": "alice", "exp": exp, "aud": "other"})
		}, wantCode: authInvalidToken},
		{name: "audience missing", cfg: JWTConfig{Audience: "pd-mcp"}, token: func(t *testing.T) string {
			return signHS(t, testSecret, jwt.MapClaims{"sub": "alice", "exp": exp})
		}, wantCode: authInvalidToken},
		{name: "issuer matches", cfg: JWTConfig{Issuer: "https://auth.example.com"}, token: func(t *testing.T) string {
			return signHS(t, testSecret, jwt.MapClaims{"sub": "alice", "exp": exp, "iss": "https://auth.example.com"})
		}, wantUser: "alice", wantCode: "ok"},
		{name: "wrong issuer", cfg: JWTConfig{Issuer: "https://auth.example.com"}, token: func(t *testing.T) string {
			return signHS(t, testSecret, jwt.MapClaims{"sub": "alice", "exp": exp, "iss": "https://evil.example.com"})
		}, wantCode: authInvalidToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.cfg
			cfg.Secret = []byte(testSecret)
			a, err := NewJWTAuth(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			r := bearerRequest("")
			token := ""
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			} else {
				token = tc.token(t)
				r = bearerRequest(token)
			}
			user, err := a.Authenticate(r)
			if got := authCode(t, err); got != tc.wantCode {
				t.Fatalf("code = %s (err %v), want %s", got, err, tc.wantCode)
			}
			if user != tc.wantUser {
				t.Errorf("user = %q, want %q", user, tc.wantUser)
			}
			if err != nil && token != "" && strings.Contains(err.Error(), token) {
				t.Errorf("the error repeats the token: %v", err)
			}
		})
	}
}

// jwksServer serves a JWK Set that tests can rotate, counting fetches.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []jwkset.JWKMarshal
	fetches atomic.Int32
	failing atomic.Bool // answer 500
}

func newJWKSServer(t *testing.T) *jwksServer {
	t.Helper()
	js := &jwksServer{}
	js.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		js.fetches.Add(1)
		if js.failing.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		js.mu.Lock()
		defer js.mu.Unlock()
		_ = json.NewEncoder(w).Encode(jwkset.JWKSMarshal{Keys: js.keys})
	}))
	t.Cleanup(js.Close)
	return js
}

func (js *jwksServer) add(t *testing.T, pub any, kid string, alg jwkset.ALG) {
	t.Helper()
	jwk, err := jwkset.NewJWKFromKey(pub, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid, ALG: alg, USE: jwkset.UseSig}})
	if err != nil {
		t.Fatal(err)
	}
	js.mu.Lock()
	js.keys = append(js.keys, jwk.Marshal())
	js.mu.Unlock()
}

func signWith(t *testing.T, m jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestJWTAuthJWKS(t *testing.T) {
	t.Parallel()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	js := newJWKSServer(t)
	js.add(t, &rsaKey.PublicKey, "rsa1", jwkset.AlgRS256)
	js.add(t, &ecKey.PublicKey, "ec1", jwkset.AlgES256)

	a, err := NewJWTAuth(t.Context(), JWTConfig{JWKSURL: js.URL})
	if err != nil {
		t.Fatal(err)
	}
	claims := func(sub string) jwt.MapClaims {
		return jwt.MapClaims{"sub": sub, "exp": time.Now().Add(time.Hour).Unix()}
	}
	check := func(name, token, wantUser string) {
		t.Helper()
		user, err := a.Authenticate(bearerRequest(token))
		if wantUser == "" {
			if err == nil {
				t.Errorf("%s: accepted as %q, want refused", name, user)
			}
			return
		}
		if err != nil || user != wantUser {
			t.Errorf("%s: user %q, err %v; want %q", name, user, err, wantUser)
		}
	}
	check("RS256", signWith(t, jwt.SigningMethodRS256, rsaKey, "rsa1", claims("alice")), "alice")
	check("ES256", signWith(t, jwt.SigningMethodES256, ecKey, "ec1", claims("bob")), "bob")
	check("unknown signer with a known kid", signWith(t, jwt.SigningMethodRS256, stranger, "rsa1", claims("mallory")), "")

	// Algorithm confusion: an HMAC token "signed" with the public key must
	// not verify when only the JWKS is configured.
	pubDER, _ := json.Marshal(js.keys[0])
	check("HS256 with public key material", signWith(t, jwt.SigningMethodHS256, pubDER, "rsa1", claims("mallory")), "")

	// A rotated key unknown at start is found by refreshing the set.
	before := js.fetches.Load()
	js.add(t, &rotated.PublicKey, "rsa2", jwkset.AlgRS256)
	check("rotated key", signWith(t, jwt.SigningMethodRS256, rotated, "rsa2", claims("carol")), "carol")
	if js.fetches.Load() == before {
		t.Error("an unknown kid did not refresh the JWKS")
	}
}

func TestJWTAuthNeedsAKey(t *testing.T) {
	t.Parallel()
	if _, err := NewJWTAuth(t.Context(), JWTConfig{}); err == nil {
		t.Fatal("NewJWTAuth without secret or JWKS URL succeeded")
	}
}

func writeKeys(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	const rawA = "key-for-alice-0123456789"
	const rawB = "key-for-bob-0123456789ab"
	sumB := sha256.Sum256([]byte(rawB))
	path := filepath.Join(t.TempDir(), "keys.yaml")
	writeKeys(t, path, rawA+": alice\nsha256:"+hex.EncodeToString(sumB[:])+": bob\n")
	k, err := LoadAPIKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		token, wantUser, wantCode string
	}{
		{rawA, "alice", "ok"},
		{rawB, "bob", "ok"},
		{"sha256:" + hex.EncodeToString(sumB[:]), "", authInvalidToken}, // the digest is not the key
		{"key-for-nobody-0123456789", "", authInvalidToken},
		{"", "", "none"},
	}
	for _, tc := range cases {
		user, err := k.Authenticate(bearerRequest(tc.token))
		if got := authCode(t, err); got != tc.wantCode || user != tc.wantUser {
			t.Errorf("key %q: user %q code %s; want %q %s", tc.token, user, got, tc.wantUser, tc.wantCode)
		}
	}

	// Reload swaps the keys; an invalid file keeps the old ones.
	writeKeys(t, path, rawB+": bob\n")
	if err := k.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Authenticate(bearerRequest(rawA)); err == nil {
		t.Error("a key removed from the file still works after Reload")
	}
	writeKeys(t, path, "short: bob\n")
	if err := k.Reload(); err == nil {
		t.Error("Reload accepted an invalid file")
	}
	if user, err := k.Authenticate(bearerRequest(rawB)); err != nil || user != "bob" {
		t.Errorf("after a failed reload: user %q err %v; want the previous keys", user, err)
	}
}

func TestParseAPIKeysErrors(t *testing.T) {
	t.Parallel()
	const secretish = "s3cr3t-s3cr3t-s3cr3t"
	cases := []struct {
		name, doc, want string
	}{
		{"empty", "", "not valid YAML"},
		{"not a map", "- a\n- b\n", "expected a YAML map"},
		{"no keys", "{}\n", "no keys"},
		{"short key", "abc: alice\n", "shorter than 16"},
		{"bad hex", "sha256:xyz: alice\n", "64 lower-case hex"},
		{"upper-case hex", "sha256:" + strings.ToUpper(strings.Repeat("ab", 32)) + ": alice\n", "64 lower-case hex"},
		{"empty user", secretish + ": ''\n", "external user ID"},
		{"nested", secretish + ":\n  a: b\n", "key: external_user_id"},
		{"duplicate via digest", secretish + ": alice\nsha256:" + func() string { s := sha256.Sum256([]byte(secretish)); return hex.EncodeToString(s[:]) }() + ": bob\n", "listed twice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseAPIKeys([]byte(tc.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secretish) {
				t.Errorf("error %q repeats a key", err)
			}
		})
	}
}

func TestStaticUser(t *testing.T) {
	t.Parallel()
	r := bearerRequest("whatever")
	if u, err := StaticUser("demo").Authenticate(r); err != nil || u != "demo" {
		t.Errorf("StaticUser = %q, %v", u, err)
	}
	if _, err := StaticUser("").Authenticate(r); err == nil {
		t.Error("an empty StaticUser authenticated a request")
	}
}

// authDescription returns the description of an *AuthError ("" for nil).
func authDescription(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var ae *AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an *AuthError", err)
	}
	return ae.Description
}

// TestJWTProblemNamesTheClaim: a refused token is told which claim is missing
// or wrong (aud, iss, exp), not "no exp claim" for all of them.
func TestJWTProblemNamesTheClaim(t *testing.T) {
	t.Parallel()
	exp := time.Now().Add(time.Hour).Unix()
	const iss, aud = "https://auth.example.com", "pd-mcp"
	cases := []struct {
		name     string
		cfg      JWTConfig
		claims   jwt.MapClaims
		want     []string
		dontWant []string
	}{
		{"aud missing", JWTConfig{Audience: aud}, jwt.MapClaims{"sub": "alice", "exp": exp},
			[]string{"no aud claim"}, []string{"exp", "iss"}},
		{"empty aud", JWTConfig{Audience: aud}, jwt.MapClaims{"sub": "alice", "exp": exp, "aud": ""},
			[]string{"no aud claim"}, []string{"exp"}},
		{"iss missing", JWTConfig{Issuer: iss}, jwt.MapClaims{"sub": "alice", "exp": exp},
			[]string{"no iss claim"}, []string{"exp", "aud"}},
		{"exp missing", JWTConfig{}, jwt.MapClaims{"sub": "alice"},
			[]string{"no exp claim"}, []string{"aud", "iss"}},
		{"exp and aud missing", JWTConfig{Audience: aud}, jwt.MapClaims{"sub": "alice"},
			[]string{"exp", "aud"}, []string{"iss"}},
		{"all three missing", JWTConfig{Audience: aud, Issuer: iss}, jwt.MapClaims{"sub": "alice"},
			[]string{"exp", "aud", "iss"}, nil},
		{"wrong aud", JWTConfig{Audience: aud}, jwt.MapClaims{"sub": "alice", "exp": exp, "aud": "other"},
			[]string{"aud claim", aud}, []string{"other", "exp"}},
		{"wrong iss", JWTConfig{Issuer: iss}, jwt.MapClaims{"sub": "alice", "exp": exp, "iss": "https://evil.example.com"},
			[]string{"iss claim", iss}, []string{"evil", "exp"}},
		{"wrong iss and aud", JWTConfig{Issuer: iss, Audience: aud}, jwt.MapClaims{"sub": "alice", "exp": exp, "iss": "x", "aud": "y"},
			[]string{"iss claim", "aud claim"}, nil},
		{"expired", JWTConfig{Audience: aud}, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(-time.Hour).Unix(), "aud": aud},
			[]string{"expired"}, []string{"aud"}},
		{"aud of the wrong type", JWTConfig{Audience: aud}, jwt.MapClaims{"sub": "alice", "exp": exp, "aud": 42},
			[]string{"aud"}, nil},
		{"exp of the wrong type", JWTConfig{}, jwt.MapClaims{"sub": "alice", "exp": "tomorrow"},
			[]string{"exp"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.cfg
			cfg.Secret = []byte(testSecret)
			a, err := NewJWTAuth(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = a.Authenticate(bearerRequest(signHS(t, testSecret, tc.claims)))
			if authCode(t, err) != authInvalidToken {
				t.Fatalf("err %v, want invalid_token", err)
			}
			desc := authDescription(t, err)
			for _, w := range tc.want {
				if !strings.Contains(desc, w) {
					t.Errorf("description %q does not name %q", desc, w)
				}
			}
			for _, w := range tc.dontWant {
				if strings.Contains(desc, w) {
					t.Errorf("description %q names %q", desc, w)
				}
			}
		})
	}
}

// TestJWTUserIDTakenAsIs: the user claim is used exactly as written or the
// token is refused (never trimmed), and a token with a crit header is refused.
func TestJWTUserIDTakenAsIs(t *testing.T) {
	t.Parallel()
	exp := time.Now().Add(time.Hour).Unix()
	withHeader := func(h map[string]any, claims jwt.MapClaims) func(t *testing.T) string {
		return func(t *testing.T) string {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
			for k, v := range h {
				tok.Header[k] = v
			}
			s, err := tok.SignedString([]byte(testSecret))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	sub := func(s string) func(t *testing.T) string {
		return withHeader(nil, jwt.MapClaims{"sub": s, "exp": exp})
	}
	cases := []struct {
		name     string
		cfg      JWTConfig
		token    func(t *testing.T) string
		wantUser string
		want     string // in the description when refused
	}{
		{name: "plain", token: sub("demo-user"), wantUser: "demo-user"},
		{name: "inner space and non-ASCII", token: sub("Zoë O'Brien"), wantUser: "Zoë O'Brien"},
		{name: "surrounding whitespace", token: sub("  demo-user \t"), want: "whitespace"},
		{name: "leading space", token: sub(" demo-user"), want: "whitespace"},
		{name: "trailing newline", token: sub("demo-user\n"), want: "whitespace"},
		{name: "trailing no-break space", token: sub("demo-user\u00a0"), want: "whitespace"},
		{name: "NUL inside", token: sub("demo\x00user"), want: "control character"},
		{name: "escape inside", token: sub("demo\x1b[31muser"), want: "control character"},
		{name: "DEL", token: sub("demo\x7fuser"), want: "control character"},
		{name: "C1 control", token: sub("demo\u0085user"), want: "control character"},
		{name: "only whitespace", token: sub(" \t "), want: "whitespace"},
		{name: "custom claim named", cfg: JWTConfig{UserClaim: "uid"}, token: withHeader(nil, jwt.MapClaims{"uid": "bob\x00", "exp": exp}), want: `"uid"`},
		{name: "crit header", token: withHeader(map[string]any{"crit": []string{"exp"}, "exp": exp}, jwt.MapClaims{"sub": "alice", "exp": exp}), want: "crit"},
		{name: "empty crit header", token: withHeader(map[string]any{"crit": []string{}}, jwt.MapClaims{"sub": "alice", "exp": exp}), want: "crit"},
		{name: "crit of the wrong type", token: withHeader(map[string]any{"crit": "b64"}, jwt.MapClaims{"sub": "alice", "exp": exp}), want: "crit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.cfg
			cfg.Secret = []byte(testSecret)
			a, err := NewJWTAuth(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			user, err := a.Authenticate(bearerRequest(tc.token(t)))
			if tc.want == "" {
				if err != nil || user != tc.wantUser {
					t.Fatalf("user %q, err %v; want %q", user, err, tc.wantUser)
				}
				return
			}
			if authCode(t, err) != authInvalidToken || user != "" {
				t.Fatalf("user %q, err %v; want invalid_token", user, err)
			}
			if desc := authDescription(t, err); !strings.Contains(desc, tc.want) {
				t.Errorf("description %q does not mention %q", desc, tc.want)
			}
		})
	}
}

// TestAPIKeysUserIDs: a keys file mapping a key to a user ID with control
// characters or surrounding whitespace does not load; the problem names the
// line and never the key.
func TestAPIKeysUserIDs(t *testing.T) {
	t.Parallel()
	const key = "s3cr3t-s3cr3t-s3cr3t"
	cases := []struct {
		name, doc, want string
	}{
		{"leading space", "other-key-0123456789: alice\n" + key + `: " bob"` + "\n", "line 2"},
		{"trailing tab", key + `: "bob\t"` + "\n", "line 1"},
		{"NUL", key + `: "b\0ob"` + "\n", "control character"},
		{"newline inside", key + `: "b\nob"` + "\n", "control character"},
		{"escape", key + `: "b\eob"` + "\n", "control character"},
		{"only spaces", key + `: "   "` + "\n", "whitespace"},
		{"too long", key + ": " + strings.Repeat("u", maxUserIDLen+1) + "\n", "1 to 250"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseAPIKeys([]byte(tc.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "external user ID") {
				t.Errorf("error %q does not mention %q and the external user ID", err, tc.want)
			}
			if strings.Contains(err.Error(), key) {
				t.Errorf("error %q repeats the key", err)
			}
		})
	}
	// Inner spaces and non-ASCII are fine.
	keys, err := parseAPIKeys([]byte(key + `: "Zoë O'Brien"` + "\n"))
	if err != nil || len(keys) != 1 || keys[0].user != "Zoë O'Brien" {
		t.Errorf("parse = %+v, %v", keys, err)
	}
}

func TestStaticUserIDs(t *testing.T) {
	t.Parallel()
	for _, u := range []StaticUser{" demo", "demo\t", "de\x00mo"} {
		if _, err := u.Authenticate(bearerRequest("")); err == nil {
			t.Errorf("StaticUser %q authenticated a request", u)
		}
		if CheckUserID(string(u)) == nil {
			t.Errorf("CheckUserID(%q) = nil", u)
		}
	}
	if err := CheckUserID("demo-user"); err != nil {
		t.Errorf("CheckUserID(demo-user) = %v", err)
	}
}

// TestJWKSRedirectRefused: the default JWKS client follows no redirect, so a
// key set served behind a redirect to another origin never verifies a token.
func TestJWKSRedirectRefused(t *testing.T) {
	t.Parallel()
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	elsewhere := newJWKSServer(t)
	elsewhere.add(t, &ecKey.PublicKey, "ec1", jwkset.AlgES256)
	redirect := httptest.NewServer(http.RedirectHandler(elsewhere.URL, http.StatusFound))
	t.Cleanup(redirect.Close)

	a, err := NewJWTAuth(t.Context(), JWTConfig{JWKSURL: redirect.URL})
	if err != nil {
		t.Fatal(err)
	}
	tok := signWith(t, jwt.SigningMethodES256, ecKey, "ec1", jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
	if user, err := a.Authenticate(bearerRequest(tok)); err == nil {
		t.Errorf("accepted as %q with keys from behind a redirect", user)
	}
	if a.RefreshKeys(t.Context()) == nil {
		t.Error("RefreshKeys followed the redirect")
	}
	if n := elsewhere.fetches.Load(); n != 0 {
		t.Errorf("the other origin was asked for its keys %d times", n)
	}
}

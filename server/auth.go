package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"go.yaml.in/yaml/v3"
	"golang.org/x/time/rate"
)

// Authenticator decides who the end user of an HTTP request is. It runs before
// any MCP processing, on every request.
type Authenticator interface {
	// Authenticate returns the external user ID r acts for, or an error
	// (preferably an *AuthError) that becomes HTTP 401.
	Authenticate(r *http.Request) (string, error)
}

// AuthError is an authentication failure. Its fields are safe to show to the
// client: they never contain the credential.
type AuthError struct {
	// Code is the RFC 6750 error code: "" when the request carried no
	// credentials at all, "invalid_request" for a malformed Authorization
	// header, "invalid_token" for a credential that was refused.
	Code string
	// Description says what was wrong, e.g. "token expired".
	Description string
}

// Error returns the code and description.
func (e *AuthError) Error() string {
	if e.Code == "" {
		return e.Description
	}
	return e.Code + ": " + e.Description
}

// Error codes of RFC 6750 section 3.1.
const (
	authInvalidRequest = "invalid_request"
	authInvalidToken   = "invalid_token"
)

// maxUserIDLen is Connect's limit on external user IDs.
const maxUserIDLen = 250

// bearerToken returns the token of an "Authorization: Bearer <token>" header.
func bearerToken(r *http.Request) (string, *AuthError) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", &AuthError{Description: "authentication required: send Authorization: Bearer <token>"}
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", &AuthError{Code: authInvalidRequest, Description: "the Authorization header must use the Bearer scheme"}
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", &AuthError{Code: authInvalidRequest, Description: "the Bearer token is empty"}
	}
	return tok, nil
}

// StaticUser authenticates every request as one user (--auth none, accepted
// only on loopback addresses). Authorization headers are ignored.
type StaticUser string

// Authenticate returns the static user.
func (u StaticUser) Authenticate(*http.Request) (string, error) {
	if u == "" {
		return "", &AuthError{Description: "no end user is configured for --auth none (set --external-user-id)"}
	}
	return string(u), nil
}

// JWTConfig configures JWTAuth.
type JWTConfig struct {
	// Secret verifies HS256/HS384/HS512 tokens; nil disables them.
	Secret []byte
	// JWKSURL is fetched for RS256/RS384/RS512/PS256/ES256/ES384 keys; "" disables
	// them. The set is cached, refreshed hourly and when a token names an
	// unknown kid (at most once a minute).
	JWKSURL string
	// Issuer, when set, must equal the token's iss.
	Issuer string
	// Audience, when set, must be among the token's aud.
	Audience string
	// UserClaim names the claim holding the external user ID (default "sub").
	UserClaim string
	// Leeway is the clock skew allowed on exp, nbf and iat (default 30s).
	Leeway time.Duration
	// HTTPClient fetches the JWKS (default: a client with a 10s timeout).
	HTTPClient *http.Client
	// Logger receives JWKS refresh failures.
	Logger *slog.Logger
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// JWTAuth verifies "Authorization: Bearer <JWT>" and takes the end user from a
// claim. exp is required; nbf and iat are honoured with a small leeway.
type JWTAuth struct {
	cfg     JWTConfig
	jwks    keyfunc.Keyfunc
	methods []string
	parser  *jwt.Parser
}

var (
	hmacMethods = []string{"HS256", "HS384", "HS512"}
	jwksMethods = []string{"RS256", "RS384", "RS512", "PS256", "ES256", "ES384"}
)

// NewJWTAuth builds a JWT authenticator. With a JWKS URL it fetches the key set
// once (an unreachable URL is logged, not fatal: tokens are refused until a
// fetch succeeds); ctx ends the background refresh.
func NewJWTAuth(ctx context.Context, cfg JWTConfig) (*JWTAuth, error) {
	if len(cfg.Secret) == 0 && cfg.JWKSURL == "" {
		return nil, errors.New("server: JWT authentication needs a secret or a JWKS URL")
	}
	if cfg.UserClaim == "" {
		cfg.UserClaim = "sub"
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	a := &JWTAuth{cfg: cfg}
	if len(cfg.Secret) > 0 {
		a.methods = append(a.methods, hmacMethods...)
	}
	if cfg.JWKSURL != "" {
		log := cfg.Logger
		kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
			Client:            cfg.HTTPClient,
			HTTPTimeout:       10 * time.Second,
			RefreshInterval:   time.Hour,
			RefreshUnknownKID: rate.NewLimiter(rate.Every(time.Minute), 1),
			RateLimitWaitMax:  5 * time.Second,
			RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
				return func(_ context.Context, err error) {
					log.Warn("fetching the JWKS failed; tokens signed with unknown keys are refused", "jwks_url", u, "err", err)
				}
			},
		})
		if err != nil {
			return nil, fmt.Errorf("server: JWKS %s: %w", cfg.JWKSURL, err)
		}
		a.jwks = kf
		a.methods = append(a.methods, jwksMethods...)
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(a.methods),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
	}
	if cfg.Now != nil {
		opts = append(opts, jwt.WithTimeFunc(cfg.Now))
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	a.parser = jwt.NewParser(opts...)
	return a, nil
}

// Authenticate verifies the bearer JWT and returns the user claim.
func (a *JWTAuth) Authenticate(r *http.Request) (string, error) {
	raw, aerr := bearerToken(r)
	if aerr != nil {
		return "", aerr
	}
	claims := jwt.MapClaims{}
	_, err := a.parser.ParseWithClaims(raw, claims, a.keyFor(r.Context()))
	if err != nil {
		return "", &AuthError{Code: authInvalidToken, Description: jwtProblem(err)}
	}
	user, ok := claims[a.cfg.UserClaim].(string)
	user = strings.TrimSpace(user)
	if !ok || user == "" {
		return "", &AuthError{Code: authInvalidToken, Description: fmt.Sprintf("the token has no %q claim with the user ID", a.cfg.UserClaim)}
	}
	if len(user) > maxUserIDLen {
		return "", &AuthError{Code: authInvalidToken, Description: fmt.Sprintf("the %q claim is longer than %d characters", a.cfg.UserClaim, maxUserIDLen)}
	}
	return user, nil
}

// keyFor picks the verification key by the token's algorithm, so an HMAC
// secret can never verify a token meant for a public key or the reverse.
func (a *JWTAuth) keyFor(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		alg := t.Method.Alg()
		switch {
		case slices.Contains(hmacMethods, alg) && len(a.cfg.Secret) > 0:
			return a.cfg.Secret, nil
		case slices.Contains(jwksMethods, alg) && a.jwks != nil:
			return a.jwks.KeyfuncCtx(ctx)(t)
		}
		return nil, fmt.Errorf("%w: algorithm %s is not accepted", jwt.ErrTokenUnverifiable, alg)
	}
}

// jwtProblem turns a jwt parse error into a short description for the client.
func jwtProblem(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "the token is not a well-formed JWT"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "the token signature is invalid"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "the token cannot be verified (unknown key or algorithm)"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "the token has no exp claim"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "the token has expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "the token is not valid yet (nbf)"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "the token was issued in the future (iat)"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "the token is not for this audience"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "the token is from another issuer"
	}
	return "the token was refused"
}

// APIKeys authenticates static API keys sent as "Authorization: Bearer <key>".
// The file is a YAML map of key to external user ID; a key may be written
// "sha256:<lower-case hex SHA-256 of the raw key>" so the file holds no
// secrets. Keys are compared as SHA-256 digests in constant time.
type APIKeys struct {
	path string
	mu   sync.Mutex // serialises reloads
	set  atomic.Pointer[[]apiKey]
}

type apiKey struct {
	digest [sha256.Size]byte
	user   string
}

// minAPIKeyLen is the shortest raw key accepted in the file.
const minAPIKeyLen = 16

// LoadAPIKeys reads the API key file.
func LoadAPIKeys(path string) (*APIKeys, error) {
	k := &APIKeys{path: path}
	if err := k.Reload(); err != nil {
		return nil, err
	}
	return k, nil
}

// Reload re-reads the file (on SIGHUP). When the file is invalid the keys
// loaded before stay in force and the error says why.
func (k *APIKeys) Reload() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	data, err := os.ReadFile(k.path)
	if err != nil {
		return fmt.Errorf("api keys file: %w", err)
	}
	keys, err := parseAPIKeys(data)
	if err != nil {
		return fmt.Errorf("api keys file %s: %w", k.path, err)
	}
	k.set.Store(&keys)
	return nil
}

// Len reports how many keys are loaded.
func (k *APIKeys) Len() int { return len(*k.set.Load()) }

// parseAPIKeys parses the YAML map. Errors name the user, never the key.
func parseAPIKeys(data []byte) ([]apiKey, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("not valid YAML: %v", yamlProblem(err))
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("expected a YAML map of API key to external user ID")
	}
	m := doc.Content[0]
	var keys []apiKey
	var problems []string
	seen := map[[sha256.Size]byte]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		kn, vn := m.Content[i], m.Content[i+1]
		line := kn.Line
		if kn.Kind != yaml.ScalarNode || vn.Kind != yaml.ScalarNode {
			problems = append(problems, fmt.Sprintf("line %d: each entry must be `key: external_user_id`", line))
			continue
		}
		user := strings.TrimSpace(vn.Value)
		if user == "" || len(user) > maxUserIDLen {
			problems = append(problems, fmt.Sprintf("line %d: the external user ID must be 1 to %d characters", line, maxUserIDLen))
			continue
		}
		var d [sha256.Size]byte
		if hexDigest, ok := strings.CutPrefix(kn.Value, "sha256:"); ok {
			b, err := hex.DecodeString(hexDigest)
			if err != nil || len(b) != sha256.Size || hexDigest != strings.ToLower(hexDigest) {
				problems = append(problems, fmt.Sprintf("line %d (user %q): a sha256: key must be 64 lower-case hex digits", line, user))
				continue
			}
			copy(d[:], b)
		} else {
			if len(kn.Value) < minAPIKeyLen {
				problems = append(problems, fmt.Sprintf("line %d (user %q): the key is shorter than %d characters; use a long random key (e.g. openssl rand -hex 32)", line, user, minAPIKeyLen))
				continue
			}
			d = sha256.Sum256([]byte(kn.Value))
		}
		if seen[d] {
			problems = append(problems, fmt.Sprintf("line %d (user %q): the same key is listed twice", line, user))
			continue
		}
		seen[d] = true
		keys = append(keys, apiKey{digest: d, user: user})
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	if len(keys) == 0 {
		return nil, errors.New("no keys")
	}
	return keys, nil
}

// yamlProblem keeps a YAML error's line information but not the document text
// it may quote (which could be a key).
func yamlProblem(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		rest := msg[i:]
		if j := strings.Index(rest, ":"); j > 0 {
			return rest[:j]
		}
	}
	return "syntax error"
}

// Authenticate looks the bearer key up. Every loaded key is compared, so the
// time taken does not depend on which key (if any) matched.
func (k *APIKeys) Authenticate(r *http.Request) (string, error) {
	raw, aerr := bearerToken(r)
	if aerr != nil {
		return "", aerr
	}
	d := sha256.Sum256([]byte(raw))
	user := ""
	for _, key := range *k.set.Load() {
		if subtle.ConstantTimeCompare(d[:], key.digest[:]) == 1 {
			user = key.user
		}
	}
	if user == "" {
		return "", &AuthError{Code: authInvalidToken, Description: "unknown API key"}
	}
	return user, nil
}

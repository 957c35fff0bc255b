package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/MicahParks/jwkset"
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
	if err := CheckUserID(string(u)); err != nil {
		return "", &AuthError{Description: fmt.Sprintf("the end user configured for --auth none (--external-user-id) %v", err)}
	}
	return string(u), nil
}

// JWTConfig configures JWTAuth.
type JWTConfig struct {
	// Secret verifies HS256/HS384/HS512 tokens; nil disables them.
	// JWTAuth.SetSecret replaces it while serving.
	Secret []byte
	// JWKSURL is fetched for RS256/RS384/RS512/PS256/ES256/ES384 keys; "" disables
	// them. The set is cached, refreshed hourly and when a token names an
	// unknown kid (at most once a minute); JWTAuth.RefreshKeys refreshes it
	// at once.
	JWKSURL string
	// Issuer, when set, must equal the token's iss.
	Issuer string
	// Audience, when set, must be among the token's aud.
	Audience string
	// UserClaim names the claim holding the external user ID (default "sub").
	UserClaim string
	// Leeway is the clock skew allowed on exp, nbf and iat (default 30s).
	Leeway time.Duration
	// HTTPClient fetches the JWKS (default: a client with a 10s timeout that
	// follows no redirect).
	HTTPClient *http.Client
	// Logger receives JWKS refresh failures.
	Logger *slog.Logger
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// JWTAuth verifies "Authorization: Bearer <JWT>" and takes the end user from a
// claim. exp is required; nbf and iat are honoured with a small leeway. Its
// HMAC secret can be replaced (SetSecret) and its JWKS cache refreshed
// (RefreshKeys) while it serves.
type JWTAuth struct {
	cfg    JWTConfig
	secret atomic.Pointer[[]byte] // the HMAC secret; empty: HMAC tokens are refused
	jwks   keyfunc.Keyfunc        // nil without a JWKS URL
	keys   *jwkset.MemoryJWKSet   // the JWKS cache behind jwks
	parser *jwt.Parser
}

var (
	hmacMethods = []string{"HS256", "HS384", "HS512"}
	jwksMethods = []string{"RS256", "RS384", "RS512", "PS256", "ES256", "ES384"}
)

// JWKS fetching.
const (
	jwksTimeout         = 10 * time.Second
	jwksRefreshInterval = time.Hour
	jwksUnknownKIDEvery = time.Minute // at most one refresh for unknown kids per interval
	jwksRateLimitWait   = 5 * time.Second
	maxJWKSBytes        = 1 << 20
)

// errCritHeader refuses tokens with a crit header: this server implements no
// JWS extension, and RFC 7515 section 4.1.11 says a token naming extensions
// the recipient does not understand is invalid.
var errCritHeader = errors.New("the token has a crit header; this server understands no JWS extensions")

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
		cfg.HTTPClient = &http.Client{Timeout: jwksTimeout, CheckRedirect: refuseRedirects}
	}
	a := &JWTAuth{cfg: cfg}
	secret := bytes.Clone(cfg.Secret)
	a.secret.Store(&secret)
	if cfg.JWKSURL != "" {
		if err := a.startJWKS(ctx); err != nil {
			return nil, fmt.Errorf("server: JWKS %s: %w", cfg.JWKSURL, err)
		}
	}
	// Every algorithm either key kind verifies is let through to keyFor,
	// which refuses those with no key configured (SetSecret may add one).
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(slices.Concat(hmacMethods, jwksMethods)),
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

// startJWKS sets up the JWKS cache: fetched now, refreshed hourly and when a
// token names an unknown kid (rate limited), until ctx ends. keyfunc's
// defaults are assembled by hand to keep the cache (a.keys) for RefreshKeys.
func (a *JWTAuth) startJWKS(ctx context.Context) error {
	log, u := a.cfg.Logger, a.cfg.JWKSURL
	a.keys = jwkset.NewMemoryStorage()
	remote, err := jwkset.NewStorageFromHTTP(u, jwkset.HTTPClientStorageOptions{
		Client:                    a.cfg.HTTPClient,
		Ctx:                       ctx,
		HTTPTimeout:               jwksTimeout,
		NoErrorReturnFirstHTTPReq: true,
		RefreshErrorHandler: func(_ context.Context, err error) {
			log.Warn("fetching the JWKS failed; tokens signed with unknown keys are refused", "jwks_url", u, "err", err)
		},
		RefreshInterval: jwksRefreshInterval,
		Storage:         a.keys,
	})
	if err != nil {
		return err
	}
	storage, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs:          map[string]jwkset.Storage{u: remote},
		RateLimitWaitMax:  jwksRateLimitWait,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(jwksUnknownKIDEvery), 1),
	})
	if err != nil {
		return err
	}
	a.jwks, err = keyfunc.New(keyfunc.Options{Ctx: ctx, Storage: storage})
	return err
}

// SetSecret replaces the HMAC secret (e.g. on SIGHUP); requests authenticated
// after it returns use the new one, and it is safe while requests
// authenticate. The slice is copied. An empty secret turns HMAC tokens off,
// which is refused when there is no JWKS: then no token could verify, and the
// secret in force stays.
func (a *JWTAuth) SetSecret(secret []byte) error {
	if len(secret) == 0 && a.jwks == nil {
		return errors.New("server: JWT authentication needs a secret or a JWKS URL; the secret in force stays")
	}
	s := bytes.Clone(secret)
	a.secret.Store(&s)
	return nil
}

// RefreshKeys fetches the JWKS now and replaces the cached keys with it (e.g.
// on SIGHUP, so a revoked key stops verifying at once). When the fetch fails
// or the set has no usable key, the keys cached before stay in force and the
// error says why. Without a JWKS URL it does nothing.
func (a *JWTAuth) RefreshKeys(ctx context.Context) error {
	if a.keys == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, jwksTimeout)
	defer cancel()
	keys, err := fetchJWKS(ctx, a.cfg.HTTPClient, a.cfg.JWKSURL)
	if err != nil {
		return fmt.Errorf("server: JWKS %s: %w; the keys loaded before stay in force", a.cfg.JWKSURL, err)
	}
	if err := a.keys.KeyReplaceAll(ctx, keys); err != nil {
		return fmt.Errorf("server: JWKS %s: storing the keys: %w", a.cfg.JWKSURL, err)
	}
	return nil
}

// fetchJWKS fetches and parses a JWK Set (at most maxJWKSBytes), skipping the
// keys of kinds jwkset does not support, as its own refresh does.
func fetchJWKS(ctx context.Context, client *http.Client, u string) ([]jwkset.JWK, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP status %d", resp.StatusCode)
	}
	var set jwkset.JWKSMarshal
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJWKSBytes)).Decode(&set); err != nil {
		return nil, fmt.Errorf("not a JWK Set of at most %d bytes: %w", maxJWKSBytes, err)
	}
	keys := make([]jwkset.JWK, 0, len(set.Keys))
	for _, m := range set.Keys {
		jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{Private: true}, jwkset.JWKValidateOptions{})
		switch {
		case errors.Is(err, jwkset.ErrUnsupportedKey):
			continue
		case err != nil:
			return nil, fmt.Errorf("key %q: %w", m.KID, err)
		}
		keys = append(keys, jwk)
	}
	if len(keys) == 0 {
		return nil, errors.New("the set has no usable key")
	}
	return keys, nil
}

// Authenticate verifies the bearer JWT and returns the user claim, exactly as
// written (see CheckUserID).
func (a *JWTAuth) Authenticate(r *http.Request) (string, error) {
	raw, aerr := bearerToken(r)
	if aerr != nil {
		return "", aerr
	}
	claims := jwt.MapClaims{}
	_, err := a.parser.ParseWithClaims(raw, claims, a.keyFor(r.Context()))
	if err != nil {
		return "", &AuthError{Code: authInvalidToken, Description: a.problem(err, claims)}
	}
	user, ok := claims[a.cfg.UserClaim].(string)
	if !ok || user == "" {
		return "", &AuthError{Code: authInvalidToken, Description: fmt.Sprintf("the token has no %q claim with the user ID", a.cfg.UserClaim)}
	}
	if err := CheckUserID(user); err != nil {
		return "", &AuthError{Code: authInvalidToken, Description: fmt.Sprintf("the %q claim (the user ID) %v", a.cfg.UserClaim, err)}
	}
	return user, nil
}

// keyFor picks the verification key by the token's algorithm, so an HMAC
// secret can never verify a token meant for a public key or the reverse. It
// refuses tokens with a crit header before any key is looked up.
func (a *JWTAuth) keyFor(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		if _, ok := t.Header["crit"]; ok {
			return nil, errCritHeader
		}
		alg := t.Method.Alg()
		switch {
		case slices.Contains(hmacMethods, alg):
			if secret := *a.secret.Load(); len(secret) > 0 {
				return secret, nil
			}
		case slices.Contains(jwksMethods, alg) && a.jwks != nil:
			return a.jwks.KeyfuncCtx(ctx)(t)
		}
		return nil, fmt.Errorf("%w: algorithm %s is not accepted", jwt.ErrTokenUnverifiable, alg)
	}
}

// problem turns a jwt parse error into a short description for the client,
// naming the claims at fault when the signature verified but the claims did
// not. claims are the token's claims as decoded (when they could be).
func (a *JWTAuth) problem(err error, claims jwt.MapClaims) string {
	switch {
	case errors.Is(err, errCritHeader):
		return errCritHeader.Error()
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "the token is not a well-formed JWT"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "the token signature is invalid"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "the token cannot be verified (unknown key or algorithm)"
	case errors.Is(err, jwt.ErrTokenInvalidClaims):
		if problems := a.claimProblems(err, claims); len(problems) > 0 {
			return strings.Join(problems, "; ")
		}
		return "the token's claims were refused"
	}
	return "the token was refused"
}

// claimProblems describes each registered claim the validator refused:
// missing (exp always, aud and iss when configured), of the wrong type, or
// with a value that does not pass.
func (a *JWTAuth) claimProblems(err error, claims jwt.MapClaims) []string {
	var out []string
	add := func(p string) {
		if p != "" {
			out = append(out, p)
		}
	}
	exp, expErr := claims.GetExpirationTime()
	add(timeClaimProblem("exp", exp, expErr, true, errors.Is(err, jwt.ErrTokenExpired), "the token has expired"))
	nbf, nbfErr := claims.GetNotBefore()
	add(timeClaimProblem("nbf", nbf, nbfErr, false, errors.Is(err, jwt.ErrTokenNotValidYet), "the token is not valid yet (nbf)"))
	iat, iatErr := claims.GetIssuedAt()
	add(timeClaimProblem("iat", iat, iatErr, false, errors.Is(err, jwt.ErrTokenUsedBeforeIssued), "the token was issued in the future (iat)"))
	if a.cfg.Audience != "" {
		aud, audErr := claims.GetAudience()
		missing := len(aud) == 0 || len(aud) == 1 && aud[0] == ""
		add(claimProblem("aud", audErr, missing, errors.Is(err, jwt.ErrTokenInvalidAudience),
			fmt.Sprintf("the token's aud claim does not include %q", a.cfg.Audience)))
	}
	if a.cfg.Issuer != "" {
		iss, issErr := claims.GetIssuer()
		add(claimProblem("iss", issErr, iss == "", errors.Is(err, jwt.ErrTokenInvalidIssuer),
			fmt.Sprintf("the token's iss claim is not %q", a.cfg.Issuer)))
	}
	return out
}

// timeClaimProblem describes a refused time claim ("" when it passed).
func timeClaimProblem(name string, v *jwt.NumericDate, getErr error, required, refused bool, refusal string) string {
	return claimProblem(name, getErr, required && v == nil, refused, refusal)
}

// claimProblem describes a refused claim: of the wrong type, missing though
// required, or refused for its value ("" when none of these).
func claimProblem(name string, getErr error, missing, refused bool, refusal string) string {
	switch {
	case getErr != nil:
		return fmt.Sprintf("the token's %s claim has the wrong type", name)
	case missing:
		return fmt.Sprintf("the token has no %s claim", name)
	case refused:
		return refusal
	}
	return ""
}

// Errors of CheckUserID. Each completes a sentence about the user ID.
var (
	errUserIDLength  = fmt.Errorf("must be 1 to %d bytes long", maxUserIDLen)
	errUserIDSpace   = errors.New("starts or ends with whitespace (user IDs are used exactly as written)")
	errUserIDControl = errors.New("contains a control character")
	errUserIDNotUTF8 = errors.New("is not valid UTF-8")
)

// CheckUserID reports whether id can be an external user ID as it is: 1 to
// 250 bytes of UTF-8, with no control character (unicode.IsControl) and no
// leading or trailing whitespace. IDs are never trimmed or cleaned, since an
// altered ID would name another user. The error completes a sentence whose
// subject is the ID, e.g. fmt.Errorf("--external-user-id %w", err).
func CheckUserID(id string) error {
	switch {
	case id == "" || len(id) > maxUserIDLen:
		return errUserIDLength
	case !utf8.ValidString(id):
		return errUserIDNotUTF8
	case strings.TrimSpace(id) != id:
		return errUserIDSpace
	case strings.ContainsFunc(id, unicode.IsControl):
		return errUserIDControl
	}
	return nil
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
		user := vn.Value
		if err := CheckUserID(user); err != nil {
			problems = append(problems, fmt.Sprintf("line %d: the external user ID %v", line, err))
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

// refuseRedirects is the redirect policy of the default JWKS client: the key
// set is read from the configured URL only.
func refuseRedirects(req *http.Request, _ []*http.Request) error {
	return fmt.Errorf("server: the JWKS URL redirected to %s://%s; refusing", req.URL.Scheme, req.URL.Host)
}

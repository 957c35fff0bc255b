package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
)

// The tests below cover what SIGHUP reloads in this package: the JWT HMAC
// secret, the JWKS cache and the TLS certificate.

// TestJWTAuthSetSecret swaps the HMAC secret while requests authenticate
// (run with -race): afterwards the old secret's tokens are refused and the new
// one's accepted; an empty secret is refused when it is the only key.
func TestJWTAuthSetSecret(t *testing.T) {
	t.Parallel()
	const oldSecret, newSecret = testSecret, "fedcba9876543210fedcba9876543210"
	a, err := NewJWTAuth(t.Context(), JWTConfig{Secret: []byte(oldSecret)})
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}
	oldTok, newTok := signHS(t, oldSecret, claims), signHS(t, newSecret, claims)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for i := range 8 {
		wg.Go(func() {
			tok := oldTok
			if i%2 == 1 {
				tok = newTok
			}
			for {
				select {
				case <-stop:
					return
				default:
				}
				user, err := a.Authenticate(bearerRequest(tok))
				if code := authCode(t, err); (code != "ok" || user != "alice") && code != authInvalidToken {
					errs <- "unexpected outcome " + code + " for " + user
					return
				}
			}
		})
	}
	secret := []byte(newSecret)
	for range 50 {
		if err := a.SetSecret([]byte(oldSecret)); err != nil {
			t.Fatal(err)
		}
		if err := a.SetSecret(secret); err != nil {
			t.Fatal(err)
		}
	}
	secret[0] = 'X' // the caller's slice is not kept
	close(stop)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}

	if _, err := a.Authenticate(bearerRequest(oldTok)); err == nil {
		t.Error("a token signed with the old secret is accepted after the swap")
	}
	if user, err := a.Authenticate(bearerRequest(newTok)); err != nil || user != "alice" {
		t.Errorf("a token signed with the new secret: user %q, err %v", user, err)
	}
	if err := a.SetSecret(nil); err == nil {
		t.Error("SetSecret(nil) accepted without a JWKS")
	}
	if user, err := a.Authenticate(bearerRequest(newTok)); err != nil || user != "alice" {
		t.Errorf("after a refused SetSecret: user %q, err %v; want the secret in force", user, err)
	}
}

// TestJWTAuthSetSecretWithJWKS: with a JWKS, a secret can be added to and
// removed from an authenticator started without one.
func TestJWTAuthSetSecretWithJWKS(t *testing.T) {
	t.Parallel()
	js := newJWKSServer(t)
	a, err := NewJWTAuth(t.Context(), JWTConfig{JWKSURL: js.URL})
	if err != nil {
		t.Fatal(err)
	}
	tok := signHS(t, testSecret, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
	if _, err := a.Authenticate(bearerRequest(tok)); err == nil {
		t.Fatal("an HS256 token is accepted with no secret")
	}
	if err := a.SetSecret([]byte(testSecret)); err != nil {
		t.Fatal(err)
	}
	if user, err := a.Authenticate(bearerRequest(tok)); err != nil || user != "alice" {
		t.Errorf("after SetSecret: user %q, err %v", user, err)
	}
	if err := a.SetSecret(nil); err != nil {
		t.Fatalf("removing the secret with a JWKS: %v", err)
	}
	if _, err := a.Authenticate(bearerRequest(tok)); err == nil {
		t.Error("an HS256 token is accepted after the secret was removed")
	}
}

// TestJWTAuthRefreshKeys: RefreshKeys fetches the JWKS now, so a key removed
// from the set stops verifying at once; a failed fetch keeps the keys.
func TestJWTAuthRefreshKeys(t *testing.T) {
	t.Parallel()
	k1, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	js := newJWKSServer(t)
	js.add(t, &k1.PublicKey, "k1", jwkset.AlgRS256)
	a, err := NewJWTAuth(t.Context(), JWTConfig{JWKSURL: js.URL})
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}
	tok1 := signWith(t, jwt.SigningMethodRS256, k1, "k1", claims)
	if _, err := a.Authenticate(bearerRequest(tok1)); err != nil {
		t.Fatalf("k1 before the rotation: %v", err)
	}

	// Rotate: k1 revoked, k2 added.
	js.mu.Lock()
	js.keys = nil
	js.mu.Unlock()
	js.add(t, &k2.PublicKey, "k2", jwkset.AlgES256)
	if _, err := a.Authenticate(bearerRequest(tok1)); err != nil {
		t.Fatalf("k1 from the cache before RefreshKeys: %v", err)
	}
	before := js.fetches.Load()
	if err := a.RefreshKeys(t.Context()); err != nil {
		t.Fatal(err)
	}
	if js.fetches.Load() == before {
		t.Error("RefreshKeys did not fetch the JWKS")
	}
	if _, err := a.Authenticate(bearerRequest(tok1)); err == nil {
		t.Error("a key removed from the JWKS still verifies after RefreshKeys")
	}
	tok2 := signWith(t, jwt.SigningMethodES256, k2, "k2", claims)
	if user, err := a.Authenticate(bearerRequest(tok2)); err != nil || user != "alice" {
		t.Errorf("k2 after RefreshKeys: user %q, err %v", user, err)
	}

	// A failing or empty JWKS leaves the keys in force.
	js.failing.Store(true)
	if err := a.RefreshKeys(t.Context()); err == nil {
		t.Error("RefreshKeys succeeded against a failing JWKS")
	}
	js.failing.Store(false)
	js.mu.Lock()
	js.keys = nil
	js.mu.Unlock()
	if err := a.RefreshKeys(t.Context()); err == nil {
		t.Error("RefreshKeys accepted an empty JWKS")
	}
	if user, err := a.Authenticate(bearerRequest(tok2)); err != nil || user != "alice" {
		t.Errorf("k2 after failed refreshes: user %q, err %v; want the keys kept", user, err)
	}

	// Without a JWKS there is nothing to refresh.
	hs, err := NewJWTAuth(t.Context(), JWTConfig{Secret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	if err := hs.RefreshKeys(t.Context()); err != nil {
		t.Errorf("RefreshKeys without a JWKS: %v", err)
	}
}

// testCert is a self-signed certificate for 127.0.0.1 written to files.
type testCert struct {
	certFile, keyFile string
	leaf              *x509.Certificate
}

// writeTestCert makes a certificate with the given serial number and writes
// it and its key to dir (overwriting the files of an earlier one).
func writeTestCert(t *testing.T, dir string, serial int64) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := testCert{certFile: filepath.Join(dir, "cert.pem"), keyFile: filepath.Join(dir, "key.pem"), leaf: must(x509.ParseCertificate(der))}
	if err := os.WriteFile(c.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// servedSerial makes a new TLS handshake with addr and returns the serial
// number of the certificate served.
func servedSerial(t *testing.T, addr string, roots *x509.CertPool) int64 {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// TestCertReloader: after Reload a new TLS handshake gets the new
// certificate; a failed reload keeps the old one and says why.
func TestCertReloader(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := writeTestCert(t, dir, 1)
	rl, err := NewCertReloader(first.certFile, first.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewCertReloader(first.certFile, filepath.Join(dir, "missing.pem")); err == nil {
		t.Error("NewCertReloader with a missing key file succeeded")
	}

	ft := &fakeTools{}
	ft.ready.Store(true)
	s := New(ft, Options{})
	h, err := s.NewHTTPHandler(HTTPOptions{Transport: "http", Auth: testAuth, Identity: testIdentity})
	if err != nil {
		t.Fatal(err)
	}
	ln := mustListen(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, h, ServeOptions{TLS: rl}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve = %v", err)
		}
	}()

	roots := x509.NewCertPool()
	roots.AddCert(first.leaf)
	if got := servedSerial(t, ln.Addr().String(), roots); got != 1 {
		t.Fatalf("served certificate %d, want 1", got)
	}
	second := writeTestCert(t, dir, 2)
	roots.AddCert(second.leaf)
	if err := rl.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := servedSerial(t, ln.Addr().String(), roots); got != 2 {
		t.Errorf("served certificate %d after Reload, want 2", got)
	}
	// A broken key file: the reload fails and the certificate in force stays.
	if err := os.WriteFile(second.keyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := rl.Reload(); err == nil {
		t.Error("Reload accepted a broken key file")
	}
	if got := servedSerial(t, ln.Addr().String(), roots); got != 2 {
		t.Errorf("served certificate %d after a failed Reload, want 2", got)
	}
}

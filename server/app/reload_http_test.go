package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pipedream-mcp/pipedream-mcp/server/app/config"
)

// writeCert writes a fresh self-signed certificate for 127.0.0.1 with the
// common name cn to certFile and keyFile.
func writeCert(t *testing.T, cn, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  nil,
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})))
}

// TestReloadJWTSecretAndTLSCertificate: SIGHUP reloads the JWT secret file and
// the TLS certificate files of a running HTTP server: tokens signed with the
// old secret are refused afterwards, the new secret's accepted, and a new TLS
// handshake gets the new certificate. A broken certificate file keeps the old
// one serving.
func TestReloadJWTSecretAndTLSCertificate(t *testing.T) {
	t.Parallel()
	bin := builtBinary(t)
	dir := t.TempDir()
	secretFile, certFile, keyFile := filepath.Join(dir, "jwt"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	const secretA, secretB = "reload-secret-A-0123456789abcdef0123456789", "reload-secret-B-0123456789abcdef0123456789"
	writeFile(t, secretFile, secretA+"\n")
	writeCert(t, "cert-A", certFile, keyFile)
	if err := os.Chmod(secretFile, 0o600); err != nil {
		t.Fatal(err)
	}

	port := freePort(t)
	base := "https://127.0.0.1:" + port
	log := &syncBuffer{}
	cmd := exec.Command(bin, "--sandbox", "--transport", "http", "--addr", "127.0.0.1:"+port, "--auth", "jwt",
		"--tls-cert", certFile, "--tls-key", keyFile)
	cmd.Env = cleanEnv(config.EnvJWTSecretFile + "=" + secretFile)
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("server log:\n%s", log.String())
		}
	})

	var served *x509.Certificate
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		// A new connection per request, so each one sees the certificate in force.
		DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, VerifyConnection: func(cs tls.ConnectionState) error {
			served = cs.PeerCertificates[0]
			return nil
		}},
	}}
	waitFor(t, func() bool { // polled: a child process, and its port is all it offers
		resp, err := hc.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, "the server to serve /healthz over TLS")

	token := func(secret string) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"sub": "demo-user", "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(),
		}).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	status := func(secret string) int {
		body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + mcp.LATEST_LEGACY_PROTOCOL_VERSION + `","capabilities":{},"clientInfo":{"name":"reload","version":"1"}}}`
		req, _ := http.NewRequest(http.MethodPost, base+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", "Bearer "+token(secret))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if a, b := status(secretA), status(secretB); a != http.StatusOK || b != http.StatusUnauthorized {
		t.Fatalf("before the reload: secret A -> %d, secret B -> %d; want 200 and 401", a, b)
	}
	if served.Subject.CommonName != "cert-A" {
		t.Fatalf("served certificate %q, want cert-A", served.Subject.CommonName)
	}

	hup := func() string {
		from := log.Len()
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		awaitLog(t, log, "the reload", func(l string) bool { return strings.Contains(l[from:], "configuration reloaded") })
		return log.String()[from:]
	}
	writeFile(t, secretFile, secretB+"\n")
	writeCert(t, "cert-B", certFile, keyFile)
	out := hup()
	if strings.Contains(out, "restart") {
		t.Errorf("the reload asked for a restart:\n%s", out)
	}
	if a, b := status(secretA), status(secretB); a != http.StatusUnauthorized || b != http.StatusOK {
		t.Errorf("after the reload: secret A -> %d, secret B -> %d; want 401 and 200", a, b)
	}
	if served.Subject.CommonName != "cert-B" {
		t.Errorf("served certificate %q after the reload, want cert-B", served.Subject.CommonName)
	}

	// A broken key file: the reload says so and cert-B keeps serving.
	writeFile(t, keyFile, "not a key")
	out = hup()
	if !strings.Contains(out, "TLS certificate") || !strings.Contains(out, "reload failed") {
		t.Errorf("a broken key file was not reported:\n%s", out)
	}
	if status(secretB) != http.StatusOK || served.Subject.CommonName != "cert-B" {
		t.Errorf("after a broken reload: served %q, want cert-B still", served.Subject.CommonName)
	}
	for _, secret := range []string{secretA, secretB} {
		if strings.Contains(log.String(), secret) {
			t.Errorf("the log shows a JWT secret")
		}
	}
}

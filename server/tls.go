package server

import (
	"crypto/tls"
	"fmt"
	"sync"
	"sync/atomic"
)

// CertReloader holds the TLS certificate Serve presents, read from a
// certificate and a key file (PEM), and re-reads them on Reload (e.g. on
// SIGHUP): each new TLS handshake gets the certificate in force at that
// moment, and connections already open keep theirs.
type CertReloader struct {
	certFile, keyFile string
	mu                sync.Mutex // serialises reloads
	cert              atomic.Pointer[tls.Certificate]
}

// NewCertReloader loads the certificate and key files.
func NewCertReloader(certFile, keyFile string) (*CertReloader, error) {
	c := &CertReloader{certFile: certFile, keyFile: keyFile}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload re-reads the certificate and key files. When they do not load (a
// missing file, a key that does not match the certificate, ...) the
// certificate in force stays and the error says why.
func (c *CertReloader) Reload() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("server: TLS certificate %s / key %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert.Store(&cert)
	return nil
}

// GetCertificate returns the certificate in force; it is the
// tls.Config.GetCertificate of the servers using c.
func (c *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cert.Load(), nil
}

// tlsConfig is the server TLS configuration presenting c's certificate.
func (c *CertReloader) tlsConfig() *tls.Config {
	return &tls.Config{GetCertificate: c.GetCertificate, MinVersion: tls.VersionTLS12}
}

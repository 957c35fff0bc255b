package pdtest

// This file owns Server: a Fake (or a WorkflowHost) served on a real address.

import (
	"errors"
	"net"
	"net/http"
	"time"
)

// Server is a Fake listening on a real address.
type Server struct {
	// URL is the base URL, "http://host:port", without a trailing slash.
	URL string

	srv  *http.Server
	done chan struct{}
}

// Start serves the fake on addr (e.g. "127.0.0.1:0" for a free port) until
// Close.
func (f *Fake) Start(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{
		URL:  "http://" + ln.Addr().String(),
		srv:  &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Close stops the server at once, closing open connections.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

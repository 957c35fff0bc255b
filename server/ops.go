package server

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// mountPprof serves net/http/pprof under /debug/pprof/ on mux: the index,
// every named profile (heap, goroutine, allocs, block, mutex,
// threadcreate), a CPU profile (/debug/pprof/profile?seconds=N), an
// execution trace (/debug/pprof/trace) and symbols. The command line is left
// out: it may hold secrets given as flags.
func mountPprof(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/debug/pprof/cmdline" {
			http.NotFound(w, r)
			return
		}
		pprof.Index(w, r)
	})
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}

// OpsOptions configure NewOpsHandler.
type OpsOptions struct {
	// Metrics, when set, is served at GET /metrics.
	Metrics http.Handler
	// Pprof serves /debug/pprof/.
	Pprof bool
}

// NewOpsHandler is the handler of the operations listener (--metrics-addr):
// GET /metrics, /debug/pprof/ with Pprof, and GET /healthz. It has no
// authentication; bind it where only the scraper reaches it.
func NewOpsHandler(opts OpsOptions) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	if opts.Metrics != nil {
		mux.Handle("GET /metrics", opts.Metrics)
	}
	if opts.Pprof {
		mountPprof(mux)
	}
	return mux
}

// ServeOps serves h (NewOpsHandler) on ln until ctx ends, then closes it
// within a few seconds and returns nil.
func (s *Server) ServeOps(ctx context.Context, ln net.Listener, h http.Handler) error {
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		// No WriteTimeout: a CPU profile or trace streams for as long as it
		// was asked to.
		ErrorLog: log.New(slogDebugWriter{s.log}, "", 0),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("server: operations listener: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		_ = hs.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: operations listener: %w", err)
	}
	return nil
}

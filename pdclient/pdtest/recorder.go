package pdtest

// This file owns Recorder: a Fake served with a log of every request it
// received, readable over HTTP, for tests that share one fake among several
// processes (the scale-out test's replicas and the `sandbox-api` command).

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// RequestRecord is one request a Recorder's fake received.
type RequestRecord struct {
	At     time.Time `json:"at"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	// App is the app query parameter ("" when none): whose catalog a listing read.
	App string `json:"app,omitempty"`
	// Registry is the registry query parameter of a listing ("" when none).
	Registry string `json:"registry,omitempty"`
	// Body is the body of an actions/run request (other bodies are not kept).
	Body string `json:"body,omitempty"`
	// Status is the answer's status (0: none, e.g. a run whose caller went
	// away before it executed).
	Status int `json:"status"`
}

// Recorder is an http.Handler serving a Fake and logging its requests.
type Recorder struct {
	fake *Fake
	mu   sync.Mutex
	log  []RequestRecord
}

// NewRecorder returns a Recorder in front of f.
func NewRecorder(f *Fake) *Recorder { return &Recorder{fake: f} }

// ServeHTTP records r and serves it with the fake.
func (rec *Recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	entry := RequestRecord{At: time.Now(), Method: r.Method, Path: r.URL.Path, App: r.URL.Query().Get("app"), Registry: r.URL.Query().Get("registry")}
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/actions/run") {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err == nil {
			entry.Body = string(body)
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
	}
	sw := &statusRecorder{ResponseWriter: w} // workflows.go
	rec.fake.ServeHTTP(sw, r)
	entry.Status = sw.status
	rec.mu.Lock()
	rec.log = append(rec.log, entry)
	rec.mu.Unlock()
}

// Requests returns the log, oldest first.
func (rec *Recorder) Requests() []RequestRecord {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]RequestRecord(nil), rec.log...)
}

// InspectHandler serves, for tests in other processes: GET /requests (the
// log as JSON) and POST /accounts (an Account as JSON, added to the fake).
func (rec *Recorder) InspectHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /requests", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, rec.Requests())
	})
	mux.HandleFunc("POST /accounts", func(w http.ResponseWriter, r *http.Request) {
		var a Account
		if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
			writeError(w, http.StatusBadRequest, "the body is not an Account")
			return
		}
		writeJSON(w, http.StatusOK, rec.fake.AddAccount(a))
	})
	return mux
}

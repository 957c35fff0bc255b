package server

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the server's Prometheus series, in a registry of their own
// with the Go runtime's and the process's. Its methods are the observers of
// the tool set (Call, CatalogLoad) and of the upstream API clients (Request,
// Retry, Cache, TokenRefresh), which they satisfy structurally: the
// composition root hands it to both. A nil *Metrics records nothing.
//
// Series (labels in braces):
//
//	pipedream_mcp_tool_calls_total{connection,tool,status}
//	pipedream_mcp_tool_call_duration_seconds{connection,tool}      histogram
//	pipedream_mcp_upstream_requests_total{endpoint,code}           code "none": no answer
//	pipedream_mcp_upstream_request_duration_seconds{endpoint}      histogram
//	pipedream_mcp_upstream_retries_total{endpoint}
//	pipedream_mcp_cache_lookups_total{cache,result}                result hit|miss
//	pipedream_mcp_catalog_loads_total{connection,result}           result success|failure
//	pipedream_mcp_token_refreshes_total{result}                    result success|failure
//	pipedream_mcp_active_sessions
//	pipedream_mcp_tasks_running, pipedream_mcp_tasks_kept
//
// No series is labelled with a user, an account or anything a caller sends
// but the name of a tool the server serves.
type Metrics struct {
	reg         *prometheus.Registry
	calls       *prometheus.CounterVec
	callSeconds *prometheus.HistogramVec
	requests    *prometheus.CounterVec
	reqSeconds  *prometheus.HistogramVec
	retries     *prometheus.CounterVec
	cache       *prometheus.CounterVec
	loads       *prometheus.CounterVec
	tokens      *prometheus.CounterVec

	mu       sync.Mutex
	sessions map[*sessionSource]struct{}
	tasks    func() (running, kept int) // nil: no server yet
}

// sessionSource counts the open sessions of one transport.
type sessionSource struct{ count func() int }

const namespace = "pipedream_mcp"

// NewMetrics builds the registry and its series.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), sessions: map[*sessionSource]struct{}{}}
	m.calls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "tool_calls_total",
		Help: "Tool calls by connection (empty for workflows and server-wide helpers), tool as called and result status.",
	}, []string{"connection", "tool", "status"})
	m.callSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "tool_call_duration_seconds",
		Help:    "Duration of tool calls, by connection and tool.",
		Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120},
	}, []string{"connection", "tool"})
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "upstream_requests_total",
		Help: "HTTP requests to the upstream API by endpoint (as the client names it: actions, actions/run, accounts, components/configure, token, workflow, ...) and status code (\"none\" when no answer came).",
	}, []string{"endpoint", "code"})
	m.reqSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "upstream_request_duration_seconds",
		Help:    "Duration of HTTP requests to the upstream API until the answer's headers, by endpoint.",
		Buckets: []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120},
	}, []string{"endpoint"})
	m.retries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "upstream_retries_total",
		Help: "Requests to the upstream API sent again after a failed attempt, by endpoint.",
	}, []string{"endpoint"})
	m.cache = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "cache_lookups_total",
		Help: "Lookups of the upstream API client's caches (actions, accounts, apps, directory) by result (hit or miss).",
	}, []string{"cache", "result"})
	m.loads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "catalog_loads_total",
		Help: "Loads of a connection's action catalog by result (success or failure).",
	}, []string{"connection", "result"})
	m.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "token_refreshes_total",
		Help: "Requests for an upstream API access token by result (success or failure).",
	}, []string{"result"})
	sessions := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Name: "active_sessions",
		Help: "Open MCP sessions (Streamable HTTP and SSE sessions; 1 while stdio serves).",
	}, m.countSessions)
	tasksRunning := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Name: "tasks_running",
		Help: "MCP tasks whose tool call is still running.",
	}, func() float64 { running, _ := m.countTasks(); return float64(running) })
	tasksKept := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Name: "tasks_kept",
		Help: "MCP tasks kept, running or ended (until their lifetime ends).",
	}, func() float64 { _, kept := m.countTasks(); return float64(kept) })
	m.reg.MustRegister(m.calls, m.callSeconds, m.requests, m.reqSeconds, m.retries, m.cache, m.loads, m.tokens, sessions, tasksRunning, tasksKept,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the series in the Prometheus text format (or OpenMetrics,
// when asked for).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// Registry is the registry the series are in, for more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Call counts a finished tool call (tools.Observer).
func (m *Metrics) Call(connection, tool, status string, d time.Duration) {
	if m == nil {
		return
	}
	m.calls.WithLabelValues(connection, tool, status).Inc()
	m.callSeconds.WithLabelValues(connection, tool).Observe(d.Seconds())
}

// CatalogLoad counts a catalog load (tools.Observer).
func (m *Metrics) CatalogLoad(connection string, ok bool) {
	if m == nil {
		return
	}
	m.loads.WithLabelValues(connection, outcome(ok)).Inc()
}

// Request counts an HTTP request to the upstream API (pdclient.Observer).
func (m *Metrics) Request(endpoint string, code int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(endpoint, codeLabel(code)).Inc()
	m.reqSeconds.WithLabelValues(endpoint).Observe(d.Seconds())
}

// Retry counts a retried request (pdclient.Observer).
func (m *Metrics) Retry(endpoint string) {
	if m == nil {
		return
	}
	m.retries.WithLabelValues(endpoint).Inc()
}

// Cache counts a cache lookup (pdclient.Observer).
func (m *Metrics) Cache(kind string, hit bool) {
	if m == nil {
		return
	}
	result := "miss"
	if hit {
		result = "hit"
	}
	m.cache.WithLabelValues(kind, result).Inc()
}

// TokenRefresh counts an access token request (pdclient.Observer).
func (m *Metrics) TokenRefresh(ok bool) {
	if m == nil {
		return
	}
	m.tokens.WithLabelValues(outcome(ok)).Inc()
}

// addSessions adds a count of open sessions to the active sessions gauge
// until the returned function is called.
func (m *Metrics) addSessions(count func() int) (remove func()) {
	if m == nil {
		return func() {}
	}
	src := &sessionSource{count: count}
	m.mu.Lock()
	m.sessions[src] = struct{}{}
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		delete(m.sessions, src)
		m.mu.Unlock()
	}
}

// setTasks makes count the source of the task gauges.
func (m *Metrics) setTasks(count func() (running, kept int)) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.tasks = count
	m.mu.Unlock()
}

func (m *Metrics) countTasks() (running, kept int) {
	m.mu.Lock()
	count := m.tasks
	m.mu.Unlock()
	if count == nil {
		return 0, 0
	}
	return count()
}

func (m *Metrics) countSessions() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for src := range m.sessions {
		n += src.count()
	}
	return float64(n)
}

func outcome(ok bool) string {
	if ok {
		return "success"
	}
	return "failure"
}

// codeLabel is the code label of a status code: the number, or "none" when
// no answer came (0).
func codeLabel(code int) string {
	switch code {
	case 0:
		return "none"
	case 200:
		return "200"
	}
	return strconv.Itoa(code)
}

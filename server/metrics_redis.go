package server

import "github.com/prometheus/client_golang/prometheus"

// WatchRedis serves pipedream_mcp_redis_up, 1 while the fleet's shared Redis
// answers and 0 while this replica serves from its own memory, read from up
// at every scrape. Call it once; a nil *Metrics records nothing.
func (m *Metrics) WatchRedis(up func() bool) {
	if m == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Name: "redis_up",
		Help: "1 while the shared Redis of the fleet (--redis-url) answers; 0 while this replica serves from its own memory.",
	}, func() float64 {
		if up() {
			return 1
		}
		return 0
	}))
}

package app

// This file owns the wiring of a fleet (DESIGN.md "Scale-out"): with
// --redis-url, every client of this process shares its caches, account
// invalidations and request budget with the other replicas through one
// redisstore.Shared, whose state reaches /metrics and /readyz.

import (
	"fmt"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/pdclient/redisstore"
)

// startFleet connects to the fleet's Redis when one is configured. Redis
// being unreachable is not an error: the replica starts alone and rejoins.
func (rt *backend) startFleet() error {
	so := rt.cfg.ScaleOut
	if so.RedisURL == "" {
		return nil
	}
	shared, err := redisstore.New(redisstore.Options{
		URL:    so.RedisURL,
		Logger: rt.log,
		Limits: map[pdclient.BudgetClass]int{pdclient.BudgetComponentReads: so.BudgetReads, pdclient.BudgetRuns: so.BudgetRuns},
		Window: so.BudgetWindow,
	})
	if err != nil {
		return fmt.Errorf("--redis-url: %w", err)
	}
	rt.fleet = shared
	if rt.metrics != nil {
		rt.metrics.WatchRedis(shared.Up)
	}
	return nil
}

// fleetOptions are the client options that share through the fleet's Redis
// (none without one).
func (rt *backend) fleetOptions() []pdclient.Option {
	if rt.fleet == nil {
		return nil
	}
	return []pdclient.Option{pdclient.WithStore(rt.fleet), pdclient.WithBudget(rt.fleet)}
}

// readyDetails are /readyz's words on the fleet's Redis (none without one).
// Redis being down never makes the replica unready: it serves alone.
func (rt *backend) readyDetails() map[string]string {
	if rt.fleet == nil {
		return nil
	}
	return map[string]string{"redis": rt.fleet.Detail()}
}

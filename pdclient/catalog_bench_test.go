package pdclient_test

// Catalog cost: how many upstream requests, and how long, loading action
// catalogs takes against the fake, with list pages that carry
// configurable_props and with slim list pages. The fake runs in process on a
// loopback httptest server, so ns/op includes its own work.

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/pdclient/pdtest"
)

// catalogFixture is a fake on loopback and the action count of each app.
type catalogFixture struct {
	fake *pdtest.Fake
	url  string
	size map[string]int
}

func newCatalogFixture(b *testing.B, pageSize int, slim bool) *catalogFixture {
	b.Helper()
	fake := pdtest.New(pdtest.Config{PageSize: pageSize})
	fake.SetSlimActionLists(slim)
	srv := httptest.NewServer(fake)
	b.Cleanup(srv.Close)
	f := &catalogFixture{fake: fake, url: srv.URL, size: map[string]int{}}
	cl := f.client(b)
	for _, app := range fake.Apps() {
		comps, err := cl.ListActions(b.Context(), app, pdclient.RegistryPublic)
		if err != nil {
			b.Fatal(err)
		}
		f.size[app] = len(comps)
	}
	return f
}

// client returns a new client: cold catalog cache, no token yet.
func (f *catalogFixture) client(b *testing.B) *pdclient.Client {
	b.Helper()
	cl, err := pdclient.New(pdclient.Config{
		ClientID: pdtest.TestClientID, ClientSecret: pdtest.TestClientSecret,
		ProjectID: pdtest.TestProjectID, Environment: "development", BaseURL: f.url,
	})
	if err != nil {
		b.Fatal(err)
	}
	return cl
}

// wantRequests is the target for a cold load of apps: one token request, then
// ceil(N/page size) list pages per app, plus one read per action when the
// pages are slim.
func (f *catalogFixture) wantRequests(apps []string, pageSize int, slim bool) int {
	n := 1
	for _, app := range apps {
		n += max(1, (f.size[app]+pageSize-1)/pageSize)
		if slim {
			n += f.size[app]
		}
	}
	return n
}

// BenchmarkCatalogLoad loads one app of 110+ actions (hubspot) and every
// fixture app on a cold client, apps in parallel as the tool set does.
// Metrics per load: upstream requests (token included), list pages, single
// reads, and actions loaded.
func BenchmarkCatalogLoad(b *testing.B) {
	for _, shape := range []struct {
		name     string
		slim     bool
		pageSize int
	}{
		{"props/page=25", false, 25},
		{"props/page=100", false, 100},
		{"slim/page=25", true, 25},
	} {
		f := newCatalogFixture(b, shape.pageSize, shape.slim)
		for _, set := range []struct {
			name string
			apps []string
		}{
			{"hubspot", []string{"hubspot"}},
			{"all", f.fake.Apps()},
		} {
			b.Run(set.name+"/"+shape.name, func(b *testing.B) {
				want := f.wantRequests(set.apps, shape.pageSize, shape.slim)
				var reqs, pages, reads, actions int
				b.ReportAllocs()
				for b.Loop() {
					b.StopTimer()
					f.fake.ResetCounts()
					cl := f.client(b)
					b.StartTimer()
					n := loadApps(b, cl, set.apps)
					b.StopTimer()
					reqs += f.fake.Count(pdtest.EndpointAll)
					pages += f.fake.Count(pdtest.EndpointActions)
					reads += f.fake.Count(pdtest.EndpointAction)
					actions += n
					b.StartTimer()
				}
				runs := float64(b.N)
				b.ReportMetric(float64(reqs)/runs, "requests/op")
				b.ReportMetric(float64(pages)/runs, "list-pages/op")
				b.ReportMetric(float64(reads)/runs, "single-reads/op")
				b.ReportMetric(float64(actions)/runs, "actions/op")
				if got := float64(reqs) / runs; got > float64(want) {
					b.Errorf("a cold load of %v took %.0f requests, want at most %d (token + ceil(N/%d) pages per app%s)",
						set.apps, got, want, shape.pageSize, map[bool]string{true: " + one read per action", false: ""}[shape.slim])
				}
			})
		}
	}
}

func loadApps(b *testing.B, cl *pdclient.Client, apps []string) int {
	var wg sync.WaitGroup
	counts := make([]int, len(apps))
	errs := make([]error, len(apps))
	for i, app := range apps {
		wg.Go(func() {
			comps, err := cl.ListActions(context.Background(), app, pdclient.RegistryPublic)
			counts[i], errs[i] = len(comps), err
		})
	}
	wg.Wait()
	n := 0
	for i, err := range errs {
		if err != nil {
			b.Fatalf("load %s: %v", apps[i], err)
		}
		n += counts[i]
	}
	return n
}

// BenchmarkCatalogColdStampede has 100 callers ask for the hubspot catalog at
// once on a cold client: the misses must collapse into one upstream pass.
func BenchmarkCatalogColdStampede(b *testing.B) {
	const callers = 100
	f := newCatalogFixture(b, 25, false)
	want := f.wantRequests([]string{"hubspot"}, 25, false)
	var reqs int
	for b.Loop() {
		b.StopTimer()
		f.fake.ResetCounts()
		cl := f.client(b)
		b.StartTimer()
		apps := make([]string, callers)
		for i := range apps {
			apps[i] = "hubspot"
		}
		loadApps(b, cl, apps)
		b.StopTimer()
		reqs += f.fake.Count(pdtest.EndpointAll)
		b.StartTimer()
	}
	got := float64(reqs) / float64(b.N)
	b.ReportMetric(got, "requests/op")
	if got > float64(want) {
		b.Errorf("%d concurrent cold loads took %.0f requests, want %d (one shared pass)", callers, got, want)
	}
}

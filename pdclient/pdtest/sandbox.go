package pdtest

// This file owns the fake behind --sandbox: its public credentials, project
// and users, and the accounts it is seeded with.

import (
	"slices"
	"time"
)

// Sandbox identity: the credentials, project and users of NewSandbox. They are
// public on purpose; the sandbox never talks to Pipedream.
const (
	SandboxClientID     = "sandbox-client-id"
	SandboxClientSecret = "sandbox-client-secret"
	SandboxProjectID    = "proj_sandbox"
	SandboxEnvironment  = "development"
	// DemoUser has accounts for every sandbox app except notion.
	DemoUser = "demo-user"
	// OtherUser has one github account, for "someone else's account is refused".
	OtherUser = "other-user"
	// ServiceUser is the service identity of admin connections (hubspot, jira).
	ServiceUser = "service-bot"
	// EdgeApp is the test fixture app: actions with every prop type, failures
	// on demand, malformed definitions. It is in Apps (tests lean on it) but
	// not in SandboxApps: the sandbox serves it only when named (--app
	// pd_edge).
	EdgeApp = "pd_edge"
)

// SandboxApps returns what --sandbox serves when no app is named: the
// default apps without the EdgeApp fixture, so a host sees realistic apps only.
func (f *Fake) SandboxApps() []string {
	return slices.DeleteFunc(f.Apps(), func(app string) bool { return app == EdgeApp })
}

// sandboxAccounts are the seeded accounts, oldest first. Their ids are stable so
// docs and tests can name them.
var sandboxAccounts = []Account{
	{ID: "apn_demo_slack_old", ExternalUserID: DemoUser, App: "slack", Name: "Acme Corp (old workspace)", Healthy: true},
	{ID: "apn_demo_google_sheets", ExternalUserID: DemoUser, App: "google_sheets", Name: "demo@acme.example", Healthy: true},
	{ID: "apn_demo_github", ExternalUserID: DemoUser, App: "github", Name: "demo-user", Healthy: true},
	{ID: "apn_demo_hubspot", ExternalUserID: DemoUser, App: "hubspot", Name: "Acme Corp (portal 4410221)", Healthy: true},
	{ID: "apn_demo_jira", ExternalUserID: DemoUser, App: "jira", Name: "acme-sandbox.atlassian.net", Healthy: true},
	{ID: "apn_demo_airtable_oauth", ExternalUserID: DemoUser, App: "airtable_oauth", Name: "demo@acme.example", Healthy: true},
	{ID: "apn_demo_gmail", ExternalUserID: DemoUser, App: "gmail", Name: "demo@acme.example", Healthy: true},
	{ID: "apn_demo_pd_edge", ExternalUserID: DemoUser, App: "pd_edge", Name: "Edge Cases (demo)", Healthy: true},
	{ID: "apn_other_github", ExternalUserID: OtherUser, App: "github", Name: "other-user", Healthy: true},
	{ID: "apn_service_hubspot", ExternalUserID: ServiceUser, App: "hubspot", Name: "Acme Corp (service)", Healthy: true},
	{ID: "apn_service_jira", ExternalUserID: ServiceUser, App: "jira", Name: "acme-sandbox.atlassian.net (service)", Healthy: true},
	// Newer than their healthy siblings: a client must take the newest healthy one.
	{ID: "apn_demo_slack_new", ExternalUserID: DemoUser, App: "slack", Name: "Acme Corp", Healthy: true},
	{ID: "apn_demo_gmail_broken", ExternalUserID: DemoUser, App: "gmail", Name: "old@acme.example (needs reconnect)", Healthy: false},
	// Some apps of the wider catalog (catalog/extra), for catalog mode and the
	// open catalog; the rest have none, so their Connect Links show.
	{ID: "apn_demo_google_calendar", ExternalUserID: DemoUser, App: "google_calendar", Name: "demo@acme.example", Healthy: true},
	{ID: "apn_demo_google_drive", ExternalUserID: DemoUser, App: "google_drive", Name: "demo@acme.example", Healthy: true},
	{ID: "apn_demo_trello", ExternalUserID: DemoUser, App: "trello", Name: "Acme Boards", Healthy: true},
	{ID: "apn_demo_stripe", ExternalUserID: DemoUser, App: "stripe", Name: "Acme Corp (test mode)", Healthy: true},
	{ID: "apn_demo_zendesk", ExternalUserID: DemoUser, App: "zendesk", Name: "acme.zendesk.com", Healthy: true},
}

// NewSandbox returns the Fake behind --sandbox: the embedded catalog, the
// Sandbox* credentials and project, and seeded development accounts:
//
//   - DemoUser: every default app except notion (so the Connect Link path
//     shows), and google_calendar, google_drive, trello, stripe and zendesk of
//     the wider catalog; two
//     slack accounts, apn_demo_slack_old and the newer apn_demo_slack_new; for
//     gmail the healthy apn_demo_gmail and the newer, unhealthy
//     apn_demo_gmail_broken; otherwise apn_demo_<app>.
//   - OtherUser: apn_other_github.
//   - ServiceUser: apn_service_hubspot and apn_service_jira.
func NewSandbox() *Fake {
	f := New(Config{ClientID: SandboxClientID, ClientSecret: SandboxClientSecret, ProjectID: SandboxProjectID})
	base := time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC)
	for i, a := range sandboxAccounts {
		a.Environment = SandboxEnvironment
		a.CreatedAt = base.Add(time.Duration(i) * 24 * time.Hour)
		f.AddAccount(a)
	}
	return f
}

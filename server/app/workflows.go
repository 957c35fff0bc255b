package app

import (
	"errors"
	"fmt"

	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/server/app/config"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// workflows turns the configured workflows into tools.Workflow values.
//
// A workflow with auth: oauth sends an access token of its own credentials and
// creates Connect Links with the same client. A workflow protected otherwise has
// no credentials of its own; it creates Connect Links (for "required account not
// found") with the default credentials when they are complete, in the
// workflow's environment, and offers no link otherwise.
func (rt *backend) workflows(clientFor func(config.Credentials) (*pdclient.Client, error)) ([]tools.Workflow, error) {
	cfg := rt.cfg
	out := make([]tools.Workflow, 0, len(cfg.Workflows))
	var problems []error
	for _, w := range cfg.Workflows {
		tw := tools.Workflow{
			Name:        w.Name,
			URL:         w.Endpoint,
			Description: w.Description,
			InputSchema: w.InputSchema,
			Admin:       w.OAuth == "admin",
			ServiceUser: w.ExternalUserID,
			Auth:        w.Auth,
			BearerToken: w.BearerToken,
			Environment: w.Environment,
			Domain:      cfg.WorkflowDomain,
		}
		switch {
		case w.Auth == tools.WorkflowAuthOAuth || w.Auth == "":
			cl, err := clientFor(w.Credentials)
			if err != nil {
				problems = append(problems, fmt.Errorf("workflow %q: %w", w.Name, err))
				continue
			}
			tw.Token = cl.AccessToken
			tw.InvalidateToken = cl.InvalidateAccessToken
			tw.Connect = cl
			if tw.Environment == "" {
				tw.Environment = cl.Environment()
			}
		case cfg.Sandbox || completeCredentials(cfg.Defaults):
			creds := cfg.Defaults
			if w.Environment != "" {
				creds.Environment = w.Environment
			}
			if cl, err := clientFor(creds); err == nil {
				tw.Connect = cl
			} else {
				rt.log.Warn("workflow: no Connect Links will be offered", "workflow", w.Name, "err", err)
			}
		}
		out = append(out, tw)
	}
	return out, errors.Join(problems...)
}

// completeCredentials reports whether c can create Connect tokens.
func completeCredentials(c config.Credentials) bool {
	return c.ClientID != "" && c.ClientSecret != "" && c.ProjectID != "" && c.Environment != ""
}

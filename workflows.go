package main

import (
	"github.com/pipedream-mcp/pipedream-mcp/pdclient"
	"github.com/pipedream-mcp/pipedream-mcp/tools"
)

// workflows turns the configured workflows into tools.Workflow values.
func (rt *backend) workflows(clientFor func(Credentials) (*pdclient.Client, error)) ([]tools.Workflow, error) {
	return nil, nil
}

package tools

import (
	"context"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"
)

// Workflow is a deployed HTTP-triggered Pipedream workflow served as a tool.
type Workflow struct {
	Name        string // tool name
	URL         string // full endpoint URL (endpoint IDs already expanded)
	Description string
	InputSchema []byte // JSON Schema of the body; nil = any JSON object
	Admin       bool
	ServiceUser string
	Auth        string // oauth | bearer | none
	BearerToken string
	Environment string
	// Token returns an access token of the connection credentials (auth: oauth).
	Token func(ctx context.Context) (string, error)
}

type workflowTool struct {
	tool   mcp.Tool
	handle func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error)
}

func validateWorkflows(flows []Workflow, taken map[string]bool) error {
	for _, w := range flows {
		if !ValidToolName(w.Name) {
			return fmt.Errorf("tools: workflow name %q is not a valid tool name", w.Name)
		}
	}
	return nil
}

func (s *Set) workflowTools() []*workflowTool { return nil }

package tools

import "slices"

// ActionInfo says what an action tool was built from, for the commands people
// run to inspect the tool list (`pipedream-mcp tools`, `doctor`).
type ActionInfo struct {
	Connection string // the connection's name (the tool prefix)
	App        string // the app slug
	Action     string // the component key, e.g. slack-send-message
	Version    string // the catalog version the tool was built from
	// Args is the number of arguments, the reserved _account_id and
	// _dynamic_props_id excluded.
	Args int
	// RemoteOptions names the arguments whose valid values come from
	// pipedream_list_options.
	RemoteOptions []string
	// Dynamic reports that more fields appear once others are set
	// (pipedream_describe).
	Dynamic bool
}

// ActionNames returns the names of every action tool currently served, in
// either tool mode (in catalog mode they are what pipedream_run_action
// takes), sorted.
func (s *Set) ActionNames() []string {
	names := make([]string, 0, len(s.snap.Load().byName))
	for name := range s.snap.Load().byName {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Action describes the action tool currently served under name; false for
// helper and workflow tools and for names not served.
func (s *Set) Action(name string) (ActionInfo, bool) {
	t, ok := s.snap.Load().byName[name]
	if !ok {
		return ActionInfo{}, false
	}
	info := ActionInfo{
		Connection: t.conn.Name,
		App:        t.conn.App,
		Action:     t.component.Key,
		Version:    t.component.Version,
		Args:       len(t.tr.Args),
		Dynamic:    t.tr.Dynamic,
	}
	for _, a := range t.tr.Args {
		if a.RemoteOptions {
			info.RemoteOptions = append(info.RemoteOptions, a.Name)
		}
	}
	return info, true
}

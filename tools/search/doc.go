// Package search is the in-process index behind catalog mode's
// pipedream_search_actions: it ranks actions (plain Doc values, no MCP or
// Pipedream types) for a free-text query an agent writes, and suggests the
// closest tool names for a wrong one.
//
// An Index is built once per catalog snapshot with Build and is immutable
// afterwards, so any number of goroutines may search it at once. Ranking is
// BM25F over five fields (app, action name, action key, prop labels and
// description) on lightly stemmed tokens, with query-time verb and noun
// synonyms, typo tolerance for words the index does not know, a bonus when the
// query's verb is the action's verb, and a coverage factor that prefers actions
// matching every part of the query. Results are deterministic: equal scores are
// ordered by tool name.
package search

// Doc is one action as the index sees it. Only Tool must be set; the index
// keeps a copy of every Doc and returns copies in hits, so callers must not
// modify the slices they passed in afterwards.
type Doc struct {
	// Tool is the action's tool name in direct mode (unique in an Index).
	Tool string
	// App is the app's slug, e.g. "google_sheets".
	App string
	// AppName is the app's display name, e.g. "Google Sheets".
	AppName string
	// AppAliases are other names an agent may use for the app or the
	// connection ("gsheets", "work slack"); they are matched like AppName.
	AppAliases []string
	// Action is the component key, e.g. "slack-send-message-to-channel". Its
	// first word after the app prefix is the action's verb ("send"), which
	// earns a bonus when it is the query's verb; a doc without one (an app
	// in a directory, say) has no verb.
	Action string
	// Name is the action's display name, e.g. "Send Message to Channel".
	Name string
	// Description is the action's description; Markdown links and URLs in it
	// are not indexed.
	Description string
	// PropLabels are the labels (or names) of the action's props.
	PropLabels []string
	// ReadOnly and Destructive are the action's annotations; the index only
	// carries them for callers (see Query.Filter).
	ReadOnly, Destructive bool
}

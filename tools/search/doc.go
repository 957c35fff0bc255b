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
// query's verb is the action's verb, a coverage factor that prefers actions
// matching every part of the query, and a bonus for an action whose name the
// query explains in full. Queries are read as agents write them: values
// (e-mail addresses, URLs) are dropped, brand names stay whole ("GitHub"),
// phrasal verbs become plain ones ("set up" -> create), and some words are
// verbs only when they start a request ("file a bug", "text the customer").
// Results are deterministic: equal scores are ordered by tool name.
//
// tools/search_eval_test.go measures the ranking on the sandbox catalog
// against hand-judged agent tasks (tools/testdata/search_eval.json).
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

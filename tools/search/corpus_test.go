package search

import "strings"

// corpus is a hand-written catalog modelled on real Pipedream actions of
// eight apps: names, keys and descriptions in Pipedream's style, Markdown
// documentation links included.
func corpus() []Doc {
	type app struct{ slug, name string }
	var (
		slack    = app{"slack", "Slack"}
		github   = app{"github", "GitHub"}
		sheets   = app{"google_sheets", "Google Sheets"}
		hubspot  = app{"hubspot", "HubSpot"}
		jira     = app{"jira", "Jira"}
		notion   = app{"notion", "Notion"}
		gmail    = app{"gmail", "Gmail"}
		calendar = app{"google_calendar", "Google Calendar"}
		airtable = app{"airtable_oauth", "Airtable"}
	)
	const (
		ro   = 1
		dstr = 2
	)
	var docs []Doc
	add := func(a app, rest, name, desc, props string, flags int) {
		var labels []string
		if props != "" {
			labels = strings.Split(props, "|")
		}
		docs = append(docs, Doc{
			Tool:        a.slug + "_" + strings.ReplaceAll(rest, "-", "_"),
			App:         a.slug,
			AppName:     a.name,
			Action:      a.slug + "-" + rest,
			Name:        name,
			Description: desc + " [See the documentation](https://docs.example.com/" + a.slug + "/" + rest + ")",
			PropLabels:  labels,
			ReadOnly:    flags&ro != 0,
			Destructive: flags&dstr != 0,
		})
	}

	add(slack, "send-message-to-channel", "Send Message to Channel", "Send a message to a public or private channel.", "Channel|Text|Send as User|Bot Username|Icon (emoji)|Schedule|Include link to Pipedream", 0)
	add(slack, "send-direct-message", "Send a Direct Message", "Send a direct message to a single user.", "User|Text|Bot Username", 0)
	add(slack, "send-message-to-user-or-group", "Send Message to User or Group", "Send a message to a user or a group of users.", "Users|Text", 0)
	add(slack, "reply-to-a-message", "Reply to a Message Thread", "Send a message as a threaded reply.", "Thread Timestamp|Channel|Text", 0)
	add(slack, "find-message", "Find Message", "Find a Slack message.", "Query|Max Results|Sort", ro)
	add(slack, "update-message", "Update Message", "Update a message.", "Channel|Message Timestamp|Text", 0)
	add(slack, "delete-message", "Delete Message", "Delete a message.", "Channel|Message Timestamp", dstr)
	add(slack, "list-channels", "List Channels", "Return a list of all channels in a workspace.", "Page Size", ro)
	add(slack, "create-channel", "Create a Channel", "Create a new channel.", "Channel name|Is private?", 0)
	add(slack, "archive-channel", "Archive Channel", "Archive a channel.", "Channel", dstr)
	add(slack, "invite-user-to-channel", "Invite User to Channel", "Invite a user to an existing channel.", "Channel|User", 0)
	add(slack, "set-channel-topic", "Set Channel Topic", "Set the topic on a selected channel.", "Channel|Topic", 0)
	add(slack, "add-emoji-reaction", "Add Emoji Reaction", "Add an emoji reaction to a message.", "Channel|Message Timestamp|Icon (emoji)", 0)
	add(slack, "upload-file", "Upload File", "Upload a file.", "Channel|File Path or URL|Initial Comment", 0)
	add(slack, "create-reminder", "Create Reminder", "Create a reminder.", "Text|Timestamp|Team ID|User", 0)
	add(slack, "list-users", "List Users", "Return a list of all users in a workspace.", "Page Size", ro)
	add(slack, "find-user-by-email", "Find User by Email", "Find a user by matching against their email.", "Email", ro)

	add(github, "create-issue", "Create Issue", "Create a new issue in a GitHub repository.", "Repository|Title|Body|Labels|Assignees|Milestone", 0)
	add(github, "get-issue", "Get Issue", "Get details of an issue in a repository.", "Repository|Issue Number", ro)
	add(github, "update-issue", "Update Issue", "Update a new issue in a GitHub repository.", "Repository|Issue Number|Title|Body|Labels|Assignees|State", 0)
	add(github, "search-issues-and-pull-requests", "Search Issues and Pull Requests", "Find issues by state and keyword.", "Query|Max Results", ro)
	add(github, "create-issue-comment", "Create Issue Comment", "Create a new comment in an issue.", "Repository|Issue Number|Body", 0)
	add(github, "create-pull-request", "Create Pull Request", "Creates a new pull request for a specified repository.", "Repository|Head Branch|Base Branch|Title|Body|Draft", 0)
	add(github, "get-repository", "Get Repository", "Get specific repository.", "Repository", ro)
	add(github, "list-commits", "List Commits", "List commits in a specific repository.", "Repository|SHA|Path|Since|Until", ro)
	add(github, "star-repo", "Star Repo", "Star a repository.", "Repository", 0)
	add(github, "create-branch", "Create Branch", "Create a new branch in a GitHub repository.", "Repository|Branch Name|Source Branch", 0)
	add(github, "list-releases", "List Releases", "List releases for a repository.", "Repository", ro)
	add(github, "create-workflow-dispatch", "Create Workflow Dispatch", "Manually trigger a GitHub Actions workflow run.", "Repository|Workflow|Ref|Inputs", 0)

	add(sheets, "add-single-row", "Add Single Row", "Add a single row of data to Google Sheets.", "Drive|Spreadsheet|Worksheet|Does the first row of the sheet have headers?", 0)
	add(sheets, "add-multiple-rows", "Add Multiple Rows", "Add multiple rows of data to a Google Sheet.", "Drive|Spreadsheet|Worksheet|Rows", 0)
	add(sheets, "update-row", "Update Row", "Update a row in a spreadsheet.", "Drive|Spreadsheet|Worksheet|Row Number|Cells / Column Values", 0)
	add(sheets, "find-row", "Find Row", "Find one or more rows by a column and value.", "Drive|Spreadsheet|Worksheet|Column|Value|Exact Match", ro)
	add(sheets, "delete-rows", "Delete Rows", "Deletes the specified rows from a spreadsheet.", "Drive|Spreadsheet|Worksheet|Start Row|End Row", dstr)
	add(sheets, "get-values-in-range", "Get Values in Range", "Get all values or values from a range of cells using A1 notation.", "Drive|Spreadsheet|Worksheet|Range", ro)
	add(sheets, "create-spreadsheet", "Create Spreadsheet", "Create a blank spreadsheet or duplicate an existing spreadsheet.", "Drive|Title|Folder", 0)
	add(sheets, "create-worksheet", "Create Worksheet", "Create a blank worksheet with a title.", "Drive|Spreadsheet|Title", 0)
	add(sheets, "update-cell", "Update Cell", "Update a cell in a spreadsheet.", "Drive|Spreadsheet|Worksheet|Cell|Value", 0)
	add(sheets, "clear-rows", "Clear Rows", "Delete the content of a row or rows in a spreadsheet. Deleted rows will appear as blank rows.", "Drive|Spreadsheet|Worksheet|Start Row|End Row", dstr)

	add(hubspot, "create-contact", "Create Contact", "Create a contact in Hubspot.", "Object Properties|Property Groups", 0)
	add(hubspot, "get-contact", "Get Contact", "Gets a contact.", "Contact ID|Additional properties to retrieve", ro)
	add(hubspot, "update-contact", "Update Contact", "Update a contact in Hubspot.", "Contact ID|Object Properties", 0)
	add(hubspot, "search-contacts", "Search Contacts", "Search contacts by email, name or other properties.", "Search Value|Search Property|Exact Match", ro)
	add(hubspot, "delete-contact", "Delete Contact", "Delete a contact in HubSpot.", "Contact ID", dstr)
	add(hubspot, "create-deal", "Create Deal", "Create a deal in Hubspot.", "Deal Name|Pipeline|Deal Stage|Object Properties", 0)
	add(hubspot, "update-deal", "Update Deal", "Update a deal in Hubspot.", "Deal ID|Object Properties", 0)
	add(hubspot, "create-company", "Create Company", "Create a company in Hubspot.", "Object Properties", 0)
	add(hubspot, "create-ticket", "Create Ticket", "Create a ticket in Hubspot.", "Ticket Name|Pipeline|Ticket Stage", 0)
	add(hubspot, "create-task", "Create Task", "Create a new task.", "Subject|Due Date|Owner", 0)
	add(hubspot, "create-note", "Create Note", "Create a new note associated with an object.", "Body|Object Type|Object ID", 0)
	add(hubspot, "create-meeting", "Create Meeting", "Creates a new meeting with optional associations to other objects.", "Title|Start Time|End Time|Attendees", 0)
	add(hubspot, "add-contact-to-list", "Add Contact to List", "Adds a contact to a specific static list.", "List|Contact Email", 0)
	add(hubspot, "list-owners", "List Owners", "List all owners in the portal.", "Email|Archived", ro)
	add(hubspot, "enroll-contact-into-workflow", "Enroll Contact Into Workflow", "Add a contact to a workflow.", "Workflow|Contact Email", 0)

	add(jira, "create-issue", "Create Issue", "Creates an issue or, where the option to create subtasks is enabled in Jira, a subtask.", "Cloud ID|Project|Issue Type|Summary|Description", 0)
	add(jira, "get-issue", "Get Issue", "Gets the details for an issue.", "Cloud ID|Issue ID or Key|Expand", ro)
	add(jira, "update-issue", "Update Issue", "Updates an issue. A transition may be applied and issue properties updated as part of the edit.", "Cloud ID|Issue ID or Key|Fields", 0)
	add(jira, "add-comment-to-issue", "Add Comment to Issue", "Adds a new comment to an issue.", "Cloud ID|Issue ID or Key|Body", 0)
	add(jira, "transition-issue", "Transition Issue", "Performs an issue transition and, if the transition has a screen, updates the fields from the transition screen.", "Cloud ID|Issue ID or Key|Transition", 0)
	add(jira, "search-issues-with-jql", "Search Issues with JQL", "Search for issues using JQL (Jira Query Language).", "Cloud ID|JQL Query|Max Results", ro)
	add(jira, "get-all-projects", "Get All Projects", "Gets metadata on all projects.", "Cloud ID", ro)
	add(jira, "assign-issue", "Assign Issue", "Assigns an issue to a user.", "Cloud ID|Issue ID or Key|Assignee", 0)
	add(jira, "add-attachment-to-issue", "Add Attachment To Issue", "Adds an attachment to an issue.", "Cloud ID|Issue ID or Key|File", 0)

	add(notion, "create-page", "Create Page", "Create a page from a parent page.", "Parent Page|Title|Page Content", 0)
	add(notion, "create-page-from-database", "Create Page from Data Source", "Create a page from a data source (database).", "Parent Data Source|Properties|Page Content", 0)
	add(notion, "update-page", "Update Page", "Update a page's property values.", "Page ID|Properties|Archived", 0)
	add(notion, "append-block", "Append Block to Parent", "Append new and/or existing blocks to the specified parent.", "Parent Page|Block Types|Markdown Contents|Image URLs", 0)
	add(notion, "retrieve-page", "Retrieve Page", "Get details of a page.", "Page ID", ro)
	add(notion, "search", "Find Pages or Data Sources", "Searches for a page or data source.", "Search query|Filter", ro)
	add(notion, "query-database", "Query Data Source", "Query a data source with a specified filter.", "Data Source|Filter|Sorts", ro)
	add(notion, "create-comment", "Create Comment", "Create a comment in a page or existing discussion thread.", "Page ID|Discussion ID|Comment", 0)
	add(notion, "duplicate-page", "Duplicate Page", "Create a new page copied from an existing page block.", "Page|Parent Page", 0)

	add(gmail, "send-email", "Send Email", "Send an email from your Google Workspace email account.", "To|CC|BCC|From Name|Reply To|Subject|Email Body|Attachments", 0)
	add(gmail, "create-draft", "Create Draft", "Create a draft from your Google Workspace email account.", "To|Subject|Email Body", 0)
	add(gmail, "find-email", "Find Email", "Find an email using Google's Search Engine.", "Search Query|Labels|Max Results", ro)
	add(gmail, "add-label-to-email", "Add Label to Email", "Add label(s) to an email message.", "Message|Labels", 0)
	add(gmail, "archive-email", "Archive Email", "Archive an email message.", "Message", 0)
	add(gmail, "delete-email", "Delete Email", "Moves the specified message to the trash.", "Message", dstr)
	add(gmail, "list-labels", "List Labels", "List all the existing labels in the connected account.", "", ro)
	add(gmail, "download-attachment", "Download Attachment", "Download an attachment by attachmentId to the /tmp directory.", "Message|Attachment|File Name", ro)

	add(calendar, "create-event", "Create Event", "Create an event in a Google Calendar.", "Calendar|Summary|Event Start Date|Event End Date|Attendees|Location", 0)
	add(calendar, "quick-add-event", "Add Quick Event", "Create a quick event to the Google Calendar.", "Calendar|Text", 0)
	add(calendar, "list-events", "List Events", "Retrieve a list of events from the Google Calendar.", "Calendar|Max Results|Time Min|Time Max", ro)
	add(calendar, "update-event", "Update Event", "Update an event from Google Calendar.", "Calendar|Event|Summary", 0)
	add(calendar, "delete-event", "Delete an Event", "Delete an event from a Google Calendar.", "Calendar|Event", dstr)

	add(airtable, "create-single-record", "Create Single Record", "Adds a record to a table.", "Base|Table|Typecast", 0)
	add(airtable, "list-records", "List Records", "Retrieve records from a table with automatic pagination. Optionally sort and filter results.", "Base|Table|Sort Field|Filter by Formula|Max Records", ro)
	add(airtable, "search-records", "Search Records", "Search for a record by formula or by field value.", "Base|Table|Search Term|Search Formula", ro)
	add(airtable, "update-record", "Update Record", "Update a single record in a table by Record ID.", "Base|Table|Record ID", 0)
	add(airtable, "delete-record", "Delete Record", "Delete a selected record from a table.", "Base|Table|Record ID", dstr)
	return docs
}

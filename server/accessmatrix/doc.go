// Package accessmatrix is the access-matrix test: it starts a real server
// (server.New on a fresh SQLite store, test mode off), seeds two
// workspaces, and calls EVERY public function in the registry as each kind
// of caller, asserting who is let through. The test fails when a public
// function (other than _test:* and _system:*) has no entry, so a new
// module cannot skip it.
//
// # Callers
//
// None (no token), Viewer, Agent, Admin, Owner (members of workspace A),
// OtherMember (owner of workspace B only), VisitorA and VisitorB (widget
// visitors with live session tokens in A and B; no agent token).
//
// # Adding entries
//
// Put your module's entries in entries_<module>.go:
//
//	func init() {
//		add(Entry{
//			Func:  "tags:create",
//			Args:  func(fx *Fixture, who Caller) map[string]any { return map[string]any{"workspaceId": fx.WorkspaceA, "name": "x"} },
//			Allow: Roles(access.ChecklistsManage),
//		})
//	}
//
// Args builds the arguments for one caller; use fx.SessionToken(who) to
// pass the caller's own widget session token (empty for agents), and
// fx.IDs for documents your seed created. Allow lists the callers that
// must get through; every other caller must be denied: an error coded
// NOT_AUTHENTICATED, NOT_AUTHORIZED, PERMISSION_DENIED,
// NOT_WORKSPACE_MEMBER or SESSION_EXPIRED, or — when SoftDeny is set — an
// empty result (null, [], {}, an empty page, or whatever Entry.Empty
// says). Allowed callers must get no error at all (list tolerated codes in
// OKCodes) and, for SoftDeny entries, a non-empty result unless
// AllowEmpty.
//
// Mutations and actions run on a fresh copy of the seeded database for
// every caller, so one caller's success never changes what the next sees.
//
// # Seeding data
//
// AddSeed(func(fx *Fixture, tx *sqlstore.Tx) error) runs inside the seed
// transaction after the base fixture exists; store the ids you create in
// fx.IDs["inbox.conversationA"] etc.
//
// # Modules
//
// The main package cannot be imported, so modules.go lists each module's
// registration (the same call its modules_<name>.go makes in the main
// package). TestHarnessLoadsEveryModule parses the main package and fails
// if a package appended to server.Modules there is missing here: adding a
// module means one line in modules.go plus its entries file.
package accessmatrix

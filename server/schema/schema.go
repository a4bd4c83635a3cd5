// Package schema holds the database migrations of the application: the
// engine's own tables (prefixed with "_", never watched by the change feed)
// and Opencom's document tables.
//
// A document table has the columns
//
//	_id TEXT PRIMARY KEY, _creationTime REAL NOT NULL, <key columns>, doc TEXT NOT NULL
//
// where the key columns are the fields queries filter or sort on (named
// exactly like the document field, e.g. workspaceId, conversationId), copied
// from the document by sqlstore on every write. Only key columns can be used
// in Query.Eq/OrderBy, and they are what subscriptions are invalidated by.
// The whole document (key fields included) is JSON in doc.
package schema

import (
	"embed"
	"io/fs"
)

//go:embed migrations/*.sql
var files embed.FS

// Migrations is the migration set for sqlstore.Open.
func Migrations() fs.FS {
	sub, err := fs.Sub(files, "migrations")
	if err != nil {
		panic(err)
	}
	return sub
}

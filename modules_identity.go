package main

import (
	"github.com/opencom-go/opencom/server"
	"github.com/opencom-go/opencom/server/identity"
)

// The identity module (auth, workspaces, members, visitors, widget
// sessions, identity verification, audit logs). server/accessmatrix loads
// the same function; its test fails if a module is appended here but not
// there.
func init() { server.Modules = append(server.Modules, identity.Module) }

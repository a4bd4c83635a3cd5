package main

import (
	"github.com/opencom-go/opencom/server"
	"github.com/opencom-go/opencom/server/events"
)

// The events module (visitor events: track, trackAutoEvent, list, count,
// getDistinctNames, cleanupOldAutoEvents). server/accessmatrix loads the
// same function (entries_events.go).
func init() { server.Modules = append(server.Modules, events.Module) }

// Package events is Opencom's events module (events.ts): what visitors do,
// recorded as rows of the events table. Visitors write them through their
// widget session (events:track for named events the site sends with
// OpencomWidget.trackEvent, events:trackAutoEvent for the page views and
// session start/end the widget records itself); agents read them
// (events:list, events:count, events:getDistinctNames with
// conversations.read) and prune old automatic ones
// (events:cleanupOldAutoEvents with data.delete).
//
// Opencom also schedules, after each event, the checklist auto-completion
// check (checklists:checkAutoCompletion) and the series runtime (entry
// evaluation with source "event"/"auto_event", resuming series waiting on
// the event). Neither checklists nor series exist in this server yet, so
// nothing is scheduled; the places to add it are marked in track.go.
package events

import (
	"github.com/opencom-go/opencom/server"
	"github.com/opencom-go/opencom/server/fn"
)

var V = fn.V

// Module wires the events module into a server (see server.Modules).
func Module(s *server.Server) { Register(s.Registry) }

// Register adds every events function to r.
func Register(r *fn.Registry) {
	registerTrack(r)
	registerRead(r)
	registerCleanup(r)
}

// Event types. An event without eventType (rows from before Opencom had
// the field) counts as manual.
const (
	TypeManual       = "manual"
	TypePageView     = "page_view"
	TypeScreenView   = "screen_view"
	TypeSessionStart = "session_start"
	TypeSessionEnd   = "session_end"
)

// AutoTypes are the event types events:trackAutoEvent records.
var AutoTypes = []string{TypePageView, TypeScreenView, TypeSessionStart, TypeSessionEnd}

func isAuto(eventType string) bool {
	for _, t := range AutoTypes {
		if t == eventType {
			return true
		}
	}
	return false
}

const dayMs = 24 * 60 * 60 * 1000

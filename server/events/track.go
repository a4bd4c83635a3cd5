package events

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

// Rate limit of events:trackAutoEvent (security.md §8): at most
// AutoEventLimit automatic events per visitor in any AutoEventWindowMs
// window; calls beyond it return null and record nothing.
const (
	AutoEventLimit    = 100
	AutoEventWindowMs = 60 * 1000
)

// Limits on what a visitor may store. Opencom has none; these are far
// above anything the widget sends and keep one visitor from filling the
// database with a single call.
const (
	maxNameLen      = 200
	maxURLLen       = 4096
	maxSessionIDLen = 200
	maxProperties   = 50
	maxPropKeyLen   = 100
	maxPropStrLen   = 2048
	maxPropArrayLen = 100
)

// propertiesV is Opencom's eventProperties: a record of string, number,
// boolean, null or an array of strings and numbers.
var propertiesV = V.Record(V.Union(V.String(), V.Number(), V.Boolean(), V.Null(),
	V.Array(V.Union(V.String(), V.Number()))))

// eventArgs are the arguments of track and trackAutoEvent: the same but
// for the one naming the event (field, validated by what).
func eventArgs(field string, what fn.Validator) fn.Fields {
	return fn.Fields{
		"workspaceId":  V.ID("workspaces"),
		"visitorId":    V.Optional(V.ID("visitors")),
		"sessionToken": V.Optional(V.String()),
		field:          what,
		"properties":   V.Optional(propertiesV),
		"url":          V.Optional(V.String()),
		"sessionId":    V.Optional(V.String()),
	}
}

func registerTrack(r *fn.Registry) {
	r.Mutation("events:track", "visitor session (a bare visitorId only for a visitor without widget sessions)", eventArgs("name", V.String()), func(c *fn.Ctx, a fn.Args) (any, error) {
		ws := a.Str("workspaceId")
		vid, err := eventVisitor(c, ws, a.Str("sessionToken"), a.Str("visitorId"))
		if err != nil {
			return nil, err
		}
		if vid == "" {
			return nil, fn.ErrInvalid("Visitor ID required")
		}
		name := a.Str("name")
		if strings.TrimSpace(name) == "" {
			return nil, fn.ErrInvalid("Event name is required")
		}
		if utf8.RuneCountInString(name) > maxNameLen {
			return nil, fn.ErrInvalid("Event name is too long (max %d characters)", maxNameLen)
		}
		// Opencom schedules checklists:checkAutoCompletion and the series
		// runtime (source "event") after recording; neither module exists yet.
		return insertEvent(c, a, ws, vid, name, TypeManual)
	})

	r.Mutation("events:trackAutoEvent", "visitor session (null without a visitor or over the rate limit; bare visitorId as events:track)", eventArgs("eventType", V.Literal(AutoTypes...)), func(c *fn.Ctx, a fn.Args) (any, error) {
		ws := a.Str("workspaceId")
		vid, err := eventVisitor(c, ws, a.Str("sessionToken"), a.Str("visitorId"))
		if err != nil {
			if fe := (*fn.Error)(nil); errors.As(err, &fe) && fe.Code == fn.NotFound {
				return nil, nil // no such visitor: nothing to record, like no visitor at all
			}
			return nil, err
		}
		if vid == "" {
			return nil, nil
		}
		now := c.NowMs()
		recent, err := c.DB().Query("events").Eq("visitorId", vid).Gte("timestamp", now-AutoEventWindowMs).
			Filter(func(d sqlstore.Doc) bool { return isAuto(d.Str("eventType")) }).Take(AutoEventLimit)
		if err != nil {
			return nil, err
		}
		if len(recent) >= AutoEventLimit {
			return nil, nil
		}
		// Opencom schedules the series runtime (source "auto_event") after
		// recording; the series module does not exist yet.
		et := a.Str("eventType")
		return insertEvent(c, a, ws, vid, et, et)
	})
}

// insertEvent records one event and returns its id.
func insertEvent(c *fn.Ctx, a fn.Args, ws, vid, name, eventType string) (any, error) {
	d, err := eventDoc(c, a, ws, vid, name, eventType)
	if err != nil {
		return nil, err
	}
	return c.DB().Insert("events", d)
}

// eventVisitor is the visitor an event is recorded for: the session
// token's visitor when a token is given (a visitorId argument must then be
// that visitor), else the bare visitorId, else "" (no visitor).
//
// Decision on the bare visitorId (security.md §11: Opencom's events:track
// takes any visitorId without a token, so anyone who learns a visitor's id
// can write events — and so steer event-based audience rules — as that
// visitor): we keep the call shape but accept a bare visitorId only for a
// visitor that has no widget session at all. A visitor with a session
// (every visitor the widget or the mobile SDK booted, while its session
// lasts) must prove it with the token: "Session token required". What
// stays open is a visitor none of whose sessions is left (revoked, or
// expired and removed by widgetSessions:cleanupExpiredSessions); the bare
// path can only ever add events, never read them. The same rule applies to
// events:trackAutoEvent.
func eventVisitor(c *fn.Ctx, workspaceID, sessionToken, visitorID string) (string, error) {
	if sessionToken != "" {
		v, err := access.ResolveVisitor(c, sessionToken, workspaceID)
		if err != nil {
			return "", err
		}
		if visitorID != "" && visitorID != v.ID {
			return "", fn.Errorf(fn.NotAuthorized, "Session token does not match visitor")
		}
		return v.ID, nil
	}
	if visitorID == "" {
		return "", nil
	}
	v, err := c.DB().Get("visitors", visitorID)
	if err != nil {
		return "", err
	}
	if v == nil {
		return "", fn.ErrNotFound("Visitor")
	}
	if v.Str("workspaceId") != workspaceID {
		return "", fn.Errorf(fn.NotAuthorized, "Visitor does not belong to this workspace")
	}
	s, err := c.DB().Query("widgetSessions").Eq("visitorId", visitorID).First()
	if err != nil {
		return "", err
	}
	if s != nil {
		return "", fn.Errorf(fn.NotAuthenticated, "Session token required")
	}
	return visitorID, nil
}

// eventDoc builds the events row from the validated arguments.
func eventDoc(c *fn.Ctx, a fn.Args, workspaceID, visitorID, name, eventType string) (sqlstore.Doc, error) {
	d := sqlstore.Doc{"workspaceId": workspaceID, "visitorId": visitorID, "name": name, "timestamp": c.NowMs(), "eventType": eventType}
	if a.Has("properties") {
		p := a.Map("properties")
		if err := checkProperties(p); err != nil {
			return nil, err
		}
		d["properties"] = p
	}
	if a.Has("url") {
		u := a.Str("url")
		if len(u) > maxURLLen {
			return nil, fn.ErrInvalid("url is too long (max %d bytes)", maxURLLen)
		}
		d["url"] = u
	}
	if a.Has("sessionId") {
		s := a.Str("sessionId")
		if len(s) > maxSessionIDLen {
			return nil, fn.ErrInvalid("sessionId is too long (max %d bytes)", maxSessionIDLen)
		}
		d["sessionId"] = s
	}
	return d, nil
}

func checkProperties(p map[string]any) error {
	if len(p) > maxProperties {
		return fn.ErrInvalid("Too many event properties (max %d)", maxProperties)
	}
	for k, v := range p {
		if k == "" || utf8.RuneCountInString(k) > maxPropKeyLen {
			return fn.ErrInvalid("Event property names must be 1 to %d characters", maxPropKeyLen)
		}
		switch x := v.(type) {
		case string:
			if utf8.RuneCountInString(x) > maxPropStrLen {
				return fn.ErrInvalid("Event property %q is too long (max %d characters)", k, maxPropStrLen)
			}
		case []any:
			if len(x) > maxPropArrayLen {
				return fn.ErrInvalid("Event property %q has too many items (max %d)", k, maxPropArrayLen)
			}
			for _, it := range x {
				if s, ok := it.(string); ok && utf8.RuneCountInString(s) > maxPropStrLen {
					return fn.ErrInvalid("Event property %q is too long (max %d characters)", k, maxPropStrLen)
				}
			}
		}
	}
	return nil
}

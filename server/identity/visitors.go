package identity

import (
	"fmt"
	"strings"

	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

// Word lists for readable visitor ids. Opencom's lists are longer; the
// derivation (FNV-1a of the id, then three mixed indexes) is the same, so
// ids stay stable for a given visitor.
var (
	readableAdjectives = []string{"amber", "brave", "calm", "clever", "cosmic", "crisp", "daring", "eager", "fancy", "gentle", "golden", "happy", "jolly", "keen", "lively", "lucky", "mellow", "misty", "noble", "polite", "quiet", "rapid", "rosy", "shiny", "silent", "snowy", "sunny", "swift", "tidy", "vivid", "warm", "witty"}
	readableNouns      = []string{"badger", "beacon", "canyon", "cedar", "comet", "coral", "falcon", "fern", "harbor", "heron", "island", "lagoon", "lantern", "maple", "meadow", "otter", "panda", "pebble", "pine", "planet", "quartz", "raven", "river", "robin", "sparrow", "summit", "tiger", "tulip", "valley", "walrus", "willow", "zephyr"}
)

// ReadableID is a visitor's human-friendly id: "<adjective>-<noun>-<NN>".
func ReadableID(id string) string {
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= 16777619
	}
	adj := readableAdjectives[((h^0x9e3779b9)*2246822519)%uint32(len(readableAdjectives))]
	noun := readableNouns[((h^0x85ebca6b)*2246822519)%uint32(len(readableNouns))]
	n := ((h^0x27d4eb2d)*0x165667b1)%99 + 1
	return fmt.Sprintf("%s-%s-%02d", adj, noun, n)
}

// visitorFromToken resolves the visitor a session token belongs to and
// checks it matches visitorID when one is given.
func visitorFromToken(c *fn.Ctx, token, visitorID string) (sqlstore.Doc, *access.Visitor, error) {
	vis, err := access.ResolveVisitor(c, token, "")
	if err != nil {
		return nil, nil, err
	}
	if visitorID != "" && visitorID != vis.ID {
		return nil, nil, fn.Errorf(fn.NotAuthorized, "Not authorized: session does not belong to this visitor")
	}
	v, err := c.DB().Get("visitors", vis.ID)
	if err != nil || v == nil {
		return nil, nil, orNotFound(err, "Visitor")
	}
	return v, vis, nil
}

func (m *module) registerVisitors(r *fn.Registry) {
	V := fn.V
	r.Query("visitors:get", "member of the visitor's workspace (null otherwise)", fn.Fields{"id": V.ID("visitors")}, func(c *fn.Ctx, a fn.Args) (any, error) {
		v, err := c.DB().Get("visitors", a.Str("id"))
		if err != nil || v == nil {
			return nil, err
		}
		if mem, err := access.Membership(c, v.Str("workspaceId")); err != nil || mem == nil {
			return nil, err
		}
		return v, nil
	})

	// getBySession: Opencom hands the visitor to anyone who knows the
	// widget's sessionId; here the caller must be a member of the
	// visitor's workspace or hold that visitor's session token.
	r.Query("visitors:getBySession", "member or visitor session (null otherwise)", fn.Fields{"sessionId": V.String(), "sessionToken": V.Optional(V.String()), "workspaceId": V.Optional(V.ID("workspaces"))}, func(c *fn.Ctx, a fn.Args) (any, error) {
		q := c.DB().Query("visitors").Eq("sessionId", a.Str("sessionId"))
		if a.Has("workspaceId") {
			q = q.Filter(func(d sqlstore.Doc) bool { return d.Str("workspaceId") == a.Str("workspaceId") })
		}
		vs, err := q.Collect()
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			if tok := a.Str("sessionToken"); tok != "" {
				if vis, err := access.ResolveVisitor(c, tok, v.Str("workspaceId")); err == nil && vis.ID == v.ID() {
					return v, nil
				}
				continue
			}
			if mem, err := access.Membership(c, v.Str("workspaceId")); err != nil {
				return nil, err
			} else if mem != nil {
				return v, nil
			}
		}
		return nil, nil
	})

	r.Query("visitors:list", "permission:users.read ([] otherwise)", fn.Fields{"workspaceId": V.ID("workspaces"), "limit": V.Optional(V.Number())}, func(c *fn.Ctx, a fn.Args) (any, error) {
		mem, err := access.Membership(c, a.Str("workspaceId"))
		if err != nil || !mem.Has(access.UsersRead) {
			return []any{}, err
		}
		limit := 100
		if a.Has("limit") {
			limit = min(max(int(a.Num("limit")), 1), 500)
		}
		rows, err := c.DB().Query("visitors").Eq("workspaceId", a.Str("workspaceId")).Desc().Take(limit)
		if rows == nil {
			return []any{}, err
		}
		return rows, err
	})

	r.Mutation("visitors:identify", "visitor session", withArgs(profileArgs(), fn.Fields{
		"visitorId":    V.Optional(V.ID("visitors")),
		"sessionToken": V.Optional(V.String()),
	}), func(c *fn.Ctx, a fn.Args) (any, error) {
		v, _, err := visitorFromToken(c, a.Str("sessionToken"), a.Str("visitorId"))
		if err != nil {
			return nil, err
		}
		w, err := c.DB().Get("workspaces", v.Str("workspaceId"))
		if err != nil || w == nil {
			return nil, orNotFound(err, "Workspace")
		}
		origin := a.Str("origin")
		if origin == "" {
			origin = c.Caller.Origin
		}
		if ok, reason := validateOrigin(w, origin); !ok {
			return nil, fn.Errorf(fn.NotAuthorized, "Origin validation failed: %s", reason)
		}
		ver, err := checkIdentity(w, a.Str("externalUserId"), a.Str("userHash"), "Identity verification failed")
		if err != nil {
			return nil, err
		}
		now := c.NowMs()
		// provided holds the profile fields this call sets (non-empty
		// ones only); both the plain update and a merge apply them.
		provided := sqlstore.Doc{}
		for _, k := range []string{"name", "externalUserId", "referrer", "currentUrl"} {
			if s := strings.TrimSpace(a.Str(k)); s != "" {
				provided[k] = s
			}
		}
		e := NormalizeEmail(a.Str("email"))
		if e != "" {
			if !validEmail(e) {
				return nil, fn.ErrInvalid("Invalid email address")
			}
			provided["email"] = e
		}
		for _, k := range []string{"location", "device"} {
			if mm := a.Map(k); len(mm) > 0 {
				provided[k] = mm
			}
		}
		if a.Str("externalUserId") != "" && !ver.Skipped {
			provided["identityVerified"] = ver.Verified
			if ver.Verified {
				provided["identityVerifiedAt"] = now
			}
		}
		// A new email that another visitor of the workspace already has:
		// this visitor is merged into that one (see visitors_merge.go) when
		// the customer's site vouches for the caller (emailClaimTrusted).
		if e != "" && e != v.Str("email") && ver.Verified {
			target, err := canonicalVisitorByEmail(c, v.Str("workspaceId"), e, v.ID())
			if err != nil {
				return nil, err
			}
			if target != nil && emailClaimTrusted(ver, a.Str("externalUserId"), target) {
				return mergeVisitorInto(c, v, target, provided, a.Map("customAttributes"))
			}
		}
		patch := sqlstore.Doc{"lastSeenAt": now}
		for k, x := range provided {
			patch[k] = x
		}
		if ca := a.Map("customAttributes"); len(ca) > 0 {
			patch["customAttributes"] = mergeAttributes(v["customAttributes"], ca)
		}
		if err := c.DB().Patch("visitors", v.ID(), patch); err != nil {
			return nil, err
		}
		return c.DB().Get("visitors", v.ID())
	})

	r.Mutation("visitors:updateLocation", "permission:users.read or visitor session", fn.Fields{"visitorId": V.ID("visitors"), "sessionToken": V.Optional(V.String()), "location": locationValidator()}, func(c *fn.Ctx, a fn.Args) (any, error) {
		v, err := c.DB().Get("visitors", a.Str("visitorId"))
		if err != nil || v == nil {
			return nil, orNotFound(err, "Visitor")
		}
		if err := authorizeVisitorRead(c, v, a.Str("sessionToken"), access.UsersRead); err != nil {
			return nil, err
		}
		return nil, c.DB().Patch("visitors", v.ID(), sqlstore.Doc{"location": a.Map("location"), "lastSeenAt": c.NowMs()})
	})

	// heartbeat is fire-and-forget from the widget: a bad token is ignored
	// rather than reported, as in Opencom.
	r.Mutation("visitors:heartbeat", "visitor session (silent no-op otherwise)", fn.Fields{"visitorId": V.Optional(V.ID("visitors")), "sessionToken": V.Optional(V.String()), "origin": V.Optional(V.String())}, func(c *fn.Ctx, a fn.Args) (any, error) {
		v, _, err := visitorFromToken(c, a.Str("sessionToken"), a.Str("visitorId"))
		if err != nil {
			return nil, nil
		}
		return nil, c.DB().Patch("visitors", v.ID(), sqlstore.Doc{"lastSeenAt": c.NowMs()})
	})

	registerMergeHistory(r)
}

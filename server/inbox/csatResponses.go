package inbox

import (
	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

// CSAT lives in Opencom's reporting module (reporting/csatMetrics.ts), so
// its functions keep the reporting: names the widget calls.
func registerCsat(r *fn.Registry) {
	args := fn.Fields{"conversationId": V.ID("conversations"), "visitorId": V.Optional(V.ID("visitors")), "sessionToken": V.Optional(V.String())}
	eligibility := func(c *fn.Ctx, a fn.Args) (any, error) {
		conv, err := getDoc(c, "conversations", a.Str("conversationId"), "Conversation")
		if err != nil {
			return nil, err
		}
		if err := csatAccess(c, conv, a); err != nil {
			return nil, err
		}
		enabled, done, err := csatState(c, conv)
		if err != nil {
			return nil, err
		}
		reason := "eligible"
		switch {
		case !enabled:
			reason = "disabled"
		case conv.Str("status") != "closed":
			reason = "conversation_not_closed"
		case done:
			reason = "already_submitted"
		}
		return map[string]any{"eligible": reason == "eligible", "reason": reason, "askForRatingEnabled": enabled,
			"alreadySubmitted": done, "conversationStatus": conv.Str("status")}, nil
	}
	r.Query("reporting:getCsatEligibility", "agent or visitor", args, eligibility)
	// csat:* are the names the widget calls; same functions.
	r.Query("csat:getEligibility", "agent or visitor", args, eligibility)

	submit := fn.Fields{"rating": V.Number(), "feedback": V.Optional(V.String())}
	for k, v := range args {
		submit[k] = v
	}
	submitFn := func(c *fn.Ctx, a fn.Args) (any, error) {
		rating := a.Num("rating")
		if rating < 1 || rating > 5 || rating != float64(int(rating)) {
			return nil, fn.ErrInvalid("Rating must be between 1 and 5")
		}
		if len(a.Str("feedback")) > maxMessageLen {
			return nil, fn.ErrInvalid("feedback is too long")
		}
		conv, err := getDoc(c, "conversations", a.Str("conversationId"), "Conversation")
		if err != nil {
			return nil, err
		}
		if err := csatAccess(c, conv, a); err != nil {
			return nil, err
		}
		enabled, done, err := csatState(c, conv)
		if err != nil {
			return nil, err
		}
		if !enabled {
			return nil, fn.ErrInvalid("CSAT collection is disabled for this workspace")
		}
		if conv.Str("status") != "closed" {
			return nil, fn.ErrInvalid("CSAT can only be submitted for closed conversations")
		}
		if done {
			return nil, fn.Errorf(fn.AlreadyExists, "CSAT response already submitted for this conversation")
		}
		now := c.NowMs()
		d := sqlstore.Doc{"workspaceId": conv.Str("workspaceId"), "conversationId": conv.ID(), "rating": rating, "createdAt": now}
		if v := conv.Str("visitorId"); v != "" {
			d["visitorId"] = v
		}
		if ag := conv.Str("assignedAgentId"); ag != "" {
			d["agentId"] = ag
		}
		if f := a.Str("feedback"); f != "" {
			d["feedback"] = f
		}
		id, err := c.DB().Insert("csatResponses", d)
		if err != nil {
			return nil, err
		}
		return id, c.DB().Patch("conversations", conv.ID(), sqlstore.Doc{"csatCompletedAt": now, "csatResponseId": id, "updatedAt": now})
	}
	r.Mutation("reporting:submitCsatResponse", "agent or visitor", submit, submitFn)
	r.Mutation("csat:submit", "agent or visitor", submit, submitFn)
}

// csatAccess: the owning visitor (session token) or an agent who can read
// the conversation.
func csatAccess(c *fn.Ctx, conv sqlstore.Doc, a fn.Args) error {
	if tok := a.Str("sessionToken"); tok != "" {
		if _, err := conversationAccess(c, conv, tok, a.Str("visitorId"), ""); err != nil {
			return fn.Errorf(errCode(err), "Not authorized to submit CSAT response")
		}
		return nil
	}
	if uid, _ := access.UserID(c); uid == "" {
		return fn.Errorf(fn.NotAuthenticated, "Not authorized to submit CSAT response")
	}
	_, err := access.RequirePermission(c, conv.Str("workspaceId"), access.ConversationsRead)
	return err
}

func csatState(c *fn.Ctx, conv sqlstore.Doc) (enabled, done bool, err error) {
	s, err := automationSettingsRow(c, conv.Str("workspaceId"))
	if err != nil {
		return false, false, err
	}
	enabled = s != nil && s.Bool("askForRatingEnabled")
	if conv.Has("csatCompletedAt") || conv.Has("csatResponseId") {
		return enabled, true, nil
	}
	n, err := c.DB().Query("csatResponses").Eq("conversationId", conv.ID()).Count()
	return enabled, n > 0, err
}

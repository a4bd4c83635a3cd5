// Package demo seeds a demo workspace for `opencom serve --demo`: an owner
// account, visitors, conversations with messages, tags and snippets, so a
// new install can be explored at once.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"time"

	"github.com/opencom-go/opencom/server"
	"github.com/opencom-go/opencom/server/identity"
	"github.com/opencom-go/opencom/sqlstore"
)

// Email of the demo owner.
const Email = "demo@opencom.local"

// Seed fills an EMPTY database (no users) and logs the owner's
// credentials. On any other database it does nothing.
func Seed(ctx context.Context, srv *server.Server, log *slog.Logger) error {
	var b [9]byte
	rand.Read(b[:])
	password := "demo-" + hex.EncodeToString(b[:])
	seeded := false
	_, err := srv.Store.Write(ctx, func(tx *sqlstore.Tx) error {
		empty, err := identity.NeedsSetup(tx)
		if err != nil || !empty {
			return err
		}
		seeded = true
		return seed(tx, password, time.Now())
	})
	if err != nil {
		return err
	}
	if seeded {
		log.Warn("demo workspace created; sign in with these credentials", "email", Email, "password", password)
	} else {
		log.Info("--demo: database already has users; nothing seeded")
	}
	return nil
}

type convSpec struct {
	visitor  int
	status   string
	tags     []int
	messages [][2]string // senderType, content
}

func seed(tx *sqlstore.Tx, password string, now time.Time) error {
	owner, err := identity.CreateUserWithPassword(tx, Email, password, "Demo Owner")
	if err != nil {
		return err
	}
	ms := func(ago time.Duration) float64 { return float64(now.Add(-ago).UnixMilli()) }
	ws, err := identity.CreateWorkspace(tx, "Demo Workspace", owner, ms(0))
	if err != nil {
		return err
	}
	visitors := []sqlstore.Doc{
		{"name": "Ada Lovelace", "email": "ada@example.com", "location": map[string]any{"city": "London", "country": "United Kingdom", "countryCode": "GB"}},
		{"name": "Grace Hopper", "email": "grace@example.com", "location": map[string]any{"city": "New York", "country": "United States", "countryCode": "US"}},
		{"name": "Linus Example", "email": "linus@example.com"},
		{},
	}
	var vids []string
	for i, v := range visitors {
		v["workspaceId"] = ws
		v["sessionId"] = "demo-session-" + string(rune('a'+i))
		v["createdAt"], v["firstSeenAt"], v["lastSeenAt"] = ms(72*time.Hour), ms(72*time.Hour), ms(time.Duration(i)*time.Hour)
		id, err := tx.Insert("visitors", v)
		if err != nil {
			return err
		}
		if err := tx.Patch("visitors", id, sqlstore.Doc{"readableId": identity.ReadableID(id)}); err != nil {
			return err
		}
		vids = append(vids, id)
	}
	var tags []string
	for _, t := range [][2]string{{"billing", "#f59e0b"}, {"bug", "#ef4444"}, {"feature request", "#3b82f6"}} {
		id, err := tx.Insert("tags", sqlstore.Doc{"workspaceId": ws, "name": t[0], "color": t[1], "createdAt": ms(0), "updatedAt": ms(0)})
		if err != nil {
			return err
		}
		tags = append(tags, id)
	}
	for _, s := range [][3]string{
		{"Greeting", "greet", "Hi there! Thanks for reaching out — how can I help?"},
		{"Refund policy", "refund", "We refund any purchase within 30 days, no questions asked."},
		{"Closing", "bye", "Glad I could help. Have a great day!"},
	} {
		if _, err := tx.Insert("snippets", sqlstore.Doc{"workspaceId": ws, "name": s[0], "shortcut": s[1], "content": s[2], "createdBy": owner, "createdAt": ms(0), "updatedAt": ms(0)}); err != nil {
			return err
		}
	}
	convs := []convSpec{
		{0, "open", []int{0}, [][2]string{{"visitor", "Hi, I was charged twice for my subscription this month."}, {"agent", "Sorry about that! Let me check your invoices."}, {"visitor", "Thanks, the second charge was on the 3rd."}}},
		{1, "open", []int{1}, [][2]string{{"visitor", "The export button does nothing in Firefox."}}},
		{2, "closed", []int{2}, [][2]string{{"visitor", "Could you add dark mode to the widget?"}, {"agent", "Great idea — I've passed it on to the product team."}}},
		{3, "snoozed", nil, [][2]string{{"visitor", "Is there an on-prem version?"}, {"agent", "Yes, you are looking at it!"}}},
	}
	for i, cs := range convs {
		start := time.Duration(len(convs)-i) * 3 * time.Hour
		created := ms(start)
		conv := sqlstore.Doc{"workspaceId": ws, "visitorId": vids[cs.visitor], "status": cs.status, "channel": "chat",
			"createdAt": created, "updatedAt": created, "aiWorkflowState": "none", "unreadByAgent": 0.0, "unreadByVisitor": 0.0}
		if cs.status == "closed" {
			conv["resolvedAt"] = ms(start - time.Hour)
		}
		cid, err := tx.Insert("conversations", conv)
		if err != nil {
			return err
		}
		all := append([][2]string{{"bot", "Hi! How can we help you today?"}}, cs.messages...)
		patch := sqlstore.Doc{}
		for j, m := range all {
			at := ms(start - time.Duration(j)*5*time.Minute)
			sender := "system"
			switch m[0] {
			case "visitor":
				sender = vids[cs.visitor]
				patch["unreadByAgent"] = 1.0
			case "agent":
				sender = owner
				patch["unreadByAgent"] = 0.0
				if _, ok := patch["firstResponseAt"]; !ok {
					patch["firstResponseAt"] = at
				}
			}
			if _, err := tx.Insert("messages", sqlstore.Doc{"conversationId": cid, "workspaceId": ws, "senderId": sender, "senderType": m[0],
				"content": m[1], "channel": "chat", "createdAt": at}); err != nil {
				return err
			}
			patch["lastMessageAt"], patch["updatedAt"], patch["lastMessagePreview"], patch["lastMessageSenderType"] = at, at, m[1], m[0]
		}
		if i == 0 {
			patch["assignedAgentId"] = owner
		}
		if err := tx.Patch("conversations", cid, patch); err != nil {
			return err
		}
		for _, t := range cs.tags {
			if _, err := tx.Insert("conversationTags", sqlstore.Doc{"conversationId": cid, "tagId": tags[t], "appliedBy": "manual", "appliedByUserId": owner, "createdAt": created}); err != nil {
				return err
			}
		}
	}
	_, err = tx.Insert("automationSettings", sqlstore.Doc{"workspaceId": ws, "suggestArticlesEnabled": false, "showReplyTimeEnabled": true,
		"collectEmailEnabled": true, "askForRatingEnabled": true, "createdAt": ms(0), "updatedAt": ms(0)})
	return err
}

package inbox

import (
	"sort"
	"sync"
	"time"

	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

// TypingTTL is how long a typing indicator lives without a refresh.
const TypingTTL = 5 * time.Second

// typingState holds who is typing where. It is deliberately not stored:
// indicators are worthless after a few seconds and would only churn the
// database and the change feed.
type typingState struct {
	mu         sync.Mutex
	convs      map[string]map[string]*typist // conversationId → "type:id" → typist
	invalidate func(keys ...sqlstore.ReadKey)
	now        func() time.Time
}

type typist struct {
	userType  string // "agent" or "visitor"
	id        string
	name      string
	expiresAt time.Time
	timer     *time.Timer
}

func newTypingState(inv func(keys ...sqlstore.ReadKey)) *typingState {
	if inv == nil {
		inv = func(...sqlstore.ReadKey) {}
	}
	return &typingState{convs: map[string]map[string]*typist{}, invalidate: inv, now: time.Now}
}

func typingKey(convID string) sqlstore.ReadKey {
	return sqlstore.FieldKey("typing", "conversationId", convID)
}

func (t *typingState) set(convID, userType, id, name string, typing bool) {
	t.mu.Lock()
	k := userType + ":" + id
	m := t.convs[convID]
	changed := false
	if typing {
		if m == nil {
			m = map[string]*typist{}
			t.convs[convID] = m
		}
		p := m[k]
		if p == nil {
			p = &typist{userType: userType, id: id, name: name}
			m[k] = p
			changed = true
		} else {
			p.timer.Stop()
		}
		p.expiresAt = t.now().Add(TypingTTL)
		p.timer = time.AfterFunc(TypingTTL, func() { t.expire(convID, k, p) })
	} else if p := m[k]; p != nil {
		p.timer.Stop()
		delete(m, k)
		if len(m) == 0 {
			delete(t.convs, convID)
		}
		changed = true
	}
	t.mu.Unlock()
	if changed {
		t.invalidate(typingKey(convID))
	}
}

func (t *typingState) expire(convID, k string, p *typist) {
	t.mu.Lock()
	m := t.convs[convID]
	if m == nil || m[k] != p {
		t.mu.Unlock()
		return
	}
	delete(m, k)
	if len(m) == 0 {
		delete(t.convs, convID)
	}
	t.mu.Unlock()
	t.invalidate(typingKey(convID))
}

func (t *typingState) list(convID string) []map[string]any {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := []map[string]any{}
	now := t.now()
	for _, p := range t.convs[convID] {
		if p.expiresAt.Before(now) {
			continue
		}
		e := map[string]any{"userType": p.userType, "id": p.id, "expiresAt": float64(p.expiresAt.UnixMilli())}
		if p.name != "" {
			e["name"] = p.name
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["id"].(string) < out[j]["id"].(string) })
	return out
}

func registerTyping(r *fn.Registry, t *typingState) {
	r.Mutation("typing:set", "agent or visitor", fn.Fields{
		"conversationId": V.ID("conversations"),
		"isTyping":       V.Boolean(),
		"visitorId":      V.Optional(V.ID("visitors")),
		"sessionToken":   V.Optional(V.String()),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		conv, err := getDoc(c, "conversations", a.Str("conversationId"), "Conversation")
		if err != nil {
			return nil, err
		}
		cc, err := conversationAccess(c, conv, a.Str("sessionToken"), a.Str("visitorId"), "conversations.reply")
		if err != nil {
			return nil, err
		}
		if cc.isVisitor() {
			t.set(conv.ID(), "visitor", cc.visitor.ID, "", a.Bool("isTyping"))
		} else {
			name, err := userName(c, cc.member.UserID)
			if err != nil {
				return nil, err
			}
			t.set(conv.ID(), "agent", cc.member.UserID, name, a.Bool("isTyping"))
		}
		return nil, nil
	})

	list := func(c *fn.Ctx, a fn.Args) (any, error) {
		conv, err := c.DB().Get("conversations", a.Str("conversationId"))
		if err != nil || conv == nil {
			return []any{}, err
		}
		var self string
		visitor := false
		if tok := a.Str("sessionToken"); tok != "" {
			cc, err := conversationAccess(c, conv, tok, a.Str("visitorId"), "")
			if err != nil {
				return nil, err
			}
			self, visitor = cc.visitor.ID, true
		} else {
			m, ok, err := softMember(c, conv.Str("workspaceId"), "conversations.read")
			if err != nil || !ok {
				return []any{}, err
			}
			self = m.UserID
		}
		c.DB().Reads.Add(typingKey(conv.ID()))
		out := []map[string]any{}
		for _, p := range t.list(conv.ID()) {
			if p["id"] == self {
				continue
			}
			if visitor {
				// Visitors learn that support is typing, not who else is.
				if p["userType"] != "agent" {
					continue
				}
			}
			out = append(out, p)
		}
		return out, nil
	}
	listArgs := fn.Fields{
		"conversationId": V.ID("conversations"),
		"visitorId":      V.Optional(V.ID("visitors")),
		"sessionToken":   V.Optional(V.String()),
	}
	// typing:get is what the agent app calls, typing:getForConversation
	// what the widget calls: one query under both names.
	r.Query("typing:get", "agent or visitor", listArgs, list)
	r.Query("typing:getForConversation", "agent or visitor", listArgs, list)
	r.Query("typing:list", "agent or visitor", listArgs, list)
}

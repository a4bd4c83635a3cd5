package channel

import (
	"context"

	"github.com/opencom-go/opencom/sqlstore"
)

// event is one frame to deliver, with who may see it.
type event struct {
	channels  []string
	frame     []byte
	staffOnly bool // internal notes: never to visitors
}

func (s *Service) run() {
	for range s.wake {
		for {
			s.qmu.Lock()
			q := s.queue
			s.queue = nil
			s.qmu.Unlock()
			if len(q) == 0 {
				break
			}
			for _, b := range q {
				s.process(b)
			}
		}
	}
}

// process turns one committed batch into events. The change feed carries
// only key columns, so message bodies are read back from a snapshot that
// includes the batch (the store publishes before such a snapshot exists).
func (s *Service) process(b sqlstore.Batch) {
	if !s.hasSubscribers() {
		return
	}
	var evs []event
	_, err := s.store.Read(context.Background(), func(tx *sqlstore.Tx) error {
		for _, c := range b.Changes {
			switch {
			case c.Table == "messages" && c.Op == sqlstore.OpInsert:
				m, err := tx.Get("messages", c.ID)
				if err != nil {
					return err
				}
				if m == nil {
					continue
				}
				cid := m.Str("conversationId")
				ws := m.Str("workspaceId")
				data := map[string]any{
					"conversation_id": cid, "workspace_id": ws, "message_id": m.ID(),
					"sender_id": m.Str("senderId"), "sender_type": m.Str("senderType"),
					"content": m.Str("content"), "created_at": m.Num("createdAt"),
				}
				if m.Bool("isInternal") {
					data["is_internal"] = true
				}
				evs = append(evs, event{channels: []string{"conversation:" + cid, "workspace:" + ws},
					frame: frame("chat_message", data, nil), staffOnly: m.Bool("isInternal")})
			case c.Table == "conversations" && c.Op == sqlstore.OpInsert:
				ws, _ := c.New["workspaceId"].(string)
				evs = append(evs, event{channels: []string{"workspace:" + ws}, staffOnly: true,
					frame: frame("notification", map[string]any{"message": "New conversation", "level": "info",
						"kind": "conversation_created", "conversation_id": c.ID, "workspace_id": ws}, nil)})
			case c.Table == "conversations" && c.Op == sqlstore.OpUpdate:
				ws, _ := c.New["workspaceId"].(string)
				oldS, _ := c.Old["status"].(string)
				newS, _ := c.New["status"].(string)
				if oldS != newS {
					evs = append(evs, event{channels: []string{"conversation:" + c.ID, "workspace:" + ws},
						frame: frame("status_update", map[string]any{"entity_type": "conversation", "entity_id": c.ID,
							"status": newS, "previous_status": oldS, "workspace_id": ws}, nil)})
				}
				oldA, _ := c.Old["assignedAgentId"].(string)
				newA, _ := c.New["assignedAgentId"].(string)
				if oldA != newA {
					evs = append(evs, event{channels: []string{"workspace:" + ws, "conversation:" + c.ID}, staffOnly: true,
						frame: frame("notification", map[string]any{"message": "Conversation assigned", "level": "info",
							"kind": "conversation_assigned", "conversation_id": c.ID, "assigned_agent_id": newA, "workspace_id": ws}, nil)})
				}
			}
		}
		return nil
	})
	if err != nil {
		s.log.Error("channel: building events", "err", err)
		return
	}
	for _, e := range evs {
		s.deliver(e)
	}
}

func (s *Service) hasSubscribers() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs) > 0
}

// deliver sends e once to each connection subscribed to any of its
// channels (a connection on both the conversation and its workspace gets
// one copy).
func (s *Service) deliver(e event) {
	s.mu.Lock()
	targets := map[*conn]struct{}{}
	for _, ch := range e.channels {
		for c := range s.subs[ch] {
			if e.staffOnly && c.who.isVisitor() {
				continue
			}
			targets[c] = struct{}{}
		}
	}
	s.mu.Unlock()
	for c := range targets {
		s.push(c, e.frame)
	}
}

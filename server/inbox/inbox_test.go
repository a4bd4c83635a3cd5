package inbox

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/server/testenv"
	"github.com/opencom-go/opencom/sqlstore"
)

type world struct {
	t                        *testing.T
	eng                      *fn.Engine
	ws, agent, viewer, visit string
	token, conv              string
}

func newWorld(t *testing.T, inv func(...sqlstore.ReadKey)) *world {
	ctx := context.Background()
	st := testenv.Store(t, nil)
	reg := fn.NewRegistry()
	Register(reg, Deps{Invalidate: inv})
	w := &world{t: t, eng: fn.NewEngine(st, reg, testenv.QuietLog()), token: "wst_test"}
	now := float64(time.Now().UnixMilli())
	_, err := st.Write(ctx, func(tx *sqlstore.Tx) error {
		w.ws, _ = tx.Insert("workspaces", sqlstore.Doc{"name": "A"})
		w.agent, _ = tx.Insert("users", sqlstore.Doc{"email": "a@x.test", "name": "Agent A"})
		w.viewer, _ = tx.Insert("users", sqlstore.Doc{"email": "v@x.test"})
		tx.Insert("workspaceMembers", sqlstore.Doc{"userId": w.agent, "workspaceId": w.ws, "role": access.RoleAgent})
		tx.Insert("workspaceMembers", sqlstore.Doc{"userId": w.viewer, "workspaceId": w.ws, "role": access.RoleViewer})
		w.visit, _ = tx.Insert("visitors", sqlstore.Doc{"workspaceId": w.ws, "sessionId": "s1", "name": "Vera"})
		_, err := tx.Insert("widgetSessions", sqlstore.Doc{"tokenHash": access.HashToken(w.token), "visitorId": w.visit, "workspaceId": w.ws, "expiresAt": now + 3.6e6})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	conv := w.mut("", "conversations:createForVisitor", map[string]any{"workspaceId": w.ws, "sessionToken": w.token}).(map[string]any)
	w.conv = conv["_id"].(string)
	return w
}

func (w *world) call(kind fn.Kind, user, name string, args map[string]any) (any, *fn.Error) {
	call := fn.Call{Path: name, Args: args, RequestID: -1}
	if user != "" {
		call.Identity = &fn.Identity{Subject: user}
	}
	var r fn.Result
	if kind == fn.KindQuery {
		r = w.eng.Query(context.Background(), call)
	} else {
		r = w.eng.Mutation(context.Background(), call)
	}
	if r.Err != nil {
		return nil, r.Err
	}
	var v any
	json.Unmarshal(r.Value, &v)
	return v, nil
}

func (w *world) mut(user, name string, args map[string]any) any {
	w.t.Helper()
	v, err := w.call(fn.KindMutation, user, name, args)
	if err != nil {
		w.t.Fatalf("%s: %s %s", name, err.Code, err.Message)
	}
	return v
}

func (w *world) query(user, name string, args map[string]any) any {
	w.t.Helper()
	v, err := w.call(fn.KindQuery, user, name, args)
	if err != nil {
		w.t.Fatalf("%s: %s %s", name, err.Code, err.Message)
	}
	return v
}

func (w *world) convDoc() map[string]any {
	return w.query(w.agent, "conversations:get", map[string]any{"id": w.conv}).(map[string]any)
}

func TestSendSideEffects(t *testing.T) {
	w := newWorld(t, nil)
	visitorMsg := map[string]any{"conversationId": w.conv, "senderType": "visitor", "senderId": "x", "content": "help", "sessionToken": w.token}
	agentMsg := func(internal bool) map[string]any {
		return map[string]any{"conversationId": w.conv, "senderType": "agent", "senderId": w.agent, "content": "on it", "isInternal": internal}
	}
	steps := []struct {
		name         string
		user         string
		args         map[string]any
		wantErr      string
		unreadAgent  float64
		unreadVis    float64
		status       string
		firstRespSet bool
	}{
		{"visitor writes", "", visitorMsg, "", 1, 0, "open", false},
		{"internal note changes no counters", w.agent, agentMsg(true), "", 1, 0, "open", false},
		{"agent replies", w.agent, agentMsg(false), "", 1, 1, "open", true},
		{"viewer cannot reply", w.viewer, agentMsg(false), fn.PermissionDenied, 1, 1, "open", true},
		{"bot refused publicly", w.agent, map[string]any{"conversationId": w.conv, "senderType": "bot", "senderId": "s", "content": "x"}, fn.NotAuthorized, 1, 1, "open", true},
		{"visitor cannot write notes", "", map[string]any{"conversationId": w.conv, "senderType": "visitor", "senderId": "x", "content": "x", "sessionToken": w.token, "isInternal": true}, fn.NotAuthorized, 1, 1, "open", true},
		{"empty content", w.agent, map[string]any{"conversationId": w.conv, "senderType": "agent", "senderId": w.agent, "content": "  "}, fn.InvalidInput, 1, 1, "open", true},
	}
	for _, s := range steps {
		_, err := w.call(fn.KindMutation, s.user, "messages:send", s.args)
		if (err == nil) != (s.wantErr == "") || (err != nil && err.Code != s.wantErr) {
			t.Fatalf("%s: got err %v, want %q", s.name, err, s.wantErr)
		}
		c := w.convDoc()
		if c["unreadByAgent"] != s.unreadAgent || c["unreadByVisitor"] != s.unreadVis || c["status"] != s.status || (c["firstResponseAt"] != nil) != s.firstRespSet {
			t.Fatalf("%s: conversation %v", s.name, c)
		}
	}
	// Closed conversation reopens when the visitor writes; timeline records both.
	w.mut(w.agent, "conversations:updateStatus", map[string]any{"id": w.conv, "status": "closed"})
	if c := w.convDoc(); c["status"] != "closed" || c["resolvedAt"] == nil {
		t.Fatalf("close: %v", c)
	}
	w.mut("", "messages:send", visitorMsg)
	if c := w.convDoc(); c["status"] != "open" || c["resolvedAt"] != nil || c["unreadByAgent"] != 2.0 {
		t.Fatalf("reopen: %v", c)
	}
	evs := w.query(w.agent, "conversations:listEvents", map[string]any{"id": w.conv}).([]any)
	if len(evs) != 2 {
		t.Fatalf("events: %v", evs)
	}
	// The visitor never sees the note; the agent does.
	vis := w.query("", "messages:list", map[string]any{"conversationId": w.conv, "sessionToken": w.token}).([]any)
	ag := w.query(w.agent, "messages:list", map[string]any{"conversationId": w.conv}).([]any)
	if len(ag) != len(vis)+1 {
		t.Fatalf("agent %d messages, visitor %d", len(ag), len(vis))
	}
	for _, m := range vis {
		if m.(map[string]any)["isInternal"] == true {
			t.Fatal("internal note returned to visitor")
		}
	}
	// markAsRead clears only the reader's side.
	w.mut(w.agent, "conversations:markAsRead", map[string]any{"id": w.conv, "readerType": "agent"})
	if c := w.convDoc(); c["unreadByAgent"] != 0.0 || c["unreadByVisitor"] != 1.0 {
		t.Fatalf("markAsRead: %v", c)
	}
}

// Pages read while messages are being inserted concurrently: following
// continueCursor from the first page yields every message that existed
// when reading started, once, in order.
func TestPaginationStableUnderConcurrentInserts(t *testing.T) {
	w := newWorld(t, nil)
	for i := 0; i < 60; i++ {
		w.mut(w.agent, "messages:send", map[string]any{"conversationId": w.conv, "senderType": "agent", "senderId": w.agent, "content": fmt.Sprintf("m%d", i)})
	}
	before := w.query(w.agent, "messages:list", map[string]any{"conversationId": w.conv}).([]any)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			w.call(fn.KindMutation, w.agent, "messages:send", map[string]any{"conversationId": w.conv, "senderType": "agent", "senderId": w.agent, "content": fmt.Sprintf("new%d", i)})
		}
	}()
	seen := map[string]bool{}
	var order []string
	cursor := any(nil)
	for {
		pg := w.query(w.agent, "messages:list", map[string]any{"conversationId": w.conv, "paginationOpts": map[string]any{"numItems": 7.0, "cursor": cursor}}).(map[string]any)
		for _, m := range pg["page"].([]any) {
			id := m.(map[string]any)["_id"].(string)
			if seen[id] {
				t.Fatalf("duplicate %s", id)
			}
			seen[id] = true
			order = append(order, id)
		}
		if pg["isDone"] == true {
			break
		}
		cursor = pg["continueCursor"]
	}
	close(stop)
	wg.Wait()
	for _, m := range before {
		if !seen[m.(map[string]any)["_id"].(string)] {
			t.Fatalf("gap: %v missing", m)
		}
	}
	// Newest first, ending with the oldest (the welcome message).
	if order[len(order)-1] != before[0].(map[string]any)["_id"] {
		t.Fatal("last page does not end with the oldest message")
	}
}

func TestTypingExpires(t *testing.T) {
	var mu sync.Mutex
	var keys []sqlstore.ReadKey
	w := newWorld(t, func(k ...sqlstore.ReadKey) { mu.Lock(); keys = append(keys, k...); mu.Unlock() })
	w.mut("", "typing:set", map[string]any{"conversationId": w.conv, "isTyping": true, "sessionToken": w.token})
	got := w.query(w.agent, "typing:get", map[string]any{"conversationId": w.conv}).([]any)
	if len(got) != 1 || got[0].(map[string]any)["userType"] != "visitor" {
		t.Fatalf("typing: %v", got)
	}
	// The visitor does not see itself.
	if v := w.query("", "typing:list", map[string]any{"conversationId": w.conv, "sessionToken": w.token}).([]any); len(v) != 0 {
		t.Fatalf("visitor sees %v", v)
	}
	time.Sleep(TypingTTL + 300*time.Millisecond)
	if got := w.query(w.agent, "typing:get", map[string]any{"conversationId": w.conv}).([]any); len(got) != 0 {
		t.Fatalf("not expired: %v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keys) != 2 || keys[0] != typingKey(w.conv) {
		t.Fatalf("invalidations %v", keys)
	}
}

func TestSearchScopedToWorkspace(t *testing.T) {
	w := newWorld(t, nil)
	w.mut("", "messages:send", map[string]any{"conversationId": w.conv, "senderType": "visitor", "senderId": "x", "content": "my invoice is doubled", "sessionToken": w.token})
	cases := []struct {
		q    string
		want int
	}{{"invoice", 1}, {"INVOI", 1}, {"vera", 1}, {"nothing", 0}, {`"; DROP`, 0}}
	for _, c := range cases {
		got := w.query(w.agent, "conversations:search", map[string]any{"workspaceId": w.ws, "query": c.q}).([]any)
		if len(got) != c.want {
			t.Fatalf("search %q: %d results, want %d", c.q, len(got), c.want)
		}
	}
	if _, err := w.call(fn.KindQuery, w.agent, "conversations:search", map[string]any{"workspaceId": "b0000000000000000000000000000000", "query": "invoice"}); err == nil || err.Code != fn.NotWorkspaceMember {
		t.Fatalf("other workspace: %v", err)
	}
}

package inbox

import (
	"sort"
	"strings"
	"unicode"

	"github.com/opencom-go/opencom/server/access"
	"github.com/opencom-go/opencom/server/fn"
	"github.com/opencom-go/opencom/sqlstore"
)

// ftsQuery turns what an agent typed into a safe FTS5 expression: each
// word becomes a quoted prefix term, all of which must match. FTS5 syntax
// characters typed by the user are never interpreted.
func ftsQuery(s string) string {
	words := strings.FieldsFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '@' && r != '.' && r != '_' && r != '-'
	})
	var terms []string
	for _, w := range words {
		w = strings.Trim(w, ".-_")
		if w == "" {
			continue
		}
		terms = append(terms, `"`+strings.ReplaceAll(w, `"`, `""`)+`"*`)
		if len(terms) == 8 {
			break
		}
	}
	return strings.Join(terms, " AND ")
}

func registerSearch(r *fn.Registry) {
	r.Query("conversations:search", "permission:conversations.read", fn.Fields{
		"workspaceId": V.ID("workspaces"),
		"query":       V.String(),
		"status":      V.Optional(statusV),
		"limit":       V.Optional(V.Number()),
	}, func(c *fn.Ctx, a fn.Args) (any, error) {
		ws := a.Str("workspaceId")
		if _, ok, err := softMember(c, ws, access.ConversationsRead); err != nil || !ok {
			return []any{}, err
		}
		limit := 20
		if a.Has("limit") {
			limit = min(max(int(a.Num("limit")), 1), 50)
		}
		match := ftsQuery(a.Str("query"))
		if match == "" {
			return []any{}, nil
		}
		// Raw FTS reads are not recorded by the store: depend on every
		// message and visitor write, and on this workspace's conversations.
		c.DB().Reads.Add(sqlstore.TableKey("messages"))
		c.DB().Reads.Add(sqlstore.TableKey("visitors"))
		c.DB().Reads.Add(sqlstore.FieldKey("conversations", "workspaceId", ws))

		type hit struct {
			rank     float64
			snippet  string
			messages int
			visitor  bool
		}
		hits := map[string]*hit{}
		rows, err := c.DB().QueryRaw(`SELECT conversationId, snippet(messages_fts, 0, '[', ']', '…', 12), rank
			FROM messages_fts WHERE messages_fts MATCH ? AND workspaceId = ? ORDER BY rank LIMIT 500`, match, ws)
		if err != nil {
			return nil, fn.ErrInvalid("Invalid search query")
		}
		for rows.Next() {
			var cid, snip string
			var rank float64
			if err := rows.Scan(&cid, &snip, &rank); err != nil {
				rows.Close()
				return nil, err
			}
			h := hits[cid]
			if h == nil {
				h = &hit{rank: rank, snippet: snip}
				hits[cid] = h
			}
			h.messages++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		vrows, err := c.DB().QueryRaw(`SELECT v._id FROM visitors_fts f JOIN visitors v ON v.rowid = f.rowid
			WHERE visitors_fts MATCH ? AND f.workspaceId = ? LIMIT 200`, match, ws)
		if err != nil {
			return nil, err
		}
		var vids []string
		for vrows.Next() {
			var id string
			if err := vrows.Scan(&id); err != nil {
				vrows.Close()
				return nil, err
			}
			vids = append(vids, id)
		}
		vrows.Close()
		for _, vid := range vids {
			convs, err := c.DB().Query("conversations").Eq("visitorId", vid).Collect()
			if err != nil {
				return nil, err
			}
			for _, conv := range convs {
				h := hits[conv.ID()]
				if h == nil {
					// Name/email matches rank above any message match.
					h = &hit{rank: -1e9}
					hits[conv.ID()] = h
				}
				h.visitor = true
			}
		}
		type result struct {
			doc  sqlstore.Doc
			rank float64
		}
		var res []result
		for cid, h := range hits {
			conv, err := c.DB().Get("conversations", cid)
			if err != nil {
				return nil, err
			}
			// The FTS tables are workspace-scoped already; re-check against
			// the document so a stale index row can never leak across.
			if conv == nil || conv.Str("workspaceId") != ws {
				continue
			}
			if s := a.Str("status"); s != "" && conv.Str("status") != s {
				continue
			}
			e := copyDoc(conv)
			var visitor sqlstore.Doc
			if vid := conv.Str("visitorId"); vid != "" {
				if visitor, err = c.DB().Get("visitors", vid); err != nil {
					return nil, err
				}
			}
			e["visitor"] = nullable(visitor)
			e["matchedVisitor"] = h.visitor
			e["matchCount"] = float64(h.messages)
			if h.snippet != "" {
				e["snippet"] = h.snippet
			} else {
				e["snippet"] = nil
			}
			res = append(res, result{e, h.rank})
		}
		sort.Slice(res, func(i, j int) bool {
			if res[i].rank != res[j].rank {
				return res[i].rank < res[j].rank
			}
			return sortTime(res[i].doc) > sortTime(res[j].doc)
		})
		out := make([]sqlstore.Doc, 0, min(limit, len(res)))
		for i := 0; i < len(res) && i < limit; i++ {
			out = append(out, res[i].doc)
		}
		return out, nil
	})
}

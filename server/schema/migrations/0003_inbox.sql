-- Inbox: conversations, messages, timeline events, tags, snippets, tickets,
-- automation settings, CSAT responses, and the FTS5 indexes behind
-- conversation search. Document tables follow schema.go; key columns are
-- the fields queries filter or sort on.

CREATE TABLE conversations (
  _id TEXT PRIMARY KEY, _creationTime REAL NOT NULL,
  workspaceId TEXT NOT NULL, visitorId TEXT, status TEXT NOT NULL, assignedAgentId TEXT,
  channel TEXT, aiWorkflowState TEXT,
  doc TEXT NOT NULL
);
CREATE INDEX conversations_by_workspace ON conversations(workspaceId, _creationTime);
CREATE INDEX conversations_by_status ON conversations(workspaceId, status, _creationTime);
CREATE INDEX conversations_by_visitor ON conversations(visitorId, _creationTime);
CREATE INDEX conversations_by_assignee ON conversations(assignedAgentId, _creationTime);

CREATE TABLE messages (
  _id TEXT PRIMARY KEY, _creationTime REAL NOT NULL,
  conversationId TEXT NOT NULL, senderType TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX messages_by_conversation ON messages(conversationId, _creationTime);

-- Timeline of a conversation: assignment and status changes (who, when, from, to).
CREATE TABLE conversationEvents (
  _id TEXT PRIMARY KEY, _creationTime REAL NOT NULL,
  conversationId TEXT NOT NULL, workspaceId TEXT NOT NULL, type TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX conversationEvents_by_conversation ON conversationEvents(conversationId, _creationTime);

CREATE TABLE tags (
  _id TEXT PRIMARY KEY, _creationTime REAL NOT NULL,
  workspaceId TEXT NOT NULL, name TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX tags_by_workspace ON tags(workspaceId, _creationTime);
CREATE INDEX tags_by_workspace_name ON tags(workspaceId, name);

CREATE TABLE conversationTags (
  _id TEXT PRIMARY KEY, _creationTime REAL NOT NULL,
  conversationId TEXT NOT NULL, tagId TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX conversationTags_by_conversation ON conversationTags(conversationId, _creationTime);
CREATE INDEX conversationTags_by_tag ON conversationTags(tagId, _creationTime);
CREATE UNIQUE INDEX conversationTags_by_conversation_tag ON conversationTags(conversationId, tagId);

CREATE TABLE snippets (
  _id TEXT PRIMARY KEY, _creationTime REAL NOT NULL,
  workspaceId TEXT NOT NULL, shortcut TEXT,
  doc TEXT NOT NULL
);
CREATE INDEX snippets_by_workspace ON snippets(workspaceId, _creationTime);
CREATE INDEX snippets_by_shortcut ON snippets(workspaceId, shortcut);

CREATE TABLE tickets (
  _id TEXT PRIMARY KEY, _creationTime REAL NOT NULL,
  workspaceId TEXT NOT NULL, visitorId TEXT, conversationId TEXT, status TEXT NOT NULL, assigneeId TEXT,
  doc TEXT NOT NULL
);
CREATE INDEX tickets_by_workspace ON tickets(workspaceId, _creationTime);
CREATE INDEX tickets_by_status ON tickets(workspaceId, status, _creationTime);
CREATE INDEX tickets_by_visitor ON tickets(visitorId, _creationTime);
CREATE INDEX tickets_by_conversation ON tickets(conversationId, _creationTime);
CREATE INDEX tickets_by_assignee ON tickets(assigneeId, _creationTime);

CREATE TABLE ticketComments (
  _id TEXT PRIMARY KEY, _creationTime REAL NOT NULL,
  ticketId TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX ticketComments_by_ticket ON ticketComments(ticketId, _creationTime);

CREATE TABLE automationSettings (
  _id TEXT PRIMARY KEY, _creationTime REAL NOT NULL,
  workspaceId TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE UNIQUE INDEX automationSettings_by_workspace ON automationSettings(workspaceId);

CREATE TABLE csatResponses (
  _id TEXT PRIMARY KEY, _creationTime REAL NOT NULL,
  workspaceId TEXT NOT NULL, conversationId TEXT NOT NULL, agentId TEXT, createdAt REAL NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX csatResponses_by_workspace ON csatResponses(workspaceId, _creationTime);
CREATE UNIQUE INDEX csatResponses_by_conversation ON csatResponses(conversationId);
CREATE INDEX csatResponses_by_agent ON csatResponses(workspaceId, agentId);
CREATE INDEX csatResponses_by_created ON csatResponses(workspaceId, createdAt);

-- Full-text search. The FTS tables mirror rows of document tables by rowid
-- and are kept in step by triggers, so every writer (functions, imports,
-- restores) keeps them current without extra Go code. They have no doc
-- column, so the change feed does not watch them.
CREATE VIRTUAL TABLE messages_fts USING fts5(
  content, conversationId UNINDEXED, workspaceId UNINDEXED,
  tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN
  INSERT INTO messages_fts(rowid, content, conversationId, workspaceId)
  VALUES (new.rowid, coalesce(json_extract(new.doc, '$.content'), ''), new.conversationId, json_extract(new.doc, '$.workspaceId'));
END;
CREATE TRIGGER messages_fts_au AFTER UPDATE ON messages BEGIN
  DELETE FROM messages_fts WHERE rowid = old.rowid;
  INSERT INTO messages_fts(rowid, content, conversationId, workspaceId)
  VALUES (new.rowid, coalesce(json_extract(new.doc, '$.content'), ''), new.conversationId, json_extract(new.doc, '$.workspaceId'));
END;
CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN
  DELETE FROM messages_fts WHERE rowid = old.rowid;
END;

CREATE VIRTUAL TABLE visitors_fts USING fts5(
  name, email, workspaceId UNINDEXED,
  tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO visitors_fts(rowid, name, email, workspaceId)
  SELECT rowid, coalesce(json_extract(doc, '$.name'), ''), coalesce(json_extract(doc, '$.email'), ''), workspaceId FROM visitors;
CREATE TRIGGER visitors_fts_ai AFTER INSERT ON visitors BEGIN
  INSERT INTO visitors_fts(rowid, name, email, workspaceId)
  VALUES (new.rowid, coalesce(json_extract(new.doc, '$.name'), ''), coalesce(json_extract(new.doc, '$.email'), ''), new.workspaceId);
END;
CREATE TRIGGER visitors_fts_au AFTER UPDATE ON visitors BEGIN
  DELETE FROM visitors_fts WHERE rowid = old.rowid;
  INSERT INTO visitors_fts(rowid, name, email, workspaceId)
  VALUES (new.rowid, coalesce(json_extract(new.doc, '$.name'), ''), coalesce(json_extract(new.doc, '$.email'), ''), new.workspaceId);
END;
CREATE TRIGGER visitors_fts_ad AFTER DELETE ON visitors BEGIN
  DELETE FROM visitors_fts WHERE rowid = old.rowid;
END;

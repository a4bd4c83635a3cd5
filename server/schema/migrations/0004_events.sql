-- Visitor events (Opencom's events table): manual events from
-- events:track and automatic ones (page_view, screen_view, session_start,
-- session_end) from events:trackAutoEvent. Document table as in schema.go;
-- the key columns are what server/events and the visitor merge
-- (server/identity/visitors_merge.go, which moves rows by visitorId) query.
--
-- eventType is null only for rows written before it existed in Opencom
-- (treated as manual). timestamp is the event time in ms; every events:*
-- function sets it, but it stays nullable so rows written by other means
-- (imports, tests) are not refused.

CREATE TABLE events (
  _id TEXT PRIMARY KEY, _creationTime REAL NOT NULL,
  workspaceId TEXT NOT NULL, visitorId TEXT NOT NULL, name TEXT NOT NULL, eventType TEXT, timestamp REAL,
  doc TEXT NOT NULL
);
-- Opencom's by_workspace, by_visitor, by_visitor_name and by_workspace_type;
-- the last two end in timestamp for count's withinDays and the cleanup's
-- age cut-off, and by_visitor_time serves trackAutoEvent's rate limit.
CREATE INDEX events_by_workspace ON events(workspaceId, _creationTime);
CREATE INDEX events_by_workspace_name ON events(workspaceId, name);
CREATE INDEX events_by_visitor ON events(visitorId, _creationTime);
CREATE INDEX events_by_visitor_time ON events(visitorId, timestamp);
CREATE INDEX events_by_visitor_name ON events(visitorId, name, timestamp);
CREATE INDEX events_by_workspace_type ON events(workspaceId, eventType, timestamp);

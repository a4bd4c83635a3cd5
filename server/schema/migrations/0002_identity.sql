-- Identity and access: users, workspaces, members, invitations, visitors,
-- widget sessions, agent auth sessions, audit logs.
-- Document tables: _id, _creationTime, key columns (named like the document
-- fields), doc (the whole document as JSON). See schema.go.

CREATE TABLE users (
  _id TEXT PRIMARY KEY, _creationTime REAL NOT NULL,
  email TEXT, workspaceId TEXT,
  doc TEXT NOT NULL
);
CREATE UNIQUE INDEX users_by_email ON users(email) WHERE email IS NOT NULL;
CREATE INDEX users_by_workspace ON users(workspaceId, _creationTime);

CREATE TABLE workspaces (
  _id TEXT PRIMARY KEY, _creationTime REAL NOT NULL,
  name TEXT,
  doc TEXT NOT NULL
);
CREATE INDEX workspaces_by_name ON workspaces(name, _creationTime);

CREATE TABLE workspaceMembers (
  _id TEXT PRIMARY KEY, _creationTime REAL NOT NULL,
  userId TEXT NOT NULL, workspaceId TEXT NOT NULL, role TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE UNIQUE INDEX workspaceMembers_by_user_workspace ON workspaceMembers(userId, workspaceId);
CREATE INDEX workspaceMembers_by_workspace ON workspaceMembers(workspaceId, _creationTime);

CREATE TABLE workspaceInvitations (
  _id TEXT PRIMARY KEY, _creationTime REAL NOT NULL,
  workspaceId TEXT NOT NULL, email TEXT NOT NULL, status TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX workspaceInvitations_by_workspace ON workspaceInvitations(workspaceId, _creationTime);
CREATE INDEX workspaceInvitations_by_email ON workspaceInvitations(email, _creationTime);

CREATE TABLE visitors (
  _id TEXT PRIMARY KEY, _creationTime REAL NOT NULL,
  workspaceId TEXT NOT NULL, sessionId TEXT, email TEXT, externalUserId TEXT, lastSeenAt REAL,
  doc TEXT NOT NULL
);
CREATE INDEX visitors_by_workspace ON visitors(workspaceId, _creationTime);
CREATE INDEX visitors_by_session ON visitors(sessionId, _creationTime);
CREATE INDEX visitors_by_email ON visitors(email, _creationTime);
CREATE INDEX visitors_by_external_user_id ON visitors(externalUserId, _creationTime);

CREATE TABLE widgetSessions (
  _id TEXT PRIMARY KEY, _creationTime REAL NOT NULL,
  tokenHash TEXT NOT NULL, visitorId TEXT NOT NULL, workspaceId TEXT NOT NULL, expiresAt REAL NOT NULL,
  doc TEXT NOT NULL
);
CREATE UNIQUE INDEX widgetSessions_by_token ON widgetSessions(tokenHash);
CREATE INDEX widgetSessions_by_visitor ON widgetSessions(visitorId, _creationTime);
CREATE INDEX widgetSessions_by_expires ON widgetSessions(expiresAt, _creationTime);

-- Convex Auth-compatible agent sessions and password accounts.
CREATE TABLE authAccounts (
  _id TEXT PRIMARY KEY, _creationTime REAL NOT NULL,
  userId TEXT NOT NULL, provider TEXT NOT NULL, providerAccountId TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE UNIQUE INDEX authAccounts_by_provider_account ON authAccounts(provider, providerAccountId);
CREATE INDEX authAccounts_by_user ON authAccounts(userId, _creationTime);

CREATE TABLE authSessions (
  _id TEXT PRIMARY KEY, _creationTime REAL NOT NULL,
  userId TEXT NOT NULL, expirationTime REAL NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX authSessions_by_user ON authSessions(userId, _creationTime);

CREATE TABLE authRefreshTokens (
  _id TEXT PRIMARY KEY, _creationTime REAL NOT NULL,
  sessionId TEXT NOT NULL, tokenHash TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE UNIQUE INDEX authRefreshTokens_by_hash ON authRefreshTokens(tokenHash);
CREATE INDEX authRefreshTokens_by_session ON authRefreshTokens(sessionId, _creationTime);

CREATE TABLE authRateLimits (
  _id TEXT PRIMARY KEY, _creationTime REAL NOT NULL,
  identifier TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE UNIQUE INDEX authRateLimits_by_identifier ON authRateLimits(identifier);

CREATE TABLE auditLogs (
  _id TEXT PRIMARY KEY, _creationTime REAL NOT NULL,
  workspaceId TEXT NOT NULL, action TEXT NOT NULL, actorId TEXT, timestamp REAL NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX auditLogs_by_workspace_time ON auditLogs(workspaceId, timestamp);
CREATE INDEX auditLogs_by_timestamp ON auditLogs(timestamp, _creationTime);

CREATE TABLE auditLogSettings (
  _id TEXT PRIMARY KEY, _creationTime REAL NOT NULL,
  workspaceId TEXT NOT NULL,
  doc TEXT NOT NULL
);
CREATE UNIQUE INDEX auditLogSettings_by_workspace ON auditLogSettings(workspaceId);

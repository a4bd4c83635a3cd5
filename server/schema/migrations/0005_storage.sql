-- File storage (Convex's _storage system table) and Opencom's
-- supportAttachments. Files live in the database like everything else, so
-- a backup is still one copy of the SQLite file.
--
-- _storage holds the bytes. id is the storageId functions refer to;
-- url_token is the unguessable capability in the file's download URL
-- (/api/storage/<url_token>), kept apart from the id so that knowing a
-- storageId (e.g. from an upload response) is not the same as being able
-- to read the file. workspace_id/uploaded_by_* record who uploaded it (the
-- upload token's actor): finalizing is refused to anyone else. claimed is
-- set once a function has taken ownership of the file (a finalized
-- attachment); unclaimed files older than the upload token lifetime are
-- orphans and are deleted by the cleanup.
CREATE TABLE _storage (
  id TEXT PRIMARY KEY,
  url_token TEXT NOT NULL UNIQUE,
  blob BLOB NOT NULL,
  content_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  workspace_id TEXT NOT NULL,
  uploaded_by_type TEXT NOT NULL,
  uploaded_by_id TEXT NOT NULL,
  claimed INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE INDEX _storage_unclaimed ON _storage(claimed, created_at);

-- Single-use upload tokens handed out by generateUploadUrl: only the
-- SHA-256 of the token is stored; bound to the actor and workspace.
CREATE TABLE _upload_tokens (
  token_hash TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL,
  actor_type TEXT NOT NULL CHECK (actor_type IN ('agent','visitor')),
  actor_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX _upload_tokens_by_expiry ON _upload_tokens(expires_at);

-- Opencom's supportAttachments: a finalized upload, staged (expiresAt set)
-- until a message, ticket or ticket comment binds it (attached).
CREATE TABLE supportAttachments (
  _id TEXT PRIMARY KEY, _creationTime REAL NOT NULL,
  workspaceId TEXT NOT NULL, storageId TEXT NOT NULL, status TEXT NOT NULL, expiresAt REAL,
  messageId TEXT, ticketId TEXT, ticketCommentId TEXT,
  doc TEXT NOT NULL
);
CREATE INDEX supportAttachments_by_workspace ON supportAttachments(workspaceId, _creationTime);
CREATE INDEX supportAttachments_by_storage ON supportAttachments(storageId);
CREATE INDEX supportAttachments_by_message ON supportAttachments(messageId);
CREATE INDEX supportAttachments_by_ticket ON supportAttachments(ticketId);
CREATE INDEX supportAttachments_by_ticket_comment ON supportAttachments(ticketCommentId);
CREATE INDEX supportAttachments_by_status_expires ON supportAttachments(status, expiresAt);
CREATE INDEX supportAttachments_by_workspace_status_expires ON supportAttachments(workspaceId, status, expiresAt);

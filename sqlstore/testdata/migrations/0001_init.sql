CREATE TABLE items (
  _id TEXT PRIMARY KEY,
  _creationTime REAL NOT NULL,
  workspaceId TEXT,
  listId TEXT,
  rank REAL,
  doc TEXT NOT NULL
);
CREATE INDEX items_by_list ON items(listId, _creationTime);

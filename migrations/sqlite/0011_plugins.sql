-- Plugins installed into the store (`plugins install` with a PostgreSQL store), which every replica serves: the
-- component, manifest and signature as the plugins directory would hold them, and their identity (sha256 over
-- the three, as the registry computes it for files), which replicas poll to notice an install or removal.
CREATE TABLE plugins (
    name         TEXT PRIMARY KEY,
    component    BLOB NOT NULL,
    manifest     TEXT NOT NULL,
    signature    TEXT,
    identity     TEXT NOT NULL,
    installed_at INTEGER NOT NULL  -- unix seconds
);

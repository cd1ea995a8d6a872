-- API keys of the HTTP transport. Only each key's SHA-256 is kept (keys are 256 random bits, so a fast hash is as
-- strong as a slow one); the key itself is shown once, when it is created. Revoked keys stay listed, with when.
CREATE TABLE api_keys (
    name       TEXT PRIMARY KEY,
    key_hash   BLOB NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    tools      TEXT,              -- comma-separated tool patterns; NULL = every tool
    created_at INTEGER NOT NULL,  -- unix seconds
    revoked_at INTEGER            -- unix seconds; NULL while the key works
);

-- Webhook deliveries, kept from the moment they are accepted until they are applied: any process may accept a
-- delivery, and the one that syncs applies it (refetches the object it names), so a delivery outlives the process
-- that received it. Keyed by Intercom's notification id, so a delivery sent twice is applied once. Applied rows
-- stay a day (a late redelivery is still recognised), then are pruned.
CREATE TABLE webhook_deliveries (
    notification_id TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('conversation', 'contact')),
    object_id       TEXT NOT NULL,
    received_at     INTEGER NOT NULL,  -- unix milliseconds
    next_attempt_at INTEGER NOT NULL,  -- unix milliseconds; later after each failure
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    done_at         INTEGER            -- unix milliseconds: applied, or given up; NULL while pending
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (next_attempt_at) WHERE done_at IS NULL;
CREATE INDEX webhook_deliveries_done ON webhook_deliveries (done_at) WHERE done_at IS NOT NULL;

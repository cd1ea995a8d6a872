-- The local copy of an Intercom workspace (API 2.16 objects), shaped for the questions tools ask.
-- Every Intercom id is TEXT (Intercom mixes integer and string ids for the same objects). Timestamps are
-- integer unix seconds, as Intercom sends them. Conversations, parts and contacts carry an integer rowid so
-- the join tables and full-text indexes stay small and keyset pagination has a stable tiebreaker.

CREATE TABLE admins (
    id                TEXT PRIMARY KEY NOT NULL,
    name              TEXT,
    email             TEXT,
    job_title         TEXT,
    away_mode_enabled INTEGER NOT NULL DEFAULT 0,
    has_inbox_seat    INTEGER NOT NULL DEFAULT 1,
    team_ids          TEXT NOT NULL DEFAULT '[]' -- JSON array of team ids
);

CREATE TABLE teams (
    id        TEXT PRIMARY KEY NOT NULL,
    name      TEXT NOT NULL,
    admin_ids TEXT NOT NULL DEFAULT '[]' -- JSON array of admin ids
);

CREATE TABLE tags (
    id   TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL
);
CREATE INDEX tags_by_name ON tags (name COLLATE NOCASE);

CREATE TABLE companies (
    id                TEXT PRIMARY KEY NOT NULL,
    company_id        TEXT, -- the customer's own id for the company
    name              TEXT NOT NULL,
    plan              TEXT,
    size              INTEGER,
    website           TEXT,
    industry          TEXT,
    monthly_spend     REAL,
    user_count        INTEGER,
    session_count     INTEGER,
    created_at        INTEGER,
    updated_at        INTEGER,
    remote_created_at INTEGER,
    last_request_at   INTEGER
);
CREATE INDEX companies_by_name ON companies (name COLLATE NOCASE);

CREATE TABLE contacts (
    rowid             INTEGER PRIMARY KEY,
    id                TEXT NOT NULL UNIQUE,
    role              TEXT NOT NULL,
    external_id       TEXT,
    email             TEXT,
    email_domain      TEXT,
    name              TEXT,
    phone             TEXT,
    owner_id          TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    signed_up_at      INTEGER,
    last_seen_at      INTEGER,
    last_replied_at   INTEGER,
    last_contacted_at INTEGER,
    country           TEXT,
    region            TEXT,
    city              TEXT,
    browser           TEXT,
    os                TEXT,
    custom_attributes TEXT -- JSON object
);
CREATE INDEX contacts_by_email ON contacts (email COLLATE NOCASE);
CREATE INDEX contacts_by_name ON contacts (name COLLATE NOCASE, rowid);
CREATE INDEX contacts_by_updated ON contacts (updated_at);

CREATE TABLE contact_companies (
    contact_rowid INTEGER NOT NULL REFERENCES contacts (rowid) ON DELETE CASCADE,
    company_id    TEXT NOT NULL,
    PRIMARY KEY (contact_rowid, company_id)
) WITHOUT ROWID;
CREATE INDEX contact_companies_by_company ON contact_companies (company_id, contact_rowid);

CREATE TABLE contact_tags (
    contact_rowid INTEGER NOT NULL REFERENCES contacts (rowid) ON DELETE CASCADE,
    tag_id        TEXT NOT NULL,
    PRIMARY KEY (contact_rowid, tag_id)
) WITHOUT ROWID;

-- Words of contacts' names and emails, for prefix search ("jan" finds "Jane Doe" and "jane@acme.com").
-- No prefix indexes: a prefix query scans a range of the term index, which is fast at contact-list sizes, and
-- prefix indexes would multiply the cost of every contact write.
CREATE VIRTUAL TABLE contact_fts USING fts5 (
    name,
    email,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TABLE conversations (
    rowid                 INTEGER PRIMARY KEY,
    id                    TEXT NOT NULL UNIQUE,
    title                 TEXT,
    state                 TEXT NOT NULL CHECK (state IN ('open', 'closed', 'snoozed')),
    open                  INTEGER NOT NULL,
    read                  INTEGER NOT NULL,
    priority              TEXT NOT NULL DEFAULT 'none'
        CHECK (priority IN ('none', 'low', 'medium', 'high', 'urgent')),
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    waiting_since         INTEGER,
    snoozed_until         INTEGER,
    admin_assignee_id     TEXT, -- NULL when unassigned (Intercom 2.16 sends 0)
    team_assignee_id      TEXT,
    company_id            TEXT,
    source_type           TEXT NOT NULL,
    source_id             TEXT,
    source_delivered_as   TEXT,
    source_subject        TEXT, -- plain text
    source_body_html      TEXT,
    source_body_text      TEXT NOT NULL DEFAULT '',
    source_url            TEXT,
    source_author_type    TEXT NOT NULL,
    source_author_id      TEXT NOT NULL,
    source_author_name    TEXT,
    source_author_email   TEXT,
    rating                INTEGER,
    rating_remark         TEXT,
    rating_created_at     INTEGER,
    rating_contact_id     TEXT,
    rating_teammate_id    TEXT,
    time_to_assignment    INTEGER,
    time_to_admin_reply   INTEGER,
    time_to_first_close   INTEGER,
    time_to_last_close    INTEGER,
    median_time_to_reply  INTEGER,
    handling_time         INTEGER,
    first_contact_reply_at INTEGER,
    first_assignment_at   INTEGER,
    first_admin_reply_at  INTEGER,
    first_close_at        INTEGER,
    last_assignment_at    INTEGER,
    last_contact_reply_at INTEGER,
    last_admin_reply_at   INTEGER,
    last_close_at         INTEGER,
    last_closed_by_id     TEXT,
    count_reopens         INTEGER,
    count_assignments     INTEGER,
    count_conversation_parts INTEGER,
    parts_truncated       INTEGER NOT NULL DEFAULT 0,
    ai_agent_participated INTEGER,
    channel_initial       TEXT,
    custom_attributes     TEXT -- JSON object
);
-- Each filter has an index that also serves the default newest-first order; rowid is implicit in every index,
-- which makes (created_at, rowid) keyset pagination an index walk.
CREATE INDEX conversations_by_created ON conversations (created_at);
CREATE INDEX conversations_by_updated ON conversations (updated_at);
CREATE INDEX conversations_by_state ON conversations (state, created_at);
CREATE INDEX conversations_by_admin ON conversations (admin_assignee_id, created_at);
CREATE INDEX conversations_by_team ON conversations (team_assignee_id, created_at);
-- Most conversations have no priority: index only those that do.
CREATE INDEX conversations_by_priority ON conversations (priority, created_at) WHERE priority <> 'none';

CREATE TABLE conversation_contacts (
    conversation_rowid INTEGER NOT NULL REFERENCES conversations (rowid) ON DELETE CASCADE,
    contact_id         TEXT NOT NULL,
    position           INTEGER NOT NULL,
    PRIMARY KEY (contact_id, conversation_rowid)
) WITHOUT ROWID;
CREATE INDEX conversation_contacts_by_conversation ON conversation_contacts (conversation_rowid);

CREATE TABLE conversation_tags (
    conversation_rowid INTEGER NOT NULL REFERENCES conversations (rowid) ON DELETE CASCADE,
    tag_id             TEXT NOT NULL,
    PRIMARY KEY (tag_id, conversation_rowid)
) WITHOUT ROWID;
CREATE INDEX conversation_tags_by_conversation ON conversation_tags (conversation_rowid);

-- A rowid table (not WITHOUT ROWID): part rows carry whole message bodies, and large rows belong in a table
-- whose b-tree is keyed by an integer, with the (conversation, part id) key in a small separate index.
CREATE TABLE conversation_parts (
    rowid              INTEGER PRIMARY KEY,
    conversation_rowid INTEGER NOT NULL REFERENCES conversations (rowid) ON DELETE CASCADE,
    id                 TEXT NOT NULL,
    part_type          TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER,
    notified_at        INTEGER,
    author_type        TEXT NOT NULL,
    author_id          TEXT NOT NULL,
    author_name        TEXT,
    author_email       TEXT,
    assigned_to_id     TEXT,
    redacted           INTEGER NOT NULL DEFAULT 0,
    body_text          TEXT,
    body_html          TEXT
);
CREATE UNIQUE INDEX conversation_parts_by_conversation ON conversation_parts (conversation_rowid, id);

-- One document per conversation: its subject and the plain text of its first message and every part, so
-- bm25 ranks conversations, not fragments. Contentless: the text already lives in the tables above.
CREATE VIRTUAL TABLE conversation_fts USING fts5 (
    subject,
    body,
    content = '',
    contentless_delete = 1,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

-- Per-resource sync progress; the sync engine writes a resource's row in the same transaction as its data.
CREATE TABLE sync_state (
    resource        TEXT PRIMARY KEY NOT NULL,
    cursor          TEXT,
    watermark       INTEGER,
    last_success_at INTEGER,
    last_error      TEXT,
    last_error_at   INTEGER,
    item_count      INTEGER NOT NULL DEFAULT 0
);

-- Facts about the local copy as a whole: where it came from ('demo' or 'intercom') and when it was last synced.
CREATE TABLE workspace_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

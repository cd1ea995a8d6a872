-- A tag's rows carry what orders and narrows a page of its conversations (their state and both dates, copied
-- from the conversation whenever its links are written, which is every time the conversation is), so a page of
-- one tag walks the tag's own index in the page's order and stops when the page is full, and a tag's
-- conversations in one state or date range are counted inside that index. Before, each tagged conversation's row
-- was read to check its state and sorted: a page of the open conversations tagged "billing" (10,360 tagged,
-- 100,000 demo conversations), newest first, with its total, 9.2 ms for the statement; in this index, 0.3 ms.
ALTER TABLE conversation_tags ADD COLUMN state TEXT;
ALTER TABLE conversation_tags ADD COLUMN created_at INTEGER;
ALTER TABLE conversation_tags ADD COLUMN updated_at INTEGER;
UPDATE conversation_tags
SET (state, created_at, updated_at) =
    (SELECT c.state, c.created_at, c.updated_at FROM conversations c WHERE c.rowid = conversation_tags.conversation_rowid);
CREATE INDEX conversation_tags_by_created
    ON conversation_tags (tag_id, created_at, conversation_rowid, state, updated_at);
CREATE INDEX conversation_tags_by_updated
    ON conversation_tags (tag_id, updated_at, conversation_rowid, state, created_at);

-- The order indexes carry the rowid that breaks ties (so they still return pages in order) and the other date,
-- so the conversations a condition selects can be put in page order from the index alone before any of them is
-- read or probed: a word in nearly every conversation among the 3,880 created in 30 days, most recently updated
-- first, 15 ms walking the updated index, 1.3 ms sorting their keys and probing until the page was full.
DROP INDEX conversations_by_created;
CREATE INDEX conversations_by_created ON conversations (created_at, rowid, updated_at);
DROP INDEX conversations_by_updated;
CREATE INDEX conversations_by_updated ON conversations (updated_at, rowid, created_at);

ANALYZE conversation_tags;
ANALYZE conversations;

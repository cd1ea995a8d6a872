-- `analytics.rated` asks for the lowest ratings first, then the most recently rated, then by id in byte order:
-- this index holds the rated conversations in that order (as SQLite's migration 0013 does), so ten of them are
-- read from it instead of sorting every rated conversation.
CREATE INDEX conversations_by_rating
    ON conversations (rating, rating_created_at DESC NULLS LAST, id COLLATE "C", created_at)
    WHERE rating IS NOT NULL;

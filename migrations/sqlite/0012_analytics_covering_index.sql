-- Analytics read a handful of each conversation's columns, most of them stored after the message bodies: reading
-- them from the table walks each large row's overflow pages. This index holds every column an analytics scope,
-- key or figure reads (creation first, so a window of days is a range of it), and SQLite scans it instead of the
-- table: the two timing figures of 100,000 conversations with their team, read into one JSON array, took 65 ms
-- from the table (half of it in the kernel) and 36 ms from this index (the SQLite shell, 2026-12-07).
CREATE INDEX conversations_for_analytics ON conversations (
    created_at, state, team_assignee_id, admin_assignee_id, priority, source_type, company_id, rating,
    updated_at, last_close_at, time_to_admin_reply, time_to_first_close, time_to_last_close, count_reopens,
    count_conversation_parts, waiting_since
);

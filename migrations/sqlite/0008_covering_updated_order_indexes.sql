-- Each filter's index in updated order also carries the other filters' columns, as its twin in created order does
-- (0006): a pair of filters in "most recently updated first" order is then checked inside the index as it is
-- walked, instead of reading the row of every entry the first filter selects. SQLite walks the filter it takes
-- for the more selective; for the snoozed conversations of a team (58 of the team's 5,753, 100,000 demo
-- conversations) that was the team's index, reading rows until 21 of them were snoozed: 2.1-2.9 ms a page, and
-- 46 ms the first time in a process. Rows still drive pages in order through the first columns, as before; the
-- trailing columns only answer conditions.
DROP INDEX conversations_by_state_updated;
CREATE INDEX conversations_by_state_updated
    ON conversations (state, updated_at, admin_assignee_id, team_assignee_id, priority, created_at);
DROP INDEX conversations_by_admin_updated;
CREATE INDEX conversations_by_admin_updated
    ON conversations (admin_assignee_id, updated_at, state, team_assignee_id, priority, created_at);
DROP INDEX conversations_by_team_updated;
CREATE INDEX conversations_by_team_updated
    ON conversations (team_assignee_id, updated_at, state, admin_assignee_id, priority, created_at);
DROP INDEX conversations_by_priority_updated;
CREATE INDEX conversations_by_priority_updated
    ON conversations (priority, updated_at, state, admin_assignee_id, team_assignee_id, created_at)
    WHERE priority <> 'none';
-- New indexes have no statistics: analyzed at once, as in 0006.
ANALYZE conversations;

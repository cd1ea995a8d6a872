-- "Most recently updated first" with a filter: each filter's index also in updated_at order, so a page is an
-- index walk instead of a sort of every matching conversation (an assignee's 18,000 conversations, updated
-- first, took 97 ms for a page of fifty on 100,000 demo conversations). The created_at twins are in 0001.
CREATE INDEX conversations_by_state_updated ON conversations (state, updated_at);
CREATE INDEX conversations_by_admin_updated ON conversations (admin_assignee_id, updated_at);
CREATE INDEX conversations_by_team_updated ON conversations (team_assignee_id, updated_at);
CREATE INDEX conversations_by_priority_updated ON conversations (priority, updated_at) WHERE priority <> 'none';

-- A sync run that is interrupted (kill -9, crash, network loss) resumes where its last committed page left it.
-- Besides the next page's cursor (`sync_state.cursor`), resuming needs the lower bound the run searched from and
-- when it started (which becomes the resource's watermark once the run completes).
ALTER TABLE sync_state ADD COLUMN run_since INTEGER;
ALTER TABLE sync_state ADD COLUMN run_started_at INTEGER;

-- A number every committed write advances (in the same transaction), so that answers computed from the store can
-- be kept and served again until the data they were computed from changes, by this process or any other.
INSERT OR IGNORE INTO workspace_meta (key, value) VALUES ('data_generation', '0');

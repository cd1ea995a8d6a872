-- Search documents are made by fastintercom from here on (stemmed in Rust), not by PostgreSQL's to_tsvector; the
-- store records how in workspace_meta's 'document_format' and rebuilds older documents when it is opened. This
-- migration changes no data: it is here so that an older fastintercom, which would write documents PostgreSQL
-- stemmed beside these, refuses the store as "migrated by a newer fastintercom" instead.
COMMENT ON COLUMN conversations.document IS
    'Search document made by fastintercom (see workspace_meta document_format), not by to_tsvector';

//! The PostgreSQL side of `store copy` (see `store/copy.rs`): one transaction that refuses a target in use,
//! inserts each table's rows in `UNNEST` batches typed by the target's columns, and builds the search documents.

use sqlx::sqlite::SqliteRow;
use sqlx::{Postgres as Pg, Row, Transaction};

use super::write::{rebuild_contact_documents, rebuild_documents};
use super::{Postgres, without_nul};
use crate::copy::{OWN_META, TABLES};
use crate::{Result, StoreError};

type Tx = Transaction<'static, Pg>;

/// Conversations or contacts whose documents are built per statement.
const DOCUMENTS_PER_STATEMENT: i64 = 1_000;

/// Starts the copy's transaction: takes the sync's lead for its length (no replica may sync into a half-copied
/// store) and checks that the target holds nothing.
pub(crate) async fn begin(postgres: &Postgres, sync_role: &str) -> Result<Tx> {
    let mut tx = postgres.begin().await?;
    let free: bool =
        sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtextextended($1 || current_schema(), 0))")
            .bind(super::leader::lock_name(sync_role))
            .fetch_one(&mut *tx)
            .await?;
    if !free {
        return Err(StoreError::InvalidArgument(
            "a fastintercom replica syncs into the target database; copy into one that no replica uses".to_owned(),
        ));
    }
    for table in TABLES {
        let filter = if table == "workspace_meta" { format!(" WHERE {OWN_META}") } else { String::new() };
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {table}{filter})");
        let holds: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&mut *tx).await?;
        if holds {
            return Err(StoreError::InvalidArgument(format!(
                "the target database is not empty (its table {table} has rows); copy into an empty one, nothing \
                 was copied"
            )));
        }
    }
    Ok(tx)
}

/// A column of the target, and how its values travel.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub name: String,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Real,
    Boolean,
    Text,
    Bytes,
}

/// The columns of `table` the copy fills: all but the search document, which is built from the others.
pub(crate) async fn columns(tx: &mut Tx, table: &str) -> Result<Vec<Column>> {
    let rows = sqlx::query(
        "SELECT column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 AND column_name <> 'document' \
         ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            let (name, data_type): (String, String) = (row.try_get(0)?, row.try_get(1)?);
            let kind = match data_type.as_str() {
                "bigint" | "integer" => Kind::Integer,
                "double precision" => Kind::Real,
                "boolean" => Kind::Boolean,
                "text" => Kind::Text,
                "bytea" => Kind::Bytes,
                other => {
                    return Err(StoreError::Build(format!(
                        "internal error: column {table}.{name} has type {other}, which the copy cannot carry"
                    )));
                }
            };
            Ok(Column { name, kind })
        })
        .collect()
}

/// One column's values in a batch.
enum Values {
    Integer(Vec<Option<i64>>),
    Real(Vec<Option<f64>>),
    Boolean(Vec<Option<bool>>),
    Text(Vec<Option<String>>),
    Bytes(Vec<Option<Vec<u8>>>),
}

/// Rows of one table on their way in.
pub(crate) struct Batch {
    sql: String,
    columns: Vec<Values>,
    len: usize,
    /// Bytes of the texts and blobs gathered.
    bytes: usize,
}

impl Batch {
    pub(crate) fn new(table: &str, columns: &[Column]) -> Self {
        let names: Vec<&str> = columns.iter().map(|column| column.name.as_str()).collect();
        let arrays: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, column)| {
                let array = match column.kind {
                    Kind::Integer => "bigint[]",
                    Kind::Real => "double precision[]",
                    Kind::Boolean => "boolean[]",
                    Kind::Text => "text[]",
                    Kind::Bytes => "bytea[]",
                };
                format!("${}::{array}", i + 1)
            })
            .collect();
        let sql = format!("INSERT INTO {table} ({}) SELECT * FROM UNNEST({})", names.join(", "), arrays.join(", "));
        let columns = columns
            .iter()
            .map(|column| match column.kind {
                Kind::Integer => Values::Integer(Vec::new()),
                Kind::Real => Values::Real(Vec::new()),
                Kind::Boolean => Values::Boolean(Vec::new()),
                Kind::Text => Values::Text(Vec::new()),
                Kind::Bytes => Values::Bytes(Vec::new()),
            })
            .collect();
        Self { sql, columns, len: 0, bytes: 0 }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Adds a row read from SQLite (its columns in the order of [`columns`]).
    pub(crate) fn push(&mut self, row: &SqliteRow) -> Result<()> {
        for (i, values) in self.columns.iter_mut().enumerate() {
            match values {
                Values::Integer(values) => values.push(row.try_get(i)?),
                Values::Real(values) => values.push(row.try_get(i)?),
                Values::Boolean(values) => values.push(row.try_get(i)?),
                Values::Text(values) => {
                    let text = row.try_get::<Option<String>, _>(i)?.as_deref().map(without_nul);
                    self.bytes += text.as_ref().map_or(0, String::len);
                    values.push(text);
                }
                Values::Bytes(values) => {
                    let bytes: Option<Vec<u8>> = row.try_get(i)?;
                    self.bytes += bytes.as_ref().map_or(0, Vec::len);
                    values.push(bytes);
                }
            }
        }
        self.len += 1;
        Ok(())
    }

    /// Inserts the rows gathered so far, and starts over.
    pub(crate) async fn insert(&mut self, tx: &mut Tx) -> Result<()> {
        if self.len == 0 {
            return Ok(());
        }
        let mut insert = sqlx::query(sqlx::AssertSqlSafe(self.sql.as_str()));
        for values in &self.columns {
            insert = match values {
                Values::Integer(values) => insert.bind(values),
                Values::Real(values) => insert.bind(values),
                Values::Boolean(values) => insert.bind(values),
                Values::Text(values) => insert.bind(values),
                Values::Bytes(values) => insert.bind(values),
            };
        }
        insert.execute(&mut **tx).await?;
        for values in &mut self.columns {
            match values {
                Values::Integer(values) => values.clear(),
                Values::Real(values) => values.clear(),
                Values::Boolean(values) => values.clear(),
                Values::Text(values) => values.clear(),
                Values::Bytes(values) => values.clear(),
            }
        }
        self.len = 0;
        self.bytes = 0;
        Ok(())
    }
}

/// Builds every search document, sets the numbering of new contacts and parts after the copied ones, and
/// commits (advancing the data generation).
pub(crate) async fn finish(mut tx: Tx) -> Result<()> {
    for (table, rebuild) in [("conversations", Rebuild::Conversations), ("contacts", Rebuild::Contacts)] {
        let mut after = i64::MIN;
        loop {
            let sql = format!("SELECT rowid FROM {table} WHERE rowid > $1 ORDER BY rowid LIMIT $2");
            let rowids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(after)
                .bind(DOCUMENTS_PER_STATEMENT)
                .fetch_all(&mut *tx)
                .await?;
            let Some(&last) = rowids.last() else { break };
            match rebuild {
                Rebuild::Conversations => rebuild_documents(&mut tx, &rowids).await?,
                Rebuild::Contacts => rebuild_contact_documents(&mut tx, &rowids).await?,
            }
            after = last;
        }
    }
    for table in ["contacts", "conversation_parts"] {
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'rowid'), coalesce(max(rowid), 0) + 1, false) FROM {table}"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await?;
    }
    super::write::commit(tx).await.map(drop)
}

#[derive(Clone, Copy)]
enum Rebuild {
    Conversations,
    Contacts,
}

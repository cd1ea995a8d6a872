//! Statements both dialects run as they are (`$n` parameters, `ON CONFLICT`), outside any write transaction:
//! bookkeeping that is not workspace data (the webhook inbox, installed plugins), so it does not advance the data
//! generation and empty every replica's kept answers.

use super::{Result, Store, postgres};

/// A value bound to a shared statement, whichever the dialect.
#[derive(Debug, Clone, Copy)]
pub(super) enum Bind<'a> {
    Text(&'a str),
    MaybeText(Option<&'a str>),
    Int(i64),
    MaybeInt(Option<i64>),
    Bytes(&'a [u8]),
}

impl Store {
    /// Runs `sql` with `binds` in a transaction of its own; returns the rows it changed.
    pub(super) async fn execute_shared(&self, sql: &'static str, binds: &[Bind<'_>]) -> Result<u64> {
        if let Some(postgres) = self.postgres() {
            return postgres::shared_statement::execute(postgres, sql, binds).await;
        }
        let mut query = sqlx::query(sql);
        for bind in binds {
            query = match *bind {
                Bind::Text(text) => query.bind(text),
                Bind::MaybeText(text) => query.bind(text),
                Bind::Int(int) => query.bind(int),
                Bind::MaybeInt(int) => query.bind(int),
                Bind::Bytes(bytes) => query.bind(bytes),
            };
        }
        Ok(query.execute(self.sqlite_writer()?).await?.rows_affected())
    }
}

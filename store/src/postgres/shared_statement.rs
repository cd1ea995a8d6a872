//! Statements both dialects share, run on PostgreSQL (see `store/shared_statement.rs`).

use super::{Postgres, without_nul};
use crate::Result;
use crate::shared_statement::Bind;

/// Runs `sql` in a transaction of its own, which bounds it by the store's longest statement (a pooled
/// connection's own bound may be a short one a read left).
pub(crate) async fn execute(postgres: &Postgres, sql: &'static str, binds: &[Bind<'_>]) -> Result<u64> {
    let mut tx = postgres.begin().await?;
    let mut query = sqlx::query(sql);
    for bind in binds {
        query = match *bind {
            Bind::Text(text) => query.bind(without_nul(text)),
            Bind::MaybeText(text) => query.bind(text.map(without_nul)),
            Bind::Int(int) => query.bind(int),
            Bind::MaybeInt(int) => query.bind(int),
            Bind::Bytes(bytes) => query.bind(bytes),
        };
    }
    let changed = query.execute(&mut *tx).await?.rows_affected();
    tx.commit().await?;
    Ok(changed)
}

//! Row counts (`LIMIT`, `OFFSET`) written into a statement's text rather than bound as parameters.
//!
//! SQLite reads a bound `LIMIT` or `OFFSET` while it plans a statement (to size the result, and to hand it to a
//! virtual table such as the full-text index), and a statement planned with a parameter's value is prepared
//! again whenever that parameter is bound again, even to the same value. sqlx binds every parameter on every
//! execution, so each search parsed and planned its statements anew: a reused page statement ran in 27 µs
//! against 6 µs with its limit written in (one row; 95 against 62 µs for 50, both from SQLite's own C API on the
//! 100,000-conversation demo store, 2,000 runs each). Written in, each count gives its own statement text, which
//! the connection's statement cache keeps prepared.
//!
//! Only counts the store computed go this way (an `i64` cannot carry SQL); every other value stays bound.

use sqlx::{QueryBuilder, Sqlite};

pub(super) trait PushRowCount {
    /// Appends `rows` to the statement as an integer literal.
    fn push_row_count(&mut self, rows: i64) -> &mut Self;
}

impl PushRowCount for QueryBuilder<Sqlite> {
    fn push_row_count(&mut self, rows: i64) -> &mut Self {
        self.push(rows)
    }
}

//! The plan's own pieces. That every plan gives the same answer is proved with the demo workspace and the search
//! matrix, which live in the host: `host/src/commands/bench_search/plans_agree.rs`.

use super::FilteredRows;

#[test]
fn rows_counted_to_a_cap_answer_only_below_it() {
    assert!(FilteredRows::Exact(64).at_most(64));
    assert!(!FilteredRows::Exact(65).at_most(64));
    assert!(FilteredRows::Exact(0).at_most(0));
    // More than 2,000 counted: at most 64, or at most 2,000, is no.
    assert!(!FilteredRows::MoreThan(2_000).at_most(64));
    assert!(!FilteredRows::MoreThan(2_000).at_most(2_000));
}

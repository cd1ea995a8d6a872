//! Every plan gives the same answer: each cell of the search matrix, run with the plan the store chooses and
//! with every other plan that can serve it, must return the same pages, totals and cursors. (The chosen plan is
//! checked against a plain reference in `tests/integration/search_matrix.rs`; at test sizes it is mostly the
//! text-driven one, so this is where the others are proved.)

use super::matrix::{self, SampledConversation, Values};
use crate::demo::{self, DemoOptions};
use crate::store::filter::{ConversationSort, PageRequest};
use crate::store::{Access, Plan, SearchEffort, Store, StoreOptions};

/// Every plan that can serve a search of this kind.
fn plans(has_text: bool, ranked: bool) -> Vec<Plan> {
    use Access::*;
    if !has_text {
        return vec![Plan { page: Rows, total: Rows, walk_order_index: false }];
    }
    let pages: &[Access] = if ranked { &[FromText] } else { &[FromText, RowsProbingText, RowsInTextSet] };
    let mut plans = Vec::new();
    for &page in pages {
        for total in [FromText, RowsProbingText, RowsInTextSet] {
            for walk_order_index in [false, true] {
                if walk_order_index && (ranked || page == FromText) {
                    continue;
                }
                plans.push(Plan { page, total, walk_order_index });
            }
        }
    }
    plans
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_plan_answers_every_cell_alike() {
    let dir = tempfile::TempDir::new().unwrap();
    let store = Store::open(&dir.path().join("workspace.sqlite3"), StoreOptions::default()).await.unwrap();
    let options = DemoOptions { conversations: 600, seed: 11, now: 1_790_000_000 };
    demo::seed(&store, &options).await.unwrap();
    let workspace = demo::generate(&options);
    let names: std::collections::HashMap<&str, &str> =
        workspace.tags.iter().map(|t| (t.id.as_str(), t.name.as_str())).collect();
    let conversations: Vec<_> = workspace
        .conversations()
        .map(|c| {
            let tags: Vec<String> = c.tag_ids.iter().map(|id| names[id.as_str()].to_owned()).collect();
            (c, tags)
        })
        .collect();
    let values = Values::sample(
        conversations.iter().map(|(c, tags)| SampledConversation {
            contact_ids: &c.contact_ids,
            admin_assignee_id: c.admin_assignee_id.as_deref(),
            team_assignee_id: c.team_assignee_id.as_deref(),
            tags,
        }),
        options.now,
    );

    let mut compared = 0;
    for (n, cell) in matrix::cells().iter().enumerate().filter(|(_, c)| c.limit == matrix::LIMITS[1]) {
        let search = cell.search(&values, n);
        let ranked = search.sort == ConversationSort::Relevance;
        let first = PageRequest { limit: search.limit, cursor: None };
        let chosen = store.search_conversations(&search.filter, search.sort, &first).await.unwrap();
        let second = chosen.next_cursor.clone().map(|cursor| PageRequest { limit: search.limit, cursor: Some(cursor) });
        for plan in plans(search.filter.text.is_some(), ranked) {
            let page = store
                .search_conversations_planned(&search.filter, search.sort, &first, SearchEffort::Exhaustive, Some(plan))
                .await
                .unwrap();
            assert_eq!(page, chosen, "{cell} with {plan:?}: {}", search.arguments);
            if let Some(second) = &second {
                let expected = store.search_conversations(&search.filter, search.sort, second).await.unwrap();
                let page = store
                    .search_conversations_planned(
                        &search.filter,
                        search.sort,
                        second,
                        SearchEffort::Exhaustive,
                        Some(plan),
                    )
                    .await
                    .unwrap();
                assert_eq!(page, expected, "{cell} with {plan:?}, second page: {}", search.arguments);
            }
            compared += 1;
        }
    }
    assert!(compared > 1_000, "{compared}");
    store.close().await;
}

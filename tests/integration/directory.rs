//! The `directory` host interface's store side (contract 0.4.0): tags, teams, admins and companies by id or by a
//! piece of the name, checked against the demo generator on both backends, with the same answers on each.

use fastintercom::demo::{self, DemoOptions};
use fastintercom::store::{DirectoryEntry, DirectoryKind, DirectoryLookup, Store};

use crate::support::{Backend, empty_store_on, on_both_backends};

const KINDS: [DirectoryKind; 4] =
    [DirectoryKind::Tags, DirectoryKind::Teams, DirectoryKind::Admins, DirectoryKind::Companies];

/// Every entry of `kind` the demo generator made, as (id, name, what it lists), in the documented order: byte
/// order of the name (none first), then of the id.
fn expected(workspace: &demo::DemoWorkspace, kind: DirectoryKind) -> Vec<(String, Option<String>, Vec<String>)> {
    let mut entries: Vec<(String, Option<String>, Vec<String>)> = match kind {
        DirectoryKind::Tags => workspace.tags.iter().map(|t| (t.id.clone(), Some(t.name.clone()), vec![])).collect(),
        DirectoryKind::Teams => {
            workspace.teams.iter().map(|t| (t.id.clone(), Some(t.name.clone()), t.admin_ids.clone())).collect()
        }
        DirectoryKind::Admins => {
            workspace.admins.iter().map(|a| (a.id.clone(), a.name.clone(), a.team_ids.clone())).collect()
        }
        DirectoryKind::Companies => {
            workspace.companies.iter().map(|c| (c.id.clone(), Some(c.name.clone()), vec![])).collect()
        }
    };
    entries.sort_by(|a, b| (a.1.as_deref().unwrap_or(""), &a.0).cmp(&(b.1.as_deref().unwrap_or(""), &b.0)));
    entries
}

fn shape(entries: &[DirectoryEntry]) -> Vec<(String, Option<String>, Vec<String>)> {
    entries.iter().map(|e| (e.id.clone(), e.name.clone(), e.member_ids.clone())).collect()
}

async fn look_up(
    store: &Store,
    kind: DirectoryKind,
    id: Option<&str>,
    name: Option<&str>,
    limit: u32,
) -> Vec<DirectoryEntry> {
    let lookup = DirectoryLookup { id: id.map(str::to_owned), name: name.map(str::to_owned), limit };
    store.directory(kind, &lookup).await.expect("lookup").items
}

async fn directory_lookups_answer_what_the_generator_made(backend: Backend) {
    let options = DemoOptions { conversations: 300, seed: 11, now: 1_790_000_000 };
    let (_db, store) = empty_store_on(backend).await;
    demo::seed(&store, &options).await.unwrap();
    let workspace = demo::generate(&options);
    for kind in KINDS {
        let all = expected(&workspace, kind);
        assert!(all.len() >= 3, "{kind:?}: the demo makes several");
        let page = store.directory(kind, &DirectoryLookup { limit: 1000, ..DirectoryLookup::default() }).await.unwrap();
        assert_eq!(shape(&page.items), all, "{kind:?}: every entry, in order");
        assert_eq!(page.total, all.len() as u64);

        // A limit cuts the list, not the total; 0 answers the total alone.
        let two = store.directory(kind, &DirectoryLookup { limit: 2, ..DirectoryLookup::default() }).await.unwrap();
        assert_eq!((shape(&two.items), two.total), (all[..2].to_vec(), all.len() as u64), "{kind:?}");
        let counted = store.directory(kind, &DirectoryLookup::default()).await.unwrap();
        assert_eq!((counted.items.len(), counted.total), (0, all.len() as u64), "{kind:?}");

        // By id, and by a piece of the name in any ASCII case.
        let (id, name, _) = &all[all.len() / 2];
        assert_eq!(shape(&look_up(&store, kind, Some(id), None, 10).await), [all[all.len() / 2].clone()]);
        let name = name.clone().unwrap();
        let piece: String = name.chars().skip(1).take(4).collect::<String>().to_ascii_uppercase();
        let by_name = look_up(&store, kind, None, Some(&format!("  {piece} ")), 1000).await;
        let wanted: Vec<_> = all
            .iter()
            .filter(|(_, n, _)| {
                let n = n.as_deref().unwrap_or("").to_ascii_lowercase();
                n.contains(&piece.to_ascii_lowercase())
            })
            .cloned()
            .collect();
        let by_name_shape = shape(&by_name);
        if kind == DirectoryKind::Admins {
            // An admin also matches by email: every name match is among the answers.
            assert!(wanted.iter().all(|w| by_name_shape.contains(w)), "{kind:?} {piece}: {by_name_shape:?}");
        } else {
            assert_eq!(by_name_shape, wanted, "{kind:?} {piece}");
        }
        // Both conditions at once; an id and a name that disagree find nothing.
        assert_eq!(look_up(&store, kind, Some(id), Some(&piece), 10).await.len(), 1, "{kind:?}");
        assert!(look_up(&store, kind, Some(id), Some("no such name anywhere"), 10).await.is_empty());
        assert!(look_up(&store, kind, Some("no-such-id"), None, 10).await.is_empty());

        // LIKE's and SQL's special characters are text: nothing in the demo holds them.
        for hostile in ["%", "_", "\\", "'; DROP TABLE tags; --", "\u{0}", "a\u{0}b"] {
            let found =
                store.directory(kind, &DirectoryLookup { name: Some(hostile.to_owned()), limit: 10, id: None }).await;
            assert_eq!(found.expect("plain text").total, 0, "{kind:?} {hostile:?}");
        }
    }

    // Teams list their admins and admins their teams; companies count their contacts.
    let teams = look_up(&store, DirectoryKind::Teams, None, None, 1000).await;
    assert!(teams.iter().any(|t| !t.member_ids.is_empty()));
    let companies = look_up(&store, DirectoryKind::Companies, None, None, 1000).await;
    let counted: u64 = companies.iter().map(|c| c.company.as_ref().unwrap().contacts).sum();
    let linked: usize = workspace.contacts.iter().map(|c| c.company_ids.len()).sum();
    assert_eq!(counted, linked as u64, "every contact's companies are counted once");
    for company in &companies {
        let generated = workspace.companies.iter().find(|c| c.id == company.id).unwrap();
        let details = company.company.as_ref().unwrap();
        assert_eq!(
            (details.plan.as_ref(), details.size, details.monthly_spend),
            (generated.plan.as_ref(), generated.size, generated.monthly_spend)
        );
    }
}

on_both_backends!(directory_lookups_answer_what_the_generator_made);

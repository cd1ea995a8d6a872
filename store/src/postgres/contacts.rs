//! Contact search and retrieval on PostgreSQL (see `store/contacts.rs`: same filters, order, pages and cursors).

use sqlx::{Postgres, QueryBuilder, Row as _};

use super::{without_nul, words};
use crate::contacts::{contact_from_row, like_contains, no_searchable_words};
use crate::cursor::{self, Position};
use crate::filter::{ContactFilter, PageRequest};
use crate::model::{ContactView, Page};
use crate::{Result, Store, StoreError};

/// Columns of `contacts c` that make a [`ContactView`], with its companies (`[[id, name], ...]`) and tag names as
/// JSON arrays (text, as SQLite gives them), so that a read is one statement.
const CONTACT_COLUMNS: &str = "c.rowid, c.id, c.role, c.external_id, c.email, c.name, c.phone, c.created_at, \
    c.updated_at, c.last_seen_at, c.country, c.city, \
    (SELECT coalesce(json_agg(json_build_array(co.id, co.name) ORDER BY co.name COLLATE \"C\"), '[]')::text \
     FROM contact_companies cc JOIN companies co ON co.id = cc.company_id WHERE cc.contact_rowid = c.rowid) \
     AS companies_json, \
    (SELECT coalesce(json_agg(t.name ORDER BY t.name COLLATE \"C\"), '[]')::text FROM contact_tags ct \
     JOIN tags t ON t.id = ct.tag_id WHERE ct.contact_rowid = c.rowid) AS tags_json";

/// The prefix query of a text: each word (as documents split them, lowercased) a prefix, all of them required.
/// Words are letters and digits only, so nothing in the text can change the query's shape.
fn prefix_query(text: &str) -> Option<String> {
    let words = words(text);
    let terms: Vec<String> = words.split(' ').filter(|w| !w.is_empty()).take(32).map(|w| format!("{w}:*")).collect();
    (!terms.is_empty()).then(|| terms.join(" & "))
}

pub(crate) async fn search(store: &Store, filter: &ContactFilter, page: &PageRequest) -> Result<Page<ContactView>> {
    let cleaned = ContactFilter {
        email: filter.email.as_deref().map(without_nul),
        company: filter.company.as_deref().map(without_nul),
        ..filter.clone()
    };
    let filter = &cleaned;
    let text_query = filter.text.as_deref().and_then(prefix_query);
    if filter.text.is_some() && text_query.is_none() {
        return Err(no_searchable_words());
    }
    let fingerprint = cursor::fingerprint(filter);
    let position = page.cursor.as_deref().map(|c| store.cursor_key.decode(c, fingerprint)).transpose()?;
    let limit = page.clamped_limit();

    let mut select = QueryBuilder::<Postgres>::new("SELECT ");
    select.push(CONTACT_COLUMNS).push(", (SELECT count(*)");
    push_from_and_conditions(&mut select, filter, text_query.as_deref());
    select.push(") AS total");
    push_from_and_conditions(&mut select, filter, text_query.as_deref());
    match position {
        None => {}
        Some(Position::IntKey { v, r }) => {
            select.push(" AND (c.updated_at, c.rowid) < (").push_bind(v).push(", ").push_bind(r).push(")");
        }
        Some(_) => return Err(StoreError::InvalidArgument("this cursor is not a contact search cursor".to_owned())),
    }
    select.push(" ORDER BY c.updated_at DESC, c.rowid DESC LIMIT ").push_bind(i64::from(limit) + 1);

    let mut rows = store.read_postgres(async |c| select.build().fetch_all(c).await).await?;
    let total: i64 = match rows.first() {
        Some(row) => row.try_get("total")?,
        None if position.is_none() => 0,
        None => {
            let mut count = QueryBuilder::<Postgres>::new("SELECT count(*)");
            push_from_and_conditions(&mut count, filter, text_query.as_deref());
            store.read_postgres(async |c| count.build_query_scalar().fetch_one(c).await).await?
        }
    };
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = match rows.last() {
        Some(last) if has_more => Some(
            store
                .cursor_key
                .encode(fingerprint, Position::IntKey { v: last.try_get("updated_at")?, r: last.try_get("rowid")? }),
        ),
        _ => None,
    };
    let items = rows.iter().map(contact_from_row).collect::<Result<Vec<_>>>()?;
    Ok(Page { items, total: total as u64, total_is_estimate: false, ranked_matches: None, next_cursor })
}

pub(crate) async fn get(store: &Store, id: &str) -> Result<Option<ContactView>> {
    let id = without_nul(id);
    let sql = format!("SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.id = $1");
    let row =
        store.read_postgres(async |c| sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(c).await).await?;
    row.as_ref().map(contact_from_row).transpose()
}

fn push_from_and_conditions(query: &mut QueryBuilder<Postgres>, filter: &ContactFilter, text_query: Option<&str>) {
    query.push(" FROM contacts c WHERE true");
    if let Some(text_query) = text_query {
        query.push(" AND c.document @@ to_tsquery('simple', ").push_bind(text_query.to_owned()).push(")");
    }
    if let Some(email) = &filter.email {
        query.push(" AND fastintercom_ascii_lower(c.email) = ").push_bind(email.trim().to_ascii_lowercase());
    }
    if let Some(company) = &filter.company {
        query.push(
            " AND c.rowid IN (SELECT cc.contact_rowid FROM contact_companies cc JOIN companies co \
             ON co.id = cc.company_id WHERE co.id = ",
        );
        query.push_bind(company.clone());
        query.push(" OR fastintercom_ascii_lower(co.name) LIKE ");
        query.push_bind(like_contains(&company.to_ascii_lowercase())).push(" ESCAPE '\\')");
    }
}

//! Contact search and retrieval. The one place where a [`ContactFilter`] becomes SQL.

use sqlx::{QueryBuilder, Row, Sqlite};

use super::cursor::{self, Position};
use super::filter::{ContactFilter, PageRequest};
use super::model::{CompanyRef, ContactView, Page};
use super::row_count::PushRowCount as _;
use super::text::fts_all_prefixes;
use super::{Decodes, Result, Store, StoreError, json_column, postgres, push_total};

/// Columns of `contacts c` that make a [`ContactView`], with its companies (`[[id, name], ...]`) and tag names as
/// JSON arrays, so that a read is one statement (see `conversations.rs` for why).
const CONTACT_COLUMNS: &str = "c.rowid, c.id, c.role, c.external_id, c.email, c.name, c.phone, c.created_at, \
    c.updated_at, c.last_seen_at, c.country, c.city, \
    (SELECT json_group_array(json_array(co.id, co.name) ORDER BY co.name) FROM contact_companies cc \
     JOIN companies co ON co.id = cc.company_id WHERE cc.contact_rowid = c.rowid) AS companies_json, \
    (SELECT json_group_array(t.name ORDER BY t.name) FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id \
     WHERE ct.contact_rowid = c.rowid) AS tags_json";

impl Store {
    /// Finds contacts matching `filter`, most recently updated first, one page at a time.
    pub async fn search_contacts(&self, filter: &ContactFilter, page: &PageRequest) -> Result<Page<ContactView>> {
        if self.postgres().is_some() {
            return postgres::contacts::search(self, filter, page).await;
        }
        let fts_query = filter.text.as_deref().and_then(fts_all_prefixes);
        if filter.text.is_some() && fts_query.is_none() {
            return Err(no_searchable_words());
        }
        let fingerprint = cursor::fingerprint(filter);
        let position = page.cursor.as_deref().map(|c| self.cursor_key.decode(c, fingerprint)).transpose()?;
        let limit = page.clamped_limit();

        let mut select = QueryBuilder::<Sqlite>::new("SELECT ");
        select.push(CONTACT_COLUMNS);
        let from_and_conditions = |query: &mut QueryBuilder<Sqlite>| {
            push_from_and_conditions(query, filter, fts_query.as_deref());
        };
        push_total(&mut select, from_and_conditions);
        from_and_conditions(&mut select);
        match position {
            None => {}
            Some(Position::IntKey { v, r }) => {
                select.push(" AND (c.updated_at, c.rowid) < (").push_bind(v).push(", ").push_bind(r).push(")");
            }
            Some(_) => {
                return Err(StoreError::InvalidArgument("this cursor is not a contact search cursor".to_owned()));
            }
        }
        select.push(" ORDER BY c.updated_at DESC, c.rowid DESC LIMIT ").push_row_count(i64::from(limit) + 1);

        let mut rows = self.read(async |c| select.build().fetch_all(c).await).await?;
        let total = self.page_total(&rows, position.is_none(), from_and_conditions).await?;
        let has_more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor =
            match rows.last() {
                Some(last) if has_more => Some(self.cursor_key.encode(
                    fingerprint,
                    Position::IntKey { v: last.try_get("updated_at")?, r: last.try_get("rowid")? },
                )),
                _ => None,
            };
        let items = rows.iter().map(contact_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page { items, total, total_is_estimate: false, ranked_matches: None, next_cursor })
    }

    /// Returns one contact, or `None` when no contact has this id.
    pub async fn get_contact(&self, id: &str) -> Result<Option<ContactView>> {
        if self.postgres().is_some() {
            return postgres::contacts::get(self, id).await;
        }
        let sql = format!("SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.id = ?");
        let row = self.read(async |c| sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(c).await).await?;
        row.as_ref().map(contact_from_row).transpose()
    }
}

fn push_from_and_conditions(query: &mut QueryBuilder<Sqlite>, filter: &ContactFilter, fts_query: Option<&str>) {
    query.push(" FROM contacts c WHERE 1 = 1");
    if let Some(fts) = fts_query {
        query.push(" AND c.rowid IN (SELECT rowid FROM contact_fts WHERE contact_fts MATCH ");
        query.push_bind(fts.to_owned()).push(")");
    }
    if let Some(email) = &filter.email {
        query.push(" AND c.email = ").push_bind(email.trim().to_owned()).push(" COLLATE NOCASE");
    }
    if let Some(company) = &filter.company {
        query.push(
            " AND c.rowid IN (SELECT cc.contact_rowid FROM contact_companies cc JOIN companies co \
             ON co.id = cc.company_id WHERE co.id = ",
        );
        query.push_bind(company.clone());
        query.push(" OR co.name LIKE ").push_bind(like_contains(company)).push(" ESCAPE '\\')");
    }
}

/// The answer to a text query without a letter or digit.
pub(super) fn no_searchable_words() -> StoreError {
    StoreError::InvalidArgument("the text query has no searchable words: use letters or digits".to_owned())
}

/// A LIKE pattern matching values that contain `text` literally (its `%`, `_` and `\` escaped).
pub(super) fn like_contains(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

pub(super) fn contact_from_row<'r, R>(row: &'r R) -> Result<ContactView>
where
    R: Row,
    &'static str: sqlx::ColumnIndex<R>,
    &'r str: Decodes<'r, R::Database>,
    String: Decodes<'r, R::Database>,
    i64: Decodes<'r, R::Database>,
{
    let companies: Vec<(String, String)> = json_column(row, "companies_json")?;
    Ok(ContactView {
        id: row.try_get("id")?,
        role: row.try_get("role")?,
        external_id: row.try_get("external_id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        phone: row.try_get("phone")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
        country: row.try_get("country")?,
        city: row.try_get("city")?,
        companies: companies.into_iter().map(|(id, name)| CompanyRef { id, name }).collect(),
        tags: json_column(row, "tags_json")?,
    })
}

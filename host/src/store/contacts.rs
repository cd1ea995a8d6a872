//! Contact search and retrieval. The one place where a [`ContactFilter`] becomes SQL.

use std::collections::HashMap;

use sqlx::{QueryBuilder, Row, Sqlite, sqlite::SqliteRow};

use super::cursor::{self, Position};
use super::filter::{ContactFilter, PageRequest};
use super::model::{CompanyRef, ContactView, Page};
use super::push_id_list;
use super::text::fts_all_prefixes;
use super::{Result, Store, StoreError};

const CONTACT_COLUMNS: &str = "c.rowid, c.id, c.role, c.external_id, c.email, c.name, c.phone, c.created_at, \
    c.updated_at, c.last_seen_at, c.country, c.city";

impl Store {
    /// Finds contacts matching `filter`, most recently updated first, one page at a time.
    pub async fn search_contacts(&self, filter: &ContactFilter, page: &PageRequest) -> Result<Page<ContactView>> {
        let fts_query = filter.text.as_deref().and_then(fts_all_prefixes);
        if filter.text.is_some() && fts_query.is_none() {
            return Err(StoreError::InvalidArgument(
                "the text query has no searchable words: use letters or digits".to_owned(),
            ));
        }
        let fingerprint = cursor::fingerprint(filter);
        let position = page.cursor.as_deref().map(|c| cursor::decode(c, fingerprint)).transpose()?;
        let limit = page.clamped_limit();

        let mut select = QueryBuilder::<Sqlite>::new("SELECT ");
        select.push(CONTACT_COLUMNS);
        push_from_and_conditions(&mut select, filter, fts_query.as_deref());
        match position {
            None => {}
            Some(Position::IntKey { v, r }) => {
                select.push(" AND (c.updated_at, c.rowid) < (").push_bind(v).push(", ").push_bind(r).push(")");
            }
            Some(_) => {
                return Err(StoreError::InvalidArgument("this cursor is not a contact search cursor".to_owned()));
            }
        }
        select.push(" ORDER BY c.updated_at DESC, c.rowid DESC LIMIT ").push_bind(i64::from(limit) + 1);

        let mut count = QueryBuilder::<Sqlite>::new("SELECT count(*)");
        push_from_and_conditions(&mut count, filter, fts_query.as_deref());

        let mut reader = self.reader().acquire().await?;
        let mut rows = select.build().fetch_all(&mut *reader).await?;
        let total: i64 = count.build_query_scalar().fetch_one(&mut *reader).await?;
        let has_more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = match rows.last() {
            Some(last) if has_more => Some(cursor::encode(
                fingerprint,
                Position::IntKey { v: last.try_get("updated_at")?, r: last.try_get("rowid")? },
            )),
            _ => None,
        };
        let mut items = rows.iter().map(contact_from_row).collect::<Result<Vec<_>, _>>()?;
        let rowids: Vec<i64> = rows.iter().map(|row| row.try_get("rowid")).collect::<Result<_, _>>()?;
        attach_companies_and_tags(&mut reader, &rowids, &mut items).await?;
        Ok(Page { items, total: total as u64, next_cursor })
    }

    /// Returns one contact, or `None` when no contact has this id.
    pub async fn get_contact(&self, id: &str) -> Result<Option<ContactView>> {
        let mut reader = self.reader().acquire().await?;
        let sql = format!("SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.id = ?");
        let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *reader).await? else {
            return Ok(None);
        };
        let mut contact = [contact_from_row(&row)?];
        attach_companies_and_tags(&mut reader, &[row.try_get("rowid")?], &mut contact).await?;
        let [contact] = contact;
        Ok(Some(contact))
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

/// A LIKE pattern matching values that contain `text` literally (its `%`, `_` and `\` escaped).
fn like_contains(text: &str) -> String {
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

fn contact_from_row(row: &SqliteRow) -> Result<ContactView, sqlx::Error> {
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
        companies: Vec::new(),
        tags: Vec::new(),
    })
}

async fn attach_companies_and_tags(
    reader: &mut sqlx::SqliteConnection,
    rowids: &[i64],
    items: &mut [ContactView],
) -> Result<()> {
    if rowids.is_empty() {
        return Ok(());
    }
    let index: HashMap<i64, usize> = rowids.iter().enumerate().map(|(i, rowid)| (*rowid, i)).collect();
    let mut companies = QueryBuilder::<Sqlite>::new(
        "SELECT cc.contact_rowid, co.id, co.name FROM contact_companies cc JOIN companies co ON co.id = cc.company_id \
         WHERE cc.contact_rowid IN (",
    );
    push_id_list(&mut companies, rowids);
    companies.push(") ORDER BY co.name");
    for row in companies.build().fetch_all(&mut *reader).await? {
        let rowid: i64 = row.try_get(0)?;
        items[index[&rowid]].companies.push(CompanyRef { id: row.try_get(1)?, name: row.try_get(2)? });
    }
    let mut tags = QueryBuilder::<Sqlite>::new(
        "SELECT ct.contact_rowid, t.name FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id WHERE ct.contact_rowid IN (",
    );
    push_id_list(&mut tags, rowids);
    tags.push(") ORDER BY t.name");
    for row in tags.build().fetch_all(&mut *reader).await? {
        let rowid: i64 = row.try_get(0)?;
        items[index[&rowid]].tags.push(row.try_get(1)?);
    }
    Ok(())
}

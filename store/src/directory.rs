//! The workspace's directory: tags, teams, admins and companies, looked up by id or by a piece of the name, so
//! that a tool can name what it counts (and turn "Billing" into a team id).
//!
//! One statement per lookup on either backend, the same on both but for the dialect: the name matches when it
//! contains the text, ASCII case folded (SQLite's `lower` and `fastintercom_ascii_lower` fold ASCII only), and
//! entries come in byte order of the name, then the id. The total counts every match, whatever the limit.

use sqlx::Row;

use super::{Decodes, Result, Store, json_column};

/// Most entries one lookup returns.
pub const MAX_DIRECTORY_LIMIT: u32 = 1000;

/// Which entries of one kind: the one with this id, those whose name contains this text, or both conditions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryLookup {
    pub id: Option<String>,
    /// Matched case-insensitively (ASCII) anywhere in the name (admins: or the email).
    pub name: Option<String>,
    /// At most this many entries (1 to [`MAX_DIRECTORY_LIMIT`]; 0 counts only).
    pub limit: u32,
}

/// A kind of directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryKind {
    Tags,
    Teams,
    Admins,
    Companies,
}

impl DirectoryKind {
    /// Columns, table and the name condition's columns, per kind.
    fn shape(self) -> (&'static str, &'static str, &'static [&'static str]) {
        match self {
            Self::Tags => ("t.id, t.name", "tags t", &["t.name"]),
            Self::Teams => ("t.id, t.name, t.admin_ids", "teams t", &["t.name"]),
            Self::Admins => (
                "t.id, t.name, t.email, t.job_title, t.away_mode_enabled, t.team_ids",
                "admins t",
                &["t.name", "t.email"],
            ),
            Self::Companies => (
                "t.id, t.company_id, t.name, t.plan, t.size, t.website, t.industry, t.monthly_spend, t.user_count, \
                 t.created_at, (SELECT count(*) FROM contact_companies cc WHERE cc.company_id = t.id) AS contacts",
                "companies t",
                &["t.name"],
            ),
        }
    }
}

/// One entry, whatever its kind; fields a kind lacks are empty.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryEntry {
    pub id: String,
    /// Admins may have none.
    pub name: Option<String>,
    /// Admins: the email.
    pub email: Option<String>,
    /// Admins: the job title.
    pub job_title: Option<String>,
    /// Admins: away mode on.
    pub away: bool,
    /// Teams: their admins; admins: their teams.
    pub member_ids: Vec<String>,
    /// Companies: the customer's own id, plan, size, website, industry, monthly spend, user count, creation.
    pub company: Option<CompanyDetails>,
}

/// What a company entry adds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompanyDetails {
    pub company_id: Option<String>,
    pub plan: Option<String>,
    pub size: Option<i64>,
    pub website: Option<String>,
    pub industry: Option<String>,
    pub monthly_spend: Option<f64>,
    pub user_count: Option<i64>,
    pub created_at: Option<i64>,
    /// Contacts of the company in the local copy.
    pub contacts: u64,
}

/// The entries a lookup found, and how many match in all.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryPage {
    pub items: Vec<DirectoryEntry>,
    pub total: u64,
}

impl Store {
    /// The entries of `kind` that `lookup` selects, by name then id.
    pub async fn directory(&self, kind: DirectoryKind, lookup: &DirectoryLookup) -> Result<DirectoryPage> {
        let limit = i64::from(lookup.limit.min(MAX_DIRECTORY_LIMIT));
        let name = lookup.name.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_ascii_lowercase);
        let postgres = self.postgres().is_some();
        let sql = lookup_sql(kind, postgres);
        // NUL cannot be in a PostgreSQL text, and is in no id or name of either store.
        let id = lookup.id.as_deref().map(|id| id.replace('\0', "\u{fffd}"));
        let name = name.map(|name| name.replace('\0', "\u{fffd}"));
        if postgres {
            let rows = self
                .read_postgres(async |c| {
                    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(name).bind(limit).fetch_all(c).await
                })
                .await?;
            page_from_rows(kind, &rows)
        } else {
            let rows = self
                .read(async |c| {
                    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(name).bind(limit).fetch_all(c).await
                })
                .await?;
            page_from_rows(kind, &rows)
        }
    }
}

/// The lookup statement: binds the id, the lowercased name and the limit, in that order. Its rows are the
/// entries, each with the total; with none (no match, or a limit of 0) one row of nulls carries the total.
fn lookup_sql(kind: DirectoryKind, postgres: bool) -> String {
    let (columns, table, named) = kind.shape();
    let (id, name, limit, lower, contains, order) = if postgres {
        ("$1::text", "$2::text", "$3", "fastintercom_ascii_lower", "strpos", "COLLATE \"C\"")
    } else {
        ("?1", "?2", "?3", "lower", "instr", "")
    };
    let name_matches: Vec<String> =
        named.iter().map(|column| format!("{contains}({lower}(coalesce({column}, '')), {name}) > 0")).collect();
    format!(
        "WITH matches AS (SELECT {columns} FROM {table} WHERE ({id} IS NULL OR t.id = {id}) AND ({name} IS NULL OR {})) \
         SELECT (SELECT count(*) FROM matches) AS total, m.* FROM (SELECT 1) AS one LEFT JOIN \
         (SELECT * FROM matches ORDER BY coalesce(name, '') {order}, id {order} LIMIT {limit}) AS m ON true \
         ORDER BY coalesce(m.name, '') {order}, m.id {order}",
        name_matches.join(" OR "),
    )
}

fn page_from_rows<'r, R>(kind: DirectoryKind, rows: &'r [R]) -> Result<DirectoryPage>
where
    R: Row,
    &'static str: sqlx::ColumnIndex<R>,
    &'r str: Decodes<'r, R::Database>,
    String: Decodes<'r, R::Database>,
    i64: Decodes<'r, R::Database>,
    f64: Decodes<'r, R::Database>,
    bool: Decodes<'r, R::Database>,
{
    let entry_from_row = |row: &'r R| -> Result<DirectoryEntry> {
        let mut entry = DirectoryEntry {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            email: None,
            job_title: None,
            away: false,
            member_ids: Vec::new(),
            company: None,
        };
        match kind {
            DirectoryKind::Tags => {}
            DirectoryKind::Teams => entry.member_ids = json_column(row, "admin_ids")?,
            DirectoryKind::Admins => {
                entry.email = row.try_get("email")?;
                entry.job_title = row.try_get("job_title")?;
                entry.away = row.try_get("away_mode_enabled")?;
                entry.member_ids = json_column(row, "team_ids")?;
            }
            DirectoryKind::Companies => {
                let contacts: i64 = row.try_get("contacts")?;
                entry.company = Some(CompanyDetails {
                    company_id: row.try_get("company_id")?,
                    plan: row.try_get("plan")?,
                    size: row.try_get("size")?,
                    website: row.try_get("website")?,
                    industry: row.try_get("industry")?,
                    monthly_spend: row.try_get("monthly_spend")?,
                    user_count: row.try_get("user_count")?,
                    created_at: row.try_get("created_at")?,
                    contacts: u64::try_from(contacts).unwrap_or(0),
                });
            }
        }
        Ok(entry)
    };
    let total: i64 = match rows.first() {
        Some(row) => row.try_get("total")?,
        None => 0,
    };
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        // The row of nulls that says the total when there is no entry.
        if row.try_get::<Option<&str>, _>("id")?.is_some() {
            items.push(entry_from_row(row)?);
        }
    }
    Ok(DirectoryPage { items, total: u64::try_from(total).unwrap_or(0) })
}

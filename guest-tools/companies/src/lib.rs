//! The built-in `search_companies` and `get_company` tools (Intercom's own MCP server has both), as a WebAssembly
//! component on contract 0.5.0: companies from the host's `directory`, their people from `contacts`, and their
//! conversations counted by `analytics`.

use fastintercom_plugin_sdk::analytics::{self, Dimension, Grouping, Key, RowOrder, Scope};
use fastintercom_plugin_sdk::contacts::{self, ContactFilter};
use fastintercom_plugin_sdk::directory::{self, Company, Lookup};
use fastintercom_plugin_sdk::names::{self, Kind};
use fastintercom_plugin_sdk::types::PageRequest;
use fastintercom_plugin_sdk::{Envelope, Filters, Stopwatch, ToolError, TypedTool, format_unix, freshness};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Arguments of `search_companies`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// A part of the company's name (any case); without it, every company.
    #[schemars(length(max = 1024))]
    pub query: Option<String>,
    /// Most companies listed, by name (default 20).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<u32>,
}

/// A company, as both tools show it; fields Intercom left empty are left out.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CompanyOut {
    pub id: String,
    pub name: String,
    /// The customer's own id for the company.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly_spend: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_count: Option<i64>,
    /// RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Its contacts in the local copy.
    pub contacts: u64,
}

impl From<Company> for CompanyOut {
    fn from(c: Company) -> Self {
        Self {
            id: c.id,
            name: c.name,
            company_id: c.company_id,
            plan: c.plan,
            size: c.size,
            website: c.website,
            industry: c.industry,
            monthly_spend: c.monthly_spend,
            user_count: c.user_count,
            created_at: c.created_at.map(format_unix),
            contacts: c.contacts,
        }
    }
}

pub struct SearchCompanies;

impl TypedTool for SearchCompanies {
    const NAME: &'static str = "search_companies";
    const TITLE: &'static str = "Search companies";
    const DESCRIPTION: &'static str = "Finds companies by a part of their name (any case), in name order, with \
        their plan, size, website, industry, monthly spend and number of contacts. Use get_company for one \
        company's people and conversation counts.";

    type Args = SearchArgs;
    type Output = Envelope<CompanyOut>;

    fn run(args: SearchArgs) -> Result<Envelope<CompanyOut>, ToolError> {
        let mut watch = Stopwatch::new();
        let query = args.query.map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
        let lookup = Lookup { id: None, name: query.clone(), limit: args.limit.unwrap_or(20).clamp(1, 1000) };
        let found = watch.time(|| directory::companies(&lookup))?;
        let mut filters = Filters::new();
        filters.set_opt("query", query);
        let companies: Vec<CompanyOut> = found.items.into_iter().map(CompanyOut::from).collect();
        Ok(Envelope::new(companies).total(found.total).filters(filters).query_ms(watch.ms()).freshness(&freshness()))
    }
}

/// Arguments of `get_company`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetArgs {
    /// The company's Intercom id, or its name (any case, or a unique part of it).
    #[schemars(length(min = 1, max = 1024))]
    pub id: String,
    /// Most contacts listed (default 20; 0 for none).
    #[schemars(range(min = 0, max = 100))]
    pub contacts: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CompanyDetail {
    #[serde(flatten)]
    pub company: CompanyOut,
    /// Its conversations in the local copy, by state.
    pub conversations: ConversationCounts,
    /// Its first contacts, by name.
    pub people: Vec<Person>,
}

#[derive(Debug, Default, Serialize, JsonSchema)]
pub struct ConversationCounts {
    pub total: u64,
    pub open: u64,
    pub snoozed: u64,
    pub closed: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Person {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// "user" or "lead".
    pub role: String,
}

pub struct GetCompany;

impl TypedTool for GetCompany {
    const NAME: &'static str = "get_company";
    const TITLE: &'static str = "Get company";
    const DESCRIPTION: &'static str = "One company by id or name: its details, how many of its conversations are \
        open, snoozed and closed, and its contacts. Use it before a call with a customer (\"show me ACME\").";

    type Args = GetArgs;
    type Output = Envelope<CompanyDetail>;

    fn run(args: GetArgs) -> Result<Envelope<CompanyDetail>, ToolError> {
        let mut watch = Stopwatch::new();
        let id = watch.time(|| names::resolve(Kind::Company, "id", args.id.clone()))?;
        let lookup = Lookup { id: Some(id.clone()), name: None, limit: 1 };
        let Some(company) = watch.time(|| directory::companies(&lookup))?.items.into_iter().next() else {
            return Err(ToolError::NotFound(format!("no company has the id {id:?}")));
        };
        let scope = Scope { company_id: Some(id.clone()), ..Default::default() };
        let grouping =
            Grouping { by: vec![Dimension::State], row_order: RowOrder::ByKey, limit: 10, utc_offset_minutes: 0 };
        let by_state = watch.time(|| analytics::count(&scope, &grouping))?;
        let mut conversations = ConversationCounts { total: by_state.total, ..Default::default() };
        for row in &by_state.rows {
            match row.keys.first() {
                Some(Key::Value(state)) if state == "open" => conversations.open = row.conversations,
                Some(Key::Value(state)) if state == "snoozed" => conversations.snoozed = row.conversations,
                Some(Key::Value(state)) if state == "closed" => conversations.closed = row.conversations,
                _ => {}
            }
        }
        let wanted = args.contacts.unwrap_or(20).min(100);
        let people = if wanted == 0 {
            Vec::new()
        } else {
            let filter = ContactFilter { company: Some(id.clone()), ..Default::default() };
            let page = watch.time(|| contacts::search(&filter, &PageRequest { limit: wanted, cursor: None }))?;
            page.items.into_iter().map(|c| Person { id: c.id, name: c.name, email: c.email, role: c.role }).collect()
        };
        let mut filters = Filters::new();
        filters.set("id", id);
        let detail = CompanyDetail { company: CompanyOut::from(company), conversations, people };
        Ok(Envelope::new(vec![detail]).total(1).filters(filters).query_ms(watch.ms()).freshness(&freshness()))
    }
}

fastintercom_plugin_sdk::export_plugin!(SearchCompanies, GetCompany);

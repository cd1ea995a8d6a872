//! The built-in `search` and `fetch` tools: the pair that ChatGPT-style connectors (and Intercom's own MCP
//! server) offer. `search` finds conversations, contacts and companies at once and names each by a typed id
//! (`conversation:123`, `contact:abc`, `company:xyz`); `fetch` returns one as a document of plain text.
//!
//! Their answers have the connectors' shape rather than the envelope: `{"results": [{"id", "title", "url"}]}`
//! and `{"id", "title", "text", "url", "metadata"}`. URLs are the `intercom://` URIs of the local copy.

mod document;

use fastintercom_plugin_sdk::contacts::{self, ContactFilter};
use fastintercom_plugin_sdk::conversations::{self, ConversationFilter, ConversationSort};
use fastintercom_plugin_sdk::directory::{self, Lookup};
use fastintercom_plugin_sdk::types::{HostError, PageRequest};
use fastintercom_plugin_sdk::{ToolError, TypedTool, shorten};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Arguments of `search`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// Words to find: in conversations (every word, with search_conversations' syntax: "a phrase", OR, -word,
    /// word*), in contacts' names and emails (as prefixes), in companies' names.
    #[schemars(length(min = 1, max = 1024))]
    pub query: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchResults {
    /// Best conversations first (up to 10), then contacts (up to 5), then companies (up to 5).
    pub results: Vec<Hit>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Hit {
    /// `conversation:<id>`, `contact:<id>` or `company:<id>`: what `fetch` takes.
    pub id: String,
    pub title: String,
    pub url: String,
    /// A line of what was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
}

pub struct Search;

impl TypedTool for Search {
    const NAME: &'static str = "search";
    const TITLE: &'static str = "Search the workspace";
    const DESCRIPTION: &'static str = "Searches the Intercom workspace's conversations, contacts and companies at \
        once and answers typed ids (conversation:123, contact:abc, company:xyz) with titles; pass an id to fetch \
        for the whole document. For filters (state, team, dates) use search_conversations instead.";

    type Args = SearchArgs;
    type Output = SearchResults;

    fn run(args: SearchArgs) -> Result<SearchResults, ToolError> {
        let query = args.query.trim().to_owned();
        if !query.chars().any(char::is_alphanumeric) {
            return Err(ToolError::InvalidArguments(
                "`query` has no searchable words: use letters or digits".to_owned(),
            ));
        }
        let mut results = Vec::new();
        let filter = ConversationFilter { text: Some(query.clone()), ..Default::default() };
        let page =
            match conversations::search(&filter, ConversationSort::Relevance, &PageRequest { limit: 10, cursor: None })
            {
                Ok(page) => page.items,
                // A text the conversation syntax refuses ("-acme" alone) can still name contacts and companies.
                Err(HostError::InvalidArgument(_)) => Vec::new(),
                Err(other) => return Err(other.into()),
            };
        for c in page {
            results.push(Hit {
                title: document::conversation_title(c.title.as_deref(), c.subject.as_deref(), &c.preview),
                url: document::url("conversations", &c.id),
                id: format!("conversation:{}", c.id),
                snippet: Some(shorten(&c.preview, 160).into_owned()),
            });
        }
        let filter = ContactFilter { text: Some(query.clone()), ..Default::default() };
        let people = contacts::search(&filter, &PageRequest { limit: 5, cursor: None })?;
        for c in people.items {
            results.push(Hit {
                title: c.name.clone().or(c.email.clone()).unwrap_or_else(|| c.id.clone()),
                url: document::url("contacts", &c.id),
                id: format!("contact:{}", c.id),
                snippet: c.email,
            });
        }
        let companies = directory::companies(&Lookup { id: None, name: Some(query), limit: 5 })?;
        for c in companies.items {
            results.push(Hit {
                url: document::url("companies", &c.id),
                id: format!("company:{}", c.id),
                snippet: c.website.or(c.industry),
                title: c.name,
            });
        }
        Ok(SearchResults { results })
    }
}

/// Arguments of `fetch`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FetchArgs {
    /// An id from `search`: `conversation:<id>`, `contact:<id>` or `company:<id>`.
    #[schemars(length(min = 1, max = 300))]
    pub id: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Document {
    pub id: String,
    pub title: String,
    /// The whole document as plain text: a conversation's every message in order, a contact's or company's facts.
    pub text: String,
    pub url: String,
    pub metadata: Map<String, Value>,
}

pub struct Fetch;

impl TypedTool for Fetch {
    const NAME: &'static str = "fetch";
    const TITLE: &'static str = "Fetch a document";
    const DESCRIPTION: &'static str = "Returns one conversation, contact or company, by an id from search \
        (conversation:123, contact:abc, company:xyz), as a document: a title, the whole text and metadata.";

    type Args = FetchArgs;
    type Output = Document;

    fn run(args: FetchArgs) -> Result<Document, ToolError> {
        let Some((kind, id)) = args.id.split_once(':').filter(|(_, id)| !id.is_empty()) else {
            return Err(ToolError::InvalidArguments(format!(
                "`id` {:?} has no type: give conversation:<id>, contact:<id> or company:<id>, as search answers",
                args.id
            )));
        };
        let missing = || ToolError::NotFound(format!("no {kind} has the id {id:?}"));
        match kind {
            "conversation" => document::conversation(conversations::get(id)?.ok_or_else(missing)?),
            "contact" => Ok(document::contact(contacts::get(id)?.ok_or_else(missing)?)),
            "company" => {
                let lookup = Lookup { id: Some(id.to_owned()), name: None, limit: 1 };
                let company = directory::companies(&lookup)?.items.into_iter().next().ok_or_else(missing)?;
                let filter = ContactFilter { company: Some(company.id.clone()), ..Default::default() };
                let people = contacts::search(&filter, &PageRequest { limit: 50, cursor: None })?;
                Ok(document::company(company, people))
            }
            other => Err(ToolError::InvalidArguments(format!(
                "`id`: unknown type {other:?}; give conversation:<id>, contact:<id> or company:<id>"
            ))),
        }
    }
}

fastintercom_plugin_sdk::export_plugin!(Search, Fetch);

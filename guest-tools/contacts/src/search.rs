//! `search_contacts`: find users and leads by name, email or company.

use fastintercom_plugin_sdk::contacts::{self, ContactFilter};
use fastintercom_plugin_sdk::types::PageRequest;
use fastintercom_plugin_sdk::{
    Args, Detail, Envelope, Filters, Stopwatch, Tool, ToolDescriptor, ToolError, ToolOutput, envelope_output_schema,
    freshness, schema,
};
use serde_json::{Value, json};

use crate::render::{ContactOut, contact_schema};

/// Results per page when the caller does not say.
const DEFAULT_LIMIT: u32 = 50;
/// The host's page-size cap.
const MAX_LIMIT: u32 = 1000;

const ARGUMENTS: &[&str] = &["query", "email", "company", "limit", "cursor", "detail"];

/// The `search_contacts` tool.
pub struct SearchContacts;

impl Tool for SearchContacts {
    const NAME: &'static str = "search_contacts";

    fn describe() -> ToolDescriptor {
        ToolDescriptor::read_only(
            Self::NAME,
            "Search contacts",
            "Finds Intercom contacts (users and leads) in the local copy of the workspace by name or email words, \
             exact email address, or company. Returns one page of contacts (id, role, name, email, phone, \
             external id, dates, location, companies, tags) plus the total number of matches. Use it to turn a \
             person or company into contact ids, then pass an id as contact_id to search_conversations to see \
             their conversations. All filters combine with AND; without any, it lists every contact.",
            &input_schema(),
            Some(&envelope_output_schema(contact_schema())),
        )
    }

    fn call(arguments: &str) -> Result<ToolOutput, ToolError> {
        let (filter, page, detail, applied) = parse(arguments)?;
        let mut watch = Stopwatch::new();
        let freshness = watch.time(freshness);
        let found = watch.time(|| contacts::search(&filter, &page))?;
        let results: Vec<ContactOut<'_>> = found.items.iter().map(|contact| ContactOut::new(contact, detail)).collect();
        Envelope::new(results)
            .total(found.total)
            .next_cursor(found.next_cursor.clone())
            .filters(applied)
            .freshness(&freshness)
            .query_ms(watch.ms())
            .into_output()
    }
}

fn input_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "query": {"type": "string", "maxLength": 1000, "description": "Words of the contact's name or email (prefix match, case-insensitive), e.g. \"ada\" or \"ada lovelace\"."},
            "email": {"type": "string", "maxLength": 254, "description": "Exactly this email address (case-insensitive)."},
            "company": {"type": "string", "maxLength": 200, "description": "Only contacts of a company whose name contains this text (case-insensitive), or whose Intercom id is this."},
            "limit": schema::limit_argument(DEFAULT_LIMIT, MAX_LIMIT),
            "cursor": schema::cursor_argument(),
            "detail": Detail::argument_schema(Detail::Compact, "each contact without null fields, empty lists or external_id.")
        },
        "additionalProperties": false
    })
}

/// Reads and checks the arguments: the host filter, the page, and the normalised filters to report.
fn parse(arguments: &str) -> Result<(ContactFilter, PageRequest, Detail, Filters), ToolError> {
    let args = Args::parse(arguments)?;
    args.deny_unknown(ARGUMENTS)?;
    let text = args.string("query")?;
    let email = args.string("email")?;
    let company = args.string("company")?;
    let limit = args.limit("limit", DEFAULT_LIMIT, MAX_LIMIT)?;
    let cursor = args.string("cursor")?;
    let detail = Detail::from_args(&args, Detail::Compact)?;
    let mut applied = Filters::new();
    applied
        .set_opt("query", text.clone())
        .set_opt("email", email.clone())
        .set_opt("company", company.clone())
        .set("limit", limit)
        .set("detail", detail.as_str());
    Ok((ContactFilter { text, email, company }, PageRequest { limit, cursor }, detail, applied))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_arguments() {
        let (filter, page, detail, applied) =
            parse(r#"{"query":" ada ","company":"","limit":3,"cursor":"c"}"#).unwrap();
        assert_eq!(filter.text.as_deref(), Some("ada"));
        assert_eq!(filter.company, None);
        assert_eq!((page.limit, page.cursor.as_deref()), (3, Some("c")));
        assert_eq!(detail, Detail::Compact);
        assert_eq!(Value::Object(applied.into_map()), json!({"query": "ada", "limit": 3, "detail": "compact"}));
        let (_, page, _, _) = parse("{}").unwrap();
        assert_eq!(page.limit, 50);
    }

    #[test]
    fn bad_arguments_are_invalid_arguments() {
        for bad in [r#"{"limit":0}"#, r#"{"email":5}"#, r#"{"name":"x"}"#, r#"{"detail":"all"}"#, "[]", "nope"] {
            assert!(matches!(parse(bad), Err(ToolError::InvalidArguments(_))), "{bad}");
        }
    }

    #[test]
    fn describes_itself() {
        let d = SearchContacts::describe();
        assert_eq!(d.name, SearchContacts::NAME);
        let input: Value = serde_json::from_str(&d.input_schema).unwrap();
        assert_eq!(input["properties"].as_object().unwrap().len(), ARGUMENTS.len());
        assert!(d.output_schema.is_some());
    }
}

//! `get_contact`: one contact by id.

use fastintercom_plugin_sdk::contacts;
use fastintercom_plugin_sdk::{
    Args, Detail, Envelope, Filters, Stopwatch, Tool, ToolDescriptor, ToolError, ToolOutput, envelope_output_schema,
    freshness,
};
use serde_json::{Value, json};

use crate::render::{ContactOut, contact_schema};

/// The `get_contact` tool.
pub struct GetContact;

impl Tool for GetContact {
    const NAME: &'static str = "get_contact";

    fn describe() -> ToolDescriptor {
        ToolDescriptor::read_only(
            Self::NAME,
            "Get a contact",
            "Returns one Intercom contact (user or lead) by id: name, email, phone, external id, role, dates \
             (created, updated, last seen), location, companies and tags. Use it when you have a contact id, \
             e.g. from a conversation's contact_ids or author; use search_contacts to find one by name or email.",
            &input_schema(),
            Some(&envelope_output_schema(contact_schema())),
        )
    }

    fn call(arguments: &str) -> Result<ToolOutput, ToolError> {
        let args = Args::parse(arguments)?;
        args.deny_unknown(&["id", "detail"])?;
        let id = args.required_string("id")?;
        let detail = Detail::from_args(&args, Detail::Full)?;
        let mut watch = Stopwatch::new();
        let freshness = watch.time(freshness);
        let contact = watch.time(|| contacts::get(&id))?.ok_or_else(|| {
            ToolError::NotFound(format!("No contact with id {id}; use search_contacts to find contact ids."))
        })?;
        let mut applied = Filters::new();
        applied.set("id", id.as_str()).set("detail", detail.as_str());
        Envelope::new(vec![ContactOut::new(&contact, detail)])
            .total(1)
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
            "id": {"type": "string", "minLength": 1, "maxLength": 64, "description": "The contact id, as search_contacts or a conversation returns it."},
            "detail": Detail::argument_schema(Detail::Full, "without null fields, empty lists or external_id.")
        },
        "required": ["id"],
        "additionalProperties": false
    })
}

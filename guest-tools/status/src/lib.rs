//! The built-in `get_sync_status` tool, as a WebAssembly component: how fresh the local copy of the workspace
//! is, per synced resource. Imports only `sync-status`, so it can never read workspace data.

use fastintercom_plugin_sdk::sync_status::{self, ResourceStatus};
use fastintercom_plugin_sdk::{
    Args, Envelope, Stopwatch, Tool, ToolDescriptor, ToolError, ToolOutput, envelope_output_schema, format_unix,
    freshness, schema,
};
use serde::Serialize;
use serde_json::{Value, json};

/// The `get_sync_status` tool.
pub struct GetSyncStatus;

impl Tool for GetSyncStatus {
    const NAME: &'static str = "get_sync_status";

    fn describe() -> ToolDescriptor {
        ToolDescriptor::read_only(
            Self::NAME,
            "Get sync status",
            "Reports how fresh the local copy of the Intercom workspace is, per synced resource (admins, teams, \
             tags, contacts, companies, conversations, deleted_conversations): when it last synced successfully, \
             how long ago (lag), how many items the last run wrote, how many are stored, and the last error if the \
             sync is failing. Use it before answering questions about very recent activity, or when results look \
             stale or incomplete.",
            &json!({"type": "object", "properties": {}, "additionalProperties": false}),
            Some(&envelope_output_schema(resource_schema())),
        )
    }

    fn call(arguments: &str) -> Result<ToolOutput, ToolError> {
        Args::parse(arguments)?.deny_unknown(&[])?;
        let mut watch = Stopwatch::new();
        let freshness = watch.time(freshness);
        let resources = watch.time(sync_status::resources);
        let results: Vec<ResourceOut> = resources.iter().map(ResourceOut::from).collect();
        Envelope::new(results).freshness(&freshness).query_ms(watch.ms()).into_output()
    }
}

/// One resource's status as the tool shows it: times as RFC 3339 text, lag in seconds.
#[derive(Serialize)]
struct ResourceOut<'a> {
    resource: &'a str,
    last_success_at: Option<String>,
    lag_seconds: Option<i64>,
    last_run_items: i64,
    stored_items: Option<u64>,
    last_error: Option<&'a str>,
    last_error_at: Option<String>,
    interrupted: bool,
}

impl<'a> From<&'a ResourceStatus> for ResourceOut<'a> {
    fn from(s: &'a ResourceStatus) -> Self {
        ResourceOut {
            resource: &s.resource,
            last_success_at: s.last_success_at.map(format_unix),
            lag_seconds: s.lag_seconds,
            last_run_items: s.last_run_items,
            stored_items: s.stored_items,
            last_error: s.last_error.as_deref(),
            last_error_at: s.last_error_at.map(format_unix),
            interrupted: s.interrupted,
        }
    }
}

fn resource_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "resource": {"type": "string"},
            "last_success_at": schema::timestamp(true),
            "lag_seconds": schema::nullable("integer"),
            "last_run_items": {"type": "integer"},
            "stored_items": schema::nullable("integer"),
            "last_error": schema::nullable("string"),
            "last_error_at": schema::timestamp(true),
            "interrupted": {"type": "boolean"}
        },
        "required": ["resource", "last_success_at", "lag_seconds", "last_run_items", "stored_items", "last_error",
                     "last_error_at", "interrupted"]
    })
}

fastintercom_plugin_sdk::export_plugin!(GetSyncStatus);

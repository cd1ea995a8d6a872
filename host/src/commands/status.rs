//! `fastintercom status`: how fresh the local copy is, per resource.

use clap::Args;

use crate::config::Config;
use crate::store::ResourceState;
use crate::sync;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

pub async fn run(config: &Config, args: StatusArgs) -> anyhow::Result<()> {
    let store = config.open_store().await?;
    let freshness = store.freshness().await?;
    let counts = store.counts().await?;
    let states = sync::resource_states(&store).await?;
    store.close().await;
    let now = sync::unix_now();
    if args.json {
        let resources: Vec<serde_json::Value> = states.iter().map(|s| state_json(s, now)).collect();
        let status = serde_json::json!({
            "source": freshness.source,
            "last_synced_at": freshness.last_synced_at,
            "counts": {
                "conversations": counts.conversations, "parts": counts.parts, "contacts": counts.contacts,
                "companies": counts.companies, "admins": counts.admins, "teams": counts.teams, "tags": counts.tags,
            },
            "resources": resources,
        });
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(());
    }
    println!("data from {} as of {}", freshness.source, format_time(freshness.last_synced_at));
    println!(
        "{} conversations ({} parts), {} contacts, {} companies, {} admins, {} teams, {} tags",
        counts.conversations, counts.parts, counts.contacts, counts.companies, counts.admins, counts.teams, counts.tags
    );
    println!("{:<22} {:<22} {:>10} {:>8}  last error", "resource", "last success", "lag", "items");
    for s in &states {
        let lag = s.last_success_at.map_or("-".to_owned(), |at| humantime::format_duration(lag(now, at)).to_string());
        let error = match (&s.last_error, s.last_error_at) {
            (Some(error), at) => format!("{} ({})", error, format_time(at)),
            (None, _) if s.run.is_some() => "(interrupted; the next run resumes it)".to_owned(),
            (None, _) => String::new(),
        };
        println!(
            "{:<22} {:<22} {:>10} {:>8}  {}",
            s.resource,
            format_time(s.last_success_at),
            lag,
            s.last_run_items,
            error
        );
    }
    Ok(())
}

fn lag(now: i64, at: i64) -> std::time::Duration {
    std::time::Duration::from_secs((now - at).max(0) as u64)
}

fn state_json(state: &ResourceState, now: i64) -> serde_json::Value {
    serde_json::json!({
        "resource": state.resource,
        "last_success_at": state.last_success_at,
        "lag_seconds": state.last_success_at.map(|at| (now - at).max(0)),
        "watermark": state.watermark,
        "last_run_items": state.last_run_items,
        "last_error": state.last_error,
        "last_error_at": state.last_error_at,
        "interrupted_run": state.run.is_some(),
    })
}

/// RFC 3339 for a unix time in seconds, "never" for none.
pub(super) fn format_time(at: Option<i64>) -> String {
    match at.and_then(|at| std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(at.max(0) as u64))) {
        Some(time) => humantime::format_rfc3339_seconds(time).to_string(),
        None => "never".to_owned(),
    }
}

//! A plugin written to hurt the host, built with wit-bindgen directly against contract 0.2.0. Each tool is one
//! attack of the hostile-plugin suite (`tests/integration/hostile.rs`); the host must contain every one and
//! answer the attacker with a clean tool error, while serving everyone else.
//!
//! Describe-time attacks are chosen by patching [`MODE`] in the compiled component (same length; see
//! `tests/fixtures.rs`): `schema-bomb-NN` (an input schema whose validation costs 2^NN), `huge-describe`
//! (a 4 MB description), `many-tools` (2,000 tools). The default, `normal`, describes the tools below.
//!
//! Call-time attacks take their size from the arguments, so one build serves every test:
//! - `spin`: computes forever;
//! - `sleep`: sleeps `ms` milliseconds (holds a call slot, not a thread);
//! - `hold_memory`: allocates and touches `mib` MiB, then sleeps `ms` (holds memory);
//! - `huge_list`: `conversations.search` with `entries` states, tags or priorities (`which`), through
//!   `conversations@0.3.0` when `bounded` is true;
//! - `long_string`: `conversations.get` with an id of `bytes` bytes;
//! - `huge_error`: fails with an error message of `bytes` bytes;
//! - `empty_blocks`: answers `count` empty text blocks;
//! - `log_flood`: logs `count` messages of 4 KiB and prints as much to stderr;
//! - `log_forge`: logs a message that tries to forge a log line (newline, carriage return, escape codes);
//! - `forged_cursor`: pages with a cursor it wrote itself (an offset of 2^63);
//! - `exit`: exits the process with status 3;
//! - `bad_utf8`: answers text that is not UTF-8;
//! - `get_many`: `conversations.get-many` (0.4.0) with `entries` ids of `bytes` bytes;
//! - `directory`: `directory.<kind>` (tags, teams, admins or companies) with the `id` and `name` it is given, or a
//!   name of `name_bytes` bytes, and `limit` (default u32::MAX); answers `{"items": [[id, name], ...], "total": N}`;
//! - `analytics`: `analytics.count` (or `.distribution`, `.rated`, or `conversations@0.5.0`'s `search` over the
//!   scope, as `call` says) with `ratings` ratings (all 9),
//!   `figures` figure ranges, `by` dimensions (tag, created by hour, ... repeated), a company id of
//!   `company_bytes` bytes, a text of `text_bytes` bytes, `limit` and `offset`; answers
//!   `{"rows": N, "total": N}`.
//!
//! It imports `log`, `conversations`, `directory` and `analytics` only: its manifest asking for more (the sensitive `plugins` grant) is an
//! attack on the grants, judged before its imports.

#![allow(unsafe_code)] // the generated export glue, and `bad_utf8`, which must build an invalid string

use std::hint::black_box;

use serde_json::{Value, json};

wit_bindgen::generate!({
    world: "fastintercom:plugin/plugin@0.5.0",
    path: ["../../../wit/0.1.0", "../../../wit/0.2.0", "../../../wit/0.3.0", "../../../wit/0.4.0", "../../../wit/0.5.0"],
    generate_all,
});

use exports::fastintercom::plugin0_1_0::tool::{
    Annotations, ContentBlock, Guest, ToolDescriptor, ToolError, ToolOutput,
};
use fastintercom::plugin0_1_0::conversations::{
    self, ConversationFilter, ConversationSort, ConversationState, PriorityLevel,
};
use fastintercom::plugin0_1_0::log::{self, Level};
use fastintercom::plugin0_1_0::types::PageRequest;

/// What `describe` does; patched by tests (keep the length: 32 bytes).
static MODE: &str = "hostile-mode:normal_____________";

fn mode() -> &'static str {
    black_box(MODE)["hostile-mode:".len()..].trim_end_matches('_')
}

const TOOLS: &[(&str, &str)] = &[
    ("spin", "Computes forever."),
    ("sleep", "Sleeps `ms` milliseconds."),
    ("hold_memory", "Allocates and touches `mib` MiB, then sleeps `ms` milliseconds."),
    ("huge_list", "Searches with `entries` entries in the list `which` (states, tags or priorities)."),
    ("long_string", "Gets a conversation by an id of `bytes` bytes."),
    ("huge_error", "Fails with an error message of `bytes` bytes."),
    ("empty_blocks", "Answers `count` empty text blocks."),
    ("log_flood", "Logs `count` messages of 4 KiB, and prints as much to stderr."),
    ("log_forge", "Logs a message that tries to forge a log line."),
    ("forged_cursor", "Pages with a cursor it made up (an offset of 2^63)."),
    ("exit", "Exits with status 3."),
    ("bad_utf8", "Answers text that is not UTF-8."),
    ("directory", "Looks up `kind` in the directory by `id` and `name` (or a name of `name_bytes` bytes), `limit`."),
    ("get_many", "Gets `entries` conversations at once, each by an id of `bytes` bytes."),
    ("analytics", "Asks `analytics` (`call`: count, distribution or rated) with lists and strings as large as asked."),
];

fn descriptor(name: String, description: String, input_schema: String) -> ToolDescriptor {
    ToolDescriptor {
        name,
        title: None,
        description,
        input_schema,
        output_schema: None,
        annotations: Annotations { read_only: true, destructive: false, idempotent: false, open_world: false },
    }
}

/// `$defs` d0..dN, each an `anyOf` of two references to the next: validating a value against d0 walks 2^N paths.
fn schema_bomb(depth: usize) -> String {
    let mut defs = serde_json::Map::new();
    for level in 0..depth {
        let next = format!("#/$defs/d{}", level + 1);
        defs.insert(format!("d{level}"), json!({"anyOf": [{"$ref": next}, {"$ref": next}]}));
    }
    defs.insert(format!("d{depth}"), json!({"type": "integer"}));
    json!({"type": "object", "properties": {"x": {"$ref": "#/$defs/d0"}}, "$defs": defs}).to_string()
}

struct Hostile;

impl Guest for Hostile {
    fn describe() -> Vec<ToolDescriptor> {
        let any_object = r#"{"type":"object"}"#.to_owned();
        let mode = mode();
        if let Some(depth) = mode.strip_prefix("schema-bomb-") {
            let depth = depth.parse().unwrap_or(40);
            return vec![descriptor("bomb".into(), "Its schema is the attack.".into(), schema_bomb(depth))];
        }
        match mode {
            "huge-describe" => vec![descriptor("huge".into(), "x".repeat(4 << 20), any_object)],
            "many-tools" => {
                (0..2000).map(|i| descriptor(format!("tool_{i}"), "One of many.".into(), any_object.clone())).collect()
            }
            _ => TOOLS
                .iter()
                .map(|(name, what)| descriptor((*name).into(), (*what).into(), any_object.clone()))
                .collect(),
        }
    }

    fn call(name: String, arguments: String) -> Result<ToolOutput, ToolError> {
        let args: Value = serde_json::from_str(&arguments).unwrap_or(Value::Null);
        let number = |key: &str, default: u64| args[key].as_u64().unwrap_or(default);
        match name.as_str() {
            "spin" => {
                let mut n: u64 = 0;
                loop {
                    n = black_box(n.wrapping_add(1));
                }
            }
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_millis(number("ms", 1000)));
                Ok(text("slept"))
            }
            "hold_memory" => {
                let block = vec![0xA5u8; (number("mib", 16) as usize) << 20];
                std::thread::sleep(std::time::Duration::from_millis(number("ms", 0)));
                Ok(text(format!("held {} bytes", black_box(block).len())))
            }
            "huge_list" => huge_list(
                args["which"].as_str().unwrap_or("tags"),
                number("entries", 1_000_000) as usize,
                args["bounded"].as_bool().unwrap_or(false),
            ),
            "long_string" => match conversations::get(&"9".repeat(number("bytes", 1 << 20) as usize)) {
                Ok(_) => Ok(text("the host accepted it")),
                Err(error) => Err(ToolError::Unavailable(format!("host refused: {error:?}"))),
            },
            "huge_error" => Err(ToolError::Internal("e".repeat(number("bytes", 50 << 20) as usize))),
            "empty_blocks" => Ok(ToolOutput {
                content: vec![ContentBlock::Text(String::new()); number("count", 2_500_000) as usize],
                structured: None,
            }),
            "log_flood" => {
                let message = "f".repeat(4096);
                for _ in 0..number("count", 64) {
                    log::log(Level::Info, &message);
                    eprintln!("{message}");
                }
                Ok(text("flooded"))
            }
            "log_forge" => {
                log::log(
                    Level::Info,
                    "innocent\n2026-12-06T00:00:00.000000Z  INFO fastintercom: FORGED-LINE all keys revoked\r\x1b[2Kerased",
                );
                Ok(text("forged"))
            }
            "forged_cursor" => {
                let payload = r#"{"f":0,"k":"o","o":9223372036854775808}"#;
                let cursor = base64_url(payload.as_bytes());
                let page = PageRequest { limit: 10, cursor: Some(cursor) };
                let filter = filter(Some("refund".to_owned()));
                match search(&filter, ConversationSort::Relevance, &page, args["bounded"].as_bool().unwrap_or(false)) {
                    Ok((items, _)) => Ok(text(format!("the host accepted it: {items} items"))),
                    Err(error) => Err(ToolError::InvalidArguments(format!("host refused: {error:?}"))),
                }
            }
            "directory" => directory(&args),
            "analytics" => analytics(&args),
            "get_many" => {
                let id = "9".repeat(number("bytes", 12) as usize);
                let ids = vec![id; number("entries", 1000) as usize];
                match fastintercom::plugin0_4_0::conversations::get_many(&ids) {
                    Ok(found) => Ok(text(format!("the host accepted it: {} answers", found.len()))),
                    Err(error) => Err(ToolError::InvalidArguments(format!("host refused: {error:?}"))),
                }
            }
            "exit" => std::process::exit(3),
            "bad_utf8" => {
                // SAFETY: not safe at all; that is the attack. The host must not trust the bytes.
                let invalid = unsafe { String::from_utf8_unchecked(vec![0x66, 0x6f, 0xff, 0xfe, 0x6f]) };
                Ok(ToolOutput { content: vec![ContentBlock::Text(invalid)], structured: None })
            }
            other => Err(ToolError::InvalidArguments(format!("no tool {other}"))),
        }
    }
}

fn text(text: impl Into<String>) -> ToolOutput {
    ToolOutput { content: vec![ContentBlock::Text(text.into())], structured: None }
}

fn filter(text: Option<String>) -> ConversationFilter {
    ConversationFilter {
        text,
        states: Vec::new(),
        tags: Vec::new(),
        contact_id: None,
        admin_assignee_id: None,
        team_assignee_id: None,
        priorities: Vec::new(),
        created_after: None,
        created_before: None,
        updated_after: None,
        updated_before: None,
    }
}

/// `conversations.search` through `conversations@0.1.0`, or `@0.3.0` when `bounded`: the number of items and the
/// total.
fn search(
    filter: &ConversationFilter,
    sort: ConversationSort,
    page: &PageRequest,
    bounded: bool,
) -> Result<(usize, u64), fastintercom::plugin0_1_0::types::HostError> {
    if bounded {
        let page = fastintercom::plugin0_3_0::conversations::search(filter, sort, page)?;
        Ok((page.items.len(), page.total))
    } else {
        let page = conversations::search(filter, sort, page)?;
        Ok((page.items.len(), page.total))
    }
}

fn huge_list(which: &str, entries: usize, bounded: bool) -> Result<ToolOutput, ToolError> {
    let mut filter = filter(None);
    match which {
        "states" => filter.states = vec![ConversationState::Open; entries],
        "priorities" => filter.priorities = vec![PriorityLevel::High; entries],
        _ => filter.tags = vec![String::from("x"); entries],
    }
    let page = PageRequest { limit: 1, cursor: None };
    match search(&filter, ConversationSort::Newest, &page, bounded) {
        Ok((_, total)) => Ok(text(format!("the host accepted it: total {total}"))),
        Err(error) => Err(ToolError::InvalidArguments(format!("host refused: {error:?}"))),
    }
}

/// `directory.<kind>` with what `args` gives, however large or strange.
fn directory(args: &Value) -> Result<ToolOutput, ToolError> {
    use fastintercom::plugin0_4_0::directory as dir;
    let name = match args["name_bytes"].as_u64() {
        Some(bytes) => Some("n".repeat(bytes as usize)),
        None => args["name"].as_str().map(str::to_owned),
    };
    let lookup = dir::Lookup {
        id: args["id"].as_str().map(str::to_owned),
        name,
        limit: args["limit"].as_u64().map_or(u32::MAX, |l| l as u32),
    };
    /// The entries (id and name) and the total.
    type Found = (Vec<(String, Option<String>)>, u64);
    let found: Result<Found, _> = match args["kind"].as_str().unwrap_or("tags") {
        "teams" => dir::teams(&lookup).map(|f| (f.items.into_iter().map(|t| (t.id, Some(t.name))).collect(), f.total)),
        "admins" => dir::admins(&lookup).map(|f| (f.items.into_iter().map(|a| (a.id, a.name)).collect(), f.total)),
        "companies" => {
            dir::companies(&lookup).map(|f| (f.items.into_iter().map(|c| (c.id, Some(c.name))).collect(), f.total))
        }
        _ => dir::tags(&lookup).map(|f| (f.items.into_iter().map(|t| (t.id, Some(t.name))).collect(), f.total)),
    };
    match found {
        Ok((items, total)) => Ok(text(json!({"items": items, "total": total}).to_string())),
        Err(error) => Err(ToolError::InvalidArguments(format!("host refused: {error:?}"))),
    }
}

/// `analytics.<call>` with lists and strings as large as `args` asks, and any limit and offset.
fn analytics(args: &Value) -> Result<ToolOutput, ToolError> {
    use fastintercom::plugin0_5_0::analytics as a;
    let entries = |name: &str| args[name].as_u64().unwrap_or(0) as usize;
    let mut filter = filter(args["text_bytes"].as_u64().map(|bytes| "refund ".repeat(bytes as usize / 7 + 1)));
    filter.tags = vec!["bug".to_owned(); entries("tags")];
    let scope = a::Scope {
        filter,
        closed_after: None,
        closed_before: None,
        ratings: vec![9; entries("ratings")],
        company_id: args["company_bytes"].as_u64().map(|bytes| "c".repeat(bytes as usize)),
        figures: vec![
            a::FigureRange {
                figure: a::Figure::TimeToFirstReply,
                at_least: Some(i64::MIN),
                below: Some(i64::MAX)
            };
            entries("figures")
        ],
    };
    let dimensions = [a::Dimension::Tag, a::Dimension::Created(a::Period::Hour), a::Dimension::CreatedHourOfWeek];
    let grouping = a::Grouping {
        by: (0..entries("by")).map(|i| dimensions[i % dimensions.len()]).collect(),
        row_order: a::RowOrder::LargestFirst,
        limit: args["limit"].as_u64().map_or(u32::MAX, |l| l as u32),
        utc_offset_minutes: args["offset"].as_i64().map_or(i32::MAX, |o| o as i32),
    };
    let answer = match args["call"].as_str().unwrap_or("count") {
        "distribution" => {
            let figures = vec![a::Figure::WaitingSince; args["figures_asked"].as_u64().unwrap_or(1) as usize];
            a::distribution(&scope, &figures, &grouping).map(|d| (d.rows.len(), d.total))
        }
        "rated" => a::rated(&scope, grouping.limit).map(|r| (r.len(), r.len() as u64)),
        "search" => {
            let page = PageRequest { limit: grouping.limit, cursor: None };
            fastintercom::plugin0_5_0::conversations::search(&scope, ConversationSort::Newest, &page)
                .map(|p| (p.items.len(), p.total))
        }
        _ => a::count(&scope, &grouping).map(|c| (c.rows.len(), c.total)),
    };
    match answer {
        Ok((rows, total)) => Ok(text(json!({"rows": rows, "total": total}).to_string())),
        Err(error) => Err(ToolError::InvalidArguments(format!("host refused: {error:?}"))),
    }
}

/// Base64url without padding (the shape of the host's cursors).
fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

export!(Hostile);

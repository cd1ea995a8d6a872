//! The conditions of `search_conversations` beyond the filter of contract 0.1.0: the rating, the company, the
//! last close, and Intercom's timing figures ("first response slower than an hour"). They travel in the scope of
//! `conversations@0.5.0`'s search, which the host checks like any other condition.

use fastintercom_plugin_sdk::analytics::{Figure, FigureRange};
use fastintercom_plugin_sdk::names::{self, Kind};
use fastintercom_plugin_sdk::{Args, Filters, ToolError, schema};
use serde_json::{Value, json};

/// The arguments this module reads.
pub const ARGUMENTS: &[&str] = &[
    "rating",
    "company",
    "closed_after",
    "closed_before",
    "first_response_slower_than",
    "first_response_faster_than",
    "time_to_close_longer_than",
    "time_to_close_shorter_than",
];

/// Duration arguments: (argument, figure, true when it is a lower bound).
const DURATIONS: [(&str, Figure, bool); 4] = [
    ("first_response_slower_than", Figure::TimeToFirstReply, true),
    ("first_response_faster_than", Figure::TimeToFirstReply, false),
    ("time_to_close_longer_than", Figure::TimeToFirstClose, true),
    ("time_to_close_shorter_than", Figure::TimeToFirstClose, false),
];

/// The schemas of the arguments, to add to the tool's input schema.
pub fn schemas() -> Vec<(&'static str, Value)> {
    let duration = |what: &str| {
        json!({
            "type": "string",
            "maxLength": 32,
            "description": format!("{what} A duration: \"90s\", \"15m\", \"1h\", \"1.5h\", \"2d\", or a number of seconds (\"3600\"). Conversations without the figure (never answered, never closed) are left out."),
        })
    };
    vec![
        (
            "rating",
            json!({"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 5}, "maxItems": 5, "description": "Only conversations the customer rated with any of these (1 to 5), e.g. [1, 2] for the unhappy ones."}),
        ),
        (
            "company",
            json!({"type": "string", "maxLength": 256, "description": "Only conversations of this company: its name (any case, or a unique part of it) or id."}),
        ),
        ("closed_after", schema::time_argument("Only conversations last closed at or after this time.")),
        ("closed_before", schema::time_argument("Only conversations last closed before this time.")),
        ("first_response_slower_than", duration("Only conversations whose first admin reply took at least this long.")),
        ("first_response_faster_than", duration("Only conversations whose first admin reply took less than this.")),
        (
            "time_to_close_longer_than",
            duration("Only conversations first closed at least this long after they started."),
        ),
        ("time_to_close_shorter_than", duration("Only conversations first closed less than this after they started.")),
    ]
}

/// The conditions, read from `args`, and their normalised form recorded in `applied`.
#[derive(Debug, Default)]
pub struct More {
    pub ratings: Vec<u8>,
    pub company: Option<String>,
    pub closed_after: Option<i64>,
    pub closed_before: Option<i64>,
    pub figures: Vec<FigureRange>,
}

impl More {
    pub fn parse(args: &Args, applied: &mut Filters) -> Result<Self, ToolError> {
        let mut more = More::default();
        if let Some(value) = args.get("rating") {
            let invalid = || ToolError::InvalidArguments("`rating`: give ratings 1 to 5, e.g. [1, 2]".to_owned());
            let list = value.as_array().ok_or_else(invalid)?;
            for rating in list {
                let rating = rating.as_u64().filter(|r| (1..=5).contains(r)).ok_or_else(invalid)?;
                if !more.ratings.contains(&(rating as u8)) {
                    more.ratings.push(rating as u8);
                }
            }
            more.ratings.sort_unstable();
            applied.set_list("rating", more.ratings.clone());
        }
        more.company = args.string("company")?.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
        more.closed_after = args.time("closed_after")?;
        more.closed_before = args.time("closed_before")?;
        applied.set_time("closed_after", more.closed_after).set_time("closed_before", more.closed_before);
        for (argument, figure, lower) in DURATIONS {
            let Some(text) = args.string(argument)? else { continue };
            let seconds = parse_duration(&text)
                .map_err(|problem| ToolError::InvalidArguments(format!("`{argument}`: {problem}")))?;
            applied.set(argument, seconds);
            let (at_least, below) = if lower { (Some(seconds), None) } else { (None, Some(seconds)) };
            match more.figures.iter_mut().find(|range| range.figure == figure) {
                Some(range) => {
                    range.at_least = range.at_least.or(at_least);
                    range.below = range.below.or(below);
                }
                None => more.figures.push(FigureRange { figure, at_least, below }),
            }
        }
        if let (Some(after), Some(before)) = (more.closed_after, more.closed_before)
            && after >= before
        {
            return Err(ToolError::InvalidArguments("`closed_after` must be before `closed_before`".to_owned()));
        }
        for range in &more.figures {
            if let (Some(at_least), Some(below)) = (range.at_least, range.below)
                && at_least >= below
            {
                return Err(ToolError::InvalidArguments(
                    "the slower-than (longer-than) duration must be less than the faster-than (shorter-than) one"
                        .to_owned(),
                ));
            }
        }
        Ok(more)
    }

    /// Turns a company given by name into its id (one host call, none for an id that exists), and reports it.
    pub fn resolve_company(&mut self, applied: &mut Filters) -> Result<(), ToolError> {
        if let Some(company) = self.company.take() {
            let id = names::resolve(Kind::Company, "company", company)?;
            applied.set("company", id.as_str());
            self.company = Some(id);
        }
        Ok(())
    }
}

/// Seconds in a duration: `90s`, `15m`, `1h`, `1.5h`, `2d`, `3600` (seconds), with spaces and long unit names
/// ("2 hours") allowed.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let text = text.trim().to_ascii_lowercase();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| format!("{text:?} is not a duration such as \"1h\" or \"90m\""))?;
    let unit_seconds = match unit.trim() {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86_400.0,
        "w" | "week" | "weeks" => 604_800.0,
        other => return Err(format!("unknown unit {other:?}; use s, m, h, d or w")),
    };
    let seconds = (number * unit_seconds).round();
    if !(0.0..=1e12).contains(&seconds) {
        return Err(format!("{text:?} is out of range"));
    }
    Ok(seconds as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration(" 1.5h "), Ok(5400));
        assert_eq!(parse_duration("2 days"), Ok(172_800));
        assert_eq!(parse_duration("3600"), Ok(3600));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("1 fortnight").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("1e30").is_err());
    }
}

//! Reading tool arguments so that every mistake becomes a [`ToolError::InvalidArguments`] naming the argument.
//!
//! The host validated the arguments against the tool's input schema before the call, but a guest must not trust
//! that (an older host, a schema too loose to express a rule, a bug): every accessor here checks again and
//! never panics. Messages go to a language model, so they say which argument is wrong and what would be right.

use std::ops::RangeInclusive;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::ToolError;
use crate::time::parse_time;

/// Deserialises `arguments` into `T` with serde, for plugin authors who prefer derive (a [`crate::TypedTool`]'s
/// arguments are read with it).
///
/// The arguments must be a JSON object (empty text counts as `{}`). serde's message is kept (it names missing
/// and unknown fields, expected types and enum variants), prefixed with the path of the offending value when
/// there is one (`` `limit`: invalid type: string "ten", expected u32 ``, `` `filter.tags[1]`: ... ``); serde_json's
/// "at line 1 column 7" suffix, which means nothing to a model that sent an object, is left out. Whole floats
/// (`10.0`) are read as integers, as the host's JSON Schema validation counts them.
pub fn parse_args<T: DeserializeOwned>(arguments: &str) -> Result<T, ToolError> {
    let mut value = if arguments.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        serde_json::from_str::<Value>(arguments)
            .map_err(|e| invalid(format!("the arguments are not valid JSON: {}", json_error_message(&e))))?
    };
    if !value.is_object() {
        return Err(invalid(format!("the arguments must be a JSON object, got {}", shown(&value))));
    }
    whole_floats_to_integers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let message = e.inner().to_string();
        let mut segments: Vec<_> = e.path().iter().collect();
        // The path of an unknown field ends with that field, which the message names already.
        if message.starts_with("unknown field") {
            segments.pop();
        }
        if segments.is_empty() {
            return invalid(message);
        }
        let mut path = String::new();
        for segment in segments {
            if !path.is_empty() && !matches!(segment, serde_path_to_error::Segment::Seq { .. }) {
                path.push('.');
            }
            path.push_str(&segment.to_string());
        }
        invalid(format!("`{path}`: {message}"))
    })
}

/// Rewrites every whole float in `value` (`10.0`) as an integer: JSON Schema's `"type": "integer"` accepts
/// them, serde's integer types do not. Floats stay readable as `f64` (serde reads integers as floats too).
fn whole_floats_to_integers(value: &mut Value) {
    /// 2^53: every integer below it is exact as an `f64`.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match value {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| n.is_f64() && f.fract() == 0.0 && f.abs() < EXACT) {
                *n = serde_json::Number::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_floats_to_integers),
        Value::Object(map) => map.values_mut().for_each(whole_floats_to_integers),
        Value::Null | Value::Bool(_) | Value::String(_) => {}
    }
}

/// The arguments of one call, as a JSON object, with typed accessors that name the argument in their errors.
#[derive(Debug, Clone, Default)]
pub struct Args {
    map: Map<String, Value>,
}

impl Args {
    /// Parses `arguments`, which must be a JSON object (empty text counts as `{}`).
    pub fn parse(arguments: &str) -> Result<Args, ToolError> {
        if arguments.trim().is_empty() {
            return Ok(Args::default());
        }
        match serde_json::from_str::<Value>(arguments) {
            Ok(Value::Object(map)) => Ok(Args { map }),
            Ok(_) => Err(invalid("the arguments must be a JSON object".to_owned())),
            Err(e) => Err(invalid(format!("the arguments are not valid JSON: {}", json_error_message(&e)))),
        }
    }

    /// Fails on any argument not in `allowed` (the input schemas say `additionalProperties: false`).
    pub fn deny_unknown(&self, allowed: &[&str]) -> Result<(), ToolError> {
        match self.map.keys().find(|key| !allowed.contains(&key.as_str())) {
            None => Ok(()),
            Some(key) => Err(invalid(format!("unknown argument `{key}`; expected one of: {}", allowed.join(", ")))),
        }
    }

    /// The raw value of `key`; `None` when absent or `null`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A string argument, trimmed; blank counts as absent.
    pub fn string(&self, key: &str) -> Result<Option<String>, ToolError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => {
                let s = s.trim();
                Ok((!s.is_empty()).then(|| s.to_owned()))
            }
            Some(other) => Err(wrong_type(key, "a string", other)),
        }
    }

    /// A string argument that must be present and not blank.
    pub fn required_string(&self, key: &str) -> Result<String, ToolError> {
        self.string(key)?.ok_or_else(|| invalid(format!("`{key}` is required and must be a non-empty string")))
    }

    /// A list of strings, trimmed, blanks dropped. A single string is accepted as a list of one.
    pub fn strings(&self, key: &str) -> Result<Vec<String>, ToolError> {
        let items = match self.get(key) {
            None => return Ok(Vec::new()),
            Some(Value::String(s)) => std::slice::from_ref(s),
            Some(Value::Array(items)) => {
                return items
                    .iter()
                    .filter_map(|item| match item {
                        Value::String(s) => {
                            let s = s.trim();
                            (!s.is_empty()).then(|| Ok(s.to_owned()))
                        }
                        other => Some(Err(wrong_type(key, "an array of strings", other))),
                    })
                    .collect();
            }
            Some(other) => return Err(wrong_type(key, "an array of strings", other)),
        };
        Ok(items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).map(str::to_owned).collect())
    }

    /// A boolean argument.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, ToolError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(wrong_type(key, "true or false", other)),
        }
    }

    /// An integer argument within `range` (whole floats such as `10.0` are accepted).
    pub fn integer(&self, key: &str, range: RangeInclusive<i64>) -> Result<Option<i64>, ToolError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let number = value
            .as_i64()
            .or_else(|| value.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64));
        match number {
            Some(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(invalid(format!(
                "`{key}` must be an integer from {} to {}, got {}",
                range.start(),
                range.end(),
                shown(value)
            ))),
        }
    }

    /// A page size: an integer in 1..=`max`, `default` when absent.
    pub fn limit(&self, key: &str, default: u32, max: u32) -> Result<u32, ToolError> {
        Ok(self.integer(key, 1..=i64::from(max))?.map_or(default, |n| u32::try_from(n).unwrap_or(max)))
    }

    /// A string that must be one of `allowed`; returns the matching entry of `allowed`.
    pub fn one_of<'a>(&self, key: &str, allowed: &[&'a str]) -> Result<Option<&'a str>, ToolError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let found = value.as_str().and_then(|s| allowed.iter().copied().find(|a| *a == s.trim()));
        match found {
            Some(a) => Ok(Some(a)),
            None => Err(invalid(format!("`{key}` must be one of: {}; got {}", allowed.join(", "), shown(value)))),
        }
    }

    /// A point in time (see [`parse_time`]) as unix seconds.
    pub fn time(&self, key: &str) -> Result<Option<i64>, ToolError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(value) => parse_time(value).map(Some).map_err(|e| invalid(format!("`{key}`: {e}"))),
        }
    }
}

fn invalid(message: String) -> ToolError {
    ToolError::InvalidArguments(message)
}

fn wrong_type(key: &str, expected: &str, got: &Value) -> ToolError {
    invalid(format!("`{key}` must be {expected}, got {}", shown(got)))
}

/// `value` as JSON for an error message, cut to about 100 characters: the model needs to recognise what it
/// sent, not to receive a megabyte back.
pub fn shown(value: &Value) -> String {
    const MAX: usize = 100;
    let text = value.to_string();
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// serde_json's message without its position suffix.
fn json_error_message(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    message.strip_suffix(&suffix).map(str::to_owned).unwrap_or(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(e: ToolError) -> String {
        match e {
            ToolError::InvalidArguments(m) => m,
            other => panic!("expected invalid-arguments, got {other:?}"),
        }
    }

    #[test]
    fn reads_typed_arguments() {
        let args = Args::parse(
            r#"{"q":"  refund ","blank":" ","tags":["a"," ",  "b "],"one":"x","p":true,"n":10.0,"t":"2025-01-15","s":"open","nil":null}"#,
        )
        .unwrap();
        assert_eq!(args.string("q").unwrap().as_deref(), Some("refund"));
        assert_eq!(args.string("blank").unwrap(), None);
        assert_eq!(args.string("nil").unwrap(), None);
        assert_eq!(args.string("missing").unwrap(), None);
        assert_eq!(args.strings("tags").unwrap(), ["a", "b"]);
        assert_eq!(args.strings("one").unwrap(), ["x"]);
        assert_eq!(args.bool("p").unwrap(), Some(true));
        assert_eq!(args.integer("n", 1..=100).unwrap(), Some(10));
        assert_eq!(args.limit("n", 50, 1000).unwrap(), 10);
        assert_eq!(args.limit("missing", 50, 1000).unwrap(), 50);
        assert_eq!(args.time("t").unwrap(), Some(1_736_899_200));
        assert_eq!(args.one_of("s", &["open", "closed"]).unwrap(), Some("open"));
        assert!(args.deny_unknown(&["q", "blank", "tags", "one", "p", "n", "t", "s", "nil"]).is_ok());
    }

    #[test]
    fn names_the_argument_in_errors() {
        let args = Args::parse(r#"{"limit":5000,"q":3,"t":"soon","s":"pending","tags":[1],"p":"yes"}"#).unwrap();
        assert_eq!(
            message(args.limit("limit", 50, 1000).unwrap_err()),
            "`limit` must be an integer from 1 to 1000, got 5000"
        );
        assert_eq!(message(args.string("q").unwrap_err()), "`q` must be a string, got 3");
        assert!(message(args.time("t").unwrap_err()).starts_with("`t`: \"soon\" is not a date"));
        assert_eq!(
            message(args.one_of("s", &["open", "closed"]).unwrap_err()),
            "`s` must be one of: open, closed; got \"pending\""
        );
        assert_eq!(message(args.strings("tags").unwrap_err()), "`tags` must be an array of strings, got 1");
        assert_eq!(message(args.bool("p").unwrap_err()), "`p` must be true or false, got \"yes\"");
        // serde_json's map is sorted, so the first unknown key is deterministic.
        assert_eq!(
            message(args.deny_unknown(&["limit", "q"]).unwrap_err()),
            "unknown argument `p`; expected one of: limit, q"
        );
        assert!(message(args.required_string("id").unwrap_err()).contains("`id` is required"));
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = "é".repeat(500);
        let args = Args::parse(&format!(r#"{{"n":"{long}"}}"#)).unwrap();
        let m = message(args.integer("n", 1..=2).unwrap_err());
        assert!(m.ends_with('…') && m.chars().count() < 160, "{m}");
    }

    #[test]
    fn rejects_non_objects_without_panicking() {
        assert!(Args::parse("").is_ok());
        for bad in ["[]", "3", "\"x\"", "{", "null", "\u{0}"] {
            assert!(Args::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(message(Args::parse("[1]").unwrap_err()), "the arguments must be a JSON object");
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Typed {
        id: String,
    }

    #[test]
    fn serde_errors_name_the_field_and_lose_their_position() {
        assert_eq!(
            message(parse_args::<Typed>(r#"{"id":1}"#).unwrap_err()),
            "`id`: invalid type: integer `1`, expected a string"
        );
        assert_eq!(message(parse_args::<Typed>("{}").unwrap_err()), "missing field `id`");
        assert_eq!(message(parse_args::<Typed>("").unwrap_err()), "missing field `id`");
        assert_eq!(
            message(parse_args::<Typed>(r#"{"id":"a","x":1}"#).unwrap_err()),
            "unknown field `x`, expected `id`"
        );
        assert_eq!(
            message(parse_args::<Typed>("{\"id\":\n\"a\"").unwrap_err()),
            "the arguments are not valid JSON: EOF while parsing an object"
        );
        assert_eq!(message(parse_args::<Typed>("3").unwrap_err()), "the arguments must be a JSON object, got 3");
    }

    #[test]
    fn whole_floats_read_as_integers() {
        #[derive(serde::Deserialize, Debug)]
        struct Numbers {
            n: u32,
            f: f64,
            list: Vec<i64>,
        }
        let parsed = parse_args::<Numbers>(r#"{"n":10.0,"f":2,"list":[-3.0,4]}"#).unwrap();
        assert_eq!((parsed.n, parsed.f, parsed.list), (10, 2.0, vec![-3, 4]));
        assert_eq!(
            message(parse_args::<Numbers>(r#"{"n":1e300,"f":1,"list":[]}"#).unwrap_err()),
            "`n`: invalid type: floating point `1e+300`, expected u32"
        );
    }
}

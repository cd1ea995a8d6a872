//! Lenient deserialisers for Intercom's JSON, used through `#[serde(deserialize_with = "de::...")]`.
//!
//! Intercom's payloads drift between API versions and between the spec and what the servers send: ids the spec calls
//! strings arrive as integers (`conversation_part.id` in the spec's own example), admin and team references are
//! integers where the objects' own ids are strings (`admin_assignee_id`, `team_ids`), `0` means "unassigned", and
//! fields the spec does not mark nullable are null in its examples. One surprising field must not stop a sync, so
//! every scalar is first read as a [`Loose`] value, which accepts any JSON, and the helpers below turn it into the
//! Rust type the models want. Only a missing or unusable *required id* is an error: an object without an id cannot
//! be stored.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Any JSON value; objects and arrays are skipped unread because a scalar was expected.
#[derive(Debug, Clone, PartialEq)]
pub enum Loose {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer above `i64::MAX`.
    BigInt(u64),
    Float(f64),
    Str(String),
    /// An object or array where a scalar was expected.
    Compound,
}

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseVisitor)
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Loose, E> {
        Ok(Loose::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Loose, E> {
        Ok(Loose::Int(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Loose, E> {
        Ok(i64::try_from(value).map_or(Loose::BigInt(value), Loose::Int))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Loose, E> {
        Ok(Loose::Float(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Loose, E> {
        Ok(Loose::Str(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Loose, E> {
        Ok(Loose::Str(value))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Loose, E> {
        Ok(Loose::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Loose, E> {
        Ok(Loose::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Loose, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Loose::Compound)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Loose::Compound)
    }
}

impl Loose {
    /// The value as text: strings as they are, numbers and booleans printed. Integral floats print without a
    /// fraction so `123.0` and `123` give the same id.
    pub fn into_text(self) -> Option<String> {
        match self {
            Self::Str(text) => Some(text),
            Self::Bool(value) => Some(value.to_string()),
            Self::Null | Self::Compound => None,
            number => number.into_int_text(),
        }
    }

    /// The value as an id: like [`Loose::into_text`], but a boolean is not an id.
    pub fn into_id(self) -> Option<String> {
        match self {
            Self::Bool(_) => None,
            other => other.into_text(),
        }
    }

    fn into_int_text(self) -> Option<String> {
        match self {
            Self::Int(value) => Some(value.to_string()),
            Self::BigInt(value) => Some(value.to_string()),
            Self::Float(value) if value.is_finite() && value.fract() == 0.0 && value.abs() < 9.0e15 => {
                Some(format!("{value:.0}"))
            }
            Self::Float(value) if value.is_finite() => Some(value.to_string()),
            _ => None,
        }
    }

    /// The value as an integer: integers, integral-or-not floats (truncated) and numeric strings such as
    /// `"1663597223"`. Anything else (including an ISO date string) is `None` rather than an error.
    pub fn into_int(self) -> Option<i64> {
        match self {
            Self::Int(value) => Some(value),
            Self::BigInt(value) => i64::try_from(value).ok(),
            Self::Float(value) => float_to_int(value),
            Self::Str(text) => parse_int(&text),
            Self::Null | Self::Bool(_) | Self::Compound => None,
        }
    }

    /// The value as a floating-point number: numbers and numeric strings.
    pub fn into_f64(self) -> Option<f64> {
        match self {
            Self::Int(value) => Some(value as f64),
            Self::BigInt(value) => Some(value as f64),
            Self::Float(value) => Some(value),
            Self::Str(text) => text.trim().parse::<f64>().ok().filter(|value| value.is_finite()),
            Self::Null | Self::Bool(_) | Self::Compound => None,
        }
    }

    /// The value as a boolean: booleans, `0`/`1` and the strings `"true"`/`"false"`.
    pub fn into_bool(self) -> Option<bool> {
        match self {
            Self::Bool(value) => Some(value),
            Self::Int(value) => Some(value != 0),
            Self::Str(text) => match text.trim() {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }
}

fn float_to_int(value: f64) -> Option<i64> {
    // `as` saturates, so a finite float outside the i64 range cannot wrap around.
    value.is_finite().then(|| value.trunc() as i64)
}

fn parse_int(text: &str) -> Option<i64> {
    let text = text.trim();
    text.parse::<i64>().ok().or_else(|| text.parse::<f64>().ok().and_then(float_to_int))
}

/// A required id: a string or an integer, stored as text. Null or an object is an error, because a record cannot be
/// stored without its id.
pub fn id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Loose::deserialize(deserializer)?.into_id().ok_or_else(|| de::Error::custom("expected an id (string or integer)"))
}

/// An optional id (string or integer), as text.
pub fn opt_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(Loose::deserialize(deserializer)?.into_id())
}

/// An assignee id: an integer in 2.16 where `0` means unassigned (null in 2.15 and older), so `0`, `"0"`, `""` and
/// null all become `None`.
pub fn assignee_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(opt_id(deserializer)?.filter(|id| !id.is_empty() && id != "0"))
}

/// A list of ids (integers such as `team_ids`, or strings), as text. Null is an empty list; a single id instead of
/// a list is accepted as a list of one; items that are not ids (null, objects) are dropped.
pub fn id_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let items = deserializer.deserialize_any(ManyVisitor)?;
    Ok(items.into_iter().filter_map(Loose::into_id).collect())
}

/// Reads a list of [`Loose`] values out of an array, null (empty) or a lone scalar (one item).
struct ManyVisitor;

impl<'de> Visitor<'de> for ManyVisitor {
    type Value = Vec<Loose>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a list of ids")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Loose>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element::<Loose>()? {
            items.push(item);
        }
        Ok(items)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Vec<Loose>, A::Error> {
        LooseVisitor.visit_map(map).map(|_| Vec::new())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Vec<Loose>, E> {
        Ok(Vec::new())
    }

    fn visit_none<E: de::Error>(self) -> Result<Vec<Loose>, E> {
        Ok(Vec::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<Loose>, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Vec<Loose>, E> {
        Ok(vec![Loose::Bool(value)])
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Vec<Loose>, E> {
        Ok(vec![Loose::Int(value)])
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Vec<Loose>, E> {
        LooseVisitor.visit_u64(value).map(|item| vec![item])
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Vec<Loose>, E> {
        Ok(vec![Loose::Float(value)])
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Vec<Loose>, E> {
        Ok(vec![Loose::Str(value.to_owned())])
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Vec<Loose>, E> {
        Ok(vec![Loose::Str(value)])
    }
}

/// A timestamp (Unix seconds) the record requires: an integer or numeric string; null or garbage becomes `0`.
pub fn timestamp<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    Ok(opt_int(deserializer)?.unwrap_or(0))
}

/// An optional integer (a count, a duration or a Unix-seconds timestamp): an integer, float or numeric string;
/// anything else is `None`.
pub fn opt_int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    Ok(Loose::deserialize(deserializer)?.into_int())
}

/// An optional number such as `monthly_spend`, which the spec types as an integer but is money.
pub fn opt_f64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    Ok(Loose::deserialize(deserializer)?.into_f64())
}

/// A boolean the model requires: null or garbage is `false`.
pub fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(opt_flag(deserializer)?.unwrap_or(false))
}

/// An optional boolean.
pub fn opt_flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    Ok(Loose::deserialize(deserializer)?.into_bool())
}

/// A string the model requires: null becomes `""`, a number is printed.
pub fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(opt_text(deserializer)?.unwrap_or_default())
}

/// An optional string; numbers and booleans are printed, objects and arrays are `None`. An empty string stays
/// `Some("")`: the store keeps what Intercom sent.
pub fn opt_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(Loose::deserialize(deserializer)?.into_text())
}

/// A field whose null means the same as its absence (typically a list): null becomes `T::default()`.
pub fn or_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// An optional nested object read tolerantly: if it is not the shape the model expects (a string where an object
/// was documented, an object without its id), it becomes `None` instead of failing the whole response. Used for
/// small side objects (channel, rating, company reference, ...) whose loss does not make the record wrong. Null and
/// anything that is not an object are `None`.
pub fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    // Only objects: serde's derived structs would also accept an array (fields by position), which here would
    // turn a stray `[]` into an object with every field empty.
    let value = serde_json::Value::deserialize(deserializer)?;
    if !value.is_object() {
        return Ok(None);
    }
    Ok(serde_json::from_value(value).ok())
}

/// An admin's or contact's avatar: a URL string (the `admin` schema) or an object `{type: "avatar", image_url}`
/// (the `/me` example, `display_avatar=true`, contacts). Either way, the URL.
pub fn avatar_url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    text_or_member(deserializer, "image_url")
}

/// A company's plan: an object `{type: "plan", id, name}` (the schema; `{}` in the examples) or a bare name.
/// Either way, the name.
pub fn plan_name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    text_or_member(deserializer, "name")
}

fn text_or_member<'de, D: Deserializer<'de>>(deserializer: D, member: &str) -> Result<Option<String>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(match value {
        serde_json::Value::String(text) => Some(text),
        serde_json::Value::Object(mut object) => match object.remove(member) {
            Some(serde_json::Value::String(text)) => Some(text),
            _ => None,
        },
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Default, Deserialize)]
    struct Probe {
        #[serde(default, deserialize_with = "super::opt_id")]
        id: Option<String>,
        #[serde(default, deserialize_with = "super::assignee_id")]
        assignee: Option<String>,
        #[serde(default, deserialize_with = "super::id_list")]
        ids: Vec<String>,
        #[serde(default, deserialize_with = "super::opt_int")]
        at: Option<i64>,
        #[serde(default, deserialize_with = "super::flag")]
        on: bool,
        #[serde(default, deserialize_with = "super::opt_text")]
        text: Option<String>,
        #[serde(default, deserialize_with = "super::avatar_url")]
        avatar: Option<String>,
    }

    fn probe(value: serde_json::Value) -> Probe {
        match serde_json::from_value(value) {
            Ok(probe) => probe,
            Err(error) => panic!("probe did not deserialize: {error}"),
        }
    }

    #[test]
    fn ids_accept_strings_integers_and_integral_floats() {
        assert_eq!(probe(json!({"id": "abc"})).id.as_deref(), Some("abc"));
        assert_eq!(probe(json!({"id": 42})).id.as_deref(), Some("42"));
        assert_eq!(probe(json!({"id": 42.0})).id.as_deref(), Some("42"));
        assert_eq!(probe(json!({"id": 18446744073709551615_u64})).id.as_deref(), Some("18446744073709551615"));
        assert_eq!(probe(json!({"id": null})).id, None);
        assert_eq!(probe(json!({"id": true})).id, None);
        assert_eq!(probe(json!({"id": {"nested": 1}})).id, None);
    }

    #[test]
    fn zero_assignee_means_unassigned() {
        for unassigned in [json!(0), json!("0"), json!(""), json!(null)] {
            assert_eq!(probe(json!({"assignee": unassigned})).assignee, None);
        }
        assert_eq!(probe(json!({"assignee": 991267715})).assignee.as_deref(), Some("991267715"));
    }

    #[test]
    fn id_lists_accept_integers_strings_null_and_a_lone_id() {
        assert_eq!(probe(json!({"ids": [814865, "abc", null]})).ids, ["814865", "abc"]);
        assert!(probe(json!({"ids": null})).ids.is_empty());
        assert_eq!(probe(json!({"ids": 7})).ids, ["7"]);
        assert!(probe(json!({"ids": {"a": 1}})).ids.is_empty());
    }

    #[test]
    fn integers_accept_numeric_strings_and_ignore_garbage() {
        assert_eq!(probe(json!({"at": 1663597223})).at, Some(1663597223));
        assert_eq!(probe(json!({"at": " 1663597223 "})).at, Some(1663597223));
        assert_eq!(probe(json!({"at": 1663597223.7})).at, Some(1663597223));
        assert_eq!(probe(json!({"at": "2023-03-04T09:46:14Z"})).at, None);
        assert_eq!(probe(json!({"at": [1]})).at, None);
    }

    #[test]
    fn flags_and_text_are_forgiving() {
        assert!(probe(json!({"on": true})).on);
        assert!(probe(json!({"on": "true"})).on);
        assert!(!probe(json!({"on": null})).on);
        assert_eq!(probe(json!({"text": 70})).text.as_deref(), Some("70"));
        assert_eq!(probe(json!({"text": ""})).text.as_deref(), Some(""));
        assert_eq!(probe(json!({"text": {"a": 1}})).text, None);
    }

    #[test]
    fn avatar_is_a_url_or_an_object_with_one() {
        assert_eq!(probe(json!({"avatar": "https://a/b.png"})).avatar.as_deref(), Some("https://a/b.png"));
        let object = json!({"avatar": {"type": "avatar", "image_url": "https://a/c.png"}});
        assert_eq!(probe(object).avatar.as_deref(), Some("https://a/c.png"));
        assert_eq!(probe(json!({"avatar": {"type": "avatar", "image_url": null}})).avatar, None);
        assert_eq!(probe(json!({})).avatar, None);
    }
}

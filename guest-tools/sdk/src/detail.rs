//! How much of each record an answer carries. A model pays for every byte it reads, and most questions need the
//! few fields a person would glance at; `detail: "full"` gives everything the store keeps.

use std::borrow::Cow;

use serde::{Serialize, Serializer};
use serde_json::{Value, json};

use crate::{Args, ToolError};

/// The `detail` argument shared by searches and gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// What a person would glance at: empty and default-valued fields left out, texts shortened.
    Compact,
    /// Every field, nulls included.
    Full,
}

impl Detail {
    /// The argument's accepted values, in schema order.
    pub const NAMES: [&'static str; 2] = ["compact", "full"];

    /// The argument value naming this level.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compact => "compact",
            Self::Full => "full",
        }
    }

    /// The `detail` argument of `args`, or `default` when absent.
    pub fn from_args(args: &Args, default: Detail) -> Result<Detail, ToolError> {
        Ok(match args.one_of("detail", &Self::NAMES)? {
            Some("full") => Self::Full,
            Some(_) => Self::Compact,
            None => default,
        })
    }

    /// The `detail` argument's schema; `compact` says what the compact form leaves out.
    pub fn argument_schema(default: Detail, compact: &str) -> Value {
        json!({
            "type": "string",
            "enum": Self::NAMES,
            "default": default.as_str(),
            "description": format!("compact: {compact} full: every field, nulls included. Default {}.", default.as_str()),
        })
    }

    /// True for [`Detail::Compact`].
    pub fn is_compact(self) -> bool {
        self == Self::Compact
    }
}

/// A record rendered at one of two levels of detail: `C` for compact, `F` for full, each made `From` the same
/// host record. Serialises as the one it holds.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum AtDetail<C, F> {
    Compact(C),
    Full(F),
}

impl<C, F> AtDetail<C, F> {
    /// `record` as `detail` renders it.
    pub fn new<'a, T>(record: &'a T, detail: Detail) -> Self
    where
        C: From<&'a T>,
        F: From<&'a T>,
    {
        match detail {
            Detail::Compact => Self::Compact(C::from(record)),
            Detail::Full => Self::Full(F::from(record)),
        }
    }
}

/// A field of an answer that full detail always carries (null when there is no value) and compact detail leaves
/// out when there is no value: put `#[serde(skip_serializing_if = "Shown::is_omitted")]` on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown<T> {
    value: Option<T>,
    omit_when_none: bool,
}

impl<T> Shown<T> {
    /// `value` at `detail`.
    pub fn new(value: Option<T>, detail: Detail) -> Self {
        Self { value, omit_when_none: detail.is_compact() }
    }

    /// For `skip_serializing_if`: true when compact detail leaves this field out.
    pub fn is_omitted(&self) -> bool {
        self.omit_when_none && self.value.is_none()
    }
}

impl<'a, T> Shown<&'a [T]> {
    /// A list, which compact detail leaves out when it is empty (full detail shows it, empty).
    pub fn list(items: &'a [T], detail: Detail) -> Self {
        Self::new(Some(items).filter(|items| !(detail.is_compact() && items.is_empty())), detail)
    }
}

impl<T: Serialize> Serialize for Shown<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

/// `text` cut to at most `max_chars` characters, at a space in the second half when there is one, with an
/// ellipsis when cut. Meant for text whose whitespace is already single spaces: the host's previews, which its
/// `store::text::preview` makes by the same rule (a guest cannot link the host's store crate).
pub fn shorten(text: &str, max_chars: usize) -> Cow<'_, str> {
    let Some((end, _)) = text.char_indices().nth(max_chars) else {
        return Cow::Borrowed(text);
    };
    let kept = &text[..end];
    let half = kept.char_indices().nth(max_chars / 2).map_or(0, |(byte, _)| byte);
    let kept = match kept[half..].rfind(' ') {
        Some(space) => &kept[..half + space],
        None => kept,
    };
    Cow::Owned(format!("{}…", kept.trim_end()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_defaults_and_refuses_unknown_levels_listing_the_accepted_ones() {
        let args = Args::parse("{}").unwrap();
        assert_eq!(Detail::from_args(&args, Detail::Compact).unwrap(), Detail::Compact);
        assert_eq!(Detail::from_args(&args, Detail::Full).unwrap(), Detail::Full);
        let args = Args::parse(r#"{"detail":"full"}"#).unwrap();
        assert_eq!(Detail::from_args(&args, Detail::Compact).unwrap(), Detail::Full);
        let args = Args::parse(r#"{"detail":"brief"}"#).unwrap();
        match Detail::from_args(&args, Detail::Compact) {
            Err(ToolError::InvalidArguments(message)) => assert!(message.contains("compact, full"), "{message}"),
            other => panic!("{other:?}"),
        }
    }

    #[derive(Serialize)]
    struct Sample<'a> {
        #[serde(skip_serializing_if = "Shown::is_omitted")]
        name: Shown<&'a str>,
        #[serde(skip_serializing_if = "Shown::is_omitted")]
        tags: Shown<&'a [&'a str]>,
    }

    #[test]
    fn compact_detail_leaves_out_what_full_detail_shows_as_null_or_empty() {
        let sample = |name, tags, detail| Sample { name: Shown::new(name, detail), tags: Shown::list(tags, detail) };
        let json = |s: Sample<'_>| serde_json::to_string(&s).unwrap();
        assert_eq!(json(sample(None, &[], Detail::Full)), r#"{"name":null,"tags":[]}"#);
        assert_eq!(json(sample(None, &[], Detail::Compact)), "{}");
        assert_eq!(json(sample(Some("a"), &["x"], Detail::Compact)), r#"{"name":"a","tags":["x"]}"#);
        assert_eq!(json(sample(Some("a"), &["x"], Detail::Full)), r#"{"name":"a","tags":["x"]}"#);
    }

    #[test]
    fn shortens_at_a_space_in_the_second_half() {
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("exactly10!", 10), "exactly10!");
        assert_eq!(shorten("alpha beta gamma delta", 12), "alpha beta…");
        assert_eq!(shorten("a verylongword", 8), "a verylo…");
        assert_eq!(shorten("ünïcödé wörds hére", 12), "ünïcödé…");
        assert_eq!(shorten("", 3), "");
        for text in ["alpha beta gamma delta", "ünïcödé wörds hére", "x y z w v u t s"] {
            for max in 1..text.chars().count() {
                let short = shorten(text, max);
                assert!(short.chars().count() <= max + 1, "{text:?} {max} {short:?}");
                assert!(short.ends_with('…'));
                assert!(text.starts_with(short.trim_end_matches('…')));
            }
        }
    }
}

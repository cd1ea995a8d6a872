//! Timestamps as tools meet them: unix seconds from the host, ISO 8601 text from language models.
//!
//! Hand-written rather than chrono: the formats tools need are few (RFC 3339, its common relaxations, plain
//! dates), the arithmetic is a dozen lines, and leaving chrono out keeps every guest smaller and its behaviour
//! obvious (e.g. a datetime without an offset is UTC, which chrono's RFC 3339 parser would reject).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// Seconds in a UTC day (no leap seconds in unix time).
pub const DAY: i64 = 86_400;

/// The earliest unix second accepted from callers: 0000-01-01T00:00:00Z.
pub const MIN_UNIX: i64 = -62_167_219_200;
/// The latest unix second accepted from callers: 9999-12-31T23:59:59Z. Anything larger is almost always
/// milliseconds passed where seconds were expected.
pub const MAX_UNIX: i64 = 253_402_300_799;

/// Parses a point in time given as unix seconds (an integer, a whole float, or a string of digits) or as ISO 8601
/// text: `2025-01-15` (midnight UTC), `2025-01-15T09:30:00Z`, `2025-01-15T09:30:00.123+02:00`,
/// `2025-01-15 09:30`, ... A datetime without an offset is taken as UTC. Fractions of a second are dropped.
///
/// The error text is meant to be shown to a model after the argument's name, e.g. "`created_after` ...".
pub fn parse_time(value: &Value) -> Result<i64, String> {
    match value {
        Value::Number(n) => {
            let seconds = if let Some(i) = n.as_i64() {
                i
            } else if let Some(f) = n.as_f64().filter(|f| f.is_finite() && f.fract() == 0.0) {
                if f < MIN_UNIX as f64 || f > MAX_UNIX as f64 {
                    return Err(out_of_range(&n.to_string()));
                }
                f as i64
            } else {
                return Err(format!("{n} is not whole unix seconds"));
            };
            check_range(seconds, &n.to_string())
        }
        Value::String(text) => parse_time_str(text),
        other => Err(format!(
            "expected an ISO 8601 date or datetime string (e.g. \"2025-01-15\" or \"2025-01-15T09:30:00Z\") or unix seconds, got {}",
            kind(other)
        )),
    }
}

/// [`parse_time`] for text.
pub fn parse_time_str(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let digits = text.strip_prefix('-').unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        // A date is never all digits in the formats we accept, so this is unix seconds.
        return match text.parse::<i64>() {
            Ok(seconds) => check_range(seconds, text),
            Err(_) => Err(out_of_range(text)),
        };
    }
    parse_iso8601(text).ok_or_else(|| {
        format!(
            "\"{text}\" is not a date or time; use ISO 8601 such as \"2025-01-15\" or \"2025-01-15T09:30:00Z\", or unix seconds"
        )
    })
}

/// Formats unix seconds as RFC 3339 in UTC, e.g. `2025-01-15T09:30:00Z`. Never panics; years outside
/// 0000-9999 come out with more digits or a sign, which no caller of this crate produces.
pub fn format_unix(seconds: i64) -> String {
    let days = seconds.div_euclid(DAY);
    let secs = seconds.rem_euclid(DAY);
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// The current unix second from the WASI wall clock (0 if the clock reports a time before 1970).
pub fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)).unwrap_or(0)
}

/// Named ranges of UTC days a tool can offer instead of explicit dates. A typed tool can take it as an argument
/// directly: it deserialises from, and its schema lists, the names of [`Timeframe::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
pub enum Timeframe {
    /// From today's midnight (UTC) to tomorrow's.
    #[serde(rename = "today")]
    Today,
    /// The whole previous UTC day.
    #[serde(rename = "yesterday")]
    Yesterday,
    /// The 7 UTC days ending with today (today included).
    #[serde(rename = "last_7_days")]
    Last7Days,
    /// The 30 UTC days ending with today (today included).
    #[serde(rename = "last_30_days")]
    Last30Days,
    /// The 90 UTC days ending with today (today included).
    #[serde(rename = "last_90_days")]
    Last90Days,
}

impl Timeframe {
    /// Every timeframe, in the order tools list them in schemas.
    pub const ALL: [Timeframe; 5] =
        [Timeframe::Today, Timeframe::Yesterday, Timeframe::Last7Days, Timeframe::Last30Days, Timeframe::Last90Days];

    /// The name used in tool arguments: `today`, `yesterday`, `last_7_days`, `last_30_days`, `last_90_days`.
    pub fn as_str(self) -> &'static str {
        match self {
            Timeframe::Today => "today",
            Timeframe::Yesterday => "yesterday",
            Timeframe::Last7Days => "last_7_days",
            Timeframe::Last30Days => "last_30_days",
            Timeframe::Last90Days => "last_90_days",
        }
    }

    /// The timeframe named `name` (see [`Timeframe::as_str`]).
    pub fn parse(name: &str) -> Option<Timeframe> {
        Timeframe::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// Every name, for a JSON Schema `enum`.
    pub fn names() -> Vec<&'static str> {
        Timeframe::ALL.iter().map(|t| t.as_str()).collect()
    }

    /// `(after, before)` in unix seconds for a clock reading `now`: `after` inclusive, `before` exclusive, both
    /// on UTC midnights, so that two calls on the same day filter identically.
    pub fn range(self, now: i64) -> (i64, i64) {
        let today = now.div_euclid(DAY) * DAY;
        let tomorrow = today + DAY;
        match self {
            Timeframe::Today => (today, tomorrow),
            Timeframe::Yesterday => (today - DAY, today),
            Timeframe::Last7Days => (today - 6 * DAY, tomorrow),
            Timeframe::Last30Days => (today - 29 * DAY, tomorrow),
            Timeframe::Last90Days => (today - 89 * DAY, tomorrow),
        }
    }
}

/// Sums the time spent in host calls, for the envelope's `summary.query_ms`.
///
/// Monotonic (`Instant`, i.e. WASI's monotonic clock), so it cannot go backwards when the wall clock is adjusted.
#[derive(Debug, Default, Clone)]
pub struct Stopwatch {
    spent: Duration,
}

impl Stopwatch {
    /// A stopwatch at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `f` and adds its duration to the total.
    pub fn time<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let result = f();
        self.spent += start.elapsed();
        result
    }

    /// The total so far, in milliseconds rounded to the microsecond.
    pub fn ms(&self) -> f64 {
        (self.spent.as_secs_f64() * 1_000_000.0).round() / 1000.0
    }
}

fn check_range(seconds: i64, shown: &str) -> Result<i64, String> {
    if (MIN_UNIX..=MAX_UNIX).contains(&seconds) { Ok(seconds) } else { Err(out_of_range(shown)) }
}

fn out_of_range(shown: &str) -> String {
    format!("{shown} is outside years 0000-9999; unix timestamps are in seconds, not milliseconds")
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `YYYY-MM-DD[(T|t| )hh:mm[:ss[.fff]][Z|z|±hh[:mm]|±hhmm]]`.
fn parse_iso8601(text: &str) -> Option<i64> {
    let mut p = Cursor(text.as_bytes());
    let year = p.digits(4)?;
    p.expect(b'-')?;
    let month = p.digits(2)?;
    p.expect(b'-')?;
    let day = p.digits(2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut seconds = days_from_civil(year, month, day) * DAY;
    if p.is_empty() {
        return Some(seconds);
    }
    if !matches!(p.next()?, b'T' | b't' | b' ') {
        return None;
    }
    let hour = p.digits(2)?;
    p.expect(b':')?;
    let minute = p.digits(2)?;
    let second = if p.peek() == Some(b':') {
        p.next();
        p.digits(2)?
    } else {
        0
    };
    // 60 is a leap second; unix time has none, so it rolls into the next minute.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    if matches!(p.peek(), Some(b'.' | b',')) {
        p.next();
        if !p.peek()?.is_ascii_digit() {
            return None;
        }
        while p.peek().is_some_and(|b| b.is_ascii_digit()) {
            p.next();
        }
    }
    seconds += hour * 3600 + minute * 60 + second;
    let offset = match p.next() {
        None => 0,
        Some(b'Z' | b'z') => 0,
        Some(sign @ (b'+' | b'-')) => {
            let hours = p.digits(2)?;
            let minutes = match p.peek() {
                None => 0,
                Some(b':') => {
                    p.next();
                    p.digits(2)?
                }
                Some(_) => p.digits(2)?,
            };
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = hours * 3600 + minutes * 60;
            if sign == b'+' { offset } else { -offset }
        }
        Some(_) => return None,
    };
    if !p.is_empty() {
        return None;
    }
    check_range(seconds - offset, text).ok()
}

/// A byte cursor for [`parse_iso8601`].
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.0.first().copied()
    }

    fn next(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.next()? == byte).then_some(())
    }

    /// Exactly `n` ASCII digits as a number.
    fn digits(&mut self, n: usize) -> Option<i64> {
        let mut value = 0;
        for _ in 0..n {
            let b = self.next()?;
            if !b.is_ascii_digit() {
                return None;
            }
            value = value * 10 + i64::from(b - b'0');
        }
        Some(value)
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`]: `(year, month, day)`.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const JAN_15_2025: i64 = 1_736_899_200;

    #[test]
    fn parses_unix_seconds() {
        assert_eq!(parse_time(&json!(JAN_15_2025)), Ok(JAN_15_2025));
        assert_eq!(parse_time(&json!("1736899200")), Ok(JAN_15_2025));
        assert_eq!(parse_time(&json!(" 1736899200 ")), Ok(JAN_15_2025));
        assert_eq!(parse_time(&json!(1_736_899_200.0)), Ok(JAN_15_2025));
        assert_eq!(parse_time(&json!(-86400)), Ok(-86400));
        assert_eq!(parse_time(&json!("-86400")), Ok(-86400));
        assert_eq!(parse_time(&json!(0)), Ok(0));
    }

    #[test]
    fn parses_dates_and_datetimes() {
        assert_eq!(parse_time(&json!("2025-01-15")), Ok(JAN_15_2025));
        assert_eq!(parse_time(&json!("2025-01-15T00:00:00Z")), Ok(JAN_15_2025));
        assert_eq!(parse_time(&json!("2025-01-15T09:30:00Z")), Ok(JAN_15_2025 + 9 * 3600 + 1800));
        assert_eq!(parse_time(&json!("2025-01-15t09:30:00z")), Ok(JAN_15_2025 + 9 * 3600 + 1800));
        assert_eq!(parse_time(&json!("2025-01-15 09:30")), Ok(JAN_15_2025 + 9 * 3600 + 1800));
        assert_eq!(parse_time(&json!("2025-01-15T09:30:00")), Ok(JAN_15_2025 + 9 * 3600 + 1800));
        assert_eq!(parse_time(&json!("2025-01-15T09:30:00.999Z")), Ok(JAN_15_2025 + 9 * 3600 + 1800));
        assert_eq!(parse_time(&json!("2025-01-15T09:30:00+02:00")), Ok(JAN_15_2025 + 7 * 3600 + 1800));
        assert_eq!(parse_time(&json!("2025-01-15T09:30:00-0130")), Ok(JAN_15_2025 + 11 * 3600));
        assert_eq!(parse_time(&json!("2025-01-15T09:30:00+05")), Ok(JAN_15_2025 + 4 * 3600 + 1800));
        assert_eq!(parse_time(&json!("1970-01-01")), Ok(0));
        assert_eq!(parse_time(&json!("1969-12-31T23:59:59Z")), Ok(-1));
        assert_eq!(parse_time(&json!("2024-02-29")), Ok(1_709_164_800));
        assert_eq!(parse_time(&json!("2000-03-01")), Ok(951_868_800));
        assert_eq!(parse_time(&json!("0000-01-01")), Ok(MIN_UNIX));
        assert_eq!(parse_time(&json!("9999-12-31T23:59:59Z")), Ok(MAX_UNIX));
    }

    #[test]
    fn rejects_what_is_not_a_time() {
        for bad in [
            json!("2025-02-29"),
            json!("2025-13-01"),
            json!("2025-01-00"),
            json!("2025-1-5"),
            json!("2025-01-15T24:00:00Z"),
            json!("2025-01-15T09:60Z"),
            json!("2025-01-15T09:30:00+24:00"),
            json!("2025-01-15T09:30:00Zjunk"),
            json!("2025-01-15T09:30:00."),
            json!("2025-01-15T"),
            json!("yesterday"),
            json!(""),
            json!("-"),
            json!("99999999999999999999999"),
            json!(1_736_899_200_000_i64),
            json!(1.5),
            json!(null),
            json!(true),
            json!(["2025-01-15"]),
            json!("٢٠٢٥-01-15"),
        ] {
            assert!(parse_time(&bad).is_err(), "{bad} should be rejected");
        }
        let message = parse_time(&json!(1_736_899_200_000_i64)).unwrap_err();
        assert!(message.contains("milliseconds"), "{message}");
        let message = parse_time(&json!("soon")).unwrap_err();
        assert!(message.contains("ISO 8601"), "{message}");
    }

    #[test]
    fn formats_rfc3339_utc() {
        assert_eq!(format_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_unix(JAN_15_2025 + 9 * 3600 + 1800 + 7), "2025-01-15T09:30:07Z");
        assert_eq!(format_unix(-1), "1969-12-31T23:59:59Z");
        assert_eq!(format_unix(1_709_164_800), "2024-02-29T00:00:00Z");
        assert_eq!(format_unix(MAX_UNIX), "9999-12-31T23:59:59Z");
        assert_eq!(format_unix(MIN_UNIX), "0000-01-01T00:00:00Z");
        // Nonsense in, text out: never a panic.
        let _ = format_unix(i64::MAX);
        let _ = format_unix(i64::MIN);
    }

    #[test]
    fn round_trips_every_day_for_a_few_centuries() {
        let mut day = days_from_civil(1800, 1, 1);
        while day < days_from_civil(2200, 1, 1) {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
            assert_eq!(parse_time_str(&format_unix(day * DAY + 3661)), Ok(day * DAY + 3661));
            day += 1;
        }
    }

    #[test]
    fn timeframes_are_utc_days_relative_to_now() {
        let now = JAN_15_2025 + 13 * 3600; // 2025-01-15T13:00:00Z
        let tomorrow = JAN_15_2025 + DAY;
        assert_eq!(Timeframe::Today.range(now), (JAN_15_2025, tomorrow));
        assert_eq!(Timeframe::Yesterday.range(now), (JAN_15_2025 - DAY, JAN_15_2025));
        assert_eq!(Timeframe::Last7Days.range(now), (JAN_15_2025 - 6 * DAY, tomorrow));
        assert_eq!(Timeframe::Last30Days.range(now), (JAN_15_2025 - 29 * DAY, tomorrow));
        assert_eq!(Timeframe::Last90Days.range(now), (JAN_15_2025 - 89 * DAY, tomorrow));
        assert_eq!(format_unix(Timeframe::Last7Days.range(now).0), "2025-01-09T00:00:00Z");
        // At midnight exactly, "today" starts now.
        assert_eq!(Timeframe::Today.range(JAN_15_2025).0, JAN_15_2025);
        // Before 1970 too.
        assert_eq!(Timeframe::Today.range(-1), (-DAY, 0));
    }

    #[test]
    fn timeframe_names_round_trip() {
        for t in Timeframe::ALL {
            assert_eq!(Timeframe::parse(t.as_str()), Some(t));
        }
        assert_eq!(Timeframe::names(), ["today", "yesterday", "last_7_days", "last_30_days", "last_90_days"]);
        assert_eq!(Timeframe::parse("last_week"), None);
    }

    #[test]
    fn stopwatch_adds_up() {
        let mut watch = Stopwatch::new();
        assert_eq!(watch.ms(), 0.0);
        assert_eq!(watch.time(|| 42), 42);
        assert!(watch.ms() >= 0.0);
        assert!(now_unix() > 1_700_000_000);
    }
}

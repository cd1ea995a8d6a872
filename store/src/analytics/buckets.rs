//! Date keys: the first second of the hour, day, week (from Monday) or month a unix second falls in at a fixed
//! UTC offset, and its hour of the week, computed here for both backends (the statement reads the seconds).
//!
//! Every division rounds down (`div_euclid`), so dates before 1970 land in their own bucket, and months come
//! from the proleptic Gregorian calendar (Howard Hinnant's `days_from_civil`), as chrono and PostgreSQL count
//! them.

use super::Period;

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;
/// 1970-01-01 was a Thursday: day 0 is three days after a Monday.
const DAYS_AFTER_MONDAY_AT_EPOCH: i64 = 3;

/// The first second (unix, UTC) of the `period` that `second` falls in, at `offset` seconds east of UTC.
pub(super) fn starts_at(second: i64, period: Period, offset: i64) -> i64 {
    let local = second.saturating_add(offset);
    let start = match period {
        Period::Hour => local.div_euclid(HOUR) * HOUR,
        Period::Day => local.div_euclid(DAY) * DAY,
        Period::Week => {
            let days_since_monday = local.div_euclid(DAY) + DAYS_AFTER_MONDAY_AT_EPOCH;
            (days_since_monday.div_euclid(7) * 7 - DAYS_AFTER_MONDAY_AT_EPOCH) * DAY
        }
        Period::Month => {
            let (year, month, _) = civil_from_days(local.div_euclid(DAY));
            days_from_civil(year, month, 1) * DAY
        }
    };
    start.saturating_sub(offset)
}

/// Hours since the start of the week (Monday 00:00 at `offset`): 0 to 167.
pub(super) fn hour_of_week(second: i64, offset: i64) -> i64 {
    let hours = second.saturating_add(offset).div_euclid(HOUR) + DAYS_AFTER_MONDAY_AT_EPOCH * 24;
    hours.rem_euclid(7 * 24)
}

/// Days since 1970-01-01 of a civil date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date (year, month, day) of days since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip_across_eras_and_leap_days() {
        for days in (-800_000..800_000).step_by(7) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
        assert_eq!(days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28), 2);
    }

    #[test]
    fn buckets_start_where_the_calendar_says() {
        // 2026-03-01T00:30:00Z is still February at UTC-5, already March at UTC+0.
        let second = 1_772_325_000;
        assert_eq!(starts_at(second, Period::Month, 0), 1_772_323_200);
        // At UTC-5, February began at 2026-02-01T05:00:00Z.
        assert_eq!(starts_at(second, Period::Month, -5 * HOUR), 1_769_922_000);
        // Monday 2026-03-02 00:00 UTC starts the week of Wednesday 2026-03-04 12:00 UTC.
        assert_eq!(starts_at(1_772_625_600, Period::Week, 0), 1_772_409_600);
        assert_eq!(hour_of_week(1_772_409_600, 0), 0);
        assert_eq!(hour_of_week(1_772_409_600 - 1, 0), 167);
        // Before 1970: 1969-12-31T23:59:59Z is in the day, hour and month before the epoch.
        assert_eq!(starts_at(-1, Period::Day, 0), -DAY);
        assert_eq!(starts_at(-1, Period::Hour, 0), -HOUR);
        assert_eq!(starts_at(-1, Period::Month, 0), -31 * DAY);
        // The epoch's week began on Monday 1969-12-29.
        assert_eq!(starts_at(0, Period::Week, 0), -3 * DAY);
    }
}

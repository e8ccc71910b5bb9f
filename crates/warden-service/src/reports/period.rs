//! The period a security report covers: whole days in the organisation's
//! UTC offset (`policy.learning.utc_offset_minutes`), `from` and `to`
//! inclusive, at most [`MAX_PERIOD_DAYS`] days; by default the previous
//! calendar month. Dates are `YYYY-MM-DD` and nothing else.

use jiff::civil::Date;
use warden_core::Timestamp;

use crate::error::{shown, ServiceError};

/// The longest period a report covers, in days.
pub const MAX_PERIOD_DAYS: i64 = 366;

/// Up to this many days the refusals are counted per day, beyond per week.
pub const DAILY_UP_TO_DAYS: i64 = 62;

const DAY: i64 = 86_400;

/// Why a period was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("{field} must be a date written YYYY-MM-DD, got {value}")]
    BadDate { field: &'static str, value: String },
    #[error("give both from and to, or neither (the previous month)")]
    OneSided,
    #[error("from ({from}) is after to ({to})")]
    Reversed { from: Date, to: Date },
    #[error("the period has {days} days; at most {MAX_PERIOD_DAYS}")]
    TooLong { days: i64 },
}

impl From<PeriodError> for ServiceError {
    fn from(e: PeriodError) -> Self {
        ServiceError::Invalid(e.to_string())
    }
}

/// Whole days, `from` through `to`, at a fixed UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Date,
    /// The last day, inclusive.
    pub to: Date,
    pub utc_offset_minutes: i32,
}

/// `text` as a date if it is exactly `YYYY-MM-DD` and a real day.
fn parse_date(field: &'static str, text: &str) -> Result<Date, PeriodError> {
    let bad = || PeriodError::BadDate {
        field,
        value: shown(text),
    };
    let b = text.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| text[r].parse::<i16>().map_err(|_| bad());
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let m = i8::try_from(m).map_err(|_| bad())?;
    let d = i8::try_from(d).map_err(|_| bad())?;
    if y < 1970 {
        return Err(bad());
    }
    Date::new(y, m, d).map_err(|_| bad())
}

/// Days since 1970-01-01 of `d`.
fn epoch_day(d: Date) -> i64 {
    let epoch = Date::constant(1970, 1, 1);
    i64::from(d.since(epoch).map(|s| s.get_days()).unwrap_or(0))
}

/// The local date of `t` at `offset` minutes.
fn local_date(t: Timestamp, offset: i32) -> Date {
    let c = t.civil(offset);
    Date::new(c.year as i16, c.month as i8, c.day as i8).unwrap_or(Date::constant(1970, 1, 1))
}

impl Period {
    /// The previous calendar month at `offset`, as of `now`.
    pub fn previous_month(now: Timestamp, offset: i32) -> Period {
        let today = local_date(now, offset);
        let first = today.first_of_month();
        let to = first.yesterday().unwrap_or(first);
        Period {
            from: to.first_of_month(),
            to,
            utc_offset_minutes: offset,
        }
    }

    /// The period asked for: both dates, or neither (the previous month).
    pub fn resolve(
        from: Option<&str>,
        to: Option<&str>,
        now: Timestamp,
        offset: i32,
    ) -> Result<Period, PeriodError> {
        let (from, to) = match (from, to) {
            (None, None) => return Ok(Period::previous_month(now, offset)),
            (Some(f), Some(t)) => (parse_date("from", f)?, parse_date("to", t)?),
            _ => return Err(PeriodError::OneSided),
        };
        if from > to {
            return Err(PeriodError::Reversed { from, to });
        }
        let p = Period {
            from,
            to,
            utc_offset_minutes: offset,
        };
        if p.days() > MAX_PERIOD_DAYS {
            return Err(PeriodError::TooLong { days: p.days() });
        }
        Ok(p)
    }

    /// How many days, both ends counted.
    pub fn days(&self) -> i64 {
        epoch_day(self.to) - epoch_day(self.from) + 1
    }

    /// The first second of `from` at the offset.
    pub fn start(&self) -> Timestamp {
        Timestamp(epoch_day(self.from) * DAY - i64::from(self.utc_offset_minutes) * 60)
    }

    /// The first second after `to` at the offset.
    pub fn end(&self) -> Timestamp {
        self.start().plus_secs(self.days() * DAY)
    }

    /// The local date that bucket `n` of `bucket_days` days starts on.
    pub fn bucket_start(&self, n: i64, bucket_days: i64) -> Date {
        self.from
            .checked_add(jiff::Span::new().days(n * bucket_days))
            .unwrap_or(self.to)
    }

    /// The length of the refusals' buckets in days: 1 up to
    /// [`DAILY_UP_TO_DAYS`] days, else 7.
    pub fn refusal_bucket_days(&self) -> i64 {
        if self.days() <= DAILY_UP_TO_DAYS {
            1
        } else {
            7
        }
    }
}

impl std::fmt::Display for Period {
    /// `2026-11-01 – 2026-11-30` (one date when the period is one day).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.from == self.to {
            write!(f, "{}", self.from)
        } else {
            write!(f, "{} – {}", self.from, self.to)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-03T20:00:00Z
    const NOW: Timestamp = Timestamp(1_796_328_000);

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn the_default_is_the_previous_calendar_month_at_the_offset() {
        let p = Period::resolve(None, None, NOW, 0).unwrap();
        assert_eq!((p.from, p.to), (d("2026-11-01"), d("2026-11-30")));
        assert_eq!(p.days(), 30);
        // 2026-11-01T00:00:00Z and 2026-12-01T00:00:00Z.
        assert_eq!(p.start(), Timestamp(1_793_491_200));
        assert_eq!(p.end(), Timestamp(1_796_083_200));
        // At UTC+8 the month starts eight hours earlier in UTC.
        let p8 = Period::resolve(None, None, NOW, 480).unwrap();
        assert_eq!(p8.start(), Timestamp(1_793_491_200 - 8 * 3600));
        // Just after midnight on 1 January at UTC+8 (still 31 December in
        // UTC) the previous month is December.
        let new_year = Timestamp(1_798_761_600 - 8 * 3600 + 60); // 2027-01-01T00:01+08:00
        let p = Period::previous_month(new_year, 480);
        assert_eq!((p.from, p.to), (d("2026-12-01"), d("2026-12-31")));
        let p = Period::previous_month(new_year, 0);
        assert_eq!((p.from, p.to), (d("2026-11-01"), d("2026-11-30")));
        // March: February of a leap year.
        let p = Period::previous_month(Timestamp(1_709_251_200 + 10), 0); // 2024-03-01
        assert_eq!((p.from, p.to), (d("2024-02-01"), d("2024-02-29")));
    }

    #[test]
    fn explicit_dates_are_whole_days_both_ends_counted() {
        let p = Period::resolve(Some("2026-11-03"), Some("2026-11-03"), NOW, -300).unwrap();
        assert_eq!(p.days(), 1);
        assert_eq!(p.end().since(p.start()), 86_400);
        // 2026-11-03T05:00:00Z: midnight at UTC-5.
        assert_eq!(p.start(), Timestamp(1_793_491_200 + 2 * 86_400 + 5 * 3600));
        assert_eq!(p.to_string(), "2026-11-03");
        let year = Period::resolve(Some("2024-01-01"), Some("2024-12-31"), NOW, 0).unwrap();
        assert_eq!(year.days(), 366, "a leap year is allowed");
        assert_eq!(year.refusal_bucket_days(), 7);
        assert_eq!(year.bucket_start(2, 7), d("2024-01-15"));
        assert_eq!(
            year.to_string(),
            "2024-01-01 – 2024-12-31",
            "both ends shown"
        );
    }

    #[test]
    fn bad_dates_reversed_one_sided_and_long_periods_are_refused() {
        let r = |f: &str, t: &str| Period::resolve(Some(f), Some(t), NOW, 0);
        for bad in [
            "2026-13-01",
            "2026-02-30",
            "2026-1-01",
            "26-01-01",
            "2026/01/01",
            "2026-01-01T00:00:00Z",
            " 2026-01-01",
            "１２３４-01-01",
            "",
            "1969-12-31",
            "+202-01-01",
        ] {
            let e = r(bad, "2026-12-01").unwrap_err();
            assert!(
                matches!(&e, PeriodError::BadDate { field: "from", .. }),
                "{bad:?}: {e:?}"
            );
        }
        let long = "9".repeat(5_000);
        let e = r("2026-01-01", &long).unwrap_err();
        assert!(e.to_string().len() < 200, "the value is shown cut: {e}");
        assert!(matches!(
            r("2026-11-02", "2026-11-01"),
            Err(PeriodError::Reversed { .. })
        ));
        assert_eq!(
            r("2024-01-01", "2025-01-01"),
            Err(PeriodError::TooLong { days: 367 })
        );
        assert_eq!(
            Period::resolve(Some("2026-11-01"), None, NOW, 0),
            Err(PeriodError::OneSided)
        );
        assert_eq!(
            Period::resolve(None, Some("2026-11-01"), NOW, 0),
            Err(PeriodError::OneSided)
        );
        let e: ServiceError = PeriodError::OneSided.into();
        assert!(matches!(e, ServiceError::Invalid(_)));
    }
}

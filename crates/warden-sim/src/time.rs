//! Civil time for the simulation: Unix seconds in, China time (+08:00) out.
//!
//! The tenant lives in China; every `ts` is written with the `+08:00`
//! offset, whatever the place of the login. Abroad, local hours are
//! estimated from the destination's longitude ([`crate::Place::utc_offset_hours`]).

use std::fmt::Write as _;

pub const MINUTE: i64 = 60;
pub const HOUR: i64 = 3600;
pub const DAY: i64 = 86_400;
/// China Standard Time, in seconds east of UTC.
pub const CN_OFFSET: i64 = 8 * HOUR;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Unix seconds of local midnight, China time, of a date.
pub fn cn_midnight(year: i64, month: u32, day: u32) -> i64 {
    days_from_civil(year, month, day) * DAY - CN_OFFSET
}

/// Day of the week of a China-time day number: 0 = Monday ... 6 = Sunday.
pub fn weekday(ts: i64) -> u32 {
    // 1970-01-01 was a Thursday.
    ((ts + CN_OFFSET).div_euclid(DAY) + 3).rem_euclid(7) as u32
}

/// Hour of the day (0..24, fractional) at `offset_hours` east of UTC.
pub fn local_hour(ts: i64, offset_hours: i64) -> f64 {
    (ts + offset_hours * HOUR).rem_euclid(DAY) as f64 / HOUR as f64
}

/// RFC 3339 with the China offset: `2026-03-02T09:12:03+08:00`.
pub fn format_cn(ts: i64, out: &mut String) {
    let local = ts + CN_OFFSET;
    let (y, m, d) = civil_from_days(local.div_euclid(DAY));
    let s = local.rem_euclid(DAY);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+08:00",
        s / HOUR,
        s % HOUR / MINUTE,
        s % MINUTE
    );
}

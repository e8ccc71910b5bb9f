//! Time as the core sees it: seconds since the Unix epoch, passed in by the
//! caller. The core never reads the wall clock; a [`Clock`] is injected.

use serde::{Deserialize, Serialize};

/// A point in time, whole seconds since 1970-01-01T00:00:00Z.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const fn from_secs(secs: i64) -> Self {
        Timestamp(secs)
    }

    pub const fn secs(self) -> i64 {
        self.0
    }

    /// Seconds from `earlier` to `self` (negative when `earlier` is later).
    pub const fn since(self, earlier: Timestamp) -> i64 {
        self.0 - earlier.0
    }

    pub const fn plus_secs(self, secs: i64) -> Timestamp {
        Timestamp(self.0 + secs)
    }

    /// Hour of day 0..24 in UTC shifted by `offset_minutes`.
    pub fn hour_of_day(self, offset_minutes: i32) -> u8 {
        let local = self.0 + offset_minutes as i64 * 60;
        (local.rem_euclid(86_400) / 3_600) as u8
    }
}

/// Where "now" comes from. The service passes the system clock; replay and
/// tests pass the event's own time or a fixed one.
pub trait Clock {
    fn now(&self) -> Timestamp;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hour_of_day_respects_offset() {
        // 2024-01-01T23:30:00Z
        let t = Timestamp(1_704_151_800);
        assert_eq!(t.hour_of_day(0), 23);
        assert_eq!(t.hour_of_day(8 * 60), 7);
        assert_eq!(t.hour_of_day(-60), 22);
        assert_eq!(Timestamp(-1).hour_of_day(0), 23);
    }
}

/// A civil date and time, for texts only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
}

impl Timestamp {
    /// The civil date and time at `offset_minutes` from UTC (proleptic
    /// Gregorian; H. Hinnant's days-to-civil algorithm).
    pub fn civil(self, offset_minutes: i32) -> Civil {
        let secs = self.0 + offset_minutes as i64 * 60;
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Civil {
            year,
            month,
            day,
            hour: (sod / 3_600) as u8,
            minute: (sod % 3_600 / 60) as u8,
        }
    }
}

#[cfg(test)]
mod civil_tests {
    use super::*;

    #[test]
    fn civil_dates() {
        let c = Timestamp(1_704_151_800).civil(0);
        assert_eq!(
            c,
            Civil {
                year: 2024,
                month: 1,
                day: 1,
                hour: 23,
                minute: 30
            }
        );
        let c = Timestamp(1_704_151_800).civil(480);
        assert_eq!((c.year, c.month, c.day, c.hour), (2024, 1, 2, 7));
        let c = Timestamp(951_782_400).civil(0); // 2000-02-29
        assert_eq!((c.year, c.month, c.day), (2000, 2, 29));
    }
}

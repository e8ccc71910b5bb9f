//! Time as the core sees it: seconds since the Unix epoch, passed in by the
//! caller. The core never reads the wall clock; a [`Clock`] is injected.

use serde::{Deserialize, Serialize};

/// A point in time, whole seconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
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

/// A clock that always answers the same instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Timestamp);

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
    }
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

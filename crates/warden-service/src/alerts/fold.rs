//! Folding: the dedupe key of an alert (user, kind and place; user and
//! kind; or source address and kind), and the storm windows that count the
//! alerts of each kind in the last minutes. Both bounded: a key is at most
//! [`MAX_KEY_BYTES`], a window holds at most `threshold + 1` times, and
//! there is one window per alert kind (a closed set).

use std::collections::{HashMap, VecDeque};

use warden_core::{AlertKind, Timestamp};
use warden_store::LoginEvent;

use super::KeyBy;

/// The longest dedupe key (bytes); longer ones are cut at a character
/// boundary.
pub const MAX_KEY_BYTES: usize = 512;

/// The kinds whose alerts take in every later successful login of their
/// user from their place within the fold window, flagged or not (the
/// profile may have learned the place from the first one): 50 reconnects
/// from a new place are one alert with a count of 50.
pub const PLACE_KINDS: [AlertKind; 2] = [AlertKind::UnusualLocation, AlertKind::ImpossibleTravel];

/// The dedupe key of an alert of `kind` for `e`, folded by `by`: the kind,
/// user and place; or the account (every attack on one account is one
/// alert, whichever detector saw it); or the source address.
pub fn dedupe_key(kind: AlertKind, by: KeyBy, e: &LoginEvent) -> String {
    let place = || {
        format!(
            "{}/{}/{}",
            e.country.as_ref().map(|c| c.as_str()).unwrap_or(""),
            e.region.as_deref().unwrap_or(""),
            e.city.as_deref().unwrap_or("")
        )
    };
    let mut key = match by {
        KeyBy::UserPlace => format!("{kind}|{}|{}", e.user, place()),
        KeyBy::User => format!("account|{}", e.user),
        KeyBy::Source => format!("source|{}", e.ip),
    };
    if key.len() > MAX_KEY_BYTES {
        let mut cut = MAX_KEY_BYTES;
        while !key.is_char_boundary(cut) {
            cut -= 1;
        }
        key.truncate(cut);
    }
    key
}

/// The dedupe key of the storm summary of `kind`.
pub fn summary_key(kind: AlertKind) -> String {
    format!("summary|{kind}")
}

/// The first login times of the newest alerts of each kind, within the
/// storm window.
#[derive(Debug, Default)]
pub struct StormWindows {
    windows: HashMap<AlertKind, VecDeque<Timestamp>>,
}

impl StormWindows {
    /// Whether the window of `kind` has been read from the store since
    /// start-up.
    pub fn knows(&self, kind: AlertKind) -> bool {
        self.windows.contains_key(&kind)
    }

    /// Seeds the window of `kind` with stored alert times (any order).
    pub fn seed(&mut self, kind: AlertKind, mut times: Vec<Timestamp>, threshold: u32) {
        times.sort_unstable();
        let cap = threshold as usize + 1;
        let skip = times.len().saturating_sub(cap);
        self.windows
            .insert(kind, times.into_iter().skip(skip).collect());
    }

    /// Counts a new alert of `kind` at `ts` and returns how many the window
    /// holds now (at most `threshold + 1`: past the threshold the exact
    /// number does not matter).
    pub fn observe(
        &mut self,
        kind: AlertKind,
        ts: Timestamp,
        window_secs: i64,
        threshold: u32,
    ) -> usize {
        let w = self.windows.entry(kind).or_default();
        w.push_back(ts);
        let oldest = ts.secs() - window_secs;
        while w.front().is_some_and(|t| t.secs() <= oldest) {
            w.pop_front();
        }
        while w.len() > threshold as usize + 1 {
            w.pop_front();
        }
        w.len()
    }

    /// Forgets everything (after a lost race for the mark: the store is
    /// read again).
    pub fn clear(&mut self) {
        self.windows.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_bounded_and_slides() {
        let mut s = StormWindows::default();
        for i in 0..1000 {
            let n = s.observe(AlertKind::PasswordSpraying, Timestamp(i), 600, 10);
            assert!(n <= 11);
        }
        assert_eq!(
            s.observe(AlertKind::PasswordSpraying, Timestamp(1000), 600, 10),
            11
        );
        // Long after, the window is empty again.
        assert_eq!(
            s.observe(AlertKind::PasswordSpraying, Timestamp(5000), 600, 10),
            1
        );
        assert_eq!(
            s.observe(AlertKind::BruteForce, Timestamp(5000), 600, 10),
            1
        );
    }
}

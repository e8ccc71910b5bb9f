//! Column encodings shared by every backend: enums by their wire names,
//! reason lists as comma-separated text, outcomes as one word. Decoding is
//! strict: anything unexpected is an error, never a default.

use std::borrow::Cow;

use warden_core::{FailureReason, Outcome, ReasonCode};

use crate::model::LoginEvent;
use crate::sql::EVENT_INSERT_COLUMNS;

/// A stored value that is not one of the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}, found {found:?}")]
pub struct BadValue {
    pub expected: &'static str,
    pub found: String,
}

/// A value bound to a statement, whatever the driver.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SqlValue<'a> {
    Int(Option<i64>),
    Real(f64),
    Bool(bool),
    Text(Option<Cow<'a, str>>),
}

/// An event's values in the column order of `sql::insert_events`: the one
/// list every driver's binding reads, so the order cannot drift between
/// them.
pub(crate) fn event_values(e: &LoginEvent) -> [SqlValue<'_>; EVENT_INSERT_COLUMNS] {
    use SqlValue::{Bool, Int, Real, Text};
    let text = |s: &'static str| Text(Some(Cow::Borrowed(s)));
    [
        Int(Some(e.ts.secs())),
        Text(Some(Cow::Borrowed(e.user.as_str()))),
        Text(Some(Cow::Owned(e.ip.to_string()))),
        text(e.protocol.as_str()),
        text(outcome_as_str(e.outcome)),
        Text(e.device.as_deref().map(Cow::Borrowed)),
        Text(e.user_agent.as_deref().map(Cow::Borrowed)),
        Text(e.country.as_ref().map(|c| Cow::Borrowed(c.as_str()))),
        Text(e.region.as_deref().map(Cow::Borrowed)),
        Text(e.city.as_deref().map(Cow::Borrowed)),
        Int(e.asn.map(i64::from)),
        text(e.decision.as_str()),
        Real(f64::from(e.risk)),
        text(e.level.as_str()),
        Bool(e.alert),
        Text(Some(Cow::Owned(reasons_to_text(&e.reasons)))),
        Text(e.auth_reason.map(|r| Cow::Borrowed(r.as_str()))),
    ]
}

/// Stored word for a successful login.
const SUCCESS: &str = "success";

/// `success`, or the failure reason's wire name (`wrong_password`, ...).
pub(crate) fn outcome_as_str(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Success => SUCCESS,
        Outcome::Failure(reason) => reason.as_str(),
    }
}

/// Inverse of [`outcome_as_str`].
pub(crate) fn parse_outcome(text: &str) -> Result<Outcome, BadValue> {
    if text == SUCCESS {
        return Ok(Outcome::Success);
    }
    FailureReason::ALL
        .into_iter()
        .find(|r| r.as_str() == text)
        .map(Outcome::Failure)
        .ok_or_else(|| BadValue {
            expected: "success or a failure reason",
            found: text.to_string(),
        })
}

/// Reason codes joined by commas; the empty list is the empty string.
pub(crate) fn reasons_to_text(reasons: &[ReasonCode]) -> String {
    let mut out = String::with_capacity(reasons.len() * 16);
    for (i, reason) in reasons.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(reason.as_str());
    }
    out
}

/// Inverse of [`reasons_to_text`]; an unknown or empty item is an error.
pub(crate) fn parse_reasons(
    text: &str,
) -> Result<Vec<ReasonCode>, warden_core::decision::UnknownName> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',').map(str::parse).collect()
}

/// A stored boolean: exactly 0 or 1.
pub(crate) fn parse_flag(value: i64) -> Result<bool, BadValue> {
    match value {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(BadValue {
            expected: "0 or 1",
            found: other.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_round_trip() {
        let all = std::iter::once(Outcome::Success)
            .chain(FailureReason::ALL.into_iter().map(Outcome::Failure));
        for outcome in all {
            assert_eq!(parse_outcome(outcome_as_str(outcome)), Ok(outcome));
        }
        assert!(parse_outcome("Success").is_err());
        assert!(parse_outcome("").is_err());
    }

    #[test]
    fn reasons_round_trip() {
        assert_eq!(reasons_to_text(&[]), "");
        assert_eq!(parse_reasons(""), Ok(vec![]));
        let all = ReasonCode::ALL.to_vec();
        assert_eq!(parse_reasons(&reasons_to_text(&all)), Ok(all));
        assert!(parse_reasons("new_device,").is_err());
        assert!(parse_reasons("new_device,,unusual_hour").is_err());
        assert!(parse_reasons("bogus").is_err());
    }

    #[test]
    fn flags_are_strict() {
        assert_eq!(parse_flag(0), Ok(false));
        assert_eq!(parse_flag(1), Ok(true));
        assert!(parse_flag(2).is_err());
    }
}

// ------------------------------------------------------ accounts' columns

/// An enum stored by its wire name, decoded strictly: the exact lower-case
/// name `as_str` writes, not the case-insensitive forms `FromStr` accepts
/// from people.
pub(crate) fn parse_wire_name<T>(text: &str) -> Result<T, BadValue>
where
    T: std::str::FromStr + std::fmt::Display,
{
    let bad = || BadValue {
        expected: std::any::type_name::<T>(),
        found: text.to_string(),
    };
    let value: T = text.parse().map_err(|_| bad())?;
    if value.to_string() == text {
        Ok(value)
    } else {
        Err(bad())
    }
}

/// A SHA-256 digest: exactly 32 bytes.
pub(crate) fn parse_digest(bytes: Vec<u8>) -> Result<[u8; 32], BadValue> {
    let len = bytes.len();
    <[u8; 32]>::try_from(bytes).map_err(|_| BadValue {
        expected: "a 32-byte digest",
        found: format!("{len} bytes"),
    })
}

/// A stored [`ProtocolSet`](warden_core::ProtocolSet): its bits, none of
/// them outside the known protocols.
pub(crate) fn parse_protocols(bits: i64) -> Result<warden_core::ProtocolSet, BadValue> {
    let all = warden_core::ProtocolSet::all().bits();
    match u8::try_from(bits) {
        Ok(b) if b & !all == 0 => Ok(warden_core::ProtocolSet::from_bits(b)),
        _ => Err(BadValue {
            expected: "protocol bits",
            found: bits.to_string(),
        }),
    }
}

/// A TOTP time step as stored (a signed 64-bit integer); steps beyond
/// `i64::MAX` are refused, never wrapped.
pub(crate) fn step_to_db(step: u64) -> Result<i64, BadValue> {
    i64::try_from(step).map_err(|_| BadValue {
        expected: "a TOTP step of at most 2^63-1",
        found: step.to_string(),
    })
}

/// Inverse of [`step_to_db`]: a negative stored step is an error.
pub(crate) fn step_from_db(value: i64) -> Result<u64, BadValue> {
    u64::try_from(value).map_err(|_| BadValue {
        expected: "a TOTP step of at least 0",
        found: value.to_string(),
    })
}

#[cfg(test)]
mod account_tests {
    use super::*;
    use warden_core::{AccountStatus, Protocol, ProtocolSet, SecurityEventKind};

    #[test]
    fn wire_names_decode_strictly() {
        for k in SecurityEventKind::ALL {
            assert_eq!(parse_wire_name::<SecurityEventKind>(k.as_str()), Ok(*k));
        }
        assert_eq!(
            parse_wire_name::<AccountStatus>("locked"),
            Ok(AccountStatus::Locked)
        );
        assert!(parse_wire_name::<AccountStatus>("Locked").is_err());
        assert!(parse_wire_name::<AccountStatus>(" locked").is_err());
        assert!(parse_wire_name::<AccountStatus>("gone").is_err());
    }

    #[test]
    fn digests_protocols_and_steps_are_checked() {
        assert_eq!(parse_digest(vec![7; 32]), Ok([7; 32]));
        assert!(parse_digest(vec![7; 31]).is_err());
        assert!(parse_digest(Vec::new()).is_err());

        let set: ProtocolSet = [Protocol::Imap, Protocol::Dav].into_iter().collect();
        assert_eq!(parse_protocols(i64::from(set.bits())), Ok(set));
        assert_eq!(parse_protocols(0), Ok(ProtocolSet::EMPTY));
        assert!(parse_protocols(-1).is_err());
        assert!(parse_protocols(256).is_err());
        assert!(parse_protocols(0x80).is_err(), "no protocol has bit 7");

        assert_eq!(step_to_db(i64::MAX as u64), Ok(i64::MAX));
        assert!(step_to_db(i64::MAX as u64 + 1).is_err());
        assert!(step_to_db(u64::MAX).is_err());
        assert_eq!(step_from_db(0), Ok(0));
        assert!(step_from_db(-1).is_err());
    }
}

/// An audit record's details as stored: one `key<TAB>value` line each.
/// Keys and values never hold control characters (`warden_audit` cleans
/// them), so the text is unambiguous.
pub(crate) fn encode_audit_detail(detail: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in detail.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(k);
        out.push('\t');
        out.push_str(v);
    }
    out
}

/// The details of [`encode_audit_detail`]'s text. Lenient on purpose: a
/// line altered behind Warden's back still decodes (a line without a tab is
/// a key with an empty value), so verification reports the record as
/// altered instead of failing to read it.
pub(crate) fn decode_audit_detail(text: &str) -> Vec<(String, String)> {
    if text.is_empty() {
        return Vec::new();
    }
    text.split('\n')
        .map(|line| match line.split_once('\t') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (line.to_owned(), String::new()),
        })
        .collect()
}

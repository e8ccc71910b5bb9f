//! Column encodings shared by every backend: enums by their wire names,
//! reason lists as comma-separated text, outcomes as one word. Decoding is
//! strict: anything unexpected is an error, never a default.

use warden_core::{FailureReason, Outcome, ReasonCode};

/// A stored value that is not one of the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}, found {found:?}")]
pub struct BadValue {
    pub expected: &'static str,
    pub found: String,
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

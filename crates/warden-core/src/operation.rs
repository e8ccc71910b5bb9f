//! Sensitive operations in a user's account, as the mail or IM system
//! reports them (a forwarding rule, an inbox rule that deletes or moves
//! mail, a changed security email or phone, a password change, 2FA turned
//! off, an authorization code or API token created, a mass download), and
//! their **correlation** with the risky logins before them: a pure
//! function from the operation and the user's logins in a window before it
//! to a grade and its reasons.
//!
//! "Forwarding to an outside address created 10 minutes after a login from
//! Lagos" is critical (Microsoft Entra calls it suspicious inbox
//! forwarding); the same rule after an ordinary login is an info record.
//! Data and pure decisions only: the service stores the operations, reads
//! the logins and raises the alerts.

use std::net::IpAddr;

use crate::account::wire_names;
use crate::alert::Grade;
use crate::decision::{Decision, ReasonCode};
use crate::domain::{Country, Name};
use crate::time::Timestamp;

/// The longest target (an address, a folder, a token's name) kept.
pub const MAX_TARGET_CHARS: usize = 254;
/// The longest free-text detail kept.
pub const MAX_DETAIL_CHARS: usize = 500;
/// The longest name of the reporting system (`webmail`, `im`...).
pub const MAX_SOURCE_CHARS: usize = 32;
/// The longest report id kept.
pub const MAX_REPORT_ID_CHARS: usize = 128;
/// The most logins [`correlate`] looks at (the newest ones in the window).
pub const MAX_CORRELATED_LOGINS: usize = 1000;

/// What changed in the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperationKind {
    /// A forwarding rule was created or changed (its target: the address).
    ForwardingRule,
    /// An inbox rule that deletes or moves mail (its target: the folder).
    InboxRule,
    /// The security email or phone changed (its target: the new one).
    SecurityContactChanged,
    PasswordChanged,
    TwoFactorDisabled,
    /// An authorization code (app password) was created.
    AuthCodeCreated,
    /// Many messages downloaded or exported at once.
    MassDownload,
    /// A new IM bot or API token.
    TokenCreated,
}

wire_names!(OperationKind, "operation kind",
    ForwardingRule => "forwarding_rule",
    InboxRule => "inbox_rule",
    SecurityContactChanged => "security_contact_changed",
    PasswordChanged => "password_changed",
    TwoFactorDisabled => "two_factor_disabled",
    AuthCodeCreated => "auth_code_created",
    MassDownload => "mass_download",
    TokenCreated => "token_created",
);

impl OperationKind {
    /// What an attacker inside a mailbox does to keep reading it, hide
    /// from the owner or lock the owner out: serious after a risky login.
    /// A password change or a forwarding rule inside the organisation is
    /// ordinary on its own.
    fn takeover_move(self, external: bool) -> bool {
        match self {
            OperationKind::ForwardingRule => external,
            OperationKind::PasswordChanged => false,
            _ => true,
        }
    }

    /// The English words for texts ("forwarding rule created").
    pub fn describe(self) -> &'static str {
        match self {
            OperationKind::ForwardingRule => "forwarding rule created or changed",
            OperationKind::InboxRule => "inbox rule deleting or moving mail",
            OperationKind::SecurityContactChanged => "security email or phone changed",
            OperationKind::PasswordChanged => "password changed",
            OperationKind::TwoFactorDisabled => "two-factor authentication disabled",
            OperationKind::AuthCodeCreated => "authorization code created",
            OperationKind::MassDownload => "mass download or export",
            OperationKind::TokenCreated => "IM bot or API token created",
        }
    }
}

/// Why an operation got its grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorrelationReason {
    /// Mail forwarded outside the organisation's domains.
    ExternalForwarding,
    /// A move an attacker makes to keep a mailbox (see
    /// [`OperationKind`]): rules, security contact, 2FA, codes, tokens,
    /// exports.
    TakeoverMove,
    /// A successful login in the window was challenged, alerted on, came
    /// from an unusual place, an anonymizer or with impossible travel.
    AfterRiskyLogin,
    /// Refused or denied attempts in the window (no risky success).
    AfterRefusedAttempts,
    /// The operation came from the address of the risky login.
    SameAddress,
}

wire_names!(CorrelationReason, "correlation reason",
    ExternalForwarding => "external_forwarding",
    TakeoverMove => "takeover_move",
    AfterRiskyLogin => "after_risky_login",
    AfterRefusedAttempts => "after_refused_attempts",
    SameAddress => "same_address",
);

/// One reported operation, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// Assigned by the store; 0 before insertion.
    pub id: i64,
    pub user: Name,
    pub kind: OperationKind,
    /// When it happened (as reported).
    pub ts: Timestamp,
    /// When Warden received it.
    pub received_at: Timestamp,
    /// The address the change was made from, when the system knows it.
    pub ip: Option<IpAddr>,
    /// The reporting system (`webmail`, `managesieve`, `im`...), one word.
    pub source: String,
    /// The reporter's own id for the report (a log line's id, a request
    /// id): a report sent again with the same id is stored once.
    pub report_id: Option<String>,
    /// The forwarding address, folder, new contact or token name (cleaned).
    pub target: Option<String>,
    /// The target is outside the organisation's domains.
    pub external: bool,
    /// Free text from the reporting system (cleaned, one line).
    pub detail: String,
    /// The correlation's grade and reasons.
    pub grade: Grade,
    pub reasons: Vec<CorrelationReason>,
    /// The risky login it follows (the history row), when there is one.
    pub login_event_id: Option<i64>,
    /// The alert it raised, when it raised one.
    pub alert_id: Option<i64>,
}

/// What correlation needs of one login in the window.
#[derive(Debug, Clone, PartialEq)]
pub struct RecentLogin {
    pub event_id: Option<i64>,
    pub ts: Timestamp,
    pub ip: IpAddr,
    pub succeeded: bool,
    pub decision: Decision,
    pub alert: bool,
    pub reasons: Vec<ReasonCode>,
    pub country: Option<Country>,
    pub region: Option<String>,
    pub city: Option<String>,
}

impl RecentLogin {
    /// A success an attacker may be behind: Warden challenged or alerted on
    /// it (so it is unconfirmed), or its reasons say an unusual country or
    /// region, impossible travel, an anonymizer or an attack.
    pub fn risky_success(&self) -> bool {
        self.succeeded
            && (self.alert
                || self.decision != Decision::Allow
                || self.reasons.iter().any(|r| {
                    matches!(
                        r,
                        ReasonCode::UnusualCountry
                            | ReasonCode::UnusualRegion
                            | ReasonCode::ImpossibleTravel
                            | ReasonCode::ConcurrentDistantSessions
                            | ReasonCode::AnonymizerIp
                            | ReasonCode::AccountUnderAttack
                            | ReasonCode::PasswordSpraying
                            | ReasonCode::CredentialStuffing
                    )
                }))
    }

    /// A failure Warden refused for risk or access (not a mere typo).
    fn refused(&self) -> bool {
        !self.succeeded && self.decision == Decision::Deny
    }
}

/// The facts of an operation correlation reads.
#[derive(Debug, Clone, Copy)]
pub struct OperationFacts {
    pub kind: OperationKind,
    pub ts: Timestamp,
    pub ip: Option<IpAddr>,
    pub external: bool,
}

/// The verdict on one operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    pub grade: Grade,
    pub reasons: Vec<CorrelationReason>,
    /// The index (in the logins given) of the login it follows: the newest
    /// risky success in the window, else the newest refused attempt.
    pub login: Option<usize>,
}

impl Correlation {
    /// Whether the operation is worth an alert (warning or critical); an
    /// info grade is only recorded.
    pub fn alerts(&self) -> bool {
        self.grade > Grade::Info
    }
}

/// Correlates an operation with the user's logins: those at or before the
/// operation and at most `window_secs` before it count (the rest are
/// ignored, so callers may pass a wider page of history).
///
/// - a takeover move (external forwarding, an inbox rule, a security
///   contact, 2FA off, a code or token, an export) after a risky success:
///   **critical**;
/// - a password change or an internal forwarding rule after a risky
///   success, or a takeover move after refused attempts only: warning;
/// - anything else (after ordinary logins): info.
pub fn correlate(op: &OperationFacts, logins: &[RecentLogin], window_secs: u64) -> Correlation {
    let since = op.ts.secs().saturating_sub(window_secs as i64);
    let in_window = |l: &RecentLogin| l.ts.secs() >= since && l.ts.secs() <= op.ts.secs();
    let newest = |pick: &dyn Fn(&RecentLogin) -> bool| {
        logins
            .iter()
            .enumerate()
            .take(MAX_CORRELATED_LOGINS)
            .filter(|(_, l)| in_window(l) && pick(l))
            .max_by_key(|(i, l)| (l.ts, usize::MAX - i))
            .map(|(i, _)| i)
    };
    let risky = newest(&RecentLogin::risky_success);
    let refused = newest(&RecentLogin::refused);

    let mut reasons = Vec::new();
    if op.kind == OperationKind::ForwardingRule && op.external {
        reasons.push(CorrelationReason::ExternalForwarding);
    }
    let takeover = op.kind.takeover_move(op.external);
    if takeover {
        reasons.push(CorrelationReason::TakeoverMove);
    }
    let (grade, login) = match (risky, refused) {
        (Some(i), _) => {
            reasons.push(CorrelationReason::AfterRiskyLogin);
            let grade = if takeover {
                Grade::Critical
            } else {
                Grade::Warning
            };
            (grade, Some(i))
        }
        (None, Some(i)) => {
            reasons.push(CorrelationReason::AfterRefusedAttempts);
            let grade = if takeover {
                Grade::Warning
            } else {
                Grade::Info
            };
            (grade, Some(i))
        }
        (None, None) => (Grade::Info, None),
    };
    if let (Some(i), Some(ip)) = (login, op.ip) {
        if logins[i].ip == ip {
            reasons.push(CorrelationReason::SameAddress);
        }
    }
    Correlation {
        grade,
        reasons,
        login,
    }
}

/// Whether `address` is outside every domain of `internal` (compared in
/// lower case; a subdomain of an internal domain is internal). A target
/// without `@` is not an address and is never external.
pub fn is_external(address: &str, internal: &[String]) -> bool {
    let Some((_, domain)) = address.trim().rsplit_once('@') else {
        return false;
    };
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    if domain.is_empty() {
        return false;
    }
    !internal.iter().any(|d| {
        let d = d.trim_start_matches('@').to_ascii_lowercase();
        domain == d || domain.ends_with(&format!(".{d}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3600;
    const T: i64 = 1_750_000_000;

    fn login(ago: i64, risky: bool) -> RecentLogin {
        RecentLogin {
            event_id: Some(T - ago),
            ts: Timestamp::from_secs(T - ago),
            ip: if risky {
                "102.89.1.1".parse().unwrap()
            } else {
                "203.0.113.5".parse().unwrap()
            },
            succeeded: true,
            decision: if risky {
                Decision::Challenge
            } else {
                Decision::Allow
            },
            alert: risky,
            reasons: if risky {
                vec![ReasonCode::UnusualCountry]
            } else {
                vec![]
            },
            country: Some(Country::new(if risky { "NG" } else { "CN" }).unwrap()),
            region: None,
            city: Some(if risky { "Lagos" } else { "Shanghai" }.to_string()),
        }
    }

    fn forwarding(external: bool) -> OperationFacts {
        OperationFacts {
            kind: OperationKind::ForwardingRule,
            ts: Timestamp::from_secs(T),
            ip: Some("102.89.1.1".parse().unwrap()),
            external,
        }
    }

    const DAY: u64 = 24 * 3600;

    #[test]
    fn outside_forwarding_after_a_risky_login_is_critical() {
        let logins = [login(3 * HOUR, false), login(600, true), login(60, false)];
        let c = correlate(&forwarding(true), &logins, DAY);
        assert_eq!(c.grade, Grade::Critical);
        assert_eq!(c.login, Some(1));
        assert!(c.alerts());
        assert_eq!(
            c.reasons,
            [
                CorrelationReason::ExternalForwarding,
                CorrelationReason::TakeoverMove,
                CorrelationReason::AfterRiskyLogin,
                CorrelationReason::SameAddress
            ]
        );
    }

    #[test]
    fn the_same_rule_after_ordinary_logins_is_only_info() {
        let logins = [login(600, false), login(60, false)];
        let c = correlate(&forwarding(true), &logins, DAY);
        assert_eq!(c.grade, Grade::Info);
        assert_eq!(c.login, None);
        assert!(!c.alerts());
    }

    #[test]
    fn a_risky_login_outside_the_window_does_not_count() {
        let logins = [login(25 * HOUR, true), login(60, false)];
        assert_eq!(
            correlate(&forwarding(true), &logins, DAY).grade,
            Grade::Info
        );
        // A wider window takes it in.
        assert_eq!(
            correlate(&forwarding(true), &logins, 2 * DAY).grade,
            Grade::Critical
        );
        // A login after the operation does not explain it.
        let later = [login(-60, true)];
        assert_eq!(correlate(&forwarding(true), &later, DAY).grade, Grade::Info);
    }

    #[test]
    fn internal_forwarding_after_a_risky_login_is_a_warning() {
        let logins = [login(600, true)];
        let c = correlate(&forwarding(false), &logins, DAY);
        assert_eq!(c.grade, Grade::Warning);
        assert!(!c.reasons.contains(&CorrelationReason::ExternalForwarding));
    }

    #[test]
    fn refused_attempts_alone_make_a_takeover_move_a_warning() {
        let mut denied = login(600, true);
        denied.succeeded = false;
        denied.decision = Decision::Deny;
        let c = correlate(&forwarding(true), &[denied.clone()], DAY);
        assert_eq!(c.grade, Grade::Warning);
        assert!(c.reasons.contains(&CorrelationReason::AfterRefusedAttempts));
        let password = OperationFacts {
            kind: OperationKind::PasswordChanged,
            ..forwarding(false)
        };
        assert_eq!(correlate(&password, &[denied], DAY).grade, Grade::Info);
    }

    #[test]
    fn the_newest_risky_login_is_the_one_named() {
        let logins = [
            login(5 * HOUR, true),
            login(600, true),
            login(2 * HOUR, true),
        ];
        let c = correlate(&forwarding(true), &logins, DAY);
        assert_eq!(c.login, Some(1));
    }

    #[test]
    fn outside_addresses_are_told_by_domain() {
        let ours = vec!["example.com".to_string(), "@corp.example.cn".to_string()];
        assert!(is_external("boss@gmail.com", &ours));
        assert!(!is_external("Boss@Example.COM", &ours));
        assert!(!is_external("a@mail.example.com", &ours));
        assert!(!is_external("a@corp.example.cn.", &ours));
        assert!(is_external("a@notexample.com", &ours));
        assert!(!is_external("Archive", &ours));
        assert!(!is_external("a@", &ours));
    }

    #[test]
    fn wire_names_round_trip() {
        for k in OperationKind::ALL {
            assert_eq!(k.as_str().parse::<OperationKind>().unwrap(), *k);
        }
        for r in CorrelationReason::ALL {
            assert_eq!(r.as_str().parse::<CorrelationReason>().unwrap(), *r);
        }
        assert!("fax_sent".parse::<OperationKind>().is_err());
    }
}

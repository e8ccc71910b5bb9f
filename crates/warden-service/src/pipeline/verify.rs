//! Credential checks: a mail client's password or authorization code
//! (`/v1/auth/verify`, which Dovecot's Lua passdb and `warden checkpassword`
//! call), and the web/IM login with its second factor (`/v1/auth/login`).
//!
//! Both score the attempt first, refuse what needs no password
//! (`verify::precheck`: plaintext, access rules, a lockout, a risk denial
//! that does not rest on the user's profile — so the answer and its cost
//! are the same for a user who exists and one who does not), then verify
//! the secret (one digest lookup for a code, else one argon2id
//! verification on the bounded pool, or a dummy one of equal cost for an
//! unknown user) and let `verify::decide` pick the one reason. The attempt
//! lands in the history like a report; what the counters learn depends on
//! the reason: guesses count, a client repeating one wrong password counts
//! once (by a keyed fingerprint of the secret), a refused *valid* credential
//! counts nothing.

use std::sync::Arc;
use std::time::Instant;

use warden_auth::codes;
use warden_core::verify::{decide, precheck, Credential, Facts, PasswordAge};
use warden_core::{
    Account, AppPassword, Decision, FailureReason, LoginAttempt, Outcome, Timestamp, Verdict,
    VerifyReason, WebSession,
};
use warden_store::Backend;

use super::{Assessed, Recording};
use crate::credentials::{self, rehash_in_background};
use crate::error::ServiceError;
use crate::events::{DomainEvent, EntryPoint};
use crate::second_factor::{CodeCheck, CodePurpose};
use crate::shortlived::LoginTicket;
use crate::stepup::{CodePurpose as EmailCodePurpose, StepUpMethod};
use crate::Service;

/// Which credential a successful check used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsedCredential {
    Password,
    AppPassword,
}

impl UsedCredential {
    pub fn as_str(self) -> &'static str {
        match self {
            UsedCredential::Password => "password",
            UsedCredential::AppPassword => "app_password",
        }
    }
}

/// The answer to a credential check.
#[derive(Debug)]
pub struct Verified {
    pub attempt: LoginAttempt,
    pub assessed: Assessed,
    pub verdict: Verdict,
    /// Set when accepted.
    pub credential: Option<UsedCredential>,
    /// Accepted with a password in its grace period, which ends then.
    pub expiring: Option<Timestamp>,
    /// Accepted, and the user and the admin should be told.
    pub alert: bool,
}

/// A web/IM login step. Its `Debug` shows no secret.
#[derive(Clone)]
pub enum WebStep {
    /// The first step: the password.
    Password(String),
    /// The second step: the code for an earlier password step.
    Code { login_token: String, code: String },
}

impl std::fmt::Debug for WebStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WebStep::Password(_) => "Password(<redacted>)",
            WebStep::Code { .. } => "Code { <redacted> }",
        })
    }
}

/// How a web login step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebStatus {
    /// Logged in: a session is open.
    Ok,
    /// The password was right; a TOTP or recovery code is awaited.
    TotpRequired,
    /// The password was right but login protection asks to verify the
    /// login; a code was emailed to the account's security email and is
    /// awaited.
    EmailCodeRequired,
    Fail,
}

/// Why a second factor was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    /// The risk engine challenged the login.
    Risk,
    /// The account has 2FA.
    TwoFactor,
}

impl Challenge {
    pub fn as_str(self) -> &'static str {
        match self {
            Challenge::Risk => "risk",
            Challenge::TwoFactor => "two_factor",
        }
    }
}

/// Why a web login step failed.
#[derive(Debug, Clone, PartialEq)]
pub enum WebRefusal {
    /// A credential verdict (wrong password, locked, verification required...).
    Verdict(Verdict),
    /// The second-factor code was wrong or already used.
    InvalidCode,
}

/// The answer to a web login step.
#[derive(Debug)]
pub struct WebLogin {
    pub status: WebStatus,
    pub assessed: Assessed,
    pub alert: bool,
    /// The session's token and end, when one was opened.
    pub session: Option<(String, Timestamp)>,
    /// For the second step.
    pub login_token: Option<String>,
    pub challenge: Option<Challenge>,
    pub refusal: Option<WebRefusal>,
    pub two_factor_setup_required: bool,
    pub password_change_required: bool,
    /// Where the emailed code went (masked), with `EmailCodeRequired`.
    pub code_sent_to: Option<String>,
}

impl WebLogin {
    fn new(status: WebStatus, assessed: Assessed) -> Self {
        WebLogin {
            status,
            assessed,
            alert: false,
            session: None,
            login_token: None,
            challenge: None,
            refusal: None,
            two_factor_setup_required: false,
            password_change_required: false,
            code_sent_to: None,
        }
    }
}

/// The account's 2FA state.
struct TwoFactor {
    /// TOTP is confirmed.
    enrolled: bool,
    /// The org requires 2FA of this account.
    required: bool,
    /// The org requires authorization codes for mail clients.
    codes_required: bool,
}

impl<S: Backend> Service<S> {
    /// Checks a mail client's credential: the login password or an
    /// authorization code, with every reason a client can be refused for.
    /// The attempt is recorded before the answer.
    pub async fn verify(
        self: &Arc<Self>,
        attempt: LoginAttempt,
        secret: String,
        tls: bool,
    ) -> Result<Verified, ServiceError> {
        let now = attempt.ts;
        let (assessed, started) = self.score(EntryPoint::Verify, &attempt).await;
        let require_tls =
            self.credentials.settings.require_tls || self.policy_requires_tls(&attempt, tls);
        let mut account_known = false;
        let mut used_code = None;
        let mut expiring = None;
        let mut fingerprint = None;
        let verdict = match precheck(
            attempt.protocol,
            tls,
            require_tls,
            attempt.ip,
            assessed.before_password(),
        ) {
            Some(v) => v,
            None => {
                let account = self.store.account(&attempt.user).await?;
                account_known = account.is_some();
                let (credential, code) = self
                    .check_credential(account.as_ref(), secret.clone(), now, true)
                    .await?;
                // A wrong credential is answered without further lookups, so
                // an unknown user and a wrong password cost the same.
                let two = match &account {
                    Some(a) if credential != Credential::Wrong => self.two_factor(a).await?,
                    _ => TwoFactor {
                        enrolled: false,
                        required: false,
                        codes_required: false,
                    },
                };
                let age = account
                    .as_ref()
                    .map_or(PasswordAge::Fresh, |a| self.password_age(a, now));
                let verdict = decide(
                    &Facts {
                        protocol: attempt.protocol,
                        account: account.as_ref(),
                        credential,
                        two_factor: two.enrolled || two.required,
                        codes_required: two.codes_required,
                        password_age: age,
                        login_protection: self.account_policy(&attempt.user).login_protection,
                    },
                    &assessed.assessment,
                );
                // A correct credential from a signed-out or new device
                // (crate::devices).
                let verdict = if verdict.is_ok() {
                    let issued = match &code {
                        Some(c) => Some(c.created_at),
                        None => account.as_ref().and_then(|a| a.password_changed_at),
                    };
                    self.device_gate(&attempt, &assessed.info, issued)
                        .await?
                        .unwrap_or(verdict)
                } else {
                    verdict
                };
                if credential == Credential::Wrong {
                    fingerprint = Some(self.credentials.fingerprint(&attempt.user, &secret));
                }
                used_code = code;
                if verdict.is_ok() && credential == Credential::LoginPassword {
                    if let PasswordAge::Grace { until } = age {
                        expiring = Some(until);
                    }
                    if let Some(a) = &account {
                        if a.password_hash
                            .as_deref()
                            .is_some_and(|h| self.credentials.needs_rehash(h))
                        {
                            rehash_in_background(self.clone(), a.user.clone(), secret);
                        }
                    }
                }
                verdict
            }
        };
        let alert = verdict.is_ok() && assessed.assessment.alert;
        let r = match verdict.reason {
            None => Recording {
                alert,
                ..Recording::reported(Outcome::Success)
            },
            Some(reason) => Recording {
                fingerprint,
                ..Recording::refused(reason, account_known)
            },
        };
        self.record_assessed(EntryPoint::Verify, &attempt, &assessed, r, started)
            .await?;
        if let (true, Some(code)) = (verdict.is_ok(), &used_code) {
            self.store
                .touch_app_password(code.id, now, attempt.ip)
                .await?;
        }
        self.events.publish(DomainEvent::CredentialChecked {
            entry: EntryPoint::Verify,
            attempt: &attempt,
            refusal: verdict.reason,
        });
        let credential = verdict.is_ok().then_some(if used_code.is_some() {
            UsedCredential::AppPassword
        } else {
            UsedCredential::Password
        });
        Ok(Verified {
            attempt,
            assessed,
            verdict,
            credential,
            expiring,
            alert,
        })
    }

    /// One step of a web or IM login: the password, then a TOTP or recovery
    /// code when 2FA is on or the risk engine challenges the login. A
    /// challenge answered correctly is the user's own login (no alert).
    pub async fn web_login(
        &self,
        attempt: LoginAttempt,
        step: WebStep,
    ) -> Result<WebLogin, ServiceError> {
        let now = attempt.ts;
        let (assessed, started) = self.score(EntryPoint::WebLogin, &attempt).await;
        let password = match step {
            WebStep::Code { login_token, code } => {
                return self
                    .web_second_step(attempt, assessed, &login_token, &code, started)
                    .await
            }
            WebStep::Password(p) => p,
        };
        let settings = &self.credentials.settings;
        let (verdict, account) = match precheck(
            attempt.protocol,
            true,
            settings.require_tls,
            attempt.ip,
            assessed.before_password(),
        ) {
            Some(v) => (v, None),
            None => {
                let account = self.store.account(&attempt.user).await?;
                let (credential, _) = self
                    .check_credential(account.as_ref(), password, now, false)
                    .await?;
                let age = account
                    .as_ref()
                    .map_or(PasswordAge::Fresh, |a| self.password_age(a, now));
                let facts = Facts {
                    protocol: attempt.protocol,
                    account: account.as_ref(),
                    credential,
                    // The second factor is this flow's own step.
                    two_factor: false,
                    codes_required: false,
                    password_age: age,
                    login_protection: self.account_policy(&attempt.user).login_protection,
                };
                let verdict = decide(&facts, &assessed.assessment);
                // A correct password from a signed-out or new device
                // (crate::devices).
                let verdict = if verdict.is_ok() {
                    let issued = account.as_ref().and_then(|a| a.password_changed_at);
                    self.device_gate(&attempt, &assessed.info, issued)
                        .await?
                        .unwrap_or(verdict)
                } else {
                    verdict
                };
                (verdict, account)
            }
        };
        let known = account.is_some();
        // A valid password with only a challenge or a password change
        // pending goes on; anything else is refused here.
        let passable = matches!(
            verdict.reason,
            None | Some(VerifyReason::VerificationRequired | VerifyReason::PasswordExpired)
        );
        let Some(a) = account.as_ref().filter(|_| passable) else {
            return self
                .web_refuse(attempt, assessed, verdict, known, started)
                .await;
        };
        let two = self.two_factor(a).await?;
        // A login the engine challenges is a risk challenge whenever a
        // second factor can answer it, with or without login protection.
        let risk_challenge = verdict.reason == Some(VerifyReason::VerificationRequired)
            || (two.enrolled && assessed.assessment.decision == Decision::Challenge);
        let password_change = verdict.reason == Some(VerifyReason::PasswordExpired);
        if two.enrolled {
            let token = codes::generate_session_token();
            self.short
                .hold_ticket(
                    codes::token_digest(&token),
                    LoginTicket {
                        user: a.user.clone(),
                        issued: now,
                        risk_challenge,
                        password_change,
                    },
                )
                .await;
            let mut answer = WebLogin::new(WebStatus::TotpRequired, assessed);
            answer.password_change_required = password_change;
            answer.two_factor_setup_required = two.required && !two.enrolled;
            answer.login_token = Some(token);
            answer.challenge = Some(if risk_challenge {
                Challenge::Risk
            } else {
                Challenge::TwoFactor
            });
            return Ok(answer);
        }
        // A password that must change does not skip login protection: a
        // challenged login with no second factor to ask is refused.
        let level = self.account_policy(&attempt.user).login_protection;
        let verdict = if warden_core::protection_trigger(level, &assessed.assessment).is_some()
            && verdict.reason == Some(VerifyReason::PasswordExpired)
        {
            Verdict {
                reason: Some(VerifyReason::VerificationRequired),
                detail: warden_core::verify::Detail {
                    protocol: Some(attempt.protocol),
                    place: warden_core::verify::named_place(&assessed.assessment),
                    ..Default::default()
                },
            }
        } else {
            verdict
        };
        if verdict.reason == Some(VerifyReason::VerificationRequired) {
            if self.code_address(a).is_some() {
                // No TOTP: a code to the security email verifies it.
                return self
                    .web_email_code(attempt, assessed, a, password_change, two.required)
                    .await;
            }
            // No second factor to ask for: refuse, as verify would.
            let mut answer = self
                .web_refuse(attempt, assessed, verdict, known, started)
                .await?;
            answer.password_change_required = password_change;
            answer.two_factor_setup_required = two.required;
            return Ok(answer);
        }
        let alert = assessed.assessment.alert;
        let r = Recording {
            alert,
            ..Recording::reported(Outcome::Success)
        };
        self.record_assessed(EntryPoint::WebLogin, &attempt, &assessed, r, started)
            .await?;
        let mut answer = WebLogin::new(WebStatus::Ok, assessed);
        answer.alert = alert;
        answer.password_change_required = password_change;
        answer.two_factor_setup_required = two.required;
        let session = self.open_session(&attempt).await?;
        // The password is this account's strongest verification when it
        // has no TOTP and no security email a code could reach.
        if self.code_address(a).is_none() {
            self.note_step_up(&session.0, &a.user, StepUpMethod::Password, now);
        }
        answer.session = Some(session);
        Ok(answer)
    }

    /// Login protection asks to verify a web login of an account without
    /// TOTP: a code goes to its security email, and the second step
    /// (`WebStep::Code`) takes it with the login token answered here.
    async fn web_email_code(
        &self,
        attempt: LoginAttempt,
        assessed: Assessed,
        account: &Account,
        password_change: bool,
        two_factor_required: bool,
    ) -> Result<WebLogin, ServiceError> {
        let now = attempt.ts;
        let token = codes::generate_session_token();
        let digest = codes::token_digest(&token);
        let place = warden_core::verify::named_place(&assessed.assessment);
        let sent_to = self
            .send_code(
                account,
                digest,
                EmailCodePurpose::Login,
                crate::stepup::mail::CodeContext {
                    user: &account.user,
                    ip: Some(attempt.ip),
                    place: place.as_ref().map(|(en, zh)| (en.as_str(), zh.as_str())),
                    at: now,
                    utc_offset: assessed.utc_offset,
                },
            )
            .await?;
        self.short
            .hold_ticket(
                digest,
                LoginTicket {
                    user: account.user.clone(),
                    issued: now,
                    risk_challenge: true,
                    password_change,
                },
            )
            .await;
        let mut answer = WebLogin::new(WebStatus::EmailCodeRequired, assessed);
        answer.password_change_required = password_change;
        answer.two_factor_setup_required = two_factor_required;
        answer.login_token = Some(token);
        answer.challenge = Some(Challenge::Risk);
        answer.code_sent_to = Some(sent_to);
        Ok(answer)
    }

    async fn web_refuse(
        &self,
        attempt: LoginAttempt,
        assessed: Assessed,
        verdict: Verdict,
        known: bool,
        started: Instant,
    ) -> Result<WebLogin, ServiceError> {
        let r = match verdict.reason {
            Some(reason) => Recording::refused(reason, known),
            None => Recording::reported(Outcome::Success),
        };
        self.record_assessed(EntryPoint::WebLogin, &attempt, &assessed, r, started)
            .await?;
        let mut answer = WebLogin::new(WebStatus::Fail, assessed);
        answer.refusal = Some(WebRefusal::Verdict(verdict));
        Ok(answer)
    }

    async fn web_second_step(
        &self,
        attempt: LoginAttempt,
        assessed: Assessed,
        login_token: &str,
        code: &str,
        started: Instant,
    ) -> Result<WebLogin, ServiceError> {
        let now = attempt.ts;
        let digest = codes::token_digest(login_token);
        let emailed = self
            .stepup
            .code_waiting(&digest, EmailCodePurpose::Login, now);
        let ticket = self
            .short
            .take_ticket(&digest, now)
            .await
            .filter(|t| t.user == attempt.user)
            .ok_or_else(|| {
                ServiceError::invalid(
                    "login_token: unknown or expired (it is valid for 5 minutes, for one code)",
                )
            })?;
        // What needs no code still applies to this request: its address
        // (access rules, a lockout, a risk denial) and the account's status.
        let settings = &self.credentials.settings;
        let refusal = match precheck(
            attempt.protocol,
            true,
            settings.require_tls,
            attempt.ip,
            &assessed.assessment,
        ) {
            Some(v) => Some(v),
            None => self
                .store
                .account(&attempt.user)
                .await?
                .and_then(|a| super::account_refusal(a.status)),
        };
        if let Some(v) = refusal {
            return self.web_refuse(attempt, assessed, v, true, started).await;
        }
        // Throttled per account: a locked account's codes are refused
        // unchecked (an error, answered 429), a wrong one is recorded.
        let passed = if emailed {
            self.check_emailed_code(
                &attempt.user,
                &digest,
                EmailCodePurpose::Login,
                code,
                Some(attempt.ip),
                now,
            )
            .await?
        } else {
            matches!(
                self.check_code(
                    &attempt.user,
                    code,
                    CodePurpose::Login,
                    Some(attempt.ip),
                    now
                )
                .await?,
                CodeCheck::Passed { .. }
            )
        };
        // A risk challenge answered: the login is the user's own, no alert.
        let alert = passed && assessed.assessment.alert && !ticket.risk_challenge;
        let r = if passed {
            Recording {
                alert,
                challenge_passed: true,
                ..Recording::reported(Outcome::Success)
            }
        } else {
            Recording {
                refusal: Some(VerifyReason::VerificationRequired),
                ..Recording::reported(Outcome::Failure(FailureReason::ChallengeFailed))
            }
        };
        self.record_assessed(EntryPoint::WebLogin, &attempt, &assessed, r, started)
            .await?;
        let status = if passed {
            WebStatus::Ok
        } else {
            WebStatus::Fail
        };
        let mut answer = WebLogin::new(status, assessed);
        answer.alert = alert;
        if passed {
            let session = self.open_session(&attempt).await?;
            // A passed second factor is a step-up of the new session.
            let method = if emailed {
                StepUpMethod::Email
            } else {
                StepUpMethod::Totp
            };
            self.note_step_up(&session.0, &attempt.user, method, now);
            answer.session = Some(session);
            answer.challenge = Some(if ticket.risk_challenge {
                Challenge::Risk
            } else {
                Challenge::TwoFactor
            });
            answer.password_change_required = ticket.password_change;
        } else {
            answer.refusal = Some(WebRefusal::InvalidCode);
        }
        Ok(answer)
    }

    /// What the presented secret is for this account: one of its codes (one
    /// digest lookup), else the login password (one argon2 verification, or
    /// a dummy one of equal cost when there is no account or no password).
    async fn check_credential(
        &self,
        account: Option<&Account>,
        secret: String,
        now: Timestamp,
        codes_allowed: bool,
    ) -> Result<(Credential, Option<AppPassword>), ServiceError> {
        if let (true, Some(a), Some(code)) =
            (codes_allowed, account, codes::normalize_code(&secret))
        {
            let digest = codes::code_digest(&code);
            if let Some(ap) = self.store.find_app_password(&a.user, &digest).await? {
                if ap.revoked_at.is_some() {
                    return Ok((Credential::Wrong, None));
                }
                let expired = ap.expires_at.is_some_and(|e| now >= e);
                return Ok((
                    Credential::AppPassword {
                        protocols: ap.protocols,
                        expired,
                    },
                    Some(ap),
                ));
            }
        }
        let hash = account.and_then(|a| a.password_hash.clone());
        let ok = self.credentials.verify(hash, secret).await?;
        Ok((
            if ok {
                Credential::LoginPassword
            } else {
                Credential::Wrong
            },
            None,
        ))
    }

    async fn two_factor(&self, account: &Account) -> Result<TwoFactor, ServiceError> {
        let org = self.org_of(account).await?;
        let enrolled = self
            .store
            .totp(&account.user)
            .await?
            .is_some_and(|t| t.confirmed_at.is_some());
        Ok(TwoFactor {
            enrolled,
            required: credentials::two_factor_required(&org, account),
            codes_required: org.app_passwords_required,
        })
    }

    fn password_age(&self, account: &Account, now: Timestamp) -> PasswordAge {
        use warden_auth::Expiry;
        match account.password_changed_at {
            None => PasswordAge::Fresh,
            Some(changed) => match self.credentials.settings.password.expiry(changed, now) {
                Expiry::Fresh => PasswordAge::Fresh,
                Expiry::Expiring { in_grace_until } => PasswordAge::Grace {
                    until: in_grace_until,
                },
                Expiry::Expired => PasswordAge::Expired,
            },
        }
    }

    /// Opens a web session for the attempt's user: (token, expiry).
    async fn open_session(
        &self,
        attempt: &LoginAttempt,
    ) -> Result<(String, Timestamp), ServiceError> {
        let token = codes::generate_session_token();
        let expires_at = attempt
            .ts
            .plus_secs(self.credentials.settings.session_ttl_secs);
        self.store
            .insert_session(&WebSession {
                digest: codes::token_digest(&token),
                user: attempt.user.clone(),
                created_at: attempt.ts,
                expires_at,
                ip: attempt.ip,
                user_agent: attempt.user_agent.as_deref().map(str::to_string),
                revoked_at: None,
            })
            .await?;
        Ok((token, expires_at))
    }
}

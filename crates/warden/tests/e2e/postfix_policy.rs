//! Warden's Postfix policy server (`check_policy_service`, the snippet
//! `integrations/postfix/main.cf`): outbound mail from authenticated
//! accounts, with SMTP AUTH through Dovecot and Warden's passdb.

use super::dovecot_verify::{smtp, stack, Passdb, HOME};
use super::harness::{seen, SmtpSession};

#[test]
fn a_compromised_account_cannot_send_a_normal_one_can_a_burst_is_deferred_and_warden_down_fails_closed(
) {
    let mut s = stack(
        "postfix",
        Passdb::Lua,
        &[("WARDEN_POSTFIX__RATE_MIN_RECIPIENTS", "3")],
        true,
    );
    let w = &s.warden;
    let port = s.postfix.as_ref().unwrap().port;
    let mut codes = Vec::new();
    for user in ["bob@example.com", "mallory@example.com", "rita@example.com"] {
        w.create_user(user, "plum-orchard-lantern-42");
        codes.push(w.app_password(user));
    }

    let normal = smtp(
        port,
        "bob@example.com",
        &codes[0],
        &["friend@elsewhere.test"],
    );
    assert_eq!(
        seen("bob: AUTH", &normal[0]),
        "235 2.7.0 Authentication successful"
    );
    assert_eq!(seen("bob: RCPT", &normal[2]), "250 2.1.5 Ok");
    assert!(seen("bob: DATA", &normal[3]).starts_with("250 2.0.0 Ok: queued as "));

    // Mallory's session is open when the admin marks the account
    // compromised (locks it): the next recipient is refused.
    let mut session = SmtpSession::start(
        port,
        "mallory@example.com",
        &codes[1],
        HOME,
        &["victim@elsewhere.test"],
    );
    assert_eq!(
        seen("mallory: AUTH", &session.next()),
        "235 2.7.0 Authentication successful"
    );
    w.cli(
        &[
            "user",
            "lock",
            "mallory@example.com",
            "--reason",
            "compromised",
        ],
        None,
    );
    let rest = session.resume();
    assert_eq!(
        seen("mallory after the lock: RCPT", &rest[1]),
        "554 5.7.1 <victim@elsewhere.test>: Recipient address rejected: Sending refused: this account is locked; contact your administrator"
    );
    assert_eq!(rest.len(), 2, "no DATA without a recipient: {rest:?}");

    // A sudden burst: three recipients pass, the fourth is deferred.
    let burst = smtp(
        port,
        "rita@example.com",
        &codes[2],
        &[
            "r1@elsewhere.test",
            "r2@elsewhere.test",
            "r3@elsewhere.test",
            "r4@elsewhere.test",
        ],
    );
    for r in &burst[2..5] {
        assert_eq!(seen("rita: RCPT", r), "250 2.1.5 Ok");
    }
    assert_eq!(
        seen("rita: 4th RCPT", &burst[5]),
        "450 4.7.1 <r4@elsewhere.test>: Recipient address rejected: Sending rate limit: too many recipients in the last 60 minutes; try again later"
    );

    // Warden stopped during a session: Postfix fails closed.
    let mut session = SmtpSession::start(
        port,
        "bob@example.com",
        &codes[0],
        HOME,
        &["friend@elsewhere.test"],
    );
    assert_eq!(
        seen("bob: AUTH", &session.next()),
        "235 2.7.0 Authentication successful"
    );
    s.warden.stop();
    let rest = session.resume();
    assert_eq!(
        seen("bob with Warden down: RCPT", &rest[1]),
        "451 4.3.5 <friend@elsewhere.test>: Recipient address rejected: Server configuration problem"
    );
    // SMTP AUTH, which Warden verifies, fails in Dovecot as a temporary
    // failure, but Postfix 3.7 does not read Dovecot 2.3's temporary code:
    // the client sees the same 535 as for a wrong password.
    let auth = smtp(port, "bob@example.com", &codes[0], &[]);
    let reply = seen("bob's AUTH with Warden down", &auth[0]);
    assert!(
        reply.starts_with("535 5.7.8 Error: authentication failed"),
        "{reply}"
    );
    let log = std::fs::read_to_string(s.dovecot.log()).unwrap();
    // Dovecot's own HTTP client error, not an answer from Warden.
    let failure = log
        .lines()
        .rfind(|l| l.contains("no answer from Warden at "))
        .expect("the passdb's internal failure is logged");
    assert!(!failure.contains("Warden answered"), "{failure}");
    println!("Dovecot's log: {failure}");
}

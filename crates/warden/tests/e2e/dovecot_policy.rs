//! Dovecot keeps its own passwords (a passwd-file here) and asks Warden
//! before and after each login through the auth policy protocol
//! (`integrations/dovecot/warden-policy.conf`).

use std::path::Path;

use serde_json::{json, Value};

use super::dovecot_verify::smtp;
use super::harness::{login, render, seen, temp_dir, template, Dovecot, Postfix, Warden, KEY};

/// Warden, then Dovecot with a passwd-file of `users` and the policy snippet
/// (and the auth listener for Postfix), and optionally Postfix.
pub struct Stack {
    pub postfix: Option<Postfix>,
    pub dovecot: Dovecot,
    pub warden: Warden,
    pub dir: tempfile::TempDir,
}

pub fn stack(name: &str, env: &[(&str, &str)], users: &[(&str, &str)]) -> Stack {
    stack_with(name, env, users, false)
}

fn stack_with(
    name: &str,
    env: &[(&str, &str)],
    users: &[(&str, &str)],
    with_postfix: bool,
) -> Stack {
    let dir = temp_dir();
    let warden = Warden::start(dir.path(), env);
    let users_file = dir.path().join("users");
    let lines: String = users
        .iter()
        .map(|(u, p)| format!("{u}:{{PLAIN}}{p}\n"))
        .collect();
    std::fs::write(&users_file, lines).unwrap();
    let dovecot = Dovecot::start(dir.path(), name, |sasl| {
        let sasl_conf = render(
            &template("dovecot/postfix-sasl.conf"),
            &[("port = 12345", format!("port = {sasl}"))],
        );
        format!("{}\n{sasl_conf}", policy_conf(&warden, &users_file))
    });
    let postfix =
        with_postfix.then(|| Postfix::start(dir.path(), dovecot.sasl, warden.postfix_port));
    Stack {
        postfix,
        dovecot,
        warden,
        dir,
    }
}

/// Mode B for the conformance matrix: Dovecot's passwd-file of `users`,
/// and Postfix authenticating through Dovecot.
pub fn stack_parts(name: &str, env: &[(&str, &str)], users: &[(&str, &str)]) -> Stack {
    stack_with(name, env, users, true)
}

/// The policy snippet as the docs give it, for this Warden; with
/// `warden_verifies` (mode A) its URL is the `passdb=warden` one the snippet
/// names.
pub fn policy_snippet(warden: &Warden, warden_verifies: bool) -> String {
    let policy = render(
        &template("dovecot/warden-policy.conf"),
        &[
            ("http://127.0.0.1:8080", warden.url()),
            ("REPLACE-WITH-WARDEN-API-KEY", KEY.to_string()),
        ],
    );
    if !warden_verifies {
        return policy;
    }
    let plain = format!(
        "\nauth_policy_server_url = {}/v1/dovecot/policy\n",
        warden.url()
    );
    let mode_a = format!(
        "\n#auth_policy_server_url = {}/v1/dovecot/policy?passdb=warden&\n",
        warden.url()
    );
    assert!(
        policy.contains(&plain) && policy.contains(&mode_a),
        "the policy snippet names both URLs:\n{policy}"
    );
    policy
        .replace(&plain, "\n")
        .replace(&mode_a, &mode_a.replacen('#', "", 1))
}

fn policy_conf(warden: &Warden, users_file: &Path) -> String {
    let policy = policy_snippet(warden, false);
    format!(
        "passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {}\n}}\n{policy}",
        users_file.display()
    )
}

const HOME: &str = "113.88.1.10";
const LAGOS: &str = "105.112.1.1";

fn reasons(event: &Value) -> Vec<String> {
    event["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_foreign_login_raises_an_alert_and_login_protection_refuses_it() {
    let mut s = stack(
        "alert",
        &[],
        &[
            ("alice@example.com", "alice-password-1"),
            ("dave@example.com", "dave-password-1"),
        ],
    );
    let d = &s.dovecot;
    s.warden.history_at_home("alice@example.com", HOME);
    s.warden.history_at_home("dave@example.com", HOME);

    // The last login at home was yesterday: Lagos is a new country, not
    // impossible travel.
    let abroad = login(
        "imap",
        d.imaps,
        "alice@example.com",
        "alice-password-1",
        LAGOS,
        "ssl",
    );
    assert_eq!(seen("alice from Lagos (IMAPS)", &abroad), "OK Logged in");
    let event = s
        .warden
        .event_once("alice@example.com", 1, |e| e["ip"] == LAGOS);
    println!(
        "alice's history: {} {} from {} alert={} reasons={:?}",
        event["outcome"],
        event["decision"],
        event["ip"],
        event["alert"],
        reasons(&event)
    );
    assert_eq!(event["ip"], LAGOS);
    assert_eq!(event["outcome"], "success");
    assert_eq!(event["alert"], true, "{event}");
    assert!(reasons(&event).contains(&"unusual_country".to_string()));

    // Login protection on: the same login is refused after the password
    // check, with the text saying what to do; a wrong password learns
    // nothing about it.
    s.warden.restart(&[("WARDEN_LOGIN__PROTECTION", "true")]);
    let d = &s.dovecot;
    let wrong = login("imap", d.imaps, "dave@example.com", "not-it", LAGOS, "ssl");
    assert_eq!(
        seen("dave from Lagos, wrong password, protection on", &wrong),
        "NO [AUTHENTICATIONFAILED] Authentication failed."
    );
    let refused = login(
        "imap",
        d.imaps,
        "dave@example.com",
        "dave-password-1",
        LAGOS,
        "ssl",
    );
    assert_eq!(
        seen("dave from Lagos, protection on", &refused),
        "NO [ALERT] Unusual login (from Lagos, NG): sign in to webmail and confirm it was you, then try again."
    );
    let event = s
        .warden
        .event_once("dave@example.com", 2, |e| e["ip"] == LAGOS);
    assert_eq!(
        (&event["outcome"], &event["failure_reason"]),
        (&json!("failure"), &json!("verification_required")),
        "{event}"
    );
    let home = login(
        "imap",
        d.imaps,
        "dave@example.com",
        "dave-password-1",
        HOME,
        "ssl",
    );
    assert_eq!(seen("dave from home, protection on", &home), "OK Logged in");
}

#[test]
fn guesses_from_one_address_are_locked_out_while_home_still_logs_in() {
    let s = stack("lockout", &[], &[("erin@example.com", "erin-password-1")]);
    let d = &s.dovecot;
    s.warden.history_at_home("erin@example.com", HOME);
    let attacker = "81.2.69.9";
    for i in 1..=10 {
        let guess = login(
            "imap",
            d.imaps,
            "erin@example.com",
            &format!("guess-{i}"),
            attacker,
            "ssl",
        );
        let reply = seen(&format!("guess {i} from {attacker}"), &guess);
        if i <= 5 {
            assert_eq!(reply, "NO [AUTHENTICATIONFAILED] Authentication failed.");
        } else {
            assert!(
                reply.starts_with("NO [CONTACTADMIN] Locked by risk control after 5 failed logins from 81.2.69.9: logins from this address are refused until "),
                "{reply}"
            );
        }
    }
    let right = login(
        "imap",
        d.imaps,
        "erin@example.com",
        "erin-password-1",
        attacker,
        "ssl",
    );
    assert!(seen("the right password from the locked address", &right)
        .starts_with("NO [CONTACTADMIN] Locked by risk control"));
    let pop3 = login(
        "pop3",
        d.pop3s,
        "erin@example.com",
        "erin-password-1",
        attacker,
        "ssl",
    );
    assert!(seen("POP3 from the locked address", &pop3)
        .starts_with("-ERR [AUTH] Locked by risk control after 5 failed logins from 81.2.69.9"));
    let home = login(
        "imap",
        d.imaps,
        "erin@example.com",
        "erin-password-1",
        HOME,
        "ssl",
    );
    assert_eq!(seen("erin from home", &home), "OK Logged in");
}

#[test]
fn guesses_from_many_addresses_never_lock_the_owner_out_with_protection_on() {
    let s = stack(
        "distributed",
        &[("WARDEN_LOGIN__PROTECTION", "true")],
        &[("gina@example.com", "gina-password-1")],
    );
    let d = &s.dovecot;
    s.warden.history_at_home("gina@example.com", HOME);
    // One address guesses until it is locked out and goes on; eight more
    // guess once each.
    let mut guessers: Vec<String> = vec!["81.2.69.9".into(); 8];
    guessers.extend((20..28).map(|i| format!("81.2.69.{i}")));
    for (i, ip) in guessers.iter().enumerate() {
        let guess = login(
            "imap",
            d.imaps,
            "gina@example.com",
            &format!("guess-{i}"),
            ip,
            "ssl",
        );
        assert!(seen(&format!("guess {i} from {ip}"), &guess).starts_with("NO "));
    }
    s.warden
        .event_once("gina@example.com", guessers.len(), |e| {
            e["outcome"] == "failure"
        });
    let home = login(
        "imap",
        d.imaps,
        "gina@example.com",
        "gina-password-1",
        HOME,
        "ssl",
    );
    assert_eq!(
        seen("gina from home during the attack", &home),
        "OK Logged in"
    );
    // An address of the same provider and city that gina never used is
    // challenged while the guesses go on, even with her password.
    let neighbour = login(
        "imap",
        d.imaps,
        "gina@example.com",
        "gina-password-1",
        "113.88.200.10",
        "ssl",
    );
    assert!(
        seen(
            "gina's password from a new address during the attack",
            &neighbour
        )
        .starts_with("NO [ALERT]"),
        "{neighbour:?}"
    );
}

#[test]
fn a_stale_client_is_tarpitted_but_not_counted_as_an_attack() {
    let s = stack("stale", &[], &[("frank@example.com", "new-password-2")]);
    let d = &s.dovecot;
    s.warden.history_at_home("frank@example.com", HOME);
    // An old phone on the home network keeps trying the previous password.
    let phone = "113.88.1.20";
    for i in 1..=8 {
        let r = login(
            "imap",
            d.imaps,
            "frank@example.com",
            "old-password-1",
            phone,
            "ssl",
        );
        let secs = r["secs"].as_f64().unwrap();
        let reply = seen(&format!("stale attempt {i} ({secs:.2} s)"), &r);
        assert_eq!(reply, "NO [AUTHENTICATIONFAILED] Authentication failed.");
        if i > 1 {
            assert!(secs >= 0.9, "a repeat is held back by the tarpit: {secs}");
        }
    }
    // Dovecot logs each tarpit Warden asked for: every repeat, not the first.
    let log = std::fs::read_to_string(d.log()).unwrap();
    let tarpits = log
        .matches("Policy check action is tarpit 1 second(s)")
        .count();
    assert_eq!(tarpits, 7, "{log}");
    // Eight failures, but one guess: no lockout, no attack signal.
    let a = s.warden.post(
        "/v1/evaluate",
        json!({"user": "frank@example.com", "ip": phone, "protocol": "imap"}),
    );
    let codes: Vec<&str> = a["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    println!("Warden on frank from {phone}: {} {codes:?}", a["decision"]);
    assert_eq!(a["decision"], "allow", "{a}");
    assert!(!codes.contains(&"brute_force_lockout") && !codes.contains(&"account_under_attack"));
    let fixed = login(
        "imap",
        d.imaps,
        "frank@example.com",
        "new-password-2",
        phone,
        "ssl",
    );
    assert_eq!(
        seen("the phone with the new password", &fixed),
        "OK Logged in"
    );
    let h = s.warden.get("/v1/users/frank@example.com/history?limit=20");
    let failures = h["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "failure")
        .count();
    assert_eq!(failures, 8, "every attempt is in the history");
}

#[test]
fn plaintext_is_refused_when_tls_is_required_while_starttls_and_imaps_log_in() {
    let s = stack_with("tls", &[], &[("gina@example.com", "gina-password-1")], true);
    let d = &s.dovecot;
    let plain = login(
        "imap",
        d.imap,
        "gina@example.com",
        "gina-password-1",
        HOME,
        "none",
    );
    assert_eq!(
        seen("IMAP without TLS", &plain),
        "NO [PRIVACYREQUIRED] Plaintext connections are refused: turn on SSL/TLS in the client (IMAP port 993, POP3 port 995, SMTP port 465, or 587 with STARTTLS)."
    );
    let pop3 = login(
        "pop3",
        d.pop3,
        "gina@example.com",
        "gina-password-1",
        HOME,
        "none",
    );
    assert_eq!(
        seen("POP3 without TLS", &pop3),
        "-ERR [AUTH] Plaintext connections are refused: turn on SSL/TLS in the client (IMAP port 993, POP3 port 995, SMTP port 465, or 587 with STARTTLS)."
    );
    let starttls = login(
        "imap",
        d.imap,
        "gina@example.com",
        "gina-password-1",
        HOME,
        "starttls",
    );
    assert_eq!(seen("IMAP with STARTTLS", &starttls), "OK Logged in");
    let imaps = login(
        "imap",
        d.imaps,
        "gina@example.com",
        "gina-password-1",
        HOME,
        "ssl",
    );
    assert_eq!(seen("IMAPS", &imaps), "OK Logged in");
    let pop3s = login(
        "pop3",
        d.pop3s,
        "gina@example.com",
        "gina-password-1",
        HOME,
        "ssl",
    );
    assert_eq!(seen("POP3S", &pop3s), "+OK Logged in.");
    // Postfix asks Dovecot, Dovecot asks Warden: the STARTTLS session is
    // `secured`, so SMTP AUTH passes the TLS check.
    let port = s.postfix.as_ref().unwrap().port;
    let sent = smtp(
        port,
        "gina@example.com",
        "gina-password-1",
        &["x@elsewhere.test"],
    );
    assert_eq!(
        seen("SMTP AUTH after STARTTLS", &sent[0]),
        "235 2.7.0 Authentication successful"
    );
    assert_eq!(seen("RCPT", &sent[2]), "250 2.1.5 Ok");
    let wrong = smtp(port, "gina@example.com", "not-it", &[]);
    assert!(seen("SMTP AUTH with a wrong password", &wrong[0])
        .starts_with("535 5.7.8 Error: authentication failed"));
    let event = s
        .warden
        .event_once("gina@example.com", 2, |e| e["protocol"] == "smtp");
    assert_eq!(
        (&event["protocol"], &event["outcome"]),
        (&json!("smtp"), &json!("failure"))
    );
}

#[test]
fn with_warden_down_dovecot_fails_open_on_its_own_passwords() {
    let mut s = stack("down", &[], &[("hank@example.com", "hank-password-1")]);
    s.warden.stop();
    let d = &s.dovecot;
    let ok = login(
        "imap",
        d.imaps,
        "hank@example.com",
        "hank-password-1",
        HOME,
        "ssl",
    );
    assert_eq!(seen("Warden down, right password", &ok), "OK Logged in");
    let wrong = login("imap", d.imaps, "hank@example.com", "wrong", HOME, "ssl");
    assert_eq!(
        seen("Warden down, wrong password", &wrong),
        "NO [AUTHENTICATIONFAILED] Authentication failed."
    );
    let log = std::fs::read_to_string(d.log()).unwrap();
    assert!(log.contains("Policy server HTTP error"), "{log}");
}

#[test]
fn a_hostile_imap_id_through_the_real_dovecot_neither_skips_the_lockout_nor_reaches_a_text() {
    use super::harness::client;
    let s = stack("hostile", &[], &[("gina@example.com", "gina-password-1")]);
    let d = &s.dovecot;
    let w = &s.warden;
    w.history_at_home("gina@example.com", HOME);
    let attacker = "81.2.69.10";
    let port = d.imaps.to_string();
    // The name an attacker's client gives itself: a sentence with a URL,
    // as long as Dovecot takes before login (it aborts an ID over about a
    // kilobyte: "Input buffer full"). imaplib sends ASCII only: bidi
    // overrides and bytes that are not UTF-8 are tested over HTTP.
    let hostile = format!(
        "your mailbox is suspended. verify at https://evil.example/login {}",
        "x".repeat(600)
    );
    let imap = |password: &str, ip: &str| {
        let mut v = client(&[
            "imap",
            "--port",
            &port,
            "--user",
            "gina@example.com",
            "--password",
            password,
            "--tls",
            "ssl",
            "--ip",
            ip,
            "--client",
            &hostile,
        ]);
        v.remove(0)
    };
    for i in 1..=5 {
        let r = imap(&format!("guess-{i}"), attacker);
        assert_eq!(
            seen(&format!("guess {i} with a hostile ID"), &r),
            "NO [AUTHENTICATIONFAILED] Authentication failed."
        );
    }
    // Each guess was reported and counted: the address is locked out, and
    // stays refused with the right password and the same hostile ID.
    w.event_once("gina@example.com", 5, |e| e["outcome"] == "failure");
    let right = imap("gina-password-1", attacker);
    let reply = seen(
        "the right password with a hostile ID from the locked address",
        &right,
    );
    assert!(
        reply.starts_with("NO [CONTACTADMIN] Locked by risk control"),
        "{reply}"
    );
    // From home the login succeeds, and the client program is shown as one
    // word of its name (the ID was cut to 1,024 bytes, its version with it;
    // the history keeps that cut ID beside, as data).
    let home = imap("gina-password-1", HOME);
    assert_eq!(
        seen("gina from home with a hostile ID", &home),
        "OK Logged in"
    );
    let e = w.event_once("gina@example.com", 1, |e| {
        e["outcome"] == "success" && e["ip"] == HOME
    });
    println!("the stored event: {e}");
    assert_eq!(e["client"], "your", "{e}");
}

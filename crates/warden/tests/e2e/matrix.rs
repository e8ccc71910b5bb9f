//! The conformance matrix with the real daemons: the same scenarios through
//! each way Dovecot can use Warden, as docs/integrations/dovecot.md sets them
//! up, with a real IMAP client —
//!
//! - **mode A**: Warden verifies the passwords (the Lua passdb) and is the
//!   auth policy server too (`passdb=warden` in its URL);
//! - **mode B**: Dovecot keeps the passwords (a passwd-file), Warden is its
//!   auth policy server;
//! - **checkpassword**: `warden checkpassword` as the passdb.
//!
//! Scenarios: a correct login from home; a stale client repeating one wrong
//! password; six guesses from one address, then the right password from
//! there and from home; a correct password from abroad with login
//! protection off and on; an admin lock and unlock (IMAP and SMTP AUTH); a
//! disabled account; a 2FA user's login password and authorization code;
//! plaintext. Each asserts what the client saw and what the history keeps.
//! Where the ways differ, the difference is the documented one (the tables
//! in docs/integrations/dovecot.md); `/v1/evaluate` + `/v1/report` and
//! `/v1/auth/verify` run the same scenarios in process
//! (`crates/warden-service/tests/matrix.rs`). Every reply is printed, so a
//! failing run shows the whole matrix.

use serde_json::Value;

use super::dovecot_policy;
use super::dovecot_verify::{self, Passdb};
use super::harness::{login, seen, Dovecot, Postfix, Warden};

const PW: &str = "plum-orchard-lantern-42";
const HOME: &str = "113.88.1.10";
const ATTACKER: &str = "81.2.69.9";
const LAGOS: &str = "105.112.1.1";

/// The ways Dovecot uses Warden.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    ModeA,
    ModeB,
    Checkpassword,
}

/// Warden and Dovecot wired one way; the accounts every scenario uses
/// exist in Warden (and in Dovecot's passwd-file for mode B).
struct Site {
    way: Way,
    /// Modes A and B: SMTP AUTH through Dovecot.
    postfix: Option<Postfix>,
    dovecot: Dovecot,
    warden: Warden,
    _dir: tempfile::TempDir,
}

const USERS: [&str; 9] = [
    "twofa@example.com",
    "home@example.com",
    "stale@example.com",
    "guess@example.com",
    "travel@example.com",
    "travel2@example.com",
    "locked@example.com",
    "gone@example.com",
    "plain@example.com",
];

fn site(way: Way) -> Site {
    let passwd: Vec<(&str, &str)> = USERS.iter().map(|u| (*u, PW)).collect();
    let (warden, dovecot, postfix, dir) = match way {
        Way::ModeA => {
            let s = dovecot_verify::stack_with_policy("matrix-a", &[]);
            (s.warden, s.dovecot, s.postfix, s.dir)
        }
        Way::ModeB => {
            let s = dovecot_policy::stack_parts("matrix-b", &[], &passwd);
            (s.warden, s.dovecot, s.postfix, s.dir)
        }
        Way::Checkpassword => {
            let s = dovecot_verify::stack("matrix-c", Passdb::Checkpassword, &[], false);
            (s.warden, s.dovecot, s.postfix, s.dir)
        }
    };
    for u in USERS {
        warden.create_user(u, PW);
    }
    Site {
        way,
        postfix,
        dovecot,
        warden,
        _dir: dir,
    }
}

impl Site {
    /// One IMAPS login; the reply line the client saw.
    fn imap(&self, user: &str, password: &str, ip: &str) -> String {
        let r = login("imap", self.dovecot.imaps, user, password, ip, "ssl");
        let reply = seen(&format!("{:?} {user} from {ip}", self.way), &r);
        println!("{:?}\t{user}\t{ip}\t{reply}", self.way);
        reply
    }

    /// SMTP AUTH through Postfix (and one recipient): the AUTH reply, and
    /// the RCPT reply when AUTH succeeded.
    fn smtp(&self, user: &str, password: &str) -> Option<(String, Option<String>)> {
        let port = self.postfix.as_ref()?.port;
        let r = dovecot_verify::smtp(port, user, password, &["friend@elsewhere.test"]);
        let auth = seen(&format!("{:?} SMTP AUTH {user}", self.way), &r[0]);
        let rcpt = r.get(2).map(|v| seen("RCPT", v));
        println!("{:?}\t{user}\tSMTP\t{auth}\t{rcpt:?}", self.way);
        Some((auth, rcpt))
    }

    /// The newest history event of `user` once there are `n` of them.
    fn event(&self, user: &str, n: usize) -> Value {
        self.warden.event_once(user, n, |_| true)
    }

    fn history_len(&self, user: &str) -> usize {
        self.warden
            .get(&format!("/v1/users/{user}/history?limit=100"))["events"]
            .as_array()
            .map_or(0, Vec::len)
    }
}

/// The IMAP response code a client sees with Warden's text: the reason's own
/// code in modes A and B; with checkpassword always Dovecot's
/// `CONTACTADMIN` (a `nologin` reason cannot choose its code).
fn code(way: Way, own: &str) -> String {
    match way {
        Way::Checkpassword => "NO [CONTACTADMIN] ".to_string(),
        _ => format!("NO [{own}] "),
    }
}

const OK: &str = "OK Logged in";
const FAILED: &str = "NO [AUTHENTICATIONFAILED] Authentication failed.";

fn run(way: Way) {
    let s = site(way);
    let w = &s.warden;

    // 1. A correct login from home: one success in the history.
    assert_eq!(s.imap("home@example.com", PW, HOME), OK);
    let e = s.event("home@example.com", 1);
    assert_eq!(e["outcome"], "success", "{e}");
    // A duplicate record would come from Dovecot's report, sent while the
    // client gets its reply: give it time to arrive.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(s.history_len("home@example.com"), 1, "one record per login");

    // 2. A stale client repeating one wrong password never locks its owner
    //    out: it counts as one guess.
    for _ in 0..6 {
        assert_eq!(
            s.imap("stale@example.com", "last-years-password", HOME),
            FAILED
        );
    }
    assert_eq!(s.imap("stale@example.com", PW, HOME), OK);

    // 3. Six different guesses from one address lock that address out, with
    //    the text saying so; home still logs in.
    for i in 0..6 {
        let r = s.imap("guess@example.com", &format!("guess-{i}"), ATTACKER);
        assert!(
            r == FAILED || r.starts_with("NO [CONTACTADMIN] Locked by risk control"),
            "{r}"
        );
    }
    let r = s.imap("guess@example.com", PW, ATTACKER);
    assert!(
        r.starts_with(
            "NO [CONTACTADMIN] Locked by risk control after 5 failed logins from 81.2.69.9"
        ),
        "{way:?}: {r}"
    );
    let e = s.event("guess@example.com", 7);
    assert_eq!(e["verify_reason"], "locked_by_risk_control", "{way:?}: {e}");
    assert_eq!(s.imap("guess@example.com", PW, HOME), OK);

    // 4. A correct password from abroad, login protection off (the
    //    default): logged in, with the alert in the history.
    w.history_at_home("travel@example.com", HOME);
    assert_eq!(s.imap("travel@example.com", PW, LAGOS), OK);
    let e = s.event("travel@example.com", 8);
    assert_eq!(
        (e["outcome"].as_str(), e["alert"].as_bool()),
        (Some("success"), Some(true)),
        "{way:?}: {e}"
    );

    // 5. An admin locks an account: refused at the next login, with the
    //    reason; a wrong password learns nothing about it. Unlocked: in.
    w.cli(
        &[
            "user",
            "lock",
            "locked@example.com",
            "--reason",
            "compromised",
        ],
        None,
    );
    let r = s.imap("locked@example.com", PW, HOME);
    assert_eq!(
        r, "NO [CONTACTADMIN] This account is locked. Contact your administrator.",
        "{way:?}"
    );
    // The lock's refusal is in the history with its reason.
    w.event_once("locked@example.com", 1, |e| {
        e["verify_reason"] == "account_locked"
    });
    assert_eq!(s.imap("locked@example.com", "guess", HOME), FAILED);
    s.event("locked@example.com", 2);
    // SMTP AUTH (Postfix through Dovecot) is refused too; Postfix shows
    // its own 535 with Warden's text where Dovecot passes one on.
    if let Some((auth, _)) = s.smtp("locked@example.com", PW) {
        assert_eq!(
            auth,
            "535 5.7.8 Error: authentication failed: This account is locked. Contact your administrator.",
            "{way:?}"
        );
    }
    w.cli(&["user", "unlock", "locked@example.com"], None);
    assert_eq!(s.imap("locked@example.com", PW, HOME), OK);
    if let Some((auth, rcpt)) = s.smtp("locked@example.com", PW) {
        assert_eq!(auth, "235 2.7.0 Authentication successful", "{way:?}");
        assert_eq!(rcpt.as_deref(), Some("250 2.1.5 Ok"), "{way:?}");
    }

    // 6. A disabled account.
    w.cli(&["user", "disable", "gone@example.com"], None);
    let r = s.imap("gone@example.com", PW, HOME);
    assert_eq!(
        r, "NO [CONTACTADMIN] This account is disabled. Contact your administrator.",
        "{way:?}"
    );
    w.event_once("gone@example.com", 1, |e| {
        e["verify_reason"] == "account_disabled"
    });

    // 7. 2FA on: the login password is refused for a mail client, which
    //    needs an authorization code. Mode B: Dovecot checks its own
    //    passwords and knows no codes (documented).
    if way != Way::ModeB {
        w.enable_totp("twofa@example.com");
        let code_pw = w.app_password("twofa@example.com");
        let r = s.imap("twofa@example.com", PW, HOME);
        assert!(
            r.starts_with(&format!(
                "{}This account needs an authorization code",
                code(way, "ALERT")
            )),
            "{way:?}: {r}"
        );
        assert_eq!(s.imap("twofa@example.com", &code_pw, HOME), OK);
        let e = s.event("twofa@example.com", 2);
        assert_eq!(e["outcome"], "success", "{e}");
    }

    // 8. Plaintext IMAP (no STARTTLS): refused before the password.
    let r = login(
        "imap",
        s.dovecot.imap,
        "plain@example.com",
        PW,
        HOME,
        "none",
    );
    let r = seen("plaintext", &r);
    println!("{way:?}\tplain@example.com\tplaintext\t{r}");
    assert!(
        r.starts_with(&format!(
            "{}Plaintext connections are refused",
            code(way, "PRIVACYREQUIRED")
        )),
        "{way:?}: {r}"
    );
    let e = s.event("plain@example.com", 1);
    assert_eq!(e["verify_reason"], "tls_required", "{way:?}: {e}");

    // 9. Login protection on: the same foreign login is refused after the
    //    correct password, with what to do.
    let mut s = s;
    s.warden.restart(&[("WARDEN_LOGIN__PROTECTION", "true")]);
    s.warden.history_at_home("travel2@example.com", HOME);
    let r = s.imap("travel2@example.com", PW, LAGOS);
    assert!(
        r.starts_with(&format!(
            "{}Unusual login (from Lagos, NG)",
            code(way, "ALERT")
        )),
        "{way:?}: {r}"
    );
    let e = s.event("travel2@example.com", 8);
    assert_eq!(e["verify_reason"], "verification_required", "{way:?}: {e}");
}

#[test]
fn mode_a_lua_passdb_and_policy() {
    super::harness::require_dovecot();
    run(Way::ModeA);
}

#[test]
fn mode_b_policy_only() {
    super::harness::require_dovecot();
    run(Way::ModeB);
}

#[test]
fn checkpassword() {
    super::harness::require_dovecot();
    run(Way::Checkpassword);
}

//! Warden verifies the passwords: Dovecot's Lua passdb
//! (`integrations/dovecot/warden-passdb.lua`) or `warden checkpassword`
//! call `POST /v1/auth/verify`; Postfix authenticates SMTP clients through
//! Dovecot, so SMTP AUTH gets the same checks.

use std::path::Path;
use std::process::Command;

use super::harness::{
    client, login, render, repo, seen, temp_dir, template, Dovecot, Postfix, Warden, KEY,
};

/// Warden, Dovecot with Warden as its passdb (Lua or checkpassword) and the
/// `inet:` auth listener for Postfix, and optionally Postfix.
pub struct Stack {
    pub postfix: Option<Postfix>,
    pub dovecot: Dovecot,
    pub warden: Warden,
    pub dir: tempfile::TempDir,
}

/// Which passdb Dovecot uses.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Passdb {
    Lua,
    Checkpassword,
}

pub fn stack(name: &str, passdb: Passdb, env: &[(&str, &str)], with_postfix: bool) -> Stack {
    let dir = temp_dir();
    let warden = Warden::start(dir.path(), env);
    let key_file = dir.path().join("warden-api-key");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    let dovecot = Dovecot::start(dir.path(), name, |sasl| {
        let sasl_conf = render(
            &template("dovecot/postfix-sasl.conf"),
            &[("port = 12345", format!("port = {sasl}"))],
        );
        format!("{}\n{sasl_conf}", passdb_conf(passdb, &warden, &key_file))
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

/// Mode A as the docs set it up: the Lua passdb and the auth policy with
/// `passdb=warden`, and Postfix authenticating through Dovecot.
pub fn stack_with_policy(name: &str, env: &[(&str, &str)]) -> Stack {
    let dir = temp_dir();
    let warden = Warden::start(dir.path(), env);
    let key_file = dir.path().join("warden-api-key");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    let dovecot = Dovecot::start(dir.path(), name, |sasl| {
        let sasl_conf = render(
            &template("dovecot/postfix-sasl.conf"),
            &[("port = 12345", format!("port = {sasl}"))],
        );
        format!(
            "{}\n{}\n{sasl_conf}",
            passdb_conf(Passdb::Lua, &warden, &key_file),
            super::dovecot_policy::policy_snippet(&warden, true)
        )
    });
    let postfix = Some(Postfix::start(
        dir.path(),
        dovecot.sasl,
        warden.postfix_port,
    ));
    Stack {
        postfix,
        dovecot,
        warden,
        dir,
    }
}

/// The `warden` binary as Dovecot's auth process (user `dovecot`) can run
/// it: in place when it may, else a copy in `dir` (a checkout under a
/// private home folder).
fn warden_binary_for_dovecot(dir: &Path) -> String {
    let built = env!("CARGO_BIN_EXE_warden");
    let reachable = Command::new("runuser")
        .args(["-u", "dovecot", "--", "test", "-x", built])
        .status()
        .is_ok_and(|s| s.success());
    if reachable {
        return built.to_string();
    }
    let copy = dir.join("warden");
    std::fs::copy(built, &copy).unwrap();
    copy.display().to_string()
}

fn passdb_conf(passdb: Passdb, warden: &Warden, key_file: &Path) -> String {
    let dir = key_file.parent().unwrap();
    let key_file = key_file.display().to_string();
    match passdb {
        Passdb::Lua => {
            // Installed as the docs say, readable by Dovecot's auth workers.
            let script = dir.join("warden-passdb.lua");
            std::fs::copy(
                repo().join("integrations/dovecot/warden-passdb.lua"),
                &script,
            )
            .unwrap();
            render(
                &template("dovecot/warden-passdb.conf"),
                &[
                    ("http://127.0.0.1:8080", warden.url()),
                    ("/etc/dovecot/warden-api-key", key_file),
                    (
                        "/etc/dovecot/warden-passdb.lua",
                        script.display().to_string(),
                    ),
                ],
            )
        }
        Passdb::Checkpassword => render(
            &template("dovecot/warden-checkpassword.conf"),
            &[
                ("/usr/local/bin/warden", warden_binary_for_dovecot(dir)),
                ("127.0.0.1:8080", format!("127.0.0.1:{}", warden.port)),
                ("/etc/dovecot/warden-api-key", key_file),
            ],
        ),
    }
}

pub const HOME: &str = "113.88.1.10";

/// An SMTP AUTH (with STARTTLS) through Postfix and one message; the
/// client's replies.
pub fn smtp(port: u16, user: &str, password: &str, rcpts: &[&str]) -> Vec<serde_json::Value> {
    let port = port.to_string();
    let mut args = vec![
        "smtp",
        "--port",
        &port,
        "--user",
        user,
        "--password",
        password,
        "--ip",
        HOME,
    ];
    for r in rcpts {
        args.extend(["--rcpt", r]);
    }
    client(&args)
}

/// Carol: a login password, TOTP on, and an authorization code.
fn carol(w: &Warden) -> String {
    w.create_user("carol@example.com", "plum-orchard-lantern-42");
    w.enable_totp("carol@example.com");
    w.app_password("carol@example.com")
}

const APP_PASSWORD_TEXT: &str = "This account needs an authorization code (app password) for mail clients, not the login password";

#[test]
fn a_code_logs_in_over_imap_pop3_and_smtp_and_a_2fa_login_password_is_refused() {
    let mut s = stack("lua", Passdb::Lua, &[], true);
    let code = carol(&s.warden);
    let d = &s.dovecot;
    let smtp_port = s.postfix.as_ref().unwrap().port;

    let imap = login("imap", d.imaps, "carol@example.com", &code, HOME, "ssl");
    assert_eq!(seen("IMAPS with the code", &imap), "OK Logged in");
    let pop3 = login("pop3", d.pop3s, "carol@example.com", &code, HOME, "ssl");
    assert_eq!(seen("POP3S with the code", &pop3), "+OK Logged in.");
    let sent = smtp(
        smtp_port,
        "carol@example.com",
        &code,
        &["friend@elsewhere.test"],
    );
    assert_eq!(
        seen("SMTP AUTH with the code", &sent[0]),
        "235 2.7.0 Authentication successful"
    );
    assert_eq!(seen("RCPT", &sent[2]), "250 2.1.5 Ok");
    assert!(seen("DATA", &sent[3]).starts_with("250 2.0.0 Ok: queued as "));

    let imap = login(
        "imap",
        d.imaps,
        "carol@example.com",
        "plum-orchard-lantern-42",
        HOME,
        "ssl",
    );
    // The Lua passdb sends the reason's own IMAP code, as the policy does.
    let reply = seen("IMAPS with the login password", &imap);
    assert!(
        reply.starts_with(&format!("NO [ALERT] {APP_PASSWORD_TEXT}")),
        "{reply}"
    );
    let pop3 = login(
        "pop3",
        d.pop3s,
        "carol@example.com",
        "plum-orchard-lantern-42",
        HOME,
        "ssl",
    );
    let reply = seen("POP3S with the login password", &pop3);
    assert!(
        reply.starts_with(&format!("-ERR [AUTH] {APP_PASSWORD_TEXT}")),
        "{reply}"
    );
    let refused = smtp(
        smtp_port,
        "carol@example.com",
        "plum-orchard-lantern-42",
        &[],
    );
    let reply = seen("SMTP AUTH with the login password", &refused[0]);
    // Dovecot passes the failure's reason on to Postfix, which shows it
    // after its own words.
    assert!(
        reply.starts_with(
            "535 5.7.8 Error: authentication failed: This account needs an authorization code"
        ),
        "{reply}"
    );
    let wrong = login(
        "imap",
        d.imaps,
        "carol@example.com",
        "not-the-password",
        HOME,
        "ssl",
    );
    assert_eq!(
        seen("IMAPS with a wrong password", &wrong),
        "NO [AUTHENTICATIONFAILED] Authentication failed."
    );
    // An admin requires a new password: the old one is expired.
    s.warden
        .create_user("ivan@example.com", "plum-orchard-lantern-42");
    s.warden.cli(
        &["user", "passwd", "ivan@example.com", "--must-change"],
        Some("quiet-harbour-willow-88"),
    );
    let expired = login(
        "imap",
        d.imaps,
        "ivan@example.com",
        "quiet-harbour-willow-88",
        HOME,
        "ssl",
    );
    assert_eq!(
        seen("IMAPS with a password that must be changed", &expired),
        "NO [EXPIRED] Your administrator requires a new password. Sign in to webmail to set one."
    );
    let plain = login("imap", d.imap, "carol@example.com", &code, HOME, "none");
    let reply = seen("IMAP without TLS", &plain);
    assert!(
        reply.starts_with("NO [PRIVACYREQUIRED] Plaintext connections are refused"),
        "{reply}"
    );

    // Warden stopped: a temporary failure, never a wrong password.
    s.warden.stop();
    let down = login(
        "imap",
        s.dovecot.imaps,
        "carol@example.com",
        &code,
        HOME,
        "ssl",
    );
    let reply = seen("Warden down, IMAPS with the code", &down);
    assert!(
        reply.starts_with("NO [UNAVAILABLE] Temporary authentication failure."),
        "{reply}"
    );
}

#[test]
fn checkpassword_maps_what_the_interface_can_carry() {
    let mut s = stack("checkpassword", Passdb::Checkpassword, &[], false);
    let code = carol(&s.warden);
    let d = &s.dovecot;
    let ok = login("imap", d.imaps, "carol@example.com", &code, HOME, "ssl");
    assert_eq!(
        seen("checkpassword: IMAPS with the code", &ok),
        "OK Logged in"
    );
    let refused = login(
        "imap",
        d.imaps,
        "carol@example.com",
        "plum-orchard-lantern-42",
        HOME,
        "ssl",
    );
    let reply = seen("checkpassword: IMAPS with the login password", &refused);
    assert!(
        reply.starts_with(&format!("NO [CONTACTADMIN] {APP_PASSWORD_TEXT}")),
        "{reply}"
    );
    let wrong = login(
        "imap",
        d.imaps,
        "carol@example.com",
        "not-the-password",
        HOME,
        "ssl",
    );
    assert_eq!(
        seen("checkpassword: a wrong password", &wrong),
        "NO [AUTHENTICATIONFAILED] Authentication failed."
    );
    s.warden.stop();
    let down = login(
        "imap",
        s.dovecot.imaps,
        "carol@example.com",
        &code,
        HOME,
        "ssl",
    );
    let reply = seen("checkpassword: Warden down", &down);
    assert!(
        reply.starts_with("NO [UNAVAILABLE] Temporary authentication failure."),
        "{reply}"
    );
}

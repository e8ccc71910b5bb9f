//! Sessions and devices with the real Dovecot (Warden verifying the
//! passwords through the Lua passdb, with and without the auth policy): logging a user out everywhere with
//! their authorization codes, then `doveadm kick`, ends a live IMAP session
//! and makes the next login with the old code fail; and a new device waits
//! for approval (refused with its text), is approved, then logs in.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::Value;

use super::dovecot_verify::{stack, stack_with_policy, Passdb, HOME};
use super::harness::{login, repo, run, seen};

/// An IMAP client that logs in and stays logged in until told to go on,
/// then sends a NOOP (`mailclient.py imap --hold`).
struct HeldImap {
    child: Child,
    stdin: Option<ChildStdin>,
    out: BufReader<ChildStdout>,
}

impl HeldImap {
    fn start(port: u16, user: &str, password: &str) -> HeldImap {
        let mut child = Command::new("python3")
            .arg(repo().join("integrations/tests/mailclient.py"))
            .args(["imap", "--port", &port.to_string(), "--user", user])
            .args([
                "--password",
                password,
                "--ip",
                HOME,
                "--tls",
                "ssl",
                "--hold",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let out = BufReader::new(child.stdout.take().unwrap());
        HeldImap { child, stdin, out }
    }

    fn next(&mut self) -> Value {
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("mailclient.py said {line:?}"))
    }

    /// Lets the client go on: its NOOP's answer.
    fn resume(mut self) -> Value {
        let mut stdin = self.stdin.take().unwrap();
        stdin.write_all(b"go\n").unwrap();
        drop(stdin);
        let v = self.next();
        let mut rest = String::new();
        self.out.read_to_string(&mut rest).unwrap();
        assert!(
            self.child.wait().unwrap().success(),
            "mailclient.py imap failed"
        );
        v
    }
}

impl Drop for HeldImap {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sessions(w: &super::harness::Warden, user: &str) -> Vec<Value> {
    let out = w.cli(&["sessions", "list", user], None);
    let v: Value = serde_json::from_str(&out).unwrap();
    v["sessions"].as_array().unwrap().clone()
}

#[test]
fn logging_out_everywhere_then_doveadm_kick_ends_the_imap_session_and_the_old_code() {
    // Mode A as the docs set it up: the Lua passdb and the auth policy
    // (which has Dovecot keep the client's IMAP ID for the passdb).
    let s = stack_with_policy("sessions", &[]);
    let w = &s.warden;
    let d = &s.dovecot;
    let user = "dave@example.com";
    w.create_user(user, "quartz-meadow-violin-17");
    let code = w.app_password(user);

    // A mail client logged in with the code, and staying.
    let mut held = HeldImap::start(d.imaps, user, &code);
    assert_eq!(seen("IMAPS with the code", &held.next()), "OK Logged in");
    let list = sessions(w, user);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["device"], "thunderbird/imap");
    assert_eq!(list[0]["client"], "Thunderbird 1.0");
    assert_eq!(list[0]["state"], "active");

    // The admin logs the user out everywhere, with the codes.
    let out: Value =
        serde_json::from_str(&w.cli(&["sessions", "logout-all", user, "--app-passwords"], None))
            .unwrap();
    println!("logout-all: {out}");
    assert_eq!(out["sessions"], 1);
    assert_eq!(out["app_passwords"], 1);
    assert_eq!(sessions(w, user)[0]["state"], "revoked");

    // Warden cannot end a connection Dovecot holds: the admin kicks it.
    let kicked = run(Command::new("doveadm")
        .arg("-c")
        .arg(d.dir.join("dovecot.conf"))
        .args(["kick", user]));
    println!("doveadm kick: {kicked}");
    let noop = held.resume();
    let reply = seen("the live session after the kick", &noop);
    assert_eq!(noop["ok"], false, "{reply}");

    // The next login with the old code fails.
    let again = login("imap", d.imaps, user, &code, HOME, "ssl");
    let reply = seen("IMAPS with the old code", &again);
    assert_eq!(again["ok"], false);
    assert!(reply.starts_with("NO [AUTHENTICATIONFAILED]"), "{reply}");
    // The signed-out device with the (unchanged) login password: refused
    // with its own reason until it brings a new credential.
    let pw = login(
        "imap",
        d.imaps,
        user,
        "quartz-meadow-violin-17",
        HOME,
        "ssl",
    );
    let reply = seen("IMAPS with the password from the signed-out device", &pw);
    assert!(
        reply.starts_with("NO [ALERT] This device was signed out of your account at"),
        "{reply}"
    );
    // A new code, created after the sign-out, brings it back.
    let fresh = w.app_password(user);
    let back = login("imap", d.imaps, user, &fresh, HOME, "ssl");
    assert_eq!(seen("IMAPS with a new code", &back), "OK Logged in");
}

#[test]
fn a_new_device_waits_for_approval_then_logs_in_over_imap() {
    let s = stack(
        "approval",
        Passdb::Lua,
        &[("WARDEN_LOGIN__NEW_DEVICE_APPROVAL", "true")],
        false,
    );
    let w = &s.warden;
    let d = &s.dovecot;
    let user = "erin@example.com";
    w.create_user(user, "copper-lagoon-sparrow-58");
    let first = login(
        "imap",
        d.imaps,
        user,
        "copper-lagoon-sparrow-58",
        HOME,
        "ssl",
    );
    let reply = seen("IMAPS from a new device", &first);
    assert!(
        reply.starts_with(
            "NO [ALERT] This device is new to your account and waits for approval (since "
        ),
        "{reply}"
    );
    let list = sessions(w, user);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["state"], "pending");
    let id = list[0]["id"].as_i64().unwrap().to_string();
    // The helpdesk sees why.
    let diagnosis = w.cli(&["diagnose", user], None);
    println!("diagnose: {diagnosis}");
    assert!(
        diagnosis.contains("refused: new device pending approval since"),
        "{diagnosis}"
    );
    // Approved: in.
    let approved: Value =
        serde_json::from_str(&w.cli(&["sessions", "approve", user, &id], None)).unwrap();
    assert_eq!(approved["state"], "active");
    assert_eq!(approved["state_by"], "admin");
    let again = login(
        "imap",
        d.imaps,
        user,
        "copper-lagoon-sparrow-58",
        HOME,
        "ssl",
    );
    assert_eq!(seen("IMAPS once approved", &again), "OK Logged in");
}

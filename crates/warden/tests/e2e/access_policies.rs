//! Access policies end to end: the admin's CLI (`warden policies dry-run`,
//! then `set`) against the real `warden serve`, and the real Dovecot with
//! Warden as its passdb (the Lua passdb of docs/integrations/) refusing an
//! IMAP login from outside the organisation's allowlist with the policy's
//! own text, while the office still logs in.

use serde_json::Value;

use super::dovecot_verify::{stack, Passdb, HOME};
use super::harness::{login, seen};

/// The organisation's office (Beijing in the address pools).
const OFFICE: &str = "61.135.1.20";
const PW: &str = "plum-orchard-lantern-42";

#[test]
fn an_allowlisted_org_refuses_an_imap_login_from_outside_with_the_policys_text() {
    let s = stack("policy-allowlist", Passdb::Lua, &[], false);
    let w = &s.warden;
    let d = &s.dovecot;
    w.create_user("dan@example.com", PW);
    w.create_user("eve@example.com", PW);
    // A week of logins: dan from home, eve from the office.
    let ok = login("imap", d.imaps, "dan@example.com", PW, HOME, "ssl");
    assert_eq!(
        seen("IMAPS from home before the policy", &ok),
        "OK Logged in"
    );
    let ok = login("imap", d.imaps, "eve@example.com", PW, OFFICE, "ssl");
    assert_eq!(seen("IMAPS from the office", &ok), "OK Logged in");

    // The dry run finds dan's login and refuses nothing.
    let out = w.cli(
        &[
            "policies",
            "dry-run",
            "org",
            "default",
            "--name",
            "office-only",
            "--allowlist",
            "61.135.1.0/24,10.8.0.0/16",
            "--days",
            "7",
            "--json",
        ],
        None,
    );
    let r: Value = serde_json::from_str(&out).unwrap();
    println!("dry run: {r}");
    assert_eq!((&r["refused"], &r["users"]), (&1.into(), &1.into()), "{r}");
    assert_eq!(r["examples"][0]["user"], "dan@example.com", "{r}");
    let ok = login("imap", d.imaps, "dan@example.com", PW, HOME, "ssl");
    assert_eq!(
        seen("IMAPS from home after the dry run", &ok),
        "OK Logged in"
    );

    // Enforced: home is refused with the policy's text, the office is not.
    w.cli(
        &[
            "policies",
            "set",
            "org",
            "default",
            "--name",
            "office-only",
            "--allowlist",
            "61.135.1.0/24,10.8.0.0/16",
            "--comment",
            "office + VPN only",
        ],
        None,
    );
    let refused = login("imap", d.imaps, "dan@example.com", PW, HOME, "ssl");
    let reply = seen("IMAPS from home under the policy", &refused);
    assert!(
        reply.starts_with(
            "NO [AUTHORIZATIONFAILED] Access refused by policy 'office-only' (org default, v1): the address 113.88.1.10 is not on the allowlist."
        ),
        "{reply}"
    );
    let ok = login("imap", d.imaps, "eve@example.com", PW, OFFICE, "ssl");
    assert_eq!(
        seen("IMAPS from the office under the policy", &ok),
        "OK Logged in"
    );
    let diag = w.cli(&["diagnose", "dan@example.com"], None);
    println!("diagnose: {diag}");
    assert!(
        diag.contains("Access refused by policy 'office-only' (org default, v1)"),
        "{diag}"
    );
}

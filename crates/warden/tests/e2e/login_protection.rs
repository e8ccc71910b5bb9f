//! Login protection per account level with the real Dovecot: Warden
//! verifies the passwords (the Lua passdb); at `new_city` an IMAP login
//! from a city the user does not usually log in from fails with
//! `verification_required` until the user, signed in to webmail, confirms
//! that sign-in; then the same client is let in from there.

use serde_json::Value;

use super::dovecot_verify::{stack, Passdb, HOME};
use super::harness::{login, seen, KEY};

const BEIJING: &str = "61.135.1.10";
const USER: &str = "ivy@example.com";
const PASSWORD: &str = "quince-meadow-signal-37";

/// A call with the user's web session in `X-Warden-Session`.
fn as_session(
    url: &str,
    method: reqwest::Method,
    path: &str,
    session: &str,
) -> (reqwest::StatusCode, Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .request(method, format!("{url}{path}"))
            .bearer_auth(KEY)
            .header("X-Warden-Session", session)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    })
}

#[test]
fn an_imap_login_from_a_new_city_is_refused_until_the_user_confirms_it_in_webmail() {
    let s = stack(
        "protect",
        Passdb::Lua,
        &[("WARDEN_LOGIN__PROTECTION_LEVEL", "new_city")],
        false,
    );
    let w = &s.warden;
    let d = &s.dovecot;
    w.create_user(USER, PASSWORD);
    w.history_at_home(USER, HOME);

    // Beijing is a new region for Ivy; the right password is held back,
    // with a text saying what to do, again and again until confirmed.
    for i in 1..=2 {
        let refused = login("imap", d.imaps, USER, PASSWORD, BEIJING, "ssl");
        assert_eq!(
            seen(&format!("ivy from Beijing, try {i}"), &refused),
            "NO [ALERT] Unusual login (from Beijing, CN): sign in to webmail and confirm it was you, then try again."
        );
    }
    let event = w.event_once(USER, 2, |e| e["ip"] == BEIJING);
    assert_eq!(event["failure_reason"], "verification_required", "{event}");
    assert_eq!(
        event["decision"], "allow",
        "the engine alone would let it in: {event}"
    );

    // The helpdesk's diagnosis says what the user must do.
    let diagnosis = w.cli(&["diagnose", USER], None);
    println!("warden diagnose {USER}:\n{diagnosis}");
    assert!(
        diagnosis.contains("refused: verification required")
            && diagnosis.contains("Confirm the sign-in from Beijing in webmail"),
        "{diagnosis}"
    );

    // The helpdesk sees it too.
    let listed = w.cli(&["sign-ins", "list", USER], None);
    assert!(listed.contains("\"city\": \"Beijing\""), "{listed}");

    // Ivy signs in to webmail from home and sees the refused sign-in.
    let web = w.post(
        "/v1/auth/login",
        serde_json::json!({"user": USER, "password": PASSWORD, "ip": HOME}),
    );
    assert_eq!(web["status"], "ok", "{web}");
    let session = web["session_token"].as_str().unwrap();
    let (status, list) = as_session(
        &w.url(),
        reqwest::Method::GET,
        "/v1/auth/refused-sign-ins",
        session,
    );
    assert_eq!(status, 200, "{list}");
    let sign_ins = list["sign_ins"].as_array().unwrap();
    assert_eq!(sign_ins.len(), 1, "one per address and client: {list}");
    assert_eq!(
        (
            &sign_ins[0]["ip"],
            &sign_ins[0]["protocol"],
            &sign_ins[0]["city"]
        ),
        (
            &Value::from(BEIJING),
            &Value::from("imap"),
            &Value::from("Beijing")
        ),
        "{list}"
    );
    let id = sign_ins[0]["id"].as_i64().unwrap();
    let (status, confirmed) = as_session(
        &w.url(),
        reqwest::Method::POST,
        &format!("/v1/auth/refused-sign-ins/{id}/confirm"),
        session,
    );
    assert_eq!(status, 200, "{confirmed}");

    // Now the same client logs in from Beijing.
    let after = login("imap", d.imaps, USER, PASSWORD, BEIJING, "ssl");
    assert_eq!(seen("ivy from Beijing, confirmed", &after), "OK Logged in");
    let events = w.get(&format!("/v1/users/{USER}/security-events"));
    assert!(
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "sign_in_confirmed" && e["actor"] == "user"),
        "{events}"
    );
    let (status, list) = as_session(
        &w.url(),
        reqwest::Method::GET,
        "/v1/auth/refused-sign-ins",
        session,
    );
    assert_eq!(status, 200);
    assert_eq!(
        list["sign_ins"].as_array().unwrap().len(),
        0,
        "the client has logged in since: {list}"
    );
}

/// Dovecot keeps the passwords and asks Warden's policy: the after-password
/// check refuses the new city the same way, and the helpdesk confirms the
/// sign-in for the user (who has no Warden account to sign in with).
#[test]
fn dovecots_policy_refuses_a_new_city_until_the_helpdesk_confirms_it() {
    let s = super::dovecot_policy::stack(
        "protect-policy",
        &[("WARDEN_LOGIN__PROTECTION_LEVEL", "new_city")],
        &[(USER, PASSWORD)],
    );
    let w = &s.warden;
    let d = &s.dovecot;
    w.history_at_home(USER, HOME);
    let refused = login("imap", d.imaps, USER, PASSWORD, BEIJING, "ssl");
    assert_eq!(
        seen("ivy from Beijing through the policy", &refused),
        "NO [ALERT] Unusual login (from Beijing, CN): sign in to webmail and confirm it was you, then try again."
    );
    let event = w.event_once(USER, 1, |e| e["ip"] == BEIJING);
    assert_eq!(event["failure_reason"], "verification_required", "{event}");
    let list: Value = serde_json::from_str(&w.cli(&["sign-ins", "list", USER], None)).unwrap();
    let id = list["sign_ins"][0]["id"]
        .as_i64()
        .expect("a refused sign-in");
    let confirmed: Value =
        serde_json::from_str(&w.cli(&["sign-ins", "confirm", USER, &id.to_string()], None))
            .unwrap();
    assert_eq!(confirmed["city"], "Beijing", "{confirmed}");
    let after = login("imap", d.imaps, USER, PASSWORD, BEIJING, "ssl");
    assert_eq!(
        seen("ivy from Beijing, confirmed by the helpdesk", &after),
        "OK Logged in"
    );
}

//! The Dovecot policy endpoint spoken to directly, as Dovecot would, for
//! what the daemons' tests do not reach: SMTP AUTH's empty session id (the
//! two `allow` calls told apart by their identical bodies), the tarpit's
//! status, `passdb=warden`, the API key and bad requests.

use serde_json::{json, Value};

use super::harness::{temp_dir, Warden, KEY};

fn policy(w: &Warden, query: &str, key: &str, body: Value) -> (u16, Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{}/v1/dovecot/policy?{query}", w.url()))
            .header("X-API-Key", format!(" {key}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    })
}

fn smtp_body(user: &str, ip: &str, pwhash: &str) -> Value {
    json!({"login": user, "pwhash": pwhash, "remote": ip, "real_remote": "127.0.0.1",
           "device_id": "", "protocol": "smtp", "session_id": "", "tls": true})
}

fn report(body: &Value, success: bool, policy_reject: bool) -> Value {
    let mut b = body.clone();
    b["success"] = json!(success);
    b["policy_reject"] = json!(policy_reject);
    b
}

#[test]
fn smtp_without_session_ids_stale_passwords_and_passdb_warden() {
    let dir = temp_dir();
    let w = Warden::start(dir.path(), &[("WARDEN_LOGIN__PROTECTION", "true")]);
    w.history_at_home("jack@example.com", "113.88.1.10");

    // Jack's SMTP client abroad: the first allow (before the password)
    // goes on, the identical second one (after it) is refused.
    let abroad = smtp_body("jack@example.com", "105.112.1.1", "0a1");
    let (code, before) = policy(&w, "command=allow", KEY, abroad.clone());
    assert_eq!((code, &before["status"]), (200, &json!(0)), "{before}");
    let (_, after) = policy(&w, "command=allow", KEY, abroad.clone());
    println!("after-auth allow for SMTP from Lagos: {after}");
    assert_eq!(after["status"], -1);
    assert_eq!(
        after["msg"],
        "Unusual login (from Lagos, NG): sign in to webmail and confirm it was you, then try again."
    );
    let (code, _) = policy(&w, "command=report", KEY, report(&abroad, false, true));
    assert_eq!(code, 200);
    let event = w.last_event("jack@example.com");
    assert_eq!(event["failure_reason"], "verification_required", "{event}");
    assert_eq!(event["verify_reason"], "verification_required", "{event}");
    assert_eq!(event["protocol"], "smtp");

    // A stale password over SMTP: the second attempt with the same hash is
    // held back (status = seconds), a new hash is not.
    let stale = smtp_body("jack@example.com", "113.88.1.10", "5f3");
    policy(&w, "command=allow", KEY, stale.clone());
    policy(&w, "command=report", KEY, report(&stale, false, false));
    let (_, again) = policy(&w, "command=allow", KEY, stale.clone());
    println!("allow for a repeated wrong password: {again}");
    assert_eq!(again["status"], 1, "tarpit_secs is 1 in the tests: {again}");
    policy(&w, "command=report", KEY, report(&stale, false, false));
    let (_, other) = policy(
        &w,
        "command=allow",
        KEY,
        smtp_body("jack@example.com", "113.88.1.10", "123"),
    );
    assert_eq!(other["status"], 0);

    // TLS: Dovecot's `tls` is false for SASL clients; Postfix says
    // `secured` for an encrypted session only.
    let mut sasl = smtp_body("jack@example.com", "113.88.1.10", "");
    sasl["tls"] = json!(false);
    sasl["secured"] = json!("secured");
    let (_, over_tls) = policy(&w, "command=allow", KEY, sasl.clone());
    assert_eq!(over_tls["status"], 0, "{over_tls}");
    sasl["secured"] = json!("");
    sasl["login"] = json!("lee@example.com");
    let (_, plain) = policy(&w, "command=allow", KEY, sasl);
    println!("SMTP AUTH without TLS: {plain}");
    assert_eq!(plain["status"], -1);
    assert!(plain["msg"]
        .as_str()
        .unwrap()
        .starts_with("Plaintext connections are refused"));

    // With passdb=warden, Warden's verification recorded the attempt: the
    // report is acknowledged, not recorded again.
    let before = w.get("/v1/users/kim@example.com/history")["events"]
        .as_array()
        .unwrap()
        .len();
    let kim = smtp_body("kim@example.com", "113.88.1.10", "777");
    policy(&w, "passdb=warden&command=allow", KEY, kim.clone());
    let (code, ack) = policy(
        &w,
        "passdb=warden&command=report",
        KEY,
        report(&kim, true, false),
    );
    assert_eq!((code, &ack["status"]), (200, &json!(0)));
    let after = w.get("/v1/users/kim@example.com/history")["events"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after);

    // Dovecot's header value keeps the space after the colon; a wrong key,
    // an unknown command or a malformed address are errors Dovecot logs.
    assert_eq!(
        policy(&w, "command=allow", "wrong-key-0123456789", kim.clone()).0,
        401
    );
    assert_eq!(policy(&w, "command=maybe", KEY, kim.clone()).0, 400);
    let mut bad = kim.clone();
    bad["remote"] = json!("not an address");
    bad["real_remote"] = json!("");
    let (code, err) = policy(&w, "command=allow", KEY, bad);
    println!("a malformed address: {code} {err}");
    assert_eq!(code, 400);
}

#[test]
fn access_rules_refuse_before_the_password() {
    let dir = temp_dir();
    let w = Warden::start(
        dir.path(),
        &[
            ("WARDEN_POLICY__ACCESS__COUNTRIES", "CN"),
            ("WARDEN_POLICY__ACCESS__BLOCKLIST", "113.88.200.0/24"),
        ],
    );
    let body = |ip: &str| {
        json!({"login": "lin@example.com", "pwhash": "0b2", "remote": ip, "real_remote": "127.0.0.1",
               "device_id": "", "protocol": "imap", "session_id": format!("s-{ip}"), "tls": true})
    };
    let (_, lagos) = policy(&w, "command=allow", KEY, body("105.112.1.1"));
    println!("IMAP allow from Lagos outside the geo-fence: {lagos}");
    assert_eq!(lagos["status"], -1);
    assert_eq!(
        lagos["msg"],
        "[AUTHORIZATIONFAILED] Access refused: logins from Nigeria are not allowed. Contact your administrator if you need access from here."
    );
    let (_, blocked) = policy(&w, "command=allow", KEY, body("113.88.200.9"));
    println!("IMAP allow from a blocklisted network: {blocked}");
    assert_eq!(blocked["status"], -1);
    assert!(
        blocked["msg"]
            .as_str()
            .unwrap()
            .contains("113.88.200.0/24 is on the blocklist"),
        "{blocked}"
    );
    let (_, home) = policy(&w, "command=allow", KEY, body("113.88.1.10"));
    assert_eq!(home["status"], 0, "{home}");
}

#[test]
fn a_hostile_imap_id_or_session_id_never_turns_a_refusal_into_an_error() {
    // Dovecot lets a login through unchecked when the policy server fails
    // (auth_policy_reject_on_fail = no): an over-long or odd client ID must
    // be cut, not refused with 400.
    let dir = temp_dir();
    let w = Warden::start(dir.path(), &[("WARDEN_POLICY__ACCESS__COUNTRIES", "CN")]);
    // 200 kB: over the API's 64 KiB body limit.
    let huge_id = format!("\"name\" \"{}\"\r\n\"x\" \"\u{7}\"", "é".repeat(100_000));
    let body = json!({"login": "lin@example.com", "pwhash": "0b2".repeat(200),
        "remote": "105.112.1.1", "real_remote": "127.0.0.1", "device_id": huge_id,
        "protocol": "imap", "session_id": "s".repeat(10_000), "tls": true});
    let (code, before) = policy(&w, "command=allow", KEY, body.clone());
    assert_eq!(code, 200, "{before}");
    assert_eq!(
        before["status"], -1,
        "still refused by the geo-fence: {before}"
    );
    let (code, _) = policy(&w, "command=report", KEY, report(&body, false, true));
    assert_eq!(code, 200);
    let event = w.event_once("lin@example.com", 1, |_| true);
    let ua = event["user_agent"].as_str().unwrap_or_default();
    assert!(
        ua.len() <= 1024 && !ua.contains('\r') && !ua.contains('\u{7}'),
        "{ua}"
    );
    // A login name no account can have (over-long, control characters) is
    // refused, not an error; its report is acknowledged.
    for login in ["a".repeat(400), "kim\u{1}@example.com".to_string()] {
        let mut odd = body.clone();
        odd["login"] = json!(login);
        odd["remote"] = json!("113.88.1.10");
        let (code, answer) = policy(&w, "command=allow", KEY, odd.clone());
        assert_eq!(code, 200, "{answer}");
        assert_eq!(answer["status"], -1, "{answer}");
        assert_eq!(
            answer["msg"],
            "[AUTHENTICATIONFAILED] Wrong user name or password."
        );
        let (code, _) = policy(&w, "command=report", KEY, report(&odd, false, true));
        assert_eq!(code, 200);
    }
    // Dovecot's translated name (`user=%{user}`) is the one Warden keys on.
    let mut translated = body.clone();
    translated["login"] = json!("lin");
    translated["user"] = json!("Lin@Example.com");
    translated["session_id"] = json!("s-translated");
    policy(&w, "command=allow", KEY, translated.clone());
    policy(&w, "command=report", KEY, report(&translated, false, true));
    w.event_once("lin@example.com", 2, |_| true);
}

//! Access policies over the real HTTP server: a dry run reports what an
//! organisation's allowlist would refuse and refuses nothing; enforced, it
//! refuses an outside address with the policy's name, scope and version
//! at every entry point; report-only publishes without refusing; versions,
//! history and restore; a group's policy turns login protection on for its
//! members only; bad input is a 400 naming the field and changes nothing.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::Harness;

const PW: &str = "correct horse battery staple";
/// Outside the office (Shenzhen, a home broadband line).
const HOME: &str = "113.88.1.10";
/// The office (the organisation's range in the fixture).
const OFFICE: &str = "61.135.1.20";
const LAGOS: &str = "105.112.7.7";

impl Harness {
    /// An organisation with two users who log in from home (alice) and
    /// the office (bob) for twelve days, and a user of another one.
    async fn office_org(&self) {
        let (s, b) = self.post("/v1/orgs", json!({"name": "example"})).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let (s, b) = self.post("/v1/orgs", json!({"name": "other"})).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        for (user, org) in [
            ("alice@example.com", "example"),
            ("bob@example.com", "example"),
            ("carol@other.org", "other"),
        ] {
            let (s, b) = self
                .post(
                    "/v1/users",
                    json!({"user": user, "password": PW, "org": org}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{b}");
        }
        for _ in 0..12 {
            for (user, ip) in [
                ("alice@example.com", HOME),
                ("bob@example.com", OFFICE),
                ("carol@other.org", HOME),
            ] {
                let b = self.mail_login(user, ip).await;
                assert_eq!(b["result"], "ok", "{b}");
            }
            self.advance(86_400);
        }
    }

    async fn mail_login(&self, user: &str, ip: &str) -> Value {
        let (s, b) = self
            .post(
                "/v1/auth/verify",
                json!({"user": user, "password": PW, "protocol": "imap", "ip": ip, "tls": true}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b
    }

    async fn put_policy(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }
}

fn office_only(mode: &str) -> Value {
    json!({"name": "office-only", "mode": mode,
           "rules": {"allowlist": ["61.135.1.0/24", "10.8.0.0/16"]},
           "comment": "office + VPN"})
}

#[tokio::test]
async fn an_allowlist_refuses_outside_addresses_with_its_reason_after_a_dry_run_that_refused_nothing(
) {
    let h = Harness::start().await;
    h.office_org().await;

    // The dry run: alice's twelve logins from home would have been
    // refused, bob's from the office not, carol's (another organisation)
    // are not covered.
    let (s, r) = h
        .post(
            "/v1/policies/org/example/dry-run",
            json!({"days": 30, "policy": office_only("enforce")}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["scanned"], 36, "{r}");
    assert_eq!(r["covered"], 24, "{r}");
    assert_eq!(r["refused"], 12, "{r}");
    assert_eq!(r["refused_successes"], 12, "{r}");
    assert_eq!(r["users"], 1, "{r}");
    assert_eq!(r["by_rule"], json!({"allowlist": 12}), "{r}");
    assert_eq!(r["truncated"], false, "{r}");
    let ex = &r["examples"][0];
    assert_eq!(ex["user"], "alice@example.com", "{r}");
    assert_eq!(ex["ip"], HOME, "{r}");
    assert_eq!(ex["location"]["city"], "Shenzhen", "{r}");
    assert_eq!(
        ex["reason"],
        "Access refused by policy 'office-only' (org example, v1): the address 113.88.1.10 is not on the allowlist",
        "{r}"
    );
    assert!(ex["reason_zh"].as_str().unwrap().contains("白名单"), "{r}");
    // A shorter window sees fewer logins.
    let (_, r2) = h
        .post(
            "/v1/policies/org/example/dry-run",
            json!({"days": 3, "policy": office_only("enforce")}),
        )
        .await;
    assert_eq!(r2["refused"], 3, "{r2}");
    // The dry run changed nothing: no policy, alice still logs in.
    let (_, list) = h.get("/v1/policies").await;
    assert_eq!(list["policies"], json!([]), "{list}");
    assert_eq!(
        h.mail_login("alice@example.com", HOME).await["result"],
        "ok"
    );

    // Enforced.
    let (s, v) = h
        .put_policy("/v1/policies/org/example", office_only("enforce"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (&v["version"], &v["actor"], &v["mode"], &v["comment"]),
        (
            &json!(1),
            &json!("admin"),
            &json!("enforce"),
            &json!("office + VPN")
        ),
        "{v}"
    );
    let b = h.mail_login("alice@example.com", HOME).await;
    assert_eq!(b["result"], "fail", "{b}");
    assert_eq!(b["reason"], "access_denied", "{b}");
    let msg = b["message"].as_str().unwrap();
    assert!(
        msg.contains("policy 'office-only' (org example, v1): the address 113.88.1.10 is not on the allowlist"),
        "{b}"
    );
    // Before the password too: a wrong one gets the same refusal.
    let (_, w) = h
        .post(
            "/v1/auth/verify",
            json!({"user": "alice@example.com", "password": "wrong", "protocol": "imap", "ip": HOME, "tls": true}),
        )
        .await;
    assert_eq!(w["reason"], "access_denied", "{w}");
    // The evaluation route and Dovecot's policy say the same.
    let (_, e) = h.evaluate("alice@example.com", HOME, "imap").await;
    assert_eq!(e["decision"], "deny", "{e}");
    assert!(
        super::codes(&e).contains(&"access_denied".to_string()),
        "{e}"
    );
    let (s, d) = h
        .post(
            "/v1/dovecot/policy?command=allow",
            json!({"login": "alice@example.com", "remote": HOME, "real_remote": "127.0.0.1",
                   "protocol": "imap", "session_id": "p1", "pwhash": "abc", "tls": true}),
        )
        .await;
    assert_eq!((s, &d["status"]), (StatusCode::OK, &json!(-1)), "{d}");
    assert!(d["msg"].as_str().unwrap().contains("office-only"), "{d}");
    // The helpdesk's diagnosis names the policy.
    let (_, diag) = h.get("/v1/users/alice@example.com/diagnose").await;
    let findings = diag["findings"].as_array().unwrap();
    let f = findings
        .iter()
        .find(|f| f["reason"] == "access_policy")
        .unwrap_or_else(|| panic!("{diag}"));
    assert!(
        f["explanation"].as_str().unwrap().starts_with(
            "Access refused by policy 'office-only' (org example, v1): the address 113.88.1.10 is not on the allowlist; refused "
        ),
        "{f}"
    );
    assert!(f["failures"].as_u64().unwrap() >= 2, "{f}");
    assert!(
        !findings.iter().any(|f| f["reason"] == "access_denied"),
        "explained by the policy: {diag}"
    );
    // The office passes; another organisation is not covered.
    assert_eq!(
        h.mail_login("bob@example.com", OFFICE).await["result"],
        "ok"
    );
    assert_eq!(h.mail_login("carol@other.org", HOME).await["result"], "ok");
    // The effective policy names its source.
    let (_, p) = h.get("/v1/users/alice@example.com/policy").await;
    assert_eq!(p["org"], "example", "{p}");
    assert_eq!(p["rules"][0]["rule"], "allowlist", "{p}");
    assert_eq!(p["rules"][0]["source"]["version"], 1, "{p}");

    // A new version, then the first restored: three versions, newest first.
    let (s, v2) = h
        .put_policy(
            "/v1/policies/org/example",
            json!({"name": "office-and-home", "rules": {"allowlist": ["61.135.1.0/24", "113.88.0.0/16"]}}),
        )
        .await;
    assert_eq!((s, &v2["version"]), (StatusCode::OK, &json!(2)), "{v2}");
    assert_eq!(
        h.mail_login("alice@example.com", HOME).await["result"],
        "ok"
    );
    let (s, v3) = h
        .post(
            "/v1/policies/org/example/restore",
            json!({"version": 1, "comment": "home office ended"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v3}");
    assert_eq!(
        (&v3["version"], &v3["restored_from"]),
        (&json!(3), &json!(1))
    );
    let b = h.mail_login("alice@example.com", HOME).await;
    assert!(
        b["message"].as_str().unwrap().contains("(org example, v3)"),
        "{b}"
    );
    let (_, hist) = h.get("/v1/policies/org/example/history").await;
    let versions: Vec<(i64, &str)> = hist["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version"].as_i64().unwrap(), v["name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        versions,
        [
            (3, "office-only"),
            (2, "office-and-home"),
            (1, "office-only")
        ]
    );
    // Removed: a fourth version; alice is back.
    let (s, r) = h
        .call(
            Method::DELETE,
            "/v1/policies/org/example?comment=done",
            None,
        )
        .await;
    assert_eq!((s, &r["removed"]), (StatusCode::OK, &json!(true)), "{r}");
    assert_eq!(
        h.mail_login("alice@example.com", HOME).await["result"],
        "ok"
    );
    let (s, _) = h.get("/v1/policies/org/example").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = h
        .call(Method::DELETE, "/v1/policies/org/example", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn report_only_publishes_what_it_would_refuse_and_refuses_nothing() {
    let h = Harness::start().await;
    h.office_org().await;
    let (s, v) = h
        .put_policy("/v1/policies/org/example", office_only("report_only"))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let b = h.mail_login("alice@example.com", HOME).await;
    assert_eq!(b["result"], "ok", "{b}");
    let (_, e) = h.evaluate("alice@example.com", HOME, "imap").await;
    assert_ne!(e["decision"], "deny", "{e}");
    let metrics = h.text("/metrics").await;
    let line = metrics
        .lines()
        .find(|l| l.starts_with("warden_policy_would_refuse_total{scope=\"org\"}"))
        .unwrap_or_else(|| panic!("no would-refuse metric in\n{metrics}"));
    let n: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n >= 2.0, "{line}");
    // The office is not reported.
    assert_eq!(
        h.mail_login("bob@example.com", OFFICE).await["result"],
        "ok"
    );
    let after = h.text("/metrics").await;
    assert!(after.contains(line), "bob was not reported:\n{after}");
    // Mode off: stored, not applied, and the dry run still judges it.
    let (s, _) = h
        .put_policy("/v1/policies/org/example", office_only("off"))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, r) = h
        .post("/v1/policies/org/example/dry-run", json!({"days": 5}))
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert!(r["refused"].as_u64().unwrap() >= 5, "{r}");
}

#[tokio::test]
async fn a_group_policy_turns_login_protection_on_for_its_members_only() {
    let h = Harness::start().await;
    h.office_org().await;
    let (s, g) = h
        .call(
            Method::PUT,
            "/v1/users/Alice@Example.com/groups",
            Some(json!({"groups": ["Finance", "finance", "vpn-users"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{g}");
    assert_eq!(
        g,
        json!({"user": "alice@example.com", "groups": ["finance", "vpn-users"]})
    );
    let (s, v) = h
        .put_policy(
            "/v1/policies/group/finance",
            json!({"name": "finance-protected", "rules": {"login_protection": "challenged"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, p) = h.get("/v1/users/alice@example.com/policy").await;
    assert_eq!(p["login_protection"], "challenged", "{p}");
    assert_eq!(p["groups"], json!(["finance", "vpn-users"]), "{p}");
    assert_eq!(p["layers"][0]["name"], "finance-protected", "{p}");
    let (_, p) = h.get("/v1/users/bob@example.com/policy").await;
    assert_eq!(p["login_protection"], "off", "{p}");
    // A first login from Lagos: alice's mail client must be confirmed,
    // bob's gets in with an alert.
    h.advance(3 * 86_400);
    let b = h.mail_login("alice@example.com", LAGOS).await;
    assert_eq!(b["reason"], "verification_required", "{b}");
    let b = h.mail_login("bob@example.com", LAGOS).await;
    assert_eq!(b["result"], "ok", "{b}");
    // The groups as admins see them.
    let (_, gs) = h.get("/v1/groups").await;
    assert_eq!(
        gs["groups"],
        json!([{"name": "finance", "members": 1, "policy": "finance-protected"},
               {"name": "vpn-users", "members": 1, "policy": null}])
    );
    let (_, f) = h.get("/v1/groups/finance").await;
    assert_eq!(f["members"], json!(["alice@example.com"]), "{f}");
    // Out of the group: protection off again.
    let (s, _) = h
        .call(
            Method::PUT,
            "/v1/users/alice@example.com/groups",
            Some(json!({"groups": []})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, p) = h.get("/v1/users/alice@example.com/policy").await;
    assert_eq!(p["login_protection"], "off", "{p}");
    let (s, _) = h.get("/v1/groups/vpn-users").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_policies_are_a_clear_400_that_change_nothing() {
    let h = Harness::start().await;
    h.office_org().await;
    let bad = [
        (
            json!({"name": "x", "rules": {"allowlist": ["10.0.0.0/33"]}}),
            "rules.allowlist",
        ),
        (
            json!({"name": "x", "rules": {"allowlist": ["office"]}}),
            "rules.allowlist",
        ),
        (
            json!({"name": "x", "rules": {"geo_allow": ["XX"]}}),
            "rules.geo_allow",
        ),
        (
            json!({"name": "x", "rules": {"geo_block": ["China"]}}),
            "rules.geo_block",
        ),
        (
            json!({"name": "x", "rules": {"protocols": ["gopher"]}}),
            "rules.protocols",
        ),
        (
            json!({"name": "x", "rules": {"protocols": []}}),
            "protocols",
        ),
        (
            json!({"name": "x", "rules": {"login_protection": "sometimes"}}),
            "rules.login_protection",
        ),
        (
            json!({"name": "x", "rules": {"hours": {"days": "mon-fri", "span": "8-19", "utc_offset_minutes": 480}}}),
            "rules.hours",
        ),
        (
            json!({"name": "x", "rules": {"step_up_minutes": 5000}}),
            "step_up_minutes",
        ),
        (json!({"name": "x", "mode": "loud", "rules": {}}), "mode"),
        (json!({"name": "", "rules": {}}), "name"),
        (
            json!({"name": "x", "rules": {"allowlists": ["10.0.0.0/8"]}}),
            "allowlists",
        ),
    ];
    for (body, field) in bad {
        let (s, e) = h.put_policy("/v1/policies/org/example", body.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body} -> {e}");
        let m = e["error"]["message"].as_str().unwrap();
        assert!(m.contains(field), "{body}: {m}");
        let (s, e) = h
            .post(
                "/v1/policies/org/example/dry-run",
                json!({"days": 7, "policy": body}),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    }
    for (path, status) in [
        ("/v1/policies/team/example", StatusCode::BAD_REQUEST),
        ("/v1/policies/org/nowhere", StatusCode::NOT_FOUND),
        ("/v1/policies/group/bad%20name", StatusCode::BAD_REQUEST),
    ] {
        let (s, e) = h.put_policy(path, office_only("enforce")).await;
        assert_eq!(s, status, "{path}: {e}");
    }
    let (s, e) = h
        .post("/v1/policies/org/example/dry-run", json!({"days": 0}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let (s, e) = h
        .post("/v1/policies/org/example/dry-run", json!({"days": 7}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "no stored policy: {e}");
    let (s, e) = h
        .post("/v1/policies/org/example/restore", json!({"version": 1}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    let (s, e) = h
        .call(
            Method::PUT,
            "/v1/users/alice@example.com/groups",
            Some(json!({"groups": ["ok", "not ok"]})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    // Nothing changed.
    let (_, list) = h.get("/v1/policies").await;
    assert_eq!(list["policies"], json!([]), "{list}");
    let (_, hist) = h.get("/v1/policies/org/example/history").await;
    assert_eq!(hist["versions"], json!([]), "{hist}");
    let (_, gs) = h.get("/v1/groups").await;
    assert_eq!(gs["groups"], json!([]), "{gs}");
    assert_eq!(
        h.mail_login("alice@example.com", HOME).await["result"],
        "ok"
    );
}

//! Hostile values in Dovecot's policy requests, over HTTP: whatever a
//! client puts in the fields Dovecot passes on (its IMAP ID, its login
//! name, a session id from a proxy, odd attributes, bytes that are not
//! UTF-8, a large body), an address under lockout is still refused (`-1`,
//! one clean line) and the attempt's report is still counted. An error
//! instead would make Dovecot (`auth_policy_reject_on_fail = no`) let the
//! login through unchecked.

use reqwest::StatusCode;
use serde_json::{json, Value};
use warden_core::text::is_hidden;

use super::{codes, Harness, KEY};

fn body(login: &str, ip: &str, session: &str, pwhash: &str) -> Value {
    json!({"login": login, "remote": ip, "real_remote": "127.0.0.1", "protocol": "imap",
           "device_id": "\"name\" \"Thunderbird\"", "session_id": session, "pwhash": pwhash,
           "tls": true})
}

impl Harness {
    async fn dovecot(&self, command: &str, body: &Value) -> (StatusCode, Value) {
        self.post(
            &format!("/v1/dovecot/policy?command={command}"),
            body.clone(),
        )
        .await
    }

    /// Dovecot's report of a failed login (`policy_reject` when Warden
    /// refused it).
    async fn dovecot_failed(&self, body: &Value, policy_reject: bool) {
        let mut b = body.clone();
        b["success"] = json!(false);
        b["policy_reject"] = json!(policy_reject);
        let (s, v) = self.dovecot("report", &b).await;
        assert_eq!((s, &v["status"]), (StatusCode::OK, &json!(0)), "{v}");
    }

    async fn events(&self, user: &str) -> usize {
        let (_, h) = self
            .get(&format!("/v1/users/{user}/history?limit=1000"))
            .await;
        h["events"].as_array().map_or(0, Vec::len)
    }
}

/// A refusal as Dovecot must get it: HTTP 200, status -1, one clean line.
fn assert_refused(what: &str, s: StatusCode, v: &Value) {
    assert_eq!(s, StatusCode::OK, "{what}: {v}");
    assert_eq!(v["status"], -1, "{what}: {v}");
    let msg = v["msg"].as_str().unwrap();
    assert!(
        !msg.is_empty() && !msg.chars().any(is_hidden),
        "{what}: {msg:?}"
    );
}

#[tokio::test]
async fn an_address_under_lockout_is_refused_and_counted_whatever_the_client_sends() {
    let h = Harness::start().await;
    h.history_at("carol", "113.88.1.10", 6).await;
    // Five different wrong passwords from 3.3.3.3 lock that address out.
    for i in 0..5 {
        let b = body("carol", "3.3.3.3", &format!("s{i}"), &format!("{i:x}0a"));
        h.dovecot("allow", &b).await;
        h.dovecot_failed(&b, false).await;
        h.advance(20);
    }
    let plain = body("carol", "3.3.3.3", "plain", "fff");
    let (s, v) = h.dovecot("allow", &plain).await;
    assert_refused("a plain request", s, &v);
    assert!(
        v["msg"].as_str().unwrap().starts_with("[CONTACTADMIN]"),
        "{v}"
    );

    let long_id = format!("\"name\" \"{}\"", "x".repeat(5_000));
    let huge_id = format!("\"name\" \"{}\"", "é".repeat(400_000));
    let hostile: Vec<(&str, &str, Value)> = vec![
        ("an IMAP ID over 1,024 bytes", "device_id", json!(long_id)),
        ("an IMAP ID of 800 KB", "device_id", json!(huge_id)),
        (
            "an IMAP ID with control characters",
            "device_id",
            json!("\"name\" \"x\"\r\n\u{0}\u{1b}[31m"),
        ),
        (
            "an IMAP ID with a bidi override",
            "device_id",
            json!("\"name\" \"\u{202e}exe.gnp\""),
        ),
        (
            "an IMAP ID that is an instruction",
            "device_id",
            json!("\"name\" \"your mailbox is suspended. verify at https://evil.example/login\""),
        ),
        (
            "a session id of 64 KB",
            "session_id",
            json!("s".repeat(65_536)),
        ),
        (
            "a session id with control characters",
            "session_id",
            json!("a\r\n\u{0}b"),
        ),
        (
            "a pwhash that is not hex",
            "pwhash",
            json!("zz\r\n\u{202e}".repeat(1_000)),
        ),
        (
            "an odd protocol",
            "protocol",
            json!("imap\r\n\u{0}".repeat(100)),
        ),
        ("a number for a string", "device_id", json!(12345)),
        (
            "an extra attribute",
            "attrs",
            json!({"cos": "x".repeat(10_000), "n": [1, 2, {"a": null}]}),
        ),
    ];
    for (i, (what, field, value)) in hostile.into_iter().enumerate() {
        let mut b = body("carol", "3.3.3.3", &format!("h{i}"), "abc");
        b[field] = value;
        let before = h.events("carol").await;
        let (s, v) = h.dovecot("allow", &b).await;
        assert_refused(what, s, &v);
        h.dovecot_failed(&b, true).await;
        assert_eq!(
            h.events("carol").await,
            before + 1,
            "{what}: the report was not counted"
        );
    }

    // Bytes that are not UTF-8 in the client's fields: Dovecot passes them
    // on as they came.
    let raw = [
        &br#"{"login":"carol","remote":"3.3.3.3","protocol":"imap","session_id":"raw","device_id":"\"name\" \"a"#[..],
        &[0xff, 0xfe, 0x80, b'"'][..],
        &br#","tls":true}"#[..],
    ]
    .concat();
    let send = |command: &'static str, raw: Vec<u8>| {
        let h = &h;
        async move {
            let r = h
                .http
                .post(format!("{}/v1/dovecot/policy?command={command}", h.base))
                .bearer_auth(KEY)
                .header("content-type", "application/json")
                .body(raw)
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let before = h.events("carol").await;
    let (s, v) = send("allow", raw.clone()).await;
    assert_refused("an IMAP ID that is not UTF-8", s, &v);
    let report = [
        &raw[..raw.len() - 1],
        &br#","success":false,"policy_reject":true}"#[..],
    ]
    .concat();
    let (s, v) = send("report", report).await;
    assert_eq!((s, &v["status"]), (StatusCode::OK, &json!(0)), "{v}");
    assert_eq!(h.events("carol").await, before + 1);

    // Carol from home still gets in.
    let (s, v) = h
        .dovecot("allow", &body("carol", "113.88.1.10", "home", ""))
        .await;
    assert_eq!((s, &v["status"]), (StatusCode::OK, &json!(0)), "{v}");
}

#[tokio::test]
async fn login_names_no_account_can_have_are_refused_and_still_count_from_their_address() {
    let h = Harness::start().await;
    h.history_at("dave", "113.88.1.10", 6).await;
    let names = [
        "x".repeat(400),
        "bob\u{202e}moc.elpmaxe@".to_string(),
        "a\r\nb".to_string(),
        "zero\u{200b}width".to_string(),
        "\u{0}".to_string(),
        "y".repeat(100_000),
    ];
    // Ten distinct hostile names failing from one address: a spraying
    // source, as ten real names would be.
    for i in 0..10 {
        let name = format!("{}{i}", names[i % names.len()]);
        let b = body(&name, "9.9.9.9", &format!("n{i}"), "abc");
        let (s, v) = h.dovecot("allow", &b).await;
        assert_refused(&format!("login {:?}", &name[..name.len().min(20)]), s, &v);
        h.dovecot_failed(&b, false).await;
    }
    let (_, v) = h.evaluate("dave", "9.9.9.9", "imap").await;
    assert!(codes(&v).contains(&"password_spraying".to_string()), "{v}");
}

/// A connection to the Postfix policy server, speaking its protocol.
struct PolicyClient {
    reader: tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl PolicyClient {
    async fn connect(h: &Harness) -> PolicyClient {
        use std::sync::Arc;
        use warden_api::mail::postfix;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let policy = Arc::new(postfix::Policy {
            service: h.state.service.clone(),
            settings: postfix::PostfixSettings::default(),
        });
        tokio::spawn(postfix::serve(listener, policy));
        let (r, w) = tokio::net::TcpStream::connect(addr)
            .await
            .unwrap()
            .into_split();
        PolicyClient {
            reader: tokio::io::BufReader::new(r),
            writer: w,
        }
    }

    /// One RCPT request; the action.
    async fn rcpt(&mut self, user: &str, ip: &str, instance: &str, rcpt: &str) -> String {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
        let req = format!(
            "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n\
             client_address={ip}\nsasl_method=PLAIN\nsasl_username={user}\n\
             instance={instance}\nrecipient={rcpt}\nsender={user}\n\n"
        );
        self.writer.write_all(req.as_bytes()).await.unwrap();
        let mut action = String::new();
        self.reader.read_line(&mut action).await.unwrap();
        let mut blank = String::new();
        self.reader.read_line(&mut blank).await.unwrap();
        assert_eq!(blank, "\n");
        action
            .trim_end()
            .strip_prefix("action=")
            .unwrap()
            .to_string()
    }
}

#[tokio::test]
async fn forged_postfix_requests_cannot_defer_an_account_nor_read_its_lock_reason() {
    let h = Harness::start().await;
    let mut p = PolicyClient::connect(&h).await;
    // Ruth logs in over SMTP from her office (Dovecot's policy reports it).
    let mut login = body("ruth", "113.88.1.10", "", "");
    login["protocol"] = json!("smtp");
    login["success"] = json!(true);
    login["policy_reject"] = json!(false);
    let (s, v) = h.dovecot("report", &login).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // Someone who reaches the port claims 150 recipients for Ruth from
    // elsewhere: only that made-up (account, address) pair is deferred.
    let mut forged = Vec::new();
    for i in 0..150 {
        forged.push(
            p.rcpt(
                "ruth",
                "203.0.113.9",
                &format!("F{i}"),
                &format!("x{i}@spam.test"),
            )
            .await,
        );
    }
    assert_eq!(forged[0], "DUNNO");
    assert!(
        forged[149].starts_with("DEFER_IF_PERMIT 4.7.1 "),
        "{}",
        forged[149]
    );
    assert!(!forged[149].contains("ruth"), "{}", forged[149]);
    // Ruth's own mail from her office still goes: the forgeries did not
    // count against her account.
    assert_eq!(
        p.rcpt("ruth", "113.88.1.10", "R1", "boss@example.com")
            .await,
        "DUNNO"
    );
    // Postfix asking about one recipient of one mail again and again
    // counts it once.
    for _ in 0..150 {
        assert_eq!(
            p.rcpt("ruth", "113.88.1.10", "R2", "team@example.com")
                .await,
            "DUNNO"
        );
    }
    // Her own burst is deferred as before: 100 recipients an hour at least.
    let mut own = Vec::new();
    for i in 0..100 {
        own.push(
            p.rcpt("ruth", "113.88.1.10", "R3", &format!("r{i}@elsewhere.test"))
                .await,
        );
    }
    assert_eq!(own[97], "DUNNO");
    assert!(own[98].starts_with("DEFER_IF_PERMIT 4.7.1 "), "{}", own[98]);

    // The admin's note on a locked account stays with the admins.
    let (s, b) = h.post("/v1/users", json!({"user": "kim"})).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = h
        .post(
            "/v1/users/kim/lock",
            json!({"reason": "compromised - phished via fake VPN page, ticket INC-4711"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let action = p.rcpt("kim", "198.51.100.7", "K1", "a@b.test").await;
    assert_eq!(
        action,
        "REJECT 5.7.1 Sending refused: this account is locked; contact your administrator"
    );
    // Made-up names add bounded state.
    for i in 0..2_000 {
        p.rcpt(&format!("nobody{i}"), "203.0.113.9", "N", "a@b.test")
            .await;
    }
    let stats = h.state.short.stats();
    assert!(
        stats.senders <= 2_100 && stats.sender_bytes < 2_100 * 1_024,
        "{stats:?}"
    );
}

#[tokio::test]
async fn geo_corrections_with_hidden_characters_are_refused_and_change_nothing() {
    let h = Harness::start().await;
    for city in [
        "Lagos\r\n* BYE injected",
        "Lagos\u{0}",
        "\u{202e}sogaL",
        "zero\u{200b}width",
    ] {
        let (s, b) = h
            .post(
                "/v1/geo/corrections",
                json!({"network": "105.112.0.0/16", "country": "NG", "city": city}),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{city:?}: {b}");
        assert!(
            b["error"]["message"].as_str().unwrap().contains("city"),
            "{b}"
        );
    }
    let (s, b) = h
        .post(
            "/v1/geo/corrections",
            json!({"network": "105.112.0.0/16", "country": "NG", "city": "x".repeat(101)}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (_, all) = h.get("/v1/geo/corrections").await;
    assert_eq!(all["corrections"], json!([]), "{all}");
    // A clean one is stored and used.
    let (s, b) = h
        .post(
            "/v1/geo/corrections",
            json!({"network": "105.112.0.0/16", "country": "NG", "city": "Lagos"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

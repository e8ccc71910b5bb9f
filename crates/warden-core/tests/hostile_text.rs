//! Hostile text: whatever a client or an admin puts in a device id, a user
//! agent or IMAP ID, or a place name, no text Warden produces from it holds
//! a hidden character (control, line break, bidirectional override,
//! zero-width...), and a client's self-chosen name is one word.

use proptest::prelude::*;
use warden_core::client::{classify, describe};
use warden_core::text::{is_hidden, one_line, program_name, quoted, MAX_PROGRAM_CHARS};
use warden_core::verify::named_place;
use warden_core::{
    Assessment, Country, Decision, Evidence, Lang, Level, Location, LoginAttempt, Protocol, Reason,
    ReasonCode, Timestamp, Verdict, VerifyReason,
};

/// Characters attackers use, mixed with any character at all.
fn hostile_char() -> impl Strategy<Value = char> {
    prop_oneof![
        any::<char>(),
        prop::sample::select(vec![
            '\0',
            '\r',
            '\n',
            '\t',
            '\u{1b}',
            '\u{7f}',
            '\u{85}',
            '\u{200b}',
            '\u{200e}',
            '\u{202a}',
            '\u{202e}',
            '\u{2066}',
            '\u{2069}',
            '\u{2028}',
            '\u{feff}',
            '\u{e0041}',
            '"',
            '<',
            '>',
            '/',
            ':',
            '.',
            ' ',
            '(',
            ')',
            '*',
            'a',
            'Z',
            '7',
            '中',
        ]),
    ]
}

fn hostile() -> impl Strategy<Value = String> {
    prop::collection::vec(hostile_char(), 0..300).prop_map(|v| v.into_iter().collect())
}

fn clean(s: &str) -> bool {
    !s.chars().any(is_hidden)
}

fn place(name: &str) -> Location {
    Location {
        country: Some(Country::new("NG").unwrap()),
        region: Some(name.into()),
        city: Some(name.into()),
        city_zh: Some(name.into()),
        ..Location::default()
    }
}

fn texts(r: &Reason) -> [String; 2] {
    [r.text(Lang::En, 480), r.text(Lang::Zh, 480)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn reason_texts_hold_no_hidden_characters(s in hostile()) {
        let ua_client = classify(&s).name;
        prop_assert!(clean(&ua_client), "{:?}", ua_client);
        let evidences = [
            Evidence::Device { device: s.as_str().into() },
            Evidence::Client { client: ua_client, automated: false },
            Evidence::UnusualPlace { place: place(&s), usual: vec![place(&s)], distance_km: Some(1.0) },
            Evidence::Travel { from: place(&s), to: place(&s), distance_km: 1.0, minutes: 1.0, speed_kmh: 1.0 },
            Evidence::Concurrent { other: place(&s), distance_km: 1.0, minutes_ago: 1.0 },
            Evidence::Datacenter { asn: Some(1), organisation: Some(s.as_str().into()) },
            Evidence::KnownOrgIp { range: Some(s.as_str().into()), colleagues: 0 },
        ];
        for evidence in evidences {
            let r = Reason { code: ReasonCode::NewDevice, weight: 0.1, alert: false, evidence };
            for t in texts(&r) {
                prop_assert!(clean(&t), "{:?}", t);
            }
        }
    }

    #[test]
    fn client_names_are_one_clean_word(s in hostile()) {
        let wrapped = format!("(\"name\" \"{s}\" \"version\" \"{s}\")");
        for input in [s.as_str(), wrapped.as_str()] {
            let c = classify(input);
            prop_assert!(clean(&c.name) && !c.name.contains(['"', '<', '>', '/', ':']), "{:?}", c.name);
            if let Some(d) = describe(input) {
                prop_assert!(clean(&d), "{:?}", d);
                prop_assert!(!d.contains(['"', '<', '>', '/', ':']), "{:?}", d);
                prop_assert!(d.chars().count() <= MAX_PROGRAM_CHARS + 1 + 24 || d.contains(" on "), "{:?}", d);
            }
        }
        if let Some(n) = program_name(&s) {
            prop_assert!(clean(&n) && !n.contains(' ') && n.chars().count() <= MAX_PROGRAM_CHARS);
        }
    }

    #[test]
    fn one_line_and_quoted_are_clean_and_bounded(s in hostile(), max in 0usize..80) {
        let l = one_line(&s, max);
        prop_assert!(clean(&l) && l.chars().count() <= max, "{:?}", l);
        prop_assert!(!l.starts_with(' ') && !l.ends_with(' '));
        let q = quoted(&s, max);
        prop_assert!(clean(&q) && !q[1..q.len() - 1].contains(['"', '<', '>']), "{:?}", q);
    }

    #[test]
    fn attempts_keep_no_hidden_characters_and_messages_name_clean_places(s in hostile()) {
        // The edge: a control character is refused, formatting characters
        // are dropped from device ids and user agents.
        if let Ok(a) = LoginAttempt::new(Timestamp(0), "kim", "1.2.3.4".parse().unwrap(), Protocol::Imap, Some(&s), Some(&s)) {
            prop_assert!(a.device.as_deref().is_none_or(clean));
            prop_assert!(a.user_agent.as_deref().is_none_or(clean));
        }
        // A refusal naming a place an admin wrote (a geo correction).
        let assessment = Assessment {
            decision: Decision::Challenge,
            risk: 0.5,
            level: Level::Medium,
            alert: true,
            reasons: vec![Reason {
                code: ReasonCode::UnusualCountry,
                weight: 0.5,
                alert: true,
                evidence: Evidence::UnusualPlace { place: place(&s), usual: vec![], distance_km: None },
            }],
        };
        let v = Verdict {
            reason: Some(VerifyReason::VerificationRequired),
            detail: warden_core::verify::Detail { place: named_place(&assessment), ..Default::default() },
        };
        for lang in Lang::ALL {
            let m = v.message(lang, 480).unwrap();
            prop_assert!(clean(&m), "{:?}", m);
        }
    }
}

#[test]
fn the_reported_texts_are_neutral() {
    let name = "your mailbox is suspended. verify at https://evil.example/login";
    let c = classify(&format!("(\"name\" \"{name}\")"));
    let r = Reason {
        code: ReasonCode::NewClient,
        weight: 0.1,
        alert: false,
        evidence: Evidence::Client {
            client: c.name,
            automated: false,
        },
    };
    assert_eq!(r.text(Lang::En, 480), "New client program: your");
    let r = Reason {
        code: ReasonCode::NewDevice,
        weight: 0.1,
        alert: false,
        evidence: Evidence::Device {
            device: "<img src=x onerror=alert(1)>\u{202e}txt.exe".into(),
        },
    };
    assert_eq!(
        r.text(Lang::En, 480),
        "New device: \"img src=x onerror=alert(1) txt.exe\""
    );
    let r = Reason {
        code: ReasonCode::UnusualCountry,
        weight: 0.5,
        alert: true,
        evidence: Evidence::UnusualPlace {
            place: place("Lagos\r\n* BYE injected"),
            usual: vec![],
            distance_km: None,
        },
    };
    assert_eq!(
        r.text(Lang::En, 480),
        "Login from Lagos  * BYE injected, NG"
    );
}

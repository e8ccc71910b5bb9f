//! The evidence bundle on the command line:
//! - `warden incidents evidence ID --out FILE [--html FILE]`: a thin client
//!   of `GET /v1/incidents/{id}/evidence` (and `.html`); the file is
//!   written byte for byte as served (the signature covers the body's
//!   exact bytes), after checking it;
//! - `warden audit verify --bundle FILE [--public-key HEX]`: offline, no
//!   database nor configuration needed — the envelope, the signature, the
//!   audit excerpt and every entry against its record
//!   (`warden_api::evidence::verify_file`). Without `--public-key` the key
//!   in the bundle is used and its fingerprint printed, to compare with
//!   the instance's `warden audit public-key`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use warden_api::evidence::{verify_file, VerifiedBundle};
use warden_audit::AuditPublicKey;

use crate::admin::{segment, Admin};

/// `warden incidents evidence`.
#[derive(Debug, clap::Args)]
pub struct EvidenceArgs {
    /// The incident's id.
    pub id: i64,
    /// Where to write the signed bundle (JSON).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write the printable HTML report here.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Who exports it (recorded in the bundle); default `admin`.
    #[arg(long)]
    pub by: Option<String>,
}

fn rfc3339(ts: warden_core::Timestamp) -> String {
    jiff::Timestamp::from_second(ts.secs())
        .map(|t| t.to_string())
        .unwrap_or_else(|_| ts.secs().to_string())
}

/// Writes `bytes` to `path` through a temporary file beside it (synced,
/// then renamed), so a cut-short run never leaves half a bundle.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let mut tmp_name = name.to_os_string();
    tmp_name.push(format!(".partial-{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

/// Downloads the bundle (and the report), checks it, writes it.
pub async fn export(admin: &Admin, args: EvidenceArgs) -> anyhow::Result<String> {
    if args.id <= 0 {
        anyhow::bail!("the incident id is a positive integer");
    }
    let query = match &args.by {
        Some(by) => format!("?by={}", segment(by)),
        None => String::new(),
    };
    let bytes = admin
        .get_bytes(&format!("/v1/incidents/{}/evidence{query}", args.id))
        .await?;
    let checked = verify_file(&bytes, None)
        .map_err(|e| anyhow::anyhow!("the service sent a bundle that does not verify: {e}"))?;
    write_atomically(&args.out, &bytes)?;
    let mut text = format!(
        "wrote {} ({} bytes)\n{}",
        args.out.display(),
        bytes.len(),
        describe(&checked)
    );
    if let Some(html) = &args.html {
        let page = admin
            .get_bytes(&format!("/v1/incidents/{}/evidence.html{query}", args.id))
            .await?;
        write_atomically(html, &page)?;
        text.push_str(&format!(
            "wrote {} ({} bytes)\n",
            html.display(),
            page.len()
        ));
    }
    Ok(text)
}

fn describe(v: &VerifiedBundle) -> String {
    let s = &v.summary;
    format!(
        "incident {} ({}, {}): {} timeline entries, {} actions, {} logins, {} alerts\n\
         audit excerpt: {} whole and {} redacted records, checkpoint over record {} signed at {}\n\
         signed by key {} (fingerprint {})\n",
        s.incident,
        s.grade,
        s.status,
        s.timeline,
        s.actions,
        s.logins,
        s.alerts,
        s.whole,
        s.redacted,
        s.signed_seq,
        rfc3339(s.signed_at),
        v.public_key.to_hex(),
        s.fingerprint,
    )
}

/// `warden audit verify --bundle FILE`: what to print and whether it
/// verified.
pub fn verify_bundle(
    path: &Path,
    public_key: Option<&str>,
    json: bool,
) -> anyhow::Result<(String, bool)> {
    let expected = public_key
        .map(|k| AuditPublicKey::from_hex(k).context("--public-key"))
        .transpose()?;
    let len = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if len > warden_api::evidence::file::MAX_BUNDLE_FILE_BYTES as u64 {
        anyhow::bail!(
            "{} is larger than {} bytes: not an evidence bundle",
            path.display(),
            warden_api::evidence::file::MAX_BUNDLE_FILE_BYTES
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let result = verify_file(&bytes, expected.as_ref());
    let text = match (&result, json) {
        (Ok(v), true) => {
            let s = &v.summary;
            serde_json::to_string_pretty(&serde_json::json!({
                "ok": true,
                "incident": s.incident,
                "grade": s.grade,
                "status": s.status,
                "public_key": v.public_key.to_hex(),
                "fingerprint": s.fingerprint,
                "key_checked": expected.is_some(),
                "timeline": s.timeline,
                "actions": s.actions,
                "logins": s.logins,
                "alerts": s.alerts,
                "whole_records": s.whole,
                "redacted_records": s.redacted,
                "signed_seq": s.signed_seq,
                "signed_at": rfc3339(s.signed_at),
            }))? + "\n"
        }
        (Err(e), true) => {
            serde_json::to_string_pretty(&serde_json::json!({"ok": false, "error": e.to_string()}))?
                + "\n"
        }
        (Ok(v), false) => {
            let mut t = format!("OK: {}\n{}", path.display(), describe(v));
            if expected.is_none() {
                t.push_str(
                    "the bundle was checked against the key it carries: compare its fingerprint with `warden audit public-key` on the instance, or pass --public-key\n",
                );
            } else {
                t.push_str("the key is the one given with --public-key\n");
            }
            t
        }
        (Err(e), false) => format!("BROKEN: {}: {e}\n", path.display()),
    };
    Ok((text, result.is_ok()))
}

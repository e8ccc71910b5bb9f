//! `warden operations report / list / show / ingest`: a thin client of the
//! running service's sensitive-operation API (`/v1/operations`), like
//! `warden alerts`. `ingest` is the log feed: it reads JSON Lines (one
//! operation a line, the body of `POST /v1/operations`: what a webmail or
//! IM system writes to its security log) from a file or standard input —
//! `tail -F` a live log into it — and posts each line as it arrives. A
//! line that is not a JSON object or that the service refuses is skipped
//! and reported with its number; a line over [`MAX_LINE_BYTES`] is
//! skipped unread. Reports with a `report_id` are stored once, so a log
//! read again records nothing twice.

use std::io::BufRead;

use anyhow::Context;
use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::admin::{segment, Admin, Body};

/// The longest log line read (bytes); longer lines are skipped.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// The most refused lines the summary lists (it counts them all).
pub const MAX_LISTED_REFUSALS: usize = 20;

/// The `warden operations` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum OperationsCommand {
    /// Report one operation (as the mail or IM system would).
    Report {
        user: String,
        /// forwarding_rule, inbox_rule, security_contact_changed, password_changed,
        /// two_factor_disabled, auth_code_created, mass_download, token_created.
        kind: String,
        /// The forwarding address, folder, new contact or token name.
        #[arg(long)]
        target: Option<String>,
        /// The address the change was made from.
        #[arg(long)]
        ip: Option<String>,
        /// When it happened (RFC 3339); default now.
        #[arg(long)]
        ts: Option<String>,
        /// The reporting system (one word); default `cli`.
        #[arg(long, default_value = "cli")]
        source: String,
        #[arg(long)]
        report_id: Option<String>,
        #[arg(long)]
        detail: Option<String>,
        /// The target is outside the organisation (default: told from its domain).
        #[arg(long)]
        external: Option<bool>,
    },
    /// List operations, newest first.
    List {
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        kind: Option<String>,
        /// Only this grade and above (info, warning, critical).
        #[arg(long)]
        grade: Option<String>,
        /// Only operations at or after this time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        cursor: Option<String>,
        /// At most this many (1..=500, default 50).
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Show one operation.
    Show { id: i64 },
    /// Read a JSON Lines log (a file, or `-` for standard input) and report
    /// each line; prints a summary.
    Ingest {
        /// The log file, or `-` to read standard input as it arrives.
        file: String,
        /// The `source` of lines that name none.
        #[arg(long)]
        source: Option<String>,
    },
}

/// The request path of `list`'s filters.
fn list_path(filters: &[(&str, Option<String>)]) -> String {
    let query: Vec<String> = filters
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", segment(v))))
        .collect();
    if query.is_empty() {
        "/v1/operations".to_string()
    } else {
        format!("/v1/operations?{}", query.join("&"))
    }
}

/// Runs one command against the service; the answer is the API's JSON.
pub async fn run(admin: &Admin, command: OperationsCommand) -> anyhow::Result<Value> {
    match command {
        OperationsCommand::Report {
            user,
            kind,
            target,
            ip,
            ts,
            source,
            report_id,
            detail,
            external,
        } => {
            let mut body = Map::new();
            body.insert("user".into(), json!(user));
            body.insert("kind".into(), json!(kind));
            body.insert("source".into(), json!(source));
            for (k, v) in [
                ("target", target),
                ("ip", ip),
                ("ts", ts),
                ("report_id", report_id),
                ("detail", detail),
            ] {
                if let Some(v) = v {
                    body.insert(k.into(), json!(v));
                }
            }
            if let Some(e) = external {
                body.insert("external".into(), json!(e));
            }
            admin
                .call(
                    Method::POST,
                    "/v1/operations",
                    Some(Body::Json(Value::Object(body))),
                )
                .await
        }
        OperationsCommand::List {
            user,
            kind,
            grade,
            since,
            cursor,
            limit,
        } => {
            let path = list_path(&[
                ("user", user),
                ("kind", kind),
                ("grade", grade),
                ("since", since),
                ("cursor", cursor),
                ("limit", limit.map(|l| l.to_string())),
            ]);
            admin.call(Method::GET, &path, None).await
        }
        OperationsCommand::Show { id } => {
            admin
                .call(Method::GET, &format!("/v1/operations/{id}"), None)
                .await
        }
        OperationsCommand::Ingest { file, source } => {
            let reader: Box<dyn BufRead + Send> = if file == "-" {
                Box::new(std::io::BufReader::new(std::io::stdin()))
            } else {
                Box::new(std::io::BufReader::new(
                    std::fs::File::open(&file).with_context(|| format!("opening {file}"))?,
                ))
            };
            ingest(admin, reader, source.as_deref()).await
        }
    }
}

/// One line of the log as the body of `POST /v1/operations`: a JSON
/// object, with `source` filled in when the line names none.
pub fn line_body(line: &str, source: Option<&str>) -> Result<Value, String> {
    let mut v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Some(obj) = v.as_object_mut() else {
        return Err("not a JSON object".to_string());
    };
    if let Some(s) = source {
        obj.entry("source").or_insert_with(|| json!(s));
    }
    Ok(v)
}

/// Reads one line of at most [`MAX_LINE_BYTES`] (without its end); `None`
/// at the end of the input; `Some(Err(len))` for a longer line, consumed.
fn next_line(reader: &mut dyn BufRead) -> std::io::Result<Option<Result<String, usize>>> {
    let mut buf = Vec::new();
    let mut len = 0usize;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok((len > 0).then(|| finish(buf, len)));
        }
        let (take, end) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        if len + take <= MAX_LINE_BYTES {
            buf.extend_from_slice(&chunk[..take]);
        }
        len += take;
        reader.consume(take + usize::from(end));
        if end {
            return Ok(Some(finish(buf, len)));
        }
    }
}

fn finish(buf: Vec<u8>, len: usize) -> Result<String, usize> {
    if len > MAX_LINE_BYTES {
        return Err(len);
    }
    Ok(String::from_utf8_lossy(&buf)
        .trim_end_matches('\r')
        .to_string())
}

/// Posts every line of `reader`; stops only when the service cannot be
/// reached (what was acknowledged before stays; with report ids, reading
/// the log again records nothing twice).
async fn ingest(
    admin: &Admin,
    mut reader: Box<dyn BufRead + Send>,
    source: Option<&str>,
) -> anyhow::Result<Value> {
    let (mut lines, mut recorded, mut duplicates, mut alerted, mut refused) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut refusals = Vec::new();
    let mut refuse = |n: u64, why: String, refused: &mut u64| {
        *refused += 1;
        if refusals.len() < MAX_LISTED_REFUSALS {
            refusals.push(json!({"line": n, "error": why}));
        }
    };
    while let Some(line) = next_line(&mut *reader).context("reading the log")? {
        lines += 1;
        let line = match line {
            Ok(l) => l,
            Err(len) => {
                refuse(
                    lines,
                    format!("line of {len} bytes is longer than {MAX_LINE_BYTES}"),
                    &mut refused,
                );
                continue;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let body = match line_body(&line, source) {
            Ok(b) => b,
            Err(why) => {
                refuse(lines, why, &mut refused);
                continue;
            }
        };
        match admin
            .call(Method::POST, "/v1/operations", Some(Body::Json(body)))
            .await
        {
            Ok(answer) => {
                if answer["duplicate"] == json!(true) {
                    duplicates += 1;
                } else {
                    recorded += 1;
                    if answer["alert"].is_object() {
                        alerted += 1;
                    }
                }
            }
            Err(e) => {
                let text = e.to_string();
                // A 4xx is this line's fault: skip it. Anything else (no
                // service, a 5xx) stops the feed.
                if text.starts_with('4') {
                    refuse(lines, text, &mut refused);
                } else {
                    return Err(e.context(format!("line {lines}")));
                }
            }
        }
    }
    Ok(json!({
        "lines": lines,
        "recorded": recorded,
        "duplicates": duplicates,
        // Operations with an alert: a new one, or folded into the alert
        // of an earlier operation after the same login.
        "alerted": alerted,
        "refused": refused,
        "refusals": refusals,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_objects_and_get_the_default_source() {
        let b = line_body(r#"{"user":"a@x.com","kind":"inbox_rule"}"#, Some("webmail")).unwrap();
        assert_eq!(b["source"], "webmail");
        let b = line_body(r#"{"source":"im","user":"a"}"#, Some("webmail")).unwrap();
        assert_eq!(b["source"], "im");
        assert!(line_body("[1,2]", None).unwrap_err().contains("object"));
        assert!(line_body("user=a", None).unwrap_err().contains("JSON"));
    }

    #[test]
    fn long_lines_are_skipped_whole_and_the_next_one_is_read() {
        let long = "x".repeat(MAX_LINE_BYTES + 1);
        let text = format!("first\r\n{long}\nlast");
        let mut r = std::io::BufReader::with_capacity(64, text.as_bytes());
        assert_eq!(next_line(&mut r).unwrap(), Some(Ok("first".into())));
        assert_eq!(next_line(&mut r).unwrap(), Some(Err(MAX_LINE_BYTES + 1)));
        assert_eq!(next_line(&mut r).unwrap(), Some(Ok("last".into())));
        assert_eq!(next_line(&mut r).unwrap(), None);
    }

    #[test]
    fn filters_are_encoded_into_the_query() {
        assert_eq!(list_path(&[("user", None)]), "/v1/operations");
        assert_eq!(
            list_path(&[
                ("user", Some("a b@x.com".into())),
                ("grade", Some("critical".into()))
            ]),
            "/v1/operations?user=a%20b@x.com&grade=critical"
        );
    }
}

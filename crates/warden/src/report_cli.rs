//! `warden report security [--from D --to D] [--out FILE]`: the security
//! report of a period (the previous calendar month by default) as one
//! HTML page, fetched from the running service's
//! `GET /v1/reports/security` like the other admin commands, so the CLI
//! and the API give the same page from one code path.

use std::path::PathBuf;

use anyhow::Context;

use crate::admin::{segment, Admin};

/// The `warden report` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ReportCommand {
    /// The security report: logins by country and city (a map), unusual-
    /// location alerts and answers, top risky users and addresses, refused
    /// logins, 2FA and code adoption, incidents.
    Security {
        /// The first day (YYYY-MM-DD, the organisation's time); with --to.
        #[arg(long, requires = "to")]
        from: Option<String>,
        /// The last day, included (YYYY-MM-DD); with --from.
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// Write the page here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// The request path of a security report.
pub fn security_path(from: Option<&str>, to: Option<&str>) -> String {
    match (from, to) {
        (Some(f), Some(t)) => format!("/v1/reports/security?from={}&to={}", segment(f), segment(t)),
        _ => "/v1/reports/security".to_string(),
    }
}

/// Fetches the report; returns the page, or writes it to `--out` and
/// returns a line saying where.
pub async fn run(admin: &Admin, command: ReportCommand) -> anyhow::Result<String> {
    match command {
        ReportCommand::Security { from, to, out } => {
            let html = admin
                .get_text(&security_path(from.as_deref(), to.as_deref()))
                .await?;
            match out {
                None => Ok(html),
                Some(path) => {
                    std::fs::write(&path, &html)
                        .with_context(|| format!("writing {}", path.display()))?;
                    Ok(format!(
                        "security report written to {} ({} bytes)\n",
                        path.display(),
                        html.len()
                    ))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_period_is_encoded_into_the_query() {
        assert_eq!(security_path(None, None), "/v1/reports/security");
        assert_eq!(
            security_path(Some("2026-11-01"), Some("2026-11-30")),
            "/v1/reports/security?from=2026-11-01&to=2026-11-30"
        );
        assert_eq!(
            security_path(Some("a&b=c"), Some("x y")),
            "/v1/reports/security?from=a%26b%3Dc&to=x%20y"
        );
    }
}

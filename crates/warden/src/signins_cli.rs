//! `warden sign-ins list / confirm`: the sign-ins login protection refused
//! (`verification_required`) of one user, and an admin's confirmation of
//! one on the user's behalf (the helpdesk, when the user calls); a thin
//! client of `/v1/users/{user}/refused-sign-ins`, like `warden user`.

use reqwest::Method;
use serde_json::Value;

use crate::admin::{segment, Admin};

/// The `warden sign-ins` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum SignInsCommand {
    /// The user's refused sign-ins of the last 7 days, newest first.
    List { user: String },
    /// Confirm one as the user's own: that client then logs in from there.
    Confirm { user: String, id: i64 },
}

/// Runs one command against the service; the answer is the API's JSON.
pub async fn run(admin: &Admin, command: SignInsCommand) -> anyhow::Result<Value> {
    match command {
        SignInsCommand::List { user } => {
            admin
                .call(
                    Method::GET,
                    &format!("/v1/users/{}/refused-sign-ins", segment(&user)),
                    None,
                )
                .await
        }
        SignInsCommand::Confirm { user, id } => {
            admin
                .call(
                    Method::POST,
                    &format!("/v1/users/{}/refused-sign-ins/{id}/confirm", segment(&user)),
                    None,
                )
                .await
        }
    }
}

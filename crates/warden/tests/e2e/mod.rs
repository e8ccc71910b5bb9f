//! End to end with the real Debian daemons and real clients: Dovecot (IMAP,
//! POP3) and Postfix (SMTP AUTH through Dovecot SASL) wired to the real
//! `warden serve` exactly as docs/integrations/ say, from the same
//! templates, and Python's imaplib/poplib/smtplib logging in. Each test
//! prints the replies the clients saw, which it asserts on.
//!
//! - `dovecot_policy`: Dovecot keeps its passwords, Warden is its auth
//!   policy server (alerts, login protection, lockout, stale clients, TLS,
//!   Warden down);
//! - `dovecot_verify`: Warden verifies the passwords through the Lua passdb
//!   and `warden checkpassword`, with Postfix SMTP AUTH through Dovecot;
//! - `login_protection`: a new city refused over IMAP until confirmed in
//!   webmail;
//! - `postfix_policy`: Warden's Postfix policy server;
//! - `policy_http`: the policy endpoint spoken to as Dovecot does, for SMTP's
//!   empty session ids, the tarpit status and `passdb=warden`;
//! - `matrix`: the same scenarios through mode A, mode B and checkpassword;
//! - `sessions`: logging out everywhere plus `doveadm kick` ends a live
//!   IMAP session and the old code; a new device waits for approval;
//! - `openapi_fuzz`: Schemathesis fuzzes the API from its OpenAPI document;
//! - `access_policies`: an organisation's allowlist, tried with a dry run
//!   then enforced through the CLI, refusing a real IMAP login;
//! - `docs`: the snippets in the docs are the templates the tests use.
//!
//! The daemons need the Debian packages `scripts/test.sh` installs; a
//! missing one fails the test with what to install.

mod access_policies;
mod docs;
mod dovecot_policy;
mod dovecot_verify;
mod harness;
mod login_protection;
mod matrix;
mod openapi_fuzz;
mod policy_http;
mod postfix_policy;
mod sessions;

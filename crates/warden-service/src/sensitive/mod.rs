//! Sensitive operations in users' mailboxes (forwarding rules, security
//! info, passwords, tokens...) reported by the mail or IM system, and
//! their correlation with the risky logins before them.

/// How sensitive operations are judged.
#[derive(Debug, Clone, Default)]
pub struct SensitiveSettings {}

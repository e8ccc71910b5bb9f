//! Verification before a login or an operation counts: the one-time codes
//! of login protection and the step-up that sensitive operations need.

/// How verification codes and step-ups work.
#[derive(Debug, Clone, Default)]
pub struct StepUpSettings {}

//! "Was this you?": signed, expiring, single-use answers to an alert, and
//! what each answer does.

/// How answer links are made.
#[derive(Debug, Clone, Default)]
pub struct AnswerSettings {}

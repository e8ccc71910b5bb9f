//! Alerts: which detections become alerts, graded by rules, folded by
//! user, kind and place, and raised from the committed history.

/// How detections become alerts.
#[derive(Debug, Clone, Default)]
pub struct AlertSettings {}

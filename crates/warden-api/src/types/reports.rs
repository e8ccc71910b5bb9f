//! The security report's query parameters.

use serde::Deserialize;
use utoipa::IntoParams;

/// The period of a report: both dates or neither (the previous calendar
/// month), whole days in the organisation's UTC offset, at most 366 days.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// The first day (`YYYY-MM-DD`).
    #[param(format = Date, max_length = 10)]
    pub from: Option<String>,
    /// The last day, included (`YYYY-MM-DD`).
    #[param(format = Date, max_length = 10)]
    pub to: Option<String>,
}

//! The incidents section of the security report: each incident of the
//! period as an [`IncidentFigure`] (grade, when it opened, was contained
//! and was closed), summed up per grade with the median times to contain
//! and to close.

use warden_core::Timestamp;

/// The most incidents the report lists one by one (the summary counts
/// them all).
pub const MAX_LISTED_INCIDENTS: usize = 50;

/// An incident's grade (the seeds' three levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IncidentGrade {
    /// Credential compromise.
    L1,
    /// A lost or stolen device.
    L2,
    /// Data tampering or exfiltration.
    L3,
}

impl IncidentGrade {
    pub const ALL: [IncidentGrade; 3] = [IncidentGrade::L1, IncidentGrade::L2, IncidentGrade::L3];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentGrade::L1 => "L1",
            IncidentGrade::L2 => "L2",
            IncidentGrade::L3 => "L3",
        }
    }

    /// What the grade means, in English.
    pub fn meaning(self) -> &'static str {
        match self {
            IncidentGrade::L1 => "credential compromise",
            IncidentGrade::L2 => "lost or stolen device",
            IncidentGrade::L3 => "data tampering or exfiltration",
        }
    }
}

impl From<warden_core::incident::IncidentGrade> for IncidentGrade {
    fn from(g: warden_core::incident::IncidentGrade) -> Self {
        match g {
            warden_core::incident::IncidentGrade::L1 => IncidentGrade::L1,
            warden_core::incident::IncidentGrade::L2 => IncidentGrade::L2,
            warden_core::incident::IncidentGrade::L3 => IncidentGrade::L3,
        }
    }
}

/// One incident as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentFigure {
    pub grade: IncidentGrade,
    pub opened_at: Timestamp,
    pub contained_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
}

impl IncidentFigure {
    /// Seconds from opening to containment, when contained.
    pub fn to_contain(&self) -> Option<i64> {
        self.contained_at.map(|t| t.since(self.opened_at).max(0))
    }

    /// Seconds from opening to closing, when closed.
    pub fn to_close(&self) -> Option<i64> {
        self.closed_at.map(|t| t.since(self.opened_at).max(0))
    }
}

/// The incidents of one grade (or of all, `grade: None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentSummary {
    pub grade: Option<IncidentGrade>,
    pub opened: usize,
    pub contained: usize,
    pub closed: usize,
    /// Median seconds to contain, of those contained.
    pub median_to_contain: Option<i64>,
    /// Median seconds to close, of those closed.
    pub median_to_close: Option<i64>,
}

/// The median of `v` (the mean of the middle two for an even count,
/// rounded down); `None` when empty.
pub fn median(mut v: Vec<i64>) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]).div_euclid(2)
    })
}

fn summary(grade: Option<IncidentGrade>, figures: &[&IncidentFigure]) -> IncidentSummary {
    let contain: Vec<i64> = figures.iter().filter_map(|f| f.to_contain()).collect();
    let close: Vec<i64> = figures.iter().filter_map(|f| f.to_close()).collect();
    IncidentSummary {
        grade,
        opened: figures.len(),
        contained: contain.len(),
        closed: close.len(),
        median_to_contain: median(contain),
        median_to_close: median(close),
    }
}

/// One summary per grade (every grade, even without incidents), then the
/// total.
pub fn summarise(figures: &[IncidentFigure]) -> Vec<IncidentSummary> {
    let mut out: Vec<IncidentSummary> = IncidentGrade::ALL
        .iter()
        .map(|g| {
            let of: Vec<&IncidentFigure> = figures.iter().filter(|f| f.grade == *g).collect();
            summary(Some(*g), &of)
        })
        .collect();
    out.push(summary(None, &figures.iter().collect::<Vec<_>>()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(
        grade: IncidentGrade,
        open: i64,
        contain: Option<i64>,
        close: Option<i64>,
    ) -> IncidentFigure {
        IncidentFigure {
            grade,
            opened_at: Timestamp(open),
            contained_at: contain.map(|c| Timestamp(open + c)),
            closed_at: close.map(|c| Timestamp(open + c)),
        }
    }

    #[test]
    fn medians_of_odd_even_and_empty_lists() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![30]), Some(30));
        assert_eq!(median(vec![50, 10, 30]), Some(30));
        assert_eq!(median(vec![40, 10, 30, 20]), Some(25));
    }

    #[test]
    fn summaries_per_grade_count_what_was_contained_and_closed() {
        use IncidentGrade::*;
        let s = summarise(&[
            f(L1, 1_000, Some(600), Some(86_400)),
            f(L1, 2_000, Some(1_800), None),
            f(L1, 3_000, None, None),
            f(L3, 4_000, Some(3_600), Some(7_200)),
        ]);
        assert_eq!(s.len(), 4);
        assert_eq!(
            s[0],
            IncidentSummary {
                grade: Some(L1),
                opened: 3,
                contained: 2,
                closed: 1,
                median_to_contain: Some(1_200),
                median_to_close: Some(86_400),
            }
        );
        assert_eq!(s[1].opened, 0);
        assert_eq!(s[1].median_to_contain, None);
        assert_eq!(s[2].median_to_close, Some(7_200));
        assert_eq!(s[3].grade, None);
        assert_eq!((s[3].opened, s[3].contained, s[3].closed), (4, 3, 2));
        assert_eq!(s[3].median_to_contain, Some(1_800));
        // A containment recorded before the opening counts as immediate.
        assert_eq!(f(L2, 500, Some(-100), None).to_contain(), Some(0));
    }
}

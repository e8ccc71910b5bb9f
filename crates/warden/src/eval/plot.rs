//! The ROC curves of an evaluation as a small self-contained SVG: false
//! positive rate (friction) on a log axis from 0.01 % to 100 %, catch rate of
//! first attacker logins on a linear axis; Warden and, when run, the
//! Freeman baseline.

use std::fmt::Write as _;

use super::metrics::{Report, RocPoint};

const W: f64 = 640.0;
const H: f64 = 440.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;
/// The log axis starts here (0.01 %).
const MIN_FPR: f64 = 1e-4;

fn x(fpr: f64) -> f64 {
    let f = fpr.max(MIN_FPR).log10();
    let (lo, hi) = (MIN_FPR.log10(), 0.0);
    LEFT + (f - lo) / (hi - lo) * (W - LEFT - RIGHT)
}

fn y(tpr: f64) -> f64 {
    TOP + (1.0 - tpr) * (H - TOP - BOTTOM)
}

/// A coordinate in tenths of a pixel, the precision the path is written at.
fn tenths(a: f64) -> i64 {
    (a * 10.0).round() as i64
}

/// The step curve's vertices in tenths of a pixel, without the points a
/// plot cannot show: a vertex on the previous one, or inside a horizontal
/// or vertical run (a curve over 200,000 legit logins has as many points,
/// almost all of them on such runs).
fn vertices(points: &[RocPoint]) -> Vec<(i64, i64)> {
    fn push(v: &mut Vec<(i64, i64)>, p: (i64, i64)) {
        if v.last() == Some(&p) {
            return;
        }
        if let [.., a, b] = v[..] {
            if (a.0 == b.0 && b.0 == p.0) || (a.1 == b.1 && b.1 == p.1) {
                // Extend the run instead of adding a vertex to it.
                *v.last_mut().expect("two vertices") = p;
                return;
            }
        }
        v.push(p);
    }
    let mut v = Vec::new();
    let mut last_tpr = None;
    for p in points {
        // A step curve: the catch rate holds until friction grows.
        if let Some(t) = last_tpr {
            push(&mut v, (tenths(x(p.fpr)), tenths(y(t))));
        }
        push(&mut v, (tenths(x(p.fpr)), tenths(y(p.tpr))));
        last_tpr = Some(p.tpr);
    }
    v
}

fn path(points: &[RocPoint]) -> String {
    let mut d = String::new();
    for (i, (px, py)) in vertices(points).into_iter().enumerate() {
        let cmd = if i == 0 { 'M' } else { 'L' };
        let _ = write!(d, "{cmd}{:.1},{:.1} ", px as f64 / 10.0, py as f64 / 10.0);
    }
    d
}

/// The SVG document.
pub fn roc_svg(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="15">First attacker login caught vs. legit friction</text>"#,
        W / 2.0
    );
    // Grid and axes.
    for e in -4..=0 {
        let f = 10f64.powi(e);
        let gx = x(f);
        let _ = writeln!(
            s,
            r##"<line x1="{gx:.1}" y1="{TOP}" x2="{gx:.1}" y2="{:.1}" stroke="#ddd"/><text x="{gx:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            H - BOTTOM,
            H - BOTTOM + 16.0,
            format_pct(f)
        );
    }
    for i in 0..=5 {
        let t = f64::from(i) / 5.0;
        let gy = y(t);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{gy:.1}" x2="{:.1}" y2="{gy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{:.0} %</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            gy + 4.0,
            t * 100.0
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">legit successful logins challenged or denied (log scale)</text>"#,
        (LEFT + W - RIGHT) / 2.0,
        H - 18.0
    );
    let _ = writeln!(
        s,
        r#"<text x="16" y="{}" text-anchor="middle" transform="rotate(-90 16 {})">first attacker logins caught</text>"#,
        (TOP + H - BOTTOM) / 2.0,
        (TOP + H - BOTTOM) / 2.0
    );
    let mut legend = vec![("Warden", "#c0392b", &r.warden)];
    if let Some(b) = &r.baseline {
        legend.push(("Freeman baseline", "#2471a3", b));
    }
    for (i, (name, colour, roc)) in legend.iter().enumerate() {
        let _ = writeln!(
            s,
            r#"<path d="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
            path(&roc.points)
        );
        let ly = TOP + 16.0 + i as f64 * 18.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="2"/><text x="{}" y="{}">{name} (AUC {:.3})</text>"#,
            LEFT + 40.0,
            LEFT + 46.0,
            ly + 4.0,
            roc.auc,
            lx = LEFT + 16.0,
        );
    }
    s.push_str("</svg>\n");
    s
}

fn format_pct(f: f64) -> String {
    let p = f * 100.0;
    if p >= 1.0 {
        format!("{p:.0} %")
    } else {
        format!("{p} %")
    }
}

#[cfg(test)]
mod tests {
    use super::super::metrics::{roc, Report};
    use super::*;

    #[test]
    fn the_plot_is_an_svg_with_both_curves_and_their_auc() {
        let r = Report {
            warden: roc(&[0.1, 0.2], &[0.9], 0.0),
            baseline: Some(roc(&[0.1, 0.2], &[0.15], 0.0)),
            ..Report::default()
        };
        let svg = roc_svg(&r);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<path").count(), 2);
        assert!(svg.contains("Warden (AUC 1.000)"), "{svg}");
        assert!(svg.contains("Freeman baseline (AUC 0.500)"), "{svg}");
    }

    #[test]
    fn a_long_curve_keeps_only_the_vertices_a_plot_shows() {
        // 100,000 legit scores under 10 attacks: the curve is mostly flat runs.
        let legit: Vec<f64> = (0..100_000).map(|i| f64::from(i) / 100_000.0).collect();
        let attacks: Vec<f64> = (0..10).map(|i| 0.5 + f64::from(i) / 20.0).collect();
        let r = roc(&legit, &attacks, 0.0);
        assert!(r.points.len() > 10_000, "{}", r.points.len());
        let v = vertices(&r.points);
        assert!(v.len() < 100, "{} vertices", v.len());
        // The curve still starts and ends where the points do, and steps up.
        let first = r.points.first().unwrap();
        let last = r.points.last().unwrap();
        assert_eq!(v[0], (tenths(x(first.fpr)), tenths(y(first.tpr))));
        assert_eq!(
            *v.last().unwrap(),
            (tenths(x(last.fpr)), tenths(y(last.tpr)))
        );
        assert!(v.windows(2).all(|w| w[1].0 >= w[0].0 && w[1].1 <= w[0].1));
        assert!(v.windows(2).all(|w| w[0].0 == w[1].0 || w[0].1 == w[1].1));
    }
}

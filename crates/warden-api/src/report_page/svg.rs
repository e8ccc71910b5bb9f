//! Server-side SVG charts for the security report: horizontal bars,
//! stacked columns over time, share meters and the bubble map (an
//! equirectangular projection with a light graticule). Every number is
//! computed here; every text goes through [`escape`]; the output is a
//! self-contained `<svg>` element (no scripts, no external references),
//! bounded by its inputs, which the caller bounds.

use std::fmt::Write;

/// XML-escapes `s` for text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A coordinate with one decimal; anything not finite is 0.
fn n(v: f64) -> String {
    if v.is_finite() {
        let r = (v * 10.0).round() / 10.0;
        if r == r.trunc() {
            format!("{}", r as i64)
        } else {
            format!("{r:.1}")
        }
    } else {
        "0".to_string()
    }
}

/// A round top for an axis over values up to `max`, and its step: the
/// step is 1, 2 or 5 times a power of ten, about four steps to the top.
pub fn nice_scale(max: u64) -> (u64, u64) {
    if max == 0 {
        return (1, 1);
    }
    let rough = (max as f64 / 4.0).max(1.0);
    let pow = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * pow)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * pow)
        .max(1.0) as u64;
    let top = max.div_ceil(step).saturating_mul(step);
    (top.max(step), step)
}

fn open(out: &mut String, w: u32, h: u32, label: &str) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{}" font-family="system-ui, sans-serif" font-size="12">"#,
        escape(label)
    );
}

fn empty(w: u32, label: &str) -> String {
    let mut out = String::new();
    open(&mut out, w, 40, label);
    let _ = write!(
        out,
        r##"<text x="{}" y="24" text-anchor="middle" fill="#777">No data in this period</text></svg>"##,
        w / 2
    );
    out
}

/// Horizontal bars, one per `(label, value)`, longest scaled to the
/// width, the value written after each bar.
pub fn bars(items: &[(String, u64)], color: &str, label: &str) -> String {
    const W: u32 = 640;
    const LABEL_W: f64 = 190.0;
    const ROW: u32 = 22;
    if items.iter().all(|(_, v)| *v == 0) {
        return empty(W, label);
    }
    let max = items.iter().map(|(_, v)| *v).max().unwrap_or(1).max(1) as f64;
    let span = f64::from(W) - LABEL_W - 60.0;
    let h = ROW * items.len() as u32 + 6;
    let mut out = String::new();
    open(&mut out, W, h, label);
    for (i, (name, v)) in items.iter().enumerate() {
        let y = f64::from(ROW * i as u32) + 4.0;
        let len = (*v as f64 / max * span).max(if *v > 0 { 1.0 } else { 0.0 });
        let _ = write!(
            out,
            r##"<text x="{}" y="{}" text-anchor="end" fill="#222">{}</text><rect x="{}" y="{}" width="{}" height="16" rx="2" fill="{}"/><text x="{}" y="{}" fill="#222">{}</text>"##,
            n(LABEL_W - 8.0),
            n(y + 12.0),
            escape(&truncate(name, 30)),
            n(LABEL_W),
            n(y),
            n(len),
            escape(color),
            n(LABEL_W + len + 6.0),
            n(y + 12.0),
            v
        );
    }
    out.push_str("</svg>");
    out
}

/// `s` cut to `max` characters (with `…`).
fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max.saturating_sub(1)) {
        Some((i, _)) if s.chars().count() > max => format!("{}…", &s[..i]),
        _ => s.to_string(),
    }
}

/// One series of a stacked chart: its name and colour.
pub struct Series<'a> {
    pub name: &'a str,
    pub color: &'a str,
}

/// Stacked columns over time: one column per `(label, values)` (values in
/// `series` order), a y axis with round ticks, every few x labels so they
/// never overlap, and a legend.
pub fn stacked_columns(
    columns: &[(String, Vec<u64>)],
    series: &[Series<'_>],
    label: &str,
) -> String {
    const W: u32 = 680;
    const H: u32 = 260;
    const LEFT: f64 = 46.0;
    const TOP: f64 = 12.0;
    const PLOT_H: f64 = 170.0;
    let totals: Vec<u64> = columns
        .iter()
        .map(|(_, v)| v.iter().fold(0u64, |a, b| a.saturating_add(*b)))
        .collect();
    if columns.is_empty() || totals.iter().all(|t| *t == 0) {
        return empty(W, label);
    }
    let (top, step) = nice_scale(totals.iter().copied().max().unwrap_or(0));
    let plot_w = f64::from(W) - LEFT - 10.0;
    let slot = plot_w / columns.len() as f64;
    let bar_w = (slot * 0.72).max(1.0);
    let y_of = |v: u64| TOP + PLOT_H - v as f64 / top as f64 * PLOT_H;
    let mut out = String::new();
    open(&mut out, W, H, label);
    // Y axis: gridlines and values.
    let mut t = 0;
    while t <= top {
        let y = y_of(t);
        let _ = write!(
            out,
            r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end" fill="#555">{t}</text>"##,
            n(LEFT),
            n(y),
            n(LEFT + plot_w),
            n(y),
            n(LEFT - 6.0),
            n(y + 4.0)
        );
        t += step;
    }
    // At most about twelve x labels.
    let every = columns.len().div_ceil(12).max(1);
    for (i, (name, values)) in columns.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
        let mut base = 0u64;
        for (s, v) in series.iter().zip(values) {
            if *v == 0 {
                continue;
            }
            let y1 = y_of(base.saturating_add(*v));
            let y0 = y_of(base);
            let _ = write!(
                out,
                r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {} {}</title></rect>"#,
                n(x),
                n(y1),
                n(bar_w),
                n((y0 - y1).max(0.5)),
                escape(s.color),
                escape(name),
                v,
                escape(s.name)
            );
            base = base.saturating_add(*v);
        }
        if i % every == 0 {
            let _ = write!(
                out,
                r##"<text x="{}" y="{}" text-anchor="middle" fill="#555" font-size="10">{}</text>"##,
                n(x + bar_w / 2.0),
                n(TOP + PLOT_H + 14.0),
                escape(name)
            );
        }
    }
    // Legend, wrapped onto a second line when it would leave the chart.
    let mut x = LEFT;
    let mut y = TOP + PLOT_H + 36.0;
    for s in series {
        let width = 22.0 + 7.0 * s.name.chars().count() as f64;
        if x + width > f64::from(W) && x > LEFT {
            x = LEFT;
            y += 18.0;
        }
        let _ = write!(
            out,
            r##"<rect x="{}" y="{}" width="12" height="12" fill="{}"/><text x="{}" y="{}" fill="#222">{}</text>"##,
            n(x),
            n(y - 10.0),
            escape(s.color),
            n(x + 16.0),
            n(y),
            escape(s.name)
        );
        x += width;
    }
    out.push_str("</svg>");
    out
}

/// A share as a meter: `part` of `whole` filled, the percentage written.
pub fn meter(part: u64, whole: u64, color: &str, label: &str) -> String {
    const W: u32 = 320;
    let share = if whole == 0 {
        0.0
    } else {
        (part as f64 / whole as f64).clamp(0.0, 1.0)
    };
    let mut out = String::new();
    open(&mut out, W, 22, label);
    let _ = write!(
        out,
        r##"<rect x="0" y="3" width="250" height="16" rx="3" fill="#eee"/><rect x="0" y="3" width="{}" height="16" rx="3" fill="{}"/><text x="258" y="16" fill="#222">{}%</text></svg>"##,
        n(250.0 * share),
        escape(color),
        n(share * 100.0)
    );
    out
}

/// A place on the map.
pub struct MapPoint {
    pub lat: f32,
    pub lon: f32,
    pub value: u64,
    /// The share of its attempts that were refused (colours the bubble).
    pub refused_share: f64,
    pub label: String,
}

/// The map's extent: latitudes shown (the polar caps are left out).
const MAP_NORTH: f64 = 80.0;
const MAP_SOUTH: f64 = -60.0;
/// The map's size.
pub const MAP_W: f64 = 720.0;
pub const MAP_H: f64 = MAP_W * (MAP_NORTH - MAP_SOUTH) / 360.0;

/// Equirectangular: longitude and latitude to the map's x and y.
pub fn project(lat: f64, lon: f64) -> (f64, f64) {
    let lon = lon.clamp(-180.0, 180.0);
    let lat = lat.clamp(MAP_SOUTH, MAP_NORTH);
    (
        (lon + 180.0) / 360.0 * MAP_W,
        (MAP_NORTH - lat) / (MAP_NORTH - MAP_SOUTH) * MAP_H,
    )
}

/// The bubble of a value: its area proportional to the value, the
/// largest 18 px in radius, none smaller than 3.
pub fn radius(value: u64, max: u64) -> f64 {
    if max == 0 {
        return 3.0;
    }
    3.0 + 15.0 * (value as f64 / max as f64).clamp(0.0, 1.0).sqrt()
}

/// The bubble map: a graticule every 30°, one bubble per point (largest
/// drawn first so small ones stay visible), red where most attempts were
/// refused, and the `labelled` largest named.
pub fn bubble_map(points: &[MapPoint], labelled: usize, label: &str) -> String {
    let mut out = String::new();
    let (w, h) = (MAP_W as u32, MAP_H.ceil() as u32);
    open(&mut out, w, h, label);
    let _ = write!(
        out,
        r##"<rect x="0" y="0" width="{w}" height="{h}" fill="#f4f8fb" stroke="#c9d6e0"/>"##
    );
    let mut lon = -180;
    while lon <= 180 {
        let (x, _) = project(0.0, f64::from(lon));
        let _ = write!(
            out,
            r##"<line x1="{}" y1="0" x2="{}" y2="{h}" stroke="#dbe4ec" stroke-width="0.8"/>"##,
            n(x),
            n(x)
        );
        lon += 30;
    }
    let mut lat = -60;
    while lat <= 80 {
        let (_, y) = project(f64::from(lat), 0.0);
        let (stroke, width) = if lat == 0 {
            ("#b8c7d3", "1.2")
        } else {
            ("#dbe4ec", "0.8")
        };
        let _ = write!(
            out,
            r##"<line x1="0" y1="{}" x2="{w}" y2="{}" stroke="{stroke}" stroke-width="{width}"/><text x="3" y="{}" font-size="9" fill="#8a9aa8">{}°</text>"##,
            n(y),
            n(y),
            n(y - 2.0),
            lat
        );
        lat += 20;
    }
    let max = points.iter().map(|p| p.value).max().unwrap_or(0);
    let mut order: Vec<&MapPoint> = points.iter().collect();
    order.sort_by_key(|p| std::cmp::Reverse(p.value));
    for p in &order {
        let (x, y) = project(f64::from(p.lat), f64::from(p.lon));
        let color = if p.refused_share > 0.5 {
            "#d64545"
        } else {
            "#2f6fb3"
        };
        let _ = write!(
            out,
            r##"<circle cx="{}" cy="{}" r="{}" fill="{color}" fill-opacity="0.55" stroke="{color}" stroke-width="1"><title>{}: {}</title></circle>"##,
            n(x),
            n(y),
            n(radius(p.value, max)),
            escape(&p.label),
            p.value
        );
    }
    // Labels, largest first; one that would overlap a label already
    // placed is left out (the bubble keeps its tooltip).
    let mut placed: Vec<(f64, f64, f64, f64)> = Vec::new();
    for p in order.iter() {
        if placed.len() >= labelled {
            break;
        }
        let (x, y) = project(f64::from(p.lat), f64::from(p.lon));
        let r = radius(p.value, max);
        let anchor = if x > MAP_W - 120.0 { "end" } else { "start" };
        let dx = if anchor == "end" { -(r + 3.0) } else { r + 3.0 };
        let text = format!("{} ({})", truncate(&p.label, 28), p.value);
        let w = 5.6 * text.chars().count() as f64;
        let x0 = if anchor == "end" { x + dx - w } else { x + dx };
        let b = (x0, y - 6.0, x0 + w, y + 6.0);
        if placed
            .iter()
            .any(|o| b.0 < o.2 && o.0 < b.2 && b.1 < o.3 && o.1 < b.3)
        {
            continue;
        }
        placed.push(b);
        let _ = write!(
            out,
            r##"<text x="{}" y="{}" text-anchor="{anchor}" font-size="10" fill="#1d2b36" stroke="#fff" stroke-width="2.5" paint-order="stroke">{}</text>"##,
            n(x + dx),
            n(y + 3.0),
            escape(&text)
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "<script>alert('x')</script> & \"q\"";

    fn clean_of_markup(svg: &str) {
        assert!(!svg.contains("<script"), "{svg}");
        assert!(!svg.contains("'x'"), "{svg}");
        // The full text in the label (bars cut theirs, escaped all the same).
        assert!(svg.contains("&lt;script&gt;alert(&#39;x&#39;)"), "{svg}");
    }

    #[test]
    fn escaping_covers_markup_quotes_and_control_characters() {
        assert_eq!(escape("a<b>&\"'c"), "a&lt;b&gt;&amp;&quot;&#39;c");
        assert_eq!(escape("x\u{0}y\u{1b}z"), "x y z");
        assert_eq!(escape("深圳"), "深圳");
    }

    #[test]
    fn every_chart_escapes_its_texts() {
        clean_of_markup(&bars(&[(HOSTILE.into(), 3)], "#333", HOSTILE));
        let s = [Series {
            name: HOSTILE,
            color: "#333",
        }];
        clean_of_markup(&stacked_columns(&[(HOSTILE.into(), vec![2])], &s, HOSTILE));
        clean_of_markup(&meter(1, 2, "#333", HOSTILE));
        let p = MapPoint {
            lat: 1.0,
            lon: 2.0,
            value: 5,
            refused_share: 0.0,
            label: HOSTILE.into(),
        };
        clean_of_markup(&bubble_map(&[p], 5, HOSTILE));
        // The colour is ours, but escaped all the same.
        assert!(!meter(1, 2, "\"/><script>", "m").contains("<script>"));
    }

    #[test]
    fn empty_data_draws_a_note_not_a_broken_chart() {
        for svg in [
            bars(&[], "#333", "b"),
            bars(&[("a".into(), 0)], "#333", "b"),
            stacked_columns(&[], &[], "s"),
            stacked_columns(&[("w1".into(), vec![0, 0])], &[], "s"),
        ] {
            assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "{svg}");
            assert!(svg.contains("No data in this period"), "{svg}");
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        }
        let m = meter(0, 0, "#333", "m");
        assert!(m.contains(">0%<") && !m.contains("NaN"), "{m}");
        let map = bubble_map(&[], 5, "map");
        assert!(map.contains("<line") && !map.contains("<circle"), "{map}");
    }

    #[test]
    fn bars_scale_to_the_largest_value() {
        let svg = bars(
            &[("a".into(), 100), ("b".into(), 50), ("c".into(), 0)],
            "#333",
            "b",
        );
        // 640 - 190 - 60 = 390 for the largest.
        assert!(svg.contains(r#"width="390""#), "{svg}");
        assert!(svg.contains(r#"width="195""#), "{svg}");
        assert!(svg.contains(r#"width="0""#), "{svg}");
        // A huge value does not overflow.
        let svg = bars(&[("a".into(), u64::MAX), ("b".into(), 1)], "#333", "b");
        assert!(
            svg.contains(r#"width="390""#) && svg.contains(r#"width="1""#),
            "{svg}"
        );
    }

    #[test]
    fn round_axis_tops() {
        assert_eq!(nice_scale(0), (1, 1));
        assert_eq!(nice_scale(1), (1, 1));
        assert_eq!(nice_scale(7), (8, 2));
        assert_eq!(nice_scale(10), (10, 5));
        assert_eq!(nice_scale(97), (100, 50));
        assert_eq!(nice_scale(1234), (1500, 500));
        let (top, step) = nice_scale(u64::MAX / 2);
        assert!(top >= u64::MAX / 2 && step > 0);
    }

    #[test]
    fn stacked_columns_stack_in_series_order_and_thin_their_labels() {
        let s = [
            Series {
                name: "first",
                color: "#111",
            },
            Series {
                name: "second",
                color: "#222",
            },
        ];
        // Top 10: one column of 4 + 6 fills the 170 px plot exactly.
        let svg = stacked_columns(&[("d1".into(), vec![4, 6])], &s, "s");
        assert!(
            svg.contains(r#"y="114" width"#),
            "first from the base: {svg}"
        ); // 12 + 170 - 68
        assert!(svg.contains(r#"height="68""#), "{svg}");
        assert!(svg.contains(r#"y="12" width"#), "second on top: {svg}");
        assert!(svg.contains(r#"height="102""#), "{svg}");
        // 60 columns: at most about twelve labels.
        let cols: Vec<(String, Vec<u64>)> =
            (0..60).map(|i| (format!("c{i}"), vec![1, 0])).collect();
        let svg = stacked_columns(&cols, &s, "s");
        let labels = svg.matches(r#"font-size="10">c"#).count();
        assert!((10..=12).contains(&labels), "{labels}");
        assert_eq!(svg.matches("<title>").count(), 60, "zeros draw nothing");
        // A long legend wraps instead of leaving the chart.
        let names: Vec<String> = (0..6)
            .map(|i| format!("a rather long series name {i}"))
            .collect();
        let long: Vec<Series<'_>> = names
            .iter()
            .map(|name| Series {
                name,
                color: "#333",
            })
            .collect();
        let svg = stacked_columns(&[("d".into(), vec![1; 6])], &long, "s");
        for part in svg.split(r#"<rect x=""#).skip(1) {
            let x: f64 = part.split('"').next().unwrap().parse().unwrap();
            assert!(x + 12.0 <= 680.0, "{x}");
        }
        for (i, _) in names.iter().enumerate() {
            assert!(svg.contains(&format!("series name {i}</text>")), "{svg}");
        }
    }

    #[test]
    fn the_map_projects_equirectangularly_and_sizes_bubbles_by_area() {
        assert_eq!(project(0.0, -180.0).0, 0.0);
        assert_eq!(project(0.0, 180.0).0, MAP_W);
        assert_eq!(project(0.0, 0.0).0, MAP_W / 2.0);
        assert_eq!(project(80.0, 0.0).1, 0.0);
        assert_eq!(project(-60.0, 0.0).1, MAP_H);
        assert_eq!(project(-89.0, 0.0).1, MAP_H, "the caps are clamped");
        // Shenzhen is east of London and south of it.
        let (sx, sy) = project(22.54, 114.06);
        let (lx, ly) = project(51.51, -0.13);
        assert!(sx > lx && sy > ly);
        assert_eq!(radius(100, 100), 18.0);
        assert_eq!(radius(25, 100), 10.5);
        assert_eq!(radius(0, 100), 3.0);
        assert_eq!(radius(5, 0), 3.0);
        let pts = [
            MapPoint {
                lat: 22.54,
                lon: 114.06,
                value: 100,
                refused_share: 0.0,
                label: "Shenzhen".into(),
            },
            MapPoint {
                lat: 6.5,
                lon: 3.4,
                value: 25,
                refused_share: 0.9,
                label: "Lagos".into(),
            },
        ];
        let svg = bubble_map(&pts, 1, "map");
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(
            svg.contains(r#"r="18""#) && svg.contains(r#"r="10.5""#),
            "{svg}"
        );
        assert!(svg.contains("Shenzhen (100)"), "the largest is labelled");
        assert!(!svg.contains("Lagos (25)"), "only `labelled` are");
        assert!(svg.contains("#d64545"), "mostly refused is red");
        assert!(
            svg.find("Shenzhen:").unwrap() < svg.find("Lagos:").unwrap(),
            "largest drawn first"
        );
        // Labels that would overlap are left out: Dongguan sits on Shenzhen.
        let at = |lat: f32, lon: f32, value: u64, label: &str| MapPoint {
            lat,
            lon,
            value,
            refused_share: 0.0,
            label: label.into(),
        };
        let near = [
            at(22.54, 114.06, 100, "Shenzhen"),
            at(23.02, 113.75, 50, "Dongguan"),
            at(51.5, -0.1, 10, "London"),
        ];
        let svg = bubble_map(&near, 10, "map");
        assert!(svg.contains("Shenzhen (100)</text>"), "{svg}");
        assert!(!svg.contains("Dongguan (50)</text>"), "{svg}");
        assert!(
            svg.contains("Dongguan: 50</title>"),
            "its bubble keeps a tooltip"
        );
        assert!(svg.contains("London (10)</text>"), "{svg}");
    }
}

//! Autonomous system number and organisation by address range.
//!
//! Reads `@ip-location-db/asn`'s `asn-ipv4.csv` / `asn-ipv6.csv`
//! (`start,end,asn,organisation`, addresses as text, organisation quoted
//! when it contains commas) into sorted, non-overlapping range vectors
//! (`u32` for IPv4, `u128` for IPv6) with interned organisation names, and
//! answers lookups by binary search.
//!
//! Malformed lines are errors naming the file and line. Overlapping ranges
//! (the real data has a handful) are resolved so that the range starting
//! later — the more specific one — wins where they overlap and the outer
//! range resumes after it; their number is reported.

use std::collections::HashMap;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use warden_core::Name;

use crate::error::{GeoError, LineError};
use crate::intern::FnvBuild;

/// One address range as stored (end inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range<T> {
    start: T,
    end: T,
    asn: u32,
    org: u32,
}

/// What the table knows about an address's network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsnInfo {
    pub asn: u32,
    pub organisation: Option<Name>,
    /// The carrier group's main AS number ([`crate::carriers`]).
    pub group: Option<u32>,
}

/// Counts for `describe()`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AsnStats {
    pub files: Vec<PathBuf>,
    pub v4_ranges: usize,
    pub v6_ranges: usize,
    pub organisations: usize,
    /// Input ranges that overlapped an earlier one and were split.
    pub overlaps_resolved: usize,
}

/// IPv4 and IPv6 ASN ranges.
#[derive(Debug, Default)]
pub struct AsnTable {
    v4: Ranges<u32>,
    v6: Ranges<u128>,
    orgs: Vec<Option<Name>>,
    /// The carrier group of each organisation, by organisation id.
    groups: Vec<Option<u32>>,
    stats: AsnStats,
}

/// Entries per block of the fence index.
const BLOCK: usize = 16;

/// Sorted, non-overlapping ranges laid out for cache-friendly search:
/// the starts on their own, every 16th start again in a small fence array
/// (about 100 KB for the real IPv4 file, so it stays in cache), and
/// `(end, asn, org)` apart. A lookup binary-searches the fences, then one
/// 16-entry block of starts, then reads one `(end, asn, org)`.
#[derive(Debug, Default)]
struct Ranges<T> {
    fences: Vec<T>,
    starts: Vec<T>,
    rest: Vec<(T, u32, u32)>,
}

impl<T: Ord + Copy> Ranges<T> {
    fn new(ranges: &[Range<T>]) -> Self {
        Ranges {
            fences: ranges.iter().step_by(BLOCK).map(|r| r.start).collect(),
            starts: ranges.iter().map(|r| r.start).collect(),
            rest: ranges.iter().map(|r| (r.end, r.asn, r.org)).collect(),
        }
    }

    /// `(asn, org)` of the range containing `ip`.
    fn find(&self, ip: T) -> Option<(u32, u32)> {
        let block = self.fences.partition_point(|s| *s <= ip).checked_sub(1)?;
        let lo = block * BLOCK;
        let hi = (lo + BLOCK).min(self.starts.len());
        let i = lo + self.starts.get(lo..hi)?.partition_point(|s| *s <= ip) - 1;
        let (end, asn, org) = *self.rest.get(i)?;
        (ip <= end).then_some((asn, org))
    }
}

/// Collects ranges and interns organisations while files are read.
#[derive(Default)]
struct Loader {
    orgs: Vec<Option<Name>>,
    org_ids: HashMap<Box<str>, u32, FnvBuild>,
    overlaps: usize,
}

impl Loader {
    fn org_id(&mut self, org: &str) -> u32 {
        if let Some(id) = self.org_ids.get(org) {
            return *id;
        }
        let id = self.orgs.len() as u32;
        let name = (!org.is_empty()).then(|| Arc::<str>::from(org));
        self.orgs.push(name);
        self.org_ids.insert(org.into(), id);
        id
    }
}

/// An address family as the loader sees it.
trait Family: Copy + Ord + std::fmt::Display {
    const VERSION: u8;
    fn parse(s: &str) -> Result<Self, u8>;
    fn as_u128(self) -> u128;
    fn from_u128(v: u128) -> Self;
}

impl Family for u32 {
    const VERSION: u8 = 4;
    fn parse(s: &str) -> Result<Self, u8> {
        match s.parse::<IpAddr>() {
            Ok(IpAddr::V4(a)) => Ok(u32::from(a)),
            Ok(IpAddr::V6(_)) => Err(6),
            Err(_) => Err(0),
        }
    }
    fn as_u128(self) -> u128 {
        u128::from(self)
    }
    fn from_u128(v: u128) -> Self {
        v as u32
    }
}

impl Family for u128 {
    const VERSION: u8 = 6;
    fn parse(s: &str) -> Result<Self, u8> {
        match s.parse::<IpAddr>() {
            Ok(IpAddr::V6(a)) => Ok(u128::from(a)),
            Ok(IpAddr::V4(_)) => Err(4),
            Err(_) => Err(0),
        }
    }
    fn as_u128(self) -> u128 {
        self
    }
    fn from_u128(v: u128) -> Self {
        v
    }
}

impl AsnTable {
    /// Loads either or both CSV files.
    pub fn load(v4: Option<&Path>, v6: Option<&Path>) -> Result<AsnTable, GeoError> {
        let mut loader = Loader::default();
        let mut files = Vec::new();
        let v4 = match v4 {
            Some(p) => {
                files.push(p.to_path_buf());
                let f = std::fs::File::open(p).map_err(|e| GeoError::io(p, e))?;
                read_ranges::<u32>(f, p, &mut loader)?
            }
            None => Vec::new(),
        };
        let v6 = match v6 {
            Some(p) => {
                files.push(p.to_path_buf());
                let f = std::fs::File::open(p).map_err(|e| GeoError::io(p, e))?;
                read_ranges::<u128>(f, p, &mut loader)?
            }
            None => Vec::new(),
        };
        Ok(Self::finish(v4, v6, loader, files))
    }

    /// Parses CSV text already in memory; `origin` names it in errors.
    pub fn from_csv(
        v4_csv: &str,
        v6_csv: &str,
        origin: impl AsRef<Path>,
    ) -> Result<AsnTable, GeoError> {
        let origin = origin.as_ref();
        let mut loader = Loader::default();
        let v4 = read_ranges::<u32>(v4_csv.as_bytes(), origin, &mut loader)?;
        let v6 = read_ranges::<u128>(v6_csv.as_bytes(), origin, &mut loader)?;
        Ok(Self::finish(v4, v6, loader, vec![origin.to_path_buf()]))
    }

    fn finish(
        v4: Vec<Range<u32>>,
        v6: Vec<Range<u128>>,
        loader: Loader,
        files: Vec<PathBuf>,
    ) -> AsnTable {
        let stats = AsnStats {
            files,
            v4_ranges: v4.len(),
            v6_ranges: v6.len(),
            organisations: loader.orgs.iter().filter(|o| o.is_some()).count(),
            overlaps_resolved: loader.overlaps,
        };
        let carriers = crate::carriers::CarrierGroups::builtin();
        let groups = loader
            .orgs
            .iter()
            .map(|o| o.as_deref().and_then(|o| carriers.group_of(o)))
            .collect();
        AsnTable {
            v4: Ranges::new(&v4),
            v6: Ranges::new(&v6),
            orgs: loader.orgs,
            groups,
            stats,
        }
    }

    pub fn stats(&self) -> &AsnStats {
        &self.stats
    }

    /// The AS an address belongs to, if any range covers it.
    pub fn lookup(&self, ip: IpAddr) -> Option<AsnInfo> {
        let (asn, org) = match ip {
            IpAddr::V4(a) => self.v4.find(u32::from(a))?,
            IpAddr::V6(a) => self.v6.find(u128::from(a))?,
        };
        Some(AsnInfo {
            asn,
            organisation: self.orgs.get(org as usize).cloned().flatten(),
            group: self.groups.get(org as usize).copied().flatten(),
        })
    }
}

fn field<'a>(
    rec: &'a csv::ByteRecord,
    i: usize,
    name: &'static str,
    path: &Path,
    line: u64,
) -> Result<&'a str, GeoError> {
    let raw = rec.get(i).unwrap_or_default();
    std::str::from_utf8(raw)
        .map_err(|_| GeoError::line(path, line, LineError::NotUtf8 { field: name }))
}

fn read_ranges<F: Family>(
    input: impl Read,
    path: &Path,
    loader: &mut Loader,
) -> Result<Vec<Range<F>>, GeoError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(input);
    let mut rec = csv::ByteRecord::new();
    // (start, end, asn, org, line) while reading.
    let mut rows: Vec<(Range<F>, u64)> = Vec::new();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(source) => {
                return Err(GeoError::Csv {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
        let line = rec.position().map_or(0, |p| p.line());
        if rec.len() == 1
            && rec
                .get(0)
                .is_some_and(|f| f.iter().all(u8::is_ascii_whitespace))
        {
            continue; // blank line
        }
        if rec.len() != 4 {
            return Err(GeoError::line(
                path,
                line,
                LineError::FieldCount { found: rec.len() },
            ));
        }
        let addr = |i: usize, name: &'static str| -> Result<F, GeoError> {
            let s = field(&rec, i, name, path, line)?.trim();
            F::parse(s).map_err(|found| {
                let kind = if found == 0 {
                    LineError::BadAddress {
                        field: name,
                        value: s.to_string(),
                    }
                } else {
                    LineError::WrongFamily {
                        value: s.to_string(),
                        expected: F::VERSION,
                        found,
                    }
                };
                GeoError::line(path, line, kind)
            })
        };
        let start = addr(0, "start")?;
        let end = addr(1, "end")?;
        if start > end {
            return Err(GeoError::line(
                path,
                line,
                LineError::StartAfterEnd {
                    start: start_text::<F>(start),
                    end: start_text::<F>(end),
                },
            ));
        }
        let asn_text = field(&rec, 2, "asn", path, line)?.trim();
        let asn_digits = asn_text
            .strip_prefix("AS")
            .or_else(|| asn_text.strip_prefix("as"))
            .unwrap_or(asn_text);
        let asn: u32 = asn_digits.parse().map_err(|_| {
            GeoError::line(
                path,
                line,
                LineError::BadAsn {
                    value: asn_text.to_string(),
                },
            )
        })?;
        let org = loader.org_id(field(&rec, 3, "organisation", path, line)?.trim());
        rows.push((
            Range {
                start,
                end,
                asn,
                org,
            },
            line,
        ));
    }
    if !rows.windows(2).all(|w| w[0].0.start <= w[1].0.start) {
        // Outer (wider) ranges first when two start at the same address.
        rows.sort_by(|a, b| a.0.start.cmp(&b.0.start).then(b.0.end.cmp(&a.0.end)));
    }
    let (ranges, overlaps) = flatten(rows.into_iter().map(|(r, _)| r));
    loader.overlaps += overlaps;
    Ok(ranges)
}

fn start_text<F: Family>(v: F) -> String {
    if F::VERSION == 4 {
        Ipv4Addr::from(v.as_u128() as u32).to_string()
    } else {
        Ipv6Addr::from(v.as_u128()).to_string()
    }
}

/// Turns ranges sorted by start into non-overlapping ones: where ranges
/// overlap, the one starting later wins; an outer range resumes after an
/// inner one ends. Returns the ranges and how many inputs overlapped.
fn flatten<F: Family>(sorted: impl Iterator<Item = Range<F>>) -> (Vec<Range<F>>, usize) {
    let mut out: Vec<Range<F>> = Vec::new();
    let mut open: Vec<Range<F>> = Vec::new(); // enclosing ranges, outermost first
    let mut pos: Option<u128> = Some(0); // first address not yet emitted
    let mut overlaps = 0;

    fn emit<F: Family>(out: &mut Vec<Range<F>>, r: &Range<F>, from: u128, to: u128) {
        if from <= to {
            out.push(Range {
                start: F::from_u128(from),
                end: F::from_u128(to),
                ..*r
            });
        }
    }

    for r in sorted {
        let start = r.start.as_u128();
        while let Some(top) = open.last().copied() {
            let top_end = top.end.as_u128();
            if top_end < start {
                if let Some(p) = pos {
                    emit(&mut out, &top, p.max(top.start.as_u128()), top_end);
                }
                pos = pos
                    .map(|p| p.max(top_end.saturating_add(1)))
                    .filter(|_| top_end < u128::MAX);
                open.pop();
            } else {
                // `top` covers `start`: emit its part before `r`.
                overlaps += 1;
                if let Some(p) = pos {
                    if start > 0 {
                        emit(&mut out, &top, p.max(top.start.as_u128()), start - 1);
                    }
                    pos = Some(p.max(start));
                }
                break;
            }
        }
        open.push(r);
    }
    while let Some(top) = open.pop() {
        let top_end = top.end.as_u128();
        if let Some(p) = pos {
            emit(&mut out, &top, p.max(top.start.as_u128()), top_end);
        }
        pos = pos
            .map(|p| p.max(top_end.saturating_add(1)))
            .filter(|_| top_end < u128::MAX);
    }
    (out, overlaps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(start: u32, end: u32, asn: u32) -> Range<u32> {
        Range {
            start,
            end,
            asn,
            org: 0,
        }
    }

    #[test]
    fn disjoint_ranges_pass_through() {
        let (out, n) = flatten([r(0, 9, 1), r(20, 29, 2)].into_iter());
        assert_eq!(out, vec![r(0, 9, 1), r(20, 29, 2)]);
        assert_eq!(n, 0);
    }

    #[test]
    fn nested_range_wins_and_outer_resumes() {
        let (out, n) = flatten([r(0, 100, 1), r(10, 20, 2), r(200, 300, 3)].into_iter());
        assert_eq!(
            out,
            vec![r(0, 9, 1), r(10, 20, 2), r(21, 100, 1), r(200, 300, 3)]
        );
        assert_eq!(n, 1);
    }

    #[test]
    fn partial_overlap_later_range_wins() {
        // As in the real file: 214.95.0.0-215.0.255.255 then 215.0.0.0-215.1.3.255.
        let (out, n) = flatten([r(0, 50, 1), r(40, 80, 2)].into_iter());
        assert_eq!(out, vec![r(0, 39, 1), r(40, 80, 2)]);
        assert_eq!(n, 1);
    }

    #[test]
    fn same_start_inner_wins() {
        let (out, _) = flatten([r(10, 100, 1), r(10, 20, 2)].into_iter());
        assert_eq!(out, vec![r(10, 20, 2), r(21, 100, 1)]);
    }

    #[test]
    fn ranges_up_to_the_last_address() {
        let (out, _) = flatten([r(0, u32::MAX, 1), r(u32::MAX - 1, u32::MAX, 2)].into_iter());
        assert_eq!(
            out,
            vec![r(0, u32::MAX - 2, 1), r(u32::MAX - 1, u32::MAX, 2)]
        );
        let (out, _) = flatten(
            [Range {
                start: 0u128,
                end: u128::MAX,
                asn: 7,
                org: 0,
            }]
            .into_iter(),
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].end, u128::MAX);
    }

    #[test]
    fn lookup_finds_range_boundaries() {
        let ranges = Ranges::new(&[r(10, 20, 1), r(30, 40, 2)]);
        assert_eq!(ranges.find(9), None);
        assert_eq!(ranges.find(10), Some((1, 0)));
        assert_eq!(ranges.find(20), Some((1, 0)));
        assert_eq!(ranges.find(21), None);
        assert_eq!(ranges.find(40), Some((2, 0)));
        assert_eq!(ranges.find(41), None);
        assert_eq!(Ranges::<u32>::new(&[]).find(5), None);
    }

    #[test]
    fn fenced_search_agrees_with_a_linear_scan() {
        // 1000 ranges of varying width with gaps: every block boundary,
        // every range edge and every gap is probed.
        let mut v = Vec::new();
        let mut at = 5u32;
        for i in 0..1000u32 {
            let width = i % 7;
            v.push(r(at, at + width, i));
            at += width + 1 + (i % 3);
        }
        let ranges = Ranges::new(&v);
        for ip in 0..at + 5 {
            let want = v
                .iter()
                .find(|x| x.start <= ip && ip <= x.end)
                .map(|x| (x.asn, 0));
            assert_eq!(ranges.find(ip), want, "{ip}");
        }
    }
}

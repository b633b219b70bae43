//! The prefilter's plan: the literals each catalogue pattern requires (its
//! needles) and the anchors chosen to find them, computed from the
//! patterns alone. Computing it parses every pattern and weighs every
//! piece of every needle against healthy logs, milliseconds for the
//! built-in catalogue and more inside gVisor, where every cell's agent
//! would pay them; so the build script computes the built-in catalogue's
//! plan once (it includes this file) and the binary reads it
//! (`SignatureSet::builtin`). A user's catalogue is planned when it is
//! loaded.
//!
//! This file imports nothing from the crate: the build script compiles it
//! on its own.

use std::collections::{BTreeMap, BinaryHeap};

use regex_syntax::hir::{Class, Hir, HirKind};
use serde::{Deserialize, Serialize};

/// Literals shorter than this make a prefilter that rules out too little.
const MIN_NEEDLE: usize = 3;
/// The most strings a finite part of a pattern may expand to (`[Ff]ailed
/// to \\?"` is four) before it is treated as unknown text.
const MAX_EXPANSION: usize = 16;
/// The most needles one anchor stands for: the needles anchored at a place
/// are compared one by one.
pub(super) const FAN_OUT: usize = 8;
/// The length of an anchor (a needle shorter than this is its own).
const ANCHOR: usize = 4;
/// Healthy dockerd logs (real and source-written, text and JSON): anchors
/// that occur in them less often are preferred. A model of ordinary log
/// text for speed only.
const HEALTHY: [&str; 3] = [
    include_str!("../../../fixtures/logs/ready/dockerd-20.10-native.log"),
    include_str!("../../../fixtures/logs/ready/dockerd-26.1-runsc-20240729.log"),
    include_str!("../../../fixtures/logs/ready/dockerd-26.1-json-from-source.log"),
];

/// Which entries a line could match, as data: the anchors to search for,
/// the needles each anchor stands for, and the entries each needle names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Plan {
    /// Every anchor, in the order the search reports them.
    pub anchors: Vec<Vec<u8>>,
    /// For anchor `i`, the needles that may begin `offset` bytes before
    /// it: `anchored[at[i]..at[i + 1]]`.
    pub anchored: Vec<Anchored>,
    /// See `anchored`.
    pub at: Vec<u32>,
    /// Every needle.
    pub needles: Vec<Vec<u8>>,
    /// The entries that need needle `i`: `owners[starts[i]..starts[i + 1]]`.
    pub owners: Vec<u32>,
    /// See `owners`.
    pub starts: Vec<u32>,
    /// Entries that require no literal of at least [`MIN_NEEDLE`] bytes:
    /// candidates on every line.
    pub unfiltered: Vec<u32>,
}

impl Plan {
    /// The plan for `patterns`, entry `i` being the `i`th pattern. A
    /// pattern that does not parse, or requires no literal of at least
    /// [`MIN_NEEDLE`] bytes, is a candidate on every line.
    pub fn new<'a>(patterns: impl Iterator<Item = &'a str>) -> Plan {
        let mut owners_of: BTreeMap<Vec<u8>, Vec<u32>> = BTreeMap::new();
        let mut unfiltered = Vec::new();
        for (entry, pattern) in patterns.enumerate() {
            let entry = u32::try_from(entry).expect("a catalogue has fewer than 2^32 entries");
            match needles(pattern) {
                Some(needles) => {
                    for needle in needles {
                        owners_of.entry(needle).or_default().push(entry);
                    }
                }
                None => unfiltered.push(entry),
            }
        }
        let mut owners = Vec::new();
        let mut starts = vec![0];
        for entries in owners_of.values() {
            owners.extend(entries);
            starts.push(u32::try_from(owners.len()).expect("fewer than 2^32 literals"));
        }
        let needles: Vec<Vec<u8>> = owners_of.into_keys().collect();
        // A piece chosen twice (for needles with no other piece left) is
        // one anchor with the needles of both.
        let mut merged: BTreeMap<Vec<u8>, Vec<Anchored>> = BTreeMap::new();
        for (anchor, list) in anchors(&needles) {
            merged.entry(anchor).or_default().extend(list);
        }
        let mut anchored = Vec::new();
        let mut at = vec![0];
        for list in merged.values() {
            anchored.extend(list.iter().copied());
            at.push(u32::try_from(anchored.len()).expect("fewer than 2^32 anchors"));
        }
        Plan {
            anchors: merged.into_keys().collect(),
            anchored,
            at,
            needles,
            owners,
            starts,
            unfiltered,
        }
    }
}

/// A needle that may begin `offset` bytes before an anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Anchored {
    /// The needle, by index.
    pub needle: u32,
    /// How many bytes before the anchor it begins.
    pub offset: u32,
}

/// Anchors for `needles`, each with the needles it anchors: every needle
/// holds exactly one chosen anchor. Greedy: the [`ANCHOR`]-byte piece that
/// holds the most needles not yet anchored (counting at most [`FAN_OUT`])
/// for the fewest occurrences in [`HEALTHY`] (then the smallest piece, for
/// a stable result), which takes at most [`FAN_OUT`] of them; a needle
/// shorter than [`ANCHOR`] is its own piece.
fn anchors(needles: &[Vec<u8>]) -> Vec<(Vec<u8>, Vec<Anchored>)> {
    // Every distinct piece of every needle with its first offset, as a
    // `PieceKey` (pieces are 3 or 4 bytes).
    let pieces_of = |needle: &[u8]| -> Vec<(usize, PieceKey)> {
        if needle.len() < ANCHOR {
            return vec![(0, PieceKey::of(needle))];
        }
        let mut pieces: Vec<(usize, PieceKey)> = needle
            .windows(ANCHOR)
            .enumerate()
            .map(|(offset, piece)| (offset, PieceKey::of(piece)))
            .collect();
        pieces.sort_unstable_by_key(|&(offset, key)| (key, offset));
        pieces.dedup_by_key(|(_, key)| *key);
        pieces
    };
    let per_needle: Vec<Vec<(usize, PieceKey)>> = needles.iter().map(|n| pieces_of(n)).collect();
    // Sorted as the bytes sort, for a stable choice.
    let mut pieces: Vec<PieceKey> = per_needle.iter().flatten().map(|&(_, key)| key).collect();
    pieces.sort_unstable();
    pieces.dedup();
    let id = |key: PieceKey| pieces.binary_search(&key).ok();
    // (piece, offset) of each needle, and the needles holding each piece.
    let held: Vec<Vec<(usize, usize)>> = per_needle
        .iter()
        .map(|ps| {
            ps.iter()
                .map(|&(o, key)| (id(key).expect("every piece is listed"), o))
                .collect()
        })
        .collect();
    let mut holders: Vec<Vec<usize>> = vec![Vec::new(); pieces.len()];
    for (needle, ps) in held.iter().enumerate() {
        for &(piece, _) in ps {
            holders[piece].push(needle);
        }
    }
    let mut seen = vec![0usize; pieces.len()];
    for text in HEALTHY {
        for len in [ANCHOR, 3] {
            for window in text.as_bytes().windows(len) {
                if let Some(piece) = id(PieceKey::of(window)) {
                    seen[piece] += 1;
                }
            }
        }
    }
    let mut open: Vec<usize> = holders.iter().map(Vec::len).collect();
    let mut anchored = vec![false; needles.len()];
    let mut chosen = Vec::new();
    // A piece anchors at most FAN_OUT needles, so a place where it occurs
    // costs at most that many comparisons (`ror ` is in every logrus error
    // line); it is chosen once, unless no other piece is left for a needle.
    // Unused pieces by priority, lazily: a piece's score only falls, so a
    // popped entry whose score is still current is the best unused piece.
    let mut unused: BinaryHeap<Priority> = (0..pieces.len())
        .filter(|&piece| open[piece] > 0)
        .map(|piece| Priority {
            score: open[piece].min(FAN_OUT),
            seen: seen[piece],
            piece,
        })
        .collect();
    loop {
        let score = |piece: usize| open[piece].min(FAN_OUT);
        let mut best = None;
        while let Some(top) = unused.pop() {
            let now = score(top.piece);
            if now == top.score {
                best = Some(top.piece);
                break;
            }
            if now > 0 {
                unused.push(Priority { score: now, ..top });
            }
        }
        // No unused piece holds an open needle: reuse the best used one.
        let best = best.or_else(|| {
            (0..pieces.len())
                .filter(|&piece| open[piece] > 0)
                .map(|piece| Priority {
                    score: score(piece),
                    seen: seen[piece],
                    piece,
                })
                .max()
                .map(|p| p.piece)
        });
        let Some(best) = best else {
            break;
        };
        let mut list = Vec::new();
        for &needle in &holders[best] {
            if anchored[needle] {
                continue;
            }
            if list.len() == FAN_OUT {
                break;
            }
            anchored[needle] = true;
            let offset = held[needle]
                .iter()
                .find(|(p, _)| *p == best)
                .map(|(_, o)| *o)
                .expect("the needle holds the piece");
            list.push(Anchored {
                needle: u32::try_from(needle).expect("fewer than 2^32 needles"),
                offset: u32::try_from(offset).expect("needles are shorter than 4 GiB"),
            });
            for &(piece, _) in &held[needle] {
                open[piece] -= 1;
            }
        }
        chosen.push((pieces[best].bytes(), list));
    }
    chosen
}

/// A piece of 3 or 4 bytes as one number that sorts as the bytes do (a
/// shorter piece before the longer ones it begins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct PieceKey(u64);

impl PieceKey {
    fn of(piece: &[u8]) -> PieceKey {
        debug_assert!(piece.len() <= ANCHOR);
        let mut key = 0u64;
        for (i, &byte) in piece.iter().enumerate() {
            key |= u64::from(byte) << (56 - 8 * i);
        }
        PieceKey(key | piece.len() as u64)
    }

    fn bytes(self) -> Vec<u8> {
        let len = (self.0 & 0xff) as usize;
        (0..len).map(|i| (self.0 >> (56 - 8 * i)) as u8).collect()
    }
}

/// A piece's place in the greedy choice of [`anchors`]: more open needles
/// (at most [`FAN_OUT`]) per occurrence in [`HEALTHY`] first, compared
/// without division, then the smaller piece.
#[derive(Debug, PartialEq, Eq)]
struct Priority {
    score: usize,
    seen: usize,
    piece: usize,
}

impl Ord for Priority {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.score * (1 + other.seen))
            .cmp(&(other.score * (1 + self.seen)))
            .then(other.piece.cmp(&self.piece))
    }
}

impl PartialOrd for Priority {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The literals one of which every match of `pattern` contains, without
/// those that contain another of them (the shorter is found wherever the
/// longer is); `None` when there are none of at least [`MIN_NEEDLE`] bytes.
fn needles(pattern: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::parse(pattern).ok()?;
    let mut literals = required_literals(&hir)?;
    if literals.iter().any(|l| l.len() < MIN_NEEDLE) {
        return None;
    }
    literals.sort_by_key(Vec::len);
    let mut kept: Vec<Vec<u8>> = Vec::new();
    for literal in literals {
        if !kept
            .iter()
            .any(|k| memchr::memmem::find(&literal, k).is_some())
        {
            kept.push(literal);
        }
    }
    Some(kept)
}

/// Literals one of which every match of `hir` contains, if there are any.
fn required_literals(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Literal(literal) => Some(vec![literal.0.to_vec()]),
        HirKind::Capture(capture) => required_literals(&capture.sub),
        HirKind::Repetition(repetition) if repetition.min >= 1 => {
            required_literals(&repetition.sub)
        }
        HirKind::Alternation(branches) => {
            let mut all = Vec::new();
            for branch in branches {
                all.extend(required_literals(branch)?);
            }
            Some(all)
        }
        HirKind::Concat(parts) => {
            // Runs of adjacent finite parts (literals, small classes such
            // as `[Ff]`, optional literals such as `\\?`) are required
            // whole, as the strings they expand to; any part's own
            // requirement holds for the concatenation too. Keep the set
            // whose shortest literal is longest.
            let mut best: Option<Vec<Vec<u8>>> = None;
            let mut consider = |candidate: Vec<Vec<u8>>| {
                let score = |set: &[Vec<u8>]| set.iter().map(Vec::len).min().unwrap_or(0);
                if best.as_ref().is_none_or(|b| score(&candidate) > score(b)) {
                    best = Some(candidate);
                }
            };
            let mut run: Vec<Vec<u8>> = vec![Vec::new()];
            for part in parts {
                if let Some(strings) = finite(part)
                    && let Some(joined) = product(&run, &strings)
                {
                    run = joined;
                    continue;
                }
                if run.iter().any(|s| !s.is_empty()) {
                    consider(std::mem::replace(&mut run, vec![Vec::new()]));
                }
                run = match finite(part) {
                    Some(strings) => strings,
                    None => {
                        if let Some(set) = required_literals(part) {
                            consider(set);
                        }
                        vec![Vec::new()]
                    }
                };
            }
            if run.iter().any(|s| !s.is_empty()) {
                consider(run);
            }
            best
        }
        _ => None,
    }
}

/// Every string `hir` matches, when they are few (at most
/// [`MAX_EXPANSION`]); zero-width assertions match the empty string.
fn finite(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Some(vec![Vec::new()]),
        HirKind::Literal(literal) => Some(vec![literal.0.to_vec()]),
        HirKind::Capture(capture) => finite(&capture.sub),
        HirKind::Class(class) => class_strings(class),
        HirKind::Repetition(repetition) if repetition.min == 0 && repetition.max == Some(1) => {
            let mut strings = finite(&repetition.sub)?;
            strings.push(Vec::new());
            (strings.len() <= MAX_EXPANSION).then_some(strings)
        }
        HirKind::Alternation(branches) => {
            let mut all = Vec::new();
            for branch in branches {
                all.extend(finite(branch)?);
                if all.len() > MAX_EXPANSION {
                    return None;
                }
            }
            Some(all)
        }
        HirKind::Concat(parts) => parts
            .iter()
            .try_fold(vec![Vec::new()], |acc, part| product(&acc, &finite(part)?)),
        HirKind::Repetition(_) => None,
    }
}

/// The characters of a small class (`[Ff]`) as strings.
fn class_strings(class: &Class) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    match class {
        Class::Unicode(class) => {
            for range in class.ranges() {
                for c in range.start()..=range.end() {
                    let mut buf = [0; 4];
                    out.push(c.encode_utf8(&mut buf).as_bytes().to_vec());
                    if out.len() > 4 {
                        return None;
                    }
                }
            }
        }
        Class::Bytes(class) => {
            for range in class.ranges() {
                for b in range.start()..=range.end() {
                    out.push(vec![b]);
                    if out.len() > 4 {
                        return None;
                    }
                }
            }
        }
    }
    Some(out)
}

/// Every `a` followed by every `b`, unless that is too many strings.
fn product(a: &[Vec<u8>], b: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    if a.len() * b.len() > MAX_EXPANSION {
        return None;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            let mut s = x.clone();
            s.extend_from_slice(y);
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    Some(out)
}
#[cfg(test)]
mod tests {
    use super::*;

    #[rstest::rstest]
    #[case::literal("abc", Some(vec!["abc"]))]
    #[case::longest_run("ab.*cdef", Some(vec!["cdef"]))]
    #[case::alternation("foo|b(aaaa|cccc)x", Some(vec!["baaaax", "bccccx", "foo"]))]
    #[case::optional_part_is_expanded("(xyz)?abc", Some(vec!["abc", "xyzabc"]))]
    #[case::small_class_is_expanded("[Ff]ailed to", Some(vec!["Failed to", "failed to"]))]
    #[case::escaped_quote(r#"at \\?"/x"#, Some(vec![r#"at "/x"#, r#"at \"/x"#]))]
    #[case::class_only("[a-z]+", None)]
    #[case::one_branch_without_literal("abc|[0-9]+", None)]
    #[case::run_breaks_at_unknown_text(r"parse (bip|cidr) \S+ failed", Some(vec!["parse bip ", "parse cidr "]))]
    fn required_literals_of_patterns(#[case] pattern: &str, #[case] want: Option<Vec<&str>>) {
        let hir = regex_syntax::parse(pattern).unwrap();
        let mut got = required_literals(&hir);
        if let Some(got) = &mut got {
            got.sort();
            got.dedup();
        }
        let mut want: Option<Vec<Vec<u8>>> =
            want.map(|w| w.iter().map(|s| s.as_bytes().to_vec()).collect());
        if let Some(want) = &mut want {
            want.sort();
        }
        assert_eq!(got, want);
    }
}

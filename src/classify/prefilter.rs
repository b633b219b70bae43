//! The literal prefilter in front of the catalogue's patterns: for each
//! entry, literals one of which every line its pattern matches contains
//! (its needles), and a search that names the entries a line could match
//! (its candidates). A line runs only its candidates' patterns, and a line
//! that contains no needle runs none.
//!
//! The 451 entries have over a thousand needles (1284): an
//! Aho-Corasick automaton over all of them runs through megabytes of
//! table, and packed (Teddy, SIMD) searches verify ever more false
//! candidates as they hold more (measured: the packed searches took half
//! of triage's time on error-heavy logs). So the search looks for anchors
//! instead: four-byte pieces of the needles, each needle holding one,
//! chosen greedily to cover the most needles with pieces that are rare in
//! healthy dockerd logs, at most eight needles a piece (242 pieces cover
//! them all). Four-byte anchors are found by a hashed look-up at every
//! position of a line (a bit set, then a small table), which the
//! processor runs for several positions at once, where an automaton's
//! walk waits on each byte (an automaton is used for a user's catalogue
//! whose needles are shorter). Every place an anchor occurs is verified
//! against the needles anchored there. Which pieces are chosen only
//! decides the speed, never the result: a needle's anchor occurs wherever
//! the needle does.
//!
//! The plan (needles and anchors) is data computed from the patterns
//! alone (`plan.rs`); the built-in catalogue's is computed by the build
//! script, so a process pays only for this search's small automaton.
//!
//! It must not decide what a match means (that is `matching.rs`).

mod plan;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use plan::{Anchored, Plan};

/// Candidates kept on the stack; a line with more spills to the heap.
const INLINE: usize = 16;

/// The built-in catalogue's plan, as the build script computed it from
/// `src/signatures.yaml` (JSON).
const BUILTIN_PLAN: &str = include_str!(concat!(env!("OUT_DIR"), "/prefilter-plan.json"));

/// A search for the anchors of every entry's needles, and the entries
/// each needle stands for.
#[derive(Debug, Clone)]
pub(super) struct Prefilter {
    /// A search over every anchor that reports each place any of them
    /// occurs, overlapping ones too; `None` when it could not be built
    /// (every entry is then unfiltered).
    search: Option<AnchorSearch>,
    /// The needles, anchors and entries the search's reports stand for.
    plan: Plan,
}

impl Prefilter {
    /// The prefilter for `patterns`, entry `i` being the `i`th pattern. A
    /// pattern that does not parse, or requires no literal of at least
    /// three bytes, is a candidate on every line.
    pub(super) fn new<'a>(patterns: impl Iterator<Item = &'a str>) -> Prefilter {
        Prefilter::from_plan(Plan::new(patterns))
    }

    /// The prefilter for the built-in catalogue's patterns, from the plan
    /// the build script made of them: the same as [`Prefilter::new`] over
    /// them (`the_builtin_catalogue_passes_every_check_and_is_what_its_yaml_says`).
    pub(super) fn builtin() -> Prefilter {
        let plan = serde_json::from_str(BUILTIN_PLAN)
            .expect("the build script writes a plan this version reads");
        Prefilter::from_plan(plan)
    }

    fn from_plan(mut plan: Plan) -> Prefilter {
        let search = match GramSearch::new(&plan.anchors) {
            Some(grams) => Some(AnchorSearch::Grams(grams)),
            None => AhoCorasick::builder()
                .kind(Some(AhoCorasickKind::DFA))
                .match_kind(MatchKind::Standard)
                .build(&plan.anchors)
                .ok()
                .map(AnchorSearch::Automaton),
        };
        let search = search.or_else(|| {
            // No automaton for these anchors (too large for the
            // library's limits): every entry runs its pattern.
            plan.unfiltered.extend(plan.owners.iter().copied());
            plan.unfiltered.sort_unstable();
            plan.unfiltered.dedup();
            None
        });
        Prefilter { search, plan }
    }

    /// Whether `other` searches for the same anchors and needles on behalf
    /// of the same entries.
    #[cfg(test)]
    pub(super) fn has_the_plan_of(&self, other: &Prefilter) -> bool {
        self.plan == other.plan
    }

    /// Whether some entry needs no literal, so every line is its candidate.
    #[cfg(test)]
    pub(super) fn has_unfiltered(&self) -> bool {
        !self.plan.unfiltered.is_empty()
    }

    /// Calls `is_match` on each entry whose pattern could match `text`,
    /// once each and in entry order, until it returns true; returns that
    /// entry.
    pub(super) fn first(
        &self,
        text: &str,
        mut is_match: impl FnMut(usize) -> bool,
    ) -> Option<usize> {
        let mut inline = [0u32; INLINE];
        let mut len = 0;
        let mut spilled: Vec<u32> = Vec::new();
        let mut push = |entry: u32| {
            if len < INLINE {
                inline[len] = entry;
                len += 1;
            } else {
                spilled.push(entry);
            }
        };
        for &entry in &self.plan.unfiltered {
            push(entry);
        }
        let bytes = text.as_bytes();
        let mut found = |anchor: usize, start: usize| {
            let anchored = self.plan.at[anchor] as usize..self.plan.at[anchor + 1] as usize;
            for &Anchored { needle, offset } in &self.plan.anchored[anchored] {
                let (needle, offset) = (needle as usize, offset as usize);
                let is_there = start
                    .checked_sub(offset)
                    .is_some_and(|begin| bytes[begin..].starts_with(&self.plan.needles[needle]));
                if is_there {
                    let owners =
                        self.plan.starts[needle] as usize..self.plan.starts[needle + 1] as usize;
                    for &entry in &self.plan.owners[owners] {
                        push(entry);
                    }
                }
            }
        };
        match &self.search {
            Some(AnchorSearch::Grams(grams)) => grams.each(bytes, &mut found),
            Some(AnchorSearch::Automaton(automaton)) => {
                for m in automaton.find_overlapping_iter(text) {
                    found(m.pattern().as_usize(), m.start());
                }
            }
            None => {}
        }
        let candidates: &mut [u32] = if spilled.is_empty() {
            &mut inline[..len]
        } else {
            spilled.extend_from_slice(&inline[..len]);
            &mut spilled
        };
        candidates.sort_unstable();
        let mut previous = None;
        for &entry in candidates.iter() {
            if previous == Some(entry) {
                continue;
            }
            previous = Some(entry);
            if is_match(entry as usize) {
                return Some(entry as usize);
            }
        }
        None
    }
}

/// How the anchors are looked for.
#[derive(Debug, Clone)]
enum AnchorSearch {
    /// Every anchor is four bytes long: a hashed look-up at each position.
    Grams(GramSearch),
    /// Anchors of other lengths (a user's catalogue with three-byte
    /// needles): an Aho-Corasick automaton.
    Automaton(AhoCorasick),
}

/// Bits in [`GramSearch`]'s filter (a power of two).
const GRAM_FILTER_BITS: usize = 1 << 16;

/// A search for four-byte anchors: at each position of a line the four
/// bytes there, read as one integer, are hashed into a bit set that holds
/// the anchors' hashes, and only where the bit is set looked up in a small
/// table of the anchors. Unlike an automaton's walk, where each step waits
/// for the last, the positions are independent, so the processor overlaps
/// them; and a few hundred anchors set under one bit in a hundred, so
/// nearly every position ends at its bit.
#[derive(Debug, Clone)]
struct GramSearch {
    /// Bit `gram_hash(g)` is set for every anchor `g`.
    filter: Box<[u64]>,
    /// An open-addressed table of the anchors: `(gram, index)`, slot
    /// `slot_hash(gram)` or the next free one after it; empty slots hold
    /// index `u32::MAX`.
    slots: Box<[(u32, u32)]>,
}

impl GramSearch {
    /// The search for `anchors`, when each is four bytes long.
    fn new(anchors: &[Vec<u8>]) -> Option<GramSearch> {
        if anchors.is_empty() || anchors.iter().any(|a| a.len() != 4) {
            return None;
        }
        let mut filter = vec![0u64; GRAM_FILTER_BITS / 64].into_boxed_slice();
        let size = (anchors.len() * 4).next_power_of_two();
        let mut slots = vec![(0u32, u32::MAX); size].into_boxed_slice();
        for (index, anchor) in anchors.iter().enumerate() {
            let gram = u32::from_le_bytes([anchor[0], anchor[1], anchor[2], anchor[3]]);
            let bit = gram_hash(gram);
            filter[bit / 64] |= 1 << (bit % 64);
            let mut slot = slot_hash(gram, size);
            while slots[slot].1 != u32::MAX {
                slot = (slot + 1) & (size - 1);
            }
            slots[slot] = (gram, u32::try_from(index).ok()?);
        }
        Some(GramSearch { filter, slots })
    }

    /// Calls `found(anchor, start)` for every place an anchor occurs in
    /// `bytes`.
    fn each(&self, bytes: &[u8], found: &mut impl FnMut(usize, usize)) {
        let size = self.slots.len();
        for start in 0..bytes.len().saturating_sub(3) {
            let gram = read_gram(bytes, start);
            let bit = gram_hash(gram);
            if self.filter[bit / 64] & (1 << (bit % 64)) == 0 {
                continue;
            }
            let mut slot = slot_hash(gram, size);
            loop {
                let (g, anchor) = self.slots[slot];
                if anchor == u32::MAX {
                    break;
                }
                if g == gram {
                    found(anchor as usize, start);
                    break;
                }
                slot = (slot + 1) & (size - 1);
            }
        }
    }
}

/// The four bytes at `start` as one integer (one unaligned load).
#[inline]
fn read_gram(bytes: &[u8], start: usize) -> u32 {
    let window: [u8; 4] = bytes[start..start + 4]
        .try_into()
        .expect("four bytes are four bytes");
    u32::from_le_bytes(window)
}

/// A multiplicative hash of a four-byte gram into the filter's bits.
fn gram_hash(gram: u32) -> usize {
    (gram.wrapping_mul(0x9E37_79B1) >> (32 - GRAM_FILTER_BITS.trailing_zeros())) as usize
}

/// Another multiplicative hash of a gram into a table of `size` slots (a
/// power of two).
fn slot_hash(gram: u32, size: usize) -> usize {
    (gram.wrapping_mul(0x85EB_CA77) >> (32 - size.trailing_zeros())) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every candidate `first` offers, in the order it offers them.
    fn candidates(p: &Prefilter, text: &str) -> Vec<usize> {
        let mut seen = Vec::new();
        p.first(text, |entry| {
            seen.push(entry);
            false
        });
        seen
    }

    /// Every (anchor, start) the gram search reports, sorted.
    fn gram_places(grams: &GramSearch, text: &str) -> Vec<(usize, usize)> {
        let mut places = Vec::new();
        grams.each(text.as_bytes(), &mut |anchor, start| {
            places.push((anchor, start))
        });
        places.sort_unstable();
        places
    }

    #[test]
    fn the_gram_search_finds_what_an_automaton_finds() {
        let plan: Plan = serde_json::from_str(BUILTIN_PLAN).unwrap();
        let grams = GramSearch::new(&plan.anchors).expect("the built-in anchors are four bytes");
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&plan.anchors)
            .unwrap();
        let mut lines = 0;
        for dir in std::fs::read_dir("fixtures/logs").unwrap() {
            let Ok(logs) = std::fs::read_dir(dir.unwrap().path().join("match")) else {
                continue;
            };
            for log in logs {
                let text = std::fs::read(log.unwrap().path()).unwrap();
                for line in String::from_utf8_lossy(&text).lines() {
                    let mut want: Vec<(usize, usize)> = automaton
                        .find_overlapping_iter(line)
                        .map(|m| (m.pattern().as_usize(), m.start()))
                        .collect();
                    want.sort_unstable();
                    assert_eq!(gram_places(&grams, line), want, "{line}");
                    lines += 1;
                }
            }
        }
        assert!(lines > 1000, "{lines} lines");
        // Anchors at both ends, overlapping, and text shorter than one.
        let first = String::from_utf8(plan.anchors[0].clone()).unwrap();
        let last = String::from_utf8(plan.anchors.last().unwrap().clone()).unwrap();
        let text = format!("{first}{first}{last}");
        assert_eq!(gram_places(&grams, &text).len(), 3);
        assert!(gram_places(&grams, "abc").is_empty());
        assert!(GramSearch::new(&[b"abc".to_vec()]).is_none());
    }

    #[test]
    fn a_pattern_without_a_long_literal_is_a_candidate_on_every_line() {
        let p = Prefilter::new(["abc", "x[0-9]", "[Dd]ef"].into_iter());
        assert!(p.has_unfiltered());
        assert_eq!(candidates(&p, "nothing here"), [1]);
        assert_eq!(candidates(&p, "xx Def yy abc"), [0, 1, 2]);
        assert_eq!(candidates(&p, "de"), [1]);
        let p = Prefilter::new(["abc", "[Dd]ef"].into_iter());
        assert!(!p.has_unfiltered());
        assert_eq!(candidates(&p, "de"), Vec::<usize>::new());
    }

    #[test]
    fn candidates_come_once_each_in_entry_order_and_stop_at_a_match() {
        // Entry 2's literal inside entry 0's, entry 1 twice in the line.
        let p = Prefilter::new(["cannot stat /x", "boom", "stat /x"].into_iter());
        assert_eq!(candidates(&p, "boom: cannot stat /x: boom"), [0, 1, 2]);
        assert_eq!(p.first("boom: cannot stat /x", |e| e >= 1), Some(1));
        assert_eq!(p.first("boom: cannot stat /x", |_| false), None);
    }

    #[test]
    fn many_entries_name_only_their_own_candidates() {
        // More candidates than fit on the stack, and more needles sharing a
        // piece (`numb`) than one anchor stands for.
        let patterns: Vec<String> = (0..300).map(|i| format!("needle number {i:03}")).collect();
        let p = Prefilter::new(patterns.iter().map(String::as_str));
        assert_eq!(candidates(&p, "… needle number 299 …"), [299]);
        assert_eq!(candidates(&p, "needle number"), Vec::<usize>::new());
        let all = patterns.join(" ");
        assert_eq!(candidates(&p, &all), (0..300).collect::<Vec<_>>());
    }

    /// `error` is in every error line: however many needles hold a piece,
    /// a place where one anchor occurs is compared with at most FAN_OUT
    /// of them, and every needle is still found.
    #[test]
    fn an_anchor_stands_for_at_most_fan_out_needles() {
        let patterns: Vec<String> = (0..40).map(|i| format!("error: case {i:02}")).collect();
        let p = Prefilter::new(patterns.iter().map(String::as_str));
        assert!(
            p.plan
                .at
                .windows(2)
                .all(|w| (w[1] - w[0]) as usize <= plan::FAN_OUT)
        );
        assert_eq!(candidates(&p, "level=error msg=\"x\""), Vec::<usize>::new());
        for (i, pattern) in patterns.iter().enumerate() {
            assert_eq!(candidates(&p, &format!("… {pattern} …")), [i]);
        }
    }
}

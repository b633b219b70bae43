//! The literal prefilter in front of the catalogue's patterns: for each
//! entry, literals one of which every line its pattern matches contains
//! (its needles), and a search that names the entries a line could match
//! (its candidates). A line runs only its candidates' patterns, and a line
//! that contains no needle runs none.
//!
//! The 426 entries have over a thousand needles (1249): an
//! Aho-Corasick automaton over all of them runs through megabytes of
//! table, and packed (Teddy, SIMD) searches verify ever more false
//! candidates as they hold more (measured: the packed searches took half
//! of triage's time on error-heavy logs). So one small automaton looks for
//! anchors instead: four-byte pieces of the needles, each needle holding
//! one, chosen greedily to cover the most needles with pieces that are
//! rare in healthy dockerd logs, at most eight needles a piece
//! (234 pieces cover them all). Every place an anchor occurs is
//! verified against the needles anchored there. Which pieces are chosen
//! only decides the speed, never the result: a needle's anchor occurs
//! wherever the needle does.
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
    /// One automaton over every anchor that reports each place any of
    /// them occurs, overlapping ones too; `None` when it could not be
    /// built (every entry is then unfiltered).
    search: Option<AhoCorasick>,
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
        let search = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::DFA))
            .match_kind(MatchKind::Standard)
            .build(&plan.anchors);
        let search = search.ok().or_else(|| {
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
        for found in self
            .search
            .iter()
            .flat_map(|s| s.find_overlapping_iter(text))
        {
            let anchor = found.pattern().as_usize();
            let anchored = self.plan.at[anchor] as usize..self.plan.at[anchor + 1] as usize;
            for &Anchored { needle, offset } in &self.plan.anchored[anchored] {
                let (needle, offset) = (needle as usize, offset as usize);
                let is_there = found
                    .start()
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

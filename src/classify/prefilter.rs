//! The literal prefilter in front of the catalogue's `RegexSet`: literals
//! such that any line some pattern matches contains at least one of them,
//! found with packed (Teddy, SIMD) searches, so most lines are ruled out at
//! memory speed and never reach the set.
//!
//! The regex crate's own prefilter for a set this size falls back to a
//! byte-at-a-time automaton; literals required anywhere in a pattern are
//! longer and fewer. It must not decide what a match means (that is
//! `matching.rs`).

use aho_corasick::packed;
use regex_syntax::hir::{Class, Hir, HirKind};

/// Literals shorter than this make a prefilter that rules out too little.
const MIN_NEEDLE: usize = 3;
/// Needles per packed searcher: Teddy verifies fewer false candidates with
/// fewer patterns per bucket, and refuses more than 128.
const CHUNK: usize = 64;
/// The most strings a finite part of a pattern may expand to (`[Ff]ailed
/// to \\?"` is four) before it is treated as unknown text.
const MAX_EXPANSION: usize = 16;

/// Packed searches over the needles of a set of patterns.
#[derive(Debug, Clone)]
pub(super) struct Prefilter {
    searchers: Vec<packed::Searcher>,
}

impl Prefilter {
    /// The prefilter for `patterns`, or `None` when some pattern requires
    /// no literal of at least [`MIN_NEEDLE`] bytes (then every line must
    /// run the set).
    pub(super) fn new<'a>(patterns: impl Iterator<Item = &'a str>) -> Option<Prefilter> {
        let mut needles: Vec<Vec<u8>> = Vec::new();
        for pattern in patterns {
            let hir = regex_syntax::parse(pattern).ok()?;
            let literals = required_literals(&hir)?;
            if literals.iter().any(|l| l.len() < MIN_NEEDLE) {
                return None;
            }
            needles.extend(literals);
        }
        // A needle that contains another is redundant: the shorter one is
        // found wherever the longer one is.
        needles.sort_by_key(Vec::len);
        let mut kept: Vec<Vec<u8>> = Vec::new();
        for needle in needles {
            if !kept
                .iter()
                .any(|k| memchr::memmem::find(&needle, k).is_some())
            {
                kept.push(needle);
            }
        }
        let searchers = kept
            .chunks(CHUNK)
            .map(|chunk| {
                packed::Config::new()
                    .match_kind(packed::MatchKind::LeftmostFirst)
                    .builder()
                    .extend(chunk)
                    .build()
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Prefilter { searchers })
    }

    /// Whether some pattern could match `text`.
    pub(super) fn may_match(&self, text: &str) -> bool {
        self.searchers.iter().any(|s| s.find(text).is_some())
    }
}

/// Literals one of which every match of `hir` contains, if there are any.
pub(super) fn required_literals(hir: &Hir) -> Option<Vec<Vec<u8>>> {
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

    #[test]
    fn a_pattern_without_a_long_literal_disables_the_prefilter() {
        assert!(Prefilter::new(["abc", "x[0-9]"].into_iter()).is_none());
        let p = Prefilter::new(["abc", "[Dd]ef"].into_iter()).unwrap();
        assert!(p.may_match("xx Def yy") && p.may_match("abc") && !p.may_match("de"));
    }

    #[test]
    fn many_needles_are_split_over_several_searchers() {
        let patterns: Vec<String> = (0..300).map(|i| format!("needle number {i:03}")).collect();
        let p = Prefilter::new(patterns.iter().map(String::as_str)).unwrap();
        assert!(p.searchers.len() > 1);
        assert!(p.may_match("… needle number 299 …"));
        assert!(!p.may_match("needle number"));
    }
}

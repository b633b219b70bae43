//! Comparing two reports of one scenario (`dindcheck diff BASE.json
//! NEW.json`): the gVisor upgrade check.
//!
//! Cells are matched by their axis values. Because the runtime axis is
//! labelled by version, the same scenario run with the old and the new runsc
//! has no common cells until labels are paired: a [`Pair`] `OLD=NEW`
//! renames the base report's value `OLD` of the `runsc` axis to `NEW`
//! before matching (`AXIS:OLD=NEW` renames a value of another axis). When
//! no pair is given for `runsc` and each report has exactly one, different,
//! runsc label, the two are paired automatically, and the diff says so.
//!
//! Each matched key gets a [`Change`]. Outcomes are ranked as in
//! [`crate::analysis::explain::outcome_rank`] (best first: container-ok, ready,
//! container-failed, daemon-failed, timeout, error), and "good" means ready
//! or container-ok:
//! - **regression**: was good, now ranks lower (container-ok → ready counts:
//!   the container no longer runs);
//! - **fix**: now good, and ranks higher than before (ready → container-ok
//!   counts);
//! - **changed-outcome**: both not good and the outcome differs
//!   (daemon-failed → container-failed: further, but still failing);
//! - **changed-signature**: same failing outcome, different signature
//!   (devices-cgroup-missing → iptables-nft-unsupported: the next check);
//! - **unchanged**; **added** (only in the new report); **removed** (only
//!   in the base).
//!
//! Signatures are compared by id only: two `unknown` failures with other
//! fatal lines count as unchanged, since fatal lines carry container ids.
//!
//! This module computes; `report::diff` renders. Reading the files is the
//! caller's job.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::Serialize;

use crate::analysis::explain::outcome_rank;
use crate::report_format::{CellResult, Outcome, RunReport};
use crate::scenario::RUNSC_AXIS;

/// The schema identifier at the top of a JSON diff.
pub const DIFF_SCHEMA: &str = "dindcheck/diff/v1";

/// Why two reports cannot be compared.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// The reports are of different scenarios (override with `force`).
    #[error(
        "the reports are of different scenarios: base `{base}`, new `{new}` (force the comparison if the rename is deliberate)"
    )]
    ScenarioMismatch {
        /// The base report's scenario.
        base: String,
        /// The new report's scenario.
        new: String,
    },
    /// The reports have different axes, so cells cannot be matched.
    #[error("the reports have different axes: base [{}], new [{}]", base.join(", "), new.join(", "))]
    AxesMismatch {
        /// The base report's axes.
        base: Vec<String>,
        /// The new report's axes.
        new: Vec<String>,
    },
    /// A `--pair` is not `[AXIS:]OLD=NEW`.
    #[error("`{text}` is not a pair OLD=NEW or AXIS:OLD=NEW (e.g. 20221219=20240729)")]
    PairSyntax {
        /// What was given.
        text: String,
    },
    /// A pair names an axis the reports lack.
    #[error("pair {pair}: the reports have no axis `{axis}` (axes: {})", known.join(", "))]
    PairAxis {
        /// The pair as written.
        pair: String,
        /// The axis.
        axis: String,
        /// The reports' axes.
        known: Vec<String>,
    },
    /// A pair names a value a report does not have.
    #[error("pair {pair}: the {side} report has no {axis}={value} (it has: {})", known.join(", "))]
    PairValue {
        /// The pair as written.
        pair: String,
        /// `base` or `new`.
        side: &'static str,
        /// The axis.
        axis: String,
        /// The missing value.
        value: String,
        /// The values the report has.
        known: Vec<String>,
    },
    /// Two cells of one report have the same key after pairing.
    #[error(
        "after pairing, cells `{first}` and `{second}` of the {side} report match the same cell"
    )]
    Collision {
        /// `base` or `new`.
        side: &'static str,
        /// The first cell id.
        first: String,
        /// The second cell id.
        second: String,
    },
}

/// A renaming of one axis value from the base report to the new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pair {
    /// The axis (default `runsc`).
    pub axis: String,
    /// The value in the base report.
    pub base: String,
    /// The value in the new report.
    pub new: String,
}

impl Pair {
    /// Parses `OLD=NEW` (axis `runsc`) or `AXIS:OLD=NEW`.
    ///
    /// # Errors
    /// [`DiffError::PairSyntax`] when either side is empty or `=` is missing.
    pub fn parse(text: &str) -> Result<Pair, DiffError> {
        let bad = || DiffError::PairSyntax {
            text: text.to_owned(),
        };
        let (left, new) = text.split_once('=').ok_or_else(bad)?;
        let (axis, base) = match left.split_once(':') {
            Some((axis, base)) => (axis, base),
            None => (RUNSC_AXIS, left),
        };
        if axis.is_empty() || base.is_empty() || new.is_empty() || new.contains('=') {
            return Err(bad());
        }
        Ok(Pair {
            axis: axis.to_owned(),
            base: base.to_owned(),
            new: new.to_owned(),
        })
    }
}

impl std::fmt::Display for Pair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}={}", self.axis, self.base, self.new)
    }
}

/// What [`diff`] may do beyond the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiffOptions {
    /// Value renamings from base to new, applied before matching.
    pub pairs: Vec<Pair>,
    /// Compare reports of differently named scenarios.
    pub force: bool,
}

/// How one cell changed, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// Was ready or container-ok, now ranks lower.
    Regression,
    /// Now ready or container-ok, and ranks higher than before.
    Fix,
    /// Failing before and after, with another outcome.
    ChangedOutcome,
    /// The same failing outcome with another signature.
    ChangedSignature,
    /// Only in the new report.
    Added,
    /// Only in the base report.
    Removed,
    /// The same outcome and signature.
    Unchanged,
}

impl Change {
    /// Every change, most severe first.
    pub const ALL: [Change; 7] = [
        Change::Regression,
        Change::Fix,
        Change::ChangedOutcome,
        Change::ChangedSignature,
        Change::Added,
        Change::Removed,
        Change::Unchanged,
    ];
}

/// Classifies a matched cell from its base and new verdicts.
pub fn classify(
    base: Outcome,
    base_signature: Option<&str>,
    new: Outcome,
    new_signature: Option<&str>,
) -> Change {
    let good = |o: Outcome| !o.is_failure();
    let (rb, rn) = (outcome_rank(base), outcome_rank(new));
    if good(base) && rn < rb {
        Change::Regression
    } else if good(new) && rn > rb {
        Change::Fix
    } else if base != new {
        Change::ChangedOutcome
    } else if base_signature != new_signature {
        Change::ChangedSignature
    } else {
        Change::Unchanged
    }
}

/// One side of a matched cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellSide {
    /// The cell id in its report.
    pub id: String,
    /// Its outcome.
    pub outcome: Outcome,
    /// Its signature.
    pub signature: Option<String>,
    /// Its fatal line.
    pub fatal_line: Option<String>,
}

impl CellSide {
    fn of(cell: &CellResult) -> CellSide {
        CellSide {
            id: cell.id.clone(),
            outcome: cell.outcome,
            signature: cell.signature.clone(),
            fatal_line: cell.fatal_line.clone(),
        }
    }

    /// `ready`, or `daemon-failed devices-cgroup-missing`.
    pub fn verdict(&self) -> String {
        match &self.signature {
            Some(sig) => format!("{} {sig}", self.outcome.name()),
            None => self.outcome.name().to_owned(),
        }
    }
}

/// One key of the comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellDiff {
    /// How it changed.
    pub change: Change,
    /// The axis values, as the new report labels them.
    pub key: IndexMap<String, String>,
    /// Axis values the base report labels differently (axis → base value).
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub renamed: IndexMap<String, String>,
    /// The base cell, if any.
    pub base: Option<CellSide>,
    /// The new cell, if any.
    pub new: Option<CellSide>,
}

impl CellDiff {
    /// `a=1,b=2,runsc=OLD→NEW`: the key with renamed values shown.
    pub fn label(&self) -> String {
        self.key
            .iter()
            .map(|(axis, value)| match self.renamed.get(axis) {
                Some(old) => format!("{axis}={old}→{value}"),
                None => format!("{axis}={value}"),
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A pair as applied, and whether it was inferred.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedPair {
    /// The renaming.
    #[serde(flatten)]
    pub pair: Pair,
    /// Inferred because each report had one, different, runsc label.
    pub automatic: bool,
}

/// Facts about one of the two reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportSummary {
    /// The scenario's name.
    pub scenario: String,
    /// When it ran.
    pub started_at: String,
    /// The probe depth.
    pub depth: String,
    /// How many cells it has.
    pub cells: usize,
    /// Whether the run was interrupted.
    pub interrupted: bool,
}

impl ReportSummary {
    fn of(report: &RunReport) -> ReportSummary {
        ReportSummary {
            scenario: report.scenario.name.clone(),
            started_at: report.started_at.clone(),
            depth: report.scenario.depth.clone(),
            cells: report.cells.len(),
            interrupted: report.interrupted,
        }
    }
}

/// The comparison of two reports: the document `diff --format json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportDiff {
    /// Always [`DIFF_SCHEMA`].
    pub schema: String,
    /// The base report.
    pub base: ReportSummary,
    /// The new report.
    pub new: ReportSummary,
    /// The renamings applied before matching.
    pub pairs: Vec<AppliedPair>,
    /// Caveats: a depth that differs, an interrupted run.
    pub notes: Vec<String>,
    /// How many keys each change has (every change listed, zeros included).
    pub counts: BTreeMap<Change, usize>,
    /// Every key: base cells in base order, then added cells in new order.
    pub cells: Vec<CellDiff>,
}

impl ReportDiff {
    /// Whether any cell regressed: what makes `diff` exit 1.
    pub fn has_regression(&self) -> bool {
        self.count(Change::Regression) > 0
    }

    /// How many keys have `change`.
    pub fn count(&self, change: Change) -> usize {
        self.counts.get(&change).copied().unwrap_or(0)
    }

    /// The keys with `change`, in report order.
    pub fn with(&self, change: Change) -> impl Iterator<Item = &CellDiff> {
        self.cells.iter().filter(move |c| c.change == change)
    }
}

/// Compares `new` against `base`.
///
/// # Errors
/// [`DiffError`] when the scenarios or axes differ, or a pair does not fit
/// the reports.
pub fn diff(
    base: &RunReport,
    new: &RunReport,
    options: &DiffOptions,
) -> Result<ReportDiff, DiffError> {
    if base.scenario.name != new.scenario.name && !options.force {
        return Err(DiffError::ScenarioMismatch {
            base: base.scenario.name.clone(),
            new: new.scenario.name.clone(),
        });
    }
    let axes = &base.scenario.axes;
    let mut sorted_base = axes.clone();
    let mut sorted_new = new.scenario.axes.clone();
    sorted_base.sort();
    sorted_new.sort();
    if sorted_base != sorted_new {
        return Err(DiffError::AxesMismatch {
            base: axes.clone(),
            new: new.scenario.axes.clone(),
        });
    }
    let pairs = resolve_pairs(base, new, &options.pairs)?;

    let key_of = |cell: &CellResult, rename: bool| -> Vec<String> {
        axes.iter()
            .map(|axis| {
                let value = cell.axes.get(axis).cloned().unwrap_or_default();
                if rename {
                    let renamed = pairs
                        .iter()
                        .find(|p| &p.pair.axis == axis && p.pair.base == value);
                    if let Some(p) = renamed {
                        return p.pair.new.clone();
                    }
                }
                value
            })
            .collect()
    };
    let base_cells = index(base, "base", |c| key_of(c, true))?;
    let new_cells = index(new, "new", |c| key_of(c, false))?;

    let mut cells = Vec::new();
    for (key, b) in &base_cells {
        let n = new_cells.get(key).copied();
        let change = match n {
            Some(n) => classify(
                b.outcome,
                b.signature.as_deref(),
                n.outcome,
                n.signature.as_deref(),
            ),
            None => Change::Removed,
        };
        cells.push(cell_diff(axes, key, change, Some(b), n));
    }
    for (key, n) in &new_cells {
        if !base_cells.contains_key(key) {
            cells.push(cell_diff(axes, key, Change::Added, None, Some(n)));
        }
    }
    let mut counts: BTreeMap<Change, usize> = Change::ALL.iter().map(|c| (*c, 0)).collect();
    for c in &cells {
        *counts.entry(c.change).or_default() += 1;
    }
    Ok(ReportDiff {
        schema: DIFF_SCHEMA.to_owned(),
        base: ReportSummary::of(base),
        new: ReportSummary::of(new),
        notes: notes(base, new),
        pairs,
        counts,
        cells,
    })
}

fn cell_diff(
    axes: &[String],
    key: &[String],
    change: Change,
    base: Option<&CellResult>,
    new: Option<&CellResult>,
) -> CellDiff {
    let mut renamed = IndexMap::new();
    if let Some(b) = base {
        for (axis, value) in axes.iter().zip(key) {
            if let Some(old) = b.axes.get(axis)
                && old != value
            {
                renamed.insert(axis.clone(), old.clone());
            }
        }
    }
    CellDiff {
        change,
        key: axes.iter().cloned().zip(key.iter().cloned()).collect(),
        renamed,
        base: base.map(CellSide::of),
        new: new.map(CellSide::of),
    }
}

/// The report's cells by key, refusing two cells with one key.
fn index<'a>(
    report: &'a RunReport,
    side: &'static str,
    key_of: impl Fn(&CellResult) -> Vec<String>,
) -> Result<IndexMap<Vec<String>, &'a CellResult>, DiffError> {
    let mut cells: IndexMap<Vec<String>, &CellResult> = IndexMap::new();
    for cell in &report.cells {
        if let Some(first) = cells.insert(key_of(cell), cell) {
            return Err(DiffError::Collision {
                side,
                first: first.id.clone(),
                second: cell.id.clone(),
            });
        }
    }
    Ok(cells)
}

/// The values of `axis` in `report`, in first-seen order.
fn values_of(report: &RunReport, axis: &str) -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    for cell in &report.cells {
        if let Some(v) = cell.axes.get(axis)
            && !values.contains(v)
        {
            values.push(v.clone());
        }
    }
    values
}

fn resolve_pairs(
    base: &RunReport,
    new: &RunReport,
    given: &[Pair],
) -> Result<Vec<AppliedPair>, DiffError> {
    let axes = &base.scenario.axes;
    let mut applied = Vec::new();
    for pair in given {
        if !axes.contains(&pair.axis) {
            return Err(DiffError::PairAxis {
                pair: pair.to_string(),
                axis: pair.axis.clone(),
                known: axes.clone(),
            });
        }
        for (side, report, value) in [("base", base, &pair.base), ("new", new, &pair.new)] {
            let known = values_of(report, &pair.axis);
            if !known.contains(value) {
                return Err(DiffError::PairValue {
                    pair: pair.to_string(),
                    side,
                    axis: pair.axis.clone(),
                    value: value.clone(),
                    known,
                });
            }
        }
        applied.push(AppliedPair {
            pair: pair.clone(),
            automatic: false,
        });
    }
    let runsc_paired = given.iter().any(|p| p.axis == RUNSC_AXIS);
    if !runsc_paired && axes.iter().any(|a| a == RUNSC_AXIS) {
        let (b, n) = (values_of(base, RUNSC_AXIS), values_of(new, RUNSC_AXIS));
        if let ([b], [n]) = (b.as_slice(), n.as_slice())
            && b != n
        {
            applied.push(AppliedPair {
                pair: Pair {
                    axis: RUNSC_AXIS.to_owned(),
                    base: b.clone(),
                    new: n.clone(),
                },
                automatic: true,
            });
        }
    }
    Ok(applied)
}

fn notes(base: &RunReport, new: &RunReport) -> Vec<String> {
    let mut notes = Vec::new();
    if base.scenario.name != new.scenario.name {
        notes.push(format!(
            "the scenarios differ (base `{}`, new `{}`); compared because forced",
            base.scenario.name, new.scenario.name
        ));
    }
    if base.scenario.depth != new.scenario.depth {
        notes.push(format!(
            "the probe depth differs (base {}, new {}): ready and container-ok are not comparable",
            base.scenario.depth, new.scenario.depth
        ));
    }
    if base.scenario.sandbox != new.scenario.sandbox {
        notes.push(format!(
            "the sandbox differs (base {}, new {})",
            base.scenario.sandbox, new.scenario.sandbox
        ));
    }
    for (side, report) in [("base", base), ("new", new)] {
        if report.interrupted {
            notes.push(format!(
                "the {side} run was interrupted: its missing cells show as {}",
                if side == "base" { "added" } else { "removed" }
            ));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture_reports::report_fixture as fixture;
    use rstest::rstest;

    fn labels(d: &ReportDiff, change: Change) -> Vec<String> {
        d.with(change).map(CellDiff::label).collect()
    }

    #[rstest]
    #[case(
        Outcome::Ready,
        None,
        Outcome::DaemonFailed,
        Some("x"),
        Change::Regression
    )]
    #[case(Outcome::ContainerOk, None, Outcome::Ready, None, Change::Regression)]
    #[case(
        Outcome::ContainerOk,
        None,
        Outcome::ContainerFailed,
        Some("x"),
        Change::Regression
    )]
    #[case(
        Outcome::Ready,
        None,
        Outcome::ContainerFailed,
        Some("x"),
        Change::Regression
    )]
    #[case(Outcome::Ready, None, Outcome::Timeout, None, Change::Regression)]
    #[case(Outcome::DaemonFailed, Some("x"), Outcome::Ready, None, Change::Fix)]
    #[case(Outcome::Ready, None, Outcome::ContainerOk, None, Change::Fix)]
    #[case(Outcome::Error, None, Outcome::ContainerOk, None, Change::Fix)]
    #[case(
        Outcome::DaemonFailed,
        Some("x"),
        Outcome::ContainerFailed,
        Some("y"),
        Change::ChangedOutcome
    )]
    #[case(
        Outcome::ContainerFailed,
        Some("y"),
        Outcome::Timeout,
        None,
        Change::ChangedOutcome
    )]
    #[case(
        Outcome::DaemonFailed,
        Some("x"),
        Outcome::DaemonFailed,
        Some("y"),
        Change::ChangedSignature
    )]
    #[case(
        Outcome::DaemonFailed,
        Some("x"),
        Outcome::DaemonFailed,
        None,
        Change::ChangedSignature
    )]
    #[case(
        Outcome::DaemonFailed,
        Some("x"),
        Outcome::DaemonFailed,
        Some("x"),
        Change::Unchanged
    )]
    #[case(Outcome::Ready, None, Outcome::Ready, None, Change::Unchanged)]
    #[case(
        Outcome::ContainerOk,
        None,
        Outcome::ContainerOk,
        None,
        Change::Unchanged
    )]
    fn classification(
        #[case] base: Outcome,
        #[case] base_sig: Option<&str>,
        #[case] new: Outcome,
        #[case] new_sig: Option<&str>,
        #[case] want: Change,
    ) {
        assert_eq!(classify(base, base_sig, new, new_sig), want);
    }

    #[test]
    fn the_runsc_upgrade_fixes_three_cells_and_moves_three_signatures() {
        let base = fixture("devices-cgroup-old");
        let new = fixture("devices-cgroup-new");
        let options = DiffOptions {
            pairs: vec![Pair::parse("20221219=20240729").unwrap()],
            force: false,
        };
        let d = diff(&base, &new, &options).unwrap();
        assert_eq!(d.schema, DIFF_SCHEMA);
        assert!(!d.has_regression());
        assert_eq!(
            d.pairs,
            [AppliedPair {
                pair: Pair {
                    axis: "runsc".into(),
                    base: "20221219".into(),
                    new: "20240729".into()
                },
                automatic: false
            }]
        );
        assert_eq!(d.count(Change::Fix), 3);
        assert_eq!(d.count(Change::ChangedSignature), 3);
        assert_eq!(d.count(Change::Unchanged), 2);
        assert_eq!(d.count(Change::Added) + d.count(Change::Removed), 0);
        assert_eq!(
            labels(&d, Change::Fix),
            [
                "cgroup_driver=systemd,cgroup_parent=none,iptables=false,runsc=20221219→20240729",
                "cgroup_driver=cgroupfs,cgroup_parent=none,iptables=false,runsc=20221219→20240729",
                "cgroup_driver=cgroupfs,cgroup_parent=/,iptables=false,runsc=20221219→20240729",
            ]
        );
        for c in d.with(Change::Fix) {
            let b = c.base.as_ref().unwrap();
            assert_eq!(b.signature.as_deref(), Some("devices-cgroup-missing"));
            assert_eq!(c.new.as_ref().unwrap().outcome, Outcome::Ready);
        }
        for c in d.with(Change::ChangedSignature) {
            assert_eq!(
                c.base.as_ref().unwrap().signature.as_deref(),
                Some("devices-cgroup-missing")
            );
            assert_eq!(
                c.new.as_ref().unwrap().signature.as_deref(),
                Some("iptables-nft-unsupported")
            );
        }
        // The systemd + cgroup-parent=/ cells fail the same way on both.
        for c in d.with(Change::Unchanged) {
            assert_eq!(
                c.new.as_ref().unwrap().signature.as_deref(),
                Some("systemd-cgroup-parent-not-slice")
            );
        }
    }

    #[test]
    fn a_single_label_on_each_side_is_paired_automatically() {
        let d = diff(
            &fixture("devices-cgroup-old"),
            &fixture("devices-cgroup-new"),
            &DiffOptions::default(),
        )
        .unwrap();
        assert_eq!(d.pairs.len(), 1);
        assert!(d.pairs[0].automatic);
        assert_eq!(d.count(Change::Fix), 3);
    }

    #[test]
    fn the_reverse_direction_is_all_regressions() {
        let d = diff(
            &fixture("devices-cgroup-new"),
            &fixture("devices-cgroup-old"),
            &DiffOptions::default(),
        )
        .unwrap();
        assert!(d.has_regression());
        assert_eq!(d.count(Change::Regression), 3);
        for c in d.with(Change::Regression) {
            assert_eq!(c.base.as_ref().unwrap().outcome, Outcome::Ready);
            assert_eq!(
                c.new.as_ref().unwrap().signature.as_deref(),
                Some("devices-cgroup-missing")
            );
        }
    }

    #[test]
    fn without_pairing_cells_are_added_and_removed() {
        // Both labels are in the combined report, so nothing is inferred.
        let d = diff(
            &fixture("devices-cgroup-old"),
            &fixture("devices-cgroup-both"),
            &DiffOptions::default(),
        )
        .unwrap();
        assert!(d.pairs.is_empty());
        assert_eq!(d.count(Change::Unchanged), 8);
        assert_eq!(d.count(Change::Added), 8);
        assert!(d.with(Change::Added).all(|c| c.key["runsc"] == "20240729"));
        // Base order first, then the added cells in new order.
        assert_eq!(d.cells[0].change, Change::Unchanged);
        assert_eq!(d.cells[15].change, Change::Added);
    }

    #[test]
    fn ready_depth_against_container_depth_is_noted() {
        let d = diff(
            &fixture("devices-cgroup-both"),
            &fixture("devices-cgroup-container"),
            &DiffOptions::default(),
        )
        .unwrap();
        assert_eq!(d.notes.len(), 1, "{:?}", d.notes);
        assert!(d.notes[0].contains("depth differs"));
        // ready → container-failed (systemd not running) is a regression,
        // ready → container-ok a fix.
        assert_eq!(
            labels(&d, Change::Regression),
            ["cgroup_driver=systemd,cgroup_parent=none,iptables=false,runsc=20240729"]
        );
        assert_eq!(d.count(Change::Fix), 2);
    }

    #[rstest]
    #[case("20221219=20240729", Some(("runsc", "20221219", "20240729")))]
    #[case("dockerd:20.10=26.1", Some(("dockerd", "20.10", "26.1")))]
    #[case("runsc:a:b=c", Some(("runsc", "a:b", "c")))]
    #[case("=x", None)]
    #[case("x=", None)]
    #[case("x", None)]
    #[case("a=b=c", None)]
    #[case(":a=b", None)]
    fn pair_parsing(#[case] text: &str, #[case] want: Option<(&str, &str, &str)>) {
        let got = Pair::parse(text).ok();
        let got = got
            .as_ref()
            .map(|p| (p.axis.as_str(), p.base.as_str(), p.new.as_str()));
        assert_eq!(got, want);
    }

    #[test]
    fn errors_name_what_does_not_fit() {
        let base = fixture("devices-cgroup-old");
        let mut other = fixture("devices-cgroup-new");
        other.scenario.name = "other".into();
        let e = diff(&base, &other, &DiffOptions::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the reports are of different scenarios: base `devices-cgroup`, new `other` (force the comparison if the rename is deliberate)"
        );
        let forced = DiffOptions {
            pairs: vec![],
            force: true,
        };
        let d = diff(&base, &other, &forced).unwrap();
        assert!(d.notes[0].contains("compared because forced"));

        let mut fewer = fixture("devices-cgroup-new");
        fewer.scenario.axes.retain(|a| a != "iptables");
        let e = diff(&base, &fewer, &DiffOptions::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the reports have different axes: base [cgroup_driver, cgroup_parent, iptables, runsc], new [cgroup_driver, cgroup_parent, runsc]"
        );

        let typo = DiffOptions {
            pairs: vec![Pair::parse("20221218=20240729").unwrap()],
            force: false,
        };
        let e = diff(&base, &fixture("devices-cgroup-new"), &typo).unwrap_err();
        assert_eq!(
            e.to_string(),
            "pair runsc:20221218=20240729: the base report has no runsc=20221218 (it has: 20221219)"
        );

        let axis = DiffOptions {
            pairs: vec![Pair::parse("bridge:a=b").unwrap()],
            force: false,
        };
        let e = diff(&base, &fixture("devices-cgroup-new"), &axis).unwrap_err();
        assert!(matches!(e, DiffError::PairAxis { .. }), "{e}");

        // Renaming 20221219 to 20240729 inside the combined report makes
        // two of its cells collide.
        let both = fixture("devices-cgroup-both");
        let collide = DiffOptions {
            pairs: vec![Pair::parse("20221219=20240729").unwrap()],
            force: false,
        };
        let e = diff(&both, &both, &collide).unwrap_err();
        assert!(
            matches!(e, DiffError::Collision { side: "base", .. }),
            "{e}"
        );
    }
}

//! Minimal-fix analysis: which axis values a configuration needs, which do
//! not matter, and which are fatal, each claim backed by the cells that prove
//! it.
//!
//! The analysis runs once per value of the runtime axis (`runsc`), because a
//! flag that is necessary on one runsc may be useless on another; a scenario
//! without that axis is one group. Inside a group:
//!
//! - the **best outcome** is the highest-ranked outcome any cell reached
//!   (container-ok > ready > container-failed > daemon-failed > timeout >
//!   error, see [`outcome_rank`]);
//! - a value is **necessary** when every best cell has it and flipping it in
//!   a best cell (the cell that differs in that axis only) gives a worse
//!   cell; the proofs are those pairs. A value every best cell shares but
//!   whose flips were never run (include/exclude, `--filter`) is listed as
//!   *shared, untested* instead;
//! - an axis is **irrelevant** when every pair of cells differing only in it
//!   has the same outcome and signature (all pairs are cited). An axis that
//!   is irrelevant only under one value of another axis is listed as
//!   *irrelevant when* (`cgroup_parent` when `cgroup_driver=cgroupfs`);
//! - a value, or a pair of values from two axes neither of which is fatal
//!   alone, is **fatal** when every cell containing it falls short of the best
//!   outcome (cells and signatures cited). "Fails" is relative to the best
//!   outcome so that, at depth `container`, a setting that only ever reaches
//!   `container-failed` counts as fatal to running containers.
//!
//! When no cell of a group reaches readiness, necessary and fatal are
//! meaningless; the group lists the signatures that block it instead, each
//! with the setting (or pair of settings) that picks out exactly its cells
//! when there is one.
//!
//! This module computes and renders (text for the terminal, Markdown for the
//! report); it reads no files and knows nothing about the CLI.

use std::collections::BTreeMap;
use std::fmt;

use indexmap::IndexMap;
use serde::Serialize;

use crate::report_format::{CellResult, Outcome, RunReport};
use crate::scenario::RUNSC_AXIS;

/// The schema identifier of a serialised [`Explanation`].
pub const EXPLAIN_SCHEMA: &str = "dindcheck/explain/v1";

/// The rank of an outcome: higher is better (`error` 0 … `container-ok` 5).
pub fn outcome_rank(outcome: Outcome) -> usize {
    Outcome::ALL
        .iter()
        .position(|o| *o == outcome)
        .expect("Outcome::ALL lists every outcome")
}

/// One axis set to one value: `iptables=false`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Setting {
    /// The axis name.
    pub axis: String,
    /// The value label.
    pub value: String,
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.axis, self.value)
    }
}

/// A cell cited as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellRef {
    /// The full cell id.
    pub id: String,
    /// The cell's settings without the group axis: `a=1,b=2`.
    pub label: String,
    /// Its outcome.
    pub outcome: Outcome,
    /// Its signature, if it failed.
    pub signature: Option<String>,
}

impl CellRef {
    /// `ready`, or `daemon-failed devices-cgroup-missing`.
    pub fn verdict(&self) -> String {
        match &self.signature {
            Some(sig) => format!("{} {sig}", self.outcome.name()),
            None => self.outcome.name().to_owned(),
        }
    }
}

/// Two cells that differ in exactly one axis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellPair {
    /// The first cell (for a necessary value: the best cell).
    pub a: CellRef,
    /// The second cell (for a necessary value: the flipped, worse cell).
    pub b: CellRef,
    /// The value the axis has in `b`.
    pub flipped: Setting,
}

/// A value every best cell has, and without which each of them got worse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Necessary {
    /// The value.
    pub setting: Setting,
    /// Each best cell paired with its flip.
    pub proofs: Vec<CellPair>,
}

/// An axis whose value changed no outcome or signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Irrelevant {
    /// The axis.
    pub axis: String,
    /// The condition under which it is irrelevant (`None`: always).
    pub when: Option<Setting>,
    /// Every pair of cells that differ in this axis only (under `when`).
    pub proofs: Vec<CellPair>,
}

/// A value, or a pair of values, with which no cell reached the best outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fatal {
    /// One setting, or two from different axes (neither fatal alone).
    pub settings: Vec<Setting>,
    /// Signature (or outcome name, for a failure without one) → cells.
    pub signatures: BTreeMap<String, usize>,
    /// Every cell that has the settings.
    pub cells: Vec<CellRef>,
}

/// A signature that stopped cells of a group that never reached readiness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blocker {
    /// The signature (or outcome name, for a failure without one).
    pub signature: String,
    /// The cells it stopped.
    pub cells: Vec<CellRef>,
    /// One setting or a pair of settings whose cells are exactly these, if
    /// any (and if these are not all the group's cells).
    pub exactly_where: Option<Vec<Setting>>,
}

/// The analysis of one group (one runsc).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupExplanation {
    /// The group's runtime value, or `None` for a report without that axis.
    pub group: Option<Setting>,
    /// How many cells the group has.
    pub cells: usize,
    /// The best outcome reached.
    pub best: Outcome,
    /// The cells that reached it.
    pub best_cells: Vec<CellRef>,
    /// Whether the best outcome has dockerd's API up.
    pub reaches_readiness: bool,
    /// Values every best cell needs (empty without readiness).
    pub necessary: Vec<Necessary>,
    /// Values every best cell has, but whose alternatives were not run.
    pub shared_untested: Vec<Setting>,
    /// Axes that changed nothing.
    pub irrelevant: Vec<Irrelevant>,
    /// Axes that changed nothing under one value of another axis.
    pub irrelevant_when: Vec<Irrelevant>,
    /// Values and pairs with which no cell reached the best outcome (empty
    /// without readiness).
    pub fatal: Vec<Fatal>,
    /// What stopped the cells, when none reached readiness.
    pub blockers: Vec<Blocker>,
}

/// The analysis of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// Always [`EXPLAIN_SCHEMA`].
    pub schema: String,
    /// The scenario's name.
    pub scenario: String,
    /// The axis the report is grouped by (`runsc`), if present.
    pub group_axis: Option<String>,
    /// One entry per group, in matrix order.
    pub groups: Vec<GroupExplanation>,
}

/// Analyses `report`: per runsc, the necessary, irrelevant and fatal values.
pub fn explain(report: &RunReport) -> Explanation {
    let axes = &report.scenario.axes;
    let group_axis = axes.iter().find(|a| a.as_str() == RUNSC_AXIS).cloned();
    let mut groups: IndexMap<Option<String>, Vec<&CellResult>> = IndexMap::new();
    for cell in &report.cells {
        let key = group_axis
            .as_ref()
            .map(|g| cell.axes.get(g).cloned().unwrap_or_default());
        groups.entry(key).or_default().push(cell);
    }
    let analysis_axes: Vec<String> = axes
        .iter()
        .filter(|a| Some(*a) != group_axis.as_ref())
        .cloned()
        .collect();
    let groups = groups
        .into_iter()
        .map(|(value, cells)| {
            let group = group_axis
                .clone()
                .zip(value)
                .map(|(axis, value)| Setting { axis, value });
            Group::new(&analysis_axes, cells).explain(group)
        })
        .collect();
    Explanation {
        schema: EXPLAIN_SCHEMA.to_owned(),
        scenario: report.scenario.name.clone(),
        group_axis,
        groups,
    }
}

/// The cells of one group, indexed for the analysis.
struct Group<'a> {
    /// Axis names, without the group axis.
    axes: &'a [String],
    /// Each axis's values, in first-seen order.
    values: Vec<Vec<String>>,
    cells: Vec<&'a CellResult>,
    /// Each cell's value per axis (empty when the cell lacks the axis).
    keys: Vec<Vec<String>>,
    refs: Vec<CellRef>,
    ranks: Vec<usize>,
    best: usize,
}

impl<'a> Group<'a> {
    fn new(axes: &'a [String], cells: Vec<&'a CellResult>) -> Group<'a> {
        let keys: Vec<Vec<String>> = cells
            .iter()
            .map(|c| {
                axes.iter()
                    .map(|a| c.axes.get(a).cloned().unwrap_or_default())
                    .collect()
            })
            .collect();
        let mut values: Vec<Vec<String>> = vec![Vec::new(); axes.len()];
        for key in &keys {
            for (seen, value) in values.iter_mut().zip(key) {
                if !seen.contains(value) {
                    seen.push(value.clone());
                }
            }
        }
        let refs = cells
            .iter()
            .zip(&keys)
            .map(|(c, key)| CellRef {
                id: c.id.clone(),
                label: label(axes, key),
                outcome: c.outcome,
                signature: c.signature.clone(),
            })
            .collect();
        let ranks: Vec<usize> = cells.iter().map(|c| outcome_rank(c.outcome)).collect();
        let best = ranks.iter().copied().max().unwrap_or(0);
        Group {
            axes,
            values,
            cells,
            keys,
            refs,
            ranks,
            best,
        }
    }

    fn explain(&self, group: Option<Setting>) -> GroupExplanation {
        let best = Outcome::ALL[self.best];
        let reaches_readiness = !self.cells.is_empty() && best.is_daemon_up();
        let best_cells: Vec<usize> = (0..self.cells.len())
            .filter(|&i| self.ranks[i] == self.best)
            .collect();
        let (necessary, shared_untested) = if reaches_readiness {
            self.necessary(&best_cells)
        } else {
            (Vec::new(), Vec::new())
        };
        let (irrelevant, irrelevant_when) = self.irrelevant();
        GroupExplanation {
            group,
            cells: self.cells.len(),
            best,
            best_cells: best_cells.iter().map(|&i| self.refs[i].clone()).collect(),
            reaches_readiness,
            necessary,
            shared_untested,
            irrelevant,
            irrelevant_when,
            fatal: if reaches_readiness {
                self.fatal()
            } else {
                Vec::new()
            },
            blockers: if reaches_readiness {
                Vec::new()
            } else {
                self.blockers()
            },
        }
    }

    fn setting(&self, axis: usize, value: &str) -> Setting {
        Setting {
            axis: self.axes[axis].clone(),
            value: value.to_owned(),
        }
    }

    fn pair(&self, a: usize, b: usize, axis: usize) -> CellPair {
        CellPair {
            a: self.refs[a].clone(),
            b: self.refs[b].clone(),
            flipped: self.setting(axis, &self.keys[b][axis]),
        }
    }

    /// The cells that differ from `cell` in `axis` only.
    fn flips(&self, cell: usize, axis: usize) -> Vec<usize> {
        (0..self.cells.len())
            .filter(|&other| {
                other != cell
                    && self.keys[other]
                        .iter()
                        .zip(&self.keys[cell])
                        .enumerate()
                        .all(|(i, (x, y))| (i == axis) != (x == y))
            })
            .collect()
    }

    fn necessary(&self, best_cells: &[usize]) -> (Vec<Necessary>, Vec<Setting>) {
        let mut necessary = Vec::new();
        let mut untested = Vec::new();
        for axis in 0..self.axes.len() {
            if self.values[axis].len() < 2 {
                continue;
            }
            let Some(&first) = best_cells.first() else {
                continue;
            };
            let value = &self.keys[first][axis];
            if best_cells.iter().any(|&c| &self.keys[c][axis] != value) {
                continue;
            }
            // Every best cell shares `value`, so every flip is a cell that is
            // not best, i.e. worse: the pairs are the proof.
            let proofs: Vec<CellPair> = best_cells
                .iter()
                .flat_map(|&c| self.flips(c, axis).into_iter().map(move |other| (c, other)))
                .map(|(c, other)| self.pair(c, other, axis))
                .collect();
            let setting = self.setting(axis, value);
            if proofs.is_empty() {
                untested.push(setting);
            } else {
                necessary.push(Necessary { setting, proofs });
            }
        }
        (necessary, untested)
    }

    /// Pairs of cells differing only in `axis`, among cells matching
    /// `when`, each line's first cell paired with the others. `None` when
    /// no such pair exists.
    fn agreeing_pairs(&self, axis: usize, when: Option<(usize, &str)>) -> Option<Vec<CellPair>> {
        let mut lines: IndexMap<Vec<&str>, Vec<usize>> = IndexMap::new();
        for (i, key) in self.keys.iter().enumerate() {
            if let Some((other, value)) = when
                && key[other] != value
            {
                continue;
            }
            let rest: Vec<&str> = key
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != axis)
                .map(|(_, v)| v.as_str())
                .collect();
            lines.entry(rest).or_default().push(i);
        }
        let mut proofs = Vec::new();
        for line in lines.values() {
            let (&first, others) = line.split_first().expect("a line holds at least one cell");
            for &other in others {
                let a = self.cells[first];
                let b = self.cells[other];
                if a.outcome != b.outcome || a.signature != b.signature {
                    return None;
                }
                proofs.push(self.pair(first, other, axis));
            }
        }
        (!proofs.is_empty()).then_some(proofs)
    }

    fn irrelevant(&self) -> (Vec<Irrelevant>, Vec<Irrelevant>) {
        let mut always = Vec::new();
        let mut when = Vec::new();
        for axis in 0..self.axes.len() {
            if self.values[axis].len() < 2 {
                continue;
            }
            if let Some(proofs) = self.agreeing_pairs(axis, None) {
                always.push(Irrelevant {
                    axis: self.axes[axis].clone(),
                    when: None,
                    proofs,
                });
                continue;
            }
            for other in 0..self.axes.len() {
                if other == axis || self.values[other].len() < 2 {
                    continue;
                }
                for value in &self.values[other] {
                    if let Some(proofs) = self.agreeing_pairs(axis, Some((other, value))) {
                        when.push(Irrelevant {
                            axis: self.axes[axis].clone(),
                            when: Some(self.setting(other, value)),
                            proofs,
                        });
                    }
                }
            }
        }
        (always, when)
    }

    /// The cells having every `(axis, value)` in `settings`.
    fn cells_with(&self, settings: &[(usize, &str)]) -> Vec<usize> {
        (0..self.cells.len())
            .filter(|&i| settings.iter().all(|(a, v)| self.keys[i][*a] == *v))
            .collect()
    }

    fn fatal_entry(&self, settings: &[(usize, &str)], cells: &[usize]) -> Fatal {
        let mut signatures = BTreeMap::new();
        for &c in cells {
            *signatures.entry(failure_name(self.cells[c])).or_insert(0) += 1;
        }
        Fatal {
            settings: settings.iter().map(|(a, v)| self.setting(*a, v)).collect(),
            signatures,
            cells: cells.iter().map(|&c| self.refs[c].clone()).collect(),
        }
    }

    fn fatal(&self) -> Vec<Fatal> {
        let fails =
            |cells: &[usize]| !cells.is_empty() && cells.iter().all(|&c| self.ranks[c] < self.best);
        let mut fatal = Vec::new();
        let mut fatal_singles: Vec<(usize, &str)> = Vec::new();
        for axis in 0..self.axes.len() {
            for value in &self.values[axis] {
                let cells = self.cells_with(&[(axis, value)]);
                if fails(&cells) {
                    fatal.push(self.fatal_entry(&[(axis, value)], &cells));
                    fatal_singles.push((axis, value));
                }
            }
        }
        for a in 0..self.axes.len() {
            for b in a + 1..self.axes.len() {
                for va in &self.values[a] {
                    for vb in &self.values[b] {
                        let settings = [(a, va.as_str()), (b, vb.as_str())];
                        if settings.iter().any(|s| fatal_singles.contains(s)) {
                            continue;
                        }
                        let cells = self.cells_with(&settings);
                        if fails(&cells) {
                            fatal.push(self.fatal_entry(&settings, &cells));
                        }
                    }
                }
            }
        }
        fatal
    }

    fn blockers(&self) -> Vec<Blocker> {
        let mut by_signature: IndexMap<String, Vec<usize>> = IndexMap::new();
        for (i, cell) in self.cells.iter().enumerate() {
            by_signature.entry(failure_name(cell)).or_default().push(i);
        }
        let mut blockers: Vec<Blocker> = by_signature
            .into_iter()
            .map(|(signature, cells)| Blocker {
                exactly_where: self.exactly_where(&cells),
                signature,
                cells: cells.iter().map(|&c| self.refs[c].clone()).collect(),
            })
            .collect();
        // Most cells first; ties keep first-seen (matrix) order.
        blockers.sort_by_key(|b| std::cmp::Reverse(b.cells.len()));
        blockers
    }

    /// One setting, else a pair, whose cells are exactly `cells`.
    fn exactly_where(&self, cells: &[usize]) -> Option<Vec<Setting>> {
        if cells.len() == self.cells.len() {
            return None;
        }
        for axis in 0..self.axes.len() {
            for value in &self.values[axis] {
                if self.cells_with(&[(axis, value)]) == cells {
                    return Some(vec![self.setting(axis, value)]);
                }
            }
        }
        for a in 0..self.axes.len() {
            for b in a + 1..self.axes.len() {
                for va in &self.values[a] {
                    for vb in &self.values[b] {
                        if self.cells_with(&[(a, va), (b, vb)]) == cells {
                            return Some(vec![self.setting(a, va), self.setting(b, vb)]);
                        }
                    }
                }
            }
        }
        None
    }
}

/// The signature of a failed cell, or its outcome name when it has none.
fn failure_name(cell: &CellResult) -> String {
    cell.signature
        .clone()
        .unwrap_or_else(|| cell.outcome.name().to_owned())
}

fn label(axes: &[String], key: &[String]) -> String {
    let parts: Vec<String> = axes
        .iter()
        .zip(key)
        .map(|(a, v)| format!("{a}={v}"))
        .collect();
    if parts.is_empty() {
        "(the only cell)".to_owned()
    } else {
        parts.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture_reports::report_fixture as fixture;
    use rstest::rstest;

    fn setting(axis: &str, value: &str) -> Setting {
        Setting {
            axis: axis.to_owned(),
            value: value.to_owned(),
        }
    }

    fn group<'a>(e: &'a Explanation, runsc: &str) -> &'a GroupExplanation {
        e.groups
            .iter()
            .find(|g| g.group == Some(setting("runsc", runsc)))
            .unwrap()
    }

    fn labels(cells: &[CellRef]) -> Vec<&str> {
        cells.iter().map(|c| c.label.as_str()).collect()
    }

    #[test]
    fn design_matrix_on_runsc_20240729() {
        let e = explain(&fixture("devices-cgroup-both"));
        assert_eq!(e.group_axis.as_deref(), Some("runsc"));
        assert_eq!(e.groups.len(), 2);
        let g = group(&e, "20240729");
        assert_eq!(g.cells, 8);
        assert_eq!(g.best, Outcome::Ready);
        assert!(g.reaches_readiness);
        assert_eq!(
            labels(&g.best_cells),
            [
                "cgroup_driver=systemd,cgroup_parent=none,iptables=false",
                "cgroup_driver=cgroupfs,cgroup_parent=none,iptables=false",
                "cgroup_driver=cgroupfs,cgroup_parent=/,iptables=false",
            ]
        );

        // Necessary: iptables=false, and nothing else; each ready cell with
        // iptables=true dies with the nft error.
        assert_eq!(g.necessary.len(), 1);
        let n = &g.necessary[0];
        assert_eq!(n.setting, setting("iptables", "false"));
        assert_eq!(n.proofs.len(), 3);
        for p in &n.proofs {
            assert_eq!(p.a.outcome, Outcome::Ready);
            assert_eq!(p.flipped, setting("iptables", "true"));
            assert_eq!(p.b.outcome, Outcome::DaemonFailed);
            assert_eq!(p.b.signature.as_deref(), Some("iptables-nft-unsupported"));
        }
        assert!(g.shared_untested.is_empty());

        // Fatal: iptables=true alone, and the pair systemd + cgroup-parent=/.
        let fatal: Vec<Vec<Setting>> = g.fatal.iter().map(|f| f.settings.clone()).collect();
        assert_eq!(
            fatal,
            [
                vec![setting("iptables", "true")],
                vec![
                    setting("cgroup_driver", "systemd"),
                    setting("cgroup_parent", "/")
                ],
            ]
        );
        let pair = &g.fatal[1];
        assert_eq!(
            pair.signatures,
            BTreeMap::from([("systemd-cgroup-parent-not-slice".to_owned(), 2)])
        );
        assert_eq!(
            labels(&pair.cells),
            [
                "cgroup_driver=systemd,cgroup_parent=/,iptables=true",
                "cgroup_driver=systemd,cgroup_parent=/,iptables=false",
            ]
        );
        assert_eq!(
            g.fatal[0].signatures,
            BTreeMap::from([
                ("iptables-nft-unsupported".to_owned(), 3),
                ("systemd-cgroup-parent-not-slice".to_owned(), 1),
            ])
        );

        // No axis is irrelevant on its own: cgroup_parent matters with
        // systemd, cgroup_driver matters with cgroup_parent=/.
        assert!(g.irrelevant.is_empty());
        let when: Vec<(&str, Setting)> = g
            .irrelevant_when
            .iter()
            .map(|i| (i.axis.as_str(), i.when.clone().unwrap()))
            .collect();
        assert_eq!(
            when,
            [
                ("cgroup_driver", setting("cgroup_parent", "none")),
                ("cgroup_parent", setting("cgroup_driver", "cgroupfs")),
            ]
        );
        let parent = &g.irrelevant_when[1];
        assert_eq!(parent.proofs.len(), 2);
        for p in &parent.proofs {
            assert_eq!((p.a.outcome, &p.a.signature), (p.b.outcome, &p.b.signature));
        }
    }

    #[test]
    fn design_matrix_on_runsc_20221219_never_reaches_readiness() {
        let e = explain(&fixture("devices-cgroup-both"));
        let g = group(&e, "20221219");
        assert!(!g.reaches_readiness);
        assert_eq!(g.best, Outcome::DaemonFailed);
        assert!(g.necessary.is_empty() && g.fatal.is_empty());
        let blockers: Vec<(&str, usize)> = g
            .blockers
            .iter()
            .map(|b| (b.signature.as_str(), b.cells.len()))
            .collect();
        assert_eq!(
            blockers,
            [
                ("devices-cgroup-missing", 6),
                ("systemd-cgroup-parent-not-slice", 2)
            ]
        );
        assert_eq!(g.blockers[0].exactly_where, None);
        assert_eq!(
            g.blockers[1].exactly_where,
            Some(vec![
                setting("cgroup_driver", "systemd"),
                setting("cgroup_parent", "/")
            ])
        );
        // iptables never changes anything on the old runsc: dockerd dies
        // before it reaches the network controller.
        let always: Vec<&str> = g.irrelevant.iter().map(|i| i.axis.as_str()).collect();
        assert_eq!(always, ["iptables"]);
        assert_eq!(g.irrelevant[0].proofs.len(), 4);
    }

    #[test]
    fn single_runsc_reports_give_the_same_answer_as_the_combined_one() {
        let both = explain(&fixture("devices-cgroup-both"));
        let old = explain(&fixture("devices-cgroup-old"));
        let new = explain(&fixture("devices-cgroup-new"));
        assert_eq!(old.groups.len(), 1);
        assert_eq!(new.groups.len(), 1);
        let strip = |g: &GroupExplanation| {
            (
                g.best,
                g.necessary
                    .iter()
                    .map(|n| n.setting.clone())
                    .collect::<Vec<_>>(),
                g.fatal
                    .iter()
                    .map(|f| f.settings.clone())
                    .collect::<Vec<_>>(),
                g.blockers
                    .iter()
                    .map(|b| (b.signature.clone(), b.cells.len()))
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(strip(&old.groups[0]), strip(group(&both, "20221219")));
        assert_eq!(strip(&new.groups[0]), strip(group(&both, "20240729")));
    }

    #[test]
    fn container_depth_makes_cgroupfs_necessary() {
        let e = explain(&fixture("devices-cgroup-container"));
        let g = group(&e, "20240729");
        assert_eq!(g.best, Outcome::ContainerOk);
        let necessary: Vec<String> = g.necessary.iter().map(|n| n.setting.to_string()).collect();
        assert_eq!(necessary, ["cgroup_driver=cgroupfs", "iptables=false"]);
        let driver = &g.necessary[0];
        assert!(driver.proofs.iter().any(|p| {
            p.b.outcome == Outcome::ContainerFailed
                && p.b.signature.as_deref() == Some("systemd-not-running")
        }));
        let fatal: Vec<String> = g
            .fatal
            .iter()
            .map(|f| {
                f.settings
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" with ")
            })
            .collect();
        assert_eq!(fatal, ["cgroup_driver=systemd", "iptables=true"]);
    }

    fn cell(axes: &[(&str, &str)], outcome: Outcome, signature: Option<&str>) -> serde_json::Value {
        let axes: serde_json::Map<String, serde_json::Value> = axes
            .iter()
            .map(|(a, v)| ((*a).to_owned(), serde_json::Value::from(*v)))
            .collect();
        let id = format!("t[{}]", axes.len());
        serde_json::json!({
            "id": id, "axes": axes, "runsc_version": null, "outcome": outcome,
            "signature": signature, "fatal_line": null, "detail": null, "dockerd": null,
            "timings_ms": {"sandbox_start": null, "agent_setup": null,
                "dockerd_start_to_api": null, "dockerd_log_to_api_listen": null,
                "dockerd_start_to_exit": null, "info": null, "container": null,
                "verdict": 0, "teardown": 0, "total": 0},
            "log": "x", "sandbox_log": "y", "cgroups": null, "leaked": []
        })
    }

    fn synthetic(axes: &[&str], cells: Vec<serde_json::Value>) -> RunReport {
        serde_json::from_value(serde_json::json!({
            "schema": "dindcheck/report/v1",
            "scenario": {"name": "t", "path": "t.yaml", "description": null,
                "sandbox": "native", "depth": "ready", "axes": axes},
            "started_at": "2026-01-01T00:00:00Z",
            "host": {"kernel": "k", "jobs": 1},
            "interrupted": false,
            "cells": cells
        }))
        .unwrap()
    }

    #[test]
    fn a_shared_value_without_flips_is_untested_not_necessary() {
        let report = synthetic(
            &["a", "b"],
            vec![
                cell(&[("a", "1"), ("b", "x")], Outcome::Ready, None),
                cell(&[("a", "2"), ("b", "y")], Outcome::DaemonFailed, Some("s")),
            ],
        );
        let e = explain(&report);
        assert_eq!(e.group_axis, None);
        let g = &e.groups[0];
        assert!(g.necessary.is_empty());
        assert_eq!(g.shared_untested, [setting("a", "1"), setting("b", "x")]);
        // No pair differs in one axis only, so nothing is provably irrelevant.
        assert!(g.irrelevant.is_empty() && g.irrelevant_when.is_empty());
    }

    #[rstest]
    #[case(Outcome::Error, 0)]
    #[case(Outcome::Timeout, 1)]
    #[case(Outcome::DaemonFailed, 2)]
    #[case(Outcome::ContainerFailed, 3)]
    #[case(Outcome::Ready, 4)]
    #[case(Outcome::ContainerOk, 5)]
    fn outcomes_rank_best_last(#[case] outcome: Outcome, #[case] rank: usize) {
        assert_eq!(outcome_rank(outcome), rank);
    }
}

//! Joining shard reports (`dindcheck merge REPORT…`) into the report one
//! full run would have written.
//!
//! The shards must be of one scenario: the same name, axes (in order),
//! sandbox and depth; and no cell may appear in two shards. Either mistake
//! is an error naming the files (and the cell). The merged report takes the
//! first shard's scenario facts and host, the earliest `started_at`, and is
//! `interrupted` when any shard was.
//!
//! Cell order. A report does not store the matrix order explicitly, but the
//! runner names each cell's artifact directory after the cell's index in
//! the *full* matrix (`cells/07-systemd-_-false-20240729/dockerd.log`), and
//! `--shard` keeps that index. So the merge sorts by that prefix of the
//! `log` path when every cell has one and no two share it. Otherwise (logs
//! moved, reports from elsewhere) it falls back to the axes: within a shard
//! the cells are in matrix order, which orders the values of the first axis
//! on which two cells differ; the values are sorted by those constraints
//! (ties: first seen), and the cells by their value positions, first axis
//! slowest, as the matrix expands. The fallback cannot order two values
//! that no shard shows together (shard 1/2 and 2/2 of a two-runsc matrix
//! each hold one label); they keep the order of the shards as given.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::report_format::{CellResult, RunReport, SCHEMA};

/// Why shard reports cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no reports to merge")]
    Empty,
    /// A report is of another schema version.
    #[error("{source_file} is a `{found}` report, not `{SCHEMA}`")]
    Schema {
        /// The report file.
        source_file: PathBuf,
        /// Its schema string.
        found: String,
    },
    /// Two reports disagree about the scenario.
    #[error(
        "{other} does not belong with {first}: scenario {field} is `{other_value}` there, `{first_value}` in {first}"
    )]
    ScenarioMismatch {
        /// The field that differs (`name`, `axes`, `sandbox`, `depth`).
        field: &'static str,
        /// The first report's file.
        first: PathBuf,
        /// Its value.
        first_value: String,
        /// The disagreeing report's file.
        other: PathBuf,
        /// Its value.
        other_value: String,
    },
    /// A cell is in two reports.
    #[error("cell `{id}` is in both {first} and {second}: the shards overlap")]
    Overlap {
        /// The cell id.
        id: String,
        /// The first report with it.
        first: PathBuf,
        /// The second.
        second: PathBuf,
    },
}

/// One report to merge and where it came from (for error messages).
#[derive(Debug, Clone)]
pub struct Shard {
    /// The file it was read from (or any label).
    pub source: PathBuf,
    /// The report.
    pub report: RunReport,
}

impl Shard {
    /// Pairs a report with its file name.
    pub fn new(source: impl Into<PathBuf>, report: RunReport) -> Shard {
        Shard {
            source: source.into(),
            report,
        }
    }
}

/// Merges shard reports into one report with the cells in matrix order.
///
/// # Errors
/// [`MergeError`] when there are no shards, a schema or scenario differs,
/// or two shards hold the same cell.
pub fn merge(shards: Vec<Shard>) -> Result<RunReport, MergeError> {
    let Some(first) = shards.first() else {
        return Err(MergeError::Empty);
    };
    for shard in &shards {
        if shard.report.schema != SCHEMA {
            return Err(MergeError::Schema {
                source_file: shard.source.clone(),
                found: shard.report.schema.clone(),
            });
        }
        check_same_scenario(first, shard)?;
    }
    let mut owner: BTreeMap<&str, &Path> = BTreeMap::new();
    for shard in &shards {
        for cell in &shard.report.cells {
            if let Some(prev) = owner.insert(cell.id.as_str(), shard.source.as_path()) {
                return Err(MergeError::Overlap {
                    id: cell.id.clone(),
                    first: prev.to_owned(),
                    second: shard.source.clone(),
                });
            }
        }
    }
    let order = value_order(&shards);
    let axes = first.report.scenario.axes.clone();
    let mut merged = first.report.clone();
    merged.started_at = shards
        .iter()
        .map(|s| s.report.started_at.as_str())
        .min_by(|a, b| compare_times(a, b))
        .unwrap_or_default()
        .to_owned();
    merged.interrupted = shards.iter().any(|s| s.report.interrupted);
    let mut cells: Vec<CellResult> = shards.into_iter().flat_map(|s| s.report.cells).collect();
    let indices: Vec<Option<usize>> = cells.iter().map(|c| matrix_index(&c.log)).collect();
    let mut unique: Vec<usize> = indices.iter().flatten().copied().collect();
    unique.sort_unstable();
    unique.dedup();
    if unique.len() == cells.len() && indices.iter().all(Option::is_some) {
        cells.sort_by_key(|c| matrix_index(&c.log));
    } else {
        let position = |cell: &CellResult| -> Vec<usize> {
            axes.iter()
                .zip(&order)
                .map(|(axis, values)| {
                    cell.axes
                        .get(axis)
                        .and_then(|v| values.iter().position(|x| x == v))
                        .unwrap_or(usize::MAX)
                })
                .collect()
        };
        cells.sort_by_cached_key(position);
    }
    merged.cells = cells;
    Ok(merged)
}

fn check_same_scenario(first: &Shard, other: &Shard) -> Result<(), MergeError> {
    let a = &first.report.scenario;
    let b = &other.report.scenario;
    let fields: [(&'static str, String, String); 4] = [
        ("name", a.name.clone(), b.name.clone()),
        ("axes", a.axes.join(","), b.axes.join(",")),
        ("sandbox", a.sandbox.clone(), b.sandbox.clone()),
        ("depth", a.depth.clone(), b.depth.clone()),
    ];
    for (field, first_value, other_value) in fields {
        if first_value != other_value {
            return Err(MergeError::ScenarioMismatch {
                field,
                first: first.source.clone(),
                first_value,
                other: other.source.clone(),
                other_value,
            });
        }
    }
    Ok(())
}

/// The full-matrix index from a cell's artifact directory name
/// (`…/cells/07-…/dockerd.log` → 7).
fn matrix_index(log: &Path) -> Option<usize> {
    let dir = log.parent()?.file_name()?.to_str()?;
    let digits = dir.split('-').next()?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Each axis's values in matrix order, as far as the shards tell it.
///
/// Every shard lists its cells in matrix order, and the matrix orders cells
/// by value position, first axis slowest. So for any two cells of one shard,
/// the first axis where they differ has the earlier cell's value first. The
/// values are sorted by these constraints (Kahn's algorithm); values the
/// constraints do not order keep the order in which the shards, as given,
/// first show them.
fn value_order(shards: &[Shard]) -> Vec<Vec<String>> {
    let Some(first) = shards.first() else {
        return Vec::new();
    };
    let axes = &first.report.scenario.axes;
    let mut values: Vec<Vec<String>> = vec![Vec::new(); axes.len()];
    let mut before: Vec<BTreeSet<(usize, usize)>> = vec![BTreeSet::new(); axes.len()];
    for shard in shards {
        let mut keys: Vec<Vec<usize>> = Vec::new();
        for cell in &shard.report.cells {
            let key = axes
                .iter()
                .zip(values.iter_mut())
                .map(|(axis, seen)| {
                    let v = cell.axes.get(axis).cloned().unwrap_or_default();
                    match seen.iter().position(|x| *x == v) {
                        Some(at) => at,
                        None => {
                            seen.push(v);
                            seen.len() - 1
                        }
                    }
                })
                .collect();
            keys.push(key);
        }
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                if let Some(axis) = (0..axes.len()).find(|&x| a[x] != b[x]) {
                    before[axis].insert((a[axis], b[axis]));
                }
            }
        }
    }
    values
        .into_iter()
        .zip(before)
        .map(|(vals, edges)| {
            let mut incoming = vec![0usize; vals.len()];
            for &(_, to) in &edges {
                incoming[to] += 1;
            }
            let mut done = vec![false; vals.len()];
            let mut order = Vec::with_capacity(vals.len());
            while order.len() < vals.len() {
                // The first-seen value that nothing unplaced precedes; on a
                // cycle (shards not in matrix order), the first-seen
                // unplaced value.
                let next = (0..vals.len())
                    .find(|&v| !done[v] && incoming[v] == 0)
                    .or_else(|| (0..vals.len()).find(|&v| !done[v]))
                    .expect("an unplaced value remains while the order is short");
                done[next] = true;
                for &(from, to) in &edges {
                    if from == next && !done[to] {
                        incoming[to] = incoming[to].saturating_sub(1);
                    }
                }
                order.push(vals[next].clone());
            }
            order
        })
        .collect()
}

/// Orders two RFC 3339 timestamps; unparsable ones sort as text, after
/// parsable ones.
fn compare_times(a: &str, b: &str) -> Ordering {
    match (a.parse::<jiff::Timestamp>(), b.parse::<jiff::Timestamp>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture_reports::report_fixture as fixture;
    use rstest::rstest;

    /// Shard K/N of a report as `--shard` makes it: every N-th cell in
    /// matrix order, starting at the K-th.
    fn shard_of(report: &RunReport, k: usize, n: usize) -> Shard {
        let mut part = report.clone();
        part.cells = report
            .cells
            .iter()
            .enumerate()
            .filter(|(i, _)| i % n == k - 1)
            .map(|(_, c)| c.clone())
            .collect();
        Shard::new(format!("shard-{k}-of-{n}.json"), part)
    }

    fn ids(report: &RunReport) -> Vec<&str> {
        report.cells.iter().map(|c| c.id.as_str()).collect()
    }

    #[rstest]
    fn shards_merge_back_into_the_full_run(
        #[values(1, 2, 3, 4, 5)] n: usize,
        #[values(false, true)] reverse: bool,
        #[values(false, true)] without_indices: bool,
    ) {
        let mut full = fixture("devices-cgroup-both");
        if without_indices {
            // Logs moved: the axis order has to do.
            for c in &mut full.cells {
                c.log = PathBuf::from("elsewhere/dockerd.log");
            }
        }
        let mut shards: Vec<Shard> = (1..=n).map(|k| shard_of(&full, k, n)).collect();
        if reverse {
            shards.reverse();
        }
        let merged = merge(shards).unwrap();
        if without_indices && reverse && n.is_multiple_of(2) {
            // With an even N, the last shard holds only runsc=20240729
            // cells and the one before only 20221219 ones, so without the
            // indices nothing orders the two labels: the shard given first
            // wins. The cells are all there.
            assert_eq!(merged.cells.len(), full.cells.len());
            assert_eq!(merged.cells[0].axes["runsc"], "20240729");
            return;
        }
        assert_eq!(ids(&merged), ids(&full));
        assert_eq!(merged.cells, full.cells);
        assert_eq!(merged.scenario, full.scenario);
        assert!(!merged.interrupted);
    }

    #[test]
    fn the_earliest_start_and_any_interruption_win() {
        let full = fixture("devices-cgroup-both");
        let mut a = shard_of(&full, 1, 2);
        let mut b = shard_of(&full, 2, 2);
        a.report.started_at = "2026-11-28T20:00:00Z".into();
        b.report.started_at = "2026-11-28T19:59:59.5+00:00".into();
        b.report.interrupted = true;
        let merged = merge(vec![a, b]).unwrap();
        assert_eq!(merged.started_at, "2026-11-28T19:59:59.5+00:00");
        assert!(merged.interrupted);
    }

    #[test]
    fn overlapping_shards_are_refused_with_the_cell_and_files() {
        let full = fixture("devices-cgroup-both");
        let e = merge(vec![
            Shard::new("a.json", full.clone()),
            shard_of(&full, 2, 3),
        ])
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "cell `{}` is in both a.json and shard-2-of-3.json: the shards overlap",
                full.cells[1].id
            )
        );
    }

    #[rstest]
    #[case("name", "cgroup_driver,cgroup_parent,iptables,runsc")]
    #[case("axes", "cgroup_driver,cgroup_parent,runsc")]
    #[case("sandbox", "native")]
    #[case("depth", "container")]
    fn mismatched_scenarios_are_refused(#[case] field: &str, #[case] value: &str) {
        let full = fixture("devices-cgroup-both");
        let mut other = shard_of(&full, 2, 2);
        let s = &mut other.report.scenario;
        let first_value = match field {
            "name" => {
                s.name = "other".into();
                "devices-cgroup"
            }
            "axes" => {
                s.axes.retain(|a| a != "iptables");
                "cgroup_driver,cgroup_parent,iptables,runsc"
            }
            "sandbox" => {
                s.sandbox = value.into();
                "runsc"
            }
            _ => {
                s.depth = value.into();
                "ready"
            }
        };
        let other_value = if field == "name" { "other" } else { value };
        let e = merge(vec![shard_of(&full, 1, 2), other]).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "shard-2-of-2.json does not belong with shard-1-of-2.json: scenario {field} is \
                 `{other_value}` there, `{first_value}` in shard-1-of-2.json"
            )
        );
    }

    #[test]
    fn nothing_or_another_schema_is_refused() {
        assert!(matches!(merge(Vec::new()), Err(MergeError::Empty)));
        let mut r = fixture("devices-cgroup-old");
        r.schema = "dindcheck/report/v0".into();
        let e = merge(vec![Shard::new("old.json", r)]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "old.json is a `dindcheck/report/v0` report, not `dindcheck/report/v1`"
        );
    }

    #[rstest]
    #[case("out/cells/07-systemd-_-false-20240729/dockerd.log", Some(7))]
    #[case("/tmp/r/cells/123-a/dockerd.log", Some(123))]
    #[case("cells/07-a.retry1/dockerd.log", Some(7))]
    #[case("cells/x-a/dockerd.log", None)]
    #[case("dockerd.log", None)]
    fn matrix_indices_come_from_the_artifact_dir(#[case] log: &str, #[case] want: Option<usize>) {
        assert_eq!(matrix_index(Path::new(log)), want);
    }
}

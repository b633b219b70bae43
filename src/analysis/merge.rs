//! Joining shard reports (`dindcheck merge REPORT…`) into the report one
//! full run would have written.
//!
//! The shards must be of one scenario: the same name, axes (in order),
//! sandbox and depth; and no cell may appear in two shards. Either mistake
//! is an error naming the files (and the cell). The merged report takes the
//! first shard's scenario facts and host, the earliest `started_at`, and is
//! `interrupted` when any shard was.
//!
//! Cell order comes from the report format itself: every v2 cell carries
//! its index in the full matrix (`--shard` and `--filter` keep it), and the
//! scenario carries each axis's values in order, so the merge sorts by index
//! and compares the value lists. v1 reports lack both and are refused.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::report_format::{CellResult, RunReport, SCHEMA};

/// Why shard reports cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no reports to merge")]
    Empty,
    /// A report is of another schema version.
    #[error(
        "{source_file} is a `{found}` report, not `{SCHEMA}`; re-run that shard with this dindcheck"
    )]
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
    /// A cell has no matrix index.
    #[error("cell `{id}` in {source_file} has no matrix index")]
    MissingIndex {
        /// The cell id.
        id: String,
        /// The report file.
        source_file: PathBuf,
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
    for shard in &shards {
        if let Some(cell) = shard.report.cells.iter().find(|c| c.index.is_none()) {
            return Err(MergeError::MissingIndex {
                id: cell.id.clone(),
                source_file: shard.source.clone(),
            });
        }
    }
    let mut merged = first.report.clone();
    merged.started_at = shards
        .iter()
        .map(|s| s.report.started_at.as_str())
        .min_by(|a, b| compare_times(a, b))
        .unwrap_or_default()
        .to_owned();
    merged.interrupted = shards.iter().any(|s| s.report.interrupted);
    let mut cells: Vec<CellResult> = shards.into_iter().flat_map(|s| s.report.cells).collect();
    cells.sort_by_key(|c| c.index);
    merged.cells = cells;
    Ok(merged)
}

fn check_same_scenario(first: &Shard, other: &Shard) -> Result<(), MergeError> {
    let a = &first.report.scenario;
    let b = &other.report.scenario;
    let values = |info: &crate::report_format::ScenarioInfo| {
        info.axis_values
            .iter()
            .map(|(axis, values)| format!("{axis}=[{}]", values.join(",")))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let fields: [(&'static str, String, String); 5] = [
        ("name", a.name.clone(), b.name.clone()),
        ("axes", a.axes.join(","), b.axes.join(",")),
        ("axis values", values(a), values(b)),
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
    use crate::fixture_reports::report_fixture_v2 as fixture;
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
        #[values(false, true)] logs_moved: bool,
    ) {
        let mut full = fixture("devices-cgroup-both");
        if logs_moved {
            // The order comes from the cells' indices, not their paths.
            for c in &mut full.cells {
                c.log = PathBuf::from("elsewhere/dockerd.log");
            }
        }
        let mut shards: Vec<Shard> = (1..=n).map(|k| shard_of(&full, k, n)).collect();
        if reverse {
            shards.reverse();
        }
        let merged = merge(shards).unwrap();
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
    #[case("axis values", "runsc=[20240729,20221219]")]
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
            "axis values" => {
                s.axis_values["runsc"].reverse();
                "cgroup_driver=[systemd,cgroupfs] cgroup_parent=[none,/] iptables=[true,false] \
                 runsc=[20221219,20240729]"
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
        let other_value = match field {
            "name" => "other",
            "axis values" => {
                "cgroup_driver=[systemd,cgroupfs] cgroup_parent=[none,/] \
                              iptables=[true,false] runsc=[20240729,20221219]"
            }
            _ => value,
        };
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
            "old.json is a `dindcheck/report/v0` report, not `dindcheck/report/v2`; re-run that \
             shard with this dindcheck"
        );
        let v1 = crate::fixture_reports::report_fixture("devices-cgroup-old");
        let e = merge(vec![Shard::new("v1.json", v1)]).unwrap_err();
        assert!(e.to_string().contains("not `dindcheck/report/v2`"), "{e}");
    }

    #[test]
    fn a_cell_without_index_is_refused() {
        let mut r = fixture("devices-cgroup-old");
        r.cells[3].index = None;
        let e = merge(vec![Shard::new("x.json", r)]).unwrap_err();
        assert!(matches!(e, MergeError::MissingIndex { .. }), "{e}");
    }
}

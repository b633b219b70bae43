//! What real runs of the shipped scenarios showed, embedded in the binary.
//!
//! `fixtures/evidence/<scenario>.json` are `dindcheck run` reports (schema
//! `dindcheck/report/v1` and v2) of the shipped scenarios. Triage cites them: the
//! cells in which a signature was reproduced, and for each the nearest
//! configuration that reached readiness instead. This module only looks
//! reports up; it reads no files at run time and renders nothing.

use std::sync::LazyLock;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::report_format::Outcome;

/// The embedded reports, one per shipped scenario, in this order.
const REPORTS: [(&str, &str); 6] = [
    (
        "devices-cgroup",
        include_str!("../fixtures/evidence/devices-cgroup.json"),
    ),
    (
        "native-cgroups",
        include_str!("../fixtures/evidence/native-cgroups.json"),
    ),
    (
        "cgroup-layouts",
        include_str!("../fixtures/evidence/cgroup-layouts.json"),
    ),
    ("userns", include_str!("../fixtures/evidence/userns.json")),
    (
        "dockerd-versions",
        include_str!("../fixtures/evidence/dockerd-versions.json"),
    ),
    (
        "iptables-backends",
        include_str!("../fixtures/evidence/iptables-backends.json"),
    ),
];

/// One cell of an embedded report: the fields triage cites.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceCell {
    /// The scenario the cell belongs to (filled in from the report).
    #[serde(default)]
    pub scenario: String,
    /// `scenario[axis=value,…]`.
    pub id: String,
    /// Axis name to value label, in axis order.
    pub axes: IndexMap<String, String>,
    /// How far the cell got.
    pub outcome: Outcome,
    /// The signature the run named, if the cell failed.
    pub signature: Option<String>,
    /// `runsc --version`'s first line, for runsc cells.
    pub runsc_version: Option<String>,
    /// The line that ended the daemon or the container start.
    pub fatal_line: Option<String>,
}

/// The fields of a report triage needs.
#[derive(Debug, Deserialize)]
struct Report {
    scenario: ReportScenario,
    cells: Vec<EvidenceCell>,
}

#[derive(Debug, Deserialize)]
struct ReportScenario {
    name: String,
}

static CELLS: LazyLock<Vec<EvidenceCell>> = LazyLock::new(|| {
    let mut cells = Vec::new();
    for (name, text) in REPORTS {
        let report: Report = serde_json::from_str(text)
            .expect("the embedded evidence reports parse (tested by evidence::tests)");
        debug_assert_eq!(report.scenario.name, name);
        for mut cell in report.cells {
            cell.scenario.clone_from(&report.scenario.name);
            cells.push(cell);
        }
    }
    cells
});

/// Every embedded cell, scenario by scenario, in matrix order.
pub fn cells() -> &'static [EvidenceCell] {
    &CELLS
}

/// How many shipped scenarios have embedded reports.
pub fn scenario_count() -> usize {
    REPORTS.len()
}

/// The cells in which a run named `signature`, in scenario and matrix order.
pub fn reproduced(signature: &str) -> Vec<&'static EvidenceCell> {
    cells()
        .iter()
        .filter(|c| c.signature.as_deref() == Some(signature))
        .collect()
}

/// The cell of the same scenario that reached readiness (`ready` or
/// `container-ok`) and differs from `cell` in the fewest axis values; on a
/// tie, the first in matrix order. `None` when no cell of the scenario did.
pub fn ready_instead(cell: &EvidenceCell) -> Option<&'static EvidenceCell> {
    cells()
        .iter()
        .filter(|c| c.scenario == cell.scenario && c.id != cell.id)
        .filter(|c| matches!(c.outcome, Outcome::Ready | Outcome::ContainerOk))
        .min_by_key(|c| changed(cell, c).len())
}

/// The axis values `to` has where it differs from `from`, in axis order.
pub fn changed<'a>(from: &EvidenceCell, to: &'a EvidenceCell) -> Vec<(&'a str, &'a str)> {
    to.axes
        .iter()
        .filter(|(axis, value)| from.axes.get(*axis) != Some(*value))
        .map(|(axis, value)| (axis.as_str(), value.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::SignatureSet;
    use rstest::rstest;

    #[test]
    fn every_report_parses_and_names_its_scenario() {
        for (name, text) in REPORTS {
            let report: Report = serde_json::from_str(text).unwrap();
            assert_eq!(report.scenario.name, name);
            assert!(!report.cells.is_empty(), "{name}");
        }
        assert!(
            cells()
                .iter()
                .all(|c| c.id.starts_with(&format!("{}[", c.scenario)))
        );
    }

    #[test]
    fn signatures_in_the_reports_are_in_the_catalogue() {
        let set = SignatureSet::builtin();
        for cell in cells() {
            if let Some(sig) = &cell.signature {
                assert!(set.get(sig).is_some(), "{}: {sig}", cell.id);
            }
        }
    }

    /// Run and triage agree: the catalogue still names each recorded fatal
    /// line as the run did.
    #[test]
    fn recorded_fatal_lines_still_classify_to_the_recorded_signature() {
        let set = SignatureSet::builtin();
        for cell in cells() {
            if let (Some(sig), Some(line)) = (&cell.signature, &cell.fatal_line)
                && cell.outcome == Outcome::DaemonFailed
            {
                let got = set.classify_log(line);
                assert_eq!(got.signature.as_ref(), Some(sig), "{}", cell.id);
            }
        }
    }

    #[rstest]
    #[case::closest_by_one_axis(
        "devices-cgroup[cgroup_driver=cgroupfs,cgroup_parent=/,iptables=false,runsc=20221219]",
        "devices-cgroup[cgroup_driver=cgroupfs,cgroup_parent=/,iptables=false,runsc=20240729]"
    )]
    #[case::tie_goes_to_matrix_order(
        "devices-cgroup[cgroup_driver=systemd,cgroup_parent=/,iptables=true,runsc=20221219]",
        "devices-cgroup[cgroup_driver=systemd,cgroup_parent=none,iptables=false,runsc=20240729]"
    )]
    #[case::native(
        "native-cgroups[cgroups=gvisor-2022,iptables=true]",
        "native-cgroups[cgroups=auto,iptables=true]"
    )]
    fn ready_instead_is_the_nearest_ready_cell(#[case] from: &str, #[case] expected: &str) {
        let cell = cells().iter().find(|c| c.id == from).unwrap();
        assert_eq!(ready_instead(cell).map(|c| c.id.as_str()), Some(expected));
    }

    #[test]
    fn reproduced_lists_cells_in_order() {
        let found = reproduced("devices-cgroup-missing");
        assert!(found.len() >= 6);
        assert_eq!(found[0].scenario, "devices-cgroup");
        assert!(reproduced("no-such-signature").is_empty());
        let changes = changed(found[0], ready_instead(found[0]).unwrap());
        assert!(changes.contains(&("runsc", "20240729")), "{changes:?}");
    }
}

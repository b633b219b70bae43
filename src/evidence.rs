//! What real runs of the shipped scenarios showed, embedded in the binary.
//!
//! `fixtures/evidence/<scenario>.json` are `dindcheck run` reports (schema
//! `dindcheck/report/v1` and v2) of the shipped scenarios. Triage cites them: the
//! cells in which a signature was reproduced, for each the nearest
//! configuration that reached readiness instead, and the fixes those runs
//! prove: a change is proven only when a cell applied exactly it (read from
//! the scenario file the run used, embedded too) and reached readiness where
//! the same configuration without it failed with the signature. This module
//! only looks reports up; it reads no files at run time and renders nothing.

use std::sync::LazyLock;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::classify::SignatureSet;
use crate::report_format::Outcome;
use crate::scenario::{self, Scenario, ValueSpec};

/// The embedded reports, one per shipped scenario, in this order.
const REPORTS: [(&str, &str); 7] = [
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
    (
        "doctor-fixes",
        include_str!("../fixtures/evidence/doctor-fixes.json"),
    ),
];

/// The shipped scenario files, in the order of [`REPORTS`]: what each axis
/// value of an embedded cell applied.
const SCENARIOS: [(&str, &str); 7] = [
    (
        "devices-cgroup",
        include_str!("../scenarios/devices-cgroup.yaml"),
    ),
    (
        "native-cgroups",
        include_str!("../scenarios/native-cgroups.yaml"),
    ),
    (
        "cgroup-layouts",
        include_str!("../scenarios/cgroup-layouts.yaml"),
    ),
    ("userns", include_str!("../scenarios/userns.yaml")),
    (
        "dockerd-versions",
        include_str!("../scenarios/dockerd-versions.yaml"),
    ),
    (
        "iptables-backends",
        include_str!("../scenarios/iptables-backends.yaml"),
    ),
    (
        "doctor-fixes",
        include_str!("../scenarios/doctor-fixes.yaml"),
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

/// A change that a shipped scenario's run proved gets dockerd past a
/// failure: the cell `fixed_cell` applied exactly `applies` (and nothing
/// else differed) and reached readiness, where `failed_cell` failed with
/// the signature.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProvenFix {
    /// The scenario both cells belong to.
    pub scenario: String,
    /// The axis values the fixed cell had where the failed one differed.
    pub change: IndexMap<String, String>,
    /// What those values applied, as the scenario file defines them
    /// (`dockerd --iptables=false`, `runsc release 20240729`).
    pub applies: Vec<String>,
    /// The cell that failed with the signature.
    pub failed_cell: String,
    /// The cell that applied the change.
    pub fixed_cell: String,
    /// How far the fixed cell got (`ready` or `container-ok`).
    pub fixed_outcome: Outcome,
}

/// The fixes the shipped runs prove for `signature`: for every cell that
/// reproduced it, the smallest changes to a cell of the same scenario that
/// reached readiness (`container-ok` when the failure was a container's),
/// each distinct change once, the fewest changed axes first (then in
/// scenario and matrix order).
pub fn proven_fixes(signature: &str) -> Vec<ProvenFix> {
    let mut fixes: Vec<ProvenFix> = Vec::new();
    for failed in reproduced(signature) {
        let past = |c: &&EvidenceCell| match failed.outcome {
            Outcome::ContainerFailed => c.outcome == Outcome::ContainerOk,
            _ => matches!(c.outcome, Outcome::Ready | Outcome::ContainerOk),
        };
        let candidates: Vec<&EvidenceCell> = cells()
            .iter()
            .filter(|c| c.scenario == failed.scenario && c.id != failed.id)
            .filter(past)
            .collect();
        let Some(fewest) = candidates.iter().map(|c| changed(failed, c).len()).min() else {
            continue;
        };
        for fixed in candidates {
            let change = changed(failed, fixed);
            if change.len() != fewest {
                continue;
            }
            let change: IndexMap<String, String> = change
                .into_iter()
                .map(|(a, v)| (a.to_owned(), v.to_owned()))
                .collect();
            if fixes
                .iter()
                .any(|f| f.scenario == failed.scenario && f.change == change)
            {
                continue;
            }
            let applies = change
                .iter()
                .map(|(axis, value)| applied(&failed.scenario, axis, value, failed))
                .collect();
            fixes.push(ProvenFix {
                scenario: failed.scenario.clone(),
                change,
                applies,
                failed_cell: failed.id.clone(),
                fixed_cell: fixed.id.clone(),
                fixed_outcome: fixed.outcome,
            });
        }
    }
    // The smallest changes first (stable: scenario and matrix order within).
    fixes.sort_by_key(|f| f.change.len());
    fixes
}

/// A change as a cell applies it, to look up whether a shipped run proved
/// it: what the doctor recommends, verbatim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change<'a> {
    /// One dockerd argument, as one word (`--iptables=false`).
    DockerdArg(&'a str),
    /// One shell command run in the sandbox before dockerd (`setup:`).
    Setup(&'a str),
}

impl<'a> Change<'a> {
    /// The changes a piece of advice quotes, in order, each once: its
    /// backquoted parts that start with `-` are dockerd arguments, those
    /// with words (a space) shell commands; a bare path or name
    /// (`daemon.json`) is neither.
    pub fn quoted_in(text: &'a str) -> Vec<Change<'a>> {
        let mut changes: Vec<Change<'a>> = Vec::new();
        for part in text.split('`').skip(1).step_by(2) {
            let change = if part.starts_with('-') {
                Change::DockerdArg(part)
            } else if part.trim().contains(' ') {
                Change::Setup(part)
            } else {
                continue;
            };
            if !changes.contains(&change) {
                changes.push(change);
            }
        }
        changes
    }

    /// The text, verbatim.
    pub fn text(&self) -> &'a str {
        match *self {
            Change::DockerdArg(text) | Change::Setup(text) => text,
        }
    }

    /// Whether an axis value applies exactly this change and nothing else.
    fn is_applied_by(&self, spec: &ValueSpec) -> bool {
        let mut only = ValueSpec::default();
        match *self {
            Change::DockerdArg(arg) => only.dockerd_args = vec![arg.to_owned()],
            Change::Setup(command) => only.setup = vec![scenario::SetupCommand(command.to_owned())],
        }
        *spec == only
    }
}

/// A shipped run's proof that a [`Change`] gets dockerd past a failure:
/// `fixed` is a cell whose value of `axis` applied exactly the change and
/// nothing else, `failed` the cell that differs from it only in that axis,
/// with a value that applies nothing, and failed with the signature.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChangeProof {
    /// The axis whose value applied the change.
    pub axis: &'static str,
    /// That value's label.
    pub value: &'static str,
    /// The cell that applied the change and got past the failure.
    pub fixed: &'static EvidenceCell,
    /// The same configuration without it, which failed.
    pub failed: &'static EvidenceCell,
}

/// Whether a shipped run proves that `change` gets dockerd past
/// `signature`: a cell applied exactly the change (the scenario file's
/// value for one axis is that change and nothing else) and reached
/// readiness, or failed later with another signature, where the cell that
/// differs only by a value of that axis applying nothing failed with
/// `signature`. Proofs whose fixed cell reached readiness come first; then
/// scenario and matrix order. `None` when no run proves it.
pub fn prove_change(change: Change<'_>, signature: &str) -> Option<ChangeProof> {
    let mut found: Vec<ChangeProof> = Vec::new();
    for (name, parsed) in PARSED.iter() {
        let Some(parsed) = parsed else { continue };
        for axis in &parsed.axes {
            let bare: Vec<&str> = axis
                .values
                .iter()
                .filter(|v| v.spec == ValueSpec::default())
                .map(|v| v.label.as_str())
                .collect();
            for value in axis.values.iter().filter(|v| change.is_applied_by(&v.spec)) {
                let in_scenario = || cells().iter().filter(|c| c.scenario == *name);
                for fixed in in_scenario().filter(|c| c.axes.get(&axis.name) == Some(&value.label))
                {
                    for failed in in_scenario() {
                        let only_axis = match changed(fixed, failed).as_slice() {
                            [(a, v)] => *a == axis.name && bare.contains(v),
                            _ => false,
                        };
                        if only_axis
                            && failed.signature.as_deref() == Some(signature)
                            && got_past(failed, fixed)
                        {
                            found.push(ChangeProof {
                                axis: fixed
                                    .axes
                                    .get_key_value(&axis.name)
                                    .map_or("", |(k, _)| k.as_str()),
                                value: fixed.axes.get(&axis.name).map_or("", String::as_str),
                                fixed,
                                failed,
                            });
                        }
                    }
                }
            }
        }
    }
    let ready = |p: &ChangeProof| matches!(p.fixed.outcome, Outcome::Ready | Outcome::ContainerOk);
    found.iter().find(|p| ready(p)).or(found.first()).copied()
}

/// Whether `fixed` got past the failure `failed` stopped at: it went
/// further (readiness for a daemon failure, a container for a container
/// failure), or stopped at another named failure.
fn got_past(failed: &EvidenceCell, fixed: &EvidenceCell) -> bool {
    let further = match failed.outcome {
        Outcome::DaemonFailed => matches!(fixed.outcome, Outcome::Ready | Outcome::ContainerOk),
        Outcome::ContainerFailed => fixed.outcome == Outcome::ContainerOk,
        _ => return false,
    };
    let elsewhere = matches!(
        fixed.outcome,
        Outcome::DaemonFailed | Outcome::ContainerFailed
    ) && fixed.signature.is_some()
        && fixed.signature != failed.signature
        && fixed.signature.as_deref() != Some(crate::classify::UNKNOWN);
    further || elsewhere
}

static PARSED: LazyLock<Vec<(&'static str, Option<Scenario>)>> = LazyLock::new(|| {
    SCENARIOS
        .iter()
        .map(|(name, text)| {
            let path = std::path::PathBuf::from(format!("scenarios/{name}.yaml"));
            let known = SignatureSet::shared().ids();
            (*name, scenario::parse_scenario(&path, text, &known).ok())
        })
        .collect()
});

/// What setting `axis` to `value` applied in `scenario`, in words a user
/// can repeat; `from` is the failed cell, whose value it replaced.
fn applied(scenario: &str, axis: &str, value: &str, from: &EvidenceCell) -> String {
    if axis == scenario::RUNSC_AXIS {
        return format!("runsc release {value}");
    }
    let spec = |label: &str| -> Option<ValueSpec> {
        let (_, parsed) = PARSED.iter().find(|(name, _)| *name == scenario)?;
        let axis = parsed.as_ref()?.axes.iter().find(|a| a.name == axis)?;
        axis.values
            .iter()
            .find(|v| v.label == label)
            .map(|v| v.spec.clone())
    };
    match spec(value).map(|s| describe(&s)) {
        Some(words) if !words.is_empty() => words,
        Some(_) => match from
            .axes
            .get(axis)
            .and_then(|old| spec(old))
            .map(|s| describe(&s))
        {
            Some(old) if !old.is_empty() => format!("without {old}"),
            _ => format!("{axis}={value}"),
        },
        None => format!("{axis}={value}"),
    }
}

/// A value's settings in words: `dockerd --iptables=false`.
fn describe(spec: &ValueSpec) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !spec.dockerd_args.is_empty() {
        parts.push(format!("dockerd {}", spec.dockerd_args.join(" ")));
    }
    if !spec.runsc_args.is_empty() {
        parts.push(format!("runsc {}", spec.runsc_args.join(" ")));
    }
    if let Some(dockerd) = &spec.dockerd {
        parts.push(format!("the dockerd at {dockerd}"));
    }
    if let Some(runsc) = &spec.runsc {
        parts.push(format!("the runsc at {runsc}"));
    }
    if let Some(cgroups) = &spec.cgroups {
        parts.push(format!("the cgroup layout `{cgroups}` at /sys/fs/cgroup"));
    }
    for command in &spec.setup {
        parts.push(format!("`{command}` in the sandbox before dockerd"));
    }
    match spec.userns {
        Some(true) => parts.push("dockerd in a user namespace".to_owned()),
        Some(false) => parts.push("dockerd in the initial user namespace".to_owned()),
        None => {}
    }
    for (key, value) in &spec.env {
        parts.push(format!("{key}={value} in dockerd's environment"));
    }
    parts.join(", ")
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
    fn every_shipped_scenario_parses() {
        for (name, parsed) in PARSED.iter() {
            assert!(parsed.is_some(), "scenarios/{name}.yaml");
        }
        assert_eq!(SCENARIOS.map(|s| s.0), REPORTS.map(|r| r.0));
    }

    /// A fix is proven by the cell that applied exactly it and reached
    /// readiness, next to the cell that failed without it.
    #[test]
    fn proven_fixes_name_what_the_cell_applied() {
        let fixes = proven_fixes("iptables-nft-unsupported");
        let fix = fixes
            .iter()
            .find(|f| f.scenario == "devices-cgroup")
            .expect("the design matrix proves --iptables=false");
        assert_eq!(fix.applies, ["dockerd --iptables=false"]);
        assert_eq!(
            fix.change.get("iptables").map(String::as_str),
            Some("false")
        );
        assert_eq!(fix.fixed_outcome, Outcome::Ready);
        let failed = cells().iter().find(|c| c.id == fix.failed_cell).unwrap();
        let fixed = cells().iter().find(|c| c.id == fix.fixed_cell).unwrap();
        assert_eq!(
            failed.signature.as_deref(),
            Some("iptables-nft-unsupported")
        );
        assert_eq!(changed(failed, fixed), [("iptables", "false")]);
        let devices = proven_fixes("devices-cgroup-missing");
        assert!(
            devices
                .iter()
                .any(|f| f.applies.contains(&"runsc release 20240729".to_owned())),
            "{devices:?}"
        );
        assert!(proven_fixes("no-such-signature").is_empty());
        // An entry no shipped run reproduced has no proven fix.
        assert!(proven_fixes("daemon-json-syntax-error").is_empty());
    }

    /// A change is proven only by a cell whose value applied exactly its
    /// text, next to the cell without it that failed with the signature.
    #[test]
    fn prove_change_wants_the_exact_text_and_the_signature() {
        let mount = "mount -t tmpfs cgroup /sys/fs/cgroup && mkdir -p /sys/fs/cgroup/devices && \
                     mount -t cgroup -o devices devices /sys/fs/cgroup/devices";
        let proof = prove_change(Change::Setup(mount), "devices-cgroup-missing").unwrap();
        assert_eq!((proof.axis, proof.value), ("devices_mount", "doctor"));
        assert_eq!(proof.fixed.outcome, Outcome::Ready);
        assert_eq!(
            changed(proof.failed, proof.fixed),
            [("devices_mount", "doctor")]
        );
        assert_eq!(
            proof.failed.signature.as_deref(),
            Some("devices-cgroup-missing")
        );
        let flag = prove_change(
            Change::DockerdArg("--iptables=false"),
            "iptables-nft-unsupported",
        )
        .unwrap();
        assert_eq!(flag.fixed.scenario, "doctor-fixes");
        assert_eq!(flag.fixed.outcome, Outcome::Ready);
        // The flag does not get dockerd past the devices check.
        assert_eq!(
            prove_change(
                Change::DockerdArg("--iptables=false"),
                "devices-cgroup-missing"
            ),
            None
        );
        // The mount without its tmpfs was never applied; a flag is not a
        // command; the design matrix's `--iptables=true` is no bare value.
        let bare = "mkdir -p /sys/fs/cgroup/devices && mount -t cgroup -o devices devices \
                    /sys/fs/cgroup/devices";
        assert_eq!(
            prove_change(Change::Setup(bare), "devices-cgroup-missing"),
            None
        );
        assert_eq!(
            prove_change(
                Change::Setup("--iptables=false"),
                "iptables-nft-unsupported"
            ),
            None
        );
        assert_eq!(
            prove_change(
                Change::DockerdArg("--iptables=true"),
                "iptables-nft-unsupported"
            ),
            None
        );
    }

    /// In the committed run of scenarios/doctor-fixes.yaml, the doctor in
    /// the bare runsc 20240729 cell (nothing applied) recommended exactly
    /// the commands and flags the scenario's `doctor` values apply, and in
    /// the cell that applied them all, nothing more.
    #[test]
    fn doctor_fixes_applies_what_the_doctor_recommended_in_its_own_run() {
        let (_, text) = REPORTS.iter().find(|(n, _)| *n == "doctor-fixes").unwrap();
        let report: serde_json::Value = serde_json::from_str(text).unwrap();
        let cell = |mount: &str, flag: &str| {
            report["cells"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| {
                    c["axes"]["devices_mount"] == mount
                        && c["axes"]["iptables_flag"] == flag
                        && c["axes"]["runsc"] == "20240729"
                })
                .unwrap()
                .clone()
        };
        let recommended = |cell: &serde_json::Value| {
            let doctor = &cell["doctor"];
            let strings = |v: &serde_json::Value| -> Vec<String> {
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_owned())
                    .collect()
            };
            let commands: Vec<String> = strings(&doctor["recommended_actions"])
                .iter()
                .flat_map(|a| {
                    a.split('`')
                        .enumerate()
                        .filter(|(i, p)| i % 2 == 1 && !p.starts_with('-'))
                        .map(|(_, p)| p.to_owned())
                        .collect::<Vec<_>>()
                })
                .collect();
            (commands, strings(&doctor["recommended_flags"]))
        };
        let (_, parsed) = PARSED.iter().find(|(n, _)| *n == "doctor-fixes").unwrap();
        let applied: Vec<&ValueSpec> = parsed
            .as_ref()
            .unwrap()
            .axes
            .iter()
            .flat_map(|a| a.values.iter().filter(|v| v.label == "doctor"))
            .map(|v| &v.spec)
            .collect();
        let commands: Vec<String> = applied
            .iter()
            .flat_map(|s| s.setup.iter().map(|c| c.0.clone()))
            .collect();
        let flags: Vec<String> = applied
            .iter()
            .flat_map(|s| s.dockerd_args.iter().cloned())
            .collect();
        assert_eq!(recommended(&cell("none", "none")), (commands, flags));
        assert_eq!(
            recommended(&cell("doctor", "doctor")),
            (Vec::new(), Vec::new())
        );
        assert_eq!(cell("doctor", "doctor")["outcome"], "ready");
    }

    #[test]
    fn a_value_without_settings_is_described_by_what_it_removed() {
        let from = cells()
            .iter()
            .find(|c| c.axes.get("cgroup_parent").map(String::as_str) == Some("/"))
            .unwrap();
        assert_eq!(
            applied(&from.scenario, "cgroup_parent", "none", from),
            "without dockerd --cgroup-parent=/"
        );
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

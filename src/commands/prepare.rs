//! What `run` and `list` share: load each scenario, resolve its binaries'
//! paths and version labels, append the runtime axis, apply `--filter` and
//! `--shard`, and expand it into cells.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::binaries::{self, Binary, version_label};
use crate::classify::SignatureSet;
use crate::errors::{EnvironmentError, HarnessError, UsageError};
use crate::matrix::{self, Cell, Shard};
use crate::sandbox::package_dirs;
use crate::scenario::{
    Axis, AxisValue, RUNSC_AXIS, SandboxKind, Scenario, Selector, ValueSpec, check_selector,
    load_scenario, split_label,
};

/// The scenario `run` and `list` use when none is given.
pub const DEFAULT_SCENARIO: &str = "scenarios/devices-cgroup.yaml";

/// Which scenarios, binaries and cells (`run` and `list`).
#[derive(Debug, Clone, Default)]
pub struct MatrixConfig {
    /// Scenario files (none: [`DEFAULT_SCENARIO`]).
    pub scenarios: Vec<PathBuf>,
    /// runsc binaries (`PATH` or `LABEL=PATH`) replacing the scenario's list.
    pub runsc: Vec<String>,
    /// `--filter`: keep only cells with these axis values.
    pub filter: Selector,
    /// `--shard K/N`.
    pub shard: Option<Shard>,
    /// Refuse selections larger than this.
    pub max_cells: usize,
}

/// A scenario with its runtime axis and binary labels resolved.
#[derive(Debug)]
pub struct Prepared {
    /// The scenario, its dockerd path resolved.
    pub scenario: Scenario,
    /// Its axes, the runtime axis last.
    pub axes: Vec<Axis>,
    /// The selected cells, in matrix order.
    pub cells: Vec<Cell>,
    /// `runsc --version` by runsc path.
    pub runsc_versions: HashMap<String, String>,
    /// `dockerd --version` by dockerd path.
    pub dockerd_versions: HashMap<String, String>,
}

/// Loads and expands every scenario of `config`. With `strict`, a missing
/// binary is an environment error; without it (for `list`), the path
/// stands in for the label.
///
/// # Errors
/// Scenario, usage and (with `strict`) environment errors.
pub fn prepare(
    config: &MatrixConfig,
    signatures: &SignatureSet,
    strict: bool,
) -> Result<Vec<Prepared>, HarnessError> {
    let paths = if config.scenarios.is_empty() {
        vec![PathBuf::from(DEFAULT_SCENARIO)]
    } else {
        config.scenarios.clone()
    };
    let mut prepared = Vec::new();
    for path in paths {
        let mut scenario = load_scenario(&path, &signatures.ids())?;
        let resolved = resolve_axes(&mut scenario, &config.runsc, strict)?;
        if !config.filter.is_empty() {
            // The runtime axis is resolved by now, so check its labels like
            // any other axis's (`check_selector` only waives them for a
            // runsc scenario's own selectors, written before resolution).
            check_selector(&resolved.axes, SandboxKind::Native, &config.filter)
                .map_err(|detail| UsageError::FilterUnknown { detail })?;
        }
        let filters: Vec<Selector> = (!config.filter.is_empty())
            .then(|| config.filter.clone())
            .into_iter()
            .collect();
        let size = matrix::checked_size(&resolved.axes).filter(|n| *n <= matrix::HARD_LIMIT);
        let Some(size) = size else {
            return Err(UsageError::MatrixTooLarge {
                scenario: scenario.name.clone(),
                limit: matrix::HARD_LIMIT,
            }
            .into());
        };
        let mut cells = matrix::expand(&scenario, &resolved.axes, &filters);
        fall_back_to_a_runc_that_runs(&mut cells);
        spell_packet_write(&mut cells);
        for cell in &mut cells {
            cell.settings.dockerd_version = resolved
                .dockerd_versions
                .get(&cell.settings.dockerd)
                .cloned();
        }
        if let Some(shard) = config.shard {
            cells = matrix::shard(cells, shard);
        }
        if cells.len() > config.max_cells {
            return Err(UsageError::TooManyCells {
                scenario: scenario.name.clone(),
                selected: cells.len(),
                size,
                max: config.max_cells,
            }
            .into());
        }
        prepared.push(Prepared {
            scenario,
            axes: resolved.axes,
            cells,
            runsc_versions: resolved.runsc_versions,
            dockerd_versions: resolved.dockerd_versions,
        });
    }
    Ok(prepared)
}

struct Resolved {
    axes: Vec<Axis>,
    runsc_versions: HashMap<String, String>,
    dockerd_versions: HashMap<String, String>,
}

/// Resolves binary paths and version labels, and appends the runtime axis.
fn resolve_axes(
    scenario: &mut Scenario,
    runsc_override: &[String],
    strict: bool,
) -> Result<Resolved, HarnessError> {
    let found = |result: Result<Binary, binaries::BinaryError>| match result {
        Ok(binary) => Ok(Some(binary)),
        Err(err) if strict => Err(HarnessError::from(EnvironmentError::Binary(err))),
        Err(_) => Ok(None),
    };
    let locate = |name: &str| found(binaries::locate(name));
    // A runsc must also answer like one, so `--runsc /bin/true` is an
    // environment error before any cell starts, not a matrix of `error`s.
    let locate_runsc = |name: &str| found(binaries::locate_runsc(name));
    let mut dockerd_versions = HashMap::new();
    if let Some(dockerd) = locate(&scenario.dockerd)? {
        scenario.dockerd = dockerd.path.display().to_string();
        dockerd_versions.insert(scenario.dockerd.clone(), dockerd.version);
    }
    let mut axes = scenario.axes.clone();
    for axis in &mut axes {
        for value in &mut axis.values {
            for helper in [&mut value.spec.containerd, &mut value.spec.runc] {
                if let Some(name) = helper.clone()
                    && let Some(binary) = locate(&name)?
                {
                    *helper = Some(binary.path.display().to_string());
                }
            }
            let Some(path) = value.spec.dockerd.clone() else {
                continue;
            };
            if let Some(binary) = locate(&path)? {
                let resolved = binary.path.display().to_string();
                if value.label_from_version {
                    value.label = version_label(&binary.version).unwrap_or(path);
                }
                dockerd_versions.insert(resolved.clone(), binary.version);
                value.spec.dockerd = Some(resolved);
            }
            value.label_from_version = false;
        }
        check_unique_labels(axis)?;
    }
    let mut runsc_versions = HashMap::new();
    if scenario.sandbox.uses_runsc() {
        let given = if runsc_override.is_empty() {
            scenario.runsc_binaries.clone()
        } else {
            runsc_override.to_vec()
        };
        let mut values = Vec::new();
        for text in given {
            let (label, path) = split_label(&text);
            let (path, version) = match locate_runsc(path)? {
                Some(binary) => (binary.path.display().to_string(), Some(binary.version)),
                None => (path.to_owned(), None),
            };
            let label = label
                .map(str::to_owned)
                .or_else(|| version.as_deref().and_then(version_label))
                .unwrap_or_else(|| path.clone());
            if let Some(version) = version {
                runsc_versions.insert(path.clone(), version);
            }
            values.push(AxisValue {
                label,
                spec: ValueSpec {
                    runsc: Some(path),
                    ..ValueSpec::default()
                },
                label_from_version: false,
            });
        }
        let axis = Axis {
            name: RUNSC_AXIS.to_owned(),
            values,
        };
        check_unique_labels(&axis)?;
        axes.push(axis);
    }
    Ok(Resolved {
        axes,
        runsc_versions,
        dockerd_versions,
    })
}

/// A dockerd unpacked from a newer suite would find that suite's runc first
/// in its PATH (see `sandbox::layout::package_dirs`), and a runc built for a
/// newer libc does not run here (`GLIBC_2.38' not found`): every container
/// would fail on it. For such a cell that names no runc, the first system
/// runc that answers `--version` is linked first in PATH instead. A
/// package's runc that runs is kept.
fn fall_back_to_a_runc_that_runs(cells: &mut [Cell]) {
    let mut decided: HashMap<String, Option<String>> = HashMap::new();
    for cell in cells {
        if cell.settings.runc.is_some() {
            continue;
        }
        let dockerd = cell.settings.dockerd.clone();
        let choice = decided
            .entry(dockerd.clone())
            .or_insert_with(|| runc_instead_of_packages(&dockerd));
        cell.settings.runc.clone_from(choice);
    }
}

/// The system runc to use instead of the one dockerd's package dirs would
/// give, when that one does not run.
fn runc_instead_of_packages(dockerd: &str) -> Option<String> {
    let packaged = package_dirs(dockerd)
        .into_iter()
        .map(|dir| dir.join("runc"))
        .find(|runc| runc.exists())?;
    if binaries::locate(&packaged.display().to_string()).is_ok() {
        return None;
    }
    [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ]
    .iter()
    .map(|dir| Path::new(dir).join("runc").display().to_string())
    .find_map(|candidate| binaries::locate(&candidate).ok())
    .map(|runc| runc.path.display().to_string())
}

/// gVisor's documented flag for packet socket writes (Docker 28 needs it).
pub const PACKET_WRITE_FLAG: &str = "--allow-packet-socket-write";
/// The older spelling, the only one both Debian runsc binaries define.
pub const PACKET_WRITE_FLAG_OLD: &str = "--TESTONLY-allow-packet-endpoint-write";

/// Adds the packet-socket-write flag to the cells that ask for it, spelled
/// as each cell's runsc spells it (`runsc flags`): the documented name when
/// the runsc has it, else the older TESTONLY name; when it has neither (or
/// cannot say), the documented name, which that runsc then rejects and the
/// cell reports as `error` with runsc's own words (`runsc-flag-unknown`).
fn spell_packet_write(cells: &mut [Cell]) {
    let mut known: HashMap<String, Vec<String>> = HashMap::new();
    for cell in cells.iter_mut().filter(|c| c.settings.packet_write) {
        let flags = match &cell.settings.runsc {
            Some(runsc) => known
                .entry(runsc.clone())
                .or_insert_with(|| binaries::runsc_flags(Path::new(runsc)).unwrap_or_default()),
            None => continue,
        };
        let has = |flag: &str| {
            flags
                .iter()
                .any(|f| Some(f.as_str()) == flag.strip_prefix("--"))
        };
        let spelled = if !has(PACKET_WRITE_FLAG) && has(PACKET_WRITE_FLAG_OLD) {
            PACKET_WRITE_FLAG_OLD
        } else {
            PACKET_WRITE_FLAG
        };
        cell.settings.runsc_flags.push(spelled.to_owned());
    }
}

fn check_unique_labels(axis: &Axis) -> Result<(), UsageError> {
    for (i, value) in axis.values.iter().enumerate() {
        if axis.values[..i].iter().any(|v| v.label == value.label) {
            return Err(UsageError::DuplicateLabel {
                axis: axis.name.clone(),
                label: value.label.clone(),
            });
        }
    }
    Ok(())
}

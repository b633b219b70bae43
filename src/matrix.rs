//! Pure expansion of a scenario's axes into ordered, identified cells.
//!
//! The first axis varies slowest, so the order is the order a person reads the
//! YAML in. Cell IDs (`scenario[axis=value,…]`) are built here once and are
//! the same string in every report. Nothing here touches the file system.

use indexmap::IndexMap;

use crate::report_format::Expectation;
use crate::scenario::{Axis, CgroupLayout, Depth, OciBase, SandboxKind, Scenario, Selector};

/// Everything needed to run one cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Position in the full matrix (before filtering), from 0.
    pub index: usize,
    /// `scenario[axis=value,…]`.
    pub id: String,
    /// Axis name to label, in axis order.
    pub axes: IndexMap<String, String>,
    /// What to run.
    pub settings: CellSettings,
    /// The first `expect:` rule that matched.
    pub expectation: Option<Expectation>,
}

/// The resolved configuration of one cell.
#[derive(Debug, Clone, PartialEq)]
pub struct CellSettings {
    /// Where dockerd runs.
    pub sandbox: SandboxKind,
    /// The runsc binary (runsc cells only).
    pub runsc: Option<String>,
    /// Global runsc flags.
    pub runsc_flags: Vec<String>,
    /// Allow packet socket writes: `commands::prepare` adds the flag as the
    /// cell's runsc spells it.
    pub packet_write: bool,
    /// The cgroup layout to mount.
    pub cgroups: CgroupLayout,
    /// What the OCI bundle starts from (`runsc-oci` cells).
    pub oci: OciBase,
    /// Shell commands run in the sandbox before dockerd: the scenario's,
    /// then each axis value's, in axis order.
    pub setup: Vec<String>,
    /// The dockerd binary.
    pub dockerd: String,
    /// Its `--version` line, once `commands::prepare` has read it.
    pub dockerd_version: Option<String>,
    /// dockerd's arguments (without the harness's own paths).
    pub dockerd_args: Vec<String>,
    /// The containerd binary dockerd finds first in its PATH, when given
    /// (otherwise the one beside dockerd's package, or the system's).
    pub containerd: Option<String>,
    /// The runc binary dockerd and containerd find first, when given.
    pub runc: Option<String>,
    /// dockerd's extra environment.
    pub env: IndexMap<String, String>,
    /// Whether dockerd starts in a user namespace.
    pub userns: bool,
    /// How far the probe goes.
    pub depth: Depth,
    /// How long the probe may take, in seconds.
    pub timeout_secs: u64,
    /// The static binary for the probe image.
    pub busybox: std::path::PathBuf,
    /// The registry binary for the `pull` depth.
    pub registry: std::path::PathBuf,
    /// Size of dockerd's state tmpfs in MiB.
    pub work_size_mb: Option<u64>,
    /// Run the doctor's checks in the sandbox before dockerd.
    pub doctor: bool,
}

/// Expands a scenario into its cells, keeping those that pass the scenario's
/// include/exclude and every extra `filters` selector.
///
/// `axes` must already contain the runtime axis for runsc scenarios.
pub fn expand(scenario: &Scenario, axes: &[Axis], filters: &[Selector]) -> Vec<Cell> {
    let total: usize = axes.iter().map(|a| a.values.len()).product();
    let mut cells = Vec::new();
    for index in 0..total {
        let picks = pick_values(axes, index);
        let labels: IndexMap<String, String> = axes
            .iter()
            .zip(&picks)
            .map(|(axis, &i)| (axis.name.clone(), axis.values[i].label.clone()))
            .collect();
        if !scenario.include.is_empty() && !scenario.include.iter().any(|s| matches(s, &labels)) {
            continue;
        }
        if scenario.exclude.iter().any(|s| matches(s, &labels)) {
            continue;
        }
        if !filters.iter().all(|s| matches(s, &labels)) {
            continue;
        }
        let settings = settings_for(scenario, axes, &picks);
        let expectation = scenario
            .expect
            .iter()
            .find(|rule| matches(&rule.when, &labels))
            .map(|rule| Expectation {
                outcome: rule.outcome.clone(),
                signature: rule.signature.clone(),
            });
        cells.push(Cell {
            index,
            id: cell_id(&scenario.name, &labels),
            axes: labels,
            settings,
            expectation,
        });
    }
    cells
}

/// The number of cells before any filtering.
pub fn full_size(axes: &[Axis]) -> usize {
    checked_size(axes).unwrap_or(usize::MAX)
}

/// The number of cells before filtering, or `None` when it overflows.
pub fn checked_size(axes: &[Axis]) -> Option<usize> {
    axes.iter()
        .try_fold(1usize, |acc, a| acc.checked_mul(a.values.len()))
}

/// The most cells any matrix may expand to, whatever the flags: beyond it
/// even listing the cells would take more memory than a CI machine has.
pub const HARD_LIMIT: usize = 100_000;

/// One shard of a matrix: `K/N`, 1-based, as CI jobs count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, from 1.
    pub index: usize,
    /// How many shards.
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let bad = || format!("`{text}` is not K/N with 1 <= K <= N (e.g. 2/5)");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let index: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Keeps shard `shard` of `cells`: every N-th cell in matrix order, starting
/// at the K-th. The same scenario and filters give the same shards on any
/// machine, the shards are disjoint, their union is all cells, and their
/// sizes differ by at most one.
pub fn shard(cells: Vec<Cell>, shard: Shard) -> Vec<Cell> {
    cells
        .into_iter()
        .enumerate()
        .filter(|(position, _)| position % shard.count == shard.index - 1)
        .map(|(_, cell)| cell)
        .collect()
}

/// `name[a=1,b=2]`, or just `name` for a matrix without axes.
pub fn cell_id(scenario: &str, labels: &IndexMap<String, String>) -> String {
    if labels.is_empty() {
        return scenario.to_owned();
    }
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{scenario}[{}]", inner.join(","))
}

/// Whether a cell's labels satisfy a selector: every named axis has one of
/// the listed labels. Axes the cell does not have never match.
pub fn matches(selector: &Selector, labels: &IndexMap<String, String>) -> bool {
    selector.iter().all(|(axis, wanted)| {
        labels
            .get(axis)
            .is_some_and(|label| wanted.0.iter().any(|w| w == label))
    })
}

/// Mixed-radix decomposition of `index`; the last axis varies fastest.
fn pick_values(axes: &[Axis], mut index: usize) -> Vec<usize> {
    let mut picks = vec![0; axes.len()];
    for (slot, axis) in axes.iter().enumerate().rev() {
        let n = axis.values.len();
        picks[slot] = index % n;
        index /= n;
    }
    picks
}

fn settings_for(scenario: &Scenario, axes: &[Axis], picks: &[usize]) -> CellSettings {
    let mut settings = CellSettings {
        sandbox: scenario.sandbox,
        runsc: None,
        runsc_flags: scenario.runsc_flags.clone(),
        packet_write: false,
        cgroups: scenario.cgroups.clone(),
        oci: scenario.oci.clone(),
        setup: scenario.setup.clone(),
        dockerd: scenario.dockerd.clone(),
        dockerd_version: None,
        dockerd_args: scenario.dockerd_args.clone(),
        containerd: None,
        runc: None,
        env: scenario.dockerd_env.clone(),
        userns: false,
        depth: scenario.depth,
        timeout_secs: scenario.timeout_secs,
        busybox: scenario.busybox.clone(),
        registry: scenario.registry.clone(),
        work_size_mb: scenario.work_size_mb,
        doctor: true,
    };
    for (axis, &pick) in axes.iter().zip(picks) {
        let spec = &axis.values[pick].spec;
        settings
            .dockerd_args
            .extend(spec.dockerd_args.iter().cloned());
        settings.runsc_flags.extend(spec.runsc_args.iter().cloned());
        settings
            .setup
            .extend(spec.setup.iter().map(|c| c.0.clone()));
        if let Some(dockerd) = &spec.dockerd {
            settings.dockerd = dockerd.clone();
        }
        if let Some(runsc) = &spec.runsc {
            settings.runsc = Some(runsc.clone());
        }
        if let Some(containerd) = &spec.containerd {
            settings.containerd = Some(containerd.clone());
        }
        if let Some(runc) = &spec.runc {
            settings.runc = Some(runc.clone());
        }
        if let Some(layout) = &spec.cgroups {
            settings.cgroups = layout.clone();
        }
        settings.packet_write |= spec.packet_write;
        if let Some(userns) = spec.userns {
            settings.userns = userns;
        }
        if let Some(oci) = &spec.oci {
            settings.oci = oci.clone();
        }
        for (k, v) in &spec.env {
            settings.env.insert(k.clone(), v.clone());
        }
    }
    settings
}

/// The first cell of a scenario given as text, for unit tests of the
/// modules that take cells.
#[cfg(test)]
pub(crate) fn first_cell(text: &str) -> Cell {
    let s = crate::scenario::load_scenario_text(text).expect("a valid test scenario");
    expand(&s, &s.axes, &[]).remove(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{OneOrMany, load_scenario_text};

    const DESIGN: &str = r#"
name: m
sandbox: native
axes:
  cgroup_driver: [systemd, cgroupfs]
  cgroup_parent: [none, /]
  iptables: [true, false]
"#;

    fn sel(pairs: &[(&str, &[&str])]) -> Selector {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    OneOrMany(v.iter().map(|s| s.to_string()).collect()),
                )
            })
            .collect()
    }

    /// A cell runs the scenario's setup commands first, then each axis
    /// value's, in axis order, each as written.
    #[test]
    fn setup_commands_are_the_scenarios_then_each_values_in_axis_order() {
        let s = load_scenario_text(
            "name: s\nsetup: [\"echo first\"]\naxes:\n  a:\n    none: {}\n    x: {setup: [\"mount -t tmpfs t /mnt && echo 'a b'\"]}\n  b:\n    y: {setup: [\"echo last\"], dockerd_args: [--iptables=false]}\n",
        )
        .unwrap();
        let cells = expand(&s, &s.axes, &[]);
        assert_eq!(cells[0].settings.setup, ["echo first", "echo last"]);
        assert_eq!(
            cells[1].settings.setup,
            [
                "echo first",
                "mount -t tmpfs t /mnt && echo 'a b'",
                "echo last"
            ]
        );
        assert_eq!(cells[1].settings.dockerd_args, ["--iptables=false"]);
    }

    #[test]
    fn expands_in_yaml_order_last_axis_fastest() {
        let s = load_scenario_text(DESIGN).unwrap();
        let cells = expand(&s, &s.axes, &[]);
        assert_eq!(cells.len(), 8);
        assert_eq!(
            cells[0].id,
            "m[cgroup_driver=systemd,cgroup_parent=none,iptables=true]"
        );
        assert_eq!(
            cells[1].id,
            "m[cgroup_driver=systemd,cgroup_parent=none,iptables=false]"
        );
        assert_eq!(
            cells[7].id,
            "m[cgroup_driver=cgroupfs,cgroup_parent=/,iptables=false]"
        );
        assert_eq!(
            cells[7].settings.dockerd_args,
            vec![
                "--exec-opt",
                "native.cgroupdriver=cgroupfs",
                "--cgroup-parent=/",
                "--iptables=false"
            ]
        );
        assert_eq!(cells[0].settings.dockerd_args.len(), 3, "none adds no flag");
    }

    #[test]
    fn ids_are_unique_and_indices_stable() {
        let s = load_scenario_text(DESIGN).unwrap();
        let cells = expand(&s, &s.axes, &[]);
        let ids: std::collections::HashSet<_> = cells.iter().map(|c| &c.id).collect();
        assert_eq!(ids.len(), cells.len());
        assert!(cells.iter().enumerate().all(|(i, c)| c.index == i));
    }

    #[test]
    fn include_exclude_and_filters() {
        let text = format!(
            "{DESIGN}include:\n  - {{cgroup_driver: cgroupfs}}\nexclude:\n  - {{iptables: true, cgroup_parent: /}}\n"
        );
        let s = load_scenario_text(&text).unwrap();
        let cells = expand(&s, &s.axes, &[]);
        assert_eq!(cells.len(), 3);
        assert!(cells.iter().all(|c| c.axes["cgroup_driver"] == "cgroupfs"));
        assert!(
            !cells
                .iter()
                .any(|c| c.axes["iptables"] == "true" && c.axes["cgroup_parent"] == "/")
        );
        let filtered = expand(&s, &s.axes, &[sel(&[("iptables", &["false"])])]);
        assert_eq!(filtered.len(), 2);
        assert_eq!(filtered[0].index, 5);
    }

    #[test]
    fn selector_with_several_values_is_an_or() {
        let s = load_scenario_text(DESIGN).unwrap();
        let cells = expand(&s, &s.axes, &[sel(&[("cgroup_parent", &["none", "/"])])]);
        assert_eq!(cells.len(), 8);
    }

    #[test]
    fn first_matching_expectation_wins() {
        let text = format!(
            "{DESIGN}expect:\n  - when: {{iptables: true}}\n    outcome: daemon-failed\n  - outcome: ready\n"
        );
        let s = load_scenario_text(&text).unwrap();
        let cells = expand(&s, &s.axes, &[]);
        assert_eq!(
            cells[0].expectation.as_ref().unwrap().outcome.as_deref(),
            Some("daemon-failed")
        );
        assert_eq!(
            cells[1].expectation.as_ref().unwrap().outcome.as_deref(),
            Some("ready")
        );
    }

    #[rstest::rstest]
    fn shards_cover_every_cell_exactly_once(#[values(1, 2, 3, 4, 5)] count: usize) {
        let s = load_scenario_text(DESIGN).unwrap();
        let all = expand(&s, &s.axes, &[]);
        let mut seen = Vec::new();
        let mut sizes = Vec::new();
        for index in 1..=count {
            let part = shard(all.clone(), Shard { index, count });
            sizes.push(part.len());
            seen.extend(part.into_iter().map(|c| c.id));
        }
        let mut expected: Vec<String> = all.iter().map(|c| c.id.clone()).collect();
        seen.sort();
        expected.sort();
        assert_eq!(seen, expected, "every cell once");
        assert!(
            sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
            "{sizes:?}"
        );
    }

    #[rstest::rstest]
    #[case("1/1", Some((1, 1)))]
    #[case("3/5", Some((3, 5)))]
    #[case("0/5", None)]
    #[case("6/5", None)]
    #[case("2", None)]
    #[case("a/b", None)]
    fn shard_parsing(#[case] text: &str, #[case] want: Option<(usize, usize)>) {
        let got = text.parse::<Shard>().ok().map(|s| (s.index, s.count));
        assert_eq!(got, want);
    }

    #[test]
    fn no_axes_gives_one_cell_named_after_the_scenario() {
        let s = load_scenario_text("name: solo\nsandbox: native\n").unwrap();
        let cells = expand(&s, &s.axes, &[]);
        assert_eq!(cells.len(), 1);
        assert_eq!(cells[0].id, "solo");
    }
}

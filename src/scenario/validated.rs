//! A scenario after validation: every axis value carries explicit settings.
//!
//! This module owns the built-in shorthand axes (what `iptables: [true,
//! false]` means) and the cross-checks between sections. It reads no files
//! and spawns nothing; binary labels that depend on `--version` are resolved
//! later by `binaries.rs`.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::error::LoadError;
use super::model::{
    AxisSpec, CgroupLayout, Depth, ExpectRule, OciBase, OciProfile, SandboxKind, ScenarioFile,
    Selector, ValueSpec,
};
use crate::report_format::Outcome;

/// The name of the runtime axis, one value per runsc binary.
pub const RUNSC_AXIS: &str = "runsc";

/// Built-in axes and what one of their labels means.
pub const BUILTIN_AXES: &[(&str, &str)] = &[
    ("cgroup_driver", "--exec-opt native.cgroupdriver=VALUE"),
    (
        "cgroup_parent",
        "--cgroup-parent=VALUE, or nothing for `none`",
    ),
    ("iptables", "--iptables=VALUE (true or false)"),
    ("bridge", "--bridge=VALUE, or nothing for `default`"),
    (
        "storage_driver",
        "--storage-driver=VALUE, or nothing for `default`",
    ),
    ("cgroups", "the cgroup layout: auto, none, v2 or a,b,c"),
    ("dockerd", "the dockerd binary: PATH or LABEL=PATH"),
    (
        "userns",
        "start dockerd in a user namespace (true or false)",
    ),
    ("platform", "runsc --platform=VALUE"),
    (
        "runsc_net",
        "none, net-raw (runsc --net-raw) or packet-write (--net-raw and packet socket writes, \
         spelled as each runsc spells it)",
    ),
    ("runsc_flags", "extra runsc flags, space separated"),
    (
        "oci_profile",
        "the OCI profile of a runsc-oci cell: docker-privileged, docker-default or gke-sandbox",
    ),
];

/// A validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The scenario's name, as used in cell IDs.
    pub name: String,
    /// The file it came from.
    pub path: PathBuf,
    /// What it shows.
    pub description: Option<String>,
    /// Where dockerd runs.
    pub sandbox: SandboxKind,
    /// runsc binaries as written (`PATH` or `LABEL=PATH`).
    pub runsc_binaries: Vec<String>,
    /// Global runsc flags for every cell.
    pub runsc_flags: Vec<String>,
    /// The default cgroup layout.
    pub cgroups: CgroupLayout,
    /// The default OCI bundle base (`runsc-oci` cells).
    pub oci: OciBase,
    /// Shell commands every cell runs in the sandbox before dockerd.
    pub setup: Vec<String>,
    /// The default dockerd binary.
    pub dockerd: String,
    /// Arguments for every dockerd.
    pub dockerd_args: Vec<String>,
    /// Environment for every dockerd.
    pub dockerd_env: IndexMap<String, String>,
    /// Probe depth.
    pub depth: Depth,
    /// Probe timeout in seconds.
    pub timeout_secs: u64,
    /// The static binary for the probe image.
    pub busybox: PathBuf,
    /// The registry binary for the `pull` depth.
    pub registry: PathBuf,
    /// Size of dockerd's state tmpfs in MiB.
    pub work_size_mb: Option<u64>,
    /// The axes, in order.
    pub axes: Vec<Axis>,
    /// Include selectors.
    pub include: Vec<Selector>,
    /// Exclude selectors.
    pub exclude: Vec<Selector>,
    /// Expectation rules.
    pub expect: Vec<ExpectRule>,
}

/// One matrix axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// The axis name.
    pub name: String,
    /// Its values, in order.
    pub values: Vec<AxisValue>,
}

/// One value of an axis.
#[derive(Debug, Clone, PartialEq)]
pub struct AxisValue {
    /// The label shown in cell IDs.
    pub label: String,
    /// What the value sets.
    pub spec: ValueSpec,
    /// The label is a placeholder to be replaced by the binary's version.
    pub label_from_version: bool,
}

impl Axis {
    /// The labels of this axis, for error messages.
    pub fn labels(&self) -> Vec<&str> {
        self.values.iter().map(|v| v.label.as_str()).collect()
    }
}

/// Validates a parsed scenario file.
///
/// # Errors
/// [`LoadError::Invalid`] naming the key path and what is accepted.
pub fn validate(
    file: ScenarioFile,
    path: &Path,
    known_signatures: &[&str],
) -> Result<Scenario, LoadError> {
    let invalid = |key: &str, message: String| LoadError::Invalid {
        path: path.to_owned(),
        key: key.to_owned(),
        message,
    };
    let name = match file.name {
        Some(name) => name,
        None => path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scenario".to_owned()),
    };
    if !is_id_safe(&name) {
        return Err(invalid(
            "name",
            format!("`{name}` may only use letters, digits, `-`, `_` and `.`"),
        ));
    }
    if file.probe.timeout_secs == 0 {
        return Err(invalid(
            "probe.timeout_secs",
            "must be at least 1".to_owned(),
        ));
    }
    if file.probe.work_size_mb == Some(0) {
        return Err(invalid(
            "probe.work_size_mb",
            "must be at least 1 (MiB)".to_owned(),
        ));
    }
    let oci_cells = file.sandbox.uses_oci_bundle();
    if oci_cells && file.cgroups.is_some() {
        return Err(invalid("cgroups", OCI_CGROUPS.to_owned()));
    }
    if !oci_cells && file.oci.is_some() {
        return Err(invalid("oci", not_oci_sandbox(file.sandbox)));
    }
    let scenario_dir = path.parent().unwrap_or(Path::new(""));
    let oci = resolve_template(file.oci.unwrap_or_default(), scenario_dir);
    if file.sandbox.uses_runsc() && file.runsc.binaries.is_empty() {
        return Err(invalid(
            "runsc.binaries",
            "needs at least one runsc binary".to_owned(),
        ));
    }

    let mut axes = Vec::new();
    for (axis_name, spec) in file.axes {
        let key = format!("axes.{axis_name}");
        if axis_name == RUNSC_AXIS {
            return Err(invalid(
                &key,
                "the runsc axis comes from `runsc.binaries` or `--runsc`; do not declare it"
                    .to_owned(),
            ));
        }
        if !is_id_safe(&axis_name) {
            return Err(invalid(
                &key,
                "axis names may only use letters, digits, `-`, `_` and `.`".to_owned(),
            ));
        }
        let mut values = match spec {
            AxisSpec::Shorthand(labels) => labels
                .into_iter()
                .enumerate()
                .map(|(i, label)| {
                    shorthand_value(&axis_name, &label)
                        .map_err(|message| invalid(&format!("{key}[{i}]"), message))
                })
                .collect::<Result<Vec<_>, _>>()?,
            AxisSpec::Explicit(map) => map
                .into_iter()
                .map(|(label, spec)| AxisValue {
                    label,
                    spec,
                    label_from_version: false,
                })
                .collect(),
        };
        for value in &mut values {
            let value_key = format!("{key}.{}", value.label);
            if oci_cells && value.spec.cgroups.is_some() {
                return Err(invalid(&value_key, OCI_CGROUPS.to_owned()));
            }
            if let Some(base) = value.spec.oci.take() {
                if !oci_cells {
                    return Err(invalid(&value_key, not_oci_sandbox(file.sandbox)));
                }
                value.spec.oci = Some(resolve_template(base, scenario_dir));
            }
        }
        if values.is_empty() {
            return Err(invalid(&key, "needs at least one value".to_owned()));
        }
        for value in &values {
            if !value.label_from_version && !is_label_safe(&value.label) {
                return Err(invalid(
                    &key,
                    format!(
                        "value `{}` may not contain `,`, `=`, `[`, `]` or spaces",
                        value.label
                    ),
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for value in &values {
            if !value.label_from_version && !seen.insert(value.label.clone()) {
                return Err(invalid(
                    &key,
                    format!("value `{}` appears twice", value.label),
                ));
            }
        }
        axes.push(Axis {
            name: axis_name,
            values,
        });
    }

    for (section, selectors) in [("include", &file.include), ("exclude", &file.exclude)] {
        for (i, selector) in selectors.iter().enumerate() {
            check_selector(&axes, file.sandbox, selector)
                .map_err(|message| invalid(&format!("{section}[{i}]"), message))?;
        }
    }
    for (i, rule) in file.expect.iter().enumerate() {
        let key = format!("expect[{i}]");
        check_selector(&axes, file.sandbox, &rule.when)
            .map_err(|message| invalid(&format!("{key}.when"), message))?;
        if rule.outcome.is_none() && rule.signature.is_none() {
            return Err(invalid(
                &key,
                "needs `outcome`, `signature` or both".to_owned(),
            ));
        }
        if let Some(outcome) = &rule.outcome
            && Outcome::from_name(outcome).is_none()
        {
            return Err(invalid(
                &format!("{key}.outcome"),
                format!(
                    "unknown outcome `{outcome}`; known: {}",
                    Outcome::ALL
                        .iter()
                        .map(|o| o.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if let Some(signature) = &rule.signature
            && signature != "unknown"
            && signature != "none"
            && !known_signatures.contains(&signature.as_str())
        {
            return Err(invalid(
                &format!("{key}.signature"),
                format!(
                    "unknown signature `{signature}`; known: none, unknown, {}",
                    known_signatures.join(", ")
                ),
            ));
        }
    }

    Ok(Scenario {
        name,
        path: path.to_owned(),
        description: file.description,
        sandbox: file.sandbox,
        runsc_binaries: file.runsc.binaries,
        runsc_flags: file.runsc.flags,
        cgroups: file.cgroups.unwrap_or_default(),
        oci,
        setup: file.setup.into_iter().map(|c| c.0).collect(),
        dockerd: file.dockerd.binary,
        dockerd_args: file.dockerd.args,
        dockerd_env: file.dockerd.env,
        depth: file.probe.depth,
        timeout_secs: file.probe.timeout_secs,
        busybox: PathBuf::from(file.probe.busybox),
        registry: PathBuf::from(file.probe.registry),
        work_size_mb: file.probe.work_size_mb,
        axes,
        include: file.include,
        exclude: file.exclude,
        expect: file.expect,
    })
}

/// Why `cgroups:` is refused with `sandbox: runsc-oci`.
const OCI_CGROUPS: &str = "`sandbox: runsc-oci` mounts no cgroup layout of its own: the OCI \
     bundle decides what is at /sys/fs/cgroup (its `type: cgroup` mount, which runsc turns into \
     its own hierarchies), and the report records what the sandbox had; remove `cgroups:`, or \
     use `sandbox: runsc` to choose a layout";

fn not_oci_sandbox(sandbox: SandboxKind) -> String {
    format!(
        "`oci:` describes the bundle of `sandbox: runsc-oci` cells; this scenario's sandbox is \
         `{sandbox}`"
    )
}

/// A template path relative to the scenario file's directory, made absolute
/// against it (the runner's working directory may be anywhere).
fn resolve_template(base: OciBase, scenario_dir: &Path) -> OciBase {
    match base {
        OciBase::Template(path) if path.is_relative() => {
            let joined = scenario_dir.join(&path);
            let absolute = std::path::absolute(&joined).unwrap_or(joined);
            OciBase::Template(absolute)
        }
        other => other,
    }
}

/// Checks that a selector names existing axes and values. The runsc axis's
/// labels are only known at run time, so any label is accepted there.
pub fn check_selector(
    axes: &[Axis],
    sandbox: SandboxKind,
    selector: &Selector,
) -> Result<(), String> {
    for (axis_name, labels) in selector {
        if axis_name == RUNSC_AXIS && sandbox.uses_runsc() {
            continue;
        }
        let Some(axis) = axes.iter().find(|a| &a.name == axis_name) else {
            let mut known: Vec<&str> = axes.iter().map(|a| a.name.as_str()).collect();
            if sandbox.uses_runsc() {
                known.push(RUNSC_AXIS);
            }
            return Err(format!(
                "unknown axis `{axis_name}`; known axes: {}",
                known.join(", ")
            ));
        };
        if axis.values.iter().any(|v| v.label_from_version) {
            continue;
        }
        for label in &labels.0 {
            if !axis.values.iter().any(|v| &v.label == label) {
                return Err(format!(
                    "unknown value `{label}` for axis `{axis_name}`; known values: {}",
                    axis.labels().join(", ")
                ));
            }
        }
    }
    Ok(())
}

/// What a label of a built-in axis means.
fn shorthand_value(axis: &str, label: &str) -> Result<AxisValue, String> {
    let mut spec = ValueSpec::default();
    let mut label_from_version = false;
    let mut label = label.to_owned();
    match axis {
        "cgroup_driver" => {
            spec.dockerd_args = vec![
                "--exec-opt".to_owned(),
                format!("native.cgroupdriver={label}"),
            ]
        }
        "cgroup_parent" => {
            if label != "none" {
                spec.dockerd_args = vec![format!("--cgroup-parent={label}")];
            }
        }
        "iptables" => match label.as_str() {
            "true" | "false" => spec.dockerd_args = vec![format!("--iptables={label}")],
            _ => return Err(format!("`{label}` is not a boolean; use true or false")),
        },
        "bridge" => {
            if label != "default" {
                spec.dockerd_args = vec![format!("--bridge={label}")];
            }
        }
        "storage_driver" => {
            if label != "default" {
                spec.dockerd_args = vec![format!("--storage-driver={label}")];
            }
        }
        "cgroups" => spec.cgroups = Some(CgroupLayout::parse(&label)?),
        "dockerd" => {
            let (given, path) = split_label(&label);
            spec.dockerd = Some(path.to_owned());
            label_from_version = given.is_none();
            label = given.unwrap_or(path).to_owned();
        }
        "userns" => match label.as_str() {
            "true" => spec.userns = Some(true),
            "false" => spec.userns = Some(false),
            _ => return Err(format!("`{label}` is not a boolean; use true or false")),
        },
        "platform" => spec.runsc_args = vec![format!("--platform={label}")],
        "runsc_net" => match label.as_str() {
            "none" => {}
            "net-raw" => spec.runsc_args = vec!["--net-raw".to_owned()],
            "packet-write" => {
                spec.runsc_args = vec!["--net-raw".to_owned()];
                spec.packet_write = true;
            }
            _ => {
                return Err(format!(
                    "`{label}` is not a runsc network setting; use none, net-raw or packet-write"
                ));
            }
        },
        "runsc_flags" => {
            if label != "none" {
                spec.runsc_args = label.split_whitespace().map(str::to_owned).collect();
            }
        }
        "oci_profile" => {
            let Some(profile) = OciProfile::ALL.iter().find(|p| p.name() == label) else {
                let known: Vec<&str> = OciProfile::ALL.iter().map(|p| p.name()).collect();
                return Err(format!(
                    "unknown OCI profile `{label}`; known: {}",
                    known.join(", ")
                ));
            };
            spec.oci = Some(OciBase::Profile(*profile));
        }
        _ => {
            let known: Vec<&str> = BUILTIN_AXES.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "axis `{axis}` has no built-in meaning, so a list of values says nothing; \
                 write a map from value to settings (dockerd_args, runsc_args, dockerd, runsc, \
                 containerd, runc, cgroups, setup, env, userns, oci), or use a built-in axis: {}",
                known.join(", ")
            ));
        }
    }
    Ok(AxisValue {
        label,
        spec,
        label_from_version,
    })
}

/// Splits `LABEL=PATH` into its parts; a bare `PATH` has no label.
pub fn split_label(text: &str) -> (Option<&str>, &str) {
    match text.split_once('=') {
        Some((label, path)) if !label.is_empty() && !label.contains('/') => (Some(label), path),
        _ => (None, text),
    }
}

fn is_id_safe(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Labels appear inside `name[axis=value,…]`, so they may not contain the
/// characters that delimit it.
pub fn is_label_safe(text: &str) -> bool {
    !text.is_empty()
        && !text
            .chars()
            .any(|c| matches!(c, ',' | '=' | '[' | ']') || c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("cgroup_driver", "cgroupfs", &["--exec-opt", "native.cgroupdriver=cgroupfs"])]
    #[case("cgroup_parent", "/", &["--cgroup-parent=/"])]
    #[case("cgroup_parent", "none", &[])]
    #[case("iptables", "false", &["--iptables=false"])]
    #[case("bridge", "none", &["--bridge=none"])]
    #[case("bridge", "default", &[])]
    fn shorthand_maps_to_dockerd_args(
        #[case] axis: &str,
        #[case] label: &str,
        #[case] args: &[&str],
    ) {
        let value = shorthand_value(axis, label).unwrap();
        assert_eq!(value.spec.dockerd_args, args);
        assert_eq!(value.label, label);
    }

    #[rstest]
    #[case("none", &[], false)]
    #[case("net-raw", &["--net-raw"], false)]
    #[case("packet-write", &["--net-raw"], true)]
    fn runsc_net_sets_raw_sockets_and_packet_writes(
        #[case] label: &str,
        #[case] args: &[&str],
        #[case] packet_write: bool,
    ) {
        let value = shorthand_value("runsc_net", label).unwrap();
        assert_eq!(value.spec.runsc_args, args);
        assert_eq!(value.spec.packet_write, packet_write);
        assert!(shorthand_value("runsc_net", "raw").is_err());
    }

    #[test]
    fn iptables_rejects_non_boolean() {
        let err = shorthand_value("iptables", "maybe").unwrap_err();
        assert!(err.contains("not a boolean"), "{err}");
    }

    #[test]
    fn unknown_shorthand_axis_lists_builtins() {
        let err = shorthand_value("colour", "red").unwrap_err();
        assert!(
            err.contains("cgroup_driver, cgroup_parent, iptables"),
            "{err}"
        );
    }

    #[rstest]
    #[case("old=/usr/bin/runsc", Some("old"), "/usr/bin/runsc")]
    #[case("/usr/bin/runsc", None, "/usr/bin/runsc")]
    #[case("runsc", None, "runsc")]
    fn split_label_cases(#[case] text: &str, #[case] label: Option<&str>, #[case] path: &str) {
        assert_eq!(split_label(text), (label, path));
    }

    #[rstest]
    #[case(
        "sandbox: runsc-oci\ncgroups: auto\n",
        "inline.yaml: cgroups: `sandbox: runsc-oci` mounts no cgroup layout"
    )]
    #[case(
        "sandbox: runsc-oci\naxes:\n  cgroups: [auto, none]\n",
        "inline.yaml: axes.cgroups.auto: `sandbox: runsc-oci`"
    )]
    #[case(
        "sandbox: runsc-oci\naxes:\n  l: {a: {cgroups: [cpu]}}\n",
        "inline.yaml: axes.l.a: `sandbox: runsc-oci`"
    )]
    #[case(
        "sandbox: runsc\noci: {profile: gke-sandbox}\n",
        "inline.yaml: oci: `oci:` describes the bundle of `sandbox: runsc-oci` cells; this scenario's sandbox is `runsc`"
    )]
    #[case(
        "sandbox: native\naxes:\n  oci_profile: [gke-sandbox]\n",
        "inline.yaml: axes.oci_profile.gke-sandbox: `oci:` describes"
    )]
    #[case(
        "sandbox: runsc-oci\naxes:\n  oci_profile: [gvisor]\n",
        "unknown OCI profile `gvisor`; known: docker-privileged, docker-default, gke-sandbox"
    )]
    fn oci_sections_and_cgroups_are_checked_against_the_sandbox(
        #[case] text: &str,
        #[case] message: &str,
    ) {
        let err = crate::scenario::load_scenario_text(text)
            .unwrap_err()
            .to_string();
        assert!(err.contains(message), "{err}");
    }

    #[test]
    fn oci_cells_default_to_docker_privileged_and_take_axis_profiles() {
        let s = crate::scenario::load_scenario_text(
            "sandbox: runsc-oci\naxes:\n  oci_profile: [docker-default]\n  b: {x: {oci: {template: t.json}}}\n",
        )
        .unwrap();
        assert_eq!(s.oci, OciBase::Profile(OciProfile::DockerPrivileged));
        assert_eq!(
            s.axes[0].values[0].spec.oci,
            Some(OciBase::Profile(OciProfile::DockerDefault))
        );
        let Some(OciBase::Template(path)) = &s.axes[1].values[0].spec.oci else {
            panic!("{:?}", s.axes[1]);
        };
        assert!(path.is_absolute() && path.ends_with("t.json"), "{path:?}");
    }

    #[test]
    fn dockerd_shorthand_takes_label_from_version_when_unlabelled() {
        let v = shorthand_value("dockerd", "/x/dockerd").unwrap();
        assert!(v.label_from_version);
        assert_eq!(v.spec.dockerd.as_deref(), Some("/x/dockerd"));
        let v = shorthand_value("dockerd", "new=/x/dockerd").unwrap();
        assert!(!v.label_from_version);
        assert_eq!(v.label, "new");
    }
}

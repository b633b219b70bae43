//! Serde structs that mirror a scenario's YAML, and nothing else.
//!
//! The shapes here are what a user writes. Turning them into runnable cells
//! (shorthand axes, binary labels, include/exclude) happens in `load.rs` and
//! `matrix.rs`; this file must stay free of behaviour beyond deserialising.
//! A few types deserialise by hand (no `untagged`), so that a wrong shape gets
//! serde_yaml's `line:column` and a message that says what was expected.

use std::fmt;

use indexmap::IndexMap;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// One scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// The scenario's name, used in cell IDs; defaults to the file stem.
    pub name: Option<String>,
    /// What the scenario shows, one paragraph.
    #[serde(default)]
    pub description: Option<String>,
    /// Where dockerd runs: inside `runsc do`, or natively in fresh namespaces.
    #[serde(default)]
    pub sandbox: SandboxKind,
    /// The runsc binaries (the `runsc` axis) and their global flags.
    #[serde(default)]
    pub runsc: RunscSection,
    /// The cgroup layout the agent mounts inside the sandbox before dockerd
    /// (`auto` when absent; refused with `sandbox: runsc-oci`, whose bundle
    /// decides what is at /sys/fs/cgroup).
    #[serde(default)]
    pub cgroups: Option<CgroupLayout>,
    /// The OCI bundle of `sandbox: runsc-oci` cells: a built-in profile or
    /// the user's own `config.json`.
    #[serde(default)]
    pub oci: Option<OciBase>,
    /// Shell commands every cell runs inside the sandbox, in order, after
    /// the cgroup layout is mounted and before dockerd starts (each with
    /// `/bin/sh -c`); a command that fails makes the cell an `error`.
    #[serde(default)]
    pub setup: Vec<SetupCommand>,
    /// The dockerd binary and the arguments every cell gets.
    #[serde(default)]
    pub dockerd: DockerdSection,
    /// How far each cell goes and how long it may take.
    #[serde(default)]
    pub probe: ProbeSection,
    /// The matrix: axis name to values, in the order given.
    #[serde(default)]
    pub axes: Axes,
    /// Keep only cells matching one of these selectors (all cells when empty).
    #[serde(default)]
    pub include: Vec<Selector>,
    /// Drop cells matching any of these selectors.
    #[serde(default)]
    pub exclude: Vec<Selector>,
    /// What each cell should give; the first matching rule applies.
    #[serde(default)]
    pub expect: Vec<ExpectRule>,
}

/// Where a cell's dockerd runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SandboxKind {
    /// Inside gVisor: `runsc [flags] do dindcheck __agent`.
    #[default]
    Runsc,
    /// Inside gVisor as Docker, containerd and GKE Sandbox start it: an OCI
    /// bundle (the `oci:` section) run by `runsc run --bundle`.
    RunscOci,
    /// On the host kernel, in fresh mount, network and pid namespaces.
    Native,
}

impl SandboxKind {
    /// Whether cells of this kind run under a runsc binary (and so get the
    /// `runsc` axis and a runsc version in the report).
    pub fn uses_runsc(self) -> bool {
        matches!(self, SandboxKind::Runsc | SandboxKind::RunscOci)
    }

    /// Whether cells of this kind run an OCI bundle (and so take the `oci:`
    /// section, and refuse `cgroups:`: the bundle decides).
    pub fn uses_oci_bundle(self) -> bool {
        matches!(self, SandboxKind::RunscOci)
    }
}

impl fmt::Display for SandboxKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SandboxKind::Runsc => "runsc",
            SandboxKind::RunscOci => "runsc-oci",
            SandboxKind::Native => "native",
        })
    }
}

/// The `oci:` section: what a `runsc-oci` cell's bundle starts from. One
/// key, `profile` or `template` (deserialised through [`OciSection`], so a
/// wrong key gets serde's `line:column`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OciBase {
    /// A built-in profile.
    Profile(OciProfile),
    /// A user's `config.json`, relative to the scenario file's directory
    /// (made absolute by validation); dindcheck puts in only the process,
    /// its own paths and mounts.
    Template(std::path::PathBuf),
}

/// `oci:` as written; [`OciBase`] is what it means.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OciSection {
    profile: Option<OciProfile>,
    template: Option<std::path::PathBuf>,
}

impl<'de> Deserialize<'de> for OciBase {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let section = OciSection::deserialize(deserializer)?;
        match (section.profile, section.template) {
            (Some(profile), None) => Ok(OciBase::Profile(profile)),
            (None, Some(template)) => Ok(OciBase::Template(template)),
            (Some(_), Some(_)) => Err(de::Error::custom(
                "`oci:` takes `profile` or `template`, not both",
            )),
            (None, None) => Err(de::Error::custom(
                "`oci:` needs `profile: docker-privileged | docker-default | gke-sandbox` or \
                 `template: PATH`",
            )),
        }
    }
}

impl Default for OciBase {
    fn default() -> Self {
        OciBase::Profile(OciProfile::DockerPrivileged)
    }
}

impl fmt::Display for OciBase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OciBase::Profile(profile) => write!(f, "profile {profile}"),
            OciBase::Template(path) => write!(f, "template {}", path.display()),
        }
    }
}

/// A built-in OCI profile: how a real platform configures the container
/// that dockerd runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OciProfile {
    /// `docker run --privileged --runtime=runsc`: every capability runsc
    /// accepts, sysfs and the cgroup mount read-write, every device.
    DockerPrivileged,
    /// `docker run --runtime=runsc`: Docker's default capabilities, sysfs
    /// and the cgroup mount read-only, masked and read-only /proc paths.
    DockerDefault,
    /// A GKE Sandbox pod: the default capabilities plus NET_ADMIN and
    /// SYS_ADMIN, and an emptyDir (tmpfs) at /var/lib/docker.
    GkeSandbox,
}

impl OciProfile {
    /// Every profile, in the order the docs list them.
    pub const ALL: [OciProfile; 3] = [
        OciProfile::DockerPrivileged,
        OciProfile::DockerDefault,
        OciProfile::GkeSandbox,
    ];

    /// The name a scenario uses.
    pub fn name(self) -> &'static str {
        match self {
            OciProfile::DockerPrivileged => "docker-privileged",
            OciProfile::DockerDefault => "docker-default",
            OciProfile::GkeSandbox => "gke-sandbox",
        }
    }
}

impl fmt::Display for OciProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The `runsc:` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunscSection {
    /// Values of the runtime axis: `PATH` or `LABEL=PATH`.
    #[serde(default = "default_runsc_binaries")]
    pub binaries: Vec<String>,
    /// Global runsc flags every cell gets, before `do`.
    #[serde(default = "default_runsc_flags")]
    pub flags: Vec<String>,
}

impl Default for RunscSection {
    fn default() -> Self {
        RunscSection {
            binaries: default_runsc_binaries(),
            flags: default_runsc_flags(),
        }
    }
}

fn default_runsc_binaries() -> Vec<String> {
    vec!["runsc".to_owned()]
}

fn default_runsc_flags() -> Vec<String> {
    vec!["--network=none".to_owned()]
}

/// The `dockerd:` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DockerdSection {
    /// The dockerd binary: a name looked up in PATH, or a path.
    #[serde(default = "default_dockerd")]
    pub binary: String,
    /// Arguments every cell's dockerd gets (the harness adds its own
    /// data-root, exec-root, socket and pidfile).
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment every cell's dockerd gets.
    #[serde(default)]
    pub env: IndexMap<String, String>,
}

impl Default for DockerdSection {
    fn default() -> Self {
        DockerdSection {
            binary: default_dockerd(),
            args: Vec::new(),
            env: IndexMap::new(),
        }
    }
}

fn default_dockerd() -> String {
    "dockerd".to_owned()
}

/// The `probe:` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeSection {
    /// `ready` stops when the API answers; `container` also runs a container.
    #[serde(default)]
    pub depth: Depth,
    /// How long dockerd may take from start to verdict.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// The static binary packed into the probe image.
    #[serde(default = "default_busybox")]
    pub busybox: String,
    /// The registry the `pull` depth starts on loopback inside the sandbox
    /// (Debian's docker-registry, distribution 2.8).
    #[serde(default = "default_registry")]
    pub registry: String,
    /// Size of the tmpfs that holds dockerd's state, in MiB (default: the
    /// tmpfs default, half of RAM). A small value provokes a full disk.
    #[serde(default)]
    pub work_size_mb: Option<u64>,
}

impl Default for ProbeSection {
    fn default() -> Self {
        ProbeSection {
            depth: Depth::default(),
            timeout_secs: default_timeout_secs(),
            busybox: default_busybox(),
            registry: default_registry(),
            work_size_mb: None,
        }
    }
}

fn default_timeout_secs() -> u64 {
    60
}

fn default_busybox() -> String {
    "/bin/busybox".to_owned()
}

fn default_registry() -> String {
    "/usr/bin/docker-registry".to_owned()
}

/// How far a cell's probe goes; each depth includes the ones before it.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Depth {
    /// Stop once `GET /_ping` answers and `GET /info` was read.
    #[default]
    Ready,
    /// Also load a one-file image and run a container with `--network none`.
    Container,
    /// Also push that image to a registry on loopback inside the sandbox,
    /// remove it, pull it back and run it.
    Pull,
    /// Also run containers on the default bridge: an address, the gateway
    /// and another container over TCP, and a published port.
    Network,
    /// Also build a two-step Dockerfile FROM the probe image and run it.
    Build,
}

impl Depth {
    /// Every depth, shallowest first.
    pub const ALL: [Depth; 5] = [
        Depth::Ready,
        Depth::Container,
        Depth::Pull,
        Depth::Network,
        Depth::Build,
    ];
}

impl fmt::Display for Depth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Depth::Ready => "ready",
            Depth::Container => "container",
            Depth::Pull => "pull",
            Depth::Network => "network",
            Depth::Build => "build",
        })
    }
}

/// The cgroup hierarchy the agent mounts at `/sys/fs/cgroup`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CgroupLayout {
    /// Every v1 controller the (sandbox) kernel lists in `/proc/cgroups`,
    /// each on its own hierarchy, as an OCI cgroup mount gives.
    #[default]
    Auto,
    /// An empty tmpfs: no controller at all.
    None,
    /// The unified cgroup v2 hierarchy.
    V2,
    /// Exactly these v1 controllers.
    Controllers(Vec<String>),
}

impl fmt::Display for CgroupLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CgroupLayout::Auto => f.write_str("auto"),
            CgroupLayout::None => f.write_str("none"),
            CgroupLayout::V2 => f.write_str("v2"),
            CgroupLayout::Controllers(list) => f.write_str(&list.join(",")),
        }
    }
}

impl CgroupLayout {
    /// Parses the scalar form: `auto`, `none`, `v2`, or `cpu,memory,…`.
    pub fn parse(text: &str) -> Result<CgroupLayout, String> {
        match text.trim() {
            "auto" => Ok(CgroupLayout::Auto),
            "none" => Ok(CgroupLayout::None),
            "v2" => Ok(CgroupLayout::V2),
            "" => Err("expected auto, none, v2 or a list of controllers".to_owned()),
            list => Ok(CgroupLayout::Controllers(
                list.split(',').map(|c| c.trim().to_owned()).collect(),
            )),
        }
    }
}

/// The inverse of the `Deserialize` below: keywords as scalars, a
/// controller list as a sequence, so a layout survives a JSON round trip
/// (the agent spec) without being reparsed from text.
impl Serialize for CgroupLayout {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            CgroupLayout::Controllers(list) => list.serialize(serializer),
            keyword => serializer.serialize_str(&keyword.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for CgroupLayout {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LayoutVisitor;
        impl<'de> Visitor<'de> for LayoutVisitor {
            type Value = CgroupLayout;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`auto`, `none`, `v2`, or a list of cgroup v1 controllers")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<CgroupLayout, E> {
                CgroupLayout::parse(v).map_err(E::custom)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<CgroupLayout, A::Error> {
                let mut list = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    list.push(name);
                }
                Ok(CgroupLayout::Controllers(list))
            }
        }
        deserializer.deserialize_any(LayoutVisitor)
    }
}

/// The settings one axis value applies to a cell.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueSpec {
    /// Appended to dockerd's arguments.
    #[serde(default)]
    pub dockerd_args: Vec<String>,
    /// Appended to runsc's global flags.
    #[serde(default)]
    pub runsc_args: Vec<String>,
    /// Replaces the dockerd binary.
    #[serde(default)]
    pub dockerd: Option<String>,
    /// Replaces the runsc binary.
    #[serde(default)]
    pub runsc: Option<String>,
    /// The containerd binary dockerd starts: it and the shims and `ctr`
    /// beside it are linked into a directory that comes first in dockerd's
    /// PATH (dockerd and containerd find each other by PATH).
    #[serde(default)]
    pub containerd: Option<String>,
    /// The runc binary containerd's shim runs, linked the same way (a runc
    /// unpacked from a newer suite may not run on this libc).
    #[serde(default)]
    pub runc: Option<String>,
    /// Replaces the cgroup layout.
    #[serde(default)]
    pub cgroups: Option<CgroupLayout>,
    /// Shell commands run inside the sandbox before dockerd starts, after
    /// the scenario's own `setup` (each with `/bin/sh -c`, in order).
    #[serde(default)]
    pub setup: Vec<SetupCommand>,
    /// Added to dockerd's environment.
    #[serde(default)]
    pub env: IndexMap<String, String>,
    /// Start dockerd in a new user namespace that maps root to root for one id,
    /// which makes moby's `userns.RunningInUserNS()` true.
    #[serde(default)]
    pub userns: Option<bool>,
    /// Replaces the OCI bundle's base (`sandbox: runsc-oci` only).
    #[serde(default)]
    pub oci: Option<OciBase>,
    /// Allow writes on packet sockets (gVisor's advice for Docker 28), with
    /// the runsc flag spelled as the cell's runsc spells it
    /// (`--allow-packet-socket-write`, or `--TESTONLY-allow-packet-endpoint-write`
    /// in the Debian runsc releases).
    #[serde(default)]
    pub packet_write: bool,
}

/// A shell command a cell runs inside the sandbox before dockerd starts,
/// as written (`/bin/sh -c` gets exactly this text). Deserialised by hand,
/// so that a blank or non-text command gets serde_yaml's `line:column`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct SetupCommand(pub String);

impl fmt::Display for SetupCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SetupCommand {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CommandVisitor;
        impl Visitor<'_> for CommandVisitor {
            type Value = SetupCommand;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a shell command (text, run with /bin/sh -c)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SetupCommand, E> {
                if v.trim().is_empty() {
                    return Err(E::custom(
                        "a setup command may not be blank; write the shell command to run",
                    ));
                }
                if v.contains('\0') {
                    return Err(E::custom("a setup command may not contain a NUL byte"));
                }
                Ok(SetupCommand(v.to_owned()))
            }
        }
        deserializer.deserialize_str(CommandVisitor)
    }
}

/// One axis as written: either a list of labels (a built-in axis gives them
/// meaning) or a map from label to explicit settings.
#[derive(Debug, Clone, PartialEq)]
pub enum AxisSpec {
    /// `axis: [a, b]`: labels whose meaning the axis name gives.
    Shorthand(Vec<String>),
    /// `axis: {a: {dockerd_args: […]}, …}`: labels with explicit settings.
    Explicit(IndexMap<String, ValueSpec>),
}

impl<'de> Deserialize<'de> for AxisSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AxisVisitor;
        impl<'de> Visitor<'de> for AxisVisitor {
            type Value = AxisSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a list of values (for a built-in axis) or a map from value to settings",
                )
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AxisSpec, A::Error> {
                let mut labels = Vec::new();
                while let Some(label) = seq.next_element::<Label>()? {
                    labels.push(label.0);
                }
                Ok(AxisSpec::Shorthand(labels))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AxisSpec, A::Error> {
                let mut values = IndexMap::new();
                while let Some(label) = map.next_key::<Label>()? {
                    let spec: Option<ValueSpec> = map.next_value()?;
                    if values
                        .insert(label.0.clone(), spec.unwrap_or_default())
                        .is_some()
                    {
                        return Err(de::Error::custom(format!("duplicate value `{}`", label.0)));
                    }
                }
                Ok(AxisSpec::Explicit(values))
            }
        }
        deserializer.deserialize_any(AxisVisitor)
    }
}

/// The matrix axes in the order written.
pub type Axes = IndexMap<String, AxisSpec>;

/// An axis value label: YAML scalars (`true`, `/`, `42`) all become text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Label(pub String);

impl<'de> Deserialize<'de> for Label {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LabelVisitor;
        impl Visitor<'_> for LabelVisitor {
            type Value = Label;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value label (a string, boolean or number)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Label, E> {
                Ok(Label(v.to_owned()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Label, E> {
                Ok(Label(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Label, E> {
                Ok(Label(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Label, E> {
                Ok(Label(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Label, E> {
                Ok(Label(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Label, E> {
                Ok(Label("none".to_owned()))
            }
        }
        deserializer.deserialize_any(LabelVisitor)
    }
}

/// A cell selector: axis name to one label or a list of labels (any matches).
pub type Selector = IndexMap<String, OneOrMany>;

/// A selector value: one label or several.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneOrMany(pub Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value label or a list of value labels")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_owned()]))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_unit<E: de::Error>(self) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec!["none".to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut all = Vec::new();
                while let Some(label) = seq.next_element::<Label>()? {
                    all.push(label.0);
                }
                Ok(OneOrMany(all))
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

/// One `expect:` rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectRule {
    /// Which cells the rule covers (all when empty).
    #[serde(default)]
    pub when: Selector,
    /// The outcome those cells should reach.
    #[serde(default)]
    pub outcome: Option<String>,
    /// The failure signature those cells should show.
    #[serde(default)]
    pub signature: Option<String>,
}

//! Failure families: the small fixed set every verdict names (cgroup,
//! firewall, storage, …), and naming one from the words of a line no
//! catalogue entry matches.
//!
//! A Go error reads outermost first (`failed to start daemon: Error
//! initializing network controller: … iptables failed: …`), so the words
//! nearest its end name the cause: [`Family::of_words`] takes the family of
//! the last specific keyword in the line, and only when the line has none
//! the family of the last generic one. It must not match catalogue patterns
//! (that is `matching.rs`) or choose lines (that is `stream.rs`).

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde::{Deserialize, Serialize};

use super::logline;

/// A failure family. The set is fixed: catalogue entries, corpus labels and
/// verdicts all use these names (README.md lists what belongs to each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// daemon.json and flags: invalid JSON, unknown keys, conflicts, values.
    Config,
    /// API sockets: `-H`, socket activation, TCP binds, `docker.sock`.
    Listener,
    /// The pidfile: another daemon running, or the file cannot be written.
    Pidfile,
    /// TLS certificates, keys and CAs of the API.
    Tls,
    /// dockerd cannot start or reach containerd.
    Containerd,
    /// data-root, graphdrivers, snapshotters, mounts, disk space.
    Storage,
    /// Bridges, address pools, veth, IP forwarding, ports, userland proxy.
    Network,
    /// iptables, ip6tables, nftables, firewalld.
    Firewall,
    /// cgroup v1/v2 layout and controllers.
    Cgroup,
    /// The systemd cgroup driver, slices, units, D-Bus.
    Systemd,
    /// userns-remap and user namespaces, rootless.
    Userns,
    /// AppArmor, seccomp, SELinux, capabilities.
    Security,
    /// OCI runtime failures at container create or start.
    Runtime,
    /// gVisor (runsc) itself.
    Sandbox,
    /// Missing kernel features and modules.
    Kernel,
    /// Pulling, pushing and building images.
    Image,
}

impl Family {
    /// Every family, in the order README.md lists them.
    pub const ALL: [Family; 16] = [
        Family::Config,
        Family::Listener,
        Family::Pidfile,
        Family::Tls,
        Family::Containerd,
        Family::Storage,
        Family::Network,
        Family::Firewall,
        Family::Cgroup,
        Family::Systemd,
        Family::Userns,
        Family::Security,
        Family::Runtime,
        Family::Sandbox,
        Family::Kernel,
        Family::Image,
    ];

    /// The family's name as written in catalogues and reports (`cgroup`).
    pub fn name(self) -> &'static str {
        match self {
            Family::Config => "config",
            Family::Listener => "listener",
            Family::Pidfile => "pidfile",
            Family::Tls => "tls",
            Family::Containerd => "containerd",
            Family::Storage => "storage",
            Family::Network => "network",
            Family::Firewall => "firewall",
            Family::Cgroup => "cgroup",
            Family::Systemd => "systemd",
            Family::Userns => "userns",
            Family::Security => "security",
            Family::Runtime => "runtime",
            Family::Sandbox => "sandbox",
            Family::Kernel => "kernel",
            Family::Image => "image",
        }
    }

    /// The family named by the words of `text`, a line no catalogue entry
    /// matched: the family of the last specific keyword in it, else of the
    /// last generic one, else none. A keyword counts only where a word
    /// starts, and inside a path (`/var/lib/…`) only when it is itself a
    /// path.
    ///
    /// Advice that a message ends with (`…: make sure the service was
    /// started by systemd`, `please upgrade …`) says what to do, not what
    /// failed: its words count only when the words before it name no
    /// family.
    pub fn of_words(text: &str) -> Option<Family> {
        // What follows a list's heading is values (directive names,
        // addresses, a log driver's own error), not the cause.
        let text = match VALUES.find(text) {
            Some(heading) => &text[..heading.end()],
            None => text,
        };
        let advice = ADVICE
            .find_iter(text)
            .find(|m| logline::starts_word(text, m.start()));
        if let Some(advice) = advice
            && let Some(family) = Family::of_keywords(&text[..advice.start()])
        {
            return Some(family);
        }
        Family::of_keywords(text)
    }

    /// The family of the last specific keyword in `text`, else of the last
    /// generic one.
    fn of_keywords(text: &str) -> Option<Family> {
        let mut best: [Option<(usize, usize, Family)>; 2] = [None, None];
        // Where the first specific keyword of each family starts.
        let mut first_of = [None::<usize>; Family::ALL.len()];
        for m in KEYWORDS.find_overlapping_iter(text) {
            let (keyword, tier, family) = KEYWORD_TABLE[m.pattern()];
            if !keyword.starts_with('/') && inside_path(text, m.start()) {
                continue;
            }
            if family != Family::Kernel && names_a_module(text, m.start()) {
                continue;
            }
            // Whole words only at the start: `port` is not in `supported`.
            let at_word_start = logline::starts_word(text, m.start())
                || !keyword.as_bytes()[0].is_ascii_alphanumeric();
            if !at_word_start {
                continue;
            }
            let slot = &mut best[usize::from(tier == Tier::Generic)];
            // The last keyword wins; at one position the longer one.
            let better = slot.is_none_or(|(start, len, _)| {
                m.start() > start || (m.start() == start && m.len() > len)
            });
            if better {
                *slot = Some((m.start(), m.len(), family));
            }
            if tier == Tier::Specific {
                first_of[family as usize].get_or_insert(m.start());
            }
        }
        let family = best[0].or(best[1]).map(|(_, _, family)| family)?;
        Some(match family {
            // A cgroup error of the systemd cgroup driver (`systemd cgroup
            // flag passed, but …`, `unable to find "systemd" in controller
            // set`) is the driver's.
            Family::Cgroup if first_of[Family::Systemd as usize].is_some() => Family::Systemd,
            // A certificate a registry presented fails a pull, not the API.
            Family::Tls
                if first_of[Family::Image as usize]
                    .zip(first_of[Family::Tls as usize])
                    .is_some_and(|(image, tls)| image < tls) =>
            {
                Family::Image
            }
            family => family,
        })
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Family {
    type Err = String;

    fn from_str(s: &str) -> Result<Family, String> {
        Family::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| format!("unknown family `{s}`"))
    }
}

/// How much a keyword says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tier {
    /// Names the family on its own (`iptables`, `apparmor`).
    Specific,
    /// Says little: used only when no specific keyword is in the line
    /// (`network`, `mount`, `image`).
    Generic,
}

use Family as F;
use Tier::{Generic as G, Specific as S};

/// The keywords, matched ASCII case-insensitively. Written from the words
/// the error paths of moby, containerd, runc and runsc use, not from any
/// one log.
const KEYWORD_TABLE: &[(&str, Tier, Family)] = &[
    // config
    ("daemon.json", S, F::Config),
    ("/daemon.json", S, F::Config),
    ("config file", S, F::Config),
    ("configuration file", S, F::Config),
    ("--config-file", S, F::Config),
    ("directives", S, F::Config),
    ("unknown flag", S, F::Config),
    ("flag provided but not defined", S, F::Config),
    ("requires 0 arguments", S, F::Config),
    ("log driver", S, F::Config),
    ("logging driver", S, F::Config),
    ("api version", S, F::Config),
    ("log opt", S, F::Config),
    // Log drivers prefix their errors with their name (daemon/logger/*).
    ("gelf", S, F::Config),
    ("fluentd", S, F::Config),
    ("splunk", S, F::Config),
    ("awslogs", S, F::Config),
    ("invalid mirror", S, F::Config),
    ("exec-opt", S, F::Config),
    ("needs to be started with root", S, F::Config),
    ("configuration", G, F::Config),
    ("config", G, F::Config),
    ("flag", G, F::Config),
    ("option", G, F::Config),
    // listener
    ("listener", S, F::Listener),
    ("socket activation", S, F::Listener),
    ("socket activated", S, F::Listener),
    ("unix socket", S, F::Listener),
    ("docker.sock", S, F::Listener),
    ("docker.socket", S, F::Listener),
    ("api server", S, F::Listener),
    ("tcp://", G, F::Listener),
    ("unix://", G, F::Listener),
    ("listen tcp", G, F::Listener),
    ("listen unix", G, F::Listener),
    ("socket", G, F::Listener),
    ("listen", G, F::Listener),
    // pidfile
    ("pid file", S, F::Pidfile),
    ("pidfile", S, F::Pidfile),
    ("docker.pid", S, F::Pidfile),
    ("/docker.pid", S, F::Pidfile),
    // tls
    ("x509", S, F::Tls),
    ("tls:", S, F::Tls),
    ("tlsverify", S, F::Tls),
    ("key pair", S, F::Tls),
    ("certificate", S, F::Tls),
    ("private key", S, F::Tls),
    ("pem data", S, F::Tls),
    ("tls", G, F::Tls),
    // containerd
    ("containerd", S, F::Containerd),
    ("libcontainerd", S, F::Containerd),
    ("grpc", G, F::Containerd),
    ("required plugin", S, F::Containerd),
    ("io.containerd.", S, F::Containerd),
    ("meta.db", S, F::Containerd),
    // storage
    ("graphdriver", S, F::Storage),
    ("graph driver", S, F::Storage),
    ("storage driver", S, F::Storage),
    ("storage-driver", S, F::Storage),
    ("storage-opt", S, F::Storage),
    ("overlay2", S, F::Storage),
    ("overlayfs", S, F::Storage),
    ("fuse-overlayfs", S, F::Storage),
    ("devicemapper", S, F::Storage),
    ("devmapper", S, F::Storage),
    ("thin pool", S, F::Storage),
    ("thinpool", S, F::Storage),
    ("btrfs", S, F::Storage),
    ("zfs", S, F::Storage),
    ("aufs", S, F::Storage),
    ("snapshotter", S, F::Storage),
    ("data-root", S, F::Storage),
    ("no space left", S, F::Storage),
    ("disk quota", S, F::Storage),
    ("read-only file system", S, F::Storage),
    ("d_type", S, F::Storage),
    ("volume", S, F::Storage),
    ("layer", S, F::Storage),
    ("boltdb", S, F::Storage),
    ("metadata database", S, F::Storage),
    ("parent snapshot", S, F::Storage),
    ("extraction snapshot", S, F::Storage),
    ("containerd-mount", S, F::Storage),
    ("backing filesystem", S, F::Storage),
    ("backingfs", S, F::Storage),
    ("project quota", S, F::Storage),
    ("pquota", S, F::Storage),
    ("ftype", S, F::Storage),
    ("max depth exceeded", S, F::Storage),
    ("mount program", S, F::Storage),
    ("mount propagation", S, F::Storage),
    ("root propagation", S, F::Storage),
    ("shared mount", S, F::Storage),
    ("data root", S, F::Storage),
    ("daemon root", S, F::Storage),
    ("wrong filesystem", S, F::Storage),
    ("/var/lib/docker", G, F::Storage),
    ("xattr", G, F::Storage),
    ("snapshot", G, F::Storage),
    ("overlay", G, F::Storage),
    ("mount", G, F::Storage),
    ("filesystem", G, F::Storage),
    ("file system", G, F::Storage),
    ("inode", G, F::Storage),
    ("disk", G, F::Storage),
    // network
    ("bridge", S, F::Network),
    ("docker0", S, F::Network),
    ("veth", S, F::Network),
    ("endpoint", S, F::Network),
    ("subnet", S, F::Network),
    ("address pool", S, F::Network),
    ("ip forwarding", S, F::Network),
    ("ip_forward", S, F::Network),
    ("userland proxy", S, F::Network),
    ("userland-proxy", S, F::Network),
    ("docker-proxy", S, F::Network),
    ("port is already allocated", S, F::Network),
    ("netlink", S, F::Network),
    ("resolv.conf", S, F::Network),
    ("ipam", S, F::Network),
    ("libnetwork", S, F::Network),
    ("network controller", S, F::Network),
    ("gateway", S, F::Network),
    ("vxlan", S, F::Network),
    ("swarm", S, F::Network),
    ("advertise", S, F::Network),
    ("network", G, F::Network),
    ("interface", G, F::Network),
    ("port", G, F::Network),
    ("dns", G, F::Network),
    ("ipv6", G, F::Network),
    // firewall
    ("iptables", S, F::Firewall),
    ("ip6tables", S, F::Firewall),
    ("nftables", S, F::Firewall),
    ("nf_tables", S, F::Firewall),
    ("firewalld", S, F::Firewall),
    ("firewall", S, F::Firewall),
    ("xtables", S, F::Firewall),
    ("netfilter", S, F::Firewall),
    ("masquerade", S, F::Firewall),
    ("rule set", S, F::Firewall),
    ("nat chain", S, F::Firewall),
    ("chain", G, F::Firewall),
    // cgroup
    ("cgroup", S, F::Cgroup),
    ("/sys/fs/cgroup", S, F::Cgroup),
    ("cgroupns", S, F::Cgroup),
    ("cpu.cfs", S, F::Cgroup),
    ("cfs_quota", S, F::Cgroup),
    ("cpuset", S, F::Cgroup),
    ("devices.allow", S, F::Cgroup),
    ("controller set", S, F::Cgroup),
    ("controller", G, F::Cgroup),
    // systemd
    ("systemd", S, F::Systemd),
    ("dbus", S, F::Systemd),
    ("d-bus", S, F::Systemd),
    (".slice", S, F::Systemd),
    ("org.freedesktop", S, F::Systemd),
    ("unit name", S, F::Systemd),
    ("transient unit", S, F::Systemd),
    ("execstart", S, F::Systemd),
    ("unit file", S, F::Systemd),
    (".service", S, F::Systemd),
    ("start request repeated too quickly", S, F::Systemd),
    ("scope", G, F::Systemd),
    ("unit", G, F::Systemd),
    // userns
    ("userns", S, F::Userns),
    ("user namespace", S, F::Userns),
    ("subuid", S, F::Userns),
    ("subgid", S, F::Userns),
    ("uid_map", S, F::Userns),
    ("gid_map", S, F::Userns),
    ("newuidmap", S, F::Userns),
    ("newgidmap", S, F::Userns),
    ("id mapping", S, F::Userns),
    ("remapped root", S, F::Userns),
    ("rootlesskit", S, F::Userns),
    ("rootless", S, F::Userns),
    // security
    ("apparmor", S, F::Security),
    ("seccomp", S, F::Security),
    ("selinux", S, F::Security),
    ("no-new-privileges", S, F::Security),
    ("capabilities", S, F::Security),
    ("capability", S, F::Security),
    ("/proc/self/attr", S, F::Security),
    ("securityfs", S, F::Security),
    ("/sys/kernel/security", S, F::Security),
    ("keyring", S, F::Security),
    ("apply caps", S, F::Security),
    ("apparmor_parser", S, F::Security),
    ("security", G, F::Security),
    ("profile", G, F::Security),
    ("privileged", G, F::Security),
    ("permission denied", G, F::Security),
    ("operation not permitted", G, F::Security),
    // runtime
    ("oci runtime", S, F::Runtime),
    ("runc", S, F::Runtime),
    ("crun", S, F::Runtime),
    ("containerd-shim", S, F::Runtime),
    ("shim", S, F::Runtime),
    ("container init", S, F::Runtime),
    ("container process", S, F::Runtime),
    ("exec format error", S, F::Runtime),
    // What is not found names the family (`"containerd": executable file
    // not found`), the words only when nothing does.
    ("executable file not found", G, F::Runtime),
    ("runtime name", S, F::Runtime),
    ("nvidia-container", S, F::Runtime),
    ("did not terminate", S, F::Runtime),
    ("rootfs", S, F::Runtime),
    ("pivot_root", S, F::Runtime),
    ("nsenter", S, F::Runtime),
    ("nsexec", S, F::Runtime),
    ("runtime spec", S, F::Runtime),
    ("youki", S, F::Runtime),
    ("kata", S, F::Runtime),
    ("sysbox", S, F::Runtime),
    ("init-p", S, F::Runtime),
    ("init preliminary setup", S, F::Runtime),
    ("cloned binary", S, F::Runtime),
    ("oom-killed", S, F::Runtime),
    ("passwd file", S, F::Runtime),
    ("log.json", S, F::Runtime),
    ("exec fifo", S, F::Runtime),
    ("rlimit", S, F::Runtime),
    ("ulimit", S, F::Runtime),
    ("ttrpc", S, F::Runtime),
    ("io.containerd.runc", S, F::Runtime),
    ("task", G, F::Runtime),
    ("bundle", G, F::Runtime),
    ("hook", G, F::Runtime),
    ("entrypoint", G, F::Runtime),
    // sandbox
    ("runsc", S, F::Sandbox),
    ("gvisor", S, F::Sandbox),
    ("gofer", S, F::Sandbox),
    ("sentry", S, F::Sandbox),
    ("systrap", S, F::Sandbox),
    ("cannot create sandbox", S, F::Sandbox),
    ("waiting for sandbox", S, F::Sandbox),
    ("creating loader", S, F::Sandbox),
    ("setting up root fs", S, F::Sandbox),
    ("nvproxy", S, F::Sandbox),
    ("urpc", S, F::Sandbox),
    ("chroot", G, F::Sandbox),
    ("ptrace", G, F::Sandbox),
    ("sandbox", G, F::Sandbox),
    // kernel
    ("modprobe", S, F::Kernel),
    ("insmod", S, F::Kernel),
    ("kernel module", S, F::Kernel),
    ("/lib/modules", S, F::Kernel),
    ("/dev/kvm", S, F::Kernel),
    ("kvm", S, F::Kernel),
    ("supported filesystem", S, F::Kernel),
    ("upgrade your kernel", S, F::Kernel),
    ("function not implemented", S, F::Kernel),
    ("kernel version", S, F::Kernel),
    ("sysctl", S, F::Kernel),
    ("/proc/sys", G, F::Kernel),
    ("memfd", S, F::Kernel),
    ("time namespace", S, F::Kernel),
    ("/dev/fuse", S, F::Kernel),
    ("modprobe fuse", S, F::Kernel),
    ("unknown filesystem type", S, F::Kernel),
    ("config_", S, F::Kernel),
    ("operation not supported", S, F::Kernel),
    ("custom device", S, F::Kernel),
    ("device node", S, F::Kernel),
    ("bpf", G, F::Kernel),
    ("no such device", G, F::Kernel),
    ("kernel", G, F::Kernel),
    ("module", G, F::Kernel),
    // image
    ("pull access denied", S, F::Image),
    ("registry", S, F::Image),
    ("manifest", S, F::Image),
    ("docker login", S, F::Image),
    ("/v2/", S, F::Image),
    ("toomanyrequests", S, F::Image),
    ("rate limit", S, F::Image),
    ("buildkit", S, F::Image),
    ("dockerfile", S, F::Image),
    ("failed to solve", S, F::Image),
    ("pulling", S, F::Image),
    ("docker load", S, F::Image),
    ("/docker-import-", S, F::Image),
    ("archive/tar", S, F::Image),
    ("tar header", S, F::Image),
    ("tar file", S, F::Image),
    ("diff id", S, F::Image),
    ("content digest", S, F::Image),
    ("commit digest", S, F::Image),
    ("no such image", S, F::Image),
    ("layer verification", S, F::Image),
    ("failed to unpack", S, F::Image),
    ("unpack", G, F::Image),
    ("image", G, F::Image),
    ("pull", G, F::Image),
    ("push", G, F::Image),
    ("repository", G, F::Image),
    ("blob", G, F::Image),
    ("digest", G, F::Image),
];

/// An ASCII case-insensitive automaton over [`KEYWORD_TABLE`].
static KEYWORDS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(KEYWORD_TABLE.iter().map(|(k, _, _)| k))
        .expect("the keyword table builds")
});

/// Words that start advice in an error message (moby's `make sure …`,
/// `please …`; runc's and systemd's `see …`), matched ASCII
/// case-insensitively where a word starts.
const ADVICE_WORDS: [&str; 10] = [
    "make sure ",
    "please ",
    "ensure ",
    "consider ",
    "you may ",
    "you should ",
    "you need ",
    "did you ",
    "for more information",
    "see https",
];

static ADVICE: LazyLock<AhoCorasick> = LazyLock::new(|| leftmost_ignoring_case(&ADVICE_WORDS));

/// A leftmost-first automaton over `words`, ASCII case-insensitive.
fn leftmost_ignoring_case(words: &[&str]) -> AhoCorasick {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostFirst)
        .build(words)
        .expect("a few words build an automaton")
}

/// Headings after which a message lists values: moby's configuration
/// conflicts (`the following directives are specified both as a flag and in
/// the configuration file: hosts: (from flag: [fd://], from file:
/// [unix:///var/run/docker.sock])`) and unknown keys, and a log driver's
/// own error (`failed to initialize logging driver: gelf: …: dial udp: …`),
/// which a daemon.json or `--log-opt` setting causes. Matched ASCII
/// case-insensitively.
const VALUE_HEADINGS: [&str; 8] = [
    "specified both as a flag and in the configuration file",
    "don't match any configuration option",
    "failed to initialize logging driver",
    "failed to create logging driver",
    "gelf:",
    "fluentd:",
    "splunk:",
    "awslogs:",
];

static VALUES: LazyLock<AhoCorasick> = LazyLock::new(|| leftmost_ignoring_case(&VALUE_HEADINGS));

/// Whether the word at `at` is a kernel module's name: it follows
/// `modprobe ` or `module ` in the same clause (`modprobe: FATAL: Module
/// bridge not found`, `Running modprobe bridge nf_nat failed`), so it names
/// what the kernel lacks, not the subsystem that failed.
fn names_a_module(text: &str, at: usize) -> bool {
    let before = &text.as_bytes()[..at];
    let clause_start = before
        .iter()
        .rposition(|b| matches!(b, b':' | b';' | b'"' | b'('))
        .map_or(0, |i| i + 1);
    let clause = &before[clause_start..];
    ["modprobe ", "module "].iter().any(|word| {
        clause
            .windows(word.len())
            .any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
    })
}

/// Whether the byte at `at` lies inside a path token (a run of non-space
/// characters that starts with `/` before `at`).
fn inside_path(text: &str, at: usize) -> bool {
    let before = &text.as_bytes()[..at];
    let token_start = before
        .iter()
        .rposition(|b| b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'(' | b'='))
        .map_or(0, |i| i + 1);
    before.get(token_start) == Some(&b'/')
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn names_round_trip() {
        for family in Family::ALL {
            assert_eq!(family.name().parse::<Family>(), Ok(family));
            let json = serde_json::to_string(&family).unwrap();
            assert_eq!(json, format!("\"{}\"", family.name()));
        }
        assert!("sockets".parse::<Family>().is_err());
    }

    #[test]
    fn every_family_has_a_specific_keyword() {
        for family in Family::ALL {
            assert!(
                KEYWORD_TABLE
                    .iter()
                    .any(|(_, tier, f)| *f == family && *tier == Tier::Specific),
                "{family}"
            );
        }
    }

    #[rstest]
    #[case::innermost_cause_wins(
        "failed to start daemon: Error initializing network controller: error obtaining controller instance: failed to do something with iptables: boom",
        Some(Family::Firewall)
    )]
    #[case::outer_wrapper_alone(
        "failed to start daemon: error initializing graphdriver: something odd",
        Some(Family::Storage)
    )]
    #[case::specific_beats_a_later_generic(
        "failed to start containerd: the network is odd",
        Some(Family::Containerd)
    )]
    #[case::generic_when_nothing_else("the network is odd", Some(Family::Network))]
    #[case::case_insensitive("AppArmor says no", Some(Family::Security))]
    #[case::words_in_paths_do_not_count(
        "open /etc/network/iptables/x.conf: no such file or directory",
        None
    )]
    #[case::a_path_keyword_counts(
        "mkdir /sys/fs/cgroup/rdma/docker: permission denied",
        Some(Family::Cgroup)
    )]
    #[case::none("something went wrong: exit status 1", None)]
    #[case::words_start_at_a_boundary("version 1.1 is not supported", None)]
    #[case::a_snapshot_chain(
        "failed to solve: parent snapshot sha256:0f1e does not exist: not found",
        Some(Family::Storage)
    )]
    #[case::runc_init_died(
        "unable to start container process: waiting for init preliminary setup: EOF",
        Some(Family::Runtime)
    )]
    #[case::a_sysctl_in_runc(
        "runc create failed: sysctl \"vm.swappiness\" is not in a separate kernel namespace",
        Some(Family::Kernel)
    )]
    #[case::the_gofer_root(
        "FATAL ERROR: Error setting up root FS: mounting \"/data\": no such file or directory",
        Some(Family::Sandbox)
    )]
    #[case::a_broken_archive(
        "Error processing tar file(exit status 1): unexpected EOF",
        Some(Family::Image)
    )]
    #[case::containerd_metadata(
        "containerd: failed to open meta.db: timeout",
        Some(Family::Containerd)
    )]
    #[case::advice_names_nothing(
        "no sockets found via socket activation: make sure the service was started by systemd",
        Some(Family::Listener)
    )]
    #[case::advice_when_nothing_else_names_it(
        "something odd happened: please check your iptables rules",
        Some(Family::Firewall)
    )]
    #[case::an_address_is_a_value(
        "the following directives are specified both as a flag and in the configuration file: hosts: (from flag: [fd://], from file: [tcp://0.0.0.0:2375])",
        Some(Family::Config)
    )]
    #[case::the_daemon_json_path(
        "unable to read /etc/docker/daemon.json: json: cannot unmarshal string into Go struct field Config.ipv6 of type bool",
        Some(Family::Config)
    )]
    #[case::the_data_root_path_is_weak(
        "AppArmor enabled on system but the docker-default profile could not be loaded: running `apparmor_parser -Kr /var/lib/docker/tmp/docker-default1` failed",
        Some(Family::Security)
    )]
    #[case::a_port_the_proxy_binds(
        "Error starting userland proxy: listen tcp 0.0.0.0:80: bind: address already in use",
        Some(Family::Network)
    )]
    #[case::a_denied_mount("mount: /tmp: permission denied.", Some(Family::Security))]
    #[case::values_of_a_conflict(
        "the following directives are specified both as a flag and in the configuration file: hosts: (from flag: [fd://], from file: [unix:///var/run/docker.sock])",
        Some(Family::Config)
    )]
    #[case::a_log_drivers_endpoint(
        "Failed to initialize logging driver: gelf: cannot connect to GELF endpoint: graylog:12201 dial udp: lookup graylog: no such host",
        Some(Family::Config)
    )]
    #[case::a_missing_module_is_the_kernels(
        "modprobe: FATAL: Module bridge not found.",
        Some(Family::Kernel)
    )]
    #[case::modprobes_arguments(
        "Running modprobe bridge nf_nat failed with message: ``",
        Some(Family::Kernel)
    )]
    #[case::the_missing_program_names_it(
        "exec: \"containerd\": executable file not found in $PATH",
        Some(Family::Containerd)
    )]
    #[case::a_missing_entrypoint(
        "exec: \"/app/run\": executable file not found in $PATH",
        Some(Family::Runtime)
    )]
    #[case::the_systemd_cgroup_driver(
        "OCI runtime create failed: systemd cgroup flag passed, but systemd support for managing cgroups is not available",
        Some(Family::Systemd)
    )]
    #[case::a_registry_certificate(
        "error pulling image configuration: Get https://example.test/v2/x/blobs/sha256:0: x509: certificate signed by unknown authority",
        Some(Family::Image)
    )]
    #[case::the_apis_certificate(
        "could not load X509 key pair: open /etc/docker/server.pem: no such file or directory",
        Some(Family::Tls)
    )]
    #[case::systemds_unit(
        "docker.service: Start request repeated too quickly.",
        Some(Family::Systemd)
    )]
    fn family_of_words(#[case] text: &str, #[case] want: Option<Family>) {
        assert_eq!(Family::of_words(text), want, "{text}");
    }
}

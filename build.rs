//! Decides which of the tests that need real runtimes this machine can run,
//! so that the test runner itself reports the others as ignored, with the
//! reason, instead of letting them pass without running.
//!
//! libtest can only ignore a test at compile time (`#[ignore = "reason"]`),
//! so this script looks for root and for the runtimes scripts/setup.sh
//! installs, and sets one `dindcheck_skip_*` cfg per missing set; the tests
//! carry `#[cfg_attr(dindcheck_skip_…, ignore = "needs …")]`. With
//! `DINDCHECK_REQUIRE_RUNTIMES=1` (CI) no cfg is set: every test runs, and
//! one whose runtime is missing fails. The script never changes what the
//! library or the binaries do: only tests read these cfgs.

use std::path::{Path, PathBuf};

/// One cfg: its name and the things that must all be present.
struct Skip {
    cfg: &'static str,
    needs: &'static [Need],
}

#[derive(Clone, Copy)]
enum Need {
    Root,
    Dockerd,
    RunscOld,
    RunscNew,
    TrixieDockerd,
    SidDockerd,
    DockerRegistry,
    IptablesLegacy,
    Busybox,
}

const SKIPS: &[Skip] = &[
    Skip {
        cfg: "dindcheck_skip_root",
        needs: &[Need::Root],
    },
    Skip {
        cfg: "dindcheck_skip_native",
        needs: &[Need::Root, Need::Dockerd],
    },
    Skip {
        cfg: "dindcheck_skip_runsc",
        needs: &[Need::Root, Need::RunscOld],
    },
    Skip {
        cfg: "dindcheck_skip_runsc_dockerd",
        needs: &[Need::Root, Need::Dockerd, Need::RunscOld],
    },
    Skip {
        cfg: "dindcheck_skip_runtimes",
        needs: &[Need::Root, Need::Dockerd, Need::RunscOld, Need::RunscNew],
    },
    Skip {
        cfg: "dindcheck_skip_all_runtimes",
        needs: &[
            Need::Root,
            Need::Dockerd,
            Need::RunscOld,
            Need::RunscNew,
            Need::TrixieDockerd,
            Need::SidDockerd,
            Need::DockerRegistry,
            Need::IptablesLegacy,
        ],
    },
    Skip {
        cfg: "dindcheck_skip_busybox",
        needs: &[Need::Busybox],
    },
];

fn cache() -> PathBuf {
    PathBuf::from("/var/cache/dindcheck")
}

/// The files that show a need is met (any one of them will do).
fn paths(need: Need) -> Vec<PathBuf> {
    let env_or = |var: &str, default: PathBuf| std::env::var_os(var).map_or(default, PathBuf::from);
    match need {
        Need::Root => Vec::new(),
        Need::Dockerd => vec!["/usr/sbin/dockerd".into(), "/usr/bin/dockerd".into()],
        Need::RunscOld => vec![env_or("DINDCHECK_RUNSC_OLD", "/usr/bin/runsc".into())],
        Need::RunscNew => vec![env_or(
            "DINDCHECK_RUNSC_NEW",
            cache().join("trixie/usr/bin/runsc"),
        )],
        Need::TrixieDockerd => vec![cache().join("trixie/usr/sbin/dockerd")],
        Need::SidDockerd => vec![cache().join("sid/usr/sbin/dockerd")],
        Need::DockerRegistry => vec!["/usr/bin/docker-registry".into()],
        Need::IptablesLegacy => vec![cache().join("iptables-legacy/iptables")],
        Need::Busybox => vec!["/bin/busybox".into()],
    }
}

fn is_root() -> bool {
    // The effective uid is the second field of `Uid:` in /proc/self/status.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

fn is_met(need: Need) -> bool {
    match need {
        Need::Root => is_root(),
        other => paths(other).iter().any(|p| p.exists()),
    }
}

/// The path cargo should watch so that installing (or removing) a runtime
/// reruns this script: the file when it exists, else its nearest existing
/// directory (a missing path would rerun the script, and rebuild the crate,
/// on every build). Cargo scans a watched directory recursively, so nothing
/// shallower than two levels (`/usr/bin`, `/var/cache`) is watched: for
/// `DINDCHECK_RUNSC_NEW=/nonexistent/runsc` that would be `/` itself, the
/// whole filesystem on every build. Such a path is covered by its variable.
fn watch(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .find(|p| p.exists())
        .filter(|p| {
            p.components()
                .filter(|c| matches!(c, std::path::Component::Normal(_)))
                .count()
                >= 2
        })
        .map(Path::to_path_buf)
}

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    for var in [
        "DINDCHECK_REQUIRE_RUNTIMES",
        "DINDCHECK_RUNSC_OLD",
        "DINDCHECK_RUNSC_NEW",
    ] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    for skip in SKIPS {
        println!("cargo::rustc-check-cfg=cfg({})", skip.cfg);
    }
    let required = std::env::var("DINDCHECK_REQUIRE_RUNTIMES").is_ok_and(|v| v == "1");
    let mut watched = Vec::new();
    for need in [
        Need::Dockerd,
        Need::RunscOld,
        Need::RunscNew,
        Need::TrixieDockerd,
        Need::SidDockerd,
        Need::DockerRegistry,
        Need::IptablesLegacy,
        Need::Busybox,
    ] {
        for path in paths(need) {
            if let Some(w) = watch(&path).filter(|w| !watched.contains(w)) {
                println!("cargo::rerun-if-changed={}", w.display());
                watched.push(w);
            }
        }
    }
    if required {
        return;
    }
    for skip in SKIPS {
        if !skip.needs.iter().all(|n| is_met(*n)) {
            println!("cargo::rustc-cfg={}", skip.cfg);
        }
    }
}

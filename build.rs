//! Two jobs: it prepares the built-in catalogue, and it decides which of
//! the tests that need real runtimes this machine can run.
//!
//! **The catalogue.** `src/signatures.yaml` is read here, once, into JSON
//! (`$OUT_DIR/signatures.json`), and its prefilter is planned here
//! (`$OUT_DIR/prefilter-plan.json`, by src/classify/prefilter/plan.rs,
//! which this script includes): every process that classifies, the agent
//! in every cell's sandbox among them, then starts in about a millisecond
//! instead of parsing 300 KB of YAML and every pattern (measured: 15 ms of
//! CPU on the host, 17 to 28 ms inside gVisor). A catalogue that does not
//! parse fails the build with the YAML error's line and column; the tests
//! check that the JSON and the plan are what the YAML makes.
//!
//! **The tests.** The test runner itself reports a test whose runtime is
//! missing as ignored, with the reason, instead of letting it pass without
//! running.
//!
//! libtest can only ignore a test at compile time (`#[ignore = "reason"]`),
//! so this script looks for root and for the runtimes scripts/setup.sh
//! installs, and sets one `dindcheck_skip_*` cfg per missing set; the tests
//! carry `#[cfg_attr(dindcheck_skip_…, ignore = "needs …")]`. With
//! `DINDCHECK_REQUIRE_RUNTIMES=1` (CI) no cfg is set: every test runs, and
//! one whose runtime is missing fails. These cfgs never change what the
//! library or the binaries do: only tests read them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[path = "src/classify/prefilter/plan.rs"]
mod plan;

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
    prepare_catalogue();
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

/// The fields of `SignatureEntry` (src/classify/catalogue.rs) as the YAML
/// writes them. A key this does not know fails the build; the crate's
/// tests check that the JSON reads as the same entries as the YAML.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct WrittenEntry {
    id: String,
    pattern: String,
    family: String,
    title: String,
    root_cause: String,
    fix: String,
    source: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    confirmed_by: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    versions: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    wrapper: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phase: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WrittenCatalogue {
    signatures: Vec<WrittenEntry>,
}

/// Writes the built-in catalogue's entries and its prefilter plan to
/// `$OUT_DIR` as JSON.
fn prepare_catalogue() {
    const CATALOGUE: &str = "src/signatures.yaml";
    println!("cargo::rerun-if-changed={CATALOGUE}");
    println!("cargo::rerun-if-changed=src/classify/prefilter/plan.rs");
    println!("cargo::rerun-if-changed=fixtures/logs/ready");
    let text = std::fs::read_to_string(CATALOGUE)
        .unwrap_or_else(|err| panic!("cannot read {CATALOGUE}: {err}"));
    let catalogue: WrittenCatalogue =
        serde_yaml::from_str(&text).unwrap_or_else(|err| panic!("{CATALOGUE}: {err}"));
    let entries = &catalogue.signatures;
    let plan = plan::Plan::new(entries.iter().map(|e| e.pattern.as_str()));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let write = |name: &str, json: String| {
        std::fs::write(out.join(name), json)
            .unwrap_or_else(|err| panic!("cannot write {name} in OUT_DIR: {err}"));
    };
    write(
        "signatures.json",
        serde_json::to_string(entries).expect("entries serialize"),
    );
    write(
        "prefilter-plan.json",
        serde_json::to_string(&plan).expect("the plan serializes"),
    );
}

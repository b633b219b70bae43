//! The `runsc-oci` backend end to end: dockerd as the process of an OCI
//! bundle that the real runsc 20221219 and 20240729 run with `runsc run`,
//! for every built-in profile and for users' templates, and the teardown
//! (Ctrl-C, a timeout, a SIGKILLed harness) leaving no process, mount,
//! scratch dir, runsc state or host cgroup behind. Without root, runsc or
//! dockerd the tests skip with a reason, except under
//! `DINDCHECK_REQUIRE_RUNTIMES=1`, where they fail.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{
    assert_nothing_left, fake_dockerd_bin, need, read_report, real_runtimes, repo_root, root,
    write_scenario,
};
use rstest::rstest;
use serde_json::Value;

/// What runsc 20240729 mounts for a bundle's `type: cgroup` mount.
const GVISOR_2024_HIERARCHIES: [&str; 7] = [
    "cpu", "cpuacct", "cpuset", "devices", "job", "memory", "pids",
];

/// Runs `dindcheck run SCENARIO --runsc OLD --runsc NEW --out OUT ARGS…`,
/// asserts exit 0 and that nothing is left, and returns the report.
fn run_both(dir: &Path, scenario: &Path, old: &Path, new: &Path, extra: &[&str]) -> Value {
    let out = dir.join(format!(
        "out-{}",
        scenario.file_stem().unwrap().to_string_lossy()
    ));
    let mut args = vec![
        "run",
        scenario.to_str().unwrap(),
        "--runsc",
        old.to_str().unwrap(),
        "--runsc",
        new.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ];
    args.extend(extra);
    let child = common::spawn_dindcheck(dir, &args);
    let pid = child.id();
    let output = child.wait_with_output().unwrap();
    assert_nothing_left(pid);
    let report = read_report(&out.join("report.json"));
    // A run with cells that could not run (outcome `error`) exits 4.
    let any_error = cells(&report).iter().any(|c| c["outcome"] == "error");
    let want = if any_error { 4 } else { 0 };
    assert_eq!(
        output.status.code(),
        Some(want),
        "{}",
        common::explain(&args, &output)
    );
    for c in cells(&report) {
        assert!(c["leaked"].as_array().unwrap().is_empty(), "{c}");
    }
    report
}

fn cells(report: &Value) -> &Vec<Value> {
    report["cells"].as_array().expect("cells is an array")
}

fn cell<'a>(report: &'a Value, axes: &[(&str, &str)]) -> &'a Value {
    cells(report)
        .iter()
        .find(|c| axes.iter().all(|(k, v)| c["axes"][k] == *v))
        .unwrap_or_else(|| panic!("no cell with {axes:?}"))
}

/// `(outcome, signature)` of a cell, `-` for no signature.
fn verdict(c: &Value) -> (String, String) {
    (
        c["outcome"].as_str().unwrap().to_owned(),
        c["signature"].as_str().unwrap_or("-").to_owned(),
    )
}

/// The sandbox's effective capabilities, as the in-sandbox doctor read them
/// from /proc/self/status.
fn cap_eff(c: &Value) -> &str {
    c["doctor"]["environment"]["capabilities"]["effective"]
        .as_str()
        .unwrap_or_else(|| panic!("no doctor capabilities: {c}"))
}

/// What the sandbox had at /sys/fs/cgroup, as the agent recorded it.
fn hierarchies(c: &Value) -> Vec<&str> {
    assert_eq!(c["cgroups"]["layout"], "sandbox", "{c}");
    c["cgroups"]["mounted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect()
}

/// The design matrix in privileged Docker containers under runsc: the same
/// verdicts `runsc do` with every controller mounted gives
/// (scenarios/devices-cgroup.yaml), here with the container probe.
#[rstest]
#[timeout(Duration::from_secs(900))]
#[cfg_attr(
    dindcheck_skip_runtimes,
    ignore = "needs root, dockerd, a static /bin/busybox, runsc 20221219 and 20240729 (scripts/setup.sh)"
)]
fn the_design_matrix_in_privileged_oci_bundles() {
    let (old, new) = real_runtimes();
    let dir = tempfile::tempdir().unwrap();
    let scenario = repo_root().join("scenarios/devices-cgroup-oci.yaml");
    let report = run_both(dir.path(), &scenario, &old, &new, &[]);
    assert_eq!(report["scenario"]["sandbox"], "runsc-oci");
    assert_eq!(cells(&report).len(), 16);
    for c in cells(&report) {
        let axis = |name: &str| c["axes"][name].as_str().unwrap();
        let (driver, parent, iptables) = (
            axis("cgroup_driver"),
            axis("cgroup_parent"),
            axis("iptables"),
        );
        let systemd_slash = driver == "systemd" && parent == "/";
        let want = match axis("runsc") {
            "20221219" if systemd_slash => ("daemon-failed", "systemd-cgroup-parent-not-slice"),
            "20221219" => ("daemon-failed", "devices-cgroup-missing"),
            _ if systemd_slash => ("daemon-failed", "systemd-cgroup-parent-not-slice"),
            _ if iptables == "true" => ("daemon-failed", "iptables-nft-unsupported"),
            _ if driver == "systemd" => ("container-failed", "systemd-not-running"),
            _ => ("container-ok", "-"),
        };
        assert_eq!(
            verdict(c),
            (want.0.to_owned(), want.1.to_owned()),
            "{}",
            c["id"]
        );
        // runsc 20221219 drops the bundle's cgroup mount; 20240729 turns it
        // into seven hierarchies of its own. Every capability the runsc
        // accepts (Linux's 41 less the three 20221219 refuses), without
        // CAP_NET_RAW, which runsc drops unless --net-raw.
        if axis("runsc") == "20221219" {
            assert!(hierarchies(c).is_empty(), "{c}");
            assert_eq!(cap_eff(c), "0000003fffffdfff", "{}", c["id"]);
        } else {
            assert_eq!(hierarchies(c), GVISOR_2024_HIERARCHIES, "{c}");
            assert_eq!(cap_eff(c), "000001ffffffdfff", "{}", c["id"]);
        }
        // The doctor, run in the same sandbox before dockerd, names the
        // same failure for every daemon that failed.
        if c["outcome"] == "daemon-failed" {
            assert_eq!(
                c["doctor"]["prediction"]["signature"], c["signature"],
                "{}",
                c["id"]
            );
        }
    }
}

/// Docker's unprivileged default and a GKE Sandbox pod's container.
#[rstest]
#[timeout(Duration::from_secs(600))]
#[cfg_attr(
    dindcheck_skip_runtimes,
    ignore = "needs root, dockerd, a static /bin/busybox, runsc 20221219 and 20240729 (scripts/setup.sh)"
)]
fn docker_default_and_gke_sandbox_profiles() {
    let (old, new) = real_runtimes();
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        dir.path(),
        "profiles",
        "sandbox: runsc-oci\ndockerd:\n  args: [--iptables=false]\n\
         axes:\n  oci_profile: [docker-default, gke-sandbox]\n  bridge: [default, none]\n",
    );
    let report = run_both(dir.path(), &scenario, &old, &new, &[]);
    assert_eq!(cells(&report).len(), 8);
    for c in cells(&report) {
        let profile = c["axes"]["oci_profile"].as_str().unwrap();
        // Docker's 14 default capabilities less CAP_NET_RAW (runsc drops
        // it without --net-raw); GKE adds NET_ADMIN and SYS_ADMIN.
        let caps = match profile {
            "docker-default" => "00000000a80405fb",
            _ => "00000000a82415fb",
        };
        assert_eq!(cap_eff(c), caps, "{}", c["id"]);
        if c["axes"]["runsc"] == "20221219" {
            assert_eq!(
                verdict(c),
                ("daemon-failed".into(), "devices-cgroup-missing".into()),
                "{c}"
            );
            assert!(hierarchies(c).is_empty(), "{c}");
        } else {
            assert_eq!(hierarchies(c), GVISOR_2024_HIERARCHIES, "{c}");
        }
    }
    let new_cell = |profile: &str, bridge: &str| {
        cell(
            &report,
            &[
                ("oci_profile", profile),
                ("bridge", bridge),
                ("runsc", "20240729"),
            ],
        )
    };
    // Without CAP_NET_ADMIN dockerd cannot create its bridge.
    let c = new_cell("docker-default", "default");
    assert_eq!(
        verdict(c),
        ("daemon-failed".into(), "bridge-create-failed".into()),
        "{c}"
    );
    assert!(
        c["fatal_line"]
            .as_str()
            .unwrap()
            .contains("inappropriate ioctl for device"),
        "{c}"
    );
    // The doctor cannot probe a bridge without CAP_SYS_ADMIN, but knows
    // that without CAP_NET_ADMIN there will be none.
    assert_eq!(
        c["doctor"]["prediction"]["signature"], "bridge-create-failed",
        "{c}"
    );
    // Without CAP_SYS_ADMIN it cannot mount overlay and falls back to vfs.
    let c = new_cell("docker-default", "none");
    assert_eq!(c["outcome"], "ready", "{c}");
    assert_eq!(c["dockerd"]["Driver"], "vfs", "{c}");
    for bridge in ["default", "none"] {
        let c = new_cell("gke-sandbox", bridge);
        assert_eq!(c["outcome"], "ready", "{c}");
        assert_eq!(c["dockerd"]["Driver"], "overlay2", "{c}");
    }
}

/// A user's `config.json` is run with its own capabilities and mounts:
/// `runsc spec`'s default (three capabilities, no cgroup mount), the
/// docker-default bundle of the manual runs, and a bundle with all 41
/// capabilities, which runsc 20221219 refuses to start (runsc then leaves
/// host cgroups behind, which the sweep removes).
#[rstest]
#[timeout(Duration::from_secs(600))]
#[cfg_attr(
    dindcheck_skip_runtimes,
    ignore = "needs root, dockerd, a static /bin/busybox, runsc 20221219 and 20240729 (scripts/setup.sh)"
)]
fn users_templates_run_as_written() {
    let (old, new) = real_runtimes();
    let dir = tempfile::tempdir().unwrap();
    let spec_dir = dir.path().join("spec");
    std::fs::create_dir(&spec_dir).unwrap();
    let generated = Command::new(&new)
        .arg("spec")
        .current_dir(&spec_dir)
        .output()
        .unwrap();
    assert!(generated.status.success(), "runsc spec: {generated:?}");
    let fixtures = repo_root().join("fixtures/oci");
    let scenario = write_scenario(
        dir.path(),
        "templates",
        &format!(
            "sandbox: runsc-oci\ndockerd:\n  args: [--iptables=false, --bridge=none]\n\
             axes:\n  template:\n    runsc-spec: {{oci: {{template: spec/config.json}}}}\n\
             \x20   manual-default: {{oci: {{template: {}}}}}\n\
             \x20   all-caps: {{oci: {{template: {}}}}}\n",
            fixtures.join("manual-docker-default.json").display(),
            fixtures.join("manual-docker-privileged.json").display(),
        ),
    );
    let report = run_both(dir.path(), &scenario, &old, &new, &[]);
    assert_eq!(cells(&report).len(), 6);
    for runsc in ["20221219", "20240729"] {
        // runsc spec: CAP_AUDIT_WRITE, CAP_KILL and CAP_NET_BIND_SERVICE
        // only, so dockerd cannot chown its own socket.
        let c = cell(&report, &[("template", "runsc-spec"), ("runsc", runsc)]);
        assert_eq!(cap_eff(c), "0000000020000420", "{c}");
        assert_eq!(c["outcome"], "daemon-failed", "{c}");
        let fatal = c["fatal_line"].as_str().unwrap();
        assert!(
            fatal.contains("chown") && fatal.contains("operation not permitted"),
            "{c}"
        );
        assert!(hierarchies(c).is_empty(), "no cgroup mount in it: {c}");
        let c = cell(&report, &[("template", "manual-default"), ("runsc", runsc)]);
        assert_eq!(cap_eff(c), "00000000a80405fb", "{c}");
    }
    let c = cell(
        &report,
        &[("template", "manual-default"), ("runsc", "20240729")],
    );
    assert_eq!(c["outcome"], "ready", "{c}");
    assert_eq!(c["dockerd"]["Driver"], "vfs", "{c}");
    let c = cell(
        &report,
        &[("template", "manual-default"), ("runsc", "20221219")],
    );
    assert_eq!(c["signature"], "devices-cgroup-missing", "{c}");
    // All 41 capabilities: runsc 20221219 fails before the agent starts.
    let c = cell(&report, &[("template", "all-caps"), ("runsc", "20221219")]);
    assert_eq!(c["outcome"], "error", "{c}");
    assert!(
        c["fatal_line"]
            .as_str()
            .unwrap()
            .contains("cannot create sandbox"),
        "{c}"
    );
    let c = cell(&report, &[("template", "all-caps"), ("runsc", "20240729")]);
    assert_eq!(c["outcome"], "ready", "{c}");
    assert_eq!(cap_eff(c), "000001ffffffdfff", "{c}");
}

/// A broken template fails the scenario's load with the file and position.
#[test]
fn a_broken_template_is_a_scenario_error_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        "{\n  \"ociVersion\": \"1.0.2\",\n  \"process\": {\"capabilities\": {\"bounding\": [\"CAP_FLY\"]}}\n}\n",
    )
    .unwrap();
    let scenario = write_scenario(
        dir.path(),
        "broken",
        "sandbox: runsc-oci\noci: {template: config.json}\n",
    );
    let output = Command::new(common::dindcheck_bin())
        .args(["validate", scenario.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let at = format!("{}:3:", dir.path().join("config.json").display());
    assert!(stderr.contains(&at), "{stderr}");
    assert!(stderr.contains("CAP_FLY"), "{stderr}");
}

/// A scenario of two cells (one per runsc) whose dockerd hangs.
fn hanging_scenario(dir: &Path, name: &str) -> std::path::PathBuf {
    write_scenario(
        dir,
        name,
        &format!(
            "sandbox: runsc-oci\ndockerd:\n  binary: {}\n  args: [--fake-mode=hang-ignore-term]\n\
             probe:\n  timeout_secs: 120\n",
            fake_dockerd_bin().display()
        ),
    )
}

/// Waits until `count` cells of the run writing to `out` have spawned their
/// dockerd.
fn wait_for_dockerds(out: &Path, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let spawned = std::fs::read_dir(out.join("cells"))
            .map(|d| {
                d.flatten()
                    .filter(|e| {
                        std::fs::read_to_string(e.path().join("sandbox.log"))
                            .unwrap_or_default()
                            .contains("dockerd-spawned")
                    })
                    .count()
            })
            .unwrap_or(0);
        if spawned >= count {
            return;
        }
        assert!(Instant::now() < deadline, "cells never started");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Ctrl-C while both sandboxes run, then a timeout: the runner kills the
/// sandboxes, `runsc delete --force`s them and removes their host cgroups.
#[rstest]
#[timeout(Duration::from_secs(600))]
#[cfg_attr(
    dindcheck_skip_runtimes,
    ignore = "needs root, dockerd, a static /bin/busybox, runsc 20221219 and 20240729 (scripts/setup.sh)"
)]
fn ctrl_c_and_a_timeout_leave_nothing_behind() {
    let (old, new) = real_runtimes();
    let dir = tempfile::tempdir().unwrap();
    let scenario = hanging_scenario(dir.path(), "ctrl-c");
    let out = dir.path().join("out-ctrl-c");
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--jobs",
        "2",
        "--grace",
        "1",
        "--runsc",
        old.to_str().unwrap(),
        "--runsc",
        new.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let child = common::spawn_dindcheck(dir.path(), &args);
    let pid = child.id();
    wait_for_dockerds(&out, 2);
    assert!(
        !common::cgroup_dirs_named(&format!("dindcheck-{pid}-")).is_empty(),
        "running sandboxes have host cgroups"
    );
    use nix::sys::signal::{Signal, kill};
    kill(nix::unistd::Pid::from_raw(pid as i32), Signal::SIGINT).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        common::explain(&args, &output)
    );
    let report = read_report(&out.join("report.json"));
    assert_eq!(report["interrupted"], true);
    assert_eq!(cells(&report).len(), 2);
    for c in cells(&report) {
        assert_eq!(c["outcome"], "error", "{c}");
        assert_eq!(c["detail"], "interrupted before a verdict", "{c}");
        assert!(c["leaked"].as_array().unwrap().is_empty(), "{c}");
    }
    assert_nothing_left(pid);

    let scenario = hanging_scenario(dir.path(), "timeout");
    let report = run_both(
        dir.path(),
        &scenario,
        &old,
        &new,
        &["--timeout", "2", "--grace", "1"],
    );
    for c in cells(&report) {
        assert_eq!(c["outcome"], "timeout", "{c}");
    }
}

/// A harness killed with SIGKILL cannot tear its cells down; `dindcheck
/// cleanup` then removes their processes, scratch dirs and host cgroups.
#[rstest]
#[timeout(Duration::from_secs(300))]
#[cfg_attr(
    dindcheck_skip_runtimes,
    ignore = "needs root, dockerd, runsc 20221219 and 20240729 (scripts/setup.sh)"
)]
fn after_sigkill_cleanup_removes_the_cells_host_cgroups() {
    // No other run may start (and clean this one's leftovers first).
    let alone = common::no_new_runs();
    need(root(), "root");
    let runsc = need(common::runsc_trixie(), "runsc 20240729");
    let dir = tempfile::tempdir().unwrap();
    let scenario = hanging_scenario(dir.path(), "killed");
    let out = dir.path().join("out");
    let mut child = common::spawn_dindcheck_alone(
        &alone,
        dir.path(),
        &[
            "run",
            scenario.to_str().unwrap(),
            "-q",
            "--runsc",
            runsc.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let pid = child.id();
    wait_for_dockerds(&out, 1);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !common::cgroup_dirs_named(&format!("dindcheck-{pid}-")).is_empty(),
        "a SIGKILLed run cannot remove its cells' host cgroups itself"
    );
    let output = Command::new(common::dindcheck_bin())
        .arg("cleanup")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        said.contains(&format!("removed /tmp/dindcheck-{pid}-")),
        "{said}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !common::leftover_processes(pid).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_nothing_left(pid);
}

//! End-to-end runs against the real runsc and dockerd (and the fake dockerd
//! for lifecycle faults). They need root; without runsc or dockerd they skip
//! with a reason, except under `DINDCHECK_REQUIRE_RUNTIMES=1`, where they fail.

mod common;

use rstest::rstest;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::{
    assert_nothing_left, fake_dockerd_bin, need, read_report, real_runtimes, repo_root, root,
    write_scenario,
};
use serde_json::Value;

/// Runs dindcheck to completion and returns its pid and output, so the test
/// can check what the run left behind by its marker.
fn run_dindcheck(cwd: &Path, args: &[&str]) -> (u32, Output) {
    let child = common::spawn_dindcheck(cwd, args);
    let pid = child.id();
    let output = child.wait_with_output().expect("wait for dindcheck");
    (pid, output)
}

/// Runs dindcheck, asserts that it exited 0 (printing the command and its
/// output if not), and returns its pid and the report under `out`.
fn run_to_report(cwd: &Path, args: &[&str], out: &Path) -> (u32, Value) {
    let (pid, output) = run_dindcheck(cwd, args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        common::explain(args, &output)
    );
    (pid, read_report(&out.join("report.json")))
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

/// The cell and the last lines of its dockerd and sandbox logs, for an
/// assertion's message: the logs go with the test's tempdir, and a failure
/// that happens once in twenty runs must be readable from that run alone.
fn with_logs(cell: &Value) -> String {
    let tail = |key: &str| {
        let text = cell[key]
            .as_str()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    };
    format!(
        "{cell}\n--- dockerd.log (last 40 lines)\n{}\n--- sandbox.log (last 40 lines)\n{}",
        tail("log"),
        tail("sandbox_log")
    )
}

/// Checks that hold for every cell of every real run.
fn assert_cell_invariants(cell: &Value) {
    let id = cell["id"].as_str().unwrap();
    let log = PathBuf::from(cell["log"].as_str().unwrap());
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        cell["leaked"].as_array().unwrap().is_empty(),
        "{id} leaked: {cell}"
    );
    match cell["outcome"].as_str().unwrap() {
        "daemon-failed" => {
            let fatal = cell["fatal_line"]
                .as_str()
                .expect("a failed cell has a fatal line");
            assert!(
                log_text.contains(fatal),
                "{id}: fatal line not in {}",
                log.display()
            );
            assert!(cell["signature"].is_string(), "{id}: {cell}");
            // The verdict comes with dockerd's last words; its exit follows
            // within milliseconds, inside the teardown.
            assert_eq!(cell["decided_by"], "fatal-line", "{id}: {cell}");
            assert!(
                cell["timings_ms"]["dockerd_start_to_fatal_line"].is_u64(),
                "{id}"
            );
            assert!(cell["timings_ms"]["fatal_line_to_verdict"].is_u64(), "{id}");
        }
        "ready" | "container-ok" | "container-failed" | "pull-ok" | "pull-failed"
        | "network-ok" | "network-failed" | "build-ok" | "build-failed" => {
            assert!(
                log_text.contains("API listen on"),
                "{id}: {}",
                log.display()
            );
            assert!(cell["dockerd"]["ServerVersion"].is_string(), "{id}: {cell}");
            assert!(cell["decided_by"].is_string(), "{id}: {cell}");
            assert!(cell["timings_ms"]["dockerd_start_to_api"].is_u64(), "{id}");
            assert!(
                cell["timings_ms"]["dockerd_log_to_api_listen"].is_u64(),
                "{id}"
            );
        }
        other => panic!("{id}: the harness did not reach a verdict about dockerd: {other}: {cell}"),
    }
}

#[rstest]
#[timeout(Duration::from_secs(1200))]
#[cfg_attr(
    dindcheck_skip_runtimes,
    ignore = "needs root, dockerd, a static /bin/busybox, runsc 20221219 and 20240729 (scripts/setup.sh)"
)]
fn design_matrix_runs_all_16_cells_under_both_runsc_versions() {
    let (old, new) = real_runtimes();
    let dir = tempfile::tempdir().unwrap();
    let scenario = repo_root().join("scenarios/devices-cgroup.yaml");
    let out = dir.path().join("out");
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--runsc",
        old.to_str().unwrap(),
        "--runsc",
        new.to_str().unwrap(),
        "--format",
        "json",
        "--out",
        out.to_str().unwrap(),
    ];
    let (pid, output) = run_dindcheck(dir.path(), &args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        common::explain(&args, &output)
    );
    let report: Value =
        serde_json::from_slice(&output.stdout).expect("stdout is one JSON document");
    assert_eq!(report["schema"], "dindcheck/report/v2");
    assert_eq!(report, read_report(&out.join("report.json")));
    assert_eq!(cells(&report).len(), 16);
    // v2 carries the matrix order itself: each axis's values in order, and
    // every cell's index, which is its position in a full run.
    assert_eq!(
        report["scenario"]["axis_values"]["cgroup_driver"],
        serde_json::json!(["systemd", "cgroupfs"])
    );
    assert_eq!(
        report["scenario"]["axis_values"]["runsc"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    for (i, c) in cells(&report).iter().enumerate() {
        assert_eq!(c["index"], i, "{c}");
        assert!(
            c["dockerd_version"]
                .as_str()
                .is_some_and(|v| v.starts_with("Docker version")),
            "{c}"
        );
    }
    for c in cells(&report) {
        assert_cell_invariants(c);
        let label = c["axes"]["runsc"].as_str().unwrap();
        assert!(
            c["runsc_version"].as_str().unwrap().contains(label),
            "the runsc label comes from its version: {c}"
        );
    }
    // The Devices-cgroup failure, reproduced under runsc: the old sandbox
    // kernel refuses the devices controller, and dockerd dies on it with
    // exactly the flags the folklore fix recommends.
    let folklore = [
        ("cgroup_driver", "cgroupfs"),
        ("cgroup_parent", "/"),
        ("iptables", "false"),
    ];
    let old_cell = cell(
        &report,
        &[folklore.as_slice(), &[("runsc", "20221219")]].concat(),
    );
    assert_eq!(old_cell["outcome"], "daemon-failed", "{old_cell}");
    assert_eq!(
        old_cell["signature"], "devices-cgroup-missing",
        "{old_cell}"
    );
    let failed: Vec<&str> = old_cell["cgroups"]["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f[0].as_str().unwrap())
        .collect();
    assert!(failed.contains(&"devices"), "{old_cell}");
    let new_cell = cell(
        &report,
        &[folklore.as_slice(), &[("runsc", "20240729")]].concat(),
    );
    let mounted = new_cell["cgroups"]["mounted"].to_string();
    assert!(mounted.contains("\"devices\""), "{new_cell}");
    assert_ne!(
        new_cell["signature"], "devices-cgroup-missing",
        "{new_cell}"
    );
    assert_nothing_left(pid);
}

#[rstest]
#[timeout(Duration::from_secs(600))]
#[cfg_attr(
    dindcheck_skip_native,
    ignore = "needs root, dockerd and a static /bin/busybox (scripts/setup.sh)"
)]
fn native_cells_reproduce_the_devices_failure_without_gvisor() {
    need(root(), "root");
    need(common::dockerd(), "dockerd");
    let dir = tempfile::tempdir().unwrap();
    let scenario = repo_root().join("scenarios/native-cgroups.yaml");
    let out = dir.path().join("out");
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--filter",
        "iptables=false",
        "--filter",
        "cgroups=auto",
        "--filter",
        "cgroups=gvisor-2022",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    let (pid, output) = run_dindcheck(dir.path(), &args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        common::explain(&args, &output)
    );
    let report = read_report(&out.join("report.json"));
    assert_eq!(cells(&report).len(), 2);
    cells(&report).iter().for_each(assert_cell_invariants);
    let hidden = cell(&report, &[("cgroups", "gvisor-2022")]);
    assert_eq!(hidden["outcome"], "daemon-failed", "{hidden}");
    assert_eq!(hidden["signature"], "devices-cgroup-missing", "{hidden}");
    let full = cell(&report, &[("cgroups", "auto")]);
    assert_eq!(full["outcome"], "ready", "{full}");
    // The table on stdout names the signature and where the report went.
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.contains("devices-cgroup-missing"), "{table}");
    assert_nothing_left(pid);
}

#[rstest]
#[timeout(Duration::from_secs(600))]
#[cfg_attr(
    dindcheck_skip_runtimes,
    ignore = "needs root, dockerd, a static /bin/busybox, runsc 20221219 and 20240729 (scripts/setup.sh)"
)]
fn container_probe_runs_a_one_file_image_under_runsc_and_natively() {
    let (_, new) = real_runtimes();
    let dir = tempfile::tempdir().unwrap();
    let runsc_out = dir.path().join("runsc");
    let native_out = dir.path().join("native");
    let design = repo_root().join("scenarios/devices-cgroup.yaml");
    let native = repo_root().join("scenarios/native-cgroups.yaml");
    for (scenario, out, filters) in [
        (
            &design,
            &runsc_out,
            vec![
                "cgroup_driver=cgroupfs",
                "cgroup_parent=none",
                "iptables=false",
            ],
        ),
        (&native, &native_out, vec!["cgroups=auto", "iptables=false"]),
    ] {
        let mut args = vec![
            "run",
            scenario.to_str().unwrap(),
            "--runsc",
            new.to_str().unwrap(),
            "--depth",
            "container",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ];
        for f in &filters {
            args.extend(["--filter", f]);
        }
        let (pid, output) = run_dindcheck(dir.path(), &args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            common::explain(&args, &output)
        );
        let report = read_report(&out.join("report.json"));
        assert_eq!(report["scenario"]["depth"], "container");
        let only = &cells(&report)[0];
        assert_cell_invariants(only);
        assert_eq!(only["outcome"], "container-ok", "{only}");
        assert!(only["timings_ms"]["container"].is_u64());
        assert_nothing_left(pid);
    }
}

/// The depths past one container, for real on runsc 20240729 (dockerd 20.10,
/// cgroupfs, no iptables): a registry on loopback in the sandbox (push,
/// remove, pull, run), containers on the default bridge (gateway, each
/// other, a published port) and a build. With `--bridge=none` the same cell
/// gets as far as the pull and fails the network with no address.
#[rstest]
#[timeout(Duration::from_secs(1200))]
#[cfg_attr(
    dindcheck_skip_all_runtimes,
    ignore = "needs all scripts/setup.sh installs: root, runsc 20221219 and 20240729, dockerd 20.10, 26.1 and 28.5, iptables-legacy, docker-registry"
)]
fn pull_network_and_build_depths_run_for_real_in_gvisor() {
    let (_, new) = real_runtimes();
    need(
        Path::new("/usr/bin/docker-registry").exists().then_some(()),
        "docker-registry (apt-get install docker-registry)",
    );
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        dir.path(),
        "depths",
        "name: depths\nsandbox: runsc\ndockerd:\n  args: [--exec-opt, native.cgroupdriver=cgroupfs, \
         --iptables=false]\nprobe:\n  depth: build\n  timeout_secs: 120\naxes:\n  bridge: [default, none]\n",
    );
    let out = dir.path().join("out");
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--runsc",
        new.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    let (pid, output) = run_dindcheck(dir.path(), &args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        common::explain(&args, &output)
    );
    assert_nothing_left(pid);
    let report = read_report(&out.join("report.json"));
    assert_eq!(report["scenario"]["depth"], "build");
    let full = cell(&report, &[("bridge", "default")]);
    assert_cell_invariants(full);
    assert_eq!(full["outcome"], "build-ok", "{}", with_logs(full));
    for step in ["container", "pull", "network", "build"] {
        assert!(full["timings_ms"][step].is_u64(), "{step}: {full}");
    }
    let no_bridge = cell(&report, &[("bridge", "none")]);
    assert_eq!(
        no_bridge["outcome"],
        "network-failed",
        "{}",
        with_logs(no_bridge)
    );
    assert_eq!(
        no_bridge["signature"], "default-bridge-absent",
        "{no_bridge}"
    );
    assert!(no_bridge["timings_ms"]["pull"].is_u64(), "{no_bridge}");
    assert!(no_bridge["timings_ms"]["build"].is_null(), "{no_bridge}");
}

/// runsc flags per release: `packet_write` is spelled as each Debian runsc
/// spells it (both only know the TESTONLY name), and the documented spelling
/// passed as written is a cell `error` carrying runsc's own words.
#[rstest]
#[timeout(Duration::from_secs(600))]
#[cfg_attr(
    dindcheck_skip_runtimes,
    ignore = "needs root, dockerd, a static /bin/busybox, runsc 20221219 and 20240729 (scripts/setup.sh)"
)]
fn runsc_flags_are_spelled_per_release_and_unknown_ones_are_cell_errors() {
    let (old, new) = real_runtimes();
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        dir.path(),
        "flags",
        "name: flags\nsandbox: runsc\ndockerd:\n  args: [--iptables=false]\naxes:\n  net:\n    \
         packet-write: {packet_write: true}\n    documented: {runsc_args: [--allow-packet-socket-write]}\n",
    );
    let scenario = scenario.to_str().unwrap();
    let (old, new) = (old.to_str().unwrap(), new.to_str().unwrap());
    let args = [
        "list", scenario, "--runsc", old, "--runsc", new, "--format", "json",
    ];
    let (_, output) = run_dindcheck(dir.path(), &args);
    assert!(
        output.status.success(),
        "{}",
        common::explain(&args, &output)
    );
    let listed: Value = serde_json::from_slice(&output.stdout).unwrap();
    for cell in listed["cells"].as_array().unwrap() {
        let flags = cell["runsc_flags"].to_string();
        let wanted = if cell["axes"]["net"] == "packet-write" {
            "--TESTONLY-allow-packet-endpoint-write"
        } else {
            "--allow-packet-socket-write"
        };
        assert!(flags.contains(wanted), "{cell}");
    }
    let out = dir.path().join("out");
    let args = [
        "run",
        scenario,
        "--runsc",
        new,
        "--filter",
        "net=documented",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ];
    let (pid, output) = run_dindcheck(dir.path(), &args);
    // An error cell makes the run exit 4, whatever the expectations say.
    assert_eq!(
        output.status.code(),
        Some(4),
        "{}",
        common::explain(&args, &output)
    );
    assert_nothing_left(pid);
    let report = read_report(&out.join("report.json"));
    let only = &cells(&report)[0];
    assert_eq!(only["outcome"], "error", "{only}");
    assert_eq!(only["signature"], "runsc-flag-unknown", "{only}");
    assert_eq!(
        only["fatal_line"], "flag provided but not defined: -allow-packet-socket-write",
        "{only}"
    );
}

/// A scenario whose dockerd is the fake one, in `mode`.
fn fake_scenario(dir: &Path, sandbox: &str, mode: &str, timeout: u64) -> PathBuf {
    write_scenario(
        dir,
        &format!("fake-{sandbox}-{mode}"),
        &format!(
            "sandbox: {sandbox}\ndockerd:\n  binary: {}\n  args: [--fake-mode={mode}]\n\
             probe:\n  timeout_secs: {timeout}\n",
            fake_dockerd_bin().display()
        ),
    )
}

/// Runs a one-cell fake scenario with `--runsc RUNSC --timeout TIMEOUT
/// --grace 1`, asserts exit 0, and returns dindcheck's pid and the report.
fn run_fake_cell(
    cwd: &Path,
    scenario: &Path,
    runsc: &Path,
    timeout: &str,
    out: &Path,
) -> (u32, Value) {
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--runsc",
        runsc.to_str().unwrap(),
        "--timeout",
        timeout,
        "--grace",
        "1",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ];
    run_to_report(cwd, &args, out)
}

#[rstest]
#[timeout(Duration::from_secs(600))]
#[cfg_attr(dindcheck_skip_root, ignore = "needs root")]
fn a_crashing_daemon_is_reported_the_moment_it_exits() {
    need(root(), "root");
    let dir = tempfile::tempdir().unwrap();
    // A probe timeout far beyond the test's own: a verdict that waited for
    // it (exit detection broken) fails the test by its #[timeout], with no
    // wall-clock bound in the test itself.
    let scenario = fake_scenario(dir.path(), "native", "crash", 86_400);
    let out = dir.path().join("out");
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ];
    let (pid, report) = run_to_report(dir.path(), &args, &out);
    let only = &cells(&report)[0];
    assert_eq!(only["outcome"], "daemon-failed", "{only}");
    assert_eq!(only["signature"], "devices-cgroup-missing", "{only}");
    assert_eq!(only["detail"], "dockerd exited with exit status 1");
    // Its last words and its exit come together: either decides, and the
    // exit status is kept either way.
    assert!(
        only["decided_by"] == "fatal-line" || only["decided_by"] == "exit",
        "{only}"
    );
    assert_nothing_left(pid);
}

/// A daemon whose last words come long before its exit (here: never) is
/// `daemon-failed` the moment it prints them, not `timeout`, under runsc
/// and natively.
#[rstest]
#[timeout(Duration::from_secs(300))]
#[cfg_attr(
    dindcheck_skip_runsc,
    ignore = "needs root and runsc 20221219 (scripts/setup.sh)"
)]
fn last_words_decide_the_verdict_before_the_exit() {
    need(root(), "root");
    let runsc = need(common::runsc_bookworm(), "runsc");
    let dir = tempfile::tempdir().unwrap();
    for sandbox in ["native", "runsc"] {
        let scenario = fake_scenario(dir.path(), sandbox, "last-words-hang", 60);
        let out = dir.path().join(format!("out-{sandbox}"));
        let (pid, report) = run_fake_cell(dir.path(), &scenario, &runsc, "20", &out);
        let only = &cells(&report)[0];
        assert_eq!(only["outcome"], "daemon-failed", "{sandbox}: {only}");
        assert_eq!(only["decided_by"], "fatal-line", "{sandbox}: {only}");
        assert_eq!(only["signature"], "devices-cgroup-missing", "{only}");
        assert_eq!(
            only["fatal_line"], "failed to start daemon: Devices cgroup isn't mounted",
            "{only}"
        );
        let timings = &only["timings_ms"];
        assert!(timings["dockerd_start_to_fatal_line"].is_u64(), "{only}");
        assert!(timings["fatal_line_to_verdict"].is_u64(), "{only}");
        assert!(
            timings["dockerd_start_to_exit"].is_null(),
            "it never exits: {only}"
        );
        assert!(only["leaked"].as_array().unwrap().is_empty(), "{only}");
        assert_nothing_left(pid);
    }
}

#[rstest]
#[timeout(Duration::from_secs(600))]
#[cfg_attr(
    dindcheck_skip_runsc,
    ignore = "needs root and runsc 20221219 (scripts/setup.sh)"
)]
fn a_hanging_daemon_times_out_and_leaves_nothing_under_runsc_and_natively() {
    need(root(), "root");
    let runsc = need(common::runsc_bookworm(), "runsc");
    let dir = tempfile::tempdir().unwrap();
    for sandbox in ["native", "runsc"] {
        let scenario = fake_scenario(dir.path(), sandbox, "hang-ignore-term", 60);
        let out = dir.path().join(format!("out-{sandbox}"));
        let (pid, report) = run_fake_cell(dir.path(), &scenario, &runsc, "2", &out);
        let only = &cells(&report)[0];
        assert_eq!(only["outcome"], "timeout", "{sandbox}: {only}");
        assert!(
            only["detail"]
                .as_str()
                .unwrap()
                .contains("neither answered /_ping nor exited"),
            "{only}"
        );
        assert!(only["leaked"].as_array().unwrap().is_empty(), "{only}");
        assert_nothing_left(pid);
    }
}

#[rstest]
#[timeout(Duration::from_secs(600))]
#[cfg_attr(
    dindcheck_skip_runsc,
    ignore = "needs root and runsc 20221219 (scripts/setup.sh)"
)]
fn ctrl_c_mid_run_tears_every_cell_down_and_exits_130() {
    need(root(), "root");
    let runsc = need(common::runsc_bookworm(), "runsc");
    let dir = tempfile::tempdir().unwrap();
    // Ctrl-C (SIGINT) in one, a service manager's SIGTERM in the other.
    use nix::sys::signal::Signal;
    for (sandbox, signal) in [("runsc", Signal::SIGINT), ("native", Signal::SIGTERM)] {
        let scenario = write_scenario(
            dir.path(),
            &format!("ctrl-c-{sandbox}"),
            &format!(
                "sandbox: {sandbox}\ndockerd:\n  binary: {}\n  args: [--fake-mode=hang-ignore-term]\n\
                 probe:\n  timeout_secs: 120\naxes:\n  bridge: [default, none, b1, b2]\n",
                fake_dockerd_bin().display()
            ),
        );
        let out = dir.path().join(format!("out-{sandbox}"));
        let child = common::spawn_dindcheck(
            dir.path(),
            &[
                "run",
                scenario.to_str().unwrap(),
                "--jobs",
                "2",
                "--grace",
                "1",
                "--runsc",
                runsc.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
        );
        let pid = child.id();
        // Wait until both running cells have a dockerd, so there is
        // something to tear down.
        let spawned = |cell: usize| {
            let logs = out.join("cells");
            std::fs::read_dir(&logs)
                .map(|d| {
                    d.flatten()
                        .filter(|e| {
                            e.file_name()
                                .to_string_lossy()
                                .starts_with(&format!("0{cell}-"))
                        })
                        .any(|e| {
                            std::fs::read_to_string(e.path().join("sandbox.log"))
                                .unwrap_or_default()
                                .contains("dockerd-spawned")
                        })
                })
                .unwrap_or(false)
        };
        // Bounded by the test's #[timeout].
        while !(spawned(0) && spawned(1)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            !common::leftover_processes(pid).is_empty(),
            "cells are running"
        );
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal).unwrap();
        let output = child.wait_with_output().unwrap();
        let args = ["run", "(ctrl-c)", sandbox];
        assert_eq!(
            output.status.code(),
            Some(130),
            "{}",
            common::explain(&args, &output)
        );
        let report = read_report(&out.join("report.json"));
        assert_eq!(report["interrupted"], true);
        let ran = cells(&report);
        assert_eq!(ran.len(), 2, "no new cell starts after Ctrl-C: {report}");
        for c in ran {
            assert_eq!(c["outcome"], "error", "{c}");
            assert_eq!(c["detail"], "interrupted before a verdict", "{c}");
        }
        assert_nothing_left(pid);
    }
}

#[rstest]
#[timeout(Duration::from_secs(600))]
#[cfg_attr(
    dindcheck_skip_runtimes,
    ignore = "needs root, dockerd, a static /bin/busybox, runsc 20221219 and 20240729 (scripts/setup.sh)"
)]
fn a_user_namespace_gets_dockerd_past_the_devices_check_on_old_runsc() {
    let (old, _) = real_runtimes();
    let dir = tempfile::tempdir().unwrap();
    let scenario = repo_root().join("scenarios/userns.yaml");
    let out = dir.path().join("out");
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--runsc",
        old.to_str().unwrap(),
        "--filter",
        "bridge=none",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ];
    let (pid, report) = run_to_report(dir.path(), &args, &out);
    cells(&report).iter().for_each(assert_cell_invariants);
    let plain = cell(&report, &[("userns", "false")]);
    assert_eq!(plain["signature"], "devices-cgroup-missing", "{plain}");
    let in_userns = cell(&report, &[("userns", "true")]);
    assert_eq!(in_userns["outcome"], "ready", "{in_userns}");
    assert_nothing_left(pid);
}

/// A native scenario of fake daemons: one value crashes, one is ready.
fn two_cell_scenario(dir: &Path) -> PathBuf {
    write_scenario(
        dir,
        "two-cells",
        &format!(
            "# two fake daemons\nname: two-cells\nsandbox: native\ndockerd:\n  binary: {}\n\
             axes:\n  behaviour:\n    crashes: {{dockerd_args: [--fake-mode=crash]}}\n    \
             starts: {{dockerd_args: [--fake-mode=ready]}}\n",
            fake_dockerd_bin().display()
        ),
    )
}

#[rstest]
#[timeout(Duration::from_secs(600))]
#[cfg_attr(dindcheck_skip_root, ignore = "needs root")]
fn update_expectations_then_rerun_failed_cells_only() {
    need(root(), "root");
    let dir = tempfile::tempdir().unwrap();
    let scenario = two_cell_scenario(dir.path());
    let first = dir.path().join("first");
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--update-expectations",
        "--out",
        first.to_str().unwrap(),
        "-q",
    ];
    let (pid, output) = run_dindcheck(dir.path(), &args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        common::explain(&args, &output)
    );
    assert_nothing_left(pid);
    let text = std::fs::read_to_string(&scenario).unwrap();
    assert!(
        text.starts_with("# two fake daemons\n"),
        "comments kept: {text}"
    );
    assert!(text.contains("- when: {behaviour: \"crashes\"}\n    outcome: daemon-failed\n    signature: devices-cgroup-missing"), "{text}");
    assert!(
        text.contains("- when: {behaviour: \"starts\"}\n    outcome: ready\n    signature: none"),
        "{text}"
    );

    // The blessed expectations hold on the next run; only the failed cell reruns.
    let second = dir.path().join("second");
    let first_report = first.join("report.json");
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--rerun-failed",
        first_report.to_str().unwrap(),
        "--out",
        second.to_str().unwrap(),
        "-q",
    ];
    let (pid, report) = run_to_report(dir.path(), &args, &second);
    assert_eq!(cells(&report).len(), 1);
    assert_eq!(cells(&report)[0]["axes"]["behaviour"], "crashes");
    assert_eq!(cells(&report)[0]["expectation_met"], true);
    assert_nothing_left(pid);

    // An expectation that no longer holds makes the run exit 1.
    std::fs::write(
        &scenario,
        text.replace("outcome: ready", "outcome: container-ok"),
    )
    .unwrap();
    let third = dir.path().join("third");
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--out",
        third.to_str().unwrap(),
        "-q",
    ];
    let (pid, output) = run_dindcheck(dir.path(), &args);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        common::explain(&args, &output)
    );
    let report = read_report(&third.join("report.json"));
    assert_eq!(
        cell(&report, &[("behaviour", "starts")])["expectation_met"],
        false
    );
    assert_nothing_left(pid);
}

#[rstest]
#[timeout(Duration::from_secs(600))]
#[cfg_attr(dindcheck_skip_root, ignore = "needs root")]
fn retries_mark_a_cell_flaky_and_keep_its_first_verdict() {
    need(root(), "root");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("crashed-once");
    let scenario = write_scenario(
        dir.path(),
        "flaky",
        &format!(
            "sandbox: native\ndockerd:\n  binary: {}\n  args: [--fake-crash-once={}]\n",
            fake_dockerd_bin().display(),
            state.display()
        ),
    );
    let out = dir.path().join("out");
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--retries",
        "2",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ];
    let (pid, output) = run_dindcheck(dir.path(), &args);
    assert_eq!(
        output.status.code(),
        Some(1),
        "flaky fails the run: {}",
        common::explain(&args, &output)
    );
    let report = read_report(&out.join("report.json"));
    let only = &cells(&report)[0];
    assert_eq!(only["outcome"], "daemon-failed", "{only}");
    assert_eq!(only["flaky"], true, "{only}");
    let retries = only["retries"].as_array().unwrap();
    assert_eq!(
        retries.len(),
        1,
        "stops at the first differing verdict: {only}"
    );
    assert_eq!(retries[0]["outcome"], "ready");
    assert!(
        retries[0]["log"].as_str().unwrap().contains(".retry1/"),
        "{only}"
    );
    assert_nothing_left(pid);
}

#[rstest]
#[timeout(Duration::from_secs(600))]
#[cfg_attr(
    dindcheck_skip_runsc,
    ignore = "needs root and runsc 20221219 (scripts/setup.sh)"
)]
fn after_sigkill_of_the_harness_cleanup_removes_what_the_run_left() {
    // No other run may start (and clean this one's leftovers first).
    let alone = common::no_new_runs();
    need(root(), "root");
    let runsc_tmp_before = common::runsc_do_dirs_in_tmp();
    let runsc = need(common::runsc_bookworm(), "runsc");
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        dir.path(),
        "killed",
        &format!(
            "sandbox: runsc\ndockerd:\n  binary: {}\n  args: [--fake-mode=hang-ignore-term]\n\
             probe:\n  timeout_secs: 120\naxes:\n  bridge: [a, b]\n",
            fake_dockerd_bin().display()
        ),
    );
    let out = dir.path().join("out");
    let mut child = common::spawn_dindcheck_alone(
        &alone,
        dir.path(),
        &[
            "run",
            scenario.to_str().unwrap(),
            "--jobs",
            "2",
            "-q",
            "--runsc",
            runsc.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let pid = child.id();
    // Bounded by the test's #[timeout].
    while common::leftover_processes(pid).len() < 2 {
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !common::leftover_files_and_mounts(pid).is_empty(),
        "a SIGKILLed run cannot clean up its scratch dir itself"
    );
    let output = Command::new(common::dindcheck_bin())
        .arg("cleanup")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        said.contains(&format!("removed /tmp/dindcheck-{pid}-")),
        "{said}"
    );
    // Children die with the harness (PR_SET_PDEATHSIG); cleanup takes the rest.
    // Their death is asynchronous; bounded by the test's #[timeout].
    while !common::leftover_processes(pid).is_empty() {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_nothing_left(pid);
    let leaked_bundles: Vec<String> = common::runsc_do_dirs_in_tmp()
        .into_iter()
        .filter(|d| !runsc_tmp_before.contains(d))
        .collect();
    assert!(
        leaked_bundles.is_empty(),
        "runsc do left {leaked_bundles:?} in /tmp"
    );
}

#[rstest]
#[timeout(Duration::from_secs(600))]
#[cfg_attr(dindcheck_skip_root, ignore = "needs root")]
fn two_runs_at_once_do_not_touch_each_other() {
    need(root(), "root");
    let dir = tempfile::tempdir().unwrap();
    let scenario = two_cell_scenario(dir.path());
    let spawn = |name: &str| {
        let out = dir.path().join(name);
        let child = common::spawn_dindcheck(
            dir.path(),
            &[
                "run",
                scenario.to_str().unwrap(),
                "-q",
                "--out",
                out.to_str().unwrap(),
            ],
        );
        (child, out)
    };
    let runs = [spawn("a"), spawn("b")];
    for (child, out) in runs {
        let pid = child.id();
        let output = child.wait_with_output().unwrap();
        // The report (each cell's detail) is the evidence when this fails.
        let report_text = std::fs::read_to_string(out.join("report.json")).unwrap_or_default();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}\nreport.json:\n{report_text}",
            common::explain(&["run", "(concurrent)"], &output)
        );
        let report = read_report(&out.join("report.json"));
        assert_eq!(
            cell(&report, &[("behaviour", "starts")])["outcome"],
            "ready"
        );
        assert_eq!(
            cell(&report, &[("behaviour", "crashes")])["outcome"],
            "daemon-failed"
        );
        assert_nothing_left(pid);
    }
}

/// What the host's Docker and firewall look like: a listing (with sizes and
/// times) of the Docker state paths, and the iptables rules of every table.
fn host_docker_and_firewall_state() -> String {
    let mut state = String::new();
    for path in ["/var/run/docker.sock", "/var/lib/docker", "/etc/docker"] {
        let listing = Command::new("ls")
            .args(["-laR", "--time-style=full-iso", path])
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout).into_owned()
                    + &String::from_utf8_lossy(&o.stderr)
            })
            .unwrap_or_default();
        state.push_str(&format!("== {path}\n{listing}"));
    }
    for tool in ["iptables-save", "ip6tables-save"] {
        let rules = Command::new(tool)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_else(|e| format!("{tool}: {e}"));
        // iptables-save prints a timestamp comment; the rules are what count.
        let rules: Vec<&str> = rules.lines().filter(|l| !l.starts_with('#')).collect();
        state.push_str(&format!("== {tool}\n{}\n", rules.join("\n")));
    }
    state
}

#[rstest]
#[timeout(Duration::from_secs(1200))]
#[cfg_attr(
    dindcheck_skip_runtimes,
    ignore = "needs root, dockerd, a static /bin/busybox, runsc 20221219 and 20240729 (scripts/setup.sh)"
)]
fn a_full_run_leaves_the_hosts_docker_and_iptables_untouched() {
    let (old, new) = real_runtimes();
    let before = host_docker_and_firewall_state();
    let dir = tempfile::tempdir().unwrap();
    // Native cells with iptables=true program DOCKER chains, in their own
    // network namespace only; runsc cells never reach the host's netfilter.
    for (scenario, filters) in [
        ("native-cgroups", vec!["--filter", "cgroups=auto"]),
        ("devices-cgroup", vec!["--filter", "cgroup_driver=cgroupfs"]),
    ] {
        let path = repo_root().join(format!("scenarios/{scenario}.yaml"));
        let out = dir.path().join(scenario);
        let mut args = vec![
            "run",
            path.to_str().unwrap(),
            "--runsc",
            old.to_str().unwrap(),
            "--runsc",
            new.to_str().unwrap(),
            "--depth",
            "container",
            "--out",
            out.to_str().unwrap(),
            "-q",
        ];
        args.extend(filters);
        let (pid, output) = run_dindcheck(dir.path(), &args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            common::explain(&args, &output)
        );
        let report = read_report(&out.join("report.json"));
        if scenario == "native-cgroups" {
            let with_iptables = cell(&report, &[("iptables", "true")]);
            // It programmed its DOCKER chains somewhere: not on the host
            // (checked below), so in its own network namespace.
            assert_eq!(with_iptables["outcome"], "container-ok", "{with_iptables}");
        }
        assert_nothing_left(pid);
    }
    assert_eq!(before, host_docker_and_firewall_state(), "the host changed");
}

/// Runs a one-cell scenario and returns its only cell and the run's pid.
fn run_one(dir: &Path, name: &str, scenario_text: &str, extra: &[&str]) -> Value {
    run_one_exiting(dir, name, scenario_text, extra, 0)
}

/// [`run_one`], expecting exit code `code`.
fn run_one_exiting(
    dir: &Path,
    name: &str,
    scenario_text: &str,
    extra: &[&str],
    code: i32,
) -> Value {
    let scenario = write_scenario(dir, name, scenario_text);
    let out = dir.join(format!("out-{name}"));
    let mut args = vec![
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
        "--grace",
        "1",
    ];
    args.extend(extra);
    let (pid, output) = run_dindcheck(dir, &args);
    assert_eq!(
        output.status.code(),
        Some(code),
        "{}",
        common::explain(&args, &output)
    );
    assert_nothing_left(pid);
    let report = read_report(&out.join("report.json"));
    cells(&report)[0].clone()
}

#[rstest]
#[timeout(Duration::from_secs(600))]
#[cfg_attr(
    dindcheck_skip_native,
    ignore = "needs root, dockerd and a static /bin/busybox (scripts/setup.sh)"
)]
fn a_daemon_that_dies_under_the_container_probe_is_daemon_failed() {
    need(root(), "root");
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "sandbox: native\ndockerd:\n  binary: {}\n  args: [--fake-mode=die-after-ready]\n\
         probe:\n  depth: container\n",
        fake_dockerd_bin().display()
    );
    let cell = run_one(dir.path(), "dies", &text, &[]);
    assert_eq!(cell["outcome"], "daemon-failed", "{cell}");
    assert_eq!(
        cell["detail"], "dockerd exited with exit status 2",
        "{cell}"
    );
    assert!(
        cell["timings_ms"]["dockerd_start_to_api"].is_u64(),
        "it was ready first: {cell}"
    );
}

#[rstest]
#[timeout(Duration::from_secs(600))]
#[cfg_attr(
    dindcheck_skip_runsc_dockerd,
    ignore = "needs root, dockerd and runsc 20221219 (scripts/setup.sh)"
)]
fn a_containerd_that_never_answers_times_out() {
    need(root(), "root");
    need(common::dockerd(), "dockerd");
    let runsc = need(common::runsc_bookworm(), "runsc");
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("fakebin");
    std::fs::create_dir(&bin).unwrap();
    let containerd = bin.join("containerd");
    std::fs::write(&containerd, "#!/bin/sh\nexec sleep 1000\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&containerd, std::fs::Permissions::from_mode(0o755)).unwrap();
    for sandbox in ["native", "runsc"] {
        let text = format!(
            "sandbox: {sandbox}\ndockerd:\n  env: {{PATH: \"{}:/usr/sbin:/usr/bin:/sbin:/bin\"}}\n",
            bin.display()
        );
        let extra = ["--timeout", "4", "--runsc", runsc.to_str().unwrap()];
        let cell = run_one(dir.path(), &format!("containerd-{sandbox}"), &text, &extra);
        assert_eq!(cell["outcome"], "timeout", "{sandbox}: {cell}");
    }
}

#[rstest]
#[timeout(Duration::from_secs(600))]
#[cfg_attr(
    dindcheck_skip_runsc_dockerd,
    ignore = "needs root, dockerd and runsc 20221219 (scripts/setup.sh)"
)]
fn a_runsc_that_fails_at_start_is_an_error_with_its_reason() {
    need(root(), "root");
    need(common::dockerd(), "dockerd");
    let runsc = need(common::runsc_bookworm(), "runsc");
    let dir = tempfile::tempdir().unwrap();
    // A real runsc refusing a bad flag value at start.
    let text = "sandbox: runsc\nruntime: x\n".replace("runtime: x\n", "")
        + "runsc:\n  flags: [--network=none, --platform=no-such-platform]\n";
    // A cell that could not run fails the run with its own code (4).
    let cell = run_one_exiting(
        dir.path(),
        "bad-platform",
        &text,
        &["--runsc", runsc.to_str().unwrap()],
        4,
    );
    assert_eq!(cell["outcome"], "error", "{cell}");
    let detail = cell["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("the sandbox exited with exit status"),
        "{cell}"
    );
    assert!(
        cell["fatal_line"]
            .as_str()
            .unwrap_or_default()
            .contains("no-such-platform"),
        "{cell}"
    );
    // A runsc binary that crashes outright.
    let crasher = dir.path().join("runsc-crash");
    std::fs::write(
        &crasher,
        "#!/bin/sh\n[ \"$1\" = --version ] && { echo 'runsc version 0.0~20000101.0'; exit 0; }\n\
         echo 'fake runsc: cannot create sandbox' >&2\nkill -SEGV $$\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&crasher, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Exit 4 whatever the expectations say, even one that expects `error`.
    let cell = run_one_exiting(
        dir.path(),
        "crash",
        "sandbox: runsc\nexpect:\n  - outcome: error\n",
        &["--runsc", crasher.to_str().unwrap()],
        4,
    );
    assert_eq!(cell["expectation_met"], true, "{cell}");
    assert_eq!(cell["outcome"], "error", "{cell}");
    assert!(
        cell["detail"]
            .as_str()
            .unwrap()
            .contains("signal 11 (SIGSEGV)"),
        "{cell}"
    );
    assert_eq!(
        cell["fatal_line"], "fake runsc: cannot create sandbox",
        "{cell}"
    );
}

#[rstest]
#[timeout(Duration::from_secs(600))]
#[cfg_attr(
    dindcheck_skip_native,
    ignore = "needs root, dockerd and a static /bin/busybox (scripts/setup.sh)"
)]
fn a_full_data_root_fails_the_container_probe_with_no_space() {
    need(root(), "root");
    need(common::dockerd(), "dockerd");
    let dir = tempfile::tempdir().unwrap();
    // dockerd itself starts in 1 MiB; the 2 MiB probe image does not fit.
    let text = "sandbox: native\ncgroups: auto\nprobe:\n  depth: container\n  work_size_mb: 1\n";
    let cell = run_one(dir.path(), "full", text, &[]);
    assert_eq!(cell["outcome"], "container-failed", "{cell}");
    assert!(
        cell["fatal_line"]
            .as_str()
            .unwrap()
            .contains("no space left on device"),
        "{cell}"
    );
}

/// The verdict of every cell of a report, without timings or paths.
fn verdicts(report: &Value) -> Vec<(String, Value, Value)> {
    let mut all: Vec<(String, Value, Value)> = cells(report)
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["outcome"].clone(),
                c["signature"].clone(),
            )
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

#[rstest]
#[timeout(Duration::from_secs(600))]
#[cfg_attr(
    dindcheck_skip_native,
    ignore = "needs root, dockerd and a static /bin/busybox (scripts/setup.sh)"
)]
fn shard_reports_merge_into_the_full_run_and_ci_reports_are_written() {
    need(root(), "root");
    need(common::dockerd(), "dockerd");
    let dir = tempfile::tempdir().unwrap();
    let scenario = repo_root().join("scenarios/native-cgroups.yaml");
    let full = dir.path().join("full");
    let junit = dir.path().join("junit.xml");
    let markdown = dir.path().join("matrix.md");
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--out",
        full.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
        "--markdown",
        markdown.to_str().unwrap(),
        // The scenario's expect: rules all hold, so the default policy
        // would mark no failure: ask for the failed outcomes.
        "--junit-policy",
        "outcomes",
        "-q",
    ];
    let (pid, output) = run_dindcheck(dir.path(), &args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        common::explain(&args, &output)
    );
    assert_nothing_left(pid);
    let full_report = read_report(&full.join("report.json"));
    // Every report ends with the minimal-fix analysis.
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.contains("best outcome ready"), "{table}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 8, "{xml}");
    assert!(xml.contains("type=\"devices-cgroup-missing\""), "{xml}");
    let md = std::fs::read_to_string(&markdown).unwrap();
    assert!(md.contains("devices-cgroup-missing"), "{md}");

    let shards = 3;
    let mut shard_reports = Vec::new();
    for k in 1..=shards {
        let out = dir.path().join(format!("shard-{k}"));
        let shard = format!("{k}/{shards}");
        let args = [
            "run",
            scenario.to_str().unwrap(),
            "--shard",
            &shard,
            "--out",
            out.to_str().unwrap(),
            "-q",
        ];
        let (pid, output) = run_dindcheck(dir.path(), &args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            common::explain(&args, &output)
        );
        assert_nothing_left(pid);
        shard_reports.push(out.join("report.json"));
    }
    let merged = dir.path().join("merged.json");
    let mut args = vec![
        "merge".to_owned(),
        "-o".to_owned(),
        merged.display().to_string(),
    ];
    args.extend(shard_reports.iter().map(|p| p.display().to_string()));
    let output = Command::new(common::dindcheck_bin())
        .args(&args)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let merged = read_report(&merged);
    assert_eq!(verdicts(&merged), verdicts(&full_report));
    let merged_ids: Vec<&str> = cells(&merged)
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    let full_ids: Vec<&str> = cells(&full_report)
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(merged_ids, full_ids, "merged cells are in matrix order");
}

#[rstest]
#[timeout(Duration::from_secs(1200))]
#[cfg_attr(
    dindcheck_skip_all_runtimes,
    ignore = "needs all scripts/setup.sh installs: root, runsc 20221219 and 20240729, dockerd 20.10, 26.1 and 28.5, iptables-legacy, docker-registry"
)]
fn the_legacy_iptables_backend_fails_later_in_gvisor_than_nft() {
    let (_, new) = real_runtimes();
    let legacy = PathBuf::from("/var/cache/dindcheck/iptables-legacy/iptables");
    need(
        legacy.exists().then_some(()),
        "the iptables-legacy PATH dir of scripts/setup.sh",
    );
    let dir = tempfile::tempdir().unwrap();
    let scenario = repo_root().join("scenarios/iptables-backends.yaml");
    let out = dir.path().join("out");
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--runsc",
        new.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ];
    let (pid, report) = run_to_report(dir.path(), &args, &out);
    cells(&report).iter().for_each(assert_cell_invariants);
    let sig = |backend: &str, flags: &str| {
        cell(&report, &[("backend", backend), ("runsc_flags", flags)])["signature"].clone()
    };
    assert_eq!(sig("nft", "none"), "iptables-nft-unsupported");
    assert_eq!(sig("nft", "--net-raw"), "iptables-nft-unsupported");
    assert_eq!(sig("legacy", "none"), "iptables-nat-table-missing");
    assert_eq!(sig("legacy", "--net-raw"), "iptables-setup-failed");
    assert_nothing_left(pid);
}

#[rstest]
#[timeout(Duration::from_secs(600))]
#[cfg_attr(
    dindcheck_skip_native,
    ignore = "needs root, dockerd and a static /bin/busybox (scripts/setup.sh)"
)]
fn a_scenario_whose_selectors_leave_no_cell_is_a_usage_error() {
    need(root(), "root");
    need(common::dockerd(), "dockerd");
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        dir.path(),
        "empty",
        "sandbox: native\naxes:\n  iptables: [true, false]\nexclude:\n  - {iptables: [true, false]}\n",
    );
    let args = ["run", scenario.to_str().unwrap(), "-q"];
    let (pid, output) = run_dindcheck(dir.path(), &args);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        common::explain(&args, &output)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("has no cells left after include/exclude and --filter"),
        "{stderr}"
    );
    assert_nothing_left(pid);
}

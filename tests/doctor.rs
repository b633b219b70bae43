//! `dindcheck doctor` end to end: the command line without root, the probes
//! for real on this machine (root), inside both runsc versions, and the
//! acceptance test of issue 5: the doctor's prediction, made inside every
//! cell of scenarios/devices-cgroup.yaml before dockerd starts, against what
//! dockerd then did, under runsc 20221219, runsc 20240729 and natively with
//! and without the devices controller. It prints the per-cell table and the
//! agreement rate (run with `--nocapture` to see it on success).

mod common;

use std::time::Duration;

use rstest::rstest;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{assert_nothing_left, harness, need, real_runtimes, repo_root, root};
use predicates::prelude::*;
use serde_json::Value;

fn explain(argv: &[String], output: &Output) -> String {
    format!(
        "{}\nexit: {:?}\nstdout:\n{}\nstderr:\n{}",
        argv.join(" "),
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs a command to completion with stdin closed and returns its pid and
/// output, so the caller can check what it left behind by its marker.
fn run(cwd: &Path, argv: &[String]) -> (u32, Output) {
    let child = Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(cwd)
        .env_remove("DINDCHECK_CELL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", argv[0]));
    let pid = child.id();
    let output = child.wait_with_output().expect("wait");
    (pid, output)
}

fn dindcheck() -> String {
    common::dindcheck_bin().display().to_string()
}

/// What the doctor might leave: scratch directories in `tmp` (its TMPDIR),
/// the probe bridges in this network namespace, and probe mounts.
fn doctor_leftovers(tmp: &Path) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(tmp)
        .map(|d| {
            d.flatten()
                .map(|e| e.path().display().to_string())
                .filter(|p| p.contains("dindcheck-doctor-"))
                .collect()
        })
        .unwrap_or_default();
    for link in ["dcprobe0", "dcprobe1"] {
        if Path::new("/sys/class/net").join(link).exists() {
            found.push(format!("link {link}"));
        }
    }
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    found.extend(
        mounts
            .lines()
            .filter(|l| l.contains("dindcheck-doctor-") || l.contains("overlay-merged"))
            .map(str::to_owned),
    );
    found
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn doctor_reports_json_for_the_given_flags_without_root() {
    let mut h = harness();
    let tmp = h.dir.path().to_owned();
    let output = h
        .cmd
        .env("TMPDIR", &tmp)
        .args(["doctor", "--no-probes", "--format", "json", "--"])
        .args([
            "/usr/sbin/dockerd",
            "--exec-opt",
            "native.cgroupdriver=systemd",
        ])
        .args(["--cgroup-parent=/", "--iptables=false"])
        .output()
        .expect("run doctor");
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is JSON ({e}): {output:?}"));
    assert_eq!(report["schema"], "dindcheck/doctor/v1");
    assert_eq!(report["config"]["cgroup_driver"], "systemd");
    assert_eq!(report["config"]["cgroup_parent"], "/");
    assert_eq!(report["config"]["iptables"], false);
    // A systemd driver with a non-slice parent fails whatever the machine:
    // dockerd's first check.
    assert_eq!(report["prediction"]["outcome"], "daemon-failed");
    assert_eq!(
        report["prediction"]["signature"],
        "systemd-cgroup-parent-not-slice"
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(
        report["environment"]["namespaces"]["network"]["result"],
        "skipped"
    );
    assert!(
        doctor_leftovers(&tmp).is_empty(),
        "{:?}",
        doctor_leftovers(&tmp)
    );
    let flags: Vec<&str> = report["recommended_flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        flags.contains(&"--exec-opt=native.cgroupdriver=cgroupfs")
            || flags.contains(&"--cgroup-parent=docker.slice"),
        "{flags:?}"
    );
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn doctor_predicts_for_the_dockerd_version_it_is_given() {
    let mut h = harness();
    let tmp = h.dir.path().to_owned();
    let output = h
        .cmd
        .env("TMPDIR", &tmp)
        .args(["doctor", "--no-probes", "--format", "json"])
        .args([
            "--dockerd-version",
            "28.5.2+dfsg4",
            "--",
            "--iptables=false",
        ])
        .output()
        .expect("run doctor");
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is JSON ({e}): {output:?}"));
    let dockerd = &report["environment"]["binaries"][0];
    assert_eq!(
        dockerd["version"], "Docker version 28.5.2+dfsg4",
        "{dockerd}"
    );
    assert_eq!(dockerd["not_queried"], "given by the caller");
    let userns = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "user-namespace")
        .expect("a user-namespace check");
    // On this host the namespace is the initial one, whichever test reads it.
    let found = userns["found"].as_str().unwrap();
    assert!(
        found.contains("it decides by the inode of /proc/self/ns/user"),
        "{found}"
    );
    assert!(!found.contains("believes"), "{found}");
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn doctor_text_names_every_check_and_the_prediction() {
    let mut h = harness();
    let tmp = h.dir.path().to_owned();
    h.cmd
        .env("TMPDIR", &tmp)
        .args(["doctor", "--no-probes", "--color", "never"])
        .args(["--dockerd-args", "--iptables=false --bridge=none"])
        .assert()
        .stdout(predicate::str::contains(
            "dindcheck doctor: dockerd --iptables=false --bridge=none",
        ))
        .stdout(predicate::str::contains("devices-cgroup"))
        .stdout(predicate::str::contains("recommended dockerd flags:"))
        .stdout(predicate::str::contains("prediction: dockerd will"))
        .stdout(predicate::str::contains("off (--iptables=false)"))
        .stdout(predicate::str::contains("\u{1b}[").not());
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn a_bad_probe_plan_is_a_usage_error() {
    let mut h = harness();
    h.cmd
        .args(["__doctor-probe", "not json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("__doctor-probe: bad plan"));
}

#[rstest]
#[timeout(Duration::from_secs(600))]
#[cfg_attr(dindcheck_skip_root, ignore = "needs root")]
fn doctor_probes_this_machine_in_fresh_namespaces_and_leaves_nothing() {
    need(root(), "root");
    let dir = tempfile::tempdir().unwrap();
    let argv = vec![
        dindcheck(),
        "doctor".into(),
        "--format".into(),
        "json".into(),
    ];
    let child = Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(dir.path())
        .env("TMPDIR", dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("run doctor");
    let output = child;
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}\n{}", explain(&argv, &output)));
    let env = &report["environment"];
    assert_eq!(
        env["namespaces"]["network"]["result"],
        "ok",
        "{}",
        explain(&argv, &output)
    );
    assert_eq!(env["namespaces"]["mount"]["result"], "ok");
    for probe in [&env["bridge"]["netlink"], &env["storage"]["overlay"]] {
        assert_ne!(probe["result"], "skipped", "{probe}");
    }
    let code = output.status.code();
    let starts = report["prediction"]["outcome"] != "daemon-failed";
    assert_eq!(
        code,
        Some(if starts { 0 } else { 1 }),
        "{}",
        explain(&argv, &output)
    );
    assert!(
        doctor_leftovers(dir.path()).is_empty(),
        "the doctor left {:?}",
        doctor_leftovers(dir.path())
    );
}

/// Runs the doctor inside `runsc do`, with nothing mounted at /sys/fs/cgroup.
fn doctor_in_runsc(runsc: &Path, scratch: &Path) -> Value {
    let args = ["--exec-opt", "native.cgroupdriver=cgroupfs"].map(String::from);
    doctor_in_runsc_after(runsc, scratch, &[], &args)
}

#[rstest]
#[timeout(Duration::from_secs(600))]
#[cfg_attr(
    dindcheck_skip_runtimes,
    ignore = "needs root, dockerd, a static /bin/busybox, runsc 20221219 and 20240729 (scripts/setup.sh)"
)]
fn doctor_inside_runsc_sees_gvisor_and_what_each_release_lacks() {
    let (old, new) = real_runtimes();
    let scratch = tempfile::tempdir().unwrap();
    let old_report = doctor_in_runsc(&old, scratch.path());
    let new_report = doctor_in_runsc(&new, scratch.path());
    for report in [&old_report, &new_report] {
        let env = &report["environment"];
        assert_eq!(env["runtime"]["kind"], "gvisor");
        assert_eq!(env["kernel"], "4.4.0");
        assert_eq!(
            env["iptables"]["nft_nat"]["errno"], "EPROTONOSUPPORT",
            "{env}"
        );
        // Nothing is mounted at /sys/fs/cgroup in a bare `runsc do`.
        assert_eq!(report["prediction"]["signature"], "devices-cgroup-missing");
    }
    // runsc 20221219 cannot mount devices at all; 20240729 offers it.
    assert_eq!(old_report["environment"]["cgroups"]["devices"], "absent");
    assert_eq!(new_report["environment"]["cgroups"]["devices"], "available");
    assert_eq!(
        old_report["environment"]["bridge"]["netlink"]["result"],
        "failed"
    );
    assert_eq!(
        new_report["environment"]["bridge"]["netlink"]["result"],
        "ok"
    );
}

/// The doctor's recommendations of one kind (`command` or `flag`), as
/// printed: the text a user would paste.
fn recommended(report: &Value, kind: &str) -> Vec<String> {
    report["recommendations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["kind"] == kind)
        .map(|r| r["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Runs `dindcheck doctor` inside a fresh `runsc do` sandbox after the
/// shell commands `commands` (verbatim, `set -e`), for dockerd `args`.
fn doctor_in_runsc_after(
    runsc: &Path,
    scratch: &Path,
    commands: &[String],
    args: &[String],
) -> Value {
    let mut script = String::from("set -e\n");
    for command in commands {
        script.push_str(command);
        script.push('\n');
    }
    script.push_str(&format!("exec {} doctor --format json --", dindcheck()));
    for arg in args {
        script.push_str(&format!(" '{arg}'"));
    }
    let argv = vec![
        runsc.display().to_string(),
        format!("--root={}", scratch.display()),
        "--network=none".into(),
        "do".into(),
        "-quiet".into(),
        "/bin/sh".into(),
        "-c".into(),
        script,
    ];
    let (pid, output) = run(scratch, &argv);
    assert_nothing_left(pid);
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}\n{}", explain(&argv, &output)))
}

/// Every command and flag the doctor recommends inside a bare runsc
/// 20240729 sandbox (nothing mounted at /sys/fs/cgroup: the kernel offers
/// the devices controller, and dockerd would stop at `Devices cgroup isn't
/// mounted`, then at iptables-nft) works when applied verbatim in a fresh
/// sandbox of the same kind: afterwards the doctor's devices check passes
/// and it predicts that dockerd starts, and a real dockerd, started by
/// `dindcheck run` after exactly those commands with exactly those flags,
/// reaches readiness where the same cell without them fails as the doctor
/// predicted. Each is marked proven, by the cells of
/// scenarios/doctor-fixes.yaml, whose values are these texts. (Recommending
/// `mkdir -p /sys/fs/cgroup/devices` alone failed there with `Operation not
/// permitted`: /sys/fs/cgroup needs a tmpfs first.)
#[cfg_attr(
    dindcheck_skip_runtimes,
    ignore = "needs root, dockerd, a static /bin/busybox, runsc 20221219 and 20240729 (scripts/setup.sh)"
)]
#[rstest::rstest]
#[timeout(std::time::Duration::from_secs(600))]
fn the_doctors_recommended_commands_work_verbatim_inside_runsc_20240729() {
    let (_, new) = real_runtimes();
    let scratch = tempfile::tempdir().unwrap();
    let before = doctor_in_runsc_after(&new, scratch.path(), &[], &[]);
    assert_eq!(before["environment"]["cgroups"]["devices"], "available");
    assert_eq!(before["prediction"]["signature"], "devices-cgroup-missing");
    let commands = recommended(&before, "command");
    let flags = recommended(&before, "flag");
    assert!(
        commands
            .iter()
            .any(|c| c.contains("/sys/fs/cgroup/devices")),
        "{commands:?}\n{before}"
    );
    // What the doctor prints is exactly what the proof's cell applied.
    let shipped = std::fs::read_to_string(repo_root().join("scenarios/doctor-fixes.yaml")).unwrap();
    for rec in before["recommendations"].as_array().unwrap() {
        if rec["kind"] == "advice" {
            assert_eq!(rec["proven"], false, "{rec}");
            continue;
        }
        assert_eq!(rec["proven"], true, "{rec}");
        let text = rec["text"].as_str().unwrap();
        assert!(
            shipped.contains(text),
            "scenarios/doctor-fixes.yaml lacks {text}"
        );
        assert!(
            rec["proof"]["fixed_cell"]
                .as_str()
                .unwrap()
                .starts_with("doctor-fixes["),
            "{rec}"
        );
    }

    let after = doctor_in_runsc_after(&new, scratch.path(), &commands, &flags);
    assert_eq!(
        after["environment"]["cgroups"]["devices"], "mounted",
        "{after}"
    );
    let devices = after["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "devices-cgroup")
        .unwrap();
    assert_eq!(devices["verdict"], "ok", "{devices}");
    assert_eq!(
        after["prediction"]["outcome"], "ready",
        "{}",
        after["prediction"]
    );

    // A real dockerd, before and after, through the agent's `setup:`.
    let scenario = serde_json::json!({
        "name": "recommended",
        "cgroups": "none",
        "probe": {"depth": "ready", "timeout_secs": 60},
        "axes": {"doctor": {
            "none": {},
            "applied": {"setup": commands, "dockerd_args": flags},
        }},
    });
    let path = scratch.path().join("recommended.yaml");
    std::fs::write(&path, scenario.to_string()).unwrap();
    let cells = run_matrix(scratch.path(), &path, &[&new]);
    let cell = |label: &str| {
        cells
            .iter()
            .find(|c| c["axes"]["doctor"] == label)
            .unwrap_or_else(|| panic!("no cell {label}: {cells:?}"))
    };
    assert_eq!(cell("none")["outcome"], "daemon-failed", "{}", cell("none"));
    assert_eq!(cell("none")["signature"], "devices-cgroup-missing");
    assert_eq!(cell("applied")["outcome"], "ready", "{}", cell("applied"));
}

/// A scenario with the same dockerd command lines as every cell of
/// scenarios/devices-cgroup.yaml (read through `dindcheck list`, so it
/// follows the file), run natively with every host controller (`all`) and
/// with the devices controller hidden (`no-devices`, runsc 20221219's set).
fn native_design_matrix(dir: &Path) -> PathBuf {
    let scenario = repo_root().join("scenarios/devices-cgroup.yaml");
    let argv = vec![
        dindcheck(),
        "list".into(),
        scenario.display().to_string(),
        "--format".into(),
        "json".into(),
    ];
    let (_, output) = run(dir, &argv);
    assert!(output.status.success(), "{}", explain(&argv, &output));
    let listed: Value = serde_json::from_slice(&output.stdout).expect("list prints JSON");
    let mut values: Vec<(String, Value)> = Vec::new();
    let mut dockerd = String::new();
    for cell in listed["cells"].as_array().expect("cells") {
        let label: Vec<&str> = cell["axes"]
            .as_object()
            .expect("axes")
            .iter()
            .filter(|(axis, _)| axis.as_str() != "runsc")
            .map(|(_, v)| v.as_str().expect("label"))
            .collect();
        let label = label.join("+");
        dockerd = cell["dockerd"].as_str().expect("dockerd").to_owned();
        if !values.iter().any(|(l, _)| *l == label) {
            values.push((label, cell["dockerd_args"].clone()));
        }
    }
    let mut text = format!(
        "name: devices-cgroup-native\nsandbox: native\ndockerd:\n  binary: {dockerd}\n\
         probe:\n  depth: ready\n  timeout_secs: 60\naxes:\n  cell:\n"
    );
    for (label, args) in &values {
        text.push_str(&format!("    \"{label}\": {{dockerd_args: {args}}}\n"));
    }
    text.push_str(
        "  layout:\n    all: {cgroups: auto}\n    \
         no-devices: {cgroups: [cpu, cpuacct, cpuset, memory, pids]}\n",
    );
    common::write_scenario(dir, "devices-cgroup-native", &text)
}

/// Runs a matrix and returns its cells, checking that nothing was left.
fn run_matrix(dir: &Path, scenario: &Path, runsc: &[&Path]) -> Vec<Value> {
    let out = dir.join(format!(
        "out-{}",
        scenario.file_stem().unwrap().to_string_lossy()
    ));
    let mut argv = vec![dindcheck(), "run".into(), scenario.display().to_string()];
    for r in runsc {
        argv.extend(["--runsc".into(), r.display().to_string()]);
    }
    argv.extend([
        "--format".into(),
        "json".into(),
        "-q".into(),
        "--out".into(),
        out.display().to_string(),
    ]);
    let (pid, output) = run(dir, &argv);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&argv, &output));
    assert_nothing_left(pid);
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}\n{}", explain(&argv, &output)));
    report["cells"].as_array().expect("cells").clone()
}

/// Whether the doctor's prediction agrees with the cell's verdict (the
/// rule of `Prediction::agrees_with`, restated on the JSON).
fn agrees(cell: &Value) -> bool {
    let p = &cell["doctor"]["prediction"];
    let predicted_up = p["outcome"] != "daemon-failed";
    match cell["outcome"].as_str().unwrap_or_default() {
        "daemon-failed" => !predicted_up && p["signature"] == cell["signature"],
        "ready" => predicted_up,
        "container-ok" => predicted_up && p["container"].is_null(),
        "container-failed" => predicted_up && p["container"] == cell["signature"],
        _ => false,
    }
}

fn short(v: &Value) -> String {
    v.as_str().unwrap_or("-").to_owned()
}

/// Prints one row per cell and the agreement rate; returns how many agreed.
fn agreement_table(title: &str, cells: &[Value]) -> (usize, String) {
    let mut table = format!(
        "{title}\n{:<9}  {:<88}  {:<47} {}\n",
        "agreement", "cell", "real", "predicted"
    );
    let mut agreed = 0;
    for cell in cells {
        assert!(
            cell["doctor"].is_object(),
            "{} has no doctor report: see {}",
            cell["id"],
            short(&cell["sandbox_log"])
        );
        let ok = agrees(cell);
        agreed += usize::from(ok);
        let p = &cell["doctor"]["prediction"];
        let real = format!("{} {}", short(&cell["outcome"]), short(&cell["signature"]));
        let predicted = format!("{} {}", short(&p["outcome"]), short(&p["signature"]));
        let verdict = if ok { "agree" } else { "DISAGREE" };
        let id = short(&cell["id"]);
        table.push_str(&format!("{verdict:<9}  {id:<88}  {real:<47} {predicted}\n"));
    }
    let rate = 100.0 * agreed as f64 / cells.len().max(1) as f64;
    table.push_str(&format!(
        "doctor agreement: {agreed}/{} cells ({rate:.1}%)\n",
        cells.len()
    ));
    println!("{table}");
    (agreed, table)
}

#[rstest]
#[timeout(Duration::from_secs(1200))]
#[cfg_attr(
    dindcheck_skip_runtimes,
    ignore = "needs root, dockerd, a static /bin/busybox, runsc 20221219 and 20240729 (scripts/setup.sh)"
)]
fn doctor_predictions_agree_with_dockerd_on_every_cell_of_the_design_matrix() {
    let (old, new) = real_runtimes();
    let dir = tempfile::tempdir().unwrap();
    let gvisor = repo_root().join("scenarios/devices-cgroup.yaml");
    let native = native_design_matrix(dir.path());
    let mut cells = run_matrix(dir.path(), &gvisor, &[&old, &new]);
    cells.extend(run_matrix(dir.path(), &native, &[]));
    assert_eq!(cells.len(), 32, "16 runsc cells and 16 native cells");
    let (agreed, table) = agreement_table(
        "scenarios/devices-cgroup.yaml: runsc 20221219, runsc 20240729, native (all, no-devices)",
        &cells,
    );
    assert_eq!(agreed, cells.len(), "{table}");
    assert!(
        doctor_leftovers(dir.path()).is_empty(),
        "{:?}",
        doctor_leftovers(dir.path())
    );
}

#[rstest]
#[timeout(Duration::from_secs(1200))]
#[cfg_attr(
    dindcheck_skip_all_runtimes,
    ignore = "needs all scripts/setup.sh installs: root, runsc 20221219 and 20240729, dockerd 20.10, 26.1 and 28.5, iptables-legacy, docker-registry"
)]
fn doctor_predictions_agree_with_dockerd_on_the_other_shipped_scenarios() {
    let (old, new) = real_runtimes();
    // dockerd-versions.yaml runs trixie's 26.1 and sid's 28.5 as well: the
    // doctor must know that 28.5 skips the devices check in gVisor (it
    // believes it runs in a user namespace) and then fails at iptables, at
    // the bridge, or at unpacking the probe image on runsc 20221219.
    for (dockerd, what) in [
        (
            "/var/cache/dindcheck/trixie/usr/sbin/dockerd",
            "trixie's dockerd 26.1",
        ),
        (
            "/var/cache/dindcheck/sid/usr/sbin/dockerd",
            "sid's dockerd 28.5",
        ),
    ] {
        need(Path::new(dockerd).exists().then_some(()), what);
    }
    let dir = tempfile::tempdir().unwrap();
    let mut cells = Vec::new();
    for name in [
        "cgroup-layouts",
        "native-cgroups",
        "userns",
        "dockerd-versions",
    ] {
        let scenario = repo_root().join(format!("scenarios/{name}.yaml"));
        cells.extend(run_matrix(dir.path(), &scenario, &[&old, &new]));
    }
    let (agreed, table) = agreement_table(
        "scenarios/{cgroup-layouts,native-cgroups,userns,dockerd-versions}.yaml",
        &cells,
    );
    assert_eq!(agreed, cells.len(), "{table}");
}

//! The command line without running cells: help, validate, list, exit codes
//! and error text. None of these need root except where noted.

mod common;

use std::path::PathBuf;

use common::{harness, repo_root};
use predicates::prelude::*;
use std::time::Duration;

use rstest::rstest;

#[rstest]
#[timeout(Duration::from_secs(120))]
fn help_lists_the_subcommands() {
    harness()
        .cmd
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("run"))
        .stdout(predicate::str::contains("list"))
        .stdout(predicate::str::contains("validate"))
        .stdout(predicate::str::contains("__agent").not());
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn shipped_and_valid_scenarios_validate(
    #[files("scenarios/*.yaml")]
    #[files("fixtures/scenarios/valid/*.yaml")]
    path: PathBuf,
) {
    harness()
        .cmd
        .arg("validate")
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::starts_with(format!(
            "ok {}",
            path.display()
        )));
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn invalid_scenarios_fail_with_exit_2_and_the_expected_message(
    #[files("fixtures/scenarios/invalid/*.yaml")] path: PathBuf,
) {
    let expected = std::fs::read_to_string(path.with_extension("txt"))
        .expect("every invalid fixture has an expected-error .txt");
    let expected = format!("error: {}{}", path.display(), expected.trim_end());
    let output = harness()
        .cmd
        .arg("validate")
        .arg(&path)
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.lines().any(|l| l == expected),
        "expected line:\n{expected}\nstderr:\n{stderr}"
    );
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn yaml_errors_carry_line_and_column() {
    let path = repo_root().join("fixtures/scenarios/invalid/unknown-key.yaml");
    harness()
        .cmd
        .arg("validate")
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "{}:4:3: probe: unknown field `timout_secs`, expected one of",
            path.display()
        )));
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn missing_scenario_file_is_a_usage_error() {
    harness()
        .cmd
        .args(["validate", "no-such.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("failed to read no-such.yaml"))
        .stderr(predicate::str::contains("caused by: No such file"));
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn list_expands_the_design_matrix_with_labels_from_the_flag() {
    let scenario = repo_root().join("scenarios/devices-cgroup.yaml");
    let out = harness()
        .cmd
        .arg("list")
        .arg(&scenario)
        .args([
            "--runsc",
            "old=/nonexistent/a",
            "--runsc",
            "new=/nonexistent/b",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with("devices-cgroup (16 of 16 cells)"),
        "{text}"
    );
    assert!(text.contains(
        "devices-cgroup[cgroup_driver=cgroupfs,cgroup_parent=/,iptables=false,runsc=new]"
    ));
    assert_eq!(text.lines().filter(|l| l.starts_with("  ")).count(), 16);
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn list_filter_narrows_and_json_is_parseable() {
    let scenario = repo_root().join("scenarios/devices-cgroup.yaml");
    let out = harness()
        .cmd
        .arg("list")
        .arg(&scenario)
        .args(["--runsc", "x=/nonexistent/runsc", "--format", "json"])
        .args([
            "--filter",
            "iptables=false",
            "--filter",
            "cgroup_driver=cgroupfs",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let cells = doc["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2);
    for cell in cells {
        let args: Vec<&str> = cell["dockerd_args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert!(args.contains(&"--iptables=false"), "{args:?}");
        assert!(args.contains(&"native.cgroupdriver=cgroupfs"), "{args:?}");
    }
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn unknown_filter_axis_lists_the_known_ones() {
    let scenario = repo_root().join("scenarios/devices-cgroup.yaml");
    harness()
        .cmd
        .arg("list")
        .arg(&scenario)
        .args([
            "--runsc",
            "x=/nonexistent/runsc",
            "--filter",
            "iptable=false",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "unknown axis `iptable`; known axes: cgroup_driver, cgroup_parent, iptables, runsc",
        ));
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn unknown_filter_value_lists_the_known_ones() {
    let scenario = repo_root().join("scenarios/devices-cgroup.yaml");
    harness()
        .cmd
        .arg("list")
        .arg(&scenario)
        .args(["--runsc", "x=/nonexistent/runsc", "--filter", "runsc=y"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "unknown value `y` for axis `runsc`; known values: x",
        ));
}

#[rstest]
#[timeout(Duration::from_secs(600))]
#[cfg_attr(dindcheck_skip_root, ignore = "needs root")]
fn missing_runsc_is_an_environment_error_that_says_how_to_install() {
    let scenario = repo_root().join("scenarios/devices-cgroup.yaml");
    harness()
        .cmd
        .arg("run")
        .arg(&scenario)
        .args(["--runsc", "/nonexistent/runsc"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "error: /nonexistent/runsc not found",
        ))
        .stderr(predicate::str::contains(
            "hint: install it with `apt-get install runsc`",
        ));
}

#[rstest]
#[timeout(Duration::from_secs(600))]
#[cfg_attr(dindcheck_skip_root, ignore = "needs root")]
fn missing_dockerd_is_an_environment_error() {
    let h = harness();
    let scenario = common::write_scenario(
        h.dir.path(),
        "nodockerd",
        "sandbox: native\ndockerd:\n  binary: /nonexistent/dockerd\n",
    );
    let mut cmd = h.cmd;
    cmd.arg("run")
        .arg(&scenario)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("/nonexistent/dockerd not found"))
        .stderr(predicate::str::contains("apt-get install docker.io"));
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn run_as_non_root_says_so() {
    let mut h = harness();
    if nix::unistd::geteuid().is_root() {
        // Drop to `nobody` for the child only (std sets the uid and gid and
        // clears the supplementary groups before exec), on a copy in a
        // world-readable directory: the build tree may sit under a directory
        // that `nobody` cannot enter.
        use std::os::unix::fs::PermissionsExt;
        use std::os::unix::process::CommandExt;
        std::fs::set_permissions(h.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let copy = h.dir.path().join("dindcheck");
        std::fs::copy(common::dindcheck_bin(), &copy).unwrap();
        let mut cmd = std::process::Command::new(&copy);
        cmd.current_dir(h.dir.path())
            .uid(65534)
            .gid(65534)
            .arg("run");
        h.cmd = assert_cmd::Command::from_std(cmd);
    } else {
        h.cmd.arg("run");
    }
    h.cmd
        .assert()
        .code(3)
        .stderr(predicate::str::contains("error: dindcheck run needs root"))
        .stderr(predicate::str::contains(
            "hint: runsc, the sandbox's namespaces",
        ));
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn bad_format_value_is_a_clap_usage_error() {
    harness()
        .cmd
        .args(["run", "--format", "xml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid value 'xml'"));
}

fn axes_scenario(dir: &std::path::Path, axes: usize, values: usize) -> PathBuf {
    let mut text = format!("name: m{axes}x{values}\nsandbox: native\naxes:\n");
    for a in 0..axes {
        text.push_str(&format!("  a{a}:\n"));
        for v in 0..values {
            text.push_str(&format!("    v{v}: {{}}\n"));
        }
    }
    common::write_scenario(dir, "matrix", &text)
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn a_matrix_too_large_to_expand_is_refused_with_its_limit() {
    let h = harness();
    let path = axes_scenario(h.dir.path(), 10, 10);
    let mut cmd = h.cmd;
    cmd.arg("validate")
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "expands to more than 100000 cells; split it or narrow its axes",
        ));
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn a_large_matrix_needs_max_cells_to_confirm_its_count() {
    let h = harness();
    let path = axes_scenario(h.dir.path(), 10, 2);
    let mut cmd = h.cmd;
    cmd.arg("list")
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "selects 1024 of its 1024 cells, more than --max-cells 256; pass --max-cells 1024 to confirm",
        ));
    let mut h = harness();
    h.cmd
        .arg("list")
        .arg(&path)
        .args(["--max-cells", "1024"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("m10x2 (1024 of 1024 cells)"));
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn shards_listed_together_are_the_whole_matrix() {
    let scenario = repo_root().join("scenarios/devices-cgroup.yaml");
    let full = harness()
        .cmd
        .arg("list")
        .arg(&scenario)
        .args(["--runsc", "a=/x", "--runsc", "b=/y"])
        .output()
        .unwrap();
    let ids = |out: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(out)
            .lines()
            .filter(|l| l.starts_with("  "))
            .map(|l| l.trim().to_owned())
            .collect()
    };
    let mut all = ids(&full.stdout);
    for n in 1..=5 {
        let mut union = Vec::new();
        for k in 1..=n {
            let out = harness()
                .cmd
                .arg("list")
                .arg(&scenario)
                .args([
                    "--runsc",
                    "a=/x",
                    "--runsc",
                    "b=/y",
                    "--shard",
                    &format!("{k}/{n}"),
                ])
                .output()
                .unwrap();
            assert!(out.status.success());
            union.extend(ids(&out.stdout));
        }
        union.sort();
        all.sort();
        assert_eq!(union, all, "shards of {n}");
    }
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn github_matrix_lists_one_entry_per_shard() {
    let scenario = repo_root().join("scenarios/devices-cgroup.yaml");
    let out = harness()
        .cmd
        .arg("list")
        .arg(&scenario)
        .args(["--format", "github-matrix", "--shards", "4"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let shards: Vec<&str> = doc["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["shard"].as_str().unwrap())
        .collect();
    assert_eq!(shards, ["1/4", "2/4", "3/4", "4/4"]);
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn diff_of_real_reports_finds_the_upgrade_fixes_and_exits_1_on_regressions() {
    let old = repo_root().join("fixtures/reports/devices-cgroup-old.json");
    let new = repo_root().join("fixtures/reports/devices-cgroup-new.json");
    let out = harness()
        .cmd
        .arg("diff")
        .arg(&old)
        .arg(&new)
        .args(["--pair", "20221219=20240729", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "dindcheck/diff/v1");
    // Downgrading is the same comparison the other way round: regressions.
    harness()
        .cmd
        .arg("diff")
        .arg(&new)
        .arg(&old)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("regressions (3)"));
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn diff_refuses_a_file_that_is_not_a_report() {
    let h = harness();
    let bogus = h.dir.path().join("bogus.json");
    std::fs::write(&bogus, "{\"hello\": 1}").unwrap();
    let old = repo_root().join("fixtures/reports/devices-cgroup-old.json");
    let mut cmd = h.cmd;
    cmd.arg("diff")
        .arg(&old)
        .arg(&bogus)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "error: cannot use {} as a report",
            bogus.display()
        )))
        .stderr(predicate::str::contains("is not a dindcheck report"));
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn explain_names_necessary_and_fatal_values_of_a_real_report() {
    let report = repo_root().join("fixtures/reports/devices-cgroup-both.json");
    harness()
        .cmd
        .arg("explain")
        .arg(&report)
        .assert()
        .success()
        .stdout(predicate::str::contains("necessary: iptables=false"))
        .stdout(predicate::str::contains(
            "cgroup_driver=systemd with cgroup_parent=/",
        ));
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn merge_refuses_overlapping_shards() {
    let report = repo_root().join("fixtures/reports/devices-cgroup-old.json");
    harness()
        .cmd
        .arg("merge")
        .arg(&report)
        .arg(&report)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: cannot merge the shard reports",
        ));
}

/// A binary given as runsc that does not answer `--version` like runsc is
/// an environment error before any cell starts: no report, no scratch dir.
#[rstest]
#[timeout(Duration::from_secs(120))]
#[cfg_attr(dindcheck_skip_root, ignore = "needs root")]
fn a_runsc_that_does_not_answer_like_runsc_stops_the_run_before_any_cell() {
    let h = harness();
    let scenario = repo_root().join("scenarios/devices-cgroup.yaml");
    let out = h.dir.path().join("out");
    let mut cmd = h.cmd;
    cmd.arg("run")
        .arg(&scenario)
        .args(["--runsc", "/bin/true", "--out"])
        .arg(&out)
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "error: /bin/true is not runsc: `--version` printed",
        ))
        .stderr(predicate::str::contains("hint: give --runsc"));
    assert!(!out.exists(), "a cell started: {}", out.display());
}

#[rstest]
#[timeout(Duration::from_secs(120))]
#[case::zero_timeout(&["--timeout", "0"], "--timeout")]
#[case::zero_jobs(&["--jobs", "0"], "--jobs")]
#[case::huge_grace(&["--grace", "100000"], "--grace")]
fn out_of_range_values_are_usage_errors(#[case] flags: &[&str], #[case] flag: &str) {
    harness()
        .cmd
        .arg("run")
        .args(flags)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "invalid value '{}' for '{flag}",
            flags[1]
        )));
}

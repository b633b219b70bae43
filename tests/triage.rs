//! `dindcheck triage` end to end: the binary on fixture logs, stdin, JSON
//! output, exit codes, user catalogues, and agreement with `dindcheck run`
//! on the logs real runs keep (that one needs root, runsc and dockerd).

mod common;

use std::path::{Path, PathBuf};

use common::{harness, need, real_runtimes, repo_root};
use predicates::prelude::*;
use std::time::Duration;

use rstest::rstest;
use serde_json::Value;

fn fixture(rel: &str) -> PathBuf {
    repo_root().join("fixtures/logs").join(rel)
}

fn triage_json(args: &[&std::ffi::OsStr]) -> (i32, Vec<Value>) {
    let output = harness()
        .cmd
        .arg("triage")
        .args(["--format", "json"])
        .args(args)
        .output()
        .expect("dindcheck runs");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
    let docs = serde_json::Deserializer::from_str(&stdout)
        .into_iter::<Value>()
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"));
    (output.status.code().unwrap_or(-1), docs)
}

/// The directory a fixture is filed under names what it must triage to.
fn expected_signature(path: &Path) -> String {
    let dir = path.parent().expect("fixture in a dir");
    let dir = if dir.ends_with("match") {
        dir.parent().expect("fixtures/logs/<id>/match")
    } else {
        dir
    };
    dir.file_name()
        .expect("named dir")
        .to_string_lossy()
        .into_owned()
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn every_fixture_triages_to_its_directory(
    #[files("fixtures/logs/*/match/*.log")]
    #[files("fixtures/logs/ready/*.log")]
    #[files("fixtures/logs/unknown/*.log")]
    path: PathBuf,
) {
    let expected = expected_signature(&path);
    let (code, docs) = triage_json(&[path.as_os_str()]);
    let doc = &docs[0];
    match expected.as_str() {
        "ready" => {
            assert_eq!((code, &doc["verdict"]), (0, &Value::from("ready")), "{doc}");
            assert_eq!(doc["signature"], Value::Null);
        }
        "unknown" => {
            assert_eq!(
                (code, &doc["verdict"]),
                (1, &Value::from("unmatched")),
                "{doc}"
            );
            assert_eq!(doc["signature"], Value::Null);
            assert!(doc["phase"].is_string(), "{doc}");
        }
        id => {
            assert_eq!(code, 0, "{doc}");
            assert_eq!(doc["verdict"], "known");
            assert_eq!(doc["signature"], id, "{}", path.display());
            assert_eq!(doc["entry"]["id"], id);
            assert_eq!(doc["family"], doc["entry"]["family"]);
            assert!(doc["phase"].is_string(), "{doc}");
        }
    }
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn json_output_has_the_documented_shape() {
    let path = fixture("devices-cgroup-missing/match/dockerd-20.10-runsc-20221219.log");
    let (code, docs) = triage_json(&[path.as_os_str()]);
    assert_eq!(code, 0);
    let doc = &docs[0];
    assert_eq!(doc["schema"], "dindcheck/triage/v2");
    assert_eq!(doc["phase"], "daemon-failed");
    assert_eq!(doc["family"], "cgroup");
    assert_eq!(doc["signature"], "devices-cgroup-missing");
    assert_eq!(doc["source"], path.display().to_string());
    assert_eq!(doc["lines"], 100);
    for key in [
        "title",
        "root_cause",
        "fix",
        "source",
        "family",
        "versions",
        "pattern",
    ] {
        assert!(doc["entry"][key].is_string(), "entry.{key}");
    }
    let evidence = doc["evidence"].as_array().unwrap();
    assert_eq!(evidence.len(), 1);
    assert_eq!(evidence[0]["role"], "fatal");
    assert_eq!(evidence[0]["line"], 100);
    assert_eq!(
        evidence[0]["text"],
        "failed to start daemon: Devices cgroup isn't mounted"
    );
    assert!(doc["warnings"].as_array().unwrap().len() >= 5);
    let reproduced = doc["reproduced"].as_array().unwrap();
    assert!(reproduced.len() >= 6);
    let first = &reproduced[0];
    assert_eq!(first["scenario"], "devices-cgroup");
    assert_eq!(first["outcome"], "daemon-failed");
    assert_eq!(first["ready_instead"]["outcome"], "ready");
    assert_eq!(first["ready_instead"]["changed"]["runsc"], "20240729");
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn stdin_is_read_when_no_file_or_dash_is_given() {
    let log = std::fs::read(fixture(
        "iptables-nft-unsupported/match/dockerd-26.1-runsc-20240729.log",
    ))
    .unwrap();
    for args in [&[][..], &["-"][..]] {
        harness()
            .cmd
            .arg("triage")
            .args(args)
            .write_stdin(log.clone())
            .assert()
            .success()
            .stdout(predicate::str::starts_with("stdin: 80 lines\n"))
            .stdout(predicate::str::contains(
                "\ndockerd did not start: iptables-nft cannot talk to nf_tables [iptables-nft-unsupported · kernel] → ",
            ));
    }
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn summary_is_plain_unless_colour_is_asked_for() {
    let path = fixture("systemd-cgroup-parent-not-slice/match/dockerd-20.10-runsc-20221219.log");
    harness()
        .cmd
        .arg("triage")
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains('\u{1b}').not())
        .stdout(predicate::str::contains("  fix         Inside gVisor"));
    harness()
        .cmd
        .args(["--color", "always", "triage"])
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains('\u{1b}'));
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn an_unknown_failure_exits_1_and_shows_its_fatal_line() {
    harness()
        .cmd
        .arg("triage")
        .write_stdin("time=\"x\" level=warning msg=\"Your kernel does not support swap memory limit\"\nfailed to start daemon: brand new trouble\n")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\ndockerd did not start: a failure no catalogue entry names: failed to start daemon: brand new trouble → read the line below\n"))
        .stdout(predicate::str::contains("line 2  failed to start daemon: brand new trouble"));
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn several_files_give_one_json_document_each_and_the_worst_exit_code() {
    let known = fixture("devices-cgroup-missing/match/dockerd-26.1-runsc-20221219.log");
    let ready = fixture("ready/dockerd-20.10-native.log");
    let unknown = fixture("unknown/worker-exit-status-from-source.log");
    let (code, docs) = triage_json(&[known.as_os_str(), ready.as_os_str()]);
    assert_eq!((code, docs.len()), (0, 2));
    assert_eq!(docs[1]["verdict"], "ready");
    let (code, docs) = triage_json(&[known.as_os_str(), unknown.as_os_str(), ready.as_os_str()]);
    assert_eq!((code, docs.len()), (1, 3));
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn an_unreadable_file_is_a_usage_error_naming_it_and_the_rest_is_still_triaged() {
    let ready = fixture("ready/dockerd-20.10-native.log");
    let mut h = harness();
    let dir = h.dir.path().to_owned();
    h.cmd
        .arg("triage")
        .arg("no-such.log")
        .arg(&dir)
        .arg(&ready)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: failed to open log no-such.log",
        ))
        .stderr(predicate::str::contains(
            "caused by: No such file or directory",
        ))
        .stderr(predicate::str::contains(format!(
            "error: failed to read log {}",
            dir.display()
        )))
        .stderr(predicate::str::contains("caused by: Is a directory"))
        .stdout(predicate::str::contains("ready: dockerd started"));
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn a_compressed_log_is_refused_with_the_command_that_reads_it() {
    harness()
        .cmd
        .arg("triage")
        .write_stdin(vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: - is gzip-compressed; decompress it first, e.g. `zcat - | dindcheck triage`",
        ));
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn user_signatures_take_precedence_and_name_new_failures() {
    let mut h = harness();
    let catalogue = h.dir.path().join("mine.yaml");
    std::fs::write(
        &catalogue,
        concat!(
            "signatures:\n",
            "  - id: brand-new-trouble\n",
            "    pattern: 'brand new trouble'\n",
            "    family: runtime\n",
            "    title: our own failure\n",
            "    root_cause: Something only our platform does. It is in our wiki.\n",
            "    fix: Do the thing.\n",
            "    source: our runbook\n",
        ),
    )
    .unwrap();
    h.cmd
        .arg("triage")
        .arg("--signatures")
        .arg(&catalogue)
        .write_stdin("failed to start daemon: brand new trouble\n")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "dockerd did not start: our own failure [brand-new-trouble · runtime] → Do the thing.",
        ))
        .stdout(predicate::str::contains("  fix         Do the thing."))
        .stdout(predicate::str::contains("not by a shipped scenario"));
}

#[rstest]
#[case::yaml_shape(
    "signatures:\n  - id: a\n    pattern: x\n    colour: red\n",
    ":4:5: signatures[0]: unknown field `colour`"
)]
#[case::bad_regex(
    "signatures:\n  - {id: a, pattern: '(', family: config, title: t, root_cause: r, fix: f, source: s}\n",
    ":2:13: signature `a` has an invalid pattern"
)]
#[case::reserved_id(
    "signatures:\n  - {id: ready, pattern: 'x', family: config, title: t, root_cause: r, fix: f, source: s}\n",
    ":2:6: signature `ready`: `unknown` and `ready` are reserved"
)]
fn a_bad_signatures_file_is_a_usage_error_with_its_position(
    #[case] text: &str,
    #[case] expected: &str,
) {
    let mut h = harness();
    let catalogue = h.dir.path().join("bad.yaml");
    std::fs::write(&catalogue, text).unwrap();
    h.cmd
        .arg("triage")
        .arg("--signatures")
        .arg(&catalogue)
        .write_stdin("failed to start daemon: x\n")
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(format!(
            "error: {}{expected}",
            catalogue.display()
        )));
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn a_missing_signatures_file_is_a_usage_error() {
    harness()
        .cmd
        .args(["triage", "--signatures", "nope.yaml"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: failed to read signature catalogue nope.yaml",
        ));
}

#[rstest]
#[timeout(Duration::from_secs(120))]
fn a_huge_single_line_is_handled_in_flat_memory() {
    // 64 MiB on one line, then the fatal line: the reader keeps 64 KiB of it.
    let mut log = vec![b'a'; 64 << 20];
    log.extend_from_slice(b"\nfailed to start daemon: Devices cgroup isn't mounted\n");
    let (code, docs) = {
        let output = harness()
            .cmd
            .args(["triage", "--format", "json"])
            .write_stdin(log)
            .output()
            .unwrap();
        (
            output.status.code(),
            serde_json::from_slice::<Value>(&output.stdout).unwrap(),
        )
    };
    assert_eq!(code, Some(0));
    assert_eq!(docs["signature"], "devices-cgroup-missing");
    assert_eq!(docs["lines"], 2);
}

/// `dindcheck run` and `dindcheck triage` agree on the logs real runs keep:
/// every failed cell's kept dockerd.log triages to the signature the run
/// reported, and every ready cell's log triages to `ready`.
#[rstest]
#[timeout(Duration::from_secs(1200))]
#[cfg_attr(
    dindcheck_skip_runtimes,
    ignore = "needs root, dockerd, a static /bin/busybox, runsc 20221219 and 20240729 (scripts/setup.sh)"
)]
fn triage_agrees_with_real_runs() {
    let (old, new) = real_runtimes();
    need(common::root(), "root");
    let h = harness();
    let out = h.dir.path().join("out");
    let runs = [
        ("devices-cgroup", &["--filter", "cgroup_parent=none"][..]),
        ("userns", &[][..]),
    ];
    for (scenario, filter) in runs {
        let status = std::process::Command::new(common::dindcheck_bin())
            .current_dir(repo_root())
            .arg("run")
            .arg(format!("scenarios/{scenario}.yaml"))
            .arg("--runsc")
            .arg(&old)
            .arg("--runsc")
            .arg(&new)
            .args(filter)
            .arg("--out")
            .arg(out.join(scenario))
            .args(["-q", "--format", "json"])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("dindcheck run starts");
        assert!(
            status.code().is_some_and(|c| c <= 1),
            "{scenario}: {status}"
        );
    }
    let scenarios = runs.map(|(s, _)| s);
    let mut checked = 0;
    for scenario in scenarios {
        let report = common::read_report(&out.join(scenario).join("report.json"));
        for cell in report["cells"].as_array().unwrap() {
            let log = PathBuf::from(cell["log"].as_str().unwrap());
            let log = if log.is_absolute() {
                log
            } else {
                repo_root().join(log)
            };
            let (_, docs) = triage_json(&[log.as_os_str()]);
            let doc = &docs[0];
            match cell["outcome"].as_str().unwrap() {
                "daemon-failed" => assert_eq!(doc["signature"], cell["signature"], "{cell}"),
                "ready" | "container-ok" => assert_eq!(doc["verdict"], "ready", "{cell}"),
                _ => continue,
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} cells compared");
}

/// A dockerd log with bytes that are not UTF-8 (a Latin-1 file name before
/// the fatal line) gets the same signature and fatal line from `run` as from
/// `triage`: both decode it lossily, line by line.
#[rstest]
#[timeout(Duration::from_secs(600))]
#[cfg_attr(dindcheck_skip_root, ignore = "needs root")]
fn run_and_triage_agree_on_a_log_that_is_not_utf8() {
    need(common::root(), "root");
    let h = harness();
    let scenario = common::write_scenario(
        h.dir.path(),
        "latin1",
        &format!(
            "sandbox: native\ndockerd:\n  binary: {}\n  args: [--fake-mode=crash-latin1]\n",
            common::fake_dockerd_bin().display()
        ),
    );
    let out = h.dir.path().join("out");
    let status = std::process::Command::new(common::dindcheck_bin())
        .current_dir(h.dir.path())
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .arg("-q")
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run dindcheck");
    assert_eq!(status.code(), Some(0));
    let report = common::read_report(&out.join("report.json"));
    let cell = &report["cells"][0];
    let log = PathBuf::from(cell["log"].as_str().unwrap());
    let bytes = std::fs::read(&log).unwrap();
    assert!(std::str::from_utf8(&bytes).is_err(), "the log is not UTF-8");
    let (_, docs) = triage_json(&[log.as_os_str()]);
    let doc = &docs[0];
    assert_eq!(cell["outcome"], "daemon-failed", "{cell}");
    assert_eq!(cell["signature"], "devices-cgroup-missing", "{cell}");
    assert_eq!(doc["signature"], cell["signature"], "{doc}");
    let fatal = doc["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["role"] == "fatal")
        .expect("a fatal evidence line");
    assert_eq!(fatal["text"], cell["fatal_line"], "{doc}");
}

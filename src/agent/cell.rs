//! The in-sandbox side of a cell: `dindcheck __agent SPEC.json`.
//!
//! Runs inside `runsc do` (or fresh host namespaces for `native`). It mounts
//! the cgroup layout and a tmpfs for dockerd's state, starts dockerd with its
//! output copied to the agent's stdout (the host keeps that as
//! `dockerd.log`), and watches dockerd's output for its last words, its exit
//! and its API, so a daemon that fails is reported the moment it says so.
//! It speaks to the host only through `dindcheck-agent {json}` lines on
//! stderr, and exits right after its result (and, after last words, after
//! dockerd's exit or a short wait for it): the sandbox (or pid namespace)
//! going away kills whatever is left, and the tmpfs state goes with it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::engine::api::EngineClient;
use crate::engine::image::single_binary_image;
use crate::error_text::error_chain;
use crate::process::child::{SpawnSpec, Supervised, describe_status};
use crate::process::mounts;
use crate::report_format::{CgroupReport, DecidedBy, Outcome, millis};
use crate::scenario::{CgroupLayout, Depth};

use super::output::DockerdOutput;
use super::protocol::{
    AgentEvent, AgentResult, AgentSpec, HOST_DOCKER_STATE, PROBE_IMAGE, PROBE_TOKEN, emit,
};
use super::watch::{self, Startup};

/// Controllers `auto` tries on top of those in `/proc/cgroups`: gVisor lists
/// a controller there only once a hierarchy for it is mounted, so the list
/// alone would mount nothing inside runsc.
const KNOWN_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "blkio",
    "pids",
    "net_cls",
    "net_prio",
    "perf_event",
    "hugetlb",
    "rdma",
    "misc",
    "job",
];

/// Why the agent could not even start its work.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The spec file could not be read.
    #[error("failed to read agent spec {path}")]
    ReadSpec {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The spec file is not valid JSON for [`AgentSpec`].
    #[error("failed to parse agent spec {path}")]
    ParseSpec {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// `__userns-exec` was given no program.
    #[error("__userns-exec needs a program")]
    NoProgram,
    /// The mapped user namespace could not be entered.
    #[error("failed to enter a mapped user namespace")]
    EnterUserns(#[source] crate::process::userns::UsernsError),
    /// The program could not be executed.
    #[error("failed to exec {program}")]
    Exec {
        /// The program.
        program: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// The agent's entry point: reads the spec, runs the cell, emits the result.
///
/// # Errors
/// [`AgentError`] when the spec cannot be read; every later failure is
/// reported as an `error` result instead.
pub fn run_agent(spec_path: &Path) -> Result<(), AgentError> {
    let agent_started = Instant::now();
    emit(&AgentEvent::Started);
    let text = std::fs::read_to_string(spec_path).map_err(|source| AgentError::ReadSpec {
        path: spec_path.to_owned(),
        source,
    })?;
    let spec: AgentSpec = serde_json::from_str(&text).map_err(|source| AgentError::ParseSpec {
        path: spec_path.to_owned(),
        source,
    })?;
    let mut lingering = None;
    let result = run_cell(&spec, agent_started, &mut lingering);
    emit(&AgentEvent::Result(Box::new(result)));
    if let Some(lingering) = lingering {
        lingering.finish();
    }
    Ok(())
}

fn run_cell(
    spec: &AgentSpec,
    agent_started: Instant,
    lingering: &mut Option<Lingering>,
) -> AgentResult {
    let mut result = AgentResult {
        outcome: Outcome::Error,
        detail: None,
        dockerd_exit: None,
        dockerd: None,
        cgroups: CgroupReport::default(),
        setup_ms: 0,
        info_ms: None,
        dockerd_start_to_api_ms: None,
        dockerd_start_to_exit_ms: None,
        decided_by: None,
        dockerd_start_to_fatal_line_ms: None,
        fatal_line_at_us: None,
        container_ms: None,
        pull_ms: None,
        network_ms: None,
        build_ms: None,
        doctor_ms: None,
        doctor: None,
        retried_starts: Vec::new(),
    };
    let mount = !spec.mounts_from_sandbox;
    if mount && let Err(message) = shield_host_docker_state() {
        result.detail = Some(message);
        return result;
    }
    if let Err(message) = prepare_work_dir(&spec.work_dir, spec.work_size_mb, mount) {
        result.detail = Some(message);
        return result;
    }
    if let Err(message) = link_helpers(&spec.work_dir.join("bin"), &spec.path_links) {
        result.detail = Some(message);
        return result;
    }
    let cgroups = if spec.mounts_from_sandbox {
        Ok(sandbox_cgroups())
    } else {
        mount_cgroups(&spec.cgroups)
    };
    match cgroups {
        Ok(report) => result.cgroups = report,
        Err(message) => {
            result.detail = Some(message);
            return result;
        }
    }
    let setup_deadline = Instant::now() + Duration::from_millis(spec.timeout_ms);
    if let Err(message) = run_setup(&spec.setup, &spec.work_dir, setup_deadline) {
        result.detail = Some(message);
        return result;
    }
    let mut argv: Vec<OsString> = Vec::new();
    if spec.userns {
        // `dindcheck __userns-exec` maps ids 0-65535 to themselves (root
        // stays root; the docker group keeps its id, which dockerd chowns
        // its socket to) and execs dockerd; see process::userns.
        let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/proc/self/exe"));
        argv.extend([exe.into_os_string(), "__userns-exec".into(), "--".into()]);
    }
    argv.extend(spec.dockerd_argv.iter().map(OsString::from));
    let mut env: Vec<(OsString, OsString)> =
        spec.env.iter().map(|(k, v)| (k.into(), v.into())).collect();
    if !spec.env.iter().any(|(k, _)| k == "PATH") {
        env.push((
            "PATH".into(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        ));
    }
    // Temporary files of dockerd and containerd (containerd writes
    // `containerd.<pid>.stacks.log` to os.TempDir() on SIGUSR1) belong on
    // the cell's tmpfs, not in the host's /tmp of a native cell.
    if !spec.env.iter().any(|(k, _)| k == "TMPDIR") {
        env.push(("TMPDIR".into(), spec.work_dir.join("tmp").into_os_string()));
    }
    // The doctor examines the sandbox as dockerd will find it (same argv,
    // environment and user namespace), so every verdict comes with the
    // environment that produced it and the prediction made before it.
    let doctor_started = Instant::now();
    if spec.doctor {
        // The doctor forks this process, which is single-threaded here: no
        // thread has been started, and dockerd is not spawned yet.
        let request = crate::doctor::CellRequest {
            dockerd_argv: &spec.dockerd_argv,
            env: &env,
            userns: spec.userns.then_some(USERNS_IDS),
            scratch: &spec.work_dir,
            timeout: DOCTOR_TIMEOUT,
            dockerd_version: spec.dockerd_version.as_deref(),
        };
        match crate::doctor::examine_cell(&request) {
            Ok(report) => result.doctor = Some(Box::new(report)),
            Err(err) => eprintln!("dindcheck: doctor: {}", error_chain(&err)),
        }
        result.doctor_ms = Some(millis(doctor_started.elapsed()));
    }
    let doctor_time = doctor_started.elapsed();
    let mut output = match DockerdOutput::create(&spec.work_dir) {
        Ok(output) => output,
        Err(err) => {
            result.detail = Some(format!("failed to create dockerd's output file: {err}"));
            return result;
        }
    };
    let spawn = SpawnSpec {
        argv,
        env,
        stdout: output.sink(),
        stderr: output.sink(),
        isolate: false,
    };
    let started = Instant::now();
    result.setup_ms = millis(
        started
            .duration_since(agent_started)
            .saturating_sub(doctor_time),
    );
    let mut dockerd = match Supervised::spawn(&spawn) {
        Ok(child) => child,
        Err(err) => {
            result.detail = Some(error_chain(&err));
            return result;
        }
    };
    emit(&AgentEvent::DockerdSpawned { pid: dockerd.pid() });
    let deadline = started + Duration::from_millis(spec.timeout_ms);
    // One request may take long under gVisor's ptrace platform on a busy
    // machine (a container start on the bridge: several seconds); the cell's
    // own deadline still bounds the whole probe.
    let client = EngineClient::new(spec.socket.clone(), REQUEST_TIMEOUT);
    // dockerd's last words decide at once: it prints them after its own
    // clean-up, just before it exits (cmd/dockerd's main), and before the
    // deadline they make the cell daemon-failed, not timeout.
    match watch::until_decided(&mut dockerd, &mut output, spec.socket.clone(), deadline) {
        Startup::LastWords => {
            result.outcome = Outcome::DaemonFailed;
            result.decided_by = Some(DecidedBy::FatalLine);
            if let Some(line) = output.terminal() {
                result.dockerd_start_to_fatal_line_ms = Some(millis(line.seen - started));
                result.fatal_line_at_us = Some(line.seen_at_us);
            }
            *lingering = Some(Lingering {
                dockerd,
                output,
                started,
            });
            return result;
        }
        Startup::Exited { status, api } => {
            // An answer that came before the exit was seen still counts:
            // the daemon was up before it died.
            result.dockerd_start_to_api_ms = api.map(|answered| millis(answered - started));
            result.outcome = Outcome::DaemonFailed;
            result.decided_by = Some(DecidedBy::Exit);
            result.dockerd_exit = Some(describe_status(status));
            result.dockerd_start_to_exit_ms = Some(millis(started.elapsed()));
            return result;
        }
        Startup::TimedOut => {
            result.outcome = Outcome::Timeout;
            result.decided_by = Some(DecidedBy::Timeout);
            result.detail = Some(format!(
                "dockerd neither answered /_ping nor exited within {} ms",
                spec.timeout_ms
            ));
            dockerd.terminate(Duration::ZERO);
            return result;
        }
        Startup::ApiReady(answered) => {
            let ms = millis(answered - started);
            result.dockerd_start_to_api_ms = Some(ms);
            result.decided_by = Some(DecidedBy::ApiReady);
            emit(&AgentEvent::ApiReady { ms });
        }
    }
    result.outcome = Outcome::Ready;
    let info_started = Instant::now();
    result.dockerd = client.info().ok();
    result.info_ms = Some(millis(info_started.elapsed()));
    if spec.depth >= Depth::Container {
        let probe_started = Instant::now();
        let (mut outcome, mut detail) = probe_container(&client, &spec.busybox, deadline);
        result.container_ms = Some(millis(probe_started.elapsed()));
        if outcome == Outcome::ContainerOk && spec.depth > Depth::Container {
            let mut times = super::depths::DepthTimes::default();
            (outcome, detail) = super::depths::probe_deeper(&client, spec, deadline, &mut times);
            result.pull_ms = times.pull;
            result.network_ms = times.network;
            result.build_ms = times.build;
        }
        result.outcome = outcome;
        result.decided_by = Some(DecidedBy::ContainerProbe);
        result.detail = detail;
        result.retried_starts = client.retried_failures();
        let died = if outcome.is_probe_failure() {
            // A probe that failed because dockerd is going down: give the
            // exit a moment to be seen.
            dockerd.wait_until(Instant::now() + Duration::from_millis(500))
        } else {
            dockerd.try_wait()
        };
        if let Some(status) = died {
            // The daemon died under the probe: that, not the probe's
            // connection error, is the verdict.
            result.outcome = Outcome::DaemonFailed;
            result.decided_by = Some(DecidedBy::Exit);
            result.dockerd_exit = Some(describe_status(status));
            result.dockerd_start_to_exit_ms = Some(millis(started.elapsed()));
        }
    }
    // The state is on a tmpfs that dies with the sandbox: no grace needed.
    dockerd.terminate(Duration::ZERO);
    result
}

/// How long the agent keeps watching after a verdict dockerd's last words
/// gave: dockerd exits milliseconds after them, and its exit status and
/// last lines are worth keeping, but not worth delaying the teardown for.
const EXIT_LINGER: Duration = Duration::from_millis(200);

/// A dockerd whose last words decided the verdict, still watched while the
/// sandbox is torn down.
struct Lingering {
    dockerd: Supervised,
    output: DockerdOutput,
    started: Instant,
}

impl Lingering {
    /// Waits up to [`EXIT_LINGER`] for dockerd's exit, copying its output,
    /// and reports the exit when it comes.
    fn finish(mut self) {
        let until = Instant::now() + EXIT_LINGER;
        loop {
            self.output.pump();
            if let Some(status) = self.dockerd.try_wait() {
                self.output.pump();
                emit(&AgentEvent::DockerdExited {
                    status: describe_status(status),
                    ms: millis(self.started.elapsed()),
                });
                return;
            }
            let now = Instant::now();
            if now >= until {
                return;
            }
            std::thread::sleep(Duration::from_millis(1).min(until - now));
        }
    }
}

/// `dindcheck __userns-exec PROGRAM…`: enters a mapped user namespace and
/// execs the program. Returns only on failure.
pub fn userns_exec(argv: &[OsString]) -> AgentError {
    use std::os::unix::process::CommandExt;
    let Some((program, args)) = argv.split_first() else {
        return AgentError::NoProgram;
    };
    if let Err(source) = crate::process::userns::enter_mapped_userns(USERNS_IDS) {
        return AgentError::EnterUserns(source);
    }
    let source = std::process::Command::new(program).args(args).exec();
    AgentError::Exec {
        program: program.to_string_lossy().into_owned(),
        source,
    }
}

/// The longest one Engine API request of the probes may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the in-sandbox doctor may take before dockerd starts anyway.
const DOCTOR_TIMEOUT: Duration = Duration::from_secs(30);

/// How many ids the user-namespace variant maps (0..65536 onto themselves).
const USERNS_IDS: u32 = 65536;

/// Loads the one-file image and runs it; returns the outcome and a detail.
fn probe_container(
    client: &EngineClient,
    busybox: &Path,
    deadline: Instant,
) -> (Outcome, Option<String>) {
    let tar = match single_binary_image(busybox, "/bin/busybox", PROBE_IMAGE) {
        Ok(tar) => tar,
        Err(err) => return (Outcome::Error, Some(error_chain(&err))),
    };
    if let Err(err) = client.load_image(&tar) {
        return (Outcome::ContainerFailed, Some(error_chain(&err)));
    }
    let cmd = vec![
        "/bin/busybox".to_owned(),
        "echo".to_owned(),
        PROBE_TOKEN.to_owned(),
    ];
    match client.run_container(PROBE_IMAGE, &cmd, PROBE_TOKEN, deadline) {
        Ok(run) if run.exit_code == 0 && run.output_matched => (Outcome::ContainerOk, None),
        Ok(run) => (
            Outcome::ContainerFailed,
            Some(format!(
                "probe container exited with {} and printed {:?}",
                run.exit_code,
                run.output.trim()
            )),
        ),
        Err(err) => (Outcome::ContainerFailed, Some(error_chain(&err))),
    }
}

/// Hides the host's Docker state behind empty tmpfs mounts. Inside runsc the
/// root is already a throwaway overlay; in a native cell this is what keeps
/// the host's `/var/lib/docker` and `/etc/docker` untouched.
fn shield_host_docker_state() -> Result<(), String> {
    // runsc 20221219 answers EINVAL to a propagation change on /; its mount
    // table is the sandbox's own anyway, and native cells already run in a
    // private namespace (see process::child), so this is only a second lock.
    let _ = mounts::make_root_private();
    for dir in HOST_DOCKER_STATE.iter().map(Path::new) {
        if dir.is_dir() {
            mounts::mount_tmpfs(dir, "mode=0711")
                .map_err(|e| format!("failed to mount tmpfs on {}: {e}", dir.display()))?;
        }
    }
    Ok(())
}

fn prepare_work_dir(dir: &Path, size_mb: Option<u64>, mount: bool) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("failed to create {}: {e}", dir.display()))?;
    let options = match size_mb {
        Some(mb) => format!("mode=0711,size={mb}m"),
        None => "mode=0711".to_owned(),
    };
    if mount {
        mounts::mount_tmpfs(dir, &options)
            .map_err(|e| format!("failed to mount tmpfs on {}: {e}", dir.display()))?;
    }
    for sub in ["data", "exec", "tmp"] {
        std::fs::create_dir_all(dir.join(sub))
            .map_err(|e| format!("failed to create {}: {e}", dir.join(sub).display()))?;
    }
    Ok(())
}

/// Makes the links that put the cell's chosen containerd and runc first in
/// dockerd's PATH (`dir` is on the work tmpfs). A link whose target does not
/// exist is left out, so the next directory in PATH answers for that name.
fn link_helpers(dir: &Path, links: &[(String, PathBuf)]) -> Result<(), String> {
    if links.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("failed to create {}: {e}", dir.display()))?;
    for (name, target) in links {
        if !target.exists() {
            continue;
        }
        let link = dir.join(name);
        std::os::unix::fs::symlink(target, &link).map_err(|e| {
            format!(
                "failed to link {} to {}: {e}",
                link.display(),
                target.display()
            )
        })?;
    }
    Ok(())
}

/// Runs the scenario's setup commands in order, each as `/bin/sh -c
/// COMMAND` with its output in a file on the work tmpfs (not in dockerd's
/// log, which the classifier reads). The first that fails, or does not
/// finish by `deadline`, ends the setup: the message names it, how it
/// ended and the end of what it printed.
fn run_setup(commands: &[String], work_dir: &Path, deadline: Instant) -> Result<(), String> {
    for (i, command) in commands.iter().enumerate() {
        let output = work_dir.join(format!("setup-{i}.out"));
        let spawn = SpawnSpec {
            argv: vec!["/bin/sh".into(), "-c".into(), command.into()],
            env: vec![(
                "PATH".into(),
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
            )],
            stdout: setup_output(&output),
            stderr: setup_output(&output),
            isolate: false,
        };
        let mut child = Supervised::spawn(&spawn).map_err(|e| {
            format!(
                "setup command `{command}` did not start: {}",
                error_chain(&e)
            )
        })?;
        let printed = |path: &Path| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let text = text.trim();
            if text.is_empty() {
                String::new()
            } else {
                // The end of the output: the error is in its last lines.
                let start = text.len().saturating_sub(SETUP_OUTPUT_KEPT);
                let start = (start..=text.len())
                    .find(|&at| text.is_char_boundary(at))
                    .unwrap_or(text.len());
                format!(": {}", &text[start..])
            }
        };
        match child.wait_until(deadline) {
            Some(status) if status.success() => {}
            Some(status) => {
                return Err(format!(
                    "setup command `{command}` failed ({}){}",
                    describe_status(status),
                    printed(&output)
                ));
            }
            None => {
                child.terminate(Duration::ZERO);
                return Err(format!(
                    "setup command `{command}` did not finish before the cell's deadline{}",
                    printed(&output)
                ));
            }
        }
    }
    Ok(())
}

/// How much of a failed setup command's output its message keeps.
const SETUP_OUTPUT_KEPT: usize = 2000;

/// A setup command's stdout and stderr, appended to the same file.
fn setup_output(path: &Path) -> crate::process::child::Output {
    crate::process::child::Output::Append(path.to_owned())
}

/// Mounts `layout` at /sys/fs/cgroup and reports what worked.
fn mount_cgroups(layout: &CgroupLayout) -> Result<CgroupReport, String> {
    let root = Path::new("/sys/fs/cgroup");
    let mut report = CgroupReport {
        layout: layout.to_string(),
        ..CgroupReport::default()
    };
    // A native cell inherits the host's cgroup mounts; overmounting would
    // hide them from path lookups but not from /proc/self/mountinfo, which
    // is what dockerd reads, so detach them (in this private namespace).
    mounts::unmount_below(root);
    mounts::unmount_cgroups();
    // gVisor's sysfs answers mkdir with EPERM and statx with EINVAL for an
    // existing /sys/fs/cgroup, so create_dir_all would fail; try to create
    // it and let the mount say whether it is usable.
    let _ = std::fs::create_dir(root);
    if *layout == CgroupLayout::V2 {
        match mounts::mount_cgroup2(root) {
            Ok(()) => report.mounted.push("cgroup2".to_owned()),
            Err(e) => report.failed.push(("cgroup2".to_owned(), e.to_string())),
        }
        return Ok(report);
    }
    mounts::mount_tmpfs(root, "mode=0755")
        .map_err(|e| format!("failed to mount tmpfs on {}: {e}", root.display()))?;
    let controllers: Vec<String> = match layout {
        CgroupLayout::Auto => {
            let mut all: Vec<String> = KNOWN_CONTROLLERS.iter().map(|c| c.to_string()).collect();
            for listed in listed_controllers() {
                if !all.contains(&listed) {
                    all.push(listed);
                }
            }
            all
        }
        CgroupLayout::Controllers(list) => list.clone(),
        CgroupLayout::None | CgroupLayout::V2 => Vec::new(),
    };
    for controller in controllers {
        let (dir_name, options) = match controller.strip_prefix("name=") {
            Some(name) => (name.to_owned(), format!("none,name={name}")),
            None => (controller.clone(), controller.clone()),
        };
        let target = root.join(&dir_name);
        if let Err(e) = std::fs::create_dir_all(&target) {
            report.failed.push((controller, e.to_string()));
            continue;
        }
        match mounts::mount_cgroup_v1(&options, &target) {
            Ok(()) => report.mounted.push(controller),
            Err(e) => {
                let _ = std::fs::remove_dir(&target);
                report.failed.push((controller, e.to_string()));
            }
        }
    }
    Ok(report)
}

/// What the sandbox itself mounted at /sys/fs/cgroup (an OCI bundle's
/// cgroup mount, as runsc turned it into hierarchies), mounting nothing.
fn sandbox_cgroups() -> CgroupReport {
    CgroupReport {
        layout: "sandbox".to_owned(),
        mounted: mounts::cgroup_hierarchies_below(Path::new("/sys/fs/cgroup")),
        failed: Vec::new(),
    }
}

/// Enabled controllers from /proc/cgroups.
fn listed_controllers() -> Vec<String> {
    std::fs::read_to_string("/proc/cgroups")
        .map(|text| parse_proc_cgroups(&text))
        .unwrap_or_default()
}

fn parse_proc_cgroups(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            (fields.len() >= 4 && fields[3] == "1").then(|| fields[0].to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_cgroups_parsing_keeps_enabled_controllers() {
        let text = "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t1\t1\t1\ndevices\t0\t1\t0\npids\t5\t1\t1\n";
        assert_eq!(parse_proc_cgroups(text), vec!["cpu", "pids"]);
    }

    /// Setup commands run in order through the shell; the first that fails
    /// stops the rest and is named with its status and what it printed.
    #[test]
    fn setup_stops_at_the_first_failing_command_and_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("ran");
        let deadline = Instant::now() + Duration::from_secs(60);
        let commands = vec![
            format!("echo one > {}", marker.display()),
            "echo 'mkdir: cannot create directory: Operation not permitted' >&2 && exit 1"
                .to_owned(),
            format!("echo three >> {}", marker.display()),
        ];
        let err = run_setup(&commands, dir.path(), deadline).unwrap_err();
        assert!(err.starts_with("setup command `echo 'mkdir"), "{err}");
        assert!(err.contains("exit status 1"), "{err}");
        assert!(
            err.ends_with(": mkdir: cannot create directory: Operation not permitted"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&marker).unwrap(), "one\n");
        assert_eq!(run_setup(&commands[..1], dir.path(), deadline), Ok(()));
    }
}

//! Shared helpers for the integration tests: one `harness()` builder, the
//! runtime lookup (a test the build could not promise its runtime is
//! ignored with the reason; one that runs fails when it is missing), and
//! leak checks by the run's marker.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// A `dindcheck` command in a fresh temporary directory, with environment
/// that could change its output removed (bat's pattern).
pub struct Harness {
    /// The command to run.
    pub cmd: Command,
    /// Its working directory; removed on drop.
    pub dir: tempfile::TempDir,
}

/// Every `dindcheck run` removes, as it starts, what runs it finds dead
/// left behind. A test that SIGKILLs a run to see `dindcheck cleanup`
/// remove its leftovers holds this lock for writing from before the kill
/// to after the cleanup ([`no_new_runs`]), so no run of another test in the
/// same binary starts (and cleans first) meanwhile; [`spawn_dindcheck`]
/// waits on it for reading. A run spawned before the lock was taken did its
/// start-up cleaning long before the kill.
static RUN_STARTS: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// While held, no other test of this binary starts a dindcheck run.
pub struct NoNewRuns(std::sync::RwLockWriteGuard<'static, ()>);

/// Waits until no other test starts dindcheck runs, and keeps it so until
/// the guard is dropped; start this test's own runs with
/// [`spawn_dindcheck_alone`].
pub fn no_new_runs() -> NoNewRuns {
    NoNewRuns(
        RUN_STARTS
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
}

/// Starts dindcheck in the background with piped output.
pub fn spawn_dindcheck(cwd: &Path, args: &[&str]) -> std::process::Child {
    drop(
        RUN_STARTS
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    spawn_unguarded(cwd, args)
}

/// [`spawn_dindcheck`] for the test that holds [`no_new_runs`].
pub fn spawn_dindcheck_alone(_alone: &NoNewRuns, cwd: &Path, args: &[&str]) -> std::process::Child {
    spawn_unguarded(cwd, args)
}

fn spawn_unguarded(cwd: &Path, args: &[&str]) -> std::process::Child {
    std::process::Command::new(dindcheck_bin())
        .current_dir(cwd)
        .args(args)
        .env_remove("DINDCHECK_CELL")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn dindcheck")
}

/// The command, exit code and output of a dindcheck run, for assertion
/// messages.
pub fn explain(args: &[&str], output: &std::process::Output) -> String {
    format!(
        "dindcheck {}\nexit: {:?}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Builds a `dindcheck` command whose cwd is a fresh temp dir.
pub fn harness() -> Harness {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(dindcheck_bin());
    cmd.current_dir(dir.path())
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("DINDCHECK_CELL");
    Harness { cmd, dir }
}

/// The dindcheck binary under test.
pub fn dindcheck_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dindcheck"))
}

/// The fake dockerd helper binary.
pub fn fake_dockerd_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_fake-dockerd"))
}

/// The repository root (where `scenarios/` lives).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Returns the value a test needs, or fails the test.
///
/// Tests that need root or a runtime are ignored, with the reason, when the
/// build found it missing (`build.rs` sets a `dindcheck_skip_*` cfg, and the
/// test carries `#[cfg_attr(dindcheck_skip_…, ignore = "needs …")]`), so the
/// test runner's summary counts them. A test that runs has been promised its
/// runtime (or `DINDCHECK_REQUIRE_RUNTIMES=1` asked for it): a missing one
/// fails it, never a silent pass.
pub fn need<T>(value: Option<T>, what: &str) -> T {
    value.unwrap_or_else(|| {
        panic!(
            "{what} is missing, but this test was not ignored: the build found it, or \
             DINDCHECK_REQUIRE_RUNTIMES=1 asks for it; run scripts/setup.sh as root"
        )
    })
}

/// Root is needed for real cells.
pub fn root() -> Option<()> {
    nix::unistd::geteuid().is_root().then_some(())
}

/// Bookworm's runsc (0.0~20221219.0).
pub fn runsc_bookworm() -> Option<PathBuf> {
    let path = std::env::var_os("DINDCHECK_RUNSC_OLD")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/runsc"));
    path.exists().then_some(path)
}

/// Trixie's runsc (0.0~20240729.0), unpacked by scripts/setup.sh.
pub fn runsc_trixie() -> Option<PathBuf> {
    let path = std::env::var_os("DINDCHECK_RUNSC_NEW")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/dindcheck/trixie/usr/bin/runsc"));
    path.exists().then_some(path)
}

/// The system dockerd.
pub fn dockerd() -> Option<PathBuf> {
    ["/usr/sbin/dockerd", "/usr/bin/dockerd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Everything a real runsc test needs: root, both runsc and dockerd.
pub fn real_runtimes() -> (PathBuf, PathBuf) {
    need(root(), "root");
    need(dockerd(), "dockerd (docker.io)");
    let old = need(runsc_bookworm(), "runsc 20221219 (/usr/bin/runsc)");
    let new = need(
        runsc_trixie(),
        "runsc 20240729 (/var/cache/dindcheck/trixie/usr/bin/runsc)",
    );
    (old, new)
}

/// Processes still carrying the marker of dindcheck process `pid`, as
/// `pid comm` strings.
pub fn leftover_processes(pid: u32) -> Vec<String> {
    let prefix = format!("DINDCHECK_CELL={pid}-");
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(p) = name
            .to_str()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        if environ
            .split(|&b| b == 0)
            .any(|var| var.starts_with(prefix.as_bytes()))
        {
            let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            found.push(format!("{p} {}", comm.trim()));
        }
    }
    found
}

/// Scratch directories, host cgroups and mounts left by dindcheck process
/// `pid`.
pub fn leftover_files_and_mounts(pid: u32) -> Vec<String> {
    let prefix = format!("dindcheck-{pid}-");
    let mut found: Vec<String> = std::fs::read_dir("/tmp")
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .map(|e| e.path().display().to_string())
                .collect()
        })
        .unwrap_or_default();
    // runsc-oci cells' host cgroups are named `<scratch dir name>-<cell>`.
    found.extend(cgroup_dirs_named(&prefix));
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    found.extend(
        mounts
            .lines()
            .filter(|l| l.contains(&format!("/tmp/{prefix}")))
            .map(str::to_owned),
    );
    found
}

/// Host cgroup directories whose name starts with `prefix`, directly under
/// /sys/fs/cgroup or under one of its hierarchies.
pub fn cgroup_dirs_named(prefix: &str) -> Vec<String> {
    let root = Path::new("/sys/fs/cgroup");
    let mut parents = vec![root.to_path_buf()];
    parents.extend(
        std::fs::read_dir(root)
            .map(|d| d.flatten().map(|e| e.path()).collect::<Vec<_>>())
            .unwrap_or_default(),
    );
    parents
        .iter()
        .filter_map(|p| std::fs::read_dir(p).ok())
        .flat_map(|d| d.flatten())
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path().display().to_string())
        .collect()
}

/// `runsc do` bundle dirs (`runsc-doNNN`) in the host's /tmp. Runs give runsc
/// a TMPDIR inside their scratch dir, so none of them may ever appear here.
pub fn runsc_do_dirs_in_tmp() -> Vec<String> {
    std::fs::read_dir("/tmp")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("runsc-do"))
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts that dindcheck process `pid` left nothing behind.
pub fn assert_nothing_left(pid: u32) {
    let processes = leftover_processes(pid);
    let files = leftover_files_and_mounts(pid);
    assert!(
        processes.is_empty() && files.is_empty(),
        "left behind: processes {processes:?}, files/mounts {files:?}"
    );
}

/// Writes a scenario file into `dir` and returns its path.
pub fn write_scenario(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, text).expect("write scenario");
    path
}

/// Reads a JSON report.
pub fn read_report(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("report is JSON")
}

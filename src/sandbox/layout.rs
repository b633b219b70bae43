//! A cell's layout on disk and the agent spec, the same for every backend;
//! spawns nothing.
//!
//! Every cell gets its own scratch directory, runsc state root, dockerd
//! data-root, exec-root, socket and pidfile.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::agent::AgentSpec;
use crate::matrix::Cell;

/// The longest unix socket path the kernel accepts, NUL included
/// (`sun_path` in unix(7); youki's notify_socket.rs checks the same).
pub const SUN_PATH_MAX: usize = 108;

/// The per-cell paths on the host (and, for `work_dir`, inside the sandbox).
#[derive(Debug, Clone, PartialEq)]
pub struct CellPaths {
    /// The cell's scratch directory, removed after the cell.
    pub scratch: PathBuf,
    /// runsc's `--root` state directory.
    pub runsc_root: PathBuf,
    /// The agent spec file.
    pub spec_file: PathBuf,
    /// Where the agent mounts a tmpfs for dockerd's state.
    pub work_dir: PathBuf,
    /// dockerd's socket.
    pub socket: PathBuf,
    /// `TMPDIR` of the sandbox process: `runsc do` keeps its bundle
    /// (`runsc-doNNN/config.json`) there, and a runsc killed before its own
    /// cleanup would otherwise leave it in the host's /tmp.
    pub tmp: PathBuf,
    /// The OCI bundle directory of a `runsc-oci` cell (`config.json`).
    pub bundle: PathBuf,
    /// The cell's container ID for `runsc run`, `<run dir name>-<index>`:
    /// unique among the cells running at once, and the name of the host
    /// cgroups runsc creates for it.
    pub container_id: String,
}

/// Why a cell's paths cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The socket path would exceed `sun_path`.
    #[error("socket path {path} is {len} bytes; unix sockets allow {max}", max = SUN_PATH_MAX - 1)]
    SocketPathTooLong {
        /// The path.
        path: PathBuf,
        /// Its length in bytes.
        len: usize,
    },
}

impl CellPaths {
    /// Lays out the paths of cell `index` under the run's scratch directory.
    ///
    /// # Errors
    /// [`SandboxError::SocketPathTooLong`] when the run directory is so deep
    /// that dockerd could not bind its socket.
    pub fn new(run_scratch: &Path, index: usize) -> Result<CellPaths, SandboxError> {
        let scratch = run_scratch.join(index.to_string());
        let work_dir = scratch.join("w");
        let socket = work_dir.join("d.sock");
        let len = socket.as_os_str().len();
        if len >= SUN_PATH_MAX {
            return Err(SandboxError::SocketPathTooLong { path: socket, len });
        }
        let run_name = run_scratch
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "dindcheck".to_owned());
        Ok(CellPaths {
            runsc_root: scratch.join("runsc"),
            tmp: scratch.join("tmp"),
            bundle: scratch.join("bundle"),
            container_id: format!("{run_name}-{index}"),
            spec_file: scratch.join("agent.json"),
            work_dir,
            socket,
            scratch,
        })
    }
}

impl CellPaths {
    /// `dindcheck __agent SPEC`: what every backend runs inside its sandbox.
    pub fn agent_command(&self, agent_exe: &Path) -> [OsString; 3] {
        [
            agent_exe.into(),
            "__agent".into(),
            self.spec_file.clone().into(),
        ]
    }
}

/// The agent spec for `cell`: the full dockerd command line, harness paths
/// last so they win over anything the scenario passes. `mounts_from_sandbox`
/// is the backend's [`super::backend::Backend::provides_mounts`].
pub fn agent_spec(cell: &Cell, paths: &CellPaths, mounts_from_sandbox: bool) -> AgentSpec {
    let s = &cell.settings;
    let mut argv = vec![s.dockerd.clone()];
    argv.extend(s.dockerd_args.iter().cloned());
    let w = &paths.work_dir;
    argv.extend([
        format!("--data-root={}", w.join("data").display()),
        format!("--exec-root={}", w.join("exec").display()),
        format!("--host=unix://{}", paths.socket.display()),
        format!("--pidfile={}", w.join("docker.pid").display()),
    ]);
    let mut env: Vec<(String, String)> =
        s.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    if !s.env.contains_key("PATH") {
        env.push(("PATH".to_owned(), search_path_for(&s.dockerd)));
    }
    AgentSpec {
        cell_id: cell.id.clone(),
        work_dir: paths.work_dir.clone(),
        socket: paths.socket.clone(),
        cgroups: s.cgroups.clone(),
        mounts_from_sandbox,
        userns: s.userns,
        dockerd_argv: argv,
        env,
        depth: s.depth,
        timeout_ms: s.timeout_secs * 1000,
        busybox: s.busybox.clone(),
        work_size_mb: s.work_size_mb,
        doctor: s.doctor,
    }
}

/// PATH for dockerd: the directories of its own package first (so a
/// dockerd unpacked from another suite finds its own containerd and runc),
/// then the usual system directories.
fn search_path_for(dockerd: &str) -> String {
    const SYSTEM: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    let mut dirs: Vec<String> = Vec::new();
    if let Some(sbin) = Path::new(dockerd).parent().filter(|p| p.is_absolute()) {
        let bin = sbin.parent().map(|usr| usr.join("bin"));
        for dir in [Some(sbin.to_path_buf()), bin].into_iter().flatten() {
            let text = dir.display().to_string();
            if !SYSTEM.split(':').any(|s| s == text) && !dirs.contains(&text) {
                dirs.push(text);
            }
        }
    }
    dirs.push(SYSTEM.to_owned());
    dirs.join(":")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::first_cell;

    #[test]
    fn socket_path_limit_is_enforced() {
        let deep = PathBuf::from(format!("/tmp/{}", "x".repeat(100)));
        let err = CellPaths::new(&deep, 3).unwrap_err();
        assert!(err.to_string().contains("unix sockets allow 107"), "{err}");
        let ok = CellPaths::new(Path::new("/tmp/dindcheck-1234-abcd"), 15).unwrap();
        assert_eq!(
            ok.socket,
            PathBuf::from("/tmp/dindcheck-1234-abcd/15/w/d.sock")
        );
        assert_eq!(ok.container_id, "dindcheck-1234-abcd-15");
    }

    #[test]
    fn harness_paths_come_last_and_are_per_cell() {
        let cell = first_cell(
            "sandbox: native\ndockerd:\n  binary: /usr/sbin/dockerd\n  args: [--debug]\n",
        );
        let paths = CellPaths::new(Path::new("/tmp/dc-1"), 0).unwrap();
        let spec = agent_spec(&cell, &paths, false);
        assert_eq!(
            spec.dockerd_argv,
            vec![
                "/usr/sbin/dockerd",
                "--debug",
                "--data-root=/tmp/dc-1/0/w/data",
                "--exec-root=/tmp/dc-1/0/w/exec",
                "--host=unix:///tmp/dc-1/0/w/d.sock",
                "--pidfile=/tmp/dc-1/0/w/docker.pid",
            ]
        );
    }

    #[test]
    fn dockerd_from_another_suite_finds_its_own_helpers_first() {
        assert_eq!(
            search_path_for("/var/cache/dindcheck/trixie/usr/sbin/dockerd"),
            "/var/cache/dindcheck/trixie/usr/sbin:/var/cache/dindcheck/trixie/usr/bin:\
             /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        );
        assert_eq!(
            search_path_for("/usr/sbin/dockerd"),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        );
    }
}

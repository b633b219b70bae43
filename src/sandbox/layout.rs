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
    let path_links = helper_links(s.containerd.as_deref(), s.runc.as_deref());
    if !s.env.contains_key("PATH") {
        let mut path = search_path_for(&s.dockerd);
        if !path_links.is_empty() {
            path = format!("{}:{path}", paths.links_dir().display());
        }
        env.push(("PATH".to_owned(), path));
    }
    AgentSpec {
        cell_id: cell.id.clone(),
        work_dir: paths.work_dir.clone(),
        socket: paths.socket.clone(),
        cgroups: s.cgroups.clone(),
        mounts_from_sandbox,
        setup: s.setup.clone(),
        userns: s.userns,
        dockerd_argv: argv,
        env,
        path_links,
        depth: s.depth,
        timeout_ms: s.timeout_secs * 1000,
        busybox: s.busybox.clone(),
        registry: s.registry.clone(),
        work_size_mb: s.work_size_mb,
        doctor: s.doctor,
        dockerd_version: s.dockerd_version.clone(),
    }
}

/// The system directories of dockerd's PATH, after its package's own.
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The names linked beside a chosen containerd: the shims it starts and its
/// client, each from the containerd's own directory.
const CONTAINERD_COMPANIONS: &[&str] = &[
    "containerd-shim-runc-v2",
    "containerd-shim-runc-v1",
    "containerd-shim",
    "ctr",
];

impl CellPaths {
    /// Where the agent links the containerd and runc a cell chose; first in
    /// dockerd's PATH when there is anything to link.
    pub fn links_dir(&self) -> PathBuf {
        self.work_dir.join("bin")
    }
}

/// The links that put a chosen containerd (with its shims and `ctr`) and
/// runc first in dockerd's PATH.
fn helper_links(containerd: Option<&str>, runc: Option<&str>) -> Vec<(String, PathBuf)> {
    let mut links = Vec::new();
    if let Some(containerd) = containerd.map(Path::new) {
        links.push(("containerd".to_owned(), containerd.to_path_buf()));
        if let Some(dir) = containerd.parent() {
            for name in CONTAINERD_COMPANIONS {
                links.push(((*name).to_owned(), dir.join(name)));
            }
        }
    }
    if let Some(runc) = runc {
        links.push(("runc".to_owned(), PathBuf::from(runc)));
    }
    links
}

/// The directories of dockerd's own package that come first in its PATH:
/// `…/usr/sbin` and `…/usr/bin` of a dockerd unpacked outside the system
/// directories (so it finds its own containerd and docker-proxy), nothing
/// for a system dockerd.
pub fn package_dirs(dockerd: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(sbin) = Path::new(dockerd).parent().filter(|p| p.is_absolute()) {
        let bin = sbin.parent().map(|usr| usr.join("bin"));
        for dir in [Some(sbin.to_path_buf()), bin].into_iter().flatten() {
            let text = dir.display().to_string();
            if !SYSTEM_PATH.split(':').any(|s| s == text) && !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
    }
    dirs
}

/// PATH for dockerd: the directories of its own package first (so a
/// dockerd unpacked from another suite finds its own containerd), then the
/// usual system directories.
fn search_path_for(dockerd: &str) -> String {
    let mut dirs: Vec<String> = package_dirs(dockerd)
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    dirs.push(SYSTEM_PATH.to_owned());
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
    fn a_chosen_containerd_and_runc_come_first_in_path() {
        let cell = first_cell(
            "sandbox: native\naxes:\n  dockerd:\n    sid:\n      dockerd: /c/sid/usr/sbin/dockerd\n      \
             containerd: /c/sid/usr/bin/containerd\n      runc: /usr/sbin/runc\n",
        );
        let paths = CellPaths::new(Path::new("/tmp/dc-1"), 0).unwrap();
        let spec = agent_spec(&cell, &paths, false);
        let path = spec.env.iter().find(|(k, _)| k == "PATH").unwrap();
        assert_eq!(
            path.1,
            "/tmp/dc-1/0/w/bin:/c/sid/usr/sbin:/c/sid/usr/bin:\
             /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        );
        let links: Vec<(&str, &str)> = spec
            .path_links
            .iter()
            .map(|(n, t)| (n.as_str(), t.to_str().unwrap()))
            .collect();
        assert_eq!(links[0], ("containerd", "/c/sid/usr/bin/containerd"));
        assert!(links.contains(&(
            "containerd-shim-runc-v2",
            "/c/sid/usr/bin/containerd-shim-runc-v2"
        )));
        assert_eq!(links.last(), Some(&("runc", "/usr/sbin/runc")));
        let plain = first_cell("sandbox: native\n");
        let spec = agent_spec(&plain, &paths, false);
        assert!(spec.path_links.is_empty());
        let path = spec.env.iter().find(|(k, _)| k == "PATH").unwrap();
        assert!(!path.1.contains("/w/bin"), "{}", path.1);
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

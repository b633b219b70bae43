//! Entering a user namespace with a real identity map, without newuidmap.
//!
//! A process cannot write more than a one-id map for itself after
//! unshare(CLONE_NEWUSER) (user_namespaces(7)): the writer needs CAP_SETUID in
//! the parent namespace. So the process forks first; the child stays in the
//! parent namespace, waits until the parent has unshared, writes the parent's
//! `uid_map` and `gid_map`, and exits. The parent then goes on (and execs the
//! target). Call this only while the process is single-threaded.

use std::io::{Read, Write};

use nix::sched::CloneFlags;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};

/// Why the user namespace could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum UsernsError {
    /// A system call failed.
    #[error("failed to {step}")]
    Sys {
        /// What was being done.
        step: &'static str,
        /// The errno.
        #[source]
        source: nix::Error,
    },
    /// The map writer failed.
    #[error("failed to write the id maps of pid {pid} (writer {status:?})")]
    Maps {
        /// The process being mapped.
        pid: i32,
        /// How the writer ended.
        status: WaitStatus,
    },
}

/// The inode of a namespace file such as `/proc/self/ns/user`, read with
/// stat(2) as Go's `syscall.Stat` does. Rust's `std::fs::metadata` would use
/// statx(2), which runsc 20221219 answers with EINVAL for namespace files.
pub fn namespace_inode(path: &std::path::Path) -> Option<u64> {
    nix::sys::stat::stat(path).ok().map(|st| st.st_ino)
}

/// Moves the calling process into new user and mount namespaces in which ids
/// `0..count` map to the same ids outside. Because the map is not the full
/// 0-4294967295 range, moby's `userns.RunningInUserNS()` is true inside.
///
/// # Errors
/// [`UsernsError`] naming the failed step.
pub fn enter_mapped_userns(count: u32) -> Result<(), UsernsError> {
    let sys = |step| move |source| UsernsError::Sys { step, source };
    let (go_read, go_write) = nix::unistd::pipe().map_err(sys("create a pipe"))?;
    let me = nix::unistd::getpid();
    // SAFETY: the caller guarantees the process is single-threaded, so the
    // child may allocate and do I/O freely before it exits.
    match unsafe { fork() }.map_err(sys("fork the map writer"))? {
        ForkResult::Child => {
            drop(go_write);
            let mut byte = [0u8; 1];
            let ok = std::fs::File::from(go_read).read_exact(&mut byte).is_ok()
                && write_maps(me, count).is_ok();
            // SAFETY: _exit is the correct way to leave a forked child
            // without running the parent's destructors twice.
            unsafe { nix::libc::_exit(if ok { 0 } else { 1 }) }
        }
        ForkResult::Parent { child } => {
            drop(go_read);
            let unshared = nix::sched::unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS);
            // Tell the writer to go (or to give up, when unshare failed:
            // then it writes maps for a namespace we are not in, which fails).
            let _ = std::fs::File::from(go_write).write_all(b"x");
            let status = waitpid(child, None).map_err(sys("wait for the map writer"))?;
            unshared.map_err(sys("unshare a user namespace"))?;
            if status != WaitStatus::Exited(child, 0) {
                return Err(UsernsError::Maps {
                    pid: me.as_raw(),
                    status,
                });
            }
            Ok(())
        }
    }
}

fn write_maps(pid: Pid, count: u32) -> std::io::Result<()> {
    let map = format!("0 0 {count}\n");
    std::fs::write(format!("/proc/{pid}/uid_map"), &map)?;
    std::fs::write(format!("/proc/{pid}/gid_map"), &map)
}

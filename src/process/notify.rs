//! Waiting without polling: for a file to be written to (inotify(7)) and for
//! a child to exit without reaping it (waitid(2) with `WNOWAIT`).
//!
//! Both block a thread that then wakes a loop which does the real work
//! (reading the file, reaping through [`super::child::Supervised`]). Inside
//! gVisor's ptrace platform every system call of a polling loop costs tens
//! of microseconds of host CPU, so on a small machine a 10 ms poll across
//! many cells is CPU that dockerd does not get.

use std::path::Path;

use nix::errno::Errno;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use nix::sys::wait::{Id, WaitPidFlag, waitid};
use nix::unistd::Pid;

/// An inotify watch for writes to one file.
#[derive(Debug)]
pub struct FileWatch {
    inotify: Inotify,
}

impl FileWatch {
    /// Watches `path` for writes (`IN_MODIFY`).
    ///
    /// # Errors
    /// When inotify is unavailable or the file cannot be watched.
    pub fn new(path: &Path) -> nix::Result<FileWatch> {
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC)?;
        inotify.add_watch(path, AddWatchFlags::IN_MODIFY)?;
        Ok(FileWatch { inotify })
    }

    /// Blocks until the file has been written to since the last call.
    /// Returns false when the watch failed and will not wake again.
    pub fn wait(&self) -> bool {
        loop {
            match self.inotify.read_events() {
                Ok(_) => return true,
                Err(Errno::EINTR) => continue,
                Err(_) => return false,
            }
        }
    }
}

/// Blocks until child `pid` has exited, and leaves it unreaped for its
/// owner. Returns at once when `pid` is not (or no longer) a child.
pub fn wait_exited_unreaped(pid: i32) {
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT;
    while let Err(Errno::EINTR) = waitid(Id::Pid(Pid::from_raw(pid)), flags) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::time::Duration;

    #[rstest::rstest]
    #[timeout(Duration::from_secs(60))]
    fn a_write_wakes_the_watch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        std::fs::write(&path, "").unwrap();
        let watch = FileWatch::new(&path).unwrap();
        let writer = std::thread::spawn({
            let path = path.clone();
            move || {
                let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
                file.write_all(b"failed to start daemon: x\n").unwrap();
            }
        });
        assert!(watch.wait());
        writer.join().unwrap();
    }

    #[rstest::rstest]
    #[timeout(Duration::from_secs(60))]
    fn the_exit_is_seen_and_the_child_stays_for_its_owner() {
        let mut child = std::process::Command::new("/bin/sh")
            .args(["-c", "exit 7"])
            .spawn()
            .unwrap();
        wait_exited_unreaped(child.id() as i32);
        // Still unreaped: its owner gets the status.
        let status = child.try_wait().unwrap().expect("the child has exited");
        assert_eq!(status.code(), Some(7));
        // Not a child any more: returns at once.
        wait_exited_unreaped(child.id() as i32);
    }
}

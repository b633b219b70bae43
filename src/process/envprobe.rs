//! The system calls behind `dindcheck doctor`'s probes: fresh namespaces, an
//! nf_tables nat chain, the legacy iptables nat table, a bridge, an overlay
//! mount and a cgroup hierarchy; and [`fork_with`], which runs the doctor
//! and its probes in forked copies of a single-threaded process.
//!
//! Only the doctor's probe child (forked by the doctor, or `dindcheck
//! __doctor-probe` from a multi-threaded caller) calls the probes, and only
//! after it has entered a fresh network namespace (for anything that touches
//! netfilter or links) or a private mount namespace (for mounts). Nothing
//! here may ever run in the caller's own namespaces: a bridge, a table or a
//! mount made there would change the machine the doctor is only meant to
//! look at. A mount is undone again; a table or bridge is left in the
//! probe's network namespace, which nothing else uses and which dies with the
//! child, taking them along: deleting them again would only wait for the
//! kernel (a bridge's unregistration waits for RCU grace periods, 30-110 ms
//! each on a host kernel) on the path to every cell's dockerd.
//!
//! Why fork without exec: inside gVisor every exec costs tens of
//! milliseconds (the ptrace platform traps each system call of the new
//! image's start-up), and the doctor runs before every cell's dockerd. A
//! forked copy of the single-threaded agent or doctor starts in a fraction of
//! that and needs no command line: its work is a closure, its answer comes
//! back over a pipe.
//!
//! The netlink messages are built by hand (no netlink crate is a dependency):
//! they are a handful of fixed layouts from `linux/netlink.h`,
//! `linux/netfilter/nfnetlink.h`, `linux/netfilter/nf_tables.h` and
//! `linux/rtnetlink.h`.

use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::libc;
use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid};

/// A probe's system call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{step} failed")]
pub struct SysError {
    /// What was being done, e.g. `socket(AF_NETLINK, NETLINK_NETFILTER)`.
    pub step: &'static str,
    /// The errno.
    #[source]
    pub errno: Errno,
}

impl SysError {
    /// A failure from a raw errno value.
    pub fn from_raw(step: &'static str, errno: i32) -> SysError {
        SysError {
            step,
            errno: Errno::from_raw(errno),
        }
    }

    /// The errno's symbolic name (`EPROTONOSUPPORT`).
    pub fn errno_name(&self) -> String {
        format!("{:?}", self.errno)
    }

    /// The errno's description (`Protocol not supported`).
    pub fn description(&self) -> &'static str {
        self.errno.desc()
    }
}

fn fail(step: &'static str) -> impl FnOnce(Errno) -> SysError {
    move |errno| SysError { step, errno }
}

/// Why a forked child gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum ForkError {
    /// The process runs other threads, which fork(2) would not copy: a lock
    /// one of them held would stay locked in the child forever.
    #[error("cannot fork without exec: the process runs {threads} threads")]
    Threaded {
        /// How many threads /proc/self/task lists.
        threads: usize,
    },
    /// /proc/self/task could not be read, so the thread count is unknown.
    #[error("cannot fork without exec: failed to count the threads in /proc/self/task")]
    ThreadCount(#[source] std::io::Error),
    /// A system call around the child failed.
    #[error("failed to run a forked child")]
    Sys(#[source] SysError),
    /// It did not finish in time (it was killed).
    #[error("the forked child did not finish within {0:?}")]
    Timeout(Duration),
    /// It failed, or exited without an answer.
    #[error("the forked child exited with {status}: {message}")]
    Failed {
        /// How it ended (`exit status 1`, `signal 9 (SIGKILL)`).
        status: String,
        /// What it sent instead of an answer.
        message: String,
    },
}

/// A forked copy of this process at work; see [`fork_with`]. Dropping it
/// before [`Forked::finish`] kills and reaps the child.
#[derive(Debug)]
pub struct Forked {
    pid: Pid,
    answer: Option<File>,
    reaped: bool,
}

/// Forks a copy of this process that adds `env` to its environment, runs
/// `work`, sends back what it returns over a pipe and exits (1 for an
/// `Err`, which is sent as the message, 101 for a panic). The copy gets
/// `PR_SET_PDEATHSIG(SIGKILL)`, so it never outlives this process.
///
/// The copy runs ordinary Rust code (it allocates, writes files, may spawn
/// and fork), which after fork(2) is sound only if no other thread could
/// have held a lock at the moment of the fork; so this refuses to fork
/// unless /proc/self/task lists exactly one thread.
///
/// # Errors
/// [`ForkError::Threaded`] or [`ForkError::ThreadCount`] when the process
/// is not known to be single-threaded; [`ForkError::Sys`] when the pipe or
/// the fork fails.
pub fn fork_with<F>(env: &[(OsString, OsString)], work: F) -> Result<Forked, ForkError>
where
    F: FnOnce() -> Result<Vec<u8>, String>,
{
    let threads = std::fs::read_dir("/proc/self/task")
        .map_err(ForkError::ThreadCount)?
        .count();
    if threads != 1 {
        return Err(ForkError::Threaded { threads });
    }
    let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)
        .map_err(|errno| ForkError::Sys(fail("pipe2")(errno)))?;
    let parent = nix::unistd::getpid();
    // SAFETY: the process is single-threaded (checked above), so the child
    // is a complete copy in which no lock can be held by a thread that is
    // gone; it may allocate and do I/O freely, and it leaves with _exit.
    match unsafe { nix::unistd::fork() } {
        Err(errno) => Err(ForkError::Sys(fail("fork")(errno))),
        Ok(ForkResult::Child) => {
            drop(read);
            let code = run_forked(parent, File::from(write), env, work);
            // SAFETY: _exit ends the copy without unwinding into the
            // parent's stack frames or running their destructors twice.
            unsafe { libc::_exit(code) }
        }
        Ok(ForkResult::Parent { child }) => Ok(Forked {
            pid: child,
            answer: Some(File::from(read)),
            reaped: false,
        }),
    }
}

/// The child's side of [`fork_with`]; returns its exit code.
fn run_forked<F>(parent: Pid, mut out: File, env: &[(OsString, OsString)], work: F) -> i32
where
    F: FnOnce() -> Result<Vec<u8>, String>,
{
    // The parent may have died between fork and prctl; then the signal
    // would never come (prctl(2)), so leave now.
    if nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).is_err() || nix::unistd::getppid() != parent
    {
        return 1;
    }
    for (key, value) in env {
        // SAFETY: this copy is single-threaded (fork_with checked the
        // parent, and nothing has started a thread since), so no other
        // thread can read the environment while it changes.
        unsafe { std::env::set_var(key, value) };
    }
    let (code, bytes) = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
        Ok(Ok(answer)) => (0, answer),
        Ok(Err(message)) => (1, message.into_bytes()),
        Err(_) => (101, b"panicked".to_vec()),
    };
    match out.write_all(&bytes) {
        Ok(()) => code,
        Err(_) => 1,
    }
}

impl Forked {
    /// Reads the child's answer until it exits, and reaps it; a child still
    /// running after `timeout` is killed.
    ///
    /// # Errors
    /// [`ForkError::Timeout`], [`ForkError::Failed`] for a child that
    /// reported a failure or died, [`ForkError::Sys`] when reading fails.
    pub fn finish(mut self, timeout: Duration) -> Result<Vec<u8>, ForkError> {
        let deadline = Instant::now() + timeout;
        let mut answer = Vec::new();
        if let Some(file) = self.answer.take() {
            match read_until_eof(file, deadline, &mut answer) {
                Ok(true) => {}
                Ok(false) => {
                    self.kill();
                    return Err(ForkError::Timeout(timeout));
                }
                Err(err) => {
                    self.kill();
                    return Err(ForkError::Sys(err));
                }
            }
        }
        // The pipe closes when the child exits, so it is (about to be) a
        // zombie; poll briefly rather than block without a deadline.
        let mut backoff = Duration::from_micros(200);
        let status = loop {
            match waitpid(self.pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => {}
                Ok(status) => break status,
                Err(Errno::EINTR) => continue,
                Err(errno) => {
                    self.reaped = true; // ECHILD: nothing left to reap.
                    return Err(ForkError::Sys(fail("waitpid")(errno)));
                }
            }
            let now = Instant::now();
            if now >= deadline {
                self.kill();
                return Err(ForkError::Timeout(timeout));
            }
            std::thread::sleep(backoff.min(deadline - now));
            backoff = (backoff * 2).min(Duration::from_millis(10));
        };
        self.reaped = true;
        match status {
            WaitStatus::Exited(_, 0) => Ok(answer),
            other if answer.is_empty() => Err(ForkError::Failed {
                status: describe_wait(other),
                message: "no answer".to_owned(),
            }),
            other => Err(ForkError::Failed {
                status: describe_wait(other),
                message: String::from_utf8_lossy(&answer).trim().to_owned(),
            }),
        }
    }

    /// SIGKILL and reap, within five seconds; ESRCH counts as success.
    fn kill(&mut self) {
        if self.reaped {
            return;
        }
        let _ = nix::sys::signal::kill(self.pid, Signal::SIGKILL);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            match waitpid(self.pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(Errno::EINTR) => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                _ => break,
            }
        }
        self.reaped = true;
    }
}

impl Drop for Forked {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reads `file` to its end into `out`; `Ok(false)` when `deadline` passed
/// first. poll(2), not a blocking read: a child that hangs must not hang
/// its parent.
fn read_until_eof(mut file: File, deadline: Instant, out: &mut Vec<u8>) -> Result<bool, SysError> {
    let mut buf = vec![0u8; 16384];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        let mut pfd = libc::pollfd {
            fd: file.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let wait_ms = i32::try_from(left.as_millis().max(1)).unwrap_or(i32::MAX);
        // SAFETY: `pfd` is one valid pollfd for the whole call.
        let ready = unsafe { libc::poll(&mut pfd, 1, wait_ms) };
        match Errno::result(ready) {
            Ok(0) | Err(Errno::EINTR) => continue,
            Ok(_) => {}
            Err(errno) => return Err(fail("poll")(errno)),
        }
        match file.read(&mut buf) {
            Ok(0) => return Ok(true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => {
                return Err(SysError::from_raw(
                    "read",
                    err.raw_os_error().unwrap_or(libc::EIO),
                ));
            }
        }
    }
}

/// `exit status 1` or `signal 9 (SIGKILL)`, as `child::describe_status`.
fn describe_wait(status: WaitStatus) -> String {
    match status {
        WaitStatus::Exited(_, code) => format!("exit status {code}"),
        WaitStatus::Signaled(_, signal, _) => format!("signal {} ({signal})", signal as i32),
        other => format!("{other:?}"),
    }
}

/// Moves the calling process into a fresh network namespace.
///
/// # Errors
/// The unshare(2) error (EPERM without CAP_SYS_ADMIN).
pub fn unshare_network() -> Result<(), SysError> {
    nix::sched::unshare(CloneFlags::CLONE_NEWNET).map_err(fail("unshare(CLONE_NEWNET)"))
}

/// Moves the calling process into a fresh mount namespace.
///
/// # Errors
/// The unshare(2) error.
pub fn unshare_mounts() -> Result<(), SysError> {
    nix::sched::unshare(CloneFlags::CLONE_NEWNS).map_err(fail("unshare(CLONE_NEWNS)"))
}

/// Makes every mount private (`mount --make-rprivate /`), so that mounts
/// made afterwards cannot propagate to another namespace.
///
/// # Errors
/// The mount(2) error: runsc 20221219 answers EINVAL (its sentry has no
/// shared subtrees at all, so nothing can propagate there anyway).
pub fn make_mounts_private() -> Result<(), SysError> {
    nix::mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(fail("mount(/, MS_REC|MS_PRIVATE)"))
}

/// Makes `/` a recursive slave mount (MS_REC|MS_SLAVE), what dockerd does
/// in a fresh mount namespace before it unpacks an image layer. Call it only
/// in a mount namespace of the caller's own.
///
/// # Errors
/// The mount(2) error: runsc 20221219 answers EINVAL.
pub fn make_root_rslave() -> Result<(), SysError> {
    nix::mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_SLAVE,
        None::<&str>,
    )
    .map_err(fail("mount(/, MS_REC|MS_SLAVE)"))
}

/// Mounts a tmpfs at `target`.
///
/// # Errors
/// The mount(2) error.
pub fn mount_tmpfs(target: &Path) -> Result<(), SysError> {
    super::mounts::mount_tmpfs(target, "mode=0700").map_err(fail("mount(tmpfs)"))
}

/// Mounts an overlay of `lower` and `upper` (with `work`) at `target`, as
/// dockerd's overlay2 driver does for every layer.
///
/// # Errors
/// The mount(2) error (ENODEV without overlay support; EINVAL for an upper
/// directory the filesystem cannot serve).
pub fn mount_overlay(
    lower: &Path,
    upper: &Path,
    work: &Path,
    target: &Path,
) -> Result<(), SysError> {
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.display(),
        upper.display(),
        work.display()
    );
    nix::mount::mount(
        Some("overlay"),
        target,
        Some("overlay"),
        MsFlags::empty(),
        Some(options.as_str()),
    )
    .map_err(fail("mount(overlay)"))
}

/// Mounts the cgroup v1 hierarchy of `controller` at `target`.
///
/// # Errors
/// The mount(2) error: EINVAL when the kernel (or gVisor) lacks the
/// controller, EBUSY when it is bound to the cgroup v2 hierarchy.
pub fn mount_cgroup_v1(controller: &str, target: &Path) -> Result<(), SysError> {
    super::mounts::mount_cgroup_v1(controller, target).map_err(fail("mount(cgroup)"))
}

/// Creates the directory `path` (its parent must exist).
///
/// # Errors
/// The mkdir(2) error.
pub fn make_dir(path: &Path) -> Result<(), SysError> {
    std::fs::create_dir(path)
        .map_err(|err| SysError::from_raw("mkdir", err.raw_os_error().unwrap_or(libc::EIO)))
}

/// Detaches the mount at `target`.
///
/// # Errors
/// The umount2(2) error.
pub fn unmount(target: &Path) -> Result<(), SysError> {
    nix::mount::umount2(target, MntFlags::MNT_DETACH).map_err(fail("umount2"))
}

// linux/netlink.h
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLA_F_NESTED: u16 = 0x8000;
const NLMSG_HDRLEN: usize = 16;
// linux/netfilter/nfnetlink.h
const NETLINK_NETFILTER: i32 = 12;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
// linux/netfilter/nf_tables.h
const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFTA_TABLE_NAME: u16 = 1;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
// linux/netfilter.h
const NF_INET_POST_ROUTING: u32 = 4;
// linux/rtnetlink.h, linux/if_link.h
const RTM_NEWLINK: u16 = 16;
const IFLA_IFNAME: u16 = 3;
const IFLA_LINKINFO: u16 = 18;
const IFLA_INFO_KIND: u16 = 1;
// linux/sockios.h
const SIOCBRADDBR: u64 = 0x89a0;
// linux/netfilter_ipv4/ip_tables.h: IPT_BASE_CTL + 0 and + 3
const IPT_SO_GET_INFO: i32 = 64;
const IPT_SO_GET_REVISION_TARGET: i32 = 67;
const IPT_TABLE_MAXNAMELEN: usize = 32;
// linux/netfilter/x_tables.h: XT_EXTENSION_MAXNAMELEN
const XT_EXTENSION_MAXNAMELEN: usize = 29;

/// One netlink message under construction.
struct Message {
    buf: Vec<u8>,
    nests: Vec<usize>,
}

impl Message {
    fn new(kind: u16, flags: u16, seq: u32) -> Message {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, set by finish
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel's
        Message {
            buf,
            nests: Vec::new(),
        }
    }

    /// `struct nfgenmsg`: family, version, resource id (big endian).
    fn nfgen(mut self, family: u8, res_id: u16) -> Message {
        self.buf.push(family);
        self.buf.push(0); // NFNETLINK_V0
        self.buf.extend_from_slice(&res_id.to_be_bytes());
        self
    }

    /// `struct ifinfomsg`, all zero: AF_UNSPEC, no index, no flags.
    fn ifinfo(mut self) -> Message {
        self.buf.extend_from_slice(&[0u8; 16]);
        self
    }

    fn attr(mut self, kind: u16, payload: &[u8]) -> Message {
        let len = u16::try_from(4 + payload.len()).unwrap_or(u16::MAX);
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        self.pad();
        self
    }

    fn attr_str(self, kind: u16, value: &str) -> Message {
        let mut bytes = value.as_bytes().to_vec();
        bytes.push(0);
        self.attr(kind, &bytes)
    }

    /// Opens a nested attribute. libmnl (under iptables-nft) marks nests
    /// with NLA_F_NESTED; vishvananda/netlink (under dockerd) does not, and
    /// gVisor's rtnetlink does not recognise the flagged form, so each
    /// probe speaks like the client it stands in for.
    fn begin_nest(mut self, kind: u16, flagged: bool) -> Message {
        self.nests.push(self.buf.len());
        let kind = if flagged { kind | NLA_F_NESTED } else { kind };
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self
    }

    fn end_nest(mut self) -> Message {
        if let Some(start) = self.nests.pop() {
            let len = u16::try_from(self.buf.len() - start).unwrap_or(u16::MAX);
            self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        }
        self
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.pad();
        let len = u32::try_from(self.buf.len()).unwrap_or(u32::MAX);
        self.buf[..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

/// A netlink socket talking to the kernel.
struct Netlink {
    fd: OwnedFd,
}

impl Netlink {
    fn open(protocol: i32, step: &'static str) -> Result<Netlink, SysError> {
        // SAFETY: socket(2) takes no pointers; the result is checked below.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                protocol,
            )
        };
        let fd = Errno::result(fd).map_err(fail(step))?;
        // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Netlink { fd })
    }

    /// Sends `messages` in one datagram and waits for an acknowledgement of
    /// every sequence number in `acked`; the first error reply wins.
    fn transact(
        &self,
        messages: &[Vec<u8>],
        acked: &[u32],
        step: &'static str,
    ) -> Result<(), SysError> {
        let datagram: Vec<u8> = messages.concat();
        // SAFETY: the buffer is valid for its length; a null address sends
        // to the kernel, which is what an unconnected netlink socket does.
        let sent = unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                datagram.as_ptr().cast(),
                datagram.len(),
                0,
            )
        };
        Errno::result(sent).map_err(fail(step))?;
        let mut waiting: Vec<u32> = acked.to_vec();
        let mut buf = vec![0u8; 65536];
        while !waiting.is_empty() {
            // A probe must never hang: wait at most two seconds for each
            // reply. (poll, not SO_RCVTIMEO: runsc 20221219's netlink
            // sockets answer that option with ENOPROTOOPT.)
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: `pfd` is one valid pollfd for the whole call.
            let ready = unsafe { libc::poll(&mut pfd, 1, 2000) };
            match Errno::result(ready) {
                Ok(0) => {
                    return Err(SysError {
                        step,
                        errno: Errno::ETIMEDOUT,
                    });
                }
                Ok(_) => {}
                Err(errno) => return Err(SysError { step, errno }),
            }
            // SAFETY: `buf` is valid for writes of its full length.
            let got =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            let got = Errno::result(got).map_err(fail(step))?;
            let got = usize::try_from(got).unwrap_or(0);
            for (kind, seq, payload) in parse_messages(&buf[..got]) {
                match kind {
                    NLMSG_ERROR => {
                        let code = payload
                            .get(..4)
                            .and_then(|b| b.try_into().ok())
                            .map_or(0, i32::from_ne_bytes);
                        if code != 0 {
                            return Err(SysError {
                                step,
                                errno: Errno::from_raw(-code),
                            });
                        }
                        waiting.retain(|&s| s != seq);
                    }
                    NLMSG_DONE => waiting.retain(|&s| s != seq),
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

/// Splits a received datagram into `(type, seq, payload)` triples.
fn parse_messages(mut data: &[u8]) -> Vec<(u16, u32, &[u8])> {
    let mut out = Vec::new();
    while data.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
        if len < NLMSG_HDRLEN || len > data.len() {
            break;
        }
        let kind = u16::from_ne_bytes([data[4], data[5]]);
        let seq = u32::from_ne_bytes([data[8], data[9], data[10], data[11]]);
        out.push((kind, seq, &data[NLMSG_HDRLEN..len]));
        let aligned = len.next_multiple_of(4).min(data.len());
        data = &data[aligned..];
    }
    out
}

fn nft_batch(inner: Vec<Vec<u8>>, first_seq: u32) -> Vec<Vec<u8>> {
    let res = NFNL_SUBSYS_NFTABLES;
    let af_unspec = libc::AF_UNSPEC as u8;
    let last_seq = first_seq + u32::try_from(inner.len()).unwrap_or(0) + 1;
    let mut all = vec![
        Message::new(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, first_seq)
            .nfgen(af_unspec, res)
            .finish(),
    ];
    all.extend(inner);
    all.push(
        Message::new(NFNL_MSG_BATCH_END, NLM_F_REQUEST, last_seq)
            .nfgen(af_unspec, res)
            .finish(),
    );
    all
}

/// Creates an nf_tables table `table` (family ip) holding a `nat` chain on
/// the postrouting hook: exactly what iptables-nft needs to do for
/// `iptables -t nat -N DOCKER`.
///
/// Call this only in a fresh network namespace that dies with the caller:
/// tables are per namespace, and the table is left for the namespace to
/// take.
///
/// # Errors
/// The failing step: the socket (EPROTONOSUPPORT under gVisor, whose
/// netstack has no nf_tables), or the kernel's reply to the table or chain
/// (e.g. ENOENT/EOPNOTSUPP without nat support).
pub fn nft_nat_chain(table: &str) -> Result<(), SysError> {
    let nl = Netlink::open(NETLINK_NETFILTER, "socket(AF_NETLINK, NETLINK_NETFILTER)")?;
    let af_inet = libc::AF_INET as u8;
    let new_table = Message::new(
        (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE,
        NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK,
        2,
    )
    .nfgen(af_inet, 0)
    .attr_str(NFTA_TABLE_NAME, table)
    .finish();
    let new_chain = Message::new(
        (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWCHAIN,
        NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK,
        3,
    )
    .nfgen(af_inet, 0)
    .attr_str(NFTA_CHAIN_TABLE, table)
    .attr_str(NFTA_CHAIN_NAME, "POSTROUTING")
    .begin_nest(NFTA_CHAIN_HOOK, true)
    .attr(NFTA_HOOK_HOOKNUM, &NF_INET_POST_ROUTING.to_be_bytes())
    .attr(NFTA_HOOK_PRIORITY, &100u32.to_be_bytes())
    .end_nest()
    .attr_str(NFTA_CHAIN_TYPE, "nat")
    .finish();
    nl.transact(
        &nft_batch(vec![new_table, new_chain], 1),
        &[2, 3],
        "nf_tables: create a nat chain",
    )
}

/// `struct ipt_getinfo` from `linux/netfilter_ipv4/ip_tables.h`.
#[repr(C)]
struct IptGetinfo {
    name: [u8; IPT_TABLE_MAXNAMELEN],
    valid_hooks: u32,
    hook_entry: [u32; 5],
    underflow: [u32; 5],
    num_entries: u32,
    size: u32,
}

/// A raw IPv4 socket, the handle of the legacy iptables socket options.
fn raw_ipv4_socket() -> Result<OwnedFd, SysError> {
    // SAFETY: socket(2) takes no pointers; the result is checked below.
    let fd = unsafe {
        libc::socket(
            libc::AF_INET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::IPPROTO_RAW,
        )
    };
    let fd = Errno::result(fd).map_err(fail("socket(AF_INET, SOCK_RAW)"))?;
    // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    Ok(fd)
}

/// Reads the header of the legacy iptables table `table` over
/// `getsockopt(IPT_SO_GET_INFO)` on a raw socket, which is the first thing
/// iptables-legacy does. Read-only, but on a host kernel the first access
/// instantiates the table in the namespace (and may load `iptable_nat`), so
/// call it only in a fresh network namespace.
///
/// # Errors
/// EPERM/EACCES for the raw socket without CAP_NET_RAW (or, under gVisor,
/// without `runsc --net-raw`), ENOENT for a table the kernel does not have.
pub fn legacy_table_info(table: &str) -> Result<(), SysError> {
    let fd = raw_ipv4_socket()?;
    let mut info = IptGetinfo {
        name: [0; IPT_TABLE_MAXNAMELEN],
        valid_hooks: 0,
        hook_entry: [0; 5],
        underflow: [0; 5],
        num_entries: 0,
        size: 0,
    };
    let name = table.as_bytes();
    let n = name.len().min(IPT_TABLE_MAXNAMELEN - 1);
    info.name[..n].copy_from_slice(&name[..n]);
    let mut len = size_of::<IptGetinfo>() as libc::socklen_t;
    // SAFETY: `info` is a properly laid out ipt_getinfo that lives for the
    // whole call, and `len` holds its exact size.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_IP,
            IPT_SO_GET_INFO,
            std::ptr::from_mut(&mut info).cast(),
            &mut len,
        )
    };
    Errno::result(rc)
        .map(drop)
        .map_err(fail("getsockopt(IPT_SO_GET_INFO)"))
}

/// `struct xt_get_revision` from `linux/netfilter/x_tables.h`.
#[repr(C)]
struct XtGetRevision {
    name: [u8; XT_EXTENSION_MAXNAMELEN],
    revision: u8,
}

/// Asks the legacy iptables interface whether the MASQUERADE target exists
/// in revision 0 (`getsockopt(IPT_SO_GET_REVISION_TARGET)`), as iptables does
/// before dockerd's first nat rule uses it. Read-only; on a host kernel
/// it may load the target's module, so call it only in a fresh network
/// namespace and only when dockerd would load it too.
///
/// # Errors
/// ENOENT (no such target) or EPROTONOSUPPORT (not in that revision), which
/// iptables reports as "Extension … revision 0 not supported"; ENOPROTOOPT
/// means a kernel too old to answer, which iptables treats as supported, so
/// it is not an error here.
pub fn legacy_masquerade_target() -> Result<(), SysError> {
    let name = "MASQUERADE";
    let fd = raw_ipv4_socket()?;
    let mut rev = XtGetRevision {
        name: [0; XT_EXTENSION_MAXNAMELEN],
        revision: 0,
    };
    let n = name.len().min(XT_EXTENSION_MAXNAMELEN - 1);
    rev.name[..n].copy_from_slice(&name.as_bytes()[..n]);
    let mut len = size_of::<XtGetRevision>() as libc::socklen_t;
    // SAFETY: `rev` is a properly laid out xt_get_revision that lives for
    // the whole call, and `len` holds its exact size.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_IP,
            IPT_SO_GET_REVISION_TARGET,
            std::ptr::from_mut(&mut rev).cast(),
            &mut len,
        )
    };
    match Errno::result(rc) {
        Ok(_) | Err(Errno::ENOPROTOOPT) => Ok(()),
        Err(errno) => Err(SysError {
            step: "getsockopt(IPT_SO_GET_REVISION_TARGET, MASQUERADE)",
            errno,
        }),
    }
}

/// Creates a bridge named `name` with RTM_NEWLINK, as dockerd's bridge
/// driver does for docker0.
///
/// Call this only in a fresh network namespace that dies with the caller:
/// the bridge is left for the namespace to take.
///
/// # Errors
/// The socket error or the kernel's reply (runsc 20221219's netstack
/// rejects the link kind).
pub fn netlink_bridge(name: &str) -> Result<(), SysError> {
    let nl = Netlink::open(libc::NETLINK_ROUTE, "socket(AF_NETLINK, NETLINK_ROUTE)")?;
    let create = Message::new(
        RTM_NEWLINK,
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        1,
    )
    .ifinfo()
    .attr_str(IFLA_IFNAME, name)
    .begin_nest(IFLA_LINKINFO, false)
    .attr_str(IFLA_INFO_KIND, "bridge")
    .end_nest()
    .finish();
    nl.transact(&[create], &[1], "RTM_NEWLINK bridge")
}

/// Creates a bridge with the old SIOCBRADDBR ioctl (dockerd 20.10's
/// fallback when netlink fails).
///
/// Call this only in a fresh network namespace that dies with the caller:
/// the bridge is left for the namespace to take.
///
/// # Errors
/// The socket or ioctl error (ENOTTY, "inappropriate ioctl for device",
/// under runsc 20221219).
pub fn ioctl_bridge(name: &str) -> Result<(), SysError> {
    // SAFETY: socket(2) takes no pointers; the result is checked below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    let fd = Errno::result(fd).map_err(fail("socket(AF_INET, SOCK_STREAM)"))?;
    // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut cname = name.as_bytes().to_vec();
    cname.truncate(15); // IFNAMSIZ - 1
    cname.push(0);
    // SAFETY: the bridge ioctl reads a NUL-terminated name, which `cname`
    // is, and it outlives the call.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), SIOCBRADDBR as _, cname.as_ptr()) };
    Errno::result(rc)
        .map(drop)
        .map_err(fail("ioctl(SIOCBRADDBR)"))
}

/// Sets the loopback interface `lo` up in the caller's network namespace: a
/// fresh namespace (a native cell's) starts with it down, and the `pull`
/// depth's registry listens on 127.0.0.1. Inside runsc it is up already.
///
/// # Errors
/// The failing socket or ioctl call.
pub fn bring_up_loopback() -> Result<(), SysError> {
    // SAFETY: socket(2) takes no pointers; the result is checked below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    let fd = Errno::result(fd).map_err(fail("socket(AF_INET, SOCK_DGRAM)"))?;
    // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: ifreq is plain old data; all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *slot = *byte as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the NUL-terminated name in `req` and writes
    // its flags back into it; `req` outlives the call.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut req) };
    Errno::result(rc).map_err(fail("ioctl(SIOCGIFFLAGS, lo)"))?;
    // SAFETY: the union member SIOCGIFFLAGS filled is ifru_flags.
    let flags = unsafe { req.ifr_ifru.ifru_flags };
    let up = (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
    if flags & up == up {
        return Ok(());
    }
    req.ifr_ifru.ifru_flags = flags | up;
    // SAFETY: as above; SIOCSIFFLAGS reads the name and the flags.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCSIFFLAGS as _, &req) };
    Errno::result(rc)
        .map(drop)
        .map_err(fail("ioctl(SIOCSIFFLAGS, lo)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn messages_have_their_length_and_aligned_attributes() {
        let msg = Message::new(RTM_NEWLINK, NLM_F_REQUEST, 7)
            .ifinfo()
            .attr_str(IFLA_IFNAME, "br")
            .begin_nest(IFLA_LINKINFO, true)
            .attr_str(IFLA_INFO_KIND, "bridge")
            .end_nest()
            .finish();
        // 16 header + 16 ifinfomsg + 8 name ("br\0" padded) + 4 nest + 12 kind.
        assert_eq!(msg.len(), 56);
        assert_eq!(u32::from_ne_bytes(msg[..4].try_into().unwrap()), 56);
        let nest_len = u16::from_ne_bytes(msg[40..42].try_into().unwrap());
        assert_eq!(nest_len, 16);
        let nest_kind = u16::from_ne_bytes(msg[42..44].try_into().unwrap());
        assert_eq!(nest_kind, IFLA_LINKINFO | NLA_F_NESTED);
    }

    #[rstest]
    #[case(0, None)]
    #[case(-95, Some(Errno::EOPNOTSUPP))]
    fn error_replies_are_split_out(#[case] code: i32, #[case] errno: Option<Errno>) {
        let mut reply = Message::new(NLMSG_ERROR, 0, 5).finish();
        reply.extend_from_slice(&code.to_ne_bytes());
        let len = reply.len() as u32;
        reply[..4].copy_from_slice(&len.to_ne_bytes());
        let parsed = parse_messages(&reply);
        assert_eq!(parsed.len(), 1);
        let (kind, seq, payload) = parsed[0];
        assert_eq!((kind, seq), (NLMSG_ERROR, 5));
        let got = i32::from_ne_bytes(payload[..4].try_into().unwrap());
        assert_eq!((got != 0).then(|| Errno::from_raw(-got)), errno);
    }

    #[rstest]
    #[timeout(std::time::Duration::from_secs(60))]
    fn a_process_with_other_threads_is_never_forked_without_exec() {
        let (stop, wait) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || wait.recv());
        let forked = fork_with(&[], || Ok(Vec::new()));
        let _ = stop.send(());
        let _ = other.join();
        match forked {
            Err(ForkError::Threaded { threads }) => assert!(threads >= 2, "{threads}"),
            other => panic!("forked a multi-threaded process: {other:?}"),
        }
    }

    #[test]
    fn nft_batches_are_framed() {
        let batch = nft_batch(vec![Message::new(1, 0, 2).finish()], 1);
        assert_eq!(batch.len(), 3);
        assert_eq!(
            u16::from_ne_bytes(batch[0][4..6].try_into().unwrap()),
            NFNL_MSG_BATCH_BEGIN
        );
        assert_eq!(
            u16::from_ne_bytes(batch[2][4..6].try_into().unwrap()),
            NFNL_MSG_BATCH_END
        );
        assert_eq!(u32::from_ne_bytes(batch[2][8..12].try_into().unwrap()), 3);
    }
}

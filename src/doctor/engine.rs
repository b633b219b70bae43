//! What the doctor knows about each dockerd release: the start-up checks
//! and their order, as a function of `dockerd --version`.
//!
//! Pure data from a version string, no I/O. Every fact below was seen in a
//! real run of `scenarios/dockerd-versions.yaml` (bookworm's 20.10.24,
//! trixie's 26.1.5, sid's 28.5.2) and checked against moby's source:
//! - the default bridge: 20.10 retries a failed netlink RTM_NEWLINK with the
//!   SIOCBRADDBR ioctl, 23.0 and later do not
//!   (libnetwork/drivers/bridge/setup_device.go);
//! - the graph driver: 20.10 sets up the layer store before the devices
//!   check, 23.0 and later after it (daemon/daemon.go NewDaemon);
//! - image unpacking (docker load, pull, build): 20.10's chrootarchive used a
//!   plain chroot when it believed it ran in a user namespace and otherwise
//!   remounted / with MS_REC|MS_SLAVE; 23.0 and later always remount
//!   (pkg/chrootarchive goInChroot);
//! - the user-namespace test that lets dockerd skip its devices check
//!   (`userns.RunningInUserNS()`): upstream reads the first line of
//!   /proc/self/uid_map. Debian's docker.io 28.5.2+dfsg4 is built against
//!   moby/sys 0.0~git20260904 (its Static-Built-Using), whose userns package
//!   first compares the inode of /proc/self/ns/user with the initial user
//!   namespace's (PROC_USER_INIT_INO) and reads uid_map only when that file
//!   does not exist. gVisor gives its namespaces small inodes, so that
//!   dockerd believes it runs in a user namespace in every gVisor sandbox.
//!   trixie's 26.1.5+dfsg1 is built against moby/sys 0.0~git20241107
//!   (uid_map only); only sid's binary contains the string
//!   `/proc/self/ns/user`.

use crate::report_format::doctor::UsernsFinding;

/// The inode of the initial user namespace (`PROC_USER_INIT_INO` in the
/// kernel's include/uapi/linux/nsfs.h).
pub const PROC_USER_INIT_INO: u64 = 0xEFFF_FFFD;

/// The first major release without the SIOCBRADDBR bridge fallback, with
/// the graph driver set up after the devices check, and with images always
/// unpacked after a remount of / (no plain chroot in a user namespace).
const MODERN_MAJOR: u32 = 23;

/// How a dockerd decides that it runs in a user namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsernsTest {
    /// The first line of /proc/self/uid_map is not `0 0 4294967295`.
    UidMap,
    /// The inode of /proc/self/ns/user is not [`PROC_USER_INIT_INO`]
    /// (uid_map only when that file does not exist).
    NamespaceInode,
}

/// The dockerd release the doctor predicts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Engine {
    /// `dockerd --version`'s first line, when known.
    pub version: Option<String>,
    /// The major version (20 for 20.10.24), when known.
    pub major: Option<u32>,
    /// How it detects a user namespace.
    pub userns_test: UsernsTest,
}

impl Engine {
    /// The engine a `dockerd --version` line names; an unknown version is
    /// judged like 20.10 where releases differ.
    pub fn from_version(version: Option<&str>) -> Engine {
        let major = version
            .and_then(crate::binaries::version_label)
            .and_then(|label| label.split('.').next()?.parse().ok());
        // Debian's own builds carry `+dfsgN` in the version; 28 is the
        // first built against a moby/sys with the namespace-inode test.
        let debian = version.is_some_and(|v| v.contains("+dfsg"));
        let userns_test = if debian && major.is_some_and(|m| m >= 28) {
            UsernsTest::NamespaceInode
        } else {
            UsernsTest::UidMap
        };
        Engine {
            version: version.map(str::to_owned),
            major,
            userns_test,
        }
    }

    /// Whether a failed netlink bridge is retried with SIOCBRADDBR.
    pub fn has_bridge_ioctl_fallback(&self) -> bool {
        self.major.is_none_or(|m| m < MODERN_MAJOR)
    }

    /// Whether the graph driver is set up after the devices check.
    pub fn graphdriver_after_devices(&self) -> bool {
        self.major.is_some_and(|m| m >= MODERN_MAJOR)
    }

    /// Whether unpacking an image remounts / (MS_REC|MS_SLAVE) when the
    /// dockerd believes it runs in a user namespace: only a plain chroot
    /// before 23.0.
    pub fn remounts_root_in_userns(&self) -> bool {
        self.major.is_some_and(|m| m >= MODERN_MAJOR)
    }

    /// Whether this dockerd will believe it runs in a user namespace here.
    pub fn believes_in_userns(&self, userns: &UsernsFinding) -> bool {
        match (self.userns_test, userns.ns_inode) {
            (UsernsTest::NamespaceInode, Some(inode)) => inode != PROC_USER_INIT_INO,
            _ => userns.in_userns,
        }
    }

    /// One sentence on how this dockerd decides, for the checks.
    pub fn describe_userns_test(&self, userns: &UsernsFinding) -> String {
        match (self.userns_test, userns.ns_inode) {
            (UsernsTest::NamespaceInode, Some(inode)) => format!(
                "it decides by the inode of /proc/self/ns/user ({inode}; the initial namespace's \
                 is {PROC_USER_INIT_INO})"
            ),
            (UsernsTest::NamespaceInode, None) => {
                "it decides by the inode of /proc/self/ns/user, which cannot be read here, so by \
                 uid_map"
                    .to_owned()
            }
            (UsernsTest::UidMap, _) => "it decides by /proc/self/uid_map".to_owned(),
        }
    }

    /// The engine's name in messages: `dockerd 28.5.2+dfsg4`, or `dockerd`.
    pub fn name(&self) -> String {
        match self.version.as_deref().and_then(short_version) {
            Some(v) => format!("dockerd {v}"),
            None => "dockerd".to_owned(),
        }
    }
}

/// `28.5.2+dfsg4` from `Docker version 28.5.2+dfsg4, build 3ef3c07`.
fn short_version(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("Docker version ")?;
    Some(rest.split(',').next().unwrap_or(rest).trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const BOOKWORM: &str = "Docker version 20.10.24+dfsg1, build 297e128";
    const TRIXIE: &str = "Docker version 26.1.5+dfsg1, build 411e817";
    const SID: &str = "Docker version 28.5.2+dfsg4, build 3ef3c07c883be49a2e8097bcf6d2952fce1d70eb";

    #[rstest]
    #[case(Some(BOOKWORM), Some(20), UsernsTest::UidMap, true)]
    #[case(Some(TRIXIE), Some(26), UsernsTest::UidMap, false)]
    #[case(Some(SID), Some(28), UsernsTest::NamespaceInode, false)]
    #[case(
        Some("Docker version 28.5.2, build ecc6942"),
        Some(28),
        UsernsTest::UidMap,
        false
    )]
    #[case(None, None, UsernsTest::UidMap, true)]
    fn versions_map_to_their_start_up(
        #[case] version: Option<&str>,
        #[case] major: Option<u32>,
        #[case] test: UsernsTest,
        #[case] ioctl: bool,
    ) {
        let engine = Engine::from_version(version);
        assert_eq!(engine.major, major);
        assert_eq!(engine.userns_test, test);
        assert_eq!(engine.has_bridge_ioctl_fallback(), ioctl);
        assert_eq!(engine.graphdriver_after_devices(), !ioctl);
    }

    fn finding(uid_map_userns: bool, ns_inode: Option<u64>) -> UsernsFinding {
        UsernsFinding {
            uid_map: Some("0 0 4294967295".to_owned()),
            in_userns: uid_map_userns,
            ns_inode,
        }
    }

    #[test]
    fn only_the_inode_test_sees_gvisor_as_a_user_namespace() {
        let gvisor = finding(false, Some(124));
        let host = finding(false, Some(PROC_USER_INIT_INO));
        let sid = Engine::from_version(Some(SID));
        let trixie = Engine::from_version(Some(TRIXIE));
        assert!(sid.believes_in_userns(&gvisor));
        assert!(!sid.believes_in_userns(&host));
        assert!(!trixie.believes_in_userns(&gvisor));
        // Without the file, the inode test falls back to uid_map.
        assert!(!sid.believes_in_userns(&finding(false, None)));
        assert!(sid.believes_in_userns(&finding(true, None)));
        assert!(sid.describe_userns_test(&gvisor).contains("(124;"));
        assert_eq!(sid.name(), "dockerd 28.5.2+dfsg4");
    }
}

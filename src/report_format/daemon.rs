//! What dockerd said about itself (`GET /info`), as a cell's report keeps it.
//!
//! Plain data: the Engine API client fills it, reporters read it. Nothing
//! here talks to a daemon.

use serde::{Deserialize, Deserializer, Serialize};

/// The parts of `GET /info` that the harness records and classifies on.
///
/// Field names match Docker's JSON in both directions, so a value serialised by the agent can be
/// read back by the harness. Go encodes empty slices as `null`; that decodes as an empty `Vec`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(default)]
pub struct DaemonInfo {
    /// The daemon version, e.g. `20.10.24+dfsg1`.
    #[serde(rename = "ServerVersion")]
    pub server_version: Option<String>,
    /// `cgroupfs`, `systemd` or `none`.
    #[serde(rename = "CgroupDriver")]
    pub cgroup_driver: Option<String>,
    /// `1` or `2`.
    #[serde(rename = "CgroupVersion")]
    pub cgroup_version: Option<String>,
    /// The storage driver, e.g. `overlay2` or `vfs`.
    #[serde(rename = "Driver")]
    pub storage_driver: Option<String>,
    /// Security options such as `name=seccomp,profile=default` or `name=rootless`.
    #[serde(rename = "SecurityOptions", deserialize_with = "null_as_default")]
    pub security_options: Vec<String>,
    /// Warnings the daemon reports about its own configuration.
    #[serde(rename = "Warnings", deserialize_with = "null_as_default")]
    pub warnings: Vec<String>,
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

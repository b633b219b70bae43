//! Everything that calls nix, libc or procfs: spawning and supervising
//! children, sweeping leftovers, signal handling, and the agent's mounts.

pub mod cgroupdirs;
pub mod child;
pub mod envprobe;
pub mod mounts;
pub mod signals;
pub mod stale;
pub mod sweep;
pub mod userns;

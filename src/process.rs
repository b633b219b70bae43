//! Everything that calls nix, libc or procfs: spawning and supervising
//! children, sweeping leftovers, signal handling, the agent's mounts, and
//! waiting for a file's writes or a child's exit without polling.

pub mod cgroupdirs;
pub mod child;
pub mod cpu;
pub mod envprobe;
pub mod memory;
pub mod mounts;
pub mod notify;
pub mod signals;
pub mod stale;
pub mod sweep;
pub mod userns;

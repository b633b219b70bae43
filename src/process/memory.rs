//! How much memory the machine can still give: the kernel's estimate of
//! what new work may use without swapping (`MemAvailable`).

use procfs::Current;

/// `MemAvailable` from /proc/meminfo, in bytes; `None` when it cannot be
/// read (no /proc, a kernel before 3.14).
pub fn available_bytes() -> Option<u64> {
    procfs::Meminfo::current().ok()?.mem_available
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_machine_has_some_memory_available() {
        let bytes = super::available_bytes().expect("Linux has /proc/meminfo with MemAvailable");
        assert!(bytes > 0);
    }
}

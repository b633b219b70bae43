//! How idle the machine's CPUs are: the idle share of all CPU time between
//! two readings of `/proc/stat` (idle and iowait count as idle).

use procfs::CurrentSI;

/// One reading of the machine's cumulative CPU times, in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTimes {
    idle: u64,
    total: u64,
}

impl CpuTimes {
    /// Reads `/proc/stat`; `None` when it cannot be read.
    pub fn now() -> Option<CpuTimes> {
        let cpu = procfs::KernelStats::current().ok()?.total;
        Some(CpuTimes::from_ticks(
            cpu.idle + cpu.iowait.unwrap_or(0),
            cpu.user
                + cpu.nice
                + cpu.system
                + cpu.idle
                + cpu.iowait.unwrap_or(0)
                + cpu.irq.unwrap_or(0)
                + cpu.softirq.unwrap_or(0)
                + cpu.steal.unwrap_or(0),
        ))
    }

    /// A reading with these idle and total ticks.
    pub fn from_ticks(idle: u64, total: u64) -> CpuTimes {
        CpuTimes { idle, total }
    }

    /// The share of CPU time (0 to 1) spent idle since `earlier`; `None`
    /// when no tick passed in between.
    pub fn idle_share_since(&self, earlier: &CpuTimes) -> Option<f64> {
        let total = self.total.checked_sub(earlier.total)?;
        let idle = self.idle.checked_sub(earlier.idle)?;
        (total > 0).then(|| idle.min(total) as f64 / total as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_idle_share_is_the_idle_part_of_the_ticks_in_between() {
        let earlier = CpuTimes::from_ticks(100, 1000);
        let later = CpuTimes::from_ticks(150, 1200);
        assert_eq!(later.idle_share_since(&earlier), Some(0.25));
        assert_eq!(earlier.idle_share_since(&earlier), None);
        assert_eq!(earlier.idle_share_since(&later), None);
    }

    #[test]
    fn this_machine_reports_its_cpu_times() {
        let reading = CpuTimes::now().expect("Linux has /proc/stat");
        assert!(reading.total >= reading.idle);
    }
}

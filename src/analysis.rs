//! What dindcheck concludes from finished reports: `explain` (which axis
//! values are necessary, irrelevant or fatal), `diff` (two reports, e.g. old
//! vs new runsc) and `merge` (shard reports into one). Pure functions of
//! `report_format` data; rendering is `report/`'s.

pub mod diff;
pub mod explain;
pub mod merge;

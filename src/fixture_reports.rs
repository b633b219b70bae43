//! Test-only golden files: compares a rendering with `fixtures/expected/NAME`.
//!
//! Run the tests with `DINDCHECK_BLESS=1` to (re)write the golden files after
//! a deliberate change, then review the diff before committing. Only unit
//! tests use this module; it is not compiled into the crate otherwise.

use std::path::PathBuf;

/// Asserts that `actual` equals `fixtures/expected/{name}`, or writes the
/// file when `DINDCHECK_BLESS=1` is set.
pub(crate) fn assert_snapshot(name: &str, actual: &str) {
    let path = PathBuf::from("fixtures/expected").join(name);
    if std::env::var_os("DINDCHECK_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; run with DINDCHECK_BLESS=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the rendering, first at line {}\n--- expected\n{}\n--- actual\n{}\n\
             (run with DINDCHECK_BLESS=1 to accept the new rendering)",
            path.display(),
            first + 1,
            expected.lines().nth(first).unwrap_or("<end of file>"),
            actual.lines().nth(first).unwrap_or("<end of file>"),
        );
    }
}

/// Reads `fixtures/reports/{name}.json`: real reports kept for tests.
pub(crate) fn report_fixture(name: &str) -> crate::report_format::RunReport {
    let path = format!("fixtures/reports/{name}.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not a report: {e}"))
}

/// A v1 fixture of a full matrix as a v2 writer would have written it: the
/// cells are in matrix order, so each one's index is its position, and each
/// axis's values are in the order the cells first show them.
pub(crate) fn report_fixture_v2(name: &str) -> crate::report_format::RunReport {
    let mut report = report_fixture(name);
    report.schema = crate::report_format::SCHEMA.to_owned();
    let mut values: indexmap::IndexMap<String, Vec<String>> = report
        .scenario
        .axes
        .iter()
        .map(|a| (a.clone(), Vec::new()))
        .collect();
    for (i, cell) in report.cells.iter_mut().enumerate() {
        cell.index = Some(i);
        for (axis, label) in &cell.axes {
            let seen = values.entry(axis.clone()).or_default();
            if !seen.contains(label) {
                seen.push(label.clone());
            }
        }
    }
    report.scenario.axis_values = values;
    report
}

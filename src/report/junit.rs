//! The JUnit XML report, written with quick-junit (nextest's writer): one
//! `<testsuite>` per scenario, one `<testcase>` per cell, for GitHub
//! Actions, GitLab and Jenkins.
//!
//! When is a cell red? [`JunitPolicy`] decides:
//! - [`JunitPolicy::Auto`] (the default): a cell covered by an `expect:`
//!   rule fails when the expectation is unmet; a cell without one fails
//!   when its outcome is a failure (`daemon-failed`, `container-failed`,
//!   `timeout`, `error`). A matrix that documents known failures with
//!   `expect:` rules is green, and an undocumented failure is red.
//! - [`JunitPolicy::Expectations`]: only unmet expectations fail; cells
//!   without a rule pass whatever their outcome.
//! - [`JunitPolicy::Outcomes`]: every failed outcome fails, expected or not.
//!
//! A flaky cell (a retry gave another verdict) fails under every policy, so
//! that flakiness never passes silently. Outcome `error` (the harness or the
//! sandbox failed, dockerd was not judged) is written as `<error>`, every
//! other failure as `<failure>`.
//!
//! What a testcase carries: `name` is the cell id, `classname` the scenario,
//! `time` the cell's total. A failure's `type` is the signature (or the
//! outcome name when there is none), its `message` the fatal line, and its
//! text the outcome, the expectation, the catalogue's title and fix, and the
//! log paths. `<system-err>` holds the last lines of the kept dockerd log,
//! read best-effort (a missing file is said so, not an error). The cell's
//! facts (outcome, signature, runsc version, axes, log paths) are in the
//! testcase's `<properties>` and repeated in `<system-out>` as `key: value`
//! lines. Testcase-level properties are an extension (pytest and jest-junit
//! write them; the Jenkins xUnit schema `junit-10.xsd` only allows them on
//! the testsuite); consumers that do not know them skip them, and
//! `<system-out>` keeps the facts visible there. quick-junit also writes a
//! `skipped` count on `<testsuites>`, which that schema lacks. The tests
//! check the output against the schema's element and attribute names with
//! exactly these two allowances.
//!
//! A suite's `time` is the sum of its cells' totals; cells run in parallel,
//! so it can exceed the run's wall time. Apart from the log tails, the
//! renderer is pure.

use std::fmt::Write as _;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::classify::SignatureSet;
use crate::report_format::{CellResult, Outcome, RunReport};

use super::ReportError;

/// Which cells a JUnit report marks as failed. See the module docs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum JunitPolicy {
    /// Unmet expectation where a rule applies, failed outcome elsewhere.
    #[default]
    Auto,
    /// Only unmet expectations.
    Expectations,
    /// Every failed outcome.
    Outcomes,
}

impl JunitPolicy {
    /// Every policy.
    pub const ALL: [JunitPolicy; 3] = [
        JunitPolicy::Auto,
        JunitPolicy::Expectations,
        JunitPolicy::Outcomes,
    ];

    /// Parses a name as [`JunitPolicy::name`] writes it.
    pub fn from_name(name: &str) -> Option<JunitPolicy> {
        JunitPolicy::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The policy's name, as a property in the report.
    pub fn name(self) -> &'static str {
        match self {
            JunitPolicy::Auto => "auto",
            JunitPolicy::Expectations => "expectations",
            JunitPolicy::Outcomes => "outcomes",
        }
    }

    /// Why `cell` fails under this policy, or `None` when it passes.
    pub fn failure_reason(self, cell: &CellResult) -> Option<String> {
        if cell.flaky {
            return Some("flaky: a retry gave another verdict".to_owned());
        }
        let unmet = cell.expectation_met == Some(false);
        let failed = cell.outcome.is_failure();
        let fails = match self {
            JunitPolicy::Auto => match cell.expectation_met {
                Some(met) => !met,
                None => failed,
            },
            JunitPolicy::Expectations => unmet,
            JunitPolicy::Outcomes => failed,
        };
        if !fails {
            return None;
        }
        if unmet {
            Some(format!(
                "expected {}, got {}",
                expectation_text(cell),
                verdict(cell)
            ))
        } else {
            Some(format!("the cell failed: {}", verdict(cell)))
        }
    }
}

/// JUnit XML, one testsuite per report: the [`super::Render`] of
/// `Format::Junit`.
///
/// # Errors
/// [`ReportError`] on serialisation or write failure.
pub fn render(
    reports: &[RunReport],
    ctx: &super::RenderContext<'_>,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    write(reports, ctx.signatures, &ctx.junit, out)
}

/// Options for [`write()`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JunitOptions {
    /// Which cells fail.
    pub policy: JunitPolicy,
    /// How many dockerd log lines a failing testcase carries (0: none).
    pub log_tail_lines: usize,
}

impl Default for JunitOptions {
    fn default() -> JunitOptions {
        JunitOptions {
            policy: JunitPolicy::Auto,
            log_tail_lines: 40,
        }
    }
}

/// Writes one JUnit document for `reports` (one testsuite each).
///
/// `signatures` supplies each signature's title and fix for failure texts.
///
/// # Errors
/// [`ReportError::Write`] when the writer fails (or, in theory, when
/// quick-junit cannot serialise, reported as an `InvalidData` I/O error).
pub fn write(
    reports: &[RunReport],
    signatures: &SignatureSet,
    options: &JunitOptions,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    let mut junit = Report::new("dindcheck");
    let mut total = Duration::ZERO;
    for report in reports {
        let suite = suite(report, signatures, options);
        total += suite.time.unwrap_or_default();
        junit.add_test_suite(suite);
    }
    junit.set_time(total);
    // Serialise into memory first: writing to a Vec cannot fail with I/O,
    // so an error here is quick-junit's, and the writer's errors stay I/O.
    let mut buffer = Vec::new();
    let io_err = super::stdout_error;
    junit
        .serialize(&mut buffer)
        .map_err(|e| io_err(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
    out.write_all(&buffer).map_err(io_err)
}

fn suite(report: &RunReport, signatures: &SignatureSet, options: &JunitOptions) -> TestSuite {
    let s = &report.scenario;
    let mut suite = TestSuite::new(s.name.as_str());
    suite.add_properties([
        Property::new("scenario.path", s.path.display().to_string()),
        Property::new("sandbox", s.sandbox.as_str()),
        Property::new("depth", s.depth.as_str()),
        Property::new("axes", s.axes.join(",")),
        Property::new("started_at", report.started_at.as_str()),
        Property::new("host.kernel", report.host.kernel.as_str()),
        Property::new("interrupted", report.interrupted.to_string()),
        Property::new("junit.policy", options.policy.name()),
    ]);
    let mut time = Duration::ZERO;
    for cell in &report.cells {
        let case = testcase(&s.name, cell, signatures, options);
        time += case.time.unwrap_or_default();
        suite.add_test_case(case);
    }
    suite.set_time(time);
    suite
}

fn testcase(
    scenario: &str,
    cell: &CellResult,
    signatures: &SignatureSet,
    options: &JunitOptions,
) -> TestCase {
    let status = match options.policy.failure_reason(cell) {
        None => TestCaseStatus::success(),
        Some(reason) => {
            let kind = if cell.outcome == Outcome::Error {
                NonSuccessKind::Error
            } else {
                NonSuccessKind::Failure
            };
            let mut status = TestCaseStatus::non_success(kind);
            let ty = if cell.flaky {
                "flaky".to_owned()
            } else {
                cell.signature
                    .clone()
                    .unwrap_or_else(|| cell.outcome.name().to_owned())
            };
            status
                .set_type(ty)
                .set_message(message(cell, &reason))
                .set_description(failure_text(cell, &reason, signatures));
            status
        }
    };
    let failing = matches!(status, TestCaseStatus::NonSuccess { .. });
    let mut case = TestCase::new(cell.id.as_str(), status);
    case.set_classname(scenario)
        .set_time(Duration::from_millis(cell.timings_ms.total));
    let facts = facts(cell);
    let mut system_out = String::new();
    for (name, value) in &facts {
        let _ = writeln!(system_out, "{name}: {value}");
    }
    case.add_properties(facts.into_iter().map(|(n, v)| Property::new(n, v)));
    case.set_system_out(system_out);
    if failing && options.log_tail_lines > 0 {
        case.set_system_err(log_tail_text(&cell.log, options.log_tail_lines));
    }
    case
}

/// The cell's facts, as `(name, value)` in a stable order.
fn facts(cell: &CellResult) -> Vec<(String, String)> {
    let mut facts = vec![("outcome".to_owned(), cell.outcome.name().to_owned())];
    let mut push = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            facts.push((name.to_owned(), value));
        }
    };
    push("signature", cell.signature.clone());
    push("runsc_version", cell.runsc_version.clone());
    push(
        "dockerd_version",
        cell.dockerd.as_ref().and_then(|d| d.server_version.clone()),
    );
    push(
        "expected",
        cell.expected.as_ref().map(|_| expectation_text(cell)),
    );
    push(
        "expectation_met",
        cell.expectation_met.map(|m| m.to_string()),
    );
    push("flaky", cell.flaky.then(|| "true".to_owned()));
    push(
        "retried_starts",
        (!cell.retried_starts.is_empty()).then(|| cell.retried_starts.join("; ")),
    );
    push(
        "leaked",
        (!cell.leaked.is_empty()).then(|| cell.leaked.join("; ")),
    );
    push("log", Some(cell.log.display().to_string()));
    push("sandbox_log", Some(cell.sandbox_log.display().to_string()));
    for (axis, value) in &cell.axes {
        facts.push((format!("axis.{axis}"), value.clone()));
    }
    facts
}

fn verdict(cell: &CellResult) -> String {
    match &cell.signature {
        Some(sig) => format!("{} ({sig})", cell.outcome.name()),
        None => cell.outcome.name().to_owned(),
    }
}

fn expectation_text(cell: &CellResult) -> String {
    let Some(e) = &cell.expected else {
        return "nothing".to_owned();
    };
    match (&e.outcome, &e.signature) {
        (Some(o), Some(s)) => format!("{o} ({s})"),
        (Some(o), None) => o.clone(),
        (None, Some(s)) => format!("signature {s}"),
        (None, None) => "anything".to_owned(),
    }
}

/// The failure's one-line message: the fatal line when there is one.
fn message(cell: &CellResult, reason: &str) -> String {
    cell.fatal_line
        .clone()
        .or_else(|| cell.detail.clone())
        .unwrap_or_else(|| reason.to_owned())
}

fn failure_text(cell: &CellResult, reason: &str, signatures: &SignatureSet) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "{reason}");
    let _ = writeln!(text, "outcome: {}", cell.outcome.name());
    if let Some(sig) = &cell.signature {
        match signatures.get(sig) {
            Some(entry) => {
                let _ = writeln!(text, "signature: {sig}: {}", entry.title.trim());
                let _ = writeln!(text, "fix: {}", one_line(&entry.fix));
            }
            None => {
                let _ = writeln!(text, "signature: {sig} (no catalogue entry)");
            }
        }
    }
    if cell.expected.is_some() {
        let _ = writeln!(text, "expected: {}", expectation_text(cell));
    }
    for attempt in &cell.retries {
        let _ = writeln!(
            text,
            "retry: {}{} ({})",
            attempt.outcome.name(),
            attempt
                .signature
                .as_deref()
                .map(|s| format!(" {s}"))
                .unwrap_or_default(),
            attempt.log.display()
        );
    }
    if let Some(line) = &cell.fatal_line {
        let _ = writeln!(text, "fatal line: {line}");
    }
    if let Some(detail) = &cell.detail {
        let _ = writeln!(text, "detail: {detail}");
    }
    let _ = writeln!(text, "dockerd log: {}", cell.log.display());
    let _ = writeln!(text, "sandbox log: {}", cell.sandbox_log.display());
    text
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The `<system-err>` text: the log's last `lines` lines, or why not.
fn log_tail_text(path: &Path, lines: usize) -> String {
    match log_tail(path, lines) {
        Ok(tail) if tail.is_empty() => format!("dockerd log {} is empty\n", path.display()),
        Ok(tail) => format!(
            "last {} lines of {}:\n{tail}",
            tail.lines().count(),
            path.display()
        ),
        Err(e) => format!("dockerd log not available: {}: {e}\n", path.display()),
    }
}

/// How much of a log's end is read for its tail: enough for 40 long lines,
/// bounded so a runaway log cannot bloat the report.
const TAIL_BYTES: u64 = 64 * 1024;

/// The last `lines` lines of the file at `path` (lossy UTF-8), each ending
/// in a newline.
///
/// # Errors
/// The I/O error from opening or reading the file.
pub fn log_tail(path: &Path, lines: usize) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let start = len.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    let mut all: Vec<&str> = text.lines().collect();
    if start > 0 && !all.is_empty() {
        // The first line was cut by the seek.
        all.remove(0);
    }
    let keep = &all[all.len().saturating_sub(lines)..];
    Ok(keep.iter().map(|l| format!("{l}\n")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture_reports::report_fixture as fixture;
    use crate::report_format::Expectation;
    use rstest::rstest;
    use std::collections::{BTreeMap, BTreeSet};

    fn render(reports: &[RunReport], options: JunitOptions) -> String {
        let mut out = Vec::new();
        write(reports, &SignatureSet::builtin(), &options, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Allowed attributes, required attributes, allowed child elements.
    type Rule = (Vec<&'static str>, Vec<&'static str>, Vec<&'static str>);

    /// The content model of the Jenkins xUnit plugin's JUnit schema
    /// (jenkinsci/xunit-plugin, `types/model/xsd/junit-10.xsd`): element →
    /// (allowed attributes, required attributes, allowed children).
    fn junit10() -> BTreeMap<&'static str, Rule> {
        let failure = (vec!["type", "message"], vec![], vec![]);
        BTreeMap::from([
            (
                "testsuites",
                (
                    vec!["name", "time", "tests", "failures", "errors"],
                    vec![],
                    vec!["testsuite"],
                ),
            ),
            (
                "testsuite",
                (
                    vec![
                        "name",
                        "tests",
                        "failures",
                        "errors",
                        "group",
                        "time",
                        "skipped",
                        "timestamp",
                        "hostname",
                        "id",
                        "package",
                        "file",
                        "log",
                        "url",
                    ],
                    vec!["name", "tests", "failures", "errors"],
                    vec![
                        "testsuite",
                        "properties",
                        "testcase",
                        "system-out",
                        "system-err",
                    ],
                ),
            ),
            (
                "testcase",
                (
                    vec!["name", "time", "classname", "group"],
                    vec!["name"],
                    vec![
                        "skipped",
                        "error",
                        "failure",
                        "rerunFailure",
                        "rerunError",
                        "flakyFailure",
                        "flakyError",
                        "system-out",
                        "system-err",
                    ],
                ),
            ),
            ("properties", (vec![], vec![], vec!["property"])),
            (
                "property",
                (vec!["name", "value"], vec!["name", "value"], vec![]),
            ),
            ("failure", failure.clone()),
            ("error", failure.clone()),
            ("skipped", failure),
            ("system-out", (vec![], vec![], vec![])),
            ("system-err", (vec![], vec![], vec![])),
        ])
    }

    /// Checks `xml` against [`junit10`], with the two documented
    /// allowances: `skipped` on `<testsuites>` and `<properties>` in a
    /// `<testcase>`. Returns the violations.
    fn schema_violations(xml: &str) -> Vec<String> {
        let schema = junit10();
        // The schema's SUREFIRE_TIME pattern for `time` on suites.
        let time = regex::Regex::new(r"^(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?$").unwrap();
        let doc = roxmltree::Document::parse(xml).unwrap();
        let mut errors = Vec::new();
        if doc.root_element().tag_name().name() != "testsuites" {
            errors.push("root is not <testsuites>".to_owned());
        }
        for node in doc.descendants().filter(|n| n.is_element()) {
            let name = node.tag_name().name();
            let Some((attrs, required, children)) = schema.get(name) else {
                errors.push(format!("unknown element <{name}>"));
                continue;
            };
            for a in node.attributes() {
                let allowed =
                    attrs.contains(&a.name()) || (name == "testsuites" && a.name() == "skipped");
                if !allowed {
                    errors.push(format!("<{name}> has attribute {}", a.name()));
                }
                if a.name() == "time" && !time.is_match(a.value()) {
                    errors.push(format!("<{name}> time {:?}", a.value()));
                }
            }
            for r in required {
                if node.attribute(*r).is_none() {
                    errors.push(format!("<{name}> lacks {r}"));
                }
            }
            for child in node.children().filter(|c| c.is_element()) {
                let c = child.tag_name().name();
                let allowed = children.contains(&c) || (name == "testcase" && c == "properties");
                if !allowed {
                    errors.push(format!("<{c}> inside <{name}>"));
                }
            }
            if children.is_empty()
                && !matches!(
                    name,
                    "failure" | "error" | "skipped" | "system-out" | "system-err"
                )
                && node
                    .children()
                    .any(|c| c.is_text() && !c.text().unwrap_or("").trim().is_empty())
            {
                errors.push(format!("<{name}> has text"));
            }
        }
        errors
    }

    fn props(node: roxmltree::Node<'_, '_>) -> BTreeMap<String, String> {
        node.children()
            .find(|c| c.has_tag_name("properties"))
            .map(|p| {
                p.children()
                    .filter(|c| c.has_tag_name("property"))
                    .map(|c| {
                        (
                            c.attribute("name").unwrap().to_owned(),
                            c.attribute("value").unwrap().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn design_matrix_junit_has_one_suite_and_a_case_per_cell() {
        let report = fixture("devices-cgroup-both");
        let xml = render(std::slice::from_ref(&report), JunitOptions::default());
        assert_eq!(schema_violations(&xml), Vec::<String>::new());
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let root = doc.root_element();
        assert_eq!(root.attribute("tests"), Some("16"));
        assert_eq!(root.attribute("failures"), Some("13"));
        assert_eq!(root.attribute("errors"), Some("0"));
        let suites: Vec<_> = root
            .children()
            .filter(|c| c.has_tag_name("testsuite"))
            .collect();
        assert_eq!(suites.len(), 1);
        let suite = suites[0];
        assert_eq!(suite.attribute("name"), Some("devices-cgroup"));
        assert_eq!(suite.attribute("tests"), Some("16"));
        assert_eq!(suite.attribute("failures"), Some("13"));
        let sp = props(suite);
        assert_eq!(sp["axes"], "cgroup_driver,cgroup_parent,iptables,runsc");
        assert_eq!(sp["junit.policy"], "auto");

        let cases: Vec<_> = suite
            .children()
            .filter(|c| c.has_tag_name("testcase"))
            .collect();
        let names: Vec<&str> = cases.iter().map(|c| c.attribute("name").unwrap()).collect();
        let ids: Vec<&str> = report.cells.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(names, ids);
        for (case, cell) in cases.iter().zip(&report.cells) {
            assert_eq!(case.attribute("classname"), Some("devices-cgroup"));
            let secs: f64 = case.attribute("time").unwrap().parse().unwrap();
            assert!((secs * 1000.0 - cell.timings_ms.total as f64).abs() < 1.0);
            let p = props(*case);
            assert_eq!(p["outcome"], cell.outcome.name());
            assert_eq!(p.get("signature"), cell.signature.as_ref());
            assert_eq!(Some(&p["runsc_version"]), cell.runsc_version.as_ref());
            assert_eq!(p["log"], cell.log.display().to_string());
            assert_eq!(p["axis.runsc"], cell.axes["runsc"]);
            let failure = case.children().find(|c| c.has_tag_name("failure"));
            assert_eq!(failure.is_some(), cell.outcome.is_failure(), "{}", cell.id);
            if let Some(f) = failure {
                assert_eq!(f.attribute("type"), cell.signature.as_deref());
                assert_eq!(f.attribute("message"), cell.fatal_line.as_deref());
                assert!(
                    f.text().unwrap().contains("fix: "),
                    "catalogue fix in the text"
                );
                let err = case
                    .children()
                    .find(|c| c.has_tag_name("system-err"))
                    .and_then(|e| e.text())
                    .unwrap();
                // The fixture's logs are committed, so the tail is real.
                assert!(
                    err.starts_with("last 40 lines of fixtures/reports/logs/"),
                    "{err}"
                );
                assert!(err.contains(cell.fatal_line.as_deref().unwrap()), "{err}");
            }
        }
    }

    #[test]
    fn several_reports_give_several_suites() {
        let mut old = fixture("devices-cgroup-old");
        for cell in &mut old.cells {
            cell.log = format!("/nonexistent/dindcheck{}", cell.log.display()).into();
        }
        let xml = render(
            &[old, fixture("devices-cgroup-new")],
            JunitOptions {
                policy: JunitPolicy::Outcomes,
                log_tail_lines: 5,
            },
        );
        assert_eq!(schema_violations(&xml), Vec::<String>::new());
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let counts: Vec<(String, String)> = doc
            .descendants()
            .filter(|n| n.has_tag_name("testsuite"))
            .map(|s| {
                (
                    s.attribute("tests").unwrap().to_owned(),
                    s.attribute("failures").unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(counts, [("8".into(), "8".into()), ("8".into(), "5".into())]);
        // Logs that are gone (these reports point under /tmp): the tail
        // says so instead of failing the report.
        let err = doc
            .descendants()
            .find(|n| n.has_tag_name("system-err"))
            .and_then(|n| n.text())
            .unwrap();
        assert!(
            err.starts_with("dockerd log not available: /nonexistent/dindcheck/tmp/"),
            "{err}"
        );
    }

    /// The design matrix with expectations: the old runsc is expected to
    /// fail with devices-cgroup-missing everywhere (wrong for two cells).
    fn with_expectations() -> RunReport {
        let mut report = fixture("devices-cgroup-both");
        for cell in &mut report.cells {
            if cell.axes["runsc"] == "20221219" {
                let e = Expectation {
                    outcome: Some("daemon-failed".into()),
                    signature: Some("devices-cgroup-missing".into()),
                };
                cell.expectation_met = Some(e.is_met_by(cell.outcome, cell.signature.as_deref()));
                cell.expected = Some(e);
            }
        }
        report
    }

    #[rstest]
    #[case(JunitPolicy::Auto, 2 + 5)]
    #[case(JunitPolicy::Expectations, 2)]
    #[case(JunitPolicy::Outcomes, 13)]
    fn policies_decide_the_red_cells(#[case] policy: JunitPolicy, #[case] failures: usize) {
        let report = with_expectations();
        let xml = render(
            std::slice::from_ref(&report),
            JunitOptions {
                policy,
                log_tail_lines: 0,
            },
        );
        assert_eq!(schema_violations(&xml), Vec::<String>::new());
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let failed: BTreeSet<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .filter(|n| n.children().any(|c| c.has_tag_name("failure")))
            .map(|n| n.attribute("name").unwrap())
            .collect();
        assert_eq!(failed.len(), failures);
        assert_eq!(
            doc.root_element().attribute("failures"),
            Some(failures.to_string().as_str())
        );
        // No system-err without a log tail.
        assert!(!xml.contains("<system-err>"));
        if policy != JunitPolicy::Outcomes {
            let unmet = doc
                .descendants()
                .find(|n| {
                    n.attribute("name")
                        == Some("devices-cgroup[cgroup_driver=systemd,cgroup_parent=/,iptables=true,runsc=20221219]")
                })
                .unwrap();
            let f = unmet
                .children()
                .find(|c| c.has_tag_name("failure"))
                .unwrap();
            assert_eq!(f.attribute("type"), Some("systemd-cgroup-parent-not-slice"));
            assert!(f.text().unwrap().starts_with(
                "expected daemon-failed (devices-cgroup-missing), got daemon-failed (systemd-cgroup-parent-not-slice)\n"
            ));
        }
    }

    #[test]
    fn a_retried_start_is_a_property_of_its_case_only() {
        let mut report = fixture("devices-cgroup-new");
        let first =
            "POST /containers/f0/start returned 500: cannot start a stopped process: unknown";
        report.cells[1].retried_starts = vec![first.to_owned()];
        let xml = render(std::slice::from_ref(&report), JunitOptions::default());
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let cases: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        assert_eq!(
            props(cases[1]).get("retried_starts").map(String::as_str),
            Some(first)
        );
        assert!(!props(cases[0]).contains_key("retried_starts"));
    }

    #[test]
    fn flaky_and_error_cells() {
        let mut report = fixture("devices-cgroup-new");
        report.cells[1].flaky = true; // a ready cell
        report.cells[0].outcome = Outcome::Error;
        report.cells[0].signature = None;
        report.cells[0].fatal_line = None;
        report.cells[0].detail = Some("the sandbox did not start".into());
        let xml = render(
            std::slice::from_ref(&report),
            JunitOptions {
                policy: JunitPolicy::Expectations,
                log_tail_lines: 0,
            },
        );
        assert_eq!(schema_violations(&xml), Vec::<String>::new());
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let root = doc.root_element();
        // Under Expectations the error cell has no rule, so only the flaky
        // cell fails.
        assert_eq!(root.attribute("failures"), Some("1"));
        assert_eq!(root.attribute("errors"), Some("0"));
        let f = doc
            .descendants()
            .find(|n| n.has_tag_name("failure"))
            .unwrap();
        assert_eq!(f.attribute("type"), Some("flaky"));

        let xml = render(
            std::slice::from_ref(&report),
            JunitOptions {
                policy: JunitPolicy::Outcomes,
                log_tail_lines: 0,
            },
        );
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let e = doc.descendants().find(|n| n.has_tag_name("error")).unwrap();
        assert_eq!(e.attribute("type"), Some("error"));
        assert_eq!(e.attribute("message"), Some("the sandbox did not start"));
    }

    #[test]
    fn hostile_text_is_escaped_into_well_formed_xml() {
        let mut report = fixture("devices-cgroup-new");
        report.cells[0].fatal_line = Some("<b>&\"quotes\"]]> \u{1b}[31mred\u{1b}[0m \u{7}".into());
        let xml = render(std::slice::from_ref(&report), JunitOptions::default());
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let f = doc
            .descendants()
            .find(|n| n.has_tag_name("failure"))
            .unwrap();
        assert_eq!(f.attribute("message"), Some("<b>&\"quotes\"]]> red "));
    }

    #[test]
    fn junit_matches_the_snapshot() {
        let xml = render(
            &[fixture("devices-cgroup-both")],
            JunitOptions {
                policy: JunitPolicy::Auto,
                log_tail_lines: 3,
            },
        );
        crate::fixture_reports::assert_snapshot("devices-cgroup-both.junit.xml", &xml);
    }

    #[test]
    fn policy_names_round_trip() {
        for p in JunitPolicy::ALL {
            assert_eq!(JunitPolicy::from_name(p.name()), Some(p));
        }
        assert_eq!(JunitPolicy::from_name("strict"), None);
    }

    #[rstest]
    #[case(3, "c\nd\ne\n")]
    #[case(0, "")]
    #[case(10, "a\nb\nc\nd\ne\n")]
    fn log_tail_keeps_the_last_lines(#[case] lines: usize, #[case] want: &str) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dockerd.log");
        std::fs::write(&path, "a\nb\nc\nd\ne\n").unwrap();
        assert_eq!(log_tail(&path, lines).unwrap(), want);
    }

    #[test]
    fn log_tail_of_a_big_log_drops_the_cut_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dockerd.log");
        let line = "x".repeat(999);
        let text: String = (0..200).map(|i| format!("{i:03}{line}\n")).collect();
        std::fs::write(&path, &text).unwrap();
        let tail = log_tail(&path, 1000).unwrap();
        assert!(tail.len() as u64 <= TAIL_BYTES);
        assert!(tail.lines().all(|l| l.len() == 1002), "no partial line");
        assert!(tail.ends_with(&format!("199{line}\n")));
        assert!(log_tail(&dir.path().join("missing.log"), 3).is_err());
    }
}

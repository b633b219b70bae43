//! Reading and parsing YAML: the only module that names the YAML crate.
//!
//! serde_yaml is deprecated upstream; keeping every call here means it can be
//! swapped in one place. Errors carry the file and, where the parser knows
//! it, `line:column`; validation errors carry the key path instead.

use std::path::Path;

use serde::de::DeserializeOwned;

use super::error::{LoadError, Position};
use super::model::{OciBase, ScenarioFile};
use super::oci_template::read_oci_template;
use super::validated::{Scenario, validate};

/// Reads, parses and validates one scenario file.
///
/// `known_signatures` are the catalogue IDs that `expect:` rules may name.
///
/// # Errors
/// [`LoadError::Read`] when the file cannot be read, [`LoadError::Parse`]
/// with `line:column` for YAML and shape errors, [`LoadError::Invalid`] with
/// the key path for everything validation finds.
pub fn load_scenario(path: &Path, known_signatures: &[&str]) -> Result<Scenario, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_scenario(path, &text, known_signatures)
}

/// Parses and validates a scenario's text (read from `path`, or embedded),
/// and reads the OCI templates it names.
///
/// # Errors
/// As [`load_scenario`], but never [`LoadError::Read`].
pub fn parse_scenario(
    path: &Path,
    text: &str,
    known_signatures: &[&str],
) -> Result<Scenario, LoadError> {
    let file: ScenarioFile = parse_yaml(path, text)?;
    let scenario = validate(file, path, known_signatures)?;
    check_oci_templates(&scenario)?;
    Ok(scenario)
}

/// Reads every OCI template the scenario names (its `oci:` and its axis
/// values'), so a broken one fails the load rather than every cell.
fn check_oci_templates(scenario: &Scenario) -> Result<(), LoadError> {
    let values = scenario.axes.iter().flat_map(|a| &a.values);
    let bases = std::iter::once(&scenario.oci).chain(values.filter_map(|v| v.spec.oci.as_ref()));
    for base in bases {
        if let OciBase::Template(template) = base {
            read_oci_template(template)?;
        }
    }
    Ok(())
}

/// Parses YAML text into `T`, naming `path` and `line:column` on error.
///
/// # Errors
/// [`LoadError::Parse`] for malformed YAML and for a shape `T` rejects.
pub fn parse_yaml<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, LoadError> {
    let has_content = text.lines().any(|l| {
        let l = l.trim();
        !l.is_empty() && !l.starts_with('#') && l != "---"
    });
    if !has_content {
        return Err(LoadError::Parse {
            path: path.to_owned(),
            position: Position { line: 1, column: 1 },
            message: "the file has no YAML content; expected a mapping with at least `name:`"
                .to_owned(),
        });
    }
    serde_yaml::from_str(text).map_err(|err| {
        let position = err
            .location()
            .map(|loc| Position {
                line: loc.line(),
                column: loc.column(),
            })
            .unwrap_or(Position { line: 1, column: 1 });
        LoadError::Parse {
            path: path.to_owned(),
            position,
            message: strip_location(&err.to_string()),
        }
    })
}

/// serde_yaml appends " at line L column C" to its messages; the position is
/// already in front, so drop the repetition.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_error_has_line_and_column() {
        let err =
            parse_yaml::<ScenarioFile>(Path::new("x.yaml"), "name: a\nprobe:\n  depth: deep\n")
                .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("x.yaml:3:"), "{text}");
        assert!(text.contains("unknown variant `deep`"), "{text}");
        assert!(!text.contains(" at line "), "{text}");
    }

    #[test]
    fn empty_file_is_an_error_at_1_1() {
        let err = parse_yaml::<ScenarioFile>(Path::new("e.yaml"), "  \n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "e.yaml:1:1: the file has no YAML content; expected a mapping with at least `name:`"
        );
    }

    proptest::proptest! {
        /// Whatever a user writes, loading gives a scenario or an error,
        /// never a panic.
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
            let path = Path::new("fuzz.yaml");
            if let Ok(file) = parse_yaml::<ScenarioFile>(path, &text) {
                let _ = crate::scenario::validated::validate(file, path, &[]);
            }
        }

        /// YAML-shaped text (keys and values from the scenario vocabulary)
        /// reaches validation far more often than random text does.
        #[test]
        fn scenario_shaped_text_never_panics(
            lines in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("name: x".to_owned()),
                    proptest::strategy::Just("sandbox: native".to_owned()),
                    proptest::strategy::Just("axes:".to_owned()),
                    proptest::strategy::Just("  iptables: [true, false]".to_owned()),
                    proptest::strategy::Just("  cgroups: [auto, none, v2, \"a,b\"]".to_owned()),
                    proptest::strategy::Just("  l: {a: {cgroups: [cpu]}, b: {}}".to_owned()),
                    proptest::strategy::Just("exclude: [{iptables: true}]".to_owned()),
                    proptest::strategy::Just("expect: [{outcome: ready}]".to_owned()),
                    proptest::strategy::Just("probe: {timeout_secs: 0}".to_owned()),
                    "[ -~]{0,30}",
                ],
                0..12,
            )
        ) {
            let text = lines.join("\n");
            let path = Path::new("fuzz.yaml");
            if let Ok(file) = parse_yaml::<ScenarioFile>(path, &text)
                && let Ok(scenario) = crate::scenario::validated::validate(file, path, &[])
                && crate::matrix::checked_size(&scenario.axes).is_some_and(|n| n < 10_000)
            {
                let _ = crate::matrix::expand(&scenario, &scenario.axes, &[]);
            }
        }
    }
}

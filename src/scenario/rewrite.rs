//! Rewriting a scenario's `expect:` block from a run (`--update-expectations`).
//!
//! The rest of the file is kept byte for byte, comments included: the block
//! is replaced textually rather than by re-serialising the YAML, which would
//! lose every comment that explains what a scenario shows.

use indexmap::IndexMap;

/// One rule to write: the cell's full set of axis labels and its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectationRule {
    /// Axis name to label: the cell the rule covers.
    pub when: IndexMap<String, String>,
    /// The outcome name.
    pub outcome: String,
    /// The signature id, or `none`.
    pub signature: String,
}

/// Returns `text` with its top-level `expect:` block replaced by `rules`
/// (appended at the end when the file has none). `note` becomes a comment
/// line at the top of the block.
pub fn replace_expectations(text: &str, rules: &[ExpectationRule], note: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| is_expect_key(l));
    let mut out: Vec<String> = Vec::new();
    let block = render_block(rules, note);
    match start {
        Some(start) => {
            let end = lines[start + 1..]
                .iter()
                .position(|l| is_top_level(l))
                .map_or(lines.len(), |offset| start + 1 + offset);
            out.extend(lines[..start].iter().map(|l| l.to_string()));
            out.extend(block);
            out.extend(lines[end..].iter().map(|l| l.to_string()));
        }
        None => {
            out.extend(lines.iter().map(|l| l.to_string()));
            out.extend(block);
        }
    }
    let mut joined = out.join("\n");
    joined.push('\n');
    joined
}

fn is_expect_key(line: &str) -> bool {
    line.strip_prefix("expect:")
        .is_some_and(|rest| rest.trim().is_empty() || rest.trim_start().starts_with('#'))
}

/// A line that starts a new top-level key (or document) and so ends a block.
/// Block sequences may sit at column 0 under their key, so `-` does not.
fn is_top_level(line: &str) -> bool {
    line.chars()
        .next()
        .is_some_and(|c| !c.is_whitespace() && c != '-' && c != '#')
}

fn render_block(rules: &[ExpectationRule], note: &str) -> Vec<String> {
    let mut block = vec!["expect:".to_owned(), format!("  # {note}")];
    for rule in rules {
        let when: Vec<String> = rule
            .when
            .iter()
            .map(|(k, v)| format!("{k}: {}", quote(v)))
            .collect();
        block.push(format!("  - when: {{{}}}", when.join(", ")));
        block.push(format!("    outcome: {}", rule.outcome));
        block.push(format!("    signature: {}", rule.signature));
    }
    block
}

/// Double-quotes a label so YAML reads it back as the same string.
fn quote(label: &str) -> String {
    let escaped = label.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{escaped}\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::expand;
    use crate::scenario::load_scenario_text;

    fn rule(pairs: &[(&str, &str)], outcome: &str, signature: &str) -> ExpectationRule {
        ExpectationRule {
            when: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            outcome: outcome.to_owned(),
            signature: signature.to_owned(),
        }
    }

    const BASE: &str =
        "# what it shows\nname: x\nsandbox: native\naxes:\n  cgroup_parent: [none, /]\n";

    #[test]
    fn appends_a_block_and_the_result_validates() {
        let rules = [
            rule(&[("cgroup_parent", "none")], "ready", "none"),
            rule(
                &[("cgroup_parent", "/")],
                "daemon-failed",
                "devices-cgroup-missing",
            ),
        ];
        let text = replace_expectations(BASE, &rules, "written by a test");
        assert!(text.starts_with(BASE), "the rest is kept: {text}");
        let scenario = load_scenario_text(&text).unwrap();
        let cells = expand(&scenario, &scenario.axes, &[]);
        let second = cells[1].expectation.as_ref().unwrap();
        assert_eq!(second.outcome.as_deref(), Some("daemon-failed"));
        assert_eq!(second.signature.as_deref(), Some("devices-cgroup-missing"));
    }

    #[test]
    fn replaces_an_existing_block_and_keeps_what_follows() {
        let text = format!(
            "{BASE}expect:\n- when: {{cgroup_parent: none}}\n  outcome: timeout\n  # old\nexclude: []\n# trailing comment\n"
        );
        let rules = [rule(&[("cgroup_parent", "none")], "ready", "none")];
        let new = replace_expectations(&text, &rules, "note");
        assert!(!new.contains("timeout"), "{new}");
        assert!(new.contains("exclude: []\n# trailing comment\n"), "{new}");
        assert_eq!(new.matches("expect:").count(), 1, "{new}");
        load_scenario_text(&new).unwrap();
    }

    #[test]
    fn labels_are_quoted() {
        assert_eq!(quote("/"), "\"/\"");
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
    }
}

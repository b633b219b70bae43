//! The catalogue as written: reading `signatures:` YAML into entries and
//! checking each entry (kebab-case ids, reserved ids, duplicates, empty
//! patterns), with errors that point at the file's `line:column`. It also
//! embeds the built-in catalogue (`src/signatures.yaml`).
//!
//! It must not compile patterns or match lines (that is `matching.rs`), and
//! it imports nothing from the rest of `classify` but the family names.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::family::Family;
use super::phase::Phase;
use crate::scenario::{LoadError, Position, parse_yaml};

/// The id given to a failure no catalogue entry explains.
pub const UNKNOWN: &str = "unknown";

/// The built-in catalogue's text, as written.
#[cfg(test)]
pub(super) const BUILTIN: &str = include_str!("../signatures.yaml");

/// The built-in catalogue's entries, as the build script read them from
/// `src/signatures.yaml` (JSON): read in well under a millisecond.
pub(super) const BUILTIN_ENTRIES: &str = include_str!(concat!(env!("OUT_DIR"), "/signatures.json"));

/// One catalogue entry as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureEntry {
    /// Stable kebab-case id.
    pub id: String,
    /// A regular expression (Rust `regex` syntax) matched against a line.
    pub pattern: String,
    /// The failure family, one of a fixed set ([`Family`]).
    pub family: Family,
    /// A one-line title.
    pub title: String,
    /// Why it happens.
    pub root_cause: String,
    /// What to change.
    pub fix: String,
    /// Where the message comes from (repository, file, function), and the
    /// real logs (`owner/repo#N`) that confirmed it.
    pub source: String,
    /// The real-log excerpts of the corpus's train part (`owner/repo#N`,
    /// fixtures/corpus/train.yaml) whose cause this entry is the first to
    /// match: the logs that confirm the message exists as written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub confirmed_by: Vec<String>,
    /// The Docker (and runtime) versions that print the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<String>,
    /// Whether the message wraps or follows another failure (`failed to
    /// start containerd: timeout …`, `OCI runtime create failed`): then an
    /// earlier error line tied to it that a more specific entry matches
    /// names the cause instead.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub wrapper: bool,
    /// When the message can be printed, where its source says so:
    /// `container` for a message only a container start or another request
    /// to a serving daemon reaches (the runtime's, a network's at connect,
    /// a pull's), `daemon` for one only dockerd's start-up reaches. A line
    /// it matches then ended that phase, unless the line's framing says
    /// otherwise: dockerd's start-up wrapper (`failed to start daemon: …`)
    /// or a failed container start's words (`Error response from daemon:`).
    /// Unset: the family decides (runtime, sandbox and image failures end a
    /// container start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    signatures: Vec<SignatureEntry>,
}

/// Why a catalogue cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// The file could not be read.
    #[error("failed to read signature catalogue {path}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The YAML is wrong.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A pattern does not compile.
    #[error("{path}{at}: signature `{id}` has an invalid pattern", at = At(*position))]
    Pattern {
        /// The file.
        path: String,
        /// Where the entry's `pattern:` is, when it can be found.
        position: Option<Position>,
        /// The entry.
        id: String,
        /// The regex error.
        #[source]
        source: regex::Error,
    },
    /// Two entries share an id.
    #[error("{path}{at}: signature id `{id}` appears twice", at = At(*position))]
    Duplicate {
        /// The file.
        path: String,
        /// Where the second entry's `id:` is, when it can be found.
        position: Option<Position>,
        /// The id.
        id: String,
    },
    /// An entry is well-formed YAML but unusable.
    #[error("{path}{at}: signature `{id}`: {message}", at = At(*position))]
    Invalid {
        /// The file.
        path: String,
        /// Where the offending key is, when it can be found.
        position: Option<Position>,
        /// The entry.
        id: String,
        /// What is wrong and what is accepted.
        message: String,
    },
}

/// Formats an optional position as `:line:column`.
struct At(Option<Position>);

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(position) => write!(f, ":{position}"),
            None => Ok(()),
        }
    }
}

/// Ids the triage output uses for its own verdicts; no entry may take them.
const RESERVED_IDS: [&str; 2] = [UNKNOWN, "ready"];

/// Reads a catalogue file's entries.
pub(super) fn parse_entries(
    path: &Path,
    text: &str,
) -> Result<Vec<SignatureEntry>, CatalogueError> {
    let has_content = text.lines().any(|l| {
        let l = l.trim();
        !l.is_empty() && !l.starts_with('#') && l != "---"
    });
    if !has_content {
        return Err(CatalogueError::Load(LoadError::Parse {
            path: path.to_owned(),
            position: Position { line: 1, column: 1 },
            message: "the file has no YAML content; expected `signatures:` with a list of entries"
                .to_owned(),
        }));
    }
    let file: CatalogueFile = parse_yaml(path, text)?;
    Ok(file.signatures)
}

/// Checks `entry`, read from the file `name` (whose `text` is used to point
/// at errors) after the entries `earlier`: its id is unique among them,
/// kebab-case and not reserved, and its pattern is not empty. Whether the
/// pattern compiles is for the caller to find out.
pub(super) fn check_entry(
    name: &str,
    text: &str,
    earlier: &[SignatureEntry],
    entry: &SignatureEntry,
) -> Result<(), CatalogueError> {
    let at = |key: &str, nth: usize| entry_position(text, &entry.id, key, nth);
    if earlier.iter().any(|e| e.id == entry.id) {
        return Err(CatalogueError::Duplicate {
            path: name.to_owned(),
            position: at("id", 1),
            id: entry.id.clone(),
        });
    }
    let invalid = |key: &str, message: &str| CatalogueError::Invalid {
        path: name.to_owned(),
        position: at(key, 0),
        id: entry.id.clone(),
        message: message.to_owned(),
    };
    if !is_kebab_case(&entry.id) {
        return Err(invalid(
            "id",
            "ids are kebab-case: lower-case letters, digits and single dashes",
        ));
    }
    if RESERVED_IDS.contains(&entry.id.as_str()) {
        return Err(invalid("id", "`unknown` and `ready` are reserved"));
    }
    if entry.pattern.is_empty() {
        return Err(invalid(
            "pattern",
            "the pattern is empty (it would match every line)",
        ));
    }
    Ok(())
}

fn is_kebab_case(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Where `key:` of the entry with `id` is written: found by text search
/// after the `nth` (0-based) `id:` line naming it, since the YAML parser
/// keeps no positions for values it accepted.
pub(super) fn entry_position(text: &str, id: &str, key: &str, nth: usize) -> Option<Position> {
    let mut from = 0;
    let mut seen = 0;
    let id_at = loop {
        let pos = from + text[from..].find("id:")?;
        from = pos + 3;
        let value = text[from..].trim_start_matches([' ', '\t']);
        let value = value.trim_start_matches(['"', '\'']);
        let boundary = value[id.len().min(value.len())..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-'));
        let word_start =
            pos == 0 || !text[..pos].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        if word_start && value.starts_with(id) && boundary {
            if seen == nth {
                break pos;
            }
            seen += 1;
        }
    };
    let at = if key == "id" {
        id_at
    } else {
        id_at + text[id_at..].find(&format!("{key}:"))?
    };
    let line = text[..at].matches('\n').count() + 1;
    let column = text[..at]
        .rsplit('\n')
        .next()
        .map_or(0, |l| l.chars().count())
        + 1;
    Some(Position { line, column })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `text` as the file `m.yaml` and checks every entry in order,
    /// as `SignatureSet::parse` does before compiling each pattern.
    fn load(text: &str) -> Result<Vec<SignatureEntry>, CatalogueError> {
        let path = Path::new("m.yaml");
        let entries = parse_entries(path, text)?;
        for (i, entry) in entries.iter().enumerate() {
            check_entry("m.yaml", text, &entries[..i], entry)?;
        }
        Ok(entries)
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let entry =
            "{id: a, pattern: x, family: config, title: t, root_cause: r, fix: f, source: s}";
        let text = format!("signatures:\n  - {entry}\n  - {entry}\n");
        let err = load(&text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "m.yaml:3:6: signature id `a` appears twice"
        );
    }

    const ENTRY: &str = "family: config, title: t, root_cause: r, fix: f, source: s";

    #[rstest::rstest]
    #[case::reserved_unknown(
        "unknown",
        "x",
        "m.yaml:2:5: signature `unknown`: `unknown` and `ready` are reserved"
    )]
    #[case::reserved_ready(
        "ready",
        "x",
        "m.yaml:2:5: signature `ready`: `unknown` and `ready` are reserved"
    )]
    #[case::not_kebab(
        "My_Id",
        "x",
        "m.yaml:2:5: signature `My_Id`: ids are kebab-case: lower-case letters, digits and single dashes"
    )]
    #[case::empty_pattern(
        "a",
        "",
        "m.yaml:3:5: signature `a`: the pattern is empty (it would match every line)"
    )]
    fn unusable_entries_are_refused_with_their_position(
        #[case] id: &str,
        #[case] pattern: &str,
        #[case] expected: &str,
    ) {
        let text = format!(
            "signatures:\n  - id: {id}\n    pattern: '{pattern}'\n    {}\n",
            ENTRY.replace(", ", "\n    ")
        );
        let err = load(&text).unwrap_err();
        assert_eq!(err.to_string(), expected);
    }

    #[test]
    fn an_unknown_family_is_refused_with_the_known_ones() {
        let text = "signatures:\n  - {id: a, pattern: x, family: sockets, title: t, root_cause: r, fix: f, source: s}\n";
        let err = load(text).unwrap_err().to_string();
        assert!(err.starts_with("m.yaml:2:"), "{err}");
        assert!(err.contains("unknown variant `sockets`"), "{err}");
        assert!(err.contains("`listener`"), "{err}");
    }

    #[test]
    fn yaml_errors_carry_line_and_column() {
        let text = "signatures:\n  - id: a\n    pattern: x\n    colour: red\n";
        let err = load(text).unwrap_err();
        assert!(err.to_string().starts_with("m.yaml:4:5: "), "{err}");
        let err = load("# nothing\n").unwrap_err();
        assert!(err.to_string().contains("expected `signatures:`"), "{err}");
    }
}

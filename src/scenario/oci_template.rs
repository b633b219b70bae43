//! A user's OCI `config.json` (`oci: {template: PATH}`): read, parsed with
//! the `oci-spec` runtime types (the ones youki uses) and checked, so a
//! broken template fails the scenario's load with the template's name and
//! `line:column`, not every cell at run time.
//!
//! Reads one file and runs nothing. The `runsc-oci` backend reads the
//! template again through [`read_oci_template`] when it writes a cell's
//! bundle.

use std::path::Path;

use oci_spec::runtime::Spec;

use super::error::{LoadError, Position};

/// Reads and checks an OCI runtime `config.json`.
///
/// # Errors
/// [`LoadError::Read`] when the file cannot be read, [`LoadError::Parse`]
/// with `line:column` for malformed JSON and for values the runtime spec
/// does not allow (an unknown capability, a mount that is not an object),
/// and [`LoadError::Invalid`] with the key path for what dindcheck refuses:
/// no `process` (whose user and capabilities are the point of a template),
/// hooks (runsc runs them on the host, as root) and namespace paths (a cell
/// must not join a namespace of the host).
pub fn read_oci_template(path: &Path) -> Result<Spec, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })?;
    let spec: Spec = serde_json::from_str(&text).map_err(|err| LoadError::Parse {
        path: path.to_owned(),
        position: Position {
            line: err.line().max(1),
            column: err.column().max(1),
        },
        message: strip_position(&err.to_string()),
    })?;
    check(&spec).map_err(|(key, message)| LoadError::Invalid {
        path: path.to_owned(),
        key,
        message,
    })?;
    Ok(spec)
}

/// What dindcheck refuses in a template, as `(key path, reason)`.
fn check(spec: &Spec) -> Result<(), (String, String)> {
    if spec.process().is_none() {
        return Err((
            "process".to_owned(),
            "missing; dindcheck keeps the template's user, capabilities and limits and puts in \
             only the command, its environment and the working directory"
                .to_owned(),
        ));
    }
    if spec.hooks().is_some() {
        return Err((
            "hooks".to_owned(),
            "runsc runs OCI hooks on the host, as root; dindcheck does not run a template's \
             hooks, remove them"
                .to_owned(),
        ));
    }
    let namespaces = spec.linux().as_ref().and_then(|l| l.namespaces().as_ref());
    for (i, ns) in namespaces.into_iter().flatten().enumerate() {
        if let Some(ns_path) = ns.path() {
            return Err((
                format!("linux.namespaces[{i}].path"),
                format!(
                    "`{}` joins an existing namespace; every cell gets fresh ones, remove the path",
                    ns_path.display()
                ),
            ));
        }
    }
    Ok(())
}

/// serde_json appends " at line L column C"; the position is already in
/// front of the message.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn a_minimal_template_parses() {
        let (_dir, path) = write(
            r#"{"ociVersion": "1.0.2", "process": {"cwd": "/", "user": {"uid": 0, "gid": 0}}}"#,
        );
        let spec = read_oci_template(&path).unwrap();
        assert_eq!(spec.version(), "1.0.2");
    }

    #[test]
    fn malformed_json_names_file_line_and_column() {
        let (_dir, path) = write("{\n  \"ociVersion\": \"1.0.2\",\n  \"mounts\": [,]\n}\n");
        let text = read_oci_template(&path).unwrap_err().to_string();
        assert!(
            text.starts_with(&format!("{}:3:14: ", path.display())),
            "{text}"
        );
        assert!(!text.contains(" at line "), "{text}");
    }

    #[test]
    fn an_unknown_capability_is_a_parse_error_with_its_position() {
        let (_dir, path) = write(
            "{\"ociVersion\": \"1.0.2\",\n \"process\": {\"cwd\": \"/\", \"user\": {\"uid\": 0, \"gid\": 0},\n  \"capabilities\": {\"bounding\": [\"CAP_CHOWN\", \"CAP_FLY\"]}}}",
        );
        let text = read_oci_template(&path).unwrap_err().to_string();
        assert!(text.contains(":3:"), "{text}");
        assert!(text.contains("CAP_FLY"), "{text}");
    }

    #[test]
    fn hooks_and_namespace_paths_are_refused_with_their_key() {
        let (_dir, path) = write(
            r#"{"ociVersion": "1.0.2", "process": {"cwd": "/", "user": {"uid": 0, "gid": 0}}, "hooks": {"prestart": [{"path": "/bin/true"}]}}"#,
        );
        let text = read_oci_template(&path).unwrap_err().to_string();
        assert!(text.contains(": hooks: "), "{text}");
        let (_dir, path) = write(
            r#"{"ociVersion": "1.0.2", "process": {"cwd": "/", "user": {"uid": 0, "gid": 0}}, "linux": {"namespaces": [{"type": "pid"}, {"type": "network", "path": "/run/netns/x"}]}}"#,
        );
        let text = read_oci_template(&path).unwrap_err().to_string();
        assert!(
            text.contains("linux.namespaces[1].path: `/run/netns/x` joins"),
            "{text}"
        );
    }

    #[test]
    fn a_template_without_a_process_is_refused() {
        let (_dir, path) = write(r#"{"ociVersion": "1.0.2"}"#);
        let text = read_oci_template(&path).unwrap_err().to_string();
        assert!(text.contains(": process: missing"), "{text}");
    }

    #[test]
    fn a_missing_file_is_a_read_error() {
        let err = read_oci_template(Path::new("/nonexistent/config.json")).unwrap_err();
        assert!(matches!(err, LoadError::Read { .. }), "{err}");
    }
}

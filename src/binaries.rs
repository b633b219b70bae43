//! Finding runsc and dockerd binaries and naming them by version.
//!
//! A binary axis value without an explicit `LABEL=` gets its label from the
//! binary's `--version` (`runsc version 0.0~20221219.0` → `20221219`,
//! `Docker version 20.10.24+dfsg1, …` → `20.10.24`), so that cell IDs say
//! which software ran. Version queries are short-lived commands, not daemons.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A binary found on this machine.
#[derive(Debug, Clone, PartialEq)]
pub struct Binary {
    /// The absolute path.
    pub path: PathBuf,
    /// The first line `--version` printed.
    pub version: String,
}

/// Why a binary cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BinaryError {
    /// Not in PATH, or the path does not exist.
    #[error("{name} not found")]
    NotFound {
        /// The name or path given.
        name: String,
    },
    /// It exists but `--version` failed.
    #[error("{path} --version failed")]
    Version {
        /// The binary.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// It answered `--version`, but not as runsc does (`runsc version …`):
    /// `--runsc /bin/true` would otherwise give a matrix of `error` cells.
    #[error("{path} is not runsc: `--version` printed {version:?}, not `runsc version …`")]
    NotRunsc {
        /// The binary.
        path: PathBuf,
        /// The first line it printed.
        version: String,
    },
}

impl BinaryError {
    /// The name or path that was asked for, for the install hint.
    pub fn name(&self) -> String {
        match self {
            BinaryError::NotFound { name } => name.clone(),
            BinaryError::Version { path, .. } | BinaryError::NotRunsc { path, .. } => {
                path.display().to_string()
            }
        }
    }
}

/// Finds `name` (a path, or a name looked up in PATH plus the sbin
/// directories, which a non-login root shell may lack) and reads its version.
///
/// # Errors
/// [`BinaryError::NotFound`] or [`BinaryError::Version`].
pub fn locate(name: &str) -> Result<Binary, BinaryError> {
    let path = which(name).ok_or_else(|| BinaryError::NotFound {
        name: name.to_owned(),
    })?;
    let output = Command::new(&path)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|source| BinaryError::Version {
            path: path.clone(),
            source,
        })?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = text.lines().next().unwrap_or_default().trim().to_owned();
    if !output.status.success() || version.is_empty() {
        return Err(BinaryError::Version {
            path,
            source: std::io::Error::other(format!("exited with {}", output.status)),
        });
    }
    Ok(Binary { path, version })
}

/// Like [`locate`], and checks that the binary answers `--version` as runsc
/// does (`runsc version 0.0~20221219.0`, `runsc version release-20231009.0`),
/// so that a wrong path fails before any cell starts.
///
/// # Errors
/// [`BinaryError::NotFound`], [`BinaryError::Version`] or
/// [`BinaryError::NotRunsc`].
pub fn locate_runsc(name: &str) -> Result<Binary, BinaryError> {
    let binary = locate(name)?;
    if !is_runsc_version(&binary.version) {
        return Err(BinaryError::NotRunsc {
            path: binary.path,
            version: binary.version,
        });
    }
    Ok(binary)
}

/// Whether a first `--version` line is runsc's.
pub fn is_runsc_version(line: &str) -> bool {
    line.strip_prefix("runsc version ")
        .is_some_and(|rest| !rest.trim().is_empty())
}

/// The global flags a runsc defines, from `runsc flags` (names without the
/// leading dash).
///
/// # Errors
/// [`BinaryError::Version`] when `runsc flags` cannot run or fails.
pub fn runsc_flags(path: &Path) -> Result<Vec<String>, BinaryError> {
    let output = Command::new(path)
        .arg("flags")
        .stdin(Stdio::null())
        .output()
        .map_err(|source| BinaryError::Version {
            path: path.to_owned(),
            source,
        })?;
    if !output.status.success() {
        return Err(BinaryError::Version {
            path: path.to_owned(),
            source: std::io::Error::other(format!("`flags` exited with {}", output.status)),
        });
    }
    // Go's flag package prints the usage to stderr; runsc's `flags` to stdout.
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Ok(parse_flag_names(&text))
}

/// Flag names from Go flag usage text: lines `  -name [type]`.
fn parse_flag_names(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("  -"))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// Resolves `name` to an absolute path, like `command -v`.
pub fn which(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let path = Path::new(name);
        let path = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir().ok()?.join(path)
        };
        return is_executable(&path).then_some(path);
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path_var)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A short label from a version line: the date of a Debian runsc
/// (`0.0~20221219.0` → `20221219`), or the first dotted number otherwise.
pub fn version_label(version: &str) -> Option<String> {
    let date = regex::Regex::new(r"[~-](\d{8})\b").expect("the regex is valid");
    let dotted = regex::Regex::new(r"\d+\.\d+(?:\.\d+)?").expect("the regex is valid");
    if let Some(caps) = date.captures(version) {
        return Some(caps[1].to_owned());
    }
    dotted.find(version).map(|m| m.as_str().to_owned())
}

/// How to install a missing binary.
pub fn install_hint(name: &str) -> String {
    let base = Path::new(name)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match base.as_str() {
        "runsc" => "install it with `apt-get install runsc` (bookworm has 20221219), or run \
                    `scripts/setup.sh` to also unpack trixie's runsc 20240729 under \
                    /var/cache/dindcheck/trixie"
            .to_owned(),
        "dockerd" | "containerd" | "runc" => {
            "install it with `apt-get install docker.io`, or run `scripts/setup.sh`".to_owned()
        }
        "busybox" => "install it with `apt-get install busybox-static`".to_owned(),
        "unshare" => "install it with `apt-get install util-linux`".to_owned(),
        "docker-registry" => "install it with `apt-get install docker-registry`".to_owned(),
        _ => "run `scripts/setup.sh`, which installs everything dindcheck needs".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("runsc version 0.0~20221219.0", "20221219")]
    #[case("runsc version 0.0~20240729.0", "20240729")]
    #[case("runsc version release-20231009.0", "20231009")]
    #[case("Docker version 20.10.24+dfsg1, build 5d6db84", "20.10.24")]
    #[case("Docker version 26.1.5+dfsg1, build 411e817", "26.1.5")]
    fn labels_from_versions(#[case] line: &str, #[case] label: &str) {
        assert_eq!(version_label(line).as_deref(), Some(label));
    }

    #[rstest]
    #[case("runsc version 0.0~20221219.0", true)]
    #[case("runsc version release-20231009.0", true)]
    #[case("true (GNU coreutils) 9.1", false)]
    #[case("runsc version ", false)]
    #[case("Docker version 20.10.24+dfsg1, build 5d6db84", false)]
    fn runsc_answers_like_runsc(#[case] line: &str, #[case] runsc: bool) {
        assert_eq!(is_runsc_version(line), runsc);
    }

    #[rstest]
    #[timeout(std::time::Duration::from_secs(30))]
    fn a_binary_that_is_not_runsc_is_refused() {
        // GNU true answers --version, but not as runsc.
        let err = locate_runsc("/bin/true").unwrap_err();
        assert!(matches!(err, BinaryError::NotRunsc { .. }), "{err}");
        assert!(err.to_string().contains("is not runsc"), "{err}");
    }

    #[test]
    fn flag_names_come_from_go_usage_lines() {
        let text = "  -TESTONLY-allow-packet-endpoint-write\n    \tTEST ONLY\n  -net-raw runsc exec\n    \tenable raw sockets\n  -platform string\n";
        assert_eq!(
            parse_flag_names(text),
            [
                "TESTONLY-allow-packet-endpoint-write",
                "net-raw",
                "platform"
            ]
        );
    }

    #[test]
    fn missing_binary_is_not_found() {
        assert!(matches!(
            locate("/nonexistent/runsc"),
            Err(BinaryError::NotFound { .. })
        ));
        assert!(which("sh").is_some());
    }
}

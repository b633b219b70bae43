//! dockerd's output inside the sandbox, followed as it is written.
//!
//! dockerd (and containerd, which inherits the same descriptor) writes to a
//! file the agent follows: every poll copies what is new to the agent's
//! stdout, which the host keeps as `dockerd.log`, and feeds its complete
//! lines to the classifier that run and triage share
//! ([`crate::classify::Classifier`]), so the agent learns of dockerd's last
//! words (`failed to start daemon: …`) the moment it reads them.
//!
//! A file, not a pipe: a writer can never block on it, and whatever dockerd
//! wrote before it exited is in the file, so one more read after the exit
//! is complete. The file sits beside the work tmpfs (`<work_dir>.out`),
//! not on it, so a size-limited work dir (`probe.work_size_mb`) that dockerd
//! fills cannot cost it its log. This module reads and copies; deciding
//! what a line means for the cell belongs to `cell.rs`.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::classify::{Classifier, SignatureSet, logline};
use crate::process::child::Output;

/// dockerd's last words as the agent read them.
#[derive(Debug, Clone)]
pub(crate) struct TerminalLine {
    /// When the agent read the line.
    pub seen: Instant,
    /// The same moment on the wall clock, in microseconds since the epoch.
    pub seen_at_us: i64,
}

/// The file dockerd writes to, and how far the agent has read it.
pub(crate) struct DockerdOutput {
    path: PathBuf,
    reader: File,
    copy: File,
    partial: Vec<u8>,
    classifier: Option<Classifier<'static>>,
    terminal: Option<TerminalLine>,
}

impl DockerdOutput {
    /// Creates the (empty) output file for the dockerd of `work_dir` and
    /// opens it for following; copies go to this process's stdout.
    ///
    /// # Errors
    /// When the file cannot be created or opened.
    pub fn create(work_dir: &Path) -> std::io::Result<DockerdOutput> {
        // Unbuffered: each copy must reach the host before any verdict the
        // agent writes after it.
        let stdout = std::io::stdout().as_fd().try_clone_to_owned()?;
        DockerdOutput::copying_to(work_dir, File::from(stdout))
    }

    /// Like [`DockerdOutput::create`], with copies going to `copy`.
    fn copying_to(work_dir: &Path, copy: File) -> std::io::Result<DockerdOutput> {
        // Beside the work tmpfs, so a full data root cannot cost dockerd its
        // last words; inside it where the sandbox offers nothing writable
        // beside it (a user's OCI template mounts only dindcheck's own paths).
        let beside = work_dir.with_extension("out");
        let path = match File::create(&beside) {
            Ok(_) => beside,
            Err(_) => {
                let inside = work_dir.join(".dockerd.out");
                File::create(&inside)?;
                inside
            }
        };
        let reader = File::open(&path)?;
        Ok(DockerdOutput {
            path,
            reader,
            copy,
            partial: Vec::new(),
            classifier: None,
            terminal: None,
        })
    }

    /// The file dockerd writes to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where dockerd's stdout and stderr go: the same file, appended to.
    pub fn sink(&self) -> Output {
        Output::Append(self.path.clone())
    }

    /// Copies what dockerd wrote since the last call and reads its complete
    /// lines. Returns whether there was anything new.
    pub fn pump(&mut self) -> bool {
        let mut chunk = Vec::new();
        if self.reader.read_to_end(&mut chunk).is_err() || chunk.is_empty() {
            return false;
        }
        // A copy that fails (the sandbox is going down) must not stop the
        // watch.
        let _ = self.copy.write_all(&chunk);
        if self.terminal.is_none() {
            self.read_lines(&chunk);
        }
        true
    }

    /// dockerd's last words, once the agent has read them.
    pub fn terminal(&self) -> Option<&TerminalLine> {
        self.terminal.as_ref()
    }

    fn read_lines(&mut self, chunk: &[u8]) {
        let mut rest = chunk;
        while let Some(newline) = memchr::memchr(b'\n', rest) {
            let (line, after) = rest.split_at(newline);
            rest = &after[1..];
            if self.partial.is_empty() {
                self.classify(line);
            } else {
                let mut whole = std::mem::take(&mut self.partial);
                whole.extend_from_slice(line);
                self.classify(&whole);
            }
            if self.terminal.is_some() {
                return;
            }
        }
        self.partial.extend_from_slice(rest);
        if self.partial.len() > logline::MAX_LINE_BYTES {
            // The classifier keeps no more than this of a line either.
            let whole = std::mem::take(&mut self.partial);
            self.classify(&whole);
        }
    }

    fn classify(&mut self, line: &[u8]) {
        let classifier = self
            .classifier
            .get_or_insert_with(|| Classifier::new(SignatureSet::shared()));
        if classifier
            .push(&String::from_utf8_lossy(line))
            .is_terminal()
        {
            self.terminal = Some(TerminalLine {
                seen: Instant::now(),
                seen_at_us: jiff::Timestamp::now().as_microsecond(),
            });
        }
    }
}

impl Drop for DockerdOutput {
    /// Copies what is left: the agent exits right after, and what dockerd
    /// wrote last is what the log is kept for.
    fn drop(&mut self) {
        self.pump();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn append(path: &Path, text: &str) {
        let mut file = File::options().append(true).open(path).unwrap();
        file.write_all(text.as_bytes()).unwrap();
    }

    fn follow(dir: &Path) -> DockerdOutput {
        let copy = File::create(dir.join("copy")).unwrap();
        DockerdOutput::copying_to(&dir.join("w"), copy).unwrap()
    }

    #[test]
    fn last_words_are_seen_once_complete_and_only_then() {
        let dir = tempfile::tempdir().unwrap();
        let mut output = follow(dir.path());
        let Output::Append(path) = output.sink() else {
            panic!("dockerd's output must be appended to a file");
        };
        assert!(!output.pump());
        append(
            &path,
            "time=\"2026-12-01T20:08:27.091518920Z\" level=info msg=\"stopping healthcheck following graceful shutdown\" module=libcontainerd\n",
        );
        assert!(output.pump());
        assert!(output.terminal().is_none());
        append(&path, "failed to start daemon: Devices cgroup ");
        output.pump();
        assert!(output.terminal().is_none(), "half a line is not last words");
        append(&path, "isn't mounted\n (exit status 1)");
        output.pump();
        assert!(output.terminal().is_some());
        drop(output);
        let copy = std::fs::read_to_string(dir.path().join("copy")).unwrap();
        assert_eq!(copy, std::fs::read_to_string(&path).unwrap());
        assert!(copy.ends_with("isn't mounted\n (exit status 1)"), "{copy}");
    }

    #[test]
    fn a_level_fatal_line_is_last_words() {
        let dir = tempfile::tempdir().unwrap();
        let mut output = follow(dir.path());
        let Output::Append(path) = output.sink() else {
            panic!("dockerd's output must be appended to a file");
        };
        append(
            &path,
            "time=\"2026-12-01T20:08:27Z\" level=warning msg=\"Your kernel does not support swap memory limit\"\ntime=\"2026-12-01T20:08:27Z\" level=fatal msg=\"Error creating middlewares: x\"\n",
        );
        output.pump();
        assert!(output.terminal().is_some());
    }
}

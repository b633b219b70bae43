//! Builds a one-layer image holding a single static binary, as a `docker save` tarball in memory.
//!
//! The probe loads this tarball with `POST /images/load`, so checking that a dockerd can run a
//! container never needs a registry. The module also owns the ELF check that the binary is static
//! (it must run in an otherwise empty root filesystem). It must not talk to a daemon or write files.
//!
//! The tarball follows the `docker save` layout that `docker load` reads: `manifest.json` naming a
//! config file `<sha256 of config>.json` and one `<layer>/layer.tar`, the config's
//! `rootfs.diff_ids` holding the sha256 of that uncompressed layer tar (see moby's
//! `image/tarexport/load.go`). All timestamps and owners are zero, so the output is reproducible.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Failure to build the image tarball or to inspect a binary.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The binary could not be read.
    #[error("failed to read {}", path.display())]
    Read {
        /// The file that was read.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The path the binary should have inside the image is unusable.
    #[error("invalid path in image {path:?}: {what}")]
    InvalidImagePath {
        /// The path as given.
        path: String,
        /// Why it was rejected.
        what: &'static str,
    },
    /// The tag is not of the form `name:tag`, which `docker load` requires.
    #[error("invalid image tag {tag:?}: expected `name:tag` without whitespace")]
    InvalidTag {
        /// The tag as given.
        tag: String,
    },
    /// Writing the in-memory tar archive failed.
    #[error("failed to assemble the image tarball")]
    Assemble {
        /// The error from the tar writer.
        #[source]
        source: io::Error,
    },
    /// The file is not a 64-bit little-endian ELF file, or its headers are truncated.
    #[error("{} is not a usable 64-bit little-endian ELF file: {what}", path.display())]
    NotElf {
        /// The file that was inspected.
        path: PathBuf,
        /// What was wrong with it.
        what: &'static str,
    },
}

/// `PATH` in the image config, as in Docker's default for images without one.
const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Builds a `docker save` tarball whose single layer holds `binary` at `binary_in_image`.
///
/// `binary_in_image` is relative to the image root, with or without a leading `/` (e.g.
/// `bin/busybox`); the file gets mode 0755 and its parent directories are created. The image config
/// sets `Cmd` to the binary's absolute path, `os` to `linux` and `architecture` to the Go name of
/// the architecture this program was built for. `tag` becomes the image's only `RepoTags` entry.
///
/// # Errors
///
/// [`ImageError::Read`] when `binary` cannot be read, [`ImageError::InvalidImagePath`] for an
/// empty path or one with `.`/`..`/empty components, and [`ImageError::InvalidTag`] when `tag`
/// lacks a `:tag` part or contains whitespace.
pub fn single_binary_image(
    binary: &Path,
    binary_in_image: &str,
    tag: &str,
) -> Result<Vec<u8>, ImageError> {
    let components = image_path_components(binary_in_image)?;
    validate_tag(tag)?;
    let data = std::fs::read(binary).map_err(|source| ImageError::Read {
        path: binary.to_path_buf(),
        source,
    })?;
    let assemble = |source| ImageError::Assemble { source };

    let layer = layer_tar(&components, &data).map_err(assemble)?;
    let diff_id = sha256_hex(&layer);
    let config = serde_json::json!({
        "architecture": go_arch(std::env::consts::ARCH),
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {
            "Cmd": [format!("/{}", components.join("/"))],
            "Env": [DEFAULT_PATH],
        },
        "rootfs": { "type": "layers", "diff_ids": [format!("sha256:{diff_id}")] },
    })
    .to_string();
    let config_name = format!("{}.json", sha256_hex(config.as_bytes()));
    let layer_name = format!("{diff_id}/layer.tar");
    let manifest = serde_json::json!([{
        "Config": config_name,
        "RepoTags": [tag],
        "Layers": [layer_name],
    }])
    .to_string();

    let mut archive = tar::Builder::new(Vec::new());
    append_dir(&mut archive, &diff_id).map_err(assemble)?;
    append_file(&mut archive, &layer_name, &layer, 0o644).map_err(assemble)?;
    append_file(&mut archive, &config_name, config.as_bytes(), 0o644).map_err(assemble)?;
    append_file(&mut archive, "manifest.json", manifest.as_bytes(), 0o644).map_err(assemble)?;
    archive.into_inner().map_err(assemble)
}

/// Builds a build context for `POST /build`: a tar holding only `Dockerfile` with `dockerfile`.
///
/// # Errors
///
/// [`ImageError::Assemble`] when the in-memory tar cannot be written.
pub fn dockerfile_context(dockerfile: &str) -> Result<Vec<u8>, ImageError> {
    let assemble = |source| ImageError::Assemble { source };
    let mut archive = tar::Builder::new(Vec::new());
    append_file(&mut archive, "Dockerfile", dockerfile.as_bytes(), 0o644).map_err(assemble)?;
    archive.into_inner().map_err(assemble)
}

/// Returns true when the ELF file at `path` has no `PT_INTERP` program header, i.e. it does not
/// ask for a dynamic loader and can run in an empty root filesystem (static and static-pie).
///
/// Only 64-bit little-endian ELF is supported, which covers every architecture we target.
///
/// # Errors
///
/// [`ImageError::Read`] when the file cannot be opened or read, and [`ImageError::NotElf`] when it
/// is not 64-bit little-endian ELF or its program header table is truncated.
pub fn is_static_elf(path: &Path) -> Result<bool, ImageError> {
    const PT_INTERP: u32 = 3;
    const PN_XNUM: u16 = 0xffff;
    const PHDR_SIZE: usize = 56;
    const SHDR_SIZE: usize = 64;
    // Real binaries have a dozen or so program headers; this bounds the allocation.
    const MAX_PHDRS: usize = 65_536;

    let not_elf = |what| ImageError::NotElf {
        path: path.to_path_buf(),
        what,
    };
    let mut file = File::open(path).map_err(|source| ImageError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut read_at = |offset: u64, buf: &mut [u8], what| {
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_exact(buf))
            .map_err(|source| match source.kind() {
                io::ErrorKind::UnexpectedEof => not_elf(what),
                _ => ImageError::Read {
                    path: path.to_path_buf(),
                    source,
                },
            })
    };

    let mut ehdr = [0u8; 64];
    read_at(0, &mut ehdr, "file is shorter than an ELF64 header")?;
    if ehdr[..4] != *b"\x7fELF" {
        return Err(not_elf("missing ELF magic"));
    }
    if ehdr[4] != 2 {
        return Err(not_elf("not ELFCLASS64"));
    }
    if ehdr[5] != 1 {
        return Err(not_elf("not little endian"));
    }
    let phoff = le_u64(&ehdr, 0x20);
    let shoff = le_u64(&ehdr, 0x28);
    let phentsize = usize::from(le_u16(&ehdr, 0x36));
    let mut phnum = usize::from(le_u16(&ehdr, 0x38));
    if phnum == usize::from(PN_XNUM) {
        // With PN_XNUM the real count lives in sh_info of section header 0 (man 5 elf).
        let mut shdr = [0u8; SHDR_SIZE];
        read_at(shoff, &mut shdr, "section header 0 is truncated")?;
        phnum = usize::try_from(le_u32(&shdr, 0x2c)).unwrap_or(usize::MAX);
    }
    if phnum == 0 {
        return Ok(true);
    }
    if phentsize < PHDR_SIZE {
        return Err(not_elf("program header entries are smaller than 56 bytes"));
    }
    if phnum > MAX_PHDRS {
        return Err(not_elf("implausibly many program headers"));
    }
    let mut table = vec![0u8; phnum * phentsize];
    read_at(phoff, &mut table, "program header table is truncated")?;
    Ok(!table
        .chunks_exact(phentsize)
        .any(|phdr| le_u32(phdr, 0) == PT_INTERP))
}

fn le_u16(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn le_u32(bytes: &[u8], at: usize) -> u32 {
    let mut buf = [0u8; 4];
    buf.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(buf)
}

fn le_u64(bytes: &[u8], at: usize) -> u64 {
    let mut buf = [0u8; 8];
    buf.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(buf)
}

/// Maps a Rust `target_arch` name to the GOARCH name that image configs use.
fn go_arch(rust_arch: &str) -> &str {
    match rust_arch {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "loongarch64" => "loong64",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "mips64" if cfg!(target_endian = "little") => "mips64le",
        "mips" if cfg!(target_endian = "little") => "mipsle",
        // arm, riscv64, s390x, powerpc64 (big endian) and mips64 share their names with Go.
        other => other,
    }
}

fn sha256_hex(data: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(64);
    for byte in Sha256::digest(data) {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}

/// Splits a path inside the image into its components, rejecting anything that could escape the
/// root or that `docker load` would normalise differently.
fn image_path_components(path: &str) -> Result<Vec<&str>, ImageError> {
    let invalid = |what| ImageError::InvalidImagePath {
        path: path.to_owned(),
        what,
    };
    let relative = path.strip_prefix('/').unwrap_or(path);
    if relative.is_empty() {
        return Err(invalid("path is empty"));
    }
    let components: Vec<&str> = relative.split('/').collect();
    if components.iter().any(|c| c.is_empty()) {
        return Err(invalid("path has an empty component"));
    }
    if components.iter().any(|c| *c == "." || *c == "..") {
        return Err(invalid("path has a `.` or `..` component"));
    }
    if path.chars().any(char::is_control) {
        return Err(invalid("path contains control characters"));
    }
    Ok(components)
}

/// Checks the shape `docker load` insists on: a name, then `:` and a tag after the last `/`.
fn validate_tag(tag: &str) -> Result<(), ImageError> {
    let last = tag.rsplit('/').next().unwrap_or_default();
    let has_tag = last
        .split_once(':')
        .is_some_and(|(name, tag)| !name.is_empty() && !tag.is_empty());
    if has_tag && !tag.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Ok(())
    } else {
        Err(ImageError::InvalidTag {
            tag: tag.to_owned(),
        })
    }
}

/// Builds the layer: parent directories (0755) and the binary (0755), owned by root.
fn layer_tar(components: &[&str], data: &[u8]) -> io::Result<Vec<u8>> {
    let mut layer = tar::Builder::new(Vec::new());
    let (_, parents) = components
        .split_last()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty image path"))?;
    for depth in 1..=parents.len() {
        append_dir(&mut layer, &parents[..depth].join("/"))?;
    }
    append_file(&mut layer, &components.join("/"), data, 0o755)?;
    layer.into_inner()
}

fn base_header(entry_type: tar::EntryType, size: u64, mode: u32) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(entry_type);
    header.set_size(size);
    header.set_mode(mode);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header
}

fn append_dir(archive: &mut tar::Builder<Vec<u8>>, path: &str) -> io::Result<()> {
    let mut header = base_header(tar::EntryType::Directory, 0, 0o755);
    archive.append_data(&mut header, format!("{path}/"), io::empty())
}

fn append_file(
    archive: &mut tar::Builder<Vec<u8>>,
    path: &str,
    data: &[u8],
    mode: u32,
) -> io::Result<()> {
    let mut header = base_header(tar::EntryType::Regular, data.len() as u64, mode);
    archive.append_data(&mut header, path, data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use std::collections::BTreeMap;
    use std::io::Write;

    /// Reads every entry of a tar archive into a map from path to (entry type, mode, contents).
    fn entries(archive: &[u8]) -> BTreeMap<String, (tar::EntryType, u32, Vec<u8>)> {
        let mut archive = tar::Archive::new(archive);
        let mut out = BTreeMap::new();
        for entry in archive.entries().expect("entries") {
            let mut entry = entry.expect("entry");
            let path = entry.path().expect("path").to_string_lossy().into_owned();
            let kind = entry.header().entry_type();
            let mode = entry.header().mode().expect("mode");
            let mut data = Vec::new();
            entry.read_to_end(&mut data).expect("data");
            out.insert(path, (kind, mode, data));
        }
        out
    }

    fn fake_binary(contents: &[u8]) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(contents).expect("write");
        file
    }

    #[test]
    fn image_tarball_is_consistent() {
        let binary = fake_binary(b"\x7fELF not really");
        let tarball = single_binary_image(binary.path(), "/bin/busybox", "dindcheck/busybox:probe")
            .expect("image");
        let outer = entries(&tarball);

        let manifest: serde_json::Value =
            serde_json::from_slice(&outer["manifest.json"].2).expect("manifest json");
        let manifest = manifest.as_array().expect("manifest is a list");
        assert_eq!(manifest.len(), 1);
        let config_name = manifest[0]["Config"].as_str().expect("Config");
        let layer_name = manifest[0]["Layers"][0].as_str().expect("Layers[0]");
        assert_eq!(
            manifest[0]["RepoTags"],
            serde_json::json!(["dindcheck/busybox:probe"])
        );
        assert_eq!(manifest[0]["Layers"].as_array().map(Vec::len), Some(1));

        let config_bytes = &outer[config_name].2;
        assert_eq!(config_name, format!("{}.json", sha256_hex(config_bytes)));
        let config: serde_json::Value = serde_json::from_slice(config_bytes).expect("config json");
        assert_eq!(config["os"], "linux");
        assert_eq!(config["architecture"], go_arch(std::env::consts::ARCH));
        assert_eq!(config["config"]["Cmd"], serde_json::json!(["/bin/busybox"]));
        assert_eq!(config["rootfs"]["type"], "layers");

        let (_, _, layer) = &outer[layer_name];
        let diff_id = format!("sha256:{}", sha256_hex(layer));
        assert_eq!(config["rootfs"]["diff_ids"], serde_json::json!([diff_id]));
        assert_eq!(layer_name, format!("{}/layer.tar", sha256_hex(layer)));

        let inner = entries(layer);
        assert_eq!(
            inner.keys().collect::<Vec<_>>(),
            ["bin/", "bin/busybox"],
            "layer entries"
        );
        assert_eq!(inner["bin/"].0, tar::EntryType::Directory);
        assert_eq!(inner["bin/"].1, 0o755);
        assert_eq!(inner["bin/busybox"].0, tar::EntryType::Regular);
        assert_eq!(inner["bin/busybox"].1, 0o755);
        assert_eq!(inner["bin/busybox"].2, b"\x7fELF not really");
    }

    #[test]
    fn a_build_context_holds_only_the_dockerfile() {
        let context = dockerfile_context("FROM scratch\n").unwrap();
        let all = entries(&context);
        assert_eq!(all.len(), 1);
        assert_eq!(all["Dockerfile"].2, b"FROM scratch\n");
    }

    #[test]
    fn image_tarball_is_reproducible() {
        let binary = fake_binary(b"same bytes");
        let build = || single_binary_image(binary.path(), "opt/x/probe", "a:b").expect("image");
        assert_eq!(build(), build());
        let layer_name = {
            let outer = entries(&build());
            let manifest: serde_json::Value =
                serde_json::from_slice(&outer["manifest.json"].2).expect("manifest");
            manifest[0]["Layers"][0].as_str().expect("layer").to_owned()
        };
        let outer = entries(&build());
        let inner = entries(&outer[&layer_name].2);
        assert_eq!(
            inner.keys().collect::<Vec<_>>(),
            ["opt/", "opt/x/", "opt/x/probe"]
        );
    }

    #[rstest]
    #[case::plain("dindcheck/busybox:probe")]
    #[case::registry_port("localhost:5000/busybox:1")]
    #[case::single_name("busybox:latest")]
    fn accepts_tags(#[case] tag: &str) {
        assert!(validate_tag(tag).is_ok());
    }

    #[rstest]
    #[case::empty("")]
    #[case::no_tag("busybox")]
    #[case::port_but_no_tag("localhost:5000/busybox")]
    #[case::empty_tag("busybox:")]
    #[case::whitespace("busy box:1")]
    fn rejects_tags(#[case] tag: &str) {
        assert!(matches!(
            validate_tag(tag),
            Err(ImageError::InvalidTag { .. })
        ));
    }

    #[rstest]
    #[case::empty("")]
    #[case::root("/")]
    #[case::dot_dot("../bin/busybox")]
    #[case::inner_dot_dot("bin/../busybox")]
    #[case::dot("./busybox")]
    #[case::double_slash("bin//busybox")]
    #[case::trailing_slash("bin/")]
    #[case::newline("bin/busy\nbox")]
    fn rejects_image_paths(#[case] path: &str) {
        let binary = fake_binary(b"x");
        assert!(matches!(
            single_binary_image(binary.path(), path, "a:b"),
            Err(ImageError::InvalidImagePath { .. })
        ));
    }

    #[test]
    fn missing_binary_is_a_read_error() {
        let result = single_binary_image(Path::new("/nonexistent/busybox"), "bin/busybox", "a:b");
        assert!(matches!(result, Err(ImageError::Read { .. })));
    }

    #[rstest]
    #[case::amd64("x86_64", "amd64")]
    #[case::arm64("aarch64", "arm64")]
    #[case::i386("x86", "386")]
    #[case::riscv("riscv64", "riscv64")]
    #[case::s390x("s390x", "s390x")]
    fn maps_arch_names(#[case] rust: &str, #[case] go: &str) {
        assert_eq!(go_arch(rust), go);
    }

    /// Writes a minimal ELF64 little-endian file with program headers of the given types.
    fn synthetic_elf(program_types: &[u32]) -> tempfile::NamedTempFile {
        let mut bytes = vec![0u8; 64];
        bytes[..4].copy_from_slice(b"\x7fELF");
        bytes[4] = 2;
        bytes[5] = 1;
        bytes[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        bytes[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        let count = u16::try_from(program_types.len()).expect("few headers");
        bytes[0x38..0x3a].copy_from_slice(&count.to_le_bytes());
        for p_type in program_types {
            let mut phdr = [0u8; 56];
            phdr[..4].copy_from_slice(&p_type.to_le_bytes());
            bytes.extend_from_slice(&phdr);
        }
        fake_binary(&bytes)
    }

    #[rstest]
    #[case::static_exec(&[6, 1, 1, 4], true)]
    #[case::dynamic_exec(&[6, 3, 1, 1, 2], false)]
    #[case::no_program_headers(&[], true)]
    fn detects_interpreter_in_synthetic_elf(#[case] types: &[u32], #[case] expected: bool) {
        let file = synthetic_elf(types);
        assert_eq!(is_static_elf(file.path()).expect("valid elf"), expected);
    }

    #[rstest]
    #[case::text(b"#!/bin/sh\necho hi\n".to_vec())]
    #[case::short(b"\x7fELF\x02\x01".to_vec())]
    #[case::elf32([b"\x7fELF\x01\x01".as_slice(), &[0u8; 58]].concat())]
    #[case::big_endian([b"\x7fELF\x02\x02".as_slice(), &[0u8; 58]].concat())]
    fn rejects_non_elf64(#[case] contents: Vec<u8>) {
        let file = fake_binary(&contents);
        assert!(matches!(
            is_static_elf(file.path()),
            Err(ImageError::NotElf { .. })
        ));
    }

    #[test]
    fn truncated_program_headers_are_rejected() {
        let file = synthetic_elf(&[1, 1]);
        let len = file.as_file().metadata().expect("metadata").len();
        file.as_file().set_len(len - 10).expect("truncate");
        assert!(matches!(
            is_static_elf(file.path()),
            Err(ImageError::NotElf { what, .. }) if what.contains("truncated")
        ));
    }

    /// The static busybox the container probe packs (scripts/setup.sh
    /// installs busybox-static); ignored, with the reason, where the build
    /// found none.
    #[test]
    #[cfg_attr(
        dindcheck_skip_busybox,
        ignore = "needs a static /bin/busybox (apt-get install busybox-static)"
    )]
    fn busybox_static_is_a_static_elf() {
        let path = Path::new("/bin/busybox");
        assert!(
            path.exists(),
            "/bin/busybox is missing, but the build found it (or DINDCHECK_REQUIRE_RUNTIMES=1 \
             asks for it): apt-get install busybox-static"
        );
        assert!(is_static_elf(path).expect("busybox is ELF64"));
    }

    #[test]
    fn a_dynamic_binary_is_not_static() {
        assert!(!is_static_elf(Path::new("/bin/ls")).expect("ls is ELF64"));
    }
}

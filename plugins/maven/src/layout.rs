//! The Maven 2 repository layout: what a path names.
//!
//! `{group path}/{artifactId}/{version}/{artifactId}-{version}[-{classifier}].{ext}`
//! for files, `{group path}/{artifactId}/maven-metadata.xml` for the artifact's
//! version list and `{…}/{version}-SNAPSHOT/maven-metadata.xml` for a
//! snapshot's builds; any of them with a checksum suffix is a sidecar.

use wharf_sdk::HttpError;

pub const METADATA: &str = "maven-metadata.xml";

/// The checksum algorithms Maven reads, by sidecar suffix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Algo {
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

impl Algo {
    pub const EVERY: [Algo; 4] = [Algo::Md5, Algo::Sha1, Algo::Sha256, Algo::Sha512];

    const ALL: [(Algo, &str); 4] = [
        (Algo::Md5, ".md5"),
        (Algo::Sha1, ".sha1"),
        (Algo::Sha256, ".sha256"),
        (Algo::Sha512, ".sha512"),
    ];

    pub fn name(self) -> &'static str {
        match self {
            Algo::Md5 => "md5",
            Algo::Sha1 => "sha1",
            Algo::Sha256 => "sha256",
            Algo::Sha512 => "sha512",
        }
    }

    /// Length of the digest in hex.
    pub fn hex_len(self) -> usize {
        match self {
            Algo::Md5 => 32,
            Algo::Sha1 => 40,
            Algo::Sha256 => 64,
            Algo::Sha512 => 128,
        }
    }

    /// Splits `file.jar.sha1` into (`file.jar`, Sha1).
    fn strip(name: &str) -> (&str, Option<Algo>) {
        Algo::ALL
            .iter()
            .find_map(|(algo, suffix)| name.strip_suffix(suffix).map(|base| (base, Some(*algo))))
            .unwrap_or((name, None))
    }
}

/// A timestamped build of a SNAPSHOT: `1.0-20240101.120000-3`.
#[derive(Debug, Clone, PartialEq)]
pub struct Build {
    /// `20240101.120000`
    pub timestamp: String,
    pub number: u32,
}

/// A file below a version directory.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    /// The directory version (`1.0`, `1.0-SNAPSHOT`).
    pub version: String,
    pub name: String,
    pub classifier: Option<String>,
    /// Everything after the first dot past version and classifier (`jar`, `tar.gz`, `jar.asc`).
    pub extension: String,
    /// Set for timestamped SNAPSHOT files.
    pub build: Option<Build>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    File(File),
    /// `maven-metadata.xml` of the artifact (`None`) or of a SNAPSHOT version.
    Metadata(Option<String>),
}

/// A parsed repository path.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub group: String,
    pub artifact: String,
    pub target: Target,
    /// A checksum sidecar of the target.
    pub checksum: Option<Algo>,
}

impl Path {
    /// The catalog package: `groupId:artifactId`.
    pub fn package(&self) -> String {
        format!("{}:{}", self.group, self.artifact)
    }

    /// The repository path of the target (the sidecar's file itself).
    pub fn target_path(&self) -> String {
        let dir = format!("{}/{}", self.group.replace('.', "/"), self.artifact);
        match &self.target {
            Target::File(f) => format!("{dir}/{}/{}", f.version, f.name),
            Target::Metadata(None) => format!("{dir}/{METADATA}"),
            Target::Metadata(Some(v)) => format!("{dir}/{v}/{METADATA}"),
        }
    }
}

pub fn is_snapshot(version: &str) -> bool {
    version.ends_with("-SNAPSHOT")
}

/// `1.0` of `1.0-SNAPSHOT`.
fn base(version: &str) -> &str {
    version.strip_suffix("-SNAPSHOT").unwrap_or(version)
}

/// Parses a decoded repository path (no leading slash).
pub fn parse(path: &str) -> Result<Path, HttpError> {
    let invalid = || HttpError::bad_request(format!("{path} is not a Maven repository path"));
    let segments: Vec<&str> = path.split('/').collect();
    if segments
        .iter()
        .any(|s| s.is_empty() || *s == "." || *s == ".." || s.contains(':'))
    {
        return Err(invalid());
    }
    let (&last, dirs) = segments.split_last().ok_or_else(invalid)?;
    let (name, checksum) = Algo::strip(last);
    let group = |parts: &[&str]| (!parts.is_empty()).then(|| parts.join("."));

    if name == METADATA {
        // Below a SNAPSHOT directory it is the snapshot's; elsewhere the artifact's.
        if let [g @ .., artifact, version] = dirs
            && is_snapshot(version)
            && let Some(group) = group(g)
        {
            let target = Target::Metadata(Some(version.to_string()));
            return Ok(Path {
                group,
                artifact: artifact.to_string(),
                target,
                checksum,
            });
        }
        let [g @ .., artifact] = dirs else {
            return Err(invalid());
        };
        let group = group(g).ok_or_else(invalid)?;
        let target = Target::Metadata(None);
        return Ok(Path {
            group,
            artifact: artifact.to_string(),
            target,
            checksum,
        });
    }

    let [g @ .., artifact, version] = dirs else {
        return Err(invalid());
    };
    let group = group(g).ok_or_else(invalid)?;
    let rest = name
        .strip_prefix(*artifact)
        .and_then(|r| r.strip_prefix('-'))
        .ok_or_else(invalid)?;
    let (build, rest) = match rest.strip_prefix(*version) {
        Some(rest) => (None, rest),
        None if is_snapshot(version) => {
            let rest = rest
                .strip_prefix(base(version))
                .and_then(|r| r.strip_prefix('-'))
                .ok_or_else(invalid)?;
            let (build, rest) = parse_build(rest).ok_or_else(invalid)?;
            (Some(build), rest)
        }
        None => return Err(invalid()),
    };
    let (classifier, extension) = match rest.strip_prefix('-') {
        Some(r) => {
            let (classifier, ext) = r.split_once('.').ok_or_else(invalid)?;
            (Some(classifier.to_string()), ext)
        }
        None => (None, rest.strip_prefix('.').ok_or_else(invalid)?),
    };
    if extension.is_empty() || classifier.as_deref() == Some("") {
        return Err(invalid());
    }
    let file = File {
        version: version.to_string(),
        name: name.to_string(),
        classifier,
        extension: extension.to_string(),
        build,
    };
    let artifact = artifact.to_string();
    Ok(Path {
        group,
        artifact,
        target: Target::File(file),
        checksum,
    })
}

/// `20240101.120000-3…` → the build and what follows it.
fn parse_build(s: &str) -> Option<(Build, &str)> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (date, time) = (s.get(..8)?, s.get(9..15)?);
    if !digits(date)
        || s.as_bytes()[8] != b'.'
        || !digits(time)
        || s.as_bytes().get(15) != Some(&b'-')
    {
        return None;
    }
    let rest = &s[16..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let number = rest[..end].parse().ok()?;
    let timestamp = format!("{date}.{time}");
    Some((Build { timestamp, number }, &rest[end..]))
}

//! The npm CLI as a test drives it: a user with their own HOME (so their
//! own ~/.npmrc and cache) pointed at a running wharf, and package
//! directories to publish.

use crate::{Server, run, run_interactive};
use std::path::{Path, PathBuf};
use std::process::Command;

/// An npm user with their own HOME (and so their own ~/.npmrc and cache).
pub struct NpmUser {
    pub home: tempfile::TempDir,
    pub registry: String,
}

impl NpmUser {
    pub fn new(server: &Server) -> NpmUser {
        Self::of_repository(server, "npm")
    }

    /// A user whose registry is the repository `repo` of `server`.
    pub fn of_repository(server: &Server, repo: &str) -> NpmUser {
        Self::of_registry(&format!("{}/{repo}/", server.url))
    }

    /// A user of the registry at `registry` (a URL ending in `/`).
    pub fn of_registry(registry: &str) -> NpmUser {
        let home = tempfile::tempdir().unwrap();
        let registry = registry.to_string();
        std::fs::write(
            home.path().join(".npmrc"),
            format!("registry={registry}\naudit=false\nfund=false\nupdate-notifier=false\n"),
        )
        .unwrap();
        NpmUser { home, registry }
    }

    pub fn npm(&self, dir: &Path, args: &[&str]) -> (bool, String, String) {
        run(Command::new("npm")
            .args(args)
            .current_dir(dir)
            .env("HOME", self.home.path())
            .env("npm_config_cache", self.home.path().join(".npm"))
            .env_remove("npm_config_registry")
            .env("NO_COLOR", "1"))
    }

    /// Runs npm and fails the test with its output if it fails.
    pub fn ok(&self, dir: &Path, args: &[&str]) -> String {
        let (ok, out, err) = self.npm(dir, args);
        assert!(ok, "npm {args:?} failed\nstdout:\n{out}\nstderr:\n{err}");
        out
    }

    /// `npm login` or `npm adduser` (which also asks for an e-mail address).
    pub fn login(&self, command: &str, user: &str, password: &str) {
        let env = [
            ("HOME", self.home.path().as_os_str()),
            ("NO_COLOR", std::ffi::OsStr::new("1")),
        ];
        let cmd = format!(
            "npm {command} --auth-type=legacy --registry {}",
            self.registry
        );
        let mut answers = vec![("Username:", user), ("Password:", password)];
        if command == "adduser" {
            answers.push(("Email", "user@example.com"));
        }
        let (ok, printed) = run_interactive(&cmd, &env, &answers);
        assert!(ok, "npm {command} failed:\n{printed}");
    }
}

/// A package directory with a package.json, code and a binary file.
pub fn package(dir: &Path, name: &str, version: &str, extra: serde_json::Value) -> PathBuf {
    let path = dir.join(format!("{}-{version}", name.replace('/', "-")));
    std::fs::create_dir_all(path.join("lib")).unwrap();
    let mut manifest = serde_json::json!({
        "name": name,
        "version": version,
        "description": format!("{name} for the wharf end-to-end test"),
        "main": "index.js",
        "license": "MIT",
        "keywords": ["wharf-e2e"],
    });
    manifest
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    std::fs::write(
        path.join("package.json"),
        serde_json::to_string_pretty(&manifest).unwrap(),
    )
    .unwrap();
    std::fs::write(
        path.join("index.js"),
        format!("module.exports = {{ name: {name:?}, version: {version:?} }};\n"),
    )
    .unwrap();
    std::fs::write(
        path.join("README.md"),
        format!("# {name}\n\nVersion {version}.\n"),
    )
    .unwrap();
    let binary: Vec<u8> = (0..70_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .chain(version.bytes())
        .collect();
    std::fs::write(path.join("lib/data.bin"), binary).unwrap();
    path
}

impl NpmUser {
    /// Runs npm expecting a failure; returns everything it printed.
    pub fn fails(&self, dir: &Path, args: &[&str]) -> String {
        let (ok, out, err) = self.npm(dir, args);
        assert!(
            !ok,
            "npm {args:?} succeeded\nstdout:\n{out}\nstderr:\n{err}"
        );
        format!("{out}{err}")
    }

    /// The token npm keeps for the registry in ~/.npmrc, if any.
    pub fn token(&self) -> Option<String> {
        let npmrc = std::fs::read_to_string(self.home.path().join(".npmrc")).ok()?;
        npmrc.lines().find_map(|l| {
            l.split_once(":_authToken=")
                .map(|(_, t)| t.trim().to_string())
        })
    }
}

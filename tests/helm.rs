//! Helm, end to end: the official `helm` v4 binary against a running wharf,
//! with its configuration, cache and GnuPG home in temporary directories.
//! `helm package`, upload through the ChartMuseum API, `helm repo add`
//! (with credentials), `repo update`, `search repo`, a byte-equal `pull`,
//! `template` of the pulled chart, `pull --verify` of a signed chart (and
//! its failure once the provenance is tampered with), delete; and `helm
//! push` / `pull` of the same chart over OCI.

use std::path::{Path, PathBuf};
use std::process::Command;
use wharf_tests::{PluginEntry, Reply, Server, basic, run, send, send_with};

/// A helm user: their own HOME (helm's config, cache, data) and GNUPGHOME.
struct HelmUser {
    home: tempfile::TempDir,
}

impl HelmUser {
    fn new() -> HelmUser {
        HelmUser {
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }

    /// A new directory (`helm pull -d` wants one that exists).
    fn dir(&self, name: &str) -> PathBuf {
        let dir = self.path(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new("timeout");
        cmd.arg("120").arg(program).args(args);
        cmd.current_dir(self.home.path());
        cmd.env("HOME", self.home.path())
            .env("HELM_CONFIG_HOME", self.path("config"))
            .env("HELM_CACHE_HOME", self.path("cache"))
            .env("HELM_DATA_HOME", self.path("data"))
            .env("GNUPGHOME", self.path("gnupg"));
        cmd
    }

    fn helm(&self, args: &[&str]) -> (bool, String, String) {
        run(&mut self.command("helm", args))
    }

    fn helm_ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.helm(args);
        assert!(
            ok,
            "helm {args:?} failed (`cargo xtask test` installs helm v4)\nstdout:\n{out}\nstderr:\n{err}"
        );
        out
    }

    /// `helm create` of a chart, with a description helm must carry intact.
    fn create(&self, name: &str) -> PathBuf {
        self.helm_ok(&["create", name]);
        let dir = self.path(name);
        let chart_yaml = dir.join("Chart.yaml");
        let text = std::fs::read_to_string(&chart_yaml).unwrap();
        let text = text.replace(
            "description: A Helm chart for Kubernetes",
            "description: \"Wharf's \\\"hello\\\": charts — ünïcödé, yes: 1_000\"",
        );
        std::fs::write(&chart_yaml, text).unwrap();
        dir
    }

    fn package(&self, name: &str, version: &str, extra: &[&str]) -> PathBuf {
        let out = self.path("packages");
        let mut args = vec!["package", name, "--version", version, "-d"];
        args.push(out.to_str().unwrap());
        args.extend(extra);
        self.helm_ok(&args);
        out.join(format!("{name}-{version}.tgz"))
    }

    /// A throwaway signing key, exported as the legacy keyrings helm reads.
    fn gpg_key(&self) -> (PathBuf, PathBuf) {
        let gnupg = self.path("gnupg");
        std::fs::create_dir_all(&gnupg).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&gnupg, std::fs::Permissions::from_mode(0o700)).unwrap();
        let params = self.path("key-params");
        std::fs::write(
            &params,
            "%no-protection\nKey-Type: RSA\nKey-Length: 2048\nName-Real: Wharf Test\n\
             Name-Email: test@wharf.example\nExpire-Date: 0\n%commit\n",
        )
        .unwrap();
        let gpg = |args: &[&str]| {
            let (ok, out, err) = run(&mut self.command("gpg", args));
            assert!(
                ok,
                "gpg {args:?}: {err} (`cargo xtask test` installs gnupg)"
            );
            out
        };
        gpg(&["--batch", "--gen-key", params.to_str().unwrap()]);
        let (public, secret) = (self.path("pubring.gpg"), self.path("secring.gpg"));
        gpg(&["--batch", "--export", "-o", public.to_str().unwrap()]);
        gpg(&[
            "--batch",
            "--export-secret-keys",
            "-o",
            secret.to_str().unwrap(),
        ]);
        (public, secret)
    }
}

fn start(formats: &[&'static str], env: &[(&str, &str)]) -> (Server, String, String) {
    let plugins: Vec<PluginEntry> = formats
        .iter()
        .map(|format| PluginEntry { format, extra: "" })
        .collect();
    let server = Server::start_with_env(&plugins, env);
    let token = server.create_user("alice", "alice-password");
    (server, "alice".into(), token)
}

fn upload(server: &Server, auth: Option<&str>, bytes: &[u8]) -> Reply {
    upload_to(server, "helm", auth, bytes)
}

fn upload_to(server: &Server, repo: &str, auth: Option<&str>, bytes: &[u8]) -> Reply {
    let mut request = ureq::post(&format!("{}/{repo}/api/charts", server.url))
        .set("Content-Type", "application/gzip");
    if let Some(auth) = auth {
        request = request.set("Authorization", auth);
    }
    send_with(request, Some(bytes))
}

/// The multipart form ChartMuseum takes: `chart` and `prov` files.
fn upload_signed(server: &Server, auth: &str, chart: &Path, prov: &[u8]) -> Reply {
    let boundary = "wharf-helm-e2e-boundary";
    let mut form = Vec::new();
    let name = chart.file_name().unwrap().to_str().unwrap();
    for (field, file, data) in [
        ("chart", name.to_string(), std::fs::read(chart).unwrap()),
        ("prov", format!("{name}.prov"), prov.to_vec()),
    ] {
        form.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; \
                 filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        form.extend(data);
        form.extend(b"\r\n");
    }
    form.extend(format!("--{boundary}--\r\n").as_bytes());
    let request = ureq::post(&format!("{}/helm/api/charts", server.url))
        .set("Authorization", auth)
        .set(
            "Content-Type",
            &format!("multipart/form-data; boundary={boundary}"),
        );
    send_with(request, Some(&form))
}

#[test]
fn chart_repository_with_the_helm_client() {
    // Reads need credentials here, so `helm repo add` must pass them on.
    let (server, user, token) = start(&["helm"], &[("WHARF_ANONYMOUS_READ", "false")]);
    let auth = basic(&user, &token);
    let helm = HelmUser::new();
    helm.create("hello");
    let packaged = helm.package("hello", "0.1.0", &[]);
    let bytes = std::fs::read(&packaged).unwrap();

    // Uploads: anonymous refused, saved, a second time a 409.
    let anonymous = upload(&server, None, &bytes);
    assert_eq!(anonymous.status, 401, "{}", anonymous.text());
    assert!(anonymous.json()["error"].is_string());
    let saved = upload(&server, Some(&auth), &bytes);
    assert_eq!(saved.status, 201, "{}", saved.text());
    assert_eq!(saved.json(), serde_json::json!({"saved": true}));
    let again = upload(&server, Some(&auth), &bytes);
    assert_eq!(again.status, 409, "{}", again.text());
    assert!(again.json()["error"].as_str().unwrap().contains("exists"));
    // Not a chart: refused, in ChartMuseum's shape.
    let junk = upload(&server, Some(&auth), b"not a chart");
    assert_eq!(junk.status, 400, "{}", junk.text());
    assert!(junk.json()["error"].is_string());

    // helm repo add: refused without credentials, then with them; update, search.
    let url = format!("{}/helm/", server.url);
    let (ok, _, err) = helm.helm(&["repo", "add", "nobody", &url]);
    assert!(!ok && err.contains("401"), "{err}");
    helm.helm_ok(&[
        "repo",
        "add",
        "wharf",
        &url,
        "--username",
        &user,
        "--password",
        &token,
    ]);
    helm.helm_ok(&["repo", "update"]);
    let found = helm.helm_ok(&["search", "repo", "wharf/hello", "--versions"]);
    assert!(
        found.contains("wharf/hello") && found.contains("0.1.0"),
        "{found}"
    );
    assert!(
        found.contains("Wharf's \"hello\": charts — ünïcödé"),
        "{found}"
    );

    // pull: the same bytes; template renders the pulled chart.
    let pulled = helm.dir("pulled");
    helm.helm_ok(&[
        "pull",
        "wharf/hello",
        "--version",
        "0.1.0",
        "-d",
        pulled.to_str().unwrap(),
    ]);
    let pulled_tgz = pulled.join("hello-0.1.0.tgz");
    assert_eq!(
        std::fs::read(&pulled_tgz).unwrap(),
        bytes,
        "byte-equal pull"
    );
    let rendered = helm.helm_ok(&["template", "demo", pulled_tgz.to_str().unwrap()]);
    assert!(rendered.contains("kind: Deployment"), "{rendered}");

    // A signed chart: chart and provenance in one form; pull --verify passes.
    let (public, secret) = helm.gpg_key();
    let sign = [
        "--sign",
        "--key",
        "Wharf Test",
        "--keyring",
        secret.to_str().unwrap(),
    ];
    let signed = helm.package("hello", "0.2.0", &sign);
    let prov = std::fs::read(signed.with_extension("tgz.prov")).unwrap();
    let stored = upload_signed(&server, &auth, &signed, &prov);
    assert_eq!(stored.status, 201, "{}", stored.text());
    let get = |path: &str| {
        send(ureq::get(&format!("{}/helm/{path}", server.url)).set("Authorization", &auth))
    };
    let served = get("charts/hello-0.2.0.tgz.prov");
    assert_eq!(served.body, prov, "the provenance file is served as stored");
    helm.helm_ok(&["repo", "update"]);
    let verified = helm.dir("verified");
    let out = helm.helm_ok(&[
        "pull",
        "wharf/hello",
        "--version",
        "0.2.0",
        "--verify",
        "--keyring",
        public.to_str().unwrap(),
        "-d",
        verified.to_str().unwrap(),
    ]);
    assert!(out.contains("Signed by: Wharf Test"), "{out}");
    assert!(out.contains("Chart Hash Verified"), "{out}");
    assert!(verified.join("hello-0.2.0.tgz").exists());

    // A tampered provenance file (its signed text changed) fails --verify.
    let tampered_chart = helm.package("hello", "0.3.0", &sign);
    let prov = std::fs::read_to_string(tampered_chart.with_extension("tgz.prov")).unwrap();
    let tampered = prov.replacen("name: hello", "name: hello\nhome: https://evil.example", 1);
    assert_ne!(tampered, prov);
    let stored = upload_signed(&server, &auth, &tampered_chart, tampered.as_bytes());
    assert_eq!(stored.status, 201, "{}", stored.text());
    helm.helm_ok(&["repo", "update"]);
    let (ok, out, err) = helm.helm(&[
        "pull",
        "wharf/hello",
        "--version",
        "0.3.0",
        "--verify",
        "--keyring",
        public.to_str().unwrap(),
        "-d",
        helm.dir("tampered").to_str().unwrap(),
    ]);
    assert!(
        !ok,
        "a tampered provenance must fail --verify\n{out}\n{err}"
    );
    assert!(err.contains("invalid signature"), "{err}");

    // A provenance file of other bytes is refused; nothing changes.
    let other = upload_signed(&server, &auth, &packaged, tampered.as_bytes());
    assert_eq!(other.status, 400, "{}", other.text());

    // The ChartMuseum listing, and delete.
    let listed = get("api/charts").json();
    let versions: Vec<&str> = listed["hello"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["0.3.0", "0.2.0", "0.1.0"]);
    let delete = |auth: Option<&str>| {
        let mut request = ureq::delete(&format!("{}/helm/api/charts/hello/0.1.0", server.url));
        if let Some(auth) = auth {
            request = request.set("Authorization", auth);
        }
        send(request)
    };
    assert_eq!(delete(None).status, 401);
    let deleted = delete(Some(&auth));
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    assert_eq!(deleted.json(), serde_json::json!({"deleted": true}));
    assert_eq!(delete(Some(&auth)).status, 404);
    helm.helm_ok(&["repo", "update"]);
    let found = helm.helm_ok(&["search", "repo", "wharf/hello", "--versions"]);
    assert!(
        !found.contains("0.1.0") && found.contains("0.3.0"),
        "{found}"
    );
    assert_eq!(get("charts/hello-0.1.0.tgz").status, 404);
    assert_eq!(get("charts/hello-0.2.0.tgz").status, 200);
}

#[test]
fn helm_push_and_pull_over_oci() {
    let (server, user, token) = start(&["oci"], &[]);
    let helm = HelmUser::new();
    helm.create("ocichart");
    let packaged = helm.package("ocichart", "1.2.3", &[]);
    let host = server.url.trim_start_matches("http://").to_string();
    helm.helm_ok(&[
        "registry",
        "login",
        &host,
        "--username",
        &user,
        "--password",
        &token,
        "--plain-http",
    ]);
    let pushed = helm.helm_ok(&[
        "push",
        packaged.to_str().unwrap(),
        &format!("oci://{host}/charts"),
        "--plain-http",
    ]);
    let _ = pushed;
    let out = helm.dir("oci-pulled");
    helm.helm_ok(&[
        "pull",
        &format!("oci://{host}/charts/ocichart"),
        "--version",
        "1.2.3",
        "--plain-http",
        "-d",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read(out.join("ocichart-1.2.3.tgz")).unwrap(),
        std::fs::read(&packaged).unwrap(),
        "byte-equal pull over OCI"
    );
}

#[test]
fn helm_pulls_through_a_proxy_and_from_its_cache_when_the_upstream_is_gone() {
    let (upstream, user, token) = start(&["helm"], &[]);
    let auth = basic(&user, &token);
    let helm = HelmUser::new();
    helm.create("hello");
    let bytes = std::fs::read(helm.package("hello", "0.1.0", &[])).unwrap();
    let saved = upload(&upstream, Some(&auth), &bytes);
    assert_eq!(saved.status, 201, "{}", saved.text());

    let proxy = Server::start_proxy("helm", &format!("{}/helm/", upstream.url), "", &[]);
    let url = format!("{}/helm-proxy/", proxy.url);
    helm.helm_ok(&["repo", "add", "proxy", &url]);
    let found = helm.helm_ok(&["search", "repo", "proxy/hello", "--versions"]);
    assert!(
        found.contains("proxy/hello") && found.contains("0.1.0"),
        "{found}"
    );
    assert!(
        found.contains("Wharf's \"hello\": charts — ünïcödé"),
        "{found}"
    );
    let pull = |user: &HelmUser, into: &str| {
        let dir = user.dir(into);
        user.helm_ok(&[
            "pull",
            "proxy/hello",
            "--version",
            "0.1.0",
            "-d",
            dir.to_str().unwrap(),
        ]);
        std::fs::read(dir.join("hello-0.1.0.tgz")).unwrap()
    };
    assert_eq!(
        pull(&helm, "pulled"),
        bytes,
        "byte-equal pull through the proxy"
    );

    // The index's URLs lead back to the proxy, relative as a hosted one's.
    let index = send(ureq::get(&format!("{url}index.yaml")));
    assert_eq!(index.status, 200);
    assert!(
        index.text().contains("- \"charts/hello-0.1.0.tgz\""),
        "{}",
        index.text()
    );

    // A signed chart: its provenance file comes through, and --verify passes.
    let (public, secret) = helm.gpg_key();
    let sign = [
        "--sign",
        "--key",
        "Wharf Test",
        "--keyring",
        secret.to_str().unwrap(),
    ];
    let signed = helm.package("hello", "0.2.0", &sign);
    let prov = std::fs::read(signed.with_extension("tgz.prov")).unwrap();
    let stored = upload_signed(&upstream, &auth, &signed, &prov);
    assert_eq!(stored.status, 201, "{}", stored.text());
    std::thread::sleep(std::time::Duration::from_millis(1200));
    helm.helm_ok(&["repo", "update"]);
    let verified = helm.dir("verified");
    let out = helm.helm_ok(&[
        "pull",
        "proxy/hello",
        "--version",
        "0.2.0",
        "--verify",
        "--keyring",
        public.to_str().unwrap(),
        "-d",
        verified.to_str().unwrap(),
    ]);
    assert!(out.contains("Chart Hash Verified"), "{out}");

    // The upstream goes away: a fresh helm (empty cache and config) adds the
    // proxy and pulls what it has seen; the index is served stale.
    drop(upstream);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let fresh = HelmUser::new();
    fresh.helm_ok(&["repo", "add", "proxy", &url]);
    assert_eq!(
        pull(&fresh, "again"),
        bytes,
        "pulled from the proxy's store"
    );
    let stale = send(ureq::get(&format!("{url}index.yaml")));
    assert_eq!(stale.status, 200);
    assert!(stale.is_stale(), "{:?}", stale.headers);
    // A chart it never pulled is helm's error, not a hang.
    let never = send(ureq::get(&format!("{url}charts/never-1.0.0.tgz")));
    assert_eq!(never.status, 404, "{}", never.text());
    assert!(never.json()["error"].is_string());
}

#[test]
fn a_group_of_a_hosted_and_a_proxy_repository_merges_indexes_and_shows_uploads_at_once() {
    let (upstream, user, token) = start(&["helm"], &[]);
    let auth = basic(&user, &token);
    let helm = HelmUser::new();
    helm.create("hello");
    let package = |version: &str, app: &str| {
        let path = helm.package("hello", version, &["--app-version", app]);
        std::fs::read(path).unwrap()
    };
    let public_one = package("0.1.0", "public");
    let public_two = package("0.2.0", "public");
    for bytes in [&public_one, &public_two] {
        let saved = upload(&upstream, Some(&auth), bytes);
        assert_eq!(saved.status, 201, "{}", saved.text());
    }

    let group = "\n[[repository]]\nname = \"helm-private\"\nformat = \"helm\"\n\
                 \n[[repository]]\nname = \"helm-all\"\nformat = \"helm\"\nkind = \"group\"\n\
                 members = [\"helm-private\", \"helm-proxy\"]\n";
    let proxy = Server::start_proxy("helm", &format!("{}/helm/", upstream.url), group, &[]);
    let bob = basic("bob", &proxy.create_user("bob", "bob-password"));
    // The hosted member holds 0.1.0 too, another archive: it shadows the public one.
    let private_one = package("0.1.0", "private");
    assert_ne!(private_one, public_one);
    let saved = upload_to(&proxy, "helm-private", Some(&bob), &private_one);
    assert_eq!(saved.status, 201, "{}", saved.text());

    // One repository, the group's: both members' versions, the first's 0.1.0.
    helm.helm_ok(&["repo", "add", "all", &format!("{}/helm-all/", proxy.url)]);
    let search = |helm: &HelmUser| {
        let found = helm.helm_ok(&["search", "repo", "all/hello", "--versions"]);
        found
            .lines()
            .skip(1)
            .map(|line| {
                let columns: Vec<&str> = line.split_whitespace().collect();
                (columns[1].to_string(), columns[2].to_string())
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        search(&helm),
        [
            ("0.2.0".to_string(), "public".to_string()),
            ("0.1.0".into(), "private".into()),
        ]
    );
    let pull = |version: &str| {
        let dir = helm.dir(&format!("pulled-{version}"));
        helm.helm_ok(&[
            "pull",
            "all/hello",
            "--version",
            version,
            "-d",
            dir.to_str().unwrap(),
        ]);
        std::fs::read(dir.join(format!("hello-{version}.tgz"))).unwrap()
    };
    assert_eq!(pull("0.2.0"), public_two, "from the proxy member");
    assert_eq!(pull("0.1.0"), private_one, "from the hosted member");

    // An upload to the hosted member shows through the group at once (its
    // merged index was cached above).
    let private_three = package("0.3.0", "private");
    let saved = upload_to(&proxy, "helm-private", Some(&bob), &private_three);
    assert_eq!(saved.status, 201, "{}", saved.text());
    helm.helm_ok(&["repo", "update"]);
    assert_eq!(
        search(&helm)[0],
        ("0.3.0".to_string(), "private".to_string())
    );
    assert_eq!(pull("0.3.0"), private_three);
}

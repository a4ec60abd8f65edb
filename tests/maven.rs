//! Maven, end to end: Debian's `mvn` 3.8 deploys a release (jar, pom,
//! sources) and two builds of a SNAPSHOT to a running wharf, then resolves
//! them with only Wharf into fresh local repositories; plus the refusals
//! (release redeploy, anonymous deploy). A project then builds against a
//! proxy repository of a second Wharf, and again from the proxy's store once
//! that upstream is gone; and through a group of a hosted repository and
//! such a proxy, whose members hold different versions of one artifact.
//!
//! Maven plugins used: maven-deploy-plugin 3.0.0 (`deploy:deploy-file`) and
//! maven-dependency-plugin 3.5.0 (`dependency:get`), from the Debian packages
//! `libmaven-deploy-plugin-java` and `libmaven-dependency-plugin-java`
//! (`cargo xtask test` installs them, with the install and clean plugins and
//! junit4 that Maven's standalone project and plexus ask for). Maven finds
//! them, and everything they depend on, in `/usr/share/maven-repo`, which
//! the settings below declare as the `central` repository (file://, no
//! network). The global settings are an empty file: Maven's own would block
//! plain-http repositories.

use sha2::Digest;
use std::path::{Path, PathBuf};
use std::process::Command;
use wharf_tests::{PluginEntry, Server, run};

const DEBIAN_REPO: &str = "/usr/share/maven-repo";
/// Bound on every mvn run.
const MVN_TIMEOUT_SECS: &str = "300";

struct Maven {
    dir: tempfile::TempDir,
    url: String,
}

impl Maven {
    fn new(server: &Server, token: &str) -> Maven {
        Maven::at(format!("{}/maven/", server.url), token)
    }

    /// A client that deploys to, and resolves from, the repository at `url`.
    fn at(url: String, token: &str) -> Maven {
        let settings = settings(&url, token);
        Maven::with_settings(url, settings)
    }

    /// A client whose only repository is `url` (a proxy), plugins from Debian.
    fn of_proxy(url: String) -> Maven {
        let settings = proxy_settings(&url);
        Maven::with_settings(url, settings)
    }

    fn with_settings(url: String, settings: String) -> Maven {
        let have_mvn = Command::new("sh")
            .args(["-c", "command -v mvn"])
            .output()
            .is_ok_and(|o| o.status.success());
        let plugins = Path::new(DEBIAN_REPO).join("org/apache/maven/plugins");
        assert!(
            have_mvn
                && plugins.join("maven-deploy-plugin").exists()
                && plugins.join("maven-dependency-plugin").exists(),
            "mvn or Debian's Maven plugins are missing: run the tests with `cargo xtask test`, \
             or see install_clients in xtask/src/main.rs for the Debian packages"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("empty-settings.xml"), "<settings/>\n").unwrap();
        std::fs::write(dir.path().join("settings.xml"), settings).unwrap();
        Maven { dir, url }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs mvn in batch mode with our settings and `local` as the local repository.
    fn mvn(&self, local: &str, args: &[&str]) -> (bool, String) {
        let (ok, out, err) = run(Command::new("timeout")
            .arg(MVN_TIMEOUT_SECS)
            .arg("mvn")
            .args(["-B", "-ntp", "-gs"])
            .arg(self.path("empty-settings.xml"))
            .arg("-s")
            .arg(self.path("settings.xml"))
            .arg(format!("-Dmaven.repo.local={}", self.path(local).display()))
            .args(args)
            .current_dir(self.dir.path()));
        (ok, format!("{out}\n{err}"))
    }

    fn ok(&self, local: &str, args: &[&str]) -> String {
        let (ok, out) = self.mvn(local, args);
        assert!(ok, "mvn {args:?} failed:\n{out}");
        out
    }

    /// `deploy:deploy-file` of `file` (and `extra` options) as `repository_id`.
    fn deploy(
        &self,
        repository_id: &str,
        version: &str,
        file: &Path,
        extra: &[&str],
    ) -> (bool, String) {
        let mut args = vec![
            "deploy:deploy-file".to_string(),
            format!("-Dfile={}", file.display()),
            "-DgroupId=org.wharf.e2e".into(),
            "-DartifactId=demo".into(),
            format!("-Dversion={version}"),
            "-Dpackaging=jar".into(),
            format!("-DrepositoryId={repository_id}"),
            format!("-Durl={}", self.url),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.mvn("deploy-repo", &args)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

/// Credentials for the `wharf` server id; repositories: Debian's packaged
/// artifacts as `central` (checksums ignored: it has none) and Wharf with
/// strict checksums, so wrong sidecars fail the resolution.
fn settings(url: &str, token: &str) -> String {
    format!(
        r#"<settings>
  <servers>
    <server><id>wharf</id><username>deployer</username><password>{token}</password></server>
  </servers>
  <profiles>
    <profile>
      <id>wharf</id>
      <repositories>
        <repository>
          <id>central</id>
          <url>file://{DEBIAN_REPO}</url>
          <releases><checksumPolicy>ignore</checksumPolicy></releases>
          <snapshots><enabled>false</enabled></snapshots>
        </repository>
        <repository>
          <id>wharf</id>
          <url>{url}</url>
          <releases><checksumPolicy>fail</checksumPolicy></releases>
          <snapshots><enabled>true</enabled><checksumPolicy>fail</checksumPolicy></snapshots>
        </repository>
      </repositories>
      <pluginRepositories>
        <pluginRepository>
          <id>central</id>
          <url>file://{DEBIAN_REPO}</url>
          <releases><checksumPolicy>ignore</checksumPolicy></releases>
          <snapshots><enabled>false</enabled></snapshots>
        </pluginRepository>
      </pluginRepositories>
    </profile>
  </profiles>
  <activeProfiles><activeProfile>wharf</activeProfile></activeProfiles>
</settings>
"#
    )
}

/// A proxy as the only repository, overriding `central` (and with strict
/// checksums); plugins still come from Debian's packaged repository.
fn proxy_settings(url: &str) -> String {
    format!(
        r#"<settings>
  <profiles>
    <profile>
      <id>proxy</id>
      <repositories>
        <repository>
          <id>central</id>
          <url>{url}</url>
          <releases><checksumPolicy>fail</checksumPolicy></releases>
          <snapshots><enabled>false</enabled></snapshots>
        </repository>
      </repositories>
      <pluginRepositories>
        <pluginRepository>
          <id>central</id>
          <url>file://{DEBIAN_REPO}</url>
          <releases><checksumPolicy>ignore</checksumPolicy></releases>
          <snapshots><enabled>false</enabled></snapshots>
        </pluginRepository>
      </pluginRepositories>
    </profile>
  </profiles>
  <activeProfiles><activeProfile>proxy</activeProfile></activeProfiles>
</settings>
"#
    )
}

/// Binary content that differs per label (every byte value, so no text mangling hides).
fn jar_bytes(label: &str) -> Vec<u8> {
    let mut bytes = b"PK\x03\x04".to_vec();
    bytes.extend((0..=255u8).cycle().take(4096));
    bytes.extend_from_slice(label.as_bytes());
    bytes
}

fn read(path: PathBuf) -> Vec<u8> {
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn mvn_deploys_and_resolves_releases_and_snapshots() {
    let server = Server::start(&[PluginEntry {
        format: "maven",
        extra: "",
    }]);
    let token = server.create_user("deployer", "deployer-password");
    let mvn = Maven::new(&server, &token);

    // A release: jar, our own pom and a sources jar.
    let jar = jar_bytes("release 1.0");
    let pom = b"<project><modelVersion>4.0.0</modelVersion><groupId>org.wharf.e2e</groupId>\
<artifactId>demo</artifactId><version>1.0</version></project>\n";
    let jar_file = mvn.write("demo-1.0.jar", &jar);
    let pom_file = mvn.write("demo-1.0.pom", pom);
    let sources = mvn.write("demo-1.0-sources.jar", &jar_bytes("sources 1.0"));
    let (ok, out) = mvn.deploy(
        "wharf",
        "1.0",
        &jar_file,
        &[
            &format!("-DpomFile={}", pom_file.display()),
            &format!("-Dsources={}", sources.display()),
        ],
    );
    assert!(ok, "release deploy failed:\n{out}");

    // Two builds of one SNAPSHOT; Maven numbers them from our metadata.
    for build in ["snapshot build 1", "snapshot build 2"] {
        let file = mvn.write("demo-snapshot.jar", &jar_bytes(build));
        let (ok, out) = mvn.deploy("wharf", "2.0-SNAPSHOT", &file, &[]);
        assert!(ok, "snapshot deploy failed:\n{out}");
    }

    // Resolve the release into a fresh local repository, from Wharf only.
    mvn.ok(
        "resolve-release",
        &["dependency:get", "-Dartifact=org.wharf.e2e:demo:1.0"],
    );
    let dir = mvn.path("resolve-release/org/wharf/e2e/demo/1.0");
    assert_eq!(read(dir.join("demo-1.0.jar")), jar, "resolved jar bytes");
    assert_eq!(read(dir.join("demo-1.0.pom")), pom, "resolved pom bytes");
    let origin = String::from_utf8(read(dir.join("_remote.repositories"))).unwrap();
    assert!(origin.contains("demo-1.0.jar>wharf="), "{origin}");
    mvn.ok(
        "resolve-release",
        &[
            "dependency:get",
            "-Dartifact=org.wharf.e2e:demo:1.0:jar:sources",
        ],
    );
    assert_eq!(
        read(dir.join("demo-1.0-sources.jar")),
        jar_bytes("sources 1.0")
    );

    // The SNAPSHOT resolves to the newest build.
    mvn.ok(
        "resolve-snapshot",
        &[
            "dependency:get",
            "-Dartifact=org.wharf.e2e:demo:2.0-SNAPSHOT",
        ],
    );
    let dir = mvn.path("resolve-snapshot/org/wharf/e2e/demo/2.0-SNAPSHOT");
    assert_eq!(
        read(dir.join("demo-2.0-SNAPSHOT.jar")),
        jar_bytes("snapshot build 2")
    );
    let builds: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("demo-2.0-2") && n.ends_with(".jar"))
        .collect();
    assert!(
        builds.len() == 1 && builds[0].ends_with("-2.jar"),
        "{builds:?}"
    );
    let metadata = server
        .get("/maven/org/wharf/e2e/demo/maven-metadata.xml")
        .text();
    assert!(metadata.contains("<release>1.0</release>"), "{metadata}");
    assert!(
        metadata.contains("<latest>2.0-SNAPSHOT</latest>"),
        "{metadata}"
    );

    // A release is immutable: the second deploy is refused and nothing changes.
    let other = mvn.write("other.jar", &jar_bytes("not 1.0"));
    let (ok, out) = mvn.deploy("wharf", "1.0", &other, &[]);
    assert!(
        !ok && out.contains("409"),
        "redeploy was not refused with 409:\n{out}"
    );
    let served = server.get("/maven/org/wharf/e2e/demo/1.0/demo-1.0.jar");
    assert_eq!((served.status, served.body), (200, jar));

    // Without credentials (a repository id with no <server>) Maven gets 401.
    let (ok, out) = mvn.deploy("anonymous", "3.0", &other, &[]);
    assert!(
        !ok && out.contains("401"),
        "anonymous deploy was not refused with 401:\n{out}"
    );
    assert_eq!(
        server
            .get("/maven/org/wharf/e2e/demo/3.0/demo-3.0.jar")
            .status,
        404
    );
}

/// The jar of `version` with one compiled class, `org.wharf.e2e.Greeter`,
/// whose `hello()` returns `greeting`.
fn greeter_jar(mvn: &Maven, version: &str, greeting: &str) -> PathBuf {
    let src = mvn.path("greeter/org/wharf/e2e");
    std::fs::create_dir_all(&src).unwrap();
    let java = format!(
        "package org.wharf.e2e;\npublic class Greeter {{\n    \
         public static String hello() {{ return \"{greeting}\"; }}\n}}\n"
    );
    std::fs::write(src.join("Greeter.java"), java).unwrap();
    let classes = mvn.path("greeter-classes");
    let jar = mvn.path(&format!("demo-{version}.jar"));
    let (ok, out, err) = run(Command::new("javac")
        .arg("-d")
        .arg(&classes)
        .arg(src.join("Greeter.java")));
    assert!(ok, "javac failed:\n{out}\n{err}");
    let (ok, out, err) = run(Command::new("jar")
        .arg("cf")
        .arg(&jar)
        .arg("-C")
        .arg(&classes)
        .arg("."));
    assert!(ok, "jar failed:\n{out}\n{err}");
    jar
}

/// A project that depends on `org.wharf.e2e:demo` in `range` (Maven reads
/// `maven-metadata.xml` to pick the version) and calls it.
fn app_project(mvn: &Maven, range: &str) {
    let pom = format!(
        r#"<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>org.wharf.e2e</groupId>
  <artifactId>app</artifactId>
  <version>1.0</version>
  <dependencies>
    <dependency>
      <groupId>org.wharf.e2e</groupId>
      <artifactId>demo</artifactId>
      <version>{range}</version>
    </dependency>
  </dependencies>
</project>
"#
    );
    std::fs::write(mvn.path("pom.xml"), pom).unwrap();
    let app = "public class App {\n    public static void main(String[] a) {\n        \
               System.out.println(org.wharf.e2e.Greeter.hello());\n    }\n}\n";
    std::fs::write(mvn.path("App.java"), app).unwrap();
}

/// Resolves the project's classpath into the local repository `local`,
/// with `demo-{version}.jar` on it, compiles `App.java` against it and runs
/// it: what it prints.
fn build_and_run(mvn: &Maven, local: &str, version: &str) -> String {
    let cp_file = mvn.path(&format!("{local}.classpath"));
    let out = mvn.ok(
        local,
        &[
            "dependency:build-classpath",
            &format!("-Dmdep.outputFile={}", cp_file.display()),
        ],
    );
    assert!(!out.contains("Checksum validation failed"), "{out}");
    let classpath = std::fs::read_to_string(&cp_file).unwrap();
    assert!(
        classpath.contains(&format!("demo-{version}.jar")),
        "{classpath}"
    );
    let out_dir = mvn.path(&format!("{local}-classes"));
    let (ok, out, err) = run(Command::new("javac")
        .args(["-cp", classpath.trim(), "-d"])
        .arg(&out_dir)
        .arg(mvn.path("App.java")));
    assert!(ok, "javac App.java failed:\n{out}\n{err}");
    let runtime = format!("{}:{}", out_dir.display(), classpath.trim());
    let (ok, out, err) = run(Command::new("java").args(["-cp", &runtime, "App"]));
    assert!(ok, "java App failed:\n{out}\n{err}");
    out.trim().to_string()
}

#[test]
fn mvn_builds_through_a_proxy_and_from_its_store_when_the_upstream_is_gone() {
    let upstream = Server::start(&[PluginEntry {
        format: "maven",
        extra: "",
    }]);
    let token = upstream.create_user("deployer", "deployer-password");
    let publisher = Maven::new(&upstream, &token);
    let jar_file = greeter_jar(&publisher, "1.0", "hello through the proxy");
    let pom = b"<project><modelVersion>4.0.0</modelVersion><groupId>org.wharf.e2e</groupId>\
<artifactId>demo</artifactId><version>1.0</version></project>\n";
    let pom_file = publisher.write("demo-1.0.pom", pom);
    let (ok, out) = publisher.deploy(
        "wharf",
        "1.0",
        &jar_file,
        &[&format!("-DpomFile={}", pom_file.display())],
    );
    assert!(ok, "deploy to the upstream failed:\n{out}");

    let proxy = Server::start_proxy("maven", &format!("{}/maven/", upstream.url), "", &[]);
    let client = Maven::of_proxy(format!("{}/maven-proxy/", proxy.url));
    app_project(&client, "[1.0,2.0)");
    assert_eq!(
        build_and_run(&client, "local-1", "1.0"),
        "hello through the proxy"
    );

    // The jar is the upstream's, byte for byte, and so is the metadata.
    let jar = read(jar_file);
    let resolved = client.path("local-1/org/wharf/e2e/demo/1.0/demo-1.0.jar");
    assert!(
        read(resolved) == jar,
        "the resolved jar differs from the deployed one"
    );
    let path = "org/wharf/e2e/demo/1.0/demo-1.0.jar";
    let served = proxy.get(&format!("/maven-proxy/{path}"));
    assert!(served.status == 200 && served.body == jar);
    let metadata = "org/wharf/e2e/demo/maven-metadata.xml";
    assert_eq!(
        proxy.get(&format!("/maven-proxy/{metadata}")).body,
        upstream.get(&format!("/maven/{metadata}")).body
    );
    assert_eq!(
        proxy
            .get("/maven-proxy/org/wharf/e2e/nothing/1.0/nothing-1.0.jar")
            .status,
        404
    );

    // The upstream goes away: a fresh local repository still resolves,
    // from the proxy's store (and its last copy of the metadata).
    drop(upstream);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    assert_eq!(
        build_and_run(&client, "local-2", "1.0"),
        "hello through the proxy"
    );
    let resolved = client.path("local-2/org/wharf/e2e/demo/1.0/demo-1.0.jar");
    assert!(read(resolved) == jar, "the jar from the store differs");
    let sha1 = proxy.get(&format!("/maven-proxy/{path}.sha1")).text();
    assert_eq!(sha1.len(), 40, "{sha1}");
    let missing = proxy.get("/maven-proxy/org/wharf/e2e/other/1.0/other-1.0.jar");
    assert!(matches!(missing.status, 502 | 504), "{}", missing.status);
}

/// A group of a hosted repository and a proxy of another Wharf, the
/// versions of one artifact split between them: the upstream has 1.0 and
/// 2.0, the hosted member 1.5 (deployed through the group's URL). With the
/// group as its only repository and strict checksums, Maven resolves
/// `[1.0,)` to 2.0 (only the proxy has it) and `[1.0,2.0)` to 1.5 (only the
/// hosted member has it): both read the group's merged
/// `maven-metadata.xml` and its sidecar, which must agree. A later deploy
/// of 1.6 through the group is in the group's document at once.
#[test]
fn mvn_resolves_ranges_over_a_group_whose_members_split_the_versions() {
    let upstream = Server::start(&[PluginEntry {
        format: "maven",
        extra: "",
    }]);
    let token = upstream.create_user("deployer", "deployer-password");
    let publisher = Maven::new(&upstream, &token);
    let pom = |version: &str| {
        let pom = format!(
            "<project><modelVersion>4.0.0</modelVersion><groupId>org.wharf.e2e</groupId>\
             <artifactId>demo</artifactId><version>{version}</version></project>\n"
        );
        format!(
            "-DpomFile={}",
            publisher
                .write(&format!("demo-{version}.pom"), pom.as_bytes())
                .display()
        )
    };
    for version in ["1.0", "2.0"] {
        let jar = greeter_jar(&publisher, version, &format!("{version} from the upstream"));
        let (ok, out) = publisher.deploy("wharf", version, &jar, &[&pom(version)]);
        assert!(ok, "deploy of {version} to the upstream failed:\n{out}");
    }

    let group = "\n[[repository]]\nname = \"maven-private\"\nformat = \"maven\"\n\
                 \n[[repository]]\nname = \"maven-all\"\nformat = \"maven\"\nkind = \"group\"\n\
                 members = [\"maven-private\", \"maven-proxy\"]\n";
    let proxy = Server::start_proxy("maven", &format!("{}/maven/", upstream.url), group, &[]);
    let bob = proxy.create_user("bob", "bob-password");
    let group_url = format!("{}/maven-all/", proxy.url);

    // One URL, the group's: the deploy lands in the hosted member.
    let deployer = Maven::at(group_url.clone(), &bob);
    let jar = greeter_jar(&deployer, "1.5", "1.5 from the hosted member");
    let pom_file = deployer.write(
        "demo-1.5.pom",
        b"<project><modelVersion>4.0.0</modelVersion><groupId>org.wharf.e2e</groupId>\
<artifactId>demo</artifactId><version>1.5</version></project>\n",
    );
    let (ok, out) = deployer.deploy(
        "wharf",
        "1.5",
        &jar,
        &[&format!("-DpomFile={}", pom_file.display())],
    );
    assert!(ok, "deploy through the group failed:\n{out}");
    let hosted_jar = "/maven-private/org/wharf/e2e/demo/1.5/demo-1.5.jar";
    assert_eq!(proxy.get(hosted_jar).status, 200);
    let proxied_jar = "/maven-proxy/org/wharf/e2e/demo/1.5/demo-1.5.jar";
    assert_eq!(proxy.get(proxied_jar).status, 404);

    // The merged document: every member's versions in Maven's order, the
    // highest as `latest` and `release`; each sidecar its digest.
    let metadata = "org/wharf/e2e/demo/maven-metadata.xml";
    let xml = proxy.get(&format!("/maven-all/{metadata}"));
    assert_eq!(xml.status, 200, "{}", xml.text());
    let text = xml.text();
    let versions: Vec<&str> = text
        .split("<version>")
        .skip(1)
        .map(|v| v.split('<').next().unwrap())
        .collect();
    assert_eq!(versions, ["1.0", "1.5", "2.0"], "{text}");
    assert!(text.contains("<latest>2.0</latest>"), "{text}");
    assert!(text.contains("<release>2.0</release>"), "{text}");
    for (suffix, digest) in [
        ("md5", hex::encode(md5::compute(&xml.body).0)),
        ("sha1", hex::encode(sha1::Sha1::digest(&xml.body))),
        ("sha256", hex::encode(sha2::Sha256::digest(&xml.body))),
        ("sha512", hex::encode(sha2::Sha512::digest(&xml.body))),
    ] {
        let sidecar = proxy.get(&format!("/maven-all/{metadata}.{suffix}"));
        assert_eq!((sidecar.status, sidecar.text()), (200, digest), "{suffix}");
        assert!(
            sidecar
                .headers
                .iter()
                .all(|(n, _)| !n.starts_with("wharf-merge")),
            "{:?}",
            sidecar.headers
        );
    }
    // A member alone keeps its own document, and its sidecar its own,
    // without the document it carries for a merge.
    let alone = proxy.get(&format!("/maven-private/{metadata}"));
    let own = alone.text();
    assert!(
        own.contains("<version>1.5</version>") && !own.contains("2.0"),
        "{own}"
    );
    let sidecar = proxy.get(&format!("/maven-private/{metadata}.sha1"));
    assert_eq!(sidecar.text(), hex::encode(sha1::Sha1::digest(&alone.body)));
    assert!(
        sidecar
            .headers
            .iter()
            .all(|(n, _)| !n.starts_with("wharf-merge")),
        "{:?}",
        sidecar.headers
    );

    // Maven, with the group as its only repository and strict checksums.
    let client = Maven::of_proxy(group_url);
    app_project(&client, "[1.0,)");
    assert_eq!(
        build_and_run(&client, "local-newest", "2.0"),
        "2.0 from the upstream"
    );
    app_project(&client, "[1.0,2.0)");
    assert_eq!(
        build_and_run(&client, "local-below-2", "1.5"),
        "1.5 from the hosted member"
    );
    let cached = client.path("local-newest/org/wharf/e2e/demo/maven-metadata-central.xml");
    assert_eq!(
        read(cached),
        xml.body,
        "the metadata Maven kept is the group's"
    );

    // A deploy through the group shows in the merged document at once (the
    // group's cached one is not served), sidecar included.
    let jar = greeter_jar(&deployer, "1.6", "1.6 from the hosted member");
    let pom_file = deployer.write(
        "demo-1.6.pom",
        b"<project><modelVersion>4.0.0</modelVersion><groupId>org.wharf.e2e</groupId>\
<artifactId>demo</artifactId><version>1.6</version></project>\n",
    );
    let pom_arg = format!("-DpomFile={}", pom_file.display());
    let (ok, out) = deployer.deploy("wharf", "1.6", &jar, &[&pom_arg]);
    assert!(ok, "second deploy through the group failed:\n{out}");
    let xml = proxy.get(&format!("/maven-all/{metadata}"));
    assert!(
        xml.text().contains("<version>1.6</version>"),
        "{}",
        xml.text()
    );
    let sha1 = proxy.get(&format!("/maven-all/{metadata}.sha1")).text();
    assert_eq!(sha1, hex::encode(sha1::Sha1::digest(&xml.body)));
    assert_eq!(
        build_and_run(&client, "local-after-deploy", "1.6"),
        "1.6 from the hosted member"
    );
}

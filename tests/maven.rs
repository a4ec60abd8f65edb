//! Maven, end to end: Debian's `mvn` 3.8 deploys a release (jar, pom,
//! sources) and two builds of a SNAPSHOT to a running wharf, then resolves
//! them with only Wharf into fresh local repositories; plus the refusals
//! (release redeploy, anonymous deploy).
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
        let url = format!("{}/maven/", server.url);
        std::fs::write(dir.path().join("empty-settings.xml"), "<settings/>\n").unwrap();
        std::fs::write(dir.path().join("settings.xml"), settings(&url, token)).unwrap();
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

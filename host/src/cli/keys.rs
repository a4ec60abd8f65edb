//! `wharf key …`: the OpenPGP keys the host signs with for plugins
//! (`signing.rs`). A running server signs with a rotated key at once.

use super::record;
use clap::{Subcommand, ValueEnum};
use wharf::config::Settings;
use wharf::services::Services;
use wharf::signing::Algorithm;

#[derive(Subcommand)]
pub enum KeyCommand {
    /// List every key: id, fingerprint, algorithm, created, which one signs.
    List,
    /// Print the public keys of an id, armored (the current one first),
    /// generating the key if it has none yet.
    Export { id: String },
    /// Make a new key the one that signs for an id; the old public keys stay
    /// exported, so what they signed still verifies, until removed.
    Rotate {
        id: String,
        #[arg(long, value_enum, default_value = "ed25519")]
        algorithm: AlgorithmArg,
    },
    /// Remove a key that no longer signs.
    Remove { id: String, fingerprint: String },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum AlgorithmArg {
    /// Ed25519 (OpenPGP v4 EdDSA), what Debian 12's apt verifies.
    Ed25519,
    /// RSA 4096, for clients that know no EdDSA.
    Rsa4096,
}

pub async fn key(settings: Settings, command: KeyCommand) -> anyhow::Result<()> {
    let services = Services::open(settings).await?;
    let keys = services.keys.clone();
    match command {
        KeyCommand::List => {
            for k in tokio::task::spawn_blocking(move || keys.list()).await?? {
                let current = if k.current { "signs" } else { "verifies" };
                let created = super::utc(k.created * 1000);
                let algorithm = serde_json::to_value(k.algorithm)?;
                let algorithm = algorithm.as_str().unwrap_or_default().to_string();
                println!(
                    "{}\t{}\t{algorithm}\t{created}\t{current}",
                    k.id, k.fingerprint
                );
            }
        }
        KeyCommand::Export { id } => {
            let armored = tokio::task::spawn_blocking(move || keys.public_keys(&id)).await??;
            print!("{armored}");
        }
        KeyCommand::Rotate { id, algorithm } => {
            let algorithm = match algorithm {
                AlgorithmArg::Ed25519 => Algorithm::Ed25519,
                AlgorithmArg::Rsa4096 => Algorithm::Rsa4096,
            };
            let which = id.clone();
            let new = tokio::task::spawn_blocking(move || keys.rotate(&which, algorithm)).await??;
            let target = format!("key {id} {}", new.fingerprint);
            record(&services, "key-rotate", &target).await;
            println!("{}", new.fingerprint);
        }
        KeyCommand::Remove { id, fingerprint } => {
            let (which, print) = (id.clone(), fingerprint.clone());
            let removed =
                tokio::task::spawn_blocking(move || keys.remove(&which, &print)).await??;
            anyhow::ensure!(removed, "key {id} has no key {fingerprint}");
            record(&services, "key-remove", &format!("key {id} {fingerprint}")).await;
            println!("removed {fingerprint}");
        }
    }
    Ok(())
}

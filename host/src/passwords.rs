//! Password hashing and checks. One argon2id call takes 19 MiB and ~20 ms,
//! so they run on a fixed number of threads behind a bounded queue: a flood
//! of wrong passwords costs at most `threads` × 19 MiB (each thread's
//! allocator keeps its last buffer, no more) and waits its turn; past the
//! queue it is refused at once instead of growing memory.
//!
//! A user that does not exist is checked against a dummy hash made once at
//! start with the same parameters, so that a wrong name costs what a wrong
//! password costs and the timing does not tell which accounts exist.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::Rng;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// The queue is full: the caller should try again shortly (503).
#[derive(Debug)]
pub struct Busy;

pub struct Passwords {
    jobs: SyncSender<Job>,
    /// The hash of a random password nobody knows.
    dummy: Arc<str>,
}

impl Passwords {
    pub fn new(threads: usize, queue: usize) -> Self {
        let (jobs, waiting) = std::sync::mpsc::sync_channel::<Job>(queue);
        let waiting = Arc::new(Mutex::new(waiting));
        for i in 0..threads.max(1) {
            let waiting = waiting.clone();
            std::thread::Builder::new()
                .name(format!("wharf-password-{i}"))
                .spawn(move || work(&waiting))
                .expect("spawning a password thread");
        }
        let secret: [u8; 32] = rand::rng().random();
        let dummy = hash_now(&secret, rand::rng().random())
            .expect("hashing a random password")
            .into();
        Passwords { jobs, dummy }
    }

    /// A hash no password matches, as costly to check as a real one.
    pub fn dummy(&self) -> &str {
        &self.dummy
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(job());
        });
        match self.jobs.try_send(job) {
            Ok(()) => result.await.map_err(|_| Busy),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(Busy),
        }
    }

    /// Whether `password` matches the PHC string `hash`.
    pub async fn verify(&self, hash: String, password: String) -> Result<bool, Busy> {
        self.run(move || {
            PasswordHash::new(&hash).is_ok_and(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
        })
        .await
    }

    /// A new argon2id PHC string for `password`.
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        let salt: [u8; 16] = rand::rng().random();
        self.run(move || hash_now(password.as_bytes(), salt))
            .await
            .map_err(|Busy| anyhow::anyhow!("password threads are busy"))?
            .map_err(|e| anyhow::anyhow!("hashing the password failed: {e}"))
    }
}

/// An argon2id PHC string with the default parameters, on this thread.
fn hash_now(password: &[u8], salt: [u8; 16]) -> argon2::password_hash::Result<String> {
    let salt = SaltString::encode_b64(&salt)?;
    Argon2::default()
        .hash_password(password, &salt)
        .map(|h| h.to_string())
}

fn work(waiting: &Mutex<Receiver<Job>>) {
    loop {
        let job = waiting.lock().unwrap().recv();
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_a_full_queue_is_refused() {
        let passwords = Passwords::new(1, 1);
        let hash = passwords.hash("secret".into()).await.unwrap();
        assert!(
            passwords
                .verify(hash.clone(), "secret".into())
                .await
                .unwrap()
        );
        assert!(
            !passwords
                .verify(hash.clone(), "wrong".into())
                .await
                .unwrap()
        );
        // One running, one queued: the third waits for nobody.
        let checks = (0..8).map(|_| passwords.verify(hash.clone(), "wrong".into()));
        let results = futures::future::join_all(checks).await;
        assert!(results.iter().any(|r| r.is_err()), "some were refused");
        assert!(results.iter().any(|r| r.is_ok()), "some were checked");
    }
}

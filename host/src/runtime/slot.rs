//! When a plugin call may run, and for how long.
//!
//! A call runs holding an execution slot (a permit of the `compute`
//! semaphore, `max_concurrent_plugin_calls`) and against a deadline (the
//! plugin's `timeout`). Both are for the plugin's own work. While a host call
//! waits on the client's body (`Slot::waiting`), the deadline is paused and,
//! when a place among `streaming` (`max_streaming_bodies`) is free, the slot
//! is lent back: a slow client then holds a streaming place, not a slot.
//! The suspended instance keeps its memory, which is what bounds `streaming`.
//! When no streaming place is free the call keeps its slot and waits with
//! it, so waiting for a slot never holds a streaming place while a slot
//! holder waits for one: the two bounds cannot deadlock.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
// tokio's clock, so that tests can pause it; the same as std's otherwise.
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;

/// How long a call waits for a slot before the request gets 503.
pub const SLOT_WAIT: Duration = Duration::from_secs(10);

/// The two bounds, shared by every loaded plugin.
#[derive(Clone)]
pub struct Slots {
    pub compute: Arc<Semaphore>,
    pub streaming: Arc<Semaphore>,
}

/// No slot came free in time.
#[derive(Debug, thiserror::Error)]
#[error("no plugin slot came free")]
pub struct Busy;

/// Where a call's clock stands, for its watchdog.
#[derive(Clone, Copy, Debug)]
pub enum Clock {
    Running {
        deadline: Instant,
    },
    /// Inside a host call waiting on the client's body: not counted.
    Waiting,
}

impl Slots {
    pub fn new(compute: usize, streaming: usize) -> Self {
        Slots {
            compute: Arc::new(Semaphore::new(compute)),
            streaming: Arc::new(Semaphore::new(streaming)),
        }
    }

    async fn compute(&self) -> Result<OwnedSemaphorePermit, Busy> {
        let acquire = self.compute.clone().acquire_owned();
        match tokio::time::timeout(SLOT_WAIT, acquire).await {
            Ok(Ok(p)) => Ok(p),
            _ => Err(Busy),
        }
    }

    /// A slot for one `handle` call, whose deadline starts now.
    pub async fn acquire(&self, timeout: Duration) -> Result<Slot, Busy> {
        let held = self.compute().await?;
        let deadline = Instant::now() + timeout;
        Ok(Slot {
            slots: self.clone(),
            held: Some(held),
            deadline,
            clock: watch::Sender::new(Clock::Running { deadline }),
        })
    }
}

/// The slot and the deadline of one `handle` call.
pub struct Slot {
    slots: Slots,
    held: Option<OwnedSemaphorePermit>,
    deadline: Instant,
    clock: watch::Sender<Clock>,
}

impl Slot {
    /// When the plugin's own time runs out.
    pub fn deadline(&self) -> std::time::Instant {
        self.deadline.into_std()
    }

    /// Runs `wait`, a host call waiting on the client's body, off the clock
    /// and, when it can, without the slot. The slot is back (or `Busy`)
    /// before the guest runs again.
    pub async fn waiting<F: Future>(&mut self, wait: F) -> Result<F::Output, Busy> {
        let paused = Instant::now();
        self.clock.send_replace(Clock::Waiting);
        let streaming = self.slots.streaming.clone().try_acquire_owned().ok();
        if streaming.is_some() {
            self.held = None;
        }
        let out = wait.await;
        if self.held.is_none() {
            self.held = Some(self.slots.compute().await?);
        }
        drop(streaming);
        self.deadline += paused.elapsed();
        let deadline = self.deadline;
        self.clock.send_replace(Clock::Running { deadline });
        Ok(out)
    }

    /// Resolves when the call has used up its own time, plus `grace`;
    /// never while it waits on its body.
    pub fn watchdog(&self, grace: Duration) -> impl Future<Output = ()> + use<> {
        let mut clock = self.clock.subscribe();
        async move {
            loop {
                let now = *clock.borrow_and_update();
                match now {
                    Clock::Waiting => {
                        if clock.changed().await.is_err() {
                            return std::future::pending().await;
                        }
                    }
                    Clock::Running { deadline } => {
                        let expired = tokio::time::sleep_until(deadline + grace);
                        tokio::select! {
                            _ = expired => return,
                            changed = clock.changed() => if changed.is_err() {
                                return std::future::pending().await;
                            },
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn waiting_lends_the_slot_and_pauses_the_deadline() {
        let slots = Slots::new(1, 1);
        let mut slot = slots.acquire(Duration::from_secs(1)).await.unwrap();
        let watchdog = tokio::spawn(slot.watchdog(Duration::ZERO));
        let start = slot.deadline();
        let other = slots.clone();
        let lent = slot
            .waiting(async move {
                // Another call gets the slot while this one waits.
                let taken = other.compute().await.is_ok();
                tokio::time::sleep(Duration::from_secs(5)).await;
                taken
            })
            .await
            .unwrap();
        assert!(lent);
        assert!(!watchdog.is_finished());
        assert_eq!(slot.deadline() - start, Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(watchdog.is_finished());
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_streaming_place_the_slot_is_kept() {
        let slots = Slots::new(1, 0);
        let mut slot = slots.acquire(Duration::from_secs(1)).await.unwrap();
        let other = slots.clone();
        let free = slot
            .waiting(async move { other.compute.available_permits() })
            .await
            .unwrap();
        assert_eq!(free, 0);
    }
}

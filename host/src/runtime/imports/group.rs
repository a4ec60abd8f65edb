//! `group` (0.3.3): a merge reads other answers of its group. Reading a
//! group is the HTTP layer's work (`http/repo/group.rs`), which waits on
//! the merge: the call goes to it over the merge's channel and the guest
//! waits for the answer.

use super::StoreData;
use crate::runtime::bindings::v0_3::merging::wharf::plugin::group as wit;
use tokio::sync::{mpsc, oneshot};

pub use wit::GroupAnswer;

/// One `group.read` of a merge: the path, and where its answer goes.
pub type GroupRead = (String, oneshot::Sender<Result<GroupAnswer, String>>);

/// Where a merge sends its reads; `None` in `StoreData` outside a merge, or
/// for a merge nested too deep to read.
pub type GroupReads = mpsc::Sender<GroupRead>;

impl wit::Host for StoreData {
    async fn read(&mut self, path: String) -> wasmtime::Result<Result<GroupAnswer, String>> {
        let Some(reads) = self.group_reads.clone() else {
            return Ok(Err(
                "the group is read only during a merge, two reads deep at most".into(),
            ));
        };
        let (answer, answered) = oneshot::channel();
        if reads.send((path, answer)).await.is_err() {
            return Ok(Err("the merge's request is over".into()));
        }
        Ok(answered
            .await
            .unwrap_or_else(|_| Err("the group read was cancelled".into())))
    }
}

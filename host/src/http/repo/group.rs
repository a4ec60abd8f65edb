//! A group repository: one URL over ordered members of one format. A read
//! walks the members (nested groups flattened) and the first that has the
//! answer wins, except on the routes the plugin merges (an npm packument
//! lists the versions every member holds): those ask every member and the
//! plugin merges their answers. Every member renders with the group's base
//! URL, so the links in its documents lead back to the group. A write is
//! the first hosted member's, with that member's permissions and owners.

use super::RepoRequest;
use crate::auth::Caller;
use crate::runtime::{
    self, BodyMode, CacheHint, ClassifyError, Denial, Freshness, GroupAnswer, GroupRead,
    IncomingBody, MemberAnswer, MergeContext, Method, PluginFailure, Reply, ReplyBody, RepoInfo,
    RepoKind, RequestHead,
};
use axum::body::Body;
use axum::response::Response;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// The share of a plugin's memory the member answers of one merge may take
/// together: it holds them all, what it parses them into and its answer.
/// A group read made by a merge (`group.read`) is bounded alike.
const MERGE_SHARE: u64 = 4;

/// How deep `group.read` nests: a merge reads a path whose merge reads
/// another (a Debian `InRelease` signs the `Release` that lists the
/// digests of the merged `Packages`).
const MAX_READ_DEPTH: u8 = 2;
/// Group reads one client request may cause, nested ones included.
const MAX_READS: u32 = 64;

/// Where the merges of one client request stand in their group reads.
#[derive(Clone, Copy)]
pub(super) struct Reads<'a> {
    /// How many reads deep the merge is (0: the client's own request).
    depth: u8,
    /// Reads the request may still make, shared by its nested merges.
    left: &'a AtomicU32,
}

impl<'a> Reads<'a> {
    /// A client request's: `left` starts at [`MAX_READS`].
    pub(super) fn of_request(left: &'a AtomicU32) -> Reads<'a> {
        left.store(MAX_READS, Ordering::Relaxed);
        Reads { depth: 0, left }
    }

    fn deeper(self) -> Reads<'a> {
        Reads {
            depth: self.depth + 1,
            ..self
        }
    }
}

impl RepoRequest<'_> {
    /// The whole request again, as the first hosted member's.
    pub(super) async fn in_hosted_member(&self, body: Body) -> Response {
        let Some(member) = self
            .members
            .iter()
            .find(|m| matches!(m.repo.kind, RepoKind::Hosted))
        else {
            let message = format!(
                "{} is a group with no hosted member: nothing can be written through it",
                self.repo.name
            );
            return self.deny(Denial::MethodNotAllowed, &message, None).await;
        };
        let sources = [member.repo.name.as_str()];
        let request = RepoRequest {
            mount: member,
            repo: &member.repo,
            members: &[],
            sources: &sources,
            full_head: OnceLock::new(),
            ..*self
        };
        request.run(body).await
    }

    /// Every member's answer, merged by the plugin when more than one has
    /// it. A member that failed is left out and the answer marked stale,
    /// so it is not kept (it would hide that member's versions until the
    /// next write); with no answer, as `walk_members`.
    pub(super) async fn merge_members(
        &self,
        route: &runtime::Route,
        caller: &Caller,
        reads: Reads<'_>,
    ) -> Result<(Reply, &str), PluginFailure> {
        let asked = self.members.iter().map(|member| async move {
            let repo = RepoInfo {
                base_url: self.repo.base_url.clone(),
                ..member.repo.clone()
            };
            let answer = self.handle(route, caller, None, &repo, member).await;
            (answer, member.repo.name.as_str())
        });
        let mut found = Vec::new();
        let mut failed: Option<Result<(Reply, &str), PluginFailure>> = None;
        let mut missing = None;
        // What every answer allows, "not found" from an upstream included
        // (it holds for the negative TTL only); a failed member's part is
        // missing, so the answer is served but never kept.
        let mut freshness = Freshness::default();
        for (answer, name) in futures::future::join_all(asked).await {
            match answer {
                Ok(reply) if reply.status == 200 => {
                    freshness = freshness.and(reply.freshness);
                    found.push((reply, name));
                }
                Ok(reply) if matches!(reply.status, 404 | 410) => {
                    freshness = freshness.and(reply.freshness);
                    missing = Some((reply, name));
                }
                Ok(reply) => {
                    freshness.stale = true;
                    failed.get_or_insert(Ok((reply, name)));
                }
                Err(failure) => {
                    freshness.stale = true;
                    failed.get_or_insert(Err(failure));
                }
            }
        }
        if found.len() < 2 {
            return match (found.pop(), failed, missing) {
                (Some((mut one, name)), _, _) => {
                    one.freshness = freshness;
                    Ok((one, name))
                }
                (None, Some(failure), _) => failure,
                (None, None, Some(missing)) => Ok(missing),
                (None, None, None) => unreachable!("a group without members is answered before"),
            };
        }
        let answered_by = found[0].1;
        let mut hints: Vec<Option<CacheHint>> = Vec::with_capacity(found.len());
        let mut answers = Vec::with_capacity(found.len());
        let mut left = Budget {
            left: self.plugin.policy.memory_bytes / MERGE_SHARE,
            limit: self.plugin.policy.memory_bytes / MERGE_SHARE,
        };
        for (reply, name) in found {
            hints.push(reply.cache);
            // Merge-only headers can carry a document (a Maven sidecar's).
            let headers = reply.headers.iter().map(|(n, v)| n.len() + v.len());
            left.charge(headers.sum::<usize>() as u64)?;
            let body = self.whole_body(reply.body, name, &mut left).await?;
            answers.push(MemberAnswer {
                repository: name.to_string(),
                status: reply.status,
                headers: reply.headers,
                body,
            });
        }
        // The merge's group reads are served here while it waits for them;
        // what they were made from bounds the merged answer too.
        let (sender, mut asked) = tokio::sync::mpsc::channel::<GroupRead>(1);
        let context = MergeContext {
            services: self.app.services.clone(),
            caller: caller.clone(),
            client: self.client,
            reads: (reads.depth < MAX_READ_DEPTH).then_some(sender),
        };
        let merge = self
            .plugin
            .merge(context, self.repo, self.head(), &route.id, &answers);
        let mut merge = std::pin::pin!(merge);
        let merged = loop {
            tokio::select! {
                merged = &mut merge => break merged?,
                Some((path, answer)) = asked.recv() => {
                    let read = Box::pin(self.read_for_merge(&path, caller, reads.deeper())).await;
                    // A read that failed may have left the merge short of
                    // something: its answer is served, not kept.
                    freshness.stale |= read.is_err();
                    let _gone = answer.send(read.map(|(read, hint, read_freshness)| {
                        hints.push(hint);
                        freshness = freshness.and(read_freshness);
                        read
                    }));
                }
            }
        };
        let reply = Reply {
            status: merged.status,
            reason: None,
            headers: merged.headers,
            body: ReplyBody::Bytes(merged.body),
            cache: merged_hint(hints.iter()),
            freshness,
        };
        Ok((reply, answered_by))
    }

    /// `group.read(path)` of a merge: the group's GET of `path`, walked or
    /// merged, checked as a client's read of it by the same caller.
    async fn read_for_merge(
        &self,
        path: &str,
        caller: &Caller,
        reads: Reads<'_>,
    ) -> Result<(GroupAnswer, Option<CacheHint>, Freshness), String> {
        let charged =
            (reads.left).fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        if charged.is_err() {
            return Err(format!(
                "a request reads at most {MAX_READS} paths of its group"
            ));
        }
        if path.starts_with('/') || path.contains(['?', '#']) {
            return Err(format!("{path:?} is not a path below the repository"));
        }
        let target = RequestHead {
            method: Method::Get,
            raw_path: path.to_string(),
            raw_query: None,
            headers: Vec::new(),
        };
        super::reasonable_target(&target)?;
        let head = RequestHead {
            headers: self.head().headers.clone(),
            ..target.clone()
        };
        let classified = match self.plugin.memoized_route(self.repo, &target) {
            Some(route) => route,
            None => (self.plugin.classify(self.repo, &head).await).map_err(|f| f.to_string())?,
        };
        let route = match &*classified {
            Ok(route) => route,
            Err(ClassifyError::NotFound) => return Ok((not_found(), None, Freshness::default())),
            Err(refused) => return Err(format!("{path} is not a read: {refused:?}")),
        };
        let reading = |a: &runtime::Access| runtime::action(a.action) == crate::auth::Action::Read;
        if !route.access.iter().all(reading) || route.body != BodyMode::None {
            return Err(format!("{path} is not a read"));
        }
        if !route.access.iter().all(|a| self.permits(caller, a)) {
            return Err(format!("the caller may not read {path}"));
        }
        let request = RepoRequest {
            target: &target,
            full_head: OnceLock::from(head),
            ..*self
        };
        let answer = match self.plugin.merges(&route.id) {
            true => Box::pin(request.merge_members(route, caller, reads)).await,
            false => Box::pin(request.walk_members(route, caller, None)).await,
        };
        let (reply, member) = answer.map_err(|f| f.to_string())?;
        let limit = self.plugin.policy.memory_bytes / MERGE_SHARE;
        let mut budget = Budget { left: limit, limit };
        let cache = reply.cache;
        let freshness = reply.freshness;
        let body = request
            .whole_body(reply.body, member, &mut budget)
            .await
            .map_err(|f| f.to_string())?;
        let answer = GroupAnswer {
            status: reply.status,
            headers: reply.headers,
            body,
        };
        Ok((answer, cache, freshness))
    }

    /// A member's answer as bytes for the merge, charged to `left`.
    async fn whole_body(
        &self,
        body: ReplyBody,
        member: &str,
        left: &mut Budget,
    ) -> Result<Vec<u8>, PluginFailure> {
        let services = &self.app.services;
        let stored = match body {
            ReplyBody::Empty => return Ok(Vec::new()),
            ReplyBody::Bytes(bytes) => {
                left.charge(bytes.len() as u64)?;
                return Ok(bytes);
            }
            ReplyBody::Blob(blake3) | ReplyBody::UpstreamDocument(blake3) => blake3,
            ReplyBody::Pulled { .. } => {
                return Err(PluginFailure::Merge(format!(
                    "{member} answered with an artifact, which does not merge"
                )));
            }
        };
        let gone = |_| PluginFailure::Merge(format!("{member}'s answer could not be read"));
        let size = match services.blobs.info(&stored).await {
            Ok(Some(info)) => info.size,
            Ok(None) => return Err(gone(())),
            Err(_) => return Err(gone(())),
        };
        left.charge(size)?;
        let bytes = services.blobs.read_range(&stored, 0..size).await;
        bytes.map(|b| b.to_vec()).map_err(|_| gone(()))
    }

    /// The first member's answer that is not "not found", and whose it is.
    /// A member that fails (an unreachable upstream, a trap) is passed over
    /// for the next; if none has it, the first failure is the answer, else
    /// the last "not found".
    pub(super) async fn walk_members(
        &self,
        route: &runtime::Route,
        caller: &Caller,
        mut body: Option<IncomingBody>,
    ) -> Result<(Reply, &str), PluginFailure> {
        // A read with a body (a search by POST) can be given to one member.
        let members = match route.body {
            BodyMode::Stream => &self.members[..self.members.len().min(1)],
            BodyMode::None => self.members,
        };
        let mut failed: Option<Result<(Reply, &str), PluginFailure>> = None;
        let mut missing = None;
        // What the members passed over allow: an earlier member's "not
        // found" from its upstream holds for the negative TTL only, and
        // one that failed may have the answer once it is back.
        let mut passed_over = Freshness::default();
        for member in members {
            let repo = RepoInfo {
                base_url: self.repo.base_url.clone(),
                ..member.repo.clone()
            };
            let answer = self.handle(route, caller, body.take(), &repo, member).await;
            let name = member.repo.name.as_str();
            match answer {
                Ok(reply) if matches!(reply.status, 404 | 410) => {
                    passed_over = passed_over.and(reply.freshness);
                    missing = Some((reply, name));
                }
                Ok(reply) if reply.status >= 500 => {
                    passed_over.stale = true;
                    failed.get_or_insert(Ok((reply, name)));
                }
                Ok(mut reply) => {
                    reply.freshness = reply.freshness.and(passed_over);
                    return Ok((reply, name));
                }
                Err(failure) => {
                    passed_over.stale = true;
                    failed.get_or_insert(Err(failure));
                }
            }
        }
        match (failed, missing) {
            (Some(failure), _) => failure,
            (None, Some(missing)) => Ok(missing),
            (None, None) => unreachable!("a group without members is answered before"),
        }
    }
}

/// What a group read finds when no route of the plugin matches the path.
fn not_found() -> GroupAnswer {
    GroupAnswer {
        status: 404,
        headers: Vec::new(),
        body: b"not found".to_vec(),
    }
}

/// The bytes of member answers one merge may still take.
struct Budget {
    left: u64,
    limit: u64,
}

impl Budget {
    fn charge(&mut self, bytes: u64) -> Result<(), PluginFailure> {
        self.left = self.left.checked_sub(bytes).ok_or_else(|| {
            PluginFailure::Merge(format!(
                "the members' answers are larger than {} KiB together: too large to merge",
                self.limit >> 10
            ))
        })?;
        Ok(())
    }
}

/// A merged answer is cacheable when each member's was, and is invalidated
/// by what invalidates any of them.
fn merged_hint<'a>(hints: impl Iterator<Item = &'a Option<CacheHint>>) -> Option<CacheHint> {
    let mut merged = CacheHint {
        tags: Vec::new(),
        vary: Vec::new(),
    };
    for hint in hints {
        let hint = hint.as_ref()?;
        for tag in &hint.tags {
            if !merged.tags.contains(tag) {
                merged.tags.push(tag.clone());
            }
        }
        for name in &hint.vary {
            if !merged.vary.contains(name) {
                merged.vary.push(name.clone());
            }
        }
    }
    Some(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(tags: &[&str], vary: &[&str]) -> Option<CacheHint> {
        Some(CacheHint {
            tags: tags.iter().map(|t| t.to_string()).collect(),
            vary: vary.iter().map(|v| v.to_string()).collect(),
        })
    }

    #[test]
    fn a_merged_answer_is_invalidated_by_what_invalidates_any_member() {
        let hints = [
            hint(&["left-pad"], &["accept"]),
            hint(&["left-pad", "*"], &[]),
        ];
        let merged = merged_hint(hints.iter()).unwrap();
        assert_eq!(merged.tags, ["left-pad", "*"]);
        assert_eq!(merged.vary, ["accept"]);
        let one_uncached = [hint(&["left-pad"], &[]), None];
        assert!(merged_hint(one_uncached.iter()).is_none());
    }

    #[test]
    fn the_budget_refuses_what_would_pass_it() {
        let mut budget = Budget {
            left: 10,
            limit: 10,
        };
        assert!(budget.charge(6).is_ok());
        assert!(budget.charge(4).is_ok());
        assert!(matches!(budget.charge(1), Err(PluginFailure::Merge(_))));
    }
}

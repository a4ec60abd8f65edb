//! A group repository: one URL over ordered members of one format. A read
//! walks the members (nested groups flattened) and the first that has the
//! answer wins; every member renders with the group's base URL, so the
//! links in its documents lead back to the group. A write is the first
//! hosted member's, with that member's permissions and owners.

use super::RepoRequest;
use crate::auth::Caller;
use crate::runtime::{
    self, BodyMode, Denial, IncomingBody, PluginFailure, Reply, RepoInfo, RepoKind,
};
use axum::body::Body;
use axum::response::Response;
use std::sync::OnceLock;

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
        for member in members {
            let repo = RepoInfo {
                base_url: self.repo.base_url.clone(),
                ..member.repo.clone()
            };
            let answer = self.handle(route, caller, body.take(), &repo, member).await;
            let name = member.repo.name.as_str();
            match answer {
                Ok(reply) if matches!(reply.status, 404 | 410) => missing = Some((reply, name)),
                Ok(reply) if reply.status >= 500 => {
                    failed.get_or_insert(Ok((reply, name)));
                }
                Ok(reply) => return Ok((reply, name)),
                Err(failure) => {
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

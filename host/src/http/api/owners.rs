//! `/api/v1/owners`: the owners of a package, for every format, and the way
//! to change them for formats whose clients have no owner command (PyPI,
//! Maven, OCI namespaces). Owners are `user:<name>` or `team:<name>`.

use super::audit;
use super::{caller, require};
use crate::audit::Actor;
use crate::auth::owners::{Standing, principal_is_valid};
use crate::auth::{Action, Caller};
use crate::http::{App, ClientIp, ErrorBody, host_error};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
pub struct PackageRef {
    /// The repository, e.g. `npm` or `oci`.
    repository: String,
    /// The package as its format names it (`@acme/web`, `team/app`).
    package: String,
}

#[derive(Serialize, ToSchema)]
pub struct OwnerList {
    owners: Vec<String>,
}

#[derive(Deserialize, ToSchema, IntoParams)]
pub struct OwnerChange {
    repository: String,
    package: String,
    /// `user:<name>` or `team:<name>`.
    owner: String,
}

impl OwnerChange {
    fn describe(&self) -> String {
        format!("{}/{} {}", self.repository, self.package, self.owner)
    }
}

/// Lists the owners of a package (whoever may read the repository).
#[utoipa::path(get, path = "/api/v1/owners", params(PackageRef), responses(
    (status = 200, body = OwnerList),
    (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody, description = "no such repository"),
))]
pub async fn list(
    State(app): State<Arc<App>>,
    client: ClientIp,
    headers: HeaderMap,
    Query(at): Query<PackageRef>,
) -> Response {
    if let Err(r) = require(&app, &headers, &client, Action::Read).await {
        return r;
    }
    if let Err(r) = known_repository(&app, &at.repository) {
        return r;
    }
    match app
        .services
        .auth
        .owners
        .list(&at.repository, &at.package)
        .await
    {
        Ok(owners) => Json(OwnerList { owners }).into_response(),
        Err(e) => host_error(503, &format!("owners unavailable: {e}")),
    }
}

/// Adds an owner (an owner of the package, or an admin).
#[utoipa::path(put, path = "/api/v1/owners", request_body = OwnerChange, responses(
    (status = 204, description = "added (or already an owner)"),
    (status = 400, body = ErrorBody, description = "no such user or team"),
    (status = 403, body = ErrorBody, description = "not an owner"),
    (status = 404, body = ErrorBody, description = "no such repository or package"),
))]
pub async fn add(
    State(app): State<Arc<App>>,
    client: ClientIp,
    headers: HeaderMap,
    Json(change): Json<OwnerChange>,
) -> Response {
    let mut who = audit::actor(&Default::default(), &client);
    let response = add_as(&mut who, &app, &client, &headers, &change).await;
    let status = response.status().as_u16();
    audit::record(&app, &who, "owner-add", &change.describe(), status).await;
    response
}

async fn add_as(
    who: &mut Actor,
    app: &App,
    client: &ClientIp,
    headers: &HeaderMap,
    change: &OwnerChange,
) -> Response {
    let caller = match caller(app, headers, client).await {
        Ok(caller) => caller,
        Err(r) => return r,
    };
    *who = audit::actor(&caller, client);
    if let Err(r) = authorized(app, &caller, change).await {
        return r;
    }
    let owners = &app.services.auth.owners;
    match app.services.auth.principal_exists(&change.owner).await {
        Ok(true) => {}
        Ok(false) => return host_error(400, &format!("there is no {}", change.owner)),
        Err(e) => return host_error(503, &e.to_string()),
    }
    match owners
        .add(&change.repository, &change.package, &change.owner)
        .await
    {
        Ok(()) => {
            changed(app, &change.repository, &change.package).await;
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => host_error(503, &format!("owners unavailable: {e}")),
    }
}

/// Removes an owner; a package keeps at least one.
#[utoipa::path(delete, path = "/api/v1/owners", params(OwnerChange), responses(
    (status = 204, description = "removed (or was no owner)"),
    (status = 403, body = ErrorBody, description = "not an owner"),
    (status = 409, body = ErrorBody, description = "the last owner"),
))]
pub async fn remove(
    State(app): State<Arc<App>>,
    client: ClientIp,
    headers: HeaderMap,
    Query(change): Query<OwnerChange>,
) -> Response {
    let mut who = audit::actor(&Default::default(), &client);
    let response = remove_as(&mut who, &app, &client, &headers, &change).await;
    let status = response.status().as_u16();
    audit::record(&app, &who, "owner-remove", &change.describe(), status).await;
    response
}

async fn remove_as(
    who: &mut Actor,
    app: &App,
    client: &ClientIp,
    headers: &HeaderMap,
    change: &OwnerChange,
) -> Response {
    let caller = match caller(app, headers, client).await {
        Ok(caller) => caller,
        Err(r) => return r,
    };
    *who = audit::actor(&caller, client);
    if let Err(r) = authorized(app, &caller, change).await {
        return r;
    }
    let owners = &app.services.auth.owners;
    let current = match owners.list(&change.repository, &change.package).await {
        Ok(list) => list,
        Err(e) => return host_error(503, &format!("owners unavailable: {e}")),
    };
    if current == [change.owner.clone()] {
        return host_error(409, "a package keeps at least one owner");
    }
    match owners
        .remove(&change.repository, &change.package, &change.owner)
        .await
    {
        Ok(()) => {
            changed(app, &change.repository, &change.package).await;
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => host_error(503, &format!("owners unavailable: {e}")),
    }
}

/// After an owner change: documents that show owners (npm's `maintainers`)
/// are rendered again, with a later Last-Modified.
pub(super) async fn changed(app: &App, repository: &str, package: &str) {
    app.services.doc_cache.invalidate(repository, package);
    let packages = [package];
    if let Err(e) = app
        .services
        .catalog
        .record_change(repository, &packages)
        .await
    {
        tracing::warn!(repository, package, error = %e, "recording an owner change failed");
    }
}

/// Whether `caller` may change the owners of the package.
async fn authorized(app: &App, caller: &Caller, change: &OwnerChange) -> Result<(), Response> {
    if caller.user.is_none() {
        return Err(super::unauthorized());
    }
    known_repository(app, &change.repository)?;
    // A token restricted to other packages or repositories, or read-only,
    // changes no owners of this one.
    let within = app.services.auth.permits_on(
        caller,
        Action::Write,
        &change.repository,
        Some(&change.package),
    );
    if !within {
        return Err(host_error(
            403,
            "this token is restricted to other packages",
        ));
    }
    if !principal_is_valid(&change.owner) {
        return Err(host_error(400, "an owner is user:<name> or team:<name>"));
    }
    let standing = app
        .services
        .auth
        .owners
        .standing(
            app.services.catalog.as_ref(),
            caller,
            &change.repository,
            &change.package,
        )
        .await
        .map_err(|e| host_error(503, &format!("owners unavailable: {e}")))?;
    match standing {
        Standing::Owner => Ok(()),
        Standing::Unclaimed => Err(host_error(
            404,
            &format!("nothing is published as {}", change.package),
        )),
        Standing::Outsider => Err(host_error(
            403,
            &format!("you are not an owner of {}", change.package),
        )),
    }
}

// A handler's early answer: the size of a `Response` is no concern here.
#[allow(clippy::result_large_err)]
fn known_repository(app: &App, name: &str) -> Result<(), Response> {
    let formats = app.runtime.formats();
    match app.mounts.resolve(name, |f| formats.iter().any(|g| g == f)) {
        Ok((mount, _)) if mount.repo.name == name => Ok(()),
        _ => Err(host_error(404, &format!("there is no repository {name}"))),
    }
}

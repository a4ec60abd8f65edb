//! The Helm format: a chart repository (`index.yaml`, charts and their
//! provenance files under `charts/`) and the ChartMuseum API CI pipelines
//! upload with (`api/charts`, `api/prov`). See docs/formats/helm.md.
//!
//! Catalog mapping: package = the chart's name; version = its SemVer
//! version, the metadata its Chart.yaml fields and digest; assets
//! `charts/{name}-{version}.tgz` and, when signed, `….tgz.prov`.

pub mod chart;
pub mod emit;
pub mod index;
mod merge;
pub mod prov;
pub mod proxy;
pub mod upload;
pub mod upstream_index;

#[cfg(test)]
mod proxy_tests;
#[cfg(test)]
mod tests;

use wharf_sdk::need::{delete, read, read_repo};
use wharf_sdk::types::{Access, Action, PluginInfo, RequestHead};
use wharf_sdk::{Format, Need, Params, Response, Router, default_message, register_format};

pub struct Helm;

impl Format for Helm {
    fn info() -> PluginInfo {
        PluginInfo {
            format: "helm".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            suggested_grants: vec![],
        }
    }

    fn router() -> Router {
        Router::new()
            .get("index.yaml", "index", read_repo(), index::index_yaml)
            .merged("index", merge::index_yaml)
            .get("charts/{file}", "file", on_file(), index::file)
            // The chart is named only inside the body: the host lets any
            // writer in and checks the catalog write against the name read.
            .post("api/charts", "upload", UPLOAD, upload::post_chart)
            .post("api/prov", "upload-prov", UPLOAD, upload::post_prov)
            .get("api/charts", "list", read_repo(), index::api_all)
            .get("api/charts/{name}", "chart", read("name"), index::api_chart)
            .get(
                "api/charts/{name}/{version}",
                "version",
                read("name"),
                index::api_version,
            )
            .delete(
                "api/charts/{name}/{version}",
                "delete",
                delete("name"),
                upload::delete,
            )
    }

    /// ChartMuseum's error shape; `helm` and CI scripts print `error`.
    fn error(status: u16, message: &str) -> Response {
        let message = default_message(status, message);
        Response::json(status, &serde_json::json!({ "error": message }))
    }
}

register_format!(Helm);

/// An upload writes; with `?force` (overwrite an existing version) it
/// deletes the old one too, so it needs that permission as well.
const UPLOAD: Need = Need::Head(|_: &Params, head: &RequestHead| {
    let force = head
        .raw_query
        .as_deref()
        .is_some_and(|q| wharf_sdk::query_pairs(q).any(|(k, _)| k == "force"));
    let on_repo = |action| Access {
        action,
        package: None,
        repository: None,
    };
    match force {
        true => vec![on_repo(Action::Write), on_repo(Action::Delete)],
        false => vec![on_repo(Action::Write)],
    }
});

/// A read of the chart a file name (`{name}-{version}.tgz[.prov]`) belongs to.
fn on_file() -> Need {
    Need::Custom(|p: &Params| {
        let name = chart::split_file(p.get("file")).map(|(n, _, _)| n);
        vec![Access {
            action: Action::Read,
            package: Some(name.unwrap_or_default().to_string()),
            repository: None,
        }]
    })
}

//! The RubyGems format: `gem push`, `gem yank` and `gem owner`; the compact
//! index Bundler reads (`/names`, `/versions`, `/info/{gem}`); the Marshal
//! indexes and quick specs `gem install` reads; the `.gem` files. See
//! docs/formats/rubygems.md.

mod gem;
mod index;
mod marshal;
mod merge;
mod proxy;
mod push;

#[cfg(test)]
mod proxy_tests;
#[cfg(test)]
mod tests;

pub use gem::{spec_of, valid_name};

use wharf_sdk::need::{read, read_repo, write, write_repo};
use wharf_sdk::types::{Access, Action, PluginInfo};
use wharf_sdk::{Format, Need, Params, Response, Router, register_format};

pub struct RubyGems;

impl Format for RubyGems {
    fn info() -> PluginInfo {
        PluginInfo {
            format: "rubygems".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            suggested_grants: vec!["index.rubygems.org:443".into(), "rubygems.org:443".into()],
        }
    }

    fn router() -> Router {
        Router::new()
            // The gem is named only in the body: the host lets any writer
            // in, and checks the catalog write against the parsed name.
            .post("api/v1/gems", "push", write_repo(), push::push)
            .delete("api/v1/gems/yank", "yank", write_repo(), push::yank)
            .get(
                "api/v1/gems/{gem}/owners",
                "owners",
                read("gem"),
                push::owners,
            )
            .get(
                "api/v1/gems/{gem}/owners.yaml",
                "owners",
                read("gem"),
                push::owners_yaml,
            )
            .get(
                "api/v1/gems/{gem}/owners.json",
                "owners",
                read("gem"),
                push::owners,
            )
            .post(
                "api/v1/gems/{gem}/owners",
                "owners-add",
                write("gem"),
                push::owner_add,
            )
            .delete(
                "api/v1/gems/{gem}/owners",
                "owners-remove",
                write("gem"),
                push::owner_remove,
            )
            .get("names", "names", read_repo(), index::names)
            .get("versions", "versions", read_repo(), index::versions)
            .get("info/{gem}", "info", read("gem"), index::info)
            .get("gems/{file}", "gem", on_file(), index::gem_file)
            .get(
                "quick/Marshal.4.8/{file}",
                "quick",
                on_file(),
                index::quick_spec,
            )
            .get("specs.4.8.gz", "specs", read_repo(), index::specs)
            .get(
                "latest_specs.4.8.gz",
                "specs",
                read_repo(),
                index::latest_specs,
            )
            .get(
                "prerelease_specs.4.8.gz",
                "specs",
                read_repo(),
                index::prerelease_specs,
            )
            // A group lists every member's versions (merge.rs).
            .merged("info", merge::info)
            .merged("versions", merge::versions)
            .merged("names", merge::names)
            .merged("specs", merge::specs)
    }

    /// gem and Bundler print the body of an error as it is.
    fn error(status: u16, message: &str) -> Response {
        Response::text_error(status, message)
    }
}

register_format!(RubyGems);

/// A read of the gem a file name (`{name}-{version}[-{platform}].gem`,
/// `….gemspec.rz`) belongs to.
fn on_file() -> Need {
    Need::Custom(|p: &Params| {
        vec![Access {
            action: Action::Read,
            package: Some(gem_of_file(p.get("file")).unwrap_or_default().to_string()),
            repository: None,
        }]
    })
}

/// The gem name of a file name: everything before the first `-` followed
/// by a digit (a version starts with a digit, and a name never has a `-`
/// followed by a digit: push refuses it, so the split is exact).
pub fn gem_of_file(file: &str) -> Option<&str> {
    let stem = file
        .strip_suffix(".gem")
        .or_else(|| file.strip_suffix(".gemspec.rz"))?;
    let bytes = stem.as_bytes();
    let at = (0..bytes.len().saturating_sub(1))
        .find(|&i| bytes[i] == b'-' && bytes[i + 1].is_ascii_digit())?;
    Some(&stem[..at])
}

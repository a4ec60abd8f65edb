//! `catalog`: reads scoped to the repository, writes through the policy.

use super::{StoreData, done};
use crate::runtime::bindings::v0_3::wharf::plugin::catalog as wit;
use crate::runtime::bindings::v0_3::wharf::plugin::types::StoreError;
use crate::store::catalog::{self as cat, MAX_PAGE, Write};

impl From<cat::VersionRow> for wit::VersionRow {
    fn from(v: cat::VersionRow) -> Self {
        wit::VersionRow {
            package: v.package,
            version: v.version,
            metadata_json: v.metadata,
            yanked: v.yanked,
            deprecated: v.deprecated,
            published_at: v.published_at.max(0) as u64,
        }
    }
}

impl From<wit::VersionRow> for cat::VersionRow {
    fn from(v: wit::VersionRow) -> Self {
        cat::VersionRow {
            package: v.package,
            version: v.version,
            metadata: v.metadata_json,
            yanked: v.yanked,
            deprecated: v.deprecated,
            published_at: 0,
        }
    }
}

impl From<cat::Asset> for wit::Asset {
    fn from(a: cat::Asset) -> Self {
        wit::Asset {
            path: a.path,
            blake3: a.blake3,
            content_type: a.content_type,
            metadata_json: a.metadata,
            added_at: a.added_at.max(0) as u64,
        }
    }
}

impl From<wit::Asset> for cat::Asset {
    fn from(a: wit::Asset) -> Self {
        cat::Asset {
            path: a.path,
            blake3: a.blake3,
            content_type: a.content_type,
            metadata: a.metadata_json,
            added_at: 0,
        }
    }
}

impl From<wit::Owner> for cat::Owner {
    fn from(o: wit::Owner) -> Self {
        cat::Owner {
            package: o.package,
            version: o.version,
        }
    }
}

impl From<wit::Write> for Write {
    fn from(w: wit::Write) -> Self {
        match w {
            wit::Write::Publish(p) => Write::Publish(cat::Publication {
                version: p.version.into(),
                assets: p.assets.into_iter().map(Into::into).collect(),
                tags: p.tags,
            }),
            wit::Write::PutAsset((owner, asset, replace)) => Write::PutAsset {
                owner: owner.into(),
                asset: asset.into(),
                replace,
            },
            wit::Write::RemoveAsset((package, path)) => Write::RemoveAsset { package, path },
            wit::Write::SetYanked((package, version, yanked)) => Write::SetYanked {
                package,
                version,
                yanked,
            },
            wit::Write::SetDeprecated((package, version, message)) => Write::SetDeprecated {
                package,
                version,
                message,
            },
            wit::Write::SetTag((package, tag, version)) => Write::SetTag {
                package,
                tag,
                version,
            },
            wit::Write::RemoveTag((package, tag)) => Write::RemoveTag { package, tag },
            wit::Write::DeleteVersion((package, version)) => {
                Write::DeleteVersion { package, version }
            }
            wit::Write::DeletePackage(package) => Write::DeletePackage { package },
            wit::Write::KvPut((package, key, value)) => Write::KvPut {
                package,
                key,
                value,
            },
            wit::Write::KvInsert((package, key, value)) => Write::KvInsert {
                package,
                key,
                value,
            },
            wit::Write::KvDelete((package, key)) => Write::KvDelete { package, key },
        }
    }
}

type Res<T> = wasmtime::Result<Result<T, StoreError>>;

fn rows<T, U: From<T>>(r: Result<Vec<T>, crate::store::StoreError>) -> Res<Vec<U>> {
    Ok(r.map(|v| v.into_iter().map(U::from).collect())
        .map_err(Into::into))
}

impl wit::Host for StoreData {
    async fn apply(&mut self, writes: Vec<wit::Write>) -> Res<()> {
        let scope = self.scope()?;
        done(
            scope
                .apply(writes.into_iter().map(Into::into).collect())
                .await,
        )
    }

    async fn has_package(&mut self, package: String) -> Res<bool> {
        let scope = self.scope()?;
        done(
            scope
                .services
                .catalog
                .has_package(&scope.repo, &package)
                .await,
        )
    }

    async fn get_version(
        &mut self,
        package: String,
        version: String,
    ) -> Res<Option<wit::VersionRow>> {
        let scope = self.scope()?;
        let r = scope
            .services
            .catalog
            .get_version(&scope.repo, &package, &version);
        Ok(r.await.map(|v| v.map(Into::into)).map_err(Into::into))
    }

    async fn list_versions(
        &mut self,
        package: String,
        after: Option<String>,
        limit: u32,
    ) -> Res<Vec<wit::VersionRow>> {
        let scope = self.scope()?;
        let r = scope.services.catalog.list_versions(
            &scope.repo,
            &package,
            after.as_deref(),
            limit.min(MAX_PAGE),
        );
        rows(r.await)
    }

    async fn find_asset(&mut self, path: String) -> Res<Option<wit::Asset>> {
        let scope = self.scope()?;
        let r = scope.services.catalog.find_asset(&scope.repo, &path);
        Ok(r.await.map(|a| a.map(Into::into)).map_err(Into::into))
    }

    async fn list_assets(
        &mut self,
        owner: wit::Owner,
        prefix: Option<String>,
        after: Option<String>,
        limit: u32,
    ) -> Res<Vec<wit::Asset>> {
        let scope = self.scope()?;
        let owner = owner.into();
        let r = scope.services.catalog.list_assets(
            &scope.repo,
            &owner,
            prefix.as_deref(),
            after.as_deref(),
            limit.min(MAX_PAGE),
        );
        rows(r.await)
    }

    async fn get_tag(&mut self, package: String, tag: String) -> Res<Option<String>> {
        let scope = self.scope()?;
        done(
            scope
                .services
                .catalog
                .get_tag(&scope.repo, &package, &tag)
                .await,
        )
    }

    async fn list_tags(
        &mut self,
        package: String,
        after: Option<String>,
        limit: u32,
    ) -> Res<Vec<(String, String)>> {
        let scope = self.scope()?;
        let r = scope.services.catalog.list_tags(
            &scope.repo,
            &package,
            after.as_deref(),
            limit.min(MAX_PAGE),
        );
        done(r.await)
    }

    async fn list_packages(
        &mut self,
        prefix: Option<String>,
        after: Option<String>,
        limit: u32,
    ) -> Res<Vec<String>> {
        let scope = self.scope()?;
        let r = scope.services.catalog.list_packages(
            &scope.repo,
            prefix.as_deref(),
            after.as_deref(),
            limit.min(10_000),
        );
        done(r.await)
    }

    async fn search(
        &mut self,
        text: String,
        offset: u32,
        limit: u32,
    ) -> Res<(u64, Vec<wit::VersionRow>)> {
        let scope = self.scope()?;
        let r = scope
            .services
            .catalog
            .search(&scope.repo, &text, offset, limit.min(MAX_PAGE));
        Ok(r.await
            .map(|(total, rows)| (total, rows.into_iter().map(Into::into).collect()))
            .map_err(Into::into))
    }

    async fn kv_get(&mut self, package: Option<String>, key: String) -> Res<Option<Vec<u8>>> {
        let scope = self.scope()?;
        let r = scope
            .services
            .catalog
            .kv_get(&scope.repo, package.as_deref(), &key);
        done(r.await)
    }
}

use crate::bindings::wharf::plugin as wit;

pub mod blobs {
    use super::wit;
    use crate::types::StoreError;
    use crate::{BlobRead, Body};

    pub use wit::blobs::{
        abort_upload, finish_upload, put_bytes, start_upload, stat, upload_offset,
    };

    pub fn open(blake3: &str) -> Result<BlobRead, StoreError> {
        wit::blobs::open(blake3).map(BlobRead::from_host)
    }

    pub fn append_upload(
        id: &str,
        body: &Body,
        expect_offset: Option<u64>,
    ) -> Result<u64, StoreError> {
        wit::blobs::append_upload(id, body.host(), expect_offset)
    }
}

/// The catalog imports, wrapped by `super::catalog`.
pub mod raw {
    pub use super::wit::catalog::{
        apply, find_asset, get_tag, get_version, has_package, kv_get, list_assets, list_packages,
        list_tags, list_versions, search,
    };
}

/// The owners and tokens imports, wrapped by `super::owners` and `super::tokens`.
pub mod raw_owners {
    pub use super::wit::owners::{change, exists, list};
}

pub mod raw_group {
    pub use super::wit::group::read;
}

pub mod raw_signing {
    pub use super::wit::signing::{clearsign, public_key, sign_detached};
}

pub mod raw_tokens {
    pub use super::wit::tokens::{create, list, revoke, revoke_current};
}

pub mod auth {
    pub use super::wit::auth::{login, may, whoami};
}

pub mod log {
    use super::wit::log::{Level, log};
    pub fn debug(message: &str) {
        log(Level::Debug, message)
    }
    pub fn info(message: &str) {
        log(Level::Info, message)
    }
    pub fn warn(message: &str) {
        log(Level::Warn, message)
    }
    pub fn error(message: &str) {
        log(Level::Error, message)
    }
}

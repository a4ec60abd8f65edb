//! Native builds: the same functions as the WIT imports, served by the mock host.

pub mod blobs {
    use crate::mock::imp;
    use crate::types::{BlobInfo, DigestSet, StoreError};
    use crate::{BlobRead, Body};

    pub use imp::{abort_upload, put_bytes, start_upload, stat, upload_offset};

    pub fn open(blake3: &str) -> Result<BlobRead, StoreError> {
        imp::open(blake3).map(BlobRead::from_host)
    }
    pub fn append_upload(
        id: &str,
        body: &Body,
        expect_offset: Option<u64>,
    ) -> Result<u64, StoreError> {
        imp::append_upload(id, body.host(), expect_offset)
    }
    pub fn finish_upload(
        id: &str,
        want: DigestSet,
        expect_sha256: Option<&str>,
    ) -> Result<BlobInfo, StoreError> {
        imp::finish_upload(id, want, expect_sha256)
    }
}

/// The catalog imports, wrapped by `super::catalog`.
pub mod raw {
    pub use crate::mock::imp::{
        apply, find_asset, get_tag, get_version, has_package, kv_get, list_assets, list_packages,
        list_tags, list_versions, search,
    };
}

/// The owners and tokens imports, wrapped by `super::owners` and `super::tokens`.
pub mod raw_owners {
    pub use crate::mock::imp::{change_owners as change, owner_exists as exists, owners as list};
}

pub mod raw_group {
    pub use crate::mock::imp::group_read as read;
}

pub mod raw_signing {
    pub use crate::mock::imp::{clearsign, public_key, sign_detached};
}

pub mod raw_tokens {
    pub use crate::mock::imp::{
        create_token as create, revoke_current_token as revoke_current, revoke_token as revoke,
        tokens as list,
    };
}

pub mod auth {
    pub use crate::mock::imp::{login, may, whoami};
}

pub mod log {
    use crate::mock::imp::log;
    pub fn debug(message: &str) {
        log(message)
    }
    pub fn info(message: &str) {
        log(message)
    }
    pub fn warn(message: &str) {
        log(message)
    }
    pub fn error(message: &str) {
        log(message)
    }
}

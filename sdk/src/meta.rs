//! Typed views of the JSON the catalog and the configuration carry.

use crate::HttpError;
use crate::types::{Asset, RepoInfo, VersionRow};
use serde::de::DeserializeOwned;

/// A record carrying format metadata as JSON text.
pub trait Meta {
    fn meta_json(&self) -> &str;

    /// The metadata as `T`; a row the plugin cannot read is a 500, since only
    /// the plugin wrote it.
    fn meta<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_str(self.meta_json())
            .map_err(|e| HttpError::new(500, format!("unreadable catalog metadata: {e}")))
    }
}

impl Meta for VersionRow {
    fn meta_json(&self) -> &str {
        &self.metadata_json
    }
}

impl Meta for Asset {
    fn meta_json(&self) -> &str {
        &self.metadata_json
    }
}

impl RepoInfo {
    /// The repository's format settings as `T` (missing keys take `T`'s
    /// defaults; a wrong type is the operator's error, reported as a 500).
    pub fn settings<T: DeserializeOwned + Default>(&self) -> Result<T, HttpError> {
        if self.settings_json.trim().is_empty() {
            return Ok(T::default());
        }
        serde_json::from_str(&self.settings_json)
            .map_err(|e| HttpError::new(500, format!("invalid repository settings: {e}")))
    }
}

//! `multipart/form-data` bodies (PyPI's upload form): text fields come back to
//! the plugin, file parts stream into the blob store.

use super::body::IncomingBody;
use super::capability::RequestScope;
use crate::store::StoreError;
use crate::store::digest::{BlobInfo, Want};

/// One part of the form, as the plugin receives it.
pub enum Part {
    Field(String, String),
    File {
        name: String,
        filename: String,
        content_type: Option<String>,
        blob: BlobInfo,
    },
}

pub async fn ingest(
    scope: &mut RequestScope,
    body: &mut IncomingBody,
    want: Want,
) -> Result<Vec<Part>, StoreError> {
    let invalid = |e: multer::Error| StoreError::Invalid(format!("invalid multipart body: {e}"));
    let content_type = body.content_type.clone().unwrap_or_default();
    let boundary = multer::parse_boundary(&content_type).map_err(invalid)?;
    let services = scope.services.clone();
    let max = services.settings.max_body_bytes;
    let mut form = multer::Multipart::new(body.take(None), boundary);
    let mut parts = Vec::new();
    while let Some(field) = form.next_field().await.map_err(invalid)? {
        let name = field.name().unwrap_or_default().to_string();
        match field.file_name().map(str::to_string) {
            Some(filename) => {
                let content_type = field.content_type().map(|m| m.to_string());
                let info = services.blobs.ingest(field, want, None, max).await?;
                let blob = scope.stored(info);
                parts.push(Part::File {
                    name,
                    filename,
                    content_type,
                    blob,
                });
            }
            None => {
                let text = field.text().await.map_err(invalid)?;
                scope.charge(text.len())?;
                parts.push(Part::Field(name, text));
            }
        }
    }
    Ok(parts)
}

//! `PUT <pkg>/-rev/<rev>`: npm sends a package's document back to change it,
//! the couch way. A document with `versions` is a pruned packument (`npm
//! unpublish <pkg>@<version>`); one with `maintainers` and no `versions` is
//! an owner change (`npm owner add|rm`). The unpublish's own `maintainers`
//! are the ones npm just read: they are not applied, so an owner change made
//! in between is not undone. Revisions are not checked (the host serializes
//! writes).

use serde_json::{Map, Value};
use wharf_sdk::{HttpError, Request, Response};

use crate::{DOCUMENT_LIMIT, names, owners, unpublish};

pub fn put(req: &mut Request) -> Result<Response, HttpError> {
    let name = req.param("pkg").to_string();
    names::validate(&name)?;
    let doc: Map<String, Value> =
        serde_json::from_slice(&req.take_body()?.read_to_end(DOCUMENT_LIMIT)?)?;
    if doc
        .get("name")
        .and_then(Value::as_str)
        .is_some_and(|n| n != name)
    {
        return Err(HttpError::bad_request(
            "the package name in the document does not match the URL",
        ));
    }
    match (
        doc.contains_key("versions"),
        doc.contains_key("maintainers"),
    ) {
        (true, _) => unpublish::versions(&name, &doc)?,
        (false, true) => owners::update(&name, &doc)?,
        (false, false) => {
            return Err(HttpError::bad_request(
                "the document has neither versions nor maintainers",
            ));
        }
    }
    Ok(crate::ok())
}

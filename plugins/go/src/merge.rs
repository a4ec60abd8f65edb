//! A group's version lists: `@v/list` of a module that several members
//! hold lists every member's versions, so `go get m@latest` and version
//! queries see them all, and `@latest` is the best of theirs; each `.info`,
//! `.mod` and `.zip` then comes from the first member that has it. A list line that is not a version (a proxy's
//! upstream is not trusted) is left out, as the go command leaves it out.

use std::collections::BTreeSet;

use wharf_sdk::types::MemberAnswer;
use wharf_sdk::{HttpError, Request, Response};

use crate::module::Version;

/// `GET {module}/@v/list`: the union, in version order.
pub fn list(_: &Request, answers: Vec<MemberAnswer>) -> Result<Response, HttpError> {
    let versions: BTreeSet<Version> = answers
        .iter()
        .flat_map(|answer| answer.body.split(|&b| b == b'\n'))
        .filter_map(|line| std::str::from_utf8(line).ok())
        .filter_map(|line| Version::parse(line.trim()).ok())
        .collect();
    let body: String = versions.iter().map(|v| format!("{v}\n")).collect();
    Ok(Response::text(200, body))
}

/// `GET {module}/@latest`: the member answer the go command would pick
/// from their versions together (a release over a pre-release over a
/// pseudo-version, then the highest; the earlier member on a tie).
pub fn latest(_: &Request, answers: Vec<MemberAnswer>) -> Result<Response, HttpError> {
    let rank = |answer: &MemberAnswer| {
        let info: serde_json::Value = serde_json::from_slice(&answer.body).ok()?;
        let version = Version::parse(info["Version"].as_str()?).ok()?;
        Some((!version.is_pseudo(), !version.is_prerelease(), version))
    };
    let mut best: Option<(_, &MemberAnswer)> = None;
    for answer in &answers {
        let Some(ranked) = rank(answer) else { continue };
        if best.as_ref().is_none_or(|(top, _)| ranked > *top) {
            best = Some((ranked, answer));
        }
    }
    let (_, answer) =
        best.ok_or_else(|| HttpError::new(502, "no member answered with a version for @latest"))?;
    Ok(Response::bytes(
        200,
        "application/json",
        answer.body.clone(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_sdk::mock::{self, TestRequest};
    use wharf_sdk::types::Method;

    fn answer(repository: &str, body: &str) -> MemberAnswer {
        mock::member_answer(repository, "text/plain; charset=utf-8", body)
    }

    fn merge(answers: Vec<MemberAnswer>) -> (u16, String) {
        merge_at("example.com/greet/@v/list", answers)
    }

    fn merge_at(path: &str, answers: Vec<MemberAnswer>) -> (u16, String) {
        let merged = TestRequest::new(Method::Get, path).merge::<crate::Go>(answers);
        (merged.status, String::from_utf8(merged.body).unwrap())
    }

    #[test]
    fn every_members_versions_are_listed_once_in_version_order() {
        let hosted = answer("go", "v1.0.0\nv1.10.0\n");
        let proxy = answer("go-proxy", "v1.2.0\nv1.0.0\nv2.0.0-rc.1\n");
        let (status, body) = merge(vec![hosted, proxy]);
        assert_eq!(status, 200);
        assert_eq!(body, "v1.0.0\nv1.2.0\nv1.10.0\nv2.0.0-rc.1\n");
    }

    #[test]
    fn lines_that_are_not_versions_are_left_out() {
        let hosted = answer("go", "v1.0.0\n");
        let mut proxy = answer("go-proxy", "<html>\nv1.1.0 extra\n\u{0}\n");
        proxy.body.extend_from_slice(b"\xff\xfe\nv1.3.0\n");
        let (_, body) = merge(vec![hosted, proxy]);
        assert_eq!(body, "v1.0.0\nv1.3.0\n");
    }

    #[test]
    fn latest_is_the_best_release_of_any_member() {
        let info = |v: &str| format!(r#"{{"Version":"{v}","Time":"2026-01-01T00:00:00Z"}}"#);
        let hosted = answer("go", &info("v1.2.0-rc.1"));
        let proxy = answer("go-proxy", &info("v1.1.0"));
        let broken = answer("go-other", "not json");
        let (status, body) = merge_at("example.com/greet/@latest", vec![hosted, proxy, broken]);
        assert_eq!(status, 200);
        assert!(body.contains("v1.1.0"), "{body}");
    }
}

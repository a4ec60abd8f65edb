//! The credential parser every request goes through, the registry-token
//! verifier and a token request's scope: none may panic, and the challenge
//! built from a name stays one valid header with one realm.
//! Input: an `Authorization` value, then optionally `\n` and a scope.
#![no_main]

use std::sync::OnceLock;
use wharf::auth::{Action, credentials};
use wharf::registry_token::{self, TokenKeys};

fn keys() -> &'static TokenKeys {
    static KEYS: OnceLock<TokenKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        TokenKeys::load_or_create(&dir.path().join("token.key")).unwrap()
    })
}

libfuzzer_sys::fuzz_target!(
    init: wharf_fuzz::seeds::write_if_asked("credentials"),
    |data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (authorization, scope) = text.split_once('\n').unwrap_or((text, ""));
    if let Ok(credentials::Credentials::RegistryToken(token)) = credentials::parse(authorization) {
        assert!(keys().verify(&token).is_none(), "a forged token verified");
    }
    if let Some((name, _actions)) = registry_token::parse_scope(scope) {
        let needs = [Action::Delete, Action::Write];
        let challenge = registry_token::challenge("http://registry.test", Some(&name), &needs);
        assert!(http::HeaderValue::from_str(&challenge).is_ok(), "{challenge:?}");
        assert_eq!(challenge.matches("realm=").count(), 1, "{challenge:?}");
    }
});

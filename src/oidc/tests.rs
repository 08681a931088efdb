//! Behaviour tests of the relying party against a canned provider on 127.0.0.1.

mod cache;
mod fcplus;
mod proconnect;
pub(crate) mod support;

use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use super::util::now_secs;
use super::*;
use support::*;

struct Fixture {
    op: TestProvider,
    client: OidcClient,
    key: TestKey,
    params: AuthParams,
}

fn fixture(
    federation: Federation,
    alg: SigningAlg,
    tweak: impl FnOnce(&mut OidcSettings),
) -> Fixture {
    let op = TestProvider::start();
    let key = match alg {
        SigningAlg::ES256 => TestKey::es256("es-1"),
        SigningAlg::RS256 | SigningAlg::HS256 => TestKey::rs256("rs-1"),
    };
    // Like FranceConnect: both an ES256 and an RS256 key are published; selection is by kid.
    let other = match alg {
        SigningAlg::ES256 => TestKey::rs256("rs-other"),
        SigningAlg::RS256 | SigningAlg::HS256 => TestKey::es256("es-other"),
    };
    op.set_keys(&[&other, &key]);
    let mut settings = settings_for(federation, &op.issuer);
    settings.id_token_alg = alg;
    tweak(&mut settings);
    let client = OidcClient::new(settings).unwrap();
    let params = AuthParams {
        state: "5".repeat(64),
        nonce: "n0nce".repeat(10),
        code_verifier: None,
    };
    Fixture {
        op,
        client,
        key,
        params,
    }
}

fn fc() -> Fixture {
    fixture(Federation::FranceConnect, SigningAlg::ES256, |_| {})
}

impl Fixture {
    fn id_token(&self, edit: impl FnOnce(&mut Value)) -> String {
        let mut claims = self.op.id_claims(&self.params.nonce);
        edit(&mut claims);
        self.key.sign(&claims)
    }

    fn signed_userinfo(&self, edit: impl FnOnce(&mut Value)) -> Canned {
        let mut claims = self.op.userinfo_claims();
        edit(&mut claims);
        Canned::jwt(&self.key.sign(&claims))
    }

    fn login(&self, id_token: &str, userinfo: Canned) -> Result<LoginResult, OidcError> {
        {
            let mut st = self.op.state.lock().unwrap();
            st.token = Some(token_answer(id_token));
            st.userinfo = Some(userinfo);
        }
        self.client.complete_login("the-code", &self.params)
    }

    fn login_with_id_token(&self, id_token: &str) -> Result<LoginResult, OidcError> {
        let ui = self.signed_userinfo(|_| {});
        self.login(id_token, ui)
    }

    fn jwks_fetches(&self) -> usize {
        self.op.requests_to("/jwks").len()
    }
}

fn invalid_token(r: Result<LoginResult, OidcError>, needle: &str) {
    match r {
        Err(OidcError::InvalidToken(m)) => assert!(m.contains(needle), "{m:?} lacks {needle:?}"),
        other => panic!("expected InvalidToken containing {needle:?}, got {other:?}"),
    }
}

// ---- happy paths ---------------------------------------------------------------------------

#[test]
fn franceconnect_es256_login_returns_verified_merged_claims() {
    let f = fc();
    let id = f.id_token(|_| {});
    let r = f.login(&id, f.signed_userinfo(|_| {})).unwrap();
    assert_eq!(r.sub, "a1b2c3v1");
    assert_eq!(r.acr, "eidas1");
    assert_eq!(r.id_token, id);
    // userinfo wins for identity claims; protocol claims are gone; acr/auth_time kept.
    assert_eq!(r.claims["given_name"], "Angela Claire Louise");
    assert_eq!(r.claims["family_name"], "DUBOIS");
    assert_eq!(r.claims["acr"], "eidas1");
    assert!(r.claims.contains_key("auth_time"));
    for gone in ["iss", "aud", "exp", "iat", "nonce"] {
        assert!(!r.claims.contains_key(gone), "{gone} leaked into claims");
    }
    // The userinfo call carried the access token as Bearer.
    let ui = f.op.requests_to("/userinfo");
    assert_eq!(ui[0].header("authorization"), Some("Bearer at-123"));
}

#[test]
fn generic_rs256_login_with_json_userinfo_succeeds() {
    let f = fixture(Federation::Generic, SigningAlg::RS256, |s| {
        s.userinfo = UserinfoMode::Json;
    });
    let id = f.id_token(|c| c["acr"] = json!("eidas1-mfa"));
    let ui = Canned::json(
        200,
        &json!({"sub": "a1b2c3v1", "usual_name": "DUBOIS", "acr": "forged"}),
    );
    let r = f.login(&id, ui).unwrap();
    assert_eq!(r.acr, "eidas1-mfa");
    assert_eq!(r.claims["usual_name"], "DUBOIS");
    // userinfo cannot override the authentication context of the id_token.
    assert_eq!(r.claims["acr"], "eidas1-mfa");
}

#[test]
fn userinfo_off_uses_id_token_claims_only() {
    let f = fixture(Federation::Generic, SigningAlg::ES256, |s| {
        s.userinfo = UserinfoMode::Skip
    });
    let r = f
        .login(&f.id_token(|_| {}), Canned::json(500, &json!({})))
        .unwrap();
    assert_eq!(r.claims["given_name"], "Angela");
    assert!(f.op.requests_to("/userinfo").is_empty());
}

// ---- id_token header and signature ---------------------------------------------------------

#[test]
fn id_token_with_alg_none_is_rejected() {
    let f = fc();
    let token = unsigned_token(
        &json!({"alg": "none", "typ": "JWT"}),
        &f.op.id_claims(&f.params.nonce),
    );
    invalid_token(f.login_with_id_token(&token), "alg none");
}

#[test]
fn hs256_token_keyed_with_the_public_key_is_rejected_for_an_es256_client() {
    let f = fc();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(f.key.kid.clone());
    let token = jsonwebtoken::encode(
        &header,
        &f.op.id_claims(&f.params.nonce),
        &EncodingKey::from_secret(&f.key.public_bytes),
    )
    .unwrap();
    invalid_token(f.login_with_id_token(&token), "algorithm confusion");
}

#[test]
fn rs256_token_is_rejected_for_an_es256_client_even_with_a_published_key() {
    let f = fc();
    let token = TestKey::rs256("rs-other").sign(&f.op.id_claims(&f.params.nonce));
    invalid_token(f.login_with_id_token(&token), "registered for ES256");
}

#[test]
fn forged_signature_under_a_known_kid_is_rejected_after_one_refetch() {
    let f = fc();
    let forger = TestKey::es256(&f.key.kid); // same kid, other key
    let token = forger.sign(&f.op.id_claims(&f.params.nonce));
    invalid_token(f.login_with_id_token(&token), "signature does not verify");
    assert_eq!(f.jwks_fetches(), 2, "initial fetch + one forced refetch");
}

#[test]
fn unknown_kid_triggers_one_jwks_refetch_and_succeeds_after_rotation() {
    let f = fc();
    f.client.metadata().unwrap();
    assert_eq!(f.jwks_fetches(), 1);
    // The provider rotates: new kid, old key removed.
    let rotated = TestKey::es256("es-2");
    f.op.set_keys(&[&rotated]);
    let token = rotated.sign(&f.op.id_claims(&f.params.nonce));
    let ui = Canned::jwt(&rotated.sign(&f.op.userinfo_claims()));
    let r = f.login(&token, ui).unwrap();
    assert_eq!(r.sub, "a1b2c3v1");
    assert_eq!(f.jwks_fetches(), 2);
}

#[test]
fn unknown_kid_twice_within_ten_seconds_does_not_refetch_again() {
    let f = fc();
    let stranger = TestKey::es256("not-published");
    let token = stranger.sign(&f.op.id_claims(&f.params.nonce));
    invalid_token(f.login_with_id_token(&token), "even after refetching");
    assert_eq!(f.jwks_fetches(), 2);
    invalid_token(f.login_with_id_token(&token), "not refetched again");
    assert_eq!(
        f.jwks_fetches(),
        2,
        "second unknown kid within 10 s must not refetch"
    );
}

// ---- id_token claims -----------------------------------------------------------------------

#[test]
fn id_token_for_another_audience_is_rejected() {
    let f = fc();
    invalid_token(
        f.login_with_id_token(&f.id_token(|c| c["aud"] = json!("client-2"))),
        "aud",
    );
}

#[test]
fn id_token_audience_array_needs_this_client_and_matching_azp() {
    let f = fc();
    let ok = f.id_token(|c| {
        c["aud"] = json!(["other", "client-1"]);
        c["azp"] = json!("client-1");
    });
    assert!(f.login_with_id_token(&ok).is_ok());
    let alone = f.id_token(|c| c["aud"] = json!(["client-1"]));
    assert!(
        f.login_with_id_token(&alone).is_ok(),
        "a one-element array needs no azp"
    );
    let bad = f.id_token(|c| {
        c["aud"] = json!(["other", "client-1"]);
        c["azp"] = json!("other");
    });
    invalid_token(f.login_with_id_token(&bad), "azp");
}

#[test]
fn id_token_with_extra_audiences_and_no_azp_is_rejected() {
    let f = fc();
    let t = f.id_token(|c| c["aud"] = json!(["other", "client-1"]));
    invalid_token(f.login_with_id_token(&t), "no azp");
}

#[test]
fn huge_or_tiny_times_never_overflow() {
    let f = fc();
    // exp far in the future (beyond i64 as a float, or i64::MAX itself): valid, no overflow.
    for exp in [json!(i64::MAX), json!(u64::MAX), json!(1e300)] {
        let t = f.id_token(|c| c["exp"] = exp.clone());
        assert!(f.login_with_id_token(&t).is_ok(), "exp {exp}");
    }
    // exp at the bottom of the range: expired, with a message (no subtraction overflow).
    for exp in [json!(i64::MIN), json!(-1e300)] {
        let t = f.id_token(|c| c["exp"] = exp.clone());
        invalid_token(f.login_with_id_token(&t), "expired");
    }
    for iat in [json!(i64::MAX), json!(1e300)] {
        let t = f.id_token(|c| c["iat"] = iat.clone());
        invalid_token(f.login_with_id_token(&t), "in the future");
    }
    let t = f.id_token(|c| c["nbf"] = json!(i64::MAX));
    invalid_token(f.login_with_id_token(&t), "not valid before");
}

#[test]
fn expired_id_token_is_rejected() {
    let f = fc();
    let t = f.id_token(|c| {
        c["iat"] = json!(now_secs() - 200);
        c["exp"] = json!(now_secs() - 120);
    });
    invalid_token(f.login_with_id_token(&t), "expired");
}

#[test]
fn id_token_expired_within_the_leeway_is_accepted() {
    let f = fc();
    let t = f.id_token(|c| c["exp"] = json!(now_secs() - 10));
    assert!(f.login_with_id_token(&t).is_ok());
}

#[test]
fn id_token_issued_in_the_future_is_rejected() {
    let f = fc();
    let t = f.id_token(|c| {
        c["iat"] = json!(now_secs() + 300);
        c["exp"] = json!(now_secs() + 360);
    });
    invalid_token(f.login_with_id_token(&t), "in the future");
}

#[test]
fn id_token_with_wrong_nonce_is_rejected() {
    let f = fc();
    let t = f.id_token(|c| c["nonce"] = json!("someone-elses-nonce-value-1234567890"));
    invalid_token(f.login_with_id_token(&t), "nonce");
}

#[test]
fn id_token_without_nonce_is_rejected() {
    let f = fc();
    let t = f.id_token(|c| {
        c.as_object_mut().unwrap().remove("nonce");
    });
    invalid_token(f.login_with_id_token(&t), "no nonce");
}

#[test]
fn id_token_from_another_issuer_is_rejected() {
    let f = fc();
    let t = f.id_token(|c| c["iss"] = json!("https://evil.example/api/v2"));
    invalid_token(f.login_with_id_token(&t), "iss");
}

#[test]
fn acr_eidas0_below_eidas1_is_rejected() {
    let f = fc();
    let t = f.id_token(|c| c["acr"] = json!("eidas0"));
    match f.login_with_id_token(&t) {
        Err(OidcError::InsufficientAcr { got, required }) => {
            assert_eq!((got.as_str(), required.as_str()), ("eidas0", "eidas1"));
        }
        other => panic!("expected InsufficientAcr, got {other:?}"),
    }
}

#[test]
fn at_hash_that_does_not_match_the_access_token_is_rejected() {
    let f = fc();
    let good = f.id_token(|c| c["at_hash"] = json!(validate::left_half_hash("at-123")));
    assert!(f.login_with_id_token(&good).is_ok());
    let bad = f.id_token(|c| c["at_hash"] = json!(validate::left_half_hash("another")));
    invalid_token(f.login_with_id_token(&bad), "at_hash");
}

// ---- userinfo ------------------------------------------------------------------------------

#[test]
fn userinfo_plain_json_is_refused_when_jwt_is_configured() {
    let f = fc();
    let ui = Canned::json(200, &f.op.userinfo_claims());
    invalid_token(
        f.login(&f.id_token(|_| {}), ui),
        "unsigned answer is refused",
    );
}

#[test]
fn userinfo_for_another_sub_is_rejected() {
    let f = fc();
    let ui = f.signed_userinfo(|c| c["sub"] = json!("somebody-else"));
    invalid_token(f.login(&f.id_token(|_| {}), ui), "sub differs");
}

#[test]
fn userinfo_jwt_for_another_audience_is_rejected() {
    let f = fc();
    let ui = f.signed_userinfo(|c| c["aud"] = json!("client-2"));
    invalid_token(f.login(&f.id_token(|_| {}), ui), "userinfo JWT: aud");
}

#[test]
fn userinfo_jwt_with_alg_none_is_rejected() {
    let f = fc();
    let ui = Canned::jwt(&unsigned_token(
        &json!({"alg": "none"}),
        &f.op.userinfo_claims(),
    ));
    invalid_token(f.login(&f.id_token(|_| {}), ui), "alg none");
}

// ---- callback ------------------------------------------------------------------------------

fn callback_client() -> OidcClient {
    OidcClient::new(settings_for(
        Federation::FranceConnect,
        "https://op.example/api/v2",
    ))
    .unwrap()
}

#[test]
fn callback_with_code_state_and_matching_iss_yields_the_code() {
    let c = callback_client();
    let cb = OidcClient::parse_callback(
        "code=abc%2Bd&state=xyz&iss=https%3A%2F%2Fop.example%2Fapi%2Fv2",
    );
    assert_eq!(cb.state.as_deref(), Some("xyz"));
    assert_eq!(c.check_callback(&cb).unwrap(), "abc+d");
}

#[test]
fn callback_without_iss_is_rejected() {
    let c = callback_client();
    let cb = OidcClient::parse_callback("code=abc&state=xyz");
    assert!(matches!(c.check_callback(&cb), Err(OidcError::BadCallback(m)) if m.contains("iss")));
}

#[test]
fn generic_callback_without_iss_is_refused_only_when_discovery_advertises_it() {
    let generic = settings_for(Federation::Generic, "https://op.example/api/v2");
    let cb = OidcClient::parse_callback("code=abc&state=xyz");
    // Advertised (metadata cached): refused at once.
    assert!(matches!(
        super::callback::check(&generic, &cb, Some(true)),
        Err(OidcError::BadCallback(m)) if m.contains("authorization_response_iss_parameter_supported")
    ));
    // Not advertised: accepted.
    assert_eq!(
        super::callback::check(&generic, &cb, Some(false)).unwrap(),
        "abc"
    );
    // Metadata not at hand: deferred, then decided on the metadata.
    assert_eq!(super::callback::check(&generic, &cb, None).unwrap(), "abc");
    let mut m = meta("https://op.example/api/v2/authorize");
    assert!(super::callback::iss_absence_allowed(&generic, &m).is_err());
    m.iss_parameter_supported = false;
    assert!(super::callback::iss_absence_allowed(&generic, &m).is_ok());
    // Present: always checked, advertised or not.
    let foreign = OidcClient::parse_callback("code=abc&state=xyz&iss=https%3A%2F%2Fevil.example");
    for advertised in [None, Some(false), Some(true)] {
        assert!(super::callback::check(&generic, &foreign, advertised).is_err());
    }
}

#[test]
fn preset_callback_without_iss_is_refused_even_if_discovery_is_silent() {
    for fed in [Federation::FranceConnect, Federation::ProConnect] {
        let s = settings_for(fed, "https://op.example/api/v2");
        let cb = OidcClient::parse_callback("code=abc&state=xyz");
        for advertised in [None, Some(false)] {
            assert!(
                super::callback::check(&s, &cb, advertised).is_err(),
                "{fed:?}"
            );
        }
        let mut m = meta("https://op.example/api/v2/authorize");
        m.iss_parameter_supported = false;
        assert!(super::callback::iss_absence_allowed(&s, &m).is_err());
    }
}

#[test]
fn callback_with_foreign_iss_is_rejected() {
    let c = callback_client();
    let cb =
        OidcClient::parse_callback("code=abc&state=xyz&iss=https%3A%2F%2Fevil.example%2Fapi%2Fv2");
    assert!(
        matches!(c.check_callback(&cb), Err(OidcError::BadCallback(m)) if m.contains("mix-up"))
    );
}

#[test]
fn callback_with_access_denied_is_a_provider_error() {
    let c = callback_client();
    let cb = OidcClient::parse_callback(
        "error=access_denied&error_description=user+authentication+aborted&state=xyz&iss=https%3A%2F%2Fop.example%2Fapi%2Fv2",
    );
    assert_eq!(
        c.check_callback(&cb),
        Err(OidcError::ProviderError {
            error: "access_denied".into(),
            description: Some("user authentication aborted".into()),
        })
    );
}

#[test]
fn callback_with_duplicated_state_or_code_is_rejected() {
    let c = callback_client();
    let iss = "iss=https%3A%2F%2Fop.example%2Fapi%2Fv2";
    for q in [
        format!("code=a&state=x&state=y&{iss}"),
        format!("code=a&code=b&state=x&{iss}"),
        format!("code=a&state=x&{iss}&{iss}"),
    ] {
        let cb = OidcClient::parse_callback(&q);
        assert!(
            matches!(c.check_callback(&cb), Err(OidcError::BadCallback(m)) if m.contains("more than once")),
            "{q}"
        );
    }
}

#[test]
fn callback_without_code_is_rejected() {
    let c = callback_client();
    let cb = OidcClient::parse_callback("state=xyz&iss=https%3A%2F%2Fop.example%2Fapi%2Fv2");
    assert!(matches!(c.check_callback(&cb), Err(OidcError::BadCallback(m)) if m.contains("code")));
}

// ---- authorize and logout URLs -------------------------------------------------------------

fn meta(authz: &str) -> ProviderMetadata {
    ProviderMetadata {
        issuer: "https://op.example/api/v2".into(),
        authorization_endpoint: authz.into(),
        token_endpoint: "https://op.example/api/v2/token".into(),
        userinfo_endpoint: None,
        end_session_endpoint: Some("https://op.example/api/v2/session/end".into()),
        revocation_endpoint: None,
        jwks_uri: "https://op.example/api/v2/jwks".into(),
        iss_parameter_supported: true,
    }
}

fn query_pairs(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

#[test]
fn franceconnect_authorize_url_has_exactly_the_seven_parameters_and_no_pkce() {
    let mut s = settings_for(Federation::FranceConnect, "https://op.example/api/v2");
    s.pkce = true; // even if misconfigured, FranceConnect never gets PKCE
    let c = OidcClient::new(s).unwrap();
    let p = AuthParams {
        state: "st".into(),
        nonce: "no".into(),
        code_verifier: Some("v".repeat(43)),
    };
    let url = c.authorize_url(&meta("https://op.example/api/v2/authorize"), &p);
    let pairs = query_pairs(&url);
    let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "nonce",
            "acr_values"
        ]
    );
    assert_eq!(pairs[2].1, "https://rp.example/oidc/callback");
    assert_eq!(pairs[3].1, "openid given_name family_name");
    assert_eq!(pairs[6].1, "eidas1");
    assert!(url.contains("scope=openid%20given_name%20family_name"));
    assert!(url.starts_with("https://op.example/api/v2/authorize?response_type=code&"));
}

#[test]
fn generic_authorize_url_with_pkce_sends_an_s256_challenge_and_keeps_the_endpoint_query() {
    let mut s = settings_for(Federation::Generic, "https://op.example/api/v2");
    s.pkce = true;
    let c = OidcClient::new(s).unwrap();
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let p = AuthParams {
        state: "st".into(),
        nonce: "no".into(),
        code_verifier: Some(verifier.into()),
    };
    let url = c.authorize_url(&meta("https://op.example/authorize?tenant=a"), &p);
    let pairs = query_pairs(&url);
    assert_eq!(pairs[0], ("tenant".into(), "a".into()));
    assert!(pairs.contains(&(
        "code_challenge".into(),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()
    )));
    assert!(pairs.contains(&("code_challenge_method".into(), "S256".into())));
    assert!(
        !pairs.iter().any(|(k, _)| k == "acr_values"),
        "no acr_values unless configured"
    );
}

#[test]
fn end_session_url_carries_hint_state_and_exact_post_logout_uri() {
    let c = callback_client();
    let url = c
        .end_session_url(&meta("https://op.example/a"), "eyJ.hint.sig", "st")
        .unwrap();
    assert_eq!(
        query_pairs(&url),
        [
            ("id_token_hint".into(), "eyJ.hint.sig".into()),
            ("state".into(), "st".into()),
            (
                "post_logout_redirect_uri".into(),
                "https://rp.example/oidc/logged-out".into()
            )
        ]
    );
    let mut m = meta("https://op.example/a");
    m.end_session_endpoint = None;
    assert!(c.end_session_url(&m, "h", "s").is_none());
}

// ---- discovery -----------------------------------------------------------------------------

#[test]
fn metadata_is_cached_after_the_first_fetch() {
    let f = fc();
    assert!(f.client.cached_metadata().is_none());
    let m = f.client.metadata().unwrap();
    assert_eq!(m.token_endpoint, format!("{}/token", f.op.issuer));
    assert!(f.client.cached_metadata().is_some());
    f.client.metadata().unwrap();
    assert_eq!(f.op.requests_to("/openid-configuration").len(), 1);
}

#[test]
fn discovery_issuer_mismatch_is_a_protocol_error() {
    let f = fc();
    f.op.state.lock().unwrap().discovery_issuer = Some(format!("{}/", f.op.issuer));
    assert!(
        matches!(f.client.metadata(), Err(OidcError::Protocol(m)) if m.contains("announces issuer"))
    );
    assert!(f.client.cached_metadata().is_none());
}

#[test]
fn discovery_served_as_octet_stream_is_rejected() {
    let f = fc();
    f.op.state.lock().unwrap().discovery_content_type = Some("application/octet-stream".into());
    assert!(
        matches!(f.client.metadata(), Err(OidcError::Protocol(m)) if m.contains("Content-Type"))
    );
}

// ---- token endpoint ------------------------------------------------------------------------

#[test]
fn token_endpoint_401_maps_to_token_refused_without_secrets() {
    let f = fc();
    let refusal = Canned::json(
        401,
        &json!({"error": "invalid_client",
        "error_description": "client authentication failed (invalid secret provided)\n\u{1b}[31m"}),
    );
    f.op.state.lock().unwrap().token = Some(refusal);
    let err = f.client.complete_login("the-code", &f.params).unwrap_err();
    let OidcError::TokenRefused(m) = &err else {
        panic!("{err:?}")
    };
    assert!(
        m.contains("invalid_client") && m.contains("invalid secret provided"),
        "{m}"
    );
    // The hint names the provider keys as the running server writes them.
    use crate::directives::registry::render;
    let on = |syntax| render(m, syntax);
    assert!(
        on(crate::directives::Syntax::Apache)
            .contains("check ClientID, ClientSecretFile and TokenAuth for this provider"),
        "{m:?}"
    );
    assert!(
        on(crate::directives::Syntax::Nginx)
            .contains("check client_id, client_secret_file and token_auth for this provider"),
        "{m:?}"
    );
    assert!(
        !m.contains('\n') && !m.contains('\u{1b}'),
        "control characters must be escaped: {m:?}"
    );
    let shown = err.to_string();
    for secret in ["the-code", "s3cret", &f.params.nonce] {
        assert!(!shown.contains(secret), "{shown} leaks {secret}");
    }
}

#[test]
fn token_endpoint_5xx_is_unavailable() {
    let f = fc();
    f.op.state.lock().unwrap().token = Some(Canned::json(503, &json!({})));
    assert!(matches!(
        f.client.complete_login("c", &f.params),
        Err(OidcError::Unavailable(_))
    ));
}

#[test]
fn client_secret_post_sends_credentials_in_the_body_only() {
    let f = fc();
    f.login_with_id_token(&f.id_token(|_| {})).unwrap();
    let req = &f.op.requests_to("/token")[0];
    assert_eq!(req.method, "POST");
    assert!(req
        .header("content-type")
        .unwrap()
        .starts_with("application/x-www-form-urlencoded"));
    assert_eq!(req.header("authorization"), None);
    assert_eq!(
        req.form(),
        [
            ("grant_type".into(), "authorization_code".into()),
            ("code".into(), "the-code".into()),
            (
                "redirect_uri".into(),
                "https://rp.example/oidc/callback".into()
            ),
            ("client_id".into(), "client-1".into()),
            ("client_secret".into(), "s3cret value&".into())
        ]
    );
}

#[test]
fn client_secret_basic_sends_the_header_only_and_pkce_verifier() {
    let mut f = fixture(Federation::Generic, SigningAlg::ES256, |s| {
        s.token_auth = TokenAuth::ClientSecretBasic;
        s.pkce = true;
    });
    f.params.code_verifier = Some("v".repeat(43));
    f.login(
        &f.id_token(|_| {}),
        Canned::json(200, &json!({"sub": "a1b2c3v1"})),
    )
    .unwrap();
    let req = &f.op.requests_to("/token")[0];
    // base64("client-1:s3cret+value%26")
    assert_eq!(
        req.header("authorization"),
        Some("Basic Y2xpZW50LTE6czNjcmV0K3ZhbHVlJTI2")
    );
    let form = req.form();
    assert!(
        !form
            .iter()
            .any(|(k, _)| k == "client_secret" || k == "client_id"),
        "{form:?}"
    );
    assert!(form.contains(&("code_verifier".into(), "v".repeat(43))));
}

// ---- availability --------------------------------------------------------------------------

#[test]
fn unreachable_provider_is_unavailable_within_the_timeout() {
    // Accepts connections (kernel backlog) but never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut s = settings_for(
        Federation::FranceConnect,
        &format!("http://{}/api/v2", silent.local_addr().unwrap()),
    );
    s.http_timeout = Duration::from_millis(400);
    let c = OidcClient::new(s).unwrap();
    let start = Instant::now();
    assert!(matches!(c.metadata(), Err(OidcError::Unavailable(_))));
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn refused_connection_is_unavailable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = OidcClient::new(settings_for(
        Federation::FranceConnect,
        &format!("http://127.0.0.1:{port}/api/v2"),
    ))
    .unwrap();
    assert!(matches!(c.metadata(), Err(OidcError::Unavailable(m)) if m.contains("provider test")));
}

// ---- control characters ----------------------------------------------------------------

#[test]
fn acr_outside_printable_ascii_is_refused_naming_the_cause() {
    let f = fc();
    for bad in ["eidas1\r\nX-Injected: 1", "eidas1\u{0}", "eidas 1", ""] {
        let t = f.id_token(|c| c["acr"] = json!(bad));
        invalid_token(f.login_with_id_token(&t), "printable ASCII");
    }
}

#[test]
fn sub_with_control_characters_is_refused_not_repaired() {
    let f = fc();
    let t = f.id_token(|c| c["sub"] = json!("user\u{0}1"));
    invalid_token(f.login_with_id_token(&t), "sub");
}

#[test]
fn auth_time_saturates_instead_of_overflowing() {
    let of = |v: Value| {
        let mut m = serde_json::Map::new();
        m.insert("auth_time".into(), v);
        super::auth_time(&m)
    };
    assert_eq!(of(json!(1_700_000_000)), Some(1_700_000_000));
    assert_eq!(of(json!(-5)), Some(0));
    assert_eq!(of(json!(i64::MIN)), Some(0));
    assert_eq!(of(json!(1e300)), Some(i64::MAX as u64));
    assert_eq!(of(json!(u64::MAX)), Some(i64::MAX as u64));
    assert_eq!(of(json!("soon")), None);
    assert_eq!(super::auth_time(&serde_json::Map::new()), None);
}

//! ProConnect rules of the OIDC layer: authorize parameters, HS256 keyed by the client_secret,
//! optional at_hash (checked when present), acr as a set.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use super::support::*;
use super::*;
use crate::federation::LoginOptions;
use crate::oidc::validate::left_half_hash;

fn meta(issuer: &str) -> ProviderMetadata {
    ProviderMetadata {
        issuer: issuer.into(),
        authorization_endpoint: format!("{issuer}/authorize"),
        token_endpoint: format!("{issuer}/token"),
        userinfo_endpoint: Some(format!("{issuer}/userinfo")),
        end_session_endpoint: Some(format!("{issuer}/session/end")),
        revocation_endpoint: None,
        jwks_uri: format!("{issuer}/jwks"),
        iss_parameter_supported: true,
    }
}

fn pairs(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn params() -> AuthParams {
    AuthParams {
        state: "5".repeat(64),
        nonce: "n0nce".repeat(10),
        code_verifier: Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into()),
    }
}

#[test]
fn proconnect_authorize_asks_acr_through_essential_claims_with_pkce_and_hints() {
    let mut s = settings_for(Federation::ProConnect, "https://pc.example/api/v2");
    s.pkce = true;
    let c = OidcClient::new(s).unwrap();
    let opts = LoginOptions {
        acr: vec!["eidas2".into(), "eidas3".into()],
        prompt: Some("login".into()),
        login_hint: Some("agent@fia1.fr".into()),
        idp_hint: Some("fia1v2".into()),
        siret_hint: Some("21750001600019".into()),
    };
    let url = c.authorize_url_with(&meta("https://pc.example/api/v2"), &params(), &opts);
    let p = pairs(&url);
    let get = |n: &str| p.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    assert!(get("acr_values").is_none(), "acr goes through claims only");
    let claims: Value = serde_json::from_str(&get("claims").unwrap()).unwrap();
    assert_eq!(
        claims,
        json!({"id_token": {"acr": {"essential": true, "values": ["eidas2", "eidas3"]}, "amr": null}})
    );
    assert_eq!(get("code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(
        get("code_challenge").as_deref(),
        Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    );
    assert_eq!(get("prompt").as_deref(), Some("login"));
    assert_eq!(get("login_hint").as_deref(), Some("agent@fia1.fr"));
    assert_eq!(get("idp_hint").as_deref(), Some("fia1v2"));
    assert_eq!(get("siret_hint").as_deref(), Some("21750001600019"));
    let accepted = [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "claims",
        "code_challenge",
        "code_challenge_method",
        "prompt",
        "login_hint",
        "idp_hint",
        "siret_hint",
    ];
    for (k, _) in &p {
        assert!(
            accepted.contains(&k.as_str()),
            "{k} is not a documented ProConnect parameter"
        );
    }
}

#[test]
fn franceconnect_gets_prompt_login_and_idp_hint_from_its_whitelist() {
    let s = settings_for(Federation::FranceConnect, "https://fc.example/api/v2");
    let c = OidcClient::new(s).unwrap();
    let opts = LoginOptions {
        prompt: Some("login".into()),
        idp_hint: Some("fia1v2".into()),
        acr: vec!["eidas1".into()],
        ..LoginOptions::default()
    };
    let url = c.authorize_url_with(&meta("https://fc.example/api/v2"), &params(), &opts);
    let p = pairs(&url);
    assert!(p.contains(&("prompt".into(), "login".into())));
    assert!(p.contains(&("idp_hint".into(), "fia1v2".into())));
    assert!(p.contains(&("acr_values".into(), "eidas1".into())));
    assert!(!p
        .iter()
        .any(|(k, _)| k == "claims" || k == "code_challenge"));
}

#[test]
fn franceconnect_ignores_location_options_it_would_reject() {
    let s = settings_for(Federation::FranceConnect, "https://fc.example/api/v2");
    let c = OidcClient::new(s).unwrap();
    let opts = LoginOptions {
        login_hint: Some("a@b.fr".into()),
        siret_hint: Some("21750001600019".into()),
        ..LoginOptions::default()
    };
    let url = c.authorize_url_with(&meta("https://fc.example/api/v2"), &params(), &opts);
    let names: Vec<String> = pairs(&url).into_iter().map(|(k, _)| k).collect();
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
}

struct Pc {
    op: TestProvider,
    client: OidcClient,
}

fn pc_hs256(userinfo: UserinfoMode) -> Pc {
    let op = TestProvider::start();
    let mut s = settings_for(Federation::ProConnect, &op.issuer);
    s.id_token_alg = SigningAlg::HS256;
    s.userinfo = userinfo;
    Pc {
        client: OidcClient::new(s).unwrap(),
        op,
    }
}

fn hs256(secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

impl Pc {
    fn id_claims(&self) -> Value {
        let mut c = self.op.id_claims(&params().nonce);
        c["at_hash"] = json!(left_half_hash("at-123"));
        c["acr"] = json!("eidas1-mfa");
        c
    }

    fn login(&self, id_token: String, userinfo: Canned) -> Result<LoginResult, OidcError> {
        {
            let mut st = self.op.state.lock().unwrap();
            st.token = Some(token_answer(&id_token));
            st.userinfo = Some(userinfo);
        }
        self.client.complete_login("code", &params())
    }
}

#[test]
fn proconnect_hs256_tokens_verify_with_the_client_secret() {
    let pc = pc_hs256(UserinfoMode::SignedJwt);
    let mut ui = pc.op.userinfo_claims();
    ui["usual_name"] = json!("DUBOIS");
    let id = hs256("s3cret value&", &pc.id_claims());
    let r = pc
        .login(id, Canned::jwt(&hs256("s3cret value&", &ui)))
        .unwrap();
    assert_eq!(r.acr, "eidas1-mfa");
    assert_eq!(r.claims["usual_name"], "DUBOIS");
}

#[test]
fn proconnect_hs256_with_another_secret_is_refused() {
    let pc = pc_hs256(UserinfoMode::Json);
    let id = hs256("not the secret", &pc.id_claims());
    match pc.login(id, Canned::json(200, &pc.op.userinfo_claims())) {
        Err(OidcError::InvalidToken(m)) => assert!(m.contains("client_secret"), "{m}"),
        other => panic!("expected InvalidToken, got {other:?}"),
    }
}

#[test]
fn proconnect_id_token_without_at_hash_is_accepted() {
    let pc = pc_hs256(UserinfoMode::Json);
    let mut claims = pc.id_claims();
    claims.as_object_mut().unwrap().remove("at_hash");
    let id = hs256("s3cret value&", &claims);
    let r = pc
        .login(id, Canned::json(200, &pc.op.userinfo_claims()))
        .expect("at_hash is optional (OIDC Core §3.1.3.8)");
    assert_eq!(r.acr, "eidas1-mfa");
}

#[test]
fn proconnect_id_token_with_a_wrong_at_hash_is_refused() {
    let pc = pc_hs256(UserinfoMode::Json);
    let mut claims = pc.id_claims();
    claims["at_hash"] = json!(left_half_hash("another access token"));
    let id = hs256("s3cret value&", &claims);
    match pc.login(id, Canned::json(200, &pc.op.userinfo_claims())) {
        Err(OidcError::InvalidToken(m)) => assert!(m.contains("at_hash"), "{m}"),
        other => panic!("expected InvalidToken, got {other:?}"),
    }
}

#[test]
fn proconnect_acr_is_left_to_the_engine_which_knows_what_the_login_asked() {
    let acr_values = vec!["eidas1-mfa".to_owned()];
    // A location may have asked eidas2 for this very login: the OIDC layer must not refuse it.
    assert_eq!(
        crate::federation::check_returned_acr(
            Federation::ProConnect,
            &acr_values,
            None,
            Some("eidas2")
        )
        .unwrap(),
        "eidas2"
    );
}

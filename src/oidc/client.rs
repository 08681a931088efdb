//! `OidcClient`: one per configured provider, shared by every request of the process.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::cache::{Cache, Snapshot};
use super::jwks::KeySet;
use super::jws::{self, VerifyError};
use super::userinfo::Answer;
use super::{
    authorize, callback, revoke, token, userinfo, validate, AccessGrant, AuthParams,
    CallbackParams, LoginResult, OidcError, OidcSettings, ProviderMetadata, UserinfoMode,
};
use crate::claims::PROTOCOL_CLAIMS;
use crate::http::HttpClient;

/// Claims describing the authentication itself: the id_token's values are authoritative and
/// userinfo cannot override them.
const AUTHENTICATION_CLAIMS: &[&str] = &["sub", "acr", "amr", "auth_time", "sid"];

pub struct OidcClient {
    settings: OidcSettings,
    http: HttpClient,
    cache: Cache,
}

impl std::fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the settings: they hold the client secret.
        f.debug_struct("OidcClient")
            .field("provider", &self.settings.name)
            .field("issuer", &self.settings.issuer)
            .finish_non_exhaustive()
    }
}

impl OidcClient {
    /// Config time: validates settings that need no I/O, reads `ca_file`. Opens no socket and
    /// starts no thread (the server forks after this).
    pub fn new(settings: OidcSettings) -> Result<Self, OidcError> {
        let http = HttpClient::new(settings.http_timeout, settings.ca_file.as_deref())
            .map_err(|e| OidcError::Protocol(format!("provider {}: {e}", settings.name)))?;
        for (name, value) in [
            ("issuer", Some(&settings.issuer)),
            ("discovery_url", Some(&settings.discovery_url)),
            ("redirect_uri", Some(&settings.redirect_uri)),
            (
                "post_logout_redirect_uri",
                settings.post_logout_redirect_uri.as_ref(),
            ),
        ] {
            if let Some(v) = value {
                if url::Url::parse(v).is_err() {
                    return Err(OidcError::Protocol(format!(
                        "provider {}: {name} {v:?} is not an absolute URL",
                        settings.name
                    )));
                }
            }
        }
        Ok(OidcClient {
            settings,
            http,
            cache: Cache::default(),
        })
    }

    /// From now on `observer` is told the time of every exchange with this provider.
    pub fn observe_exchanges(&self, observer: Box<dyn crate::http::ExchangeObserver>) {
        self.http.observe_with(observer);
    }

    /// Non-blocking: the metadata if cached and still fresh, or during an outage the last good
    /// metadata (bounded stale fallback, see `cache`).
    pub fn cached_metadata(&self) -> Option<Arc<ProviderMetadata>> {
        self.cache
            .usable(self.settings.metadata_ttl)
            .map(|s| s.meta)
    }

    /// Non-blocking: the provider failed moments ago and nothing usable is cached. A request
    /// needing the provider is answered with this error at once, without a job (negative
    /// cache).
    pub fn recent_failure(&self) -> Option<OidcError> {
        self.cache
            .failing(self.settings.metadata_ttl)
            .map(|e| self.named(e))
    }

    /// Blocking: cached metadata, or fetch discovery (and JWKS) now.
    pub fn metadata(&self) -> Result<Arc<ProviderMetadata>, OidcError> {
        Ok(self.snapshot()?.meta)
    }

    /// The authorize URL with exactly the parameters the federation accepts.
    pub fn authorize_url(&self, meta: &ProviderMetadata, params: &AuthParams) -> String {
        authorize::authorize_url(&self.settings, meta, params)
    }

    /// The authorize URL with a location's options (acr, prompt, hints) where accepted.
    pub fn authorize_url_with(
        &self,
        meta: &ProviderMetadata,
        params: &AuthParams,
        opts: &crate::federation::LoginOptions,
    ) -> String {
        authorize::authorize_url_with(&self.settings, meta, params, opts)
    }

    /// Parse the raw query string of a request to the redirect_uri.
    pub fn parse_callback(query: &str) -> CallbackParams {
        callback::parse(query)
    }

    /// Checks done before any I/O: duplicated parameters, provider `error`, RFC 9207 `iss`,
    /// presence of `code`. Returns the code. (The engine checks `state` against what the
    /// browser holds.)
    ///
    /// A generic provider's callback without `iss` whose metadata is not cached passes here;
    /// the job then calls [`OidcClient::check_iss_absence`] before redeeming the code.
    pub fn check_callback<'a>(&self, cb: &'a CallbackParams) -> Result<&'a str, OidcError> {
        let advertised = self.cached_metadata().map(|m| m.iss_parameter_supported);
        callback::check(&self.settings, cb, advertised)
    }

    /// Blocking (cached metadata, or discovery): refuses a callback that came without `iss`
    /// when the provider advertises `authorization_response_iss_parameter_supported`.
    pub fn check_iss_absence(&self) -> Result<(), OidcError> {
        let meta = self.metadata()?;
        callback::iss_absence_allowed(&self.settings, &meta)
    }

    /// Blocking: redeem the code, verify the id_token (nonce, acr...), fetch + verify userinfo.
    pub fn complete_login(
        &self,
        code: &str,
        params: &AuthParams,
    ) -> Result<LoginResult, OidcError> {
        let snap = self.snapshot()?;
        let tokens = token::exchange(&self.http, &self.settings, &snap.meta, code, params)
            .map_err(|e| self.named(e))?;

        // Keys as refreshed by a forced refetch during the id_token check, so that the
        // userinfo JWT (signed with the same rotated key) does not need a second refetch.
        let mut keys = snap.keys.clone();
        // Encrypted to the site (FranceConnect+): the signed JWT inside is what is verified,
        // and what is kept as the logout id_token_hint (the provider cannot decrypt its own
        // JWE: it was encrypted to the site's key).
        let id_token = self.unsealed(tokens.id_token, "id_token")?;
        let id_claims = self.verify_jws(&id_token, "id_token", &snap, &mut keys)?;
        let facts = validate::check_id_token(
            &id_claims,
            &self.settings,
            &params.nonce,
            tokens.access_token.as_deref(),
            validate::now(),
        )?;

        let mut claims = strip(id_claims, &[]);
        if self.settings.userinfo != UserinfoMode::Skip {
            let ui = self.userinfo(&snap, &mut keys, tokens.access_token.as_deref())?;
            if validate::subject(&ui).as_deref() != Some(facts.sub.as_str()) {
                return Err(OidcError::InvalidToken(
                    "userinfo sub differs from the id_token sub (answer for another user)".into(),
                ));
            }
            for (k, v) in strip(ui, AUTHENTICATION_CLAIMS) {
                claims.insert(k, v);
            }
        }
        Ok(LoginResult {
            sub: facts.sub,
            acr: facts.acr,
            claims,
            id_token,
            access: tokens.access,
        })
    }

    /// Blocking, bounded by `http_timeout`: a fresh access token for a kept refresh token.
    pub fn refresh(&self, refresh_token: &str) -> Result<AccessGrant, OidcError> {
        let meta = self.metadata()?;
        token::refresh(&self.http, &self.settings, &meta, refresh_token).map_err(|e| self.named(e))
    }

    /// Blocking, bounded by `http_timeout`: revokes `token` at the provider's revocation
    /// endpoint (RFC 7009). `Ok(false)` when discovery lists none: nothing was sent.
    pub fn revoke(
        &self,
        meta: &ProviderMetadata,
        token: &str,
        kind: revoke::TokenKind,
    ) -> Result<bool, OidcError> {
        let Some(url) = meta.revocation_endpoint.as_deref() else {
            return Ok(false);
        };
        revoke::revoke(
            &self.http,
            &self.settings,
            url,
            &meta.token_endpoint,
            token,
            kind,
        )
        .map(|()| true)
        .map_err(|e| self.named(e))
    }

    /// The end_session URL (id_token_hint, state, post_logout_redirect_uri), if the provider
    /// has an end_session_endpoint.
    pub fn end_session_url(
        &self,
        meta: &ProviderMetadata,
        id_token_hint: &str,
        state: &str,
    ) -> Option<String> {
        authorize::end_session_url(&self.settings, meta, id_token_hint, state)
    }

    fn snapshot(&self) -> Result<Snapshot, OidcError> {
        self.cache
            .get(&self.http, &self.settings)
            .map_err(|e| self.named(e))
    }

    /// Prefixes I/O errors with the provider name so log lines say which one failed.
    fn named(&self, e: OidcError) -> OidcError {
        let p = &self.settings.name;
        match e {
            OidcError::Unavailable(m) => OidcError::Unavailable(format!("provider {p}: {m}")),
            OidcError::Protocol(m) => OidcError::Protocol(format!("provider {p}: {m}")),
            other => other,
        }
    }

    fn userinfo(
        &self,
        snap: &Snapshot,
        keys: &mut Arc<KeySet>,
        access_token: Option<&str>,
    ) -> Result<Map<String, Value>, OidcError> {
        let url = snap.meta.userinfo_endpoint.as_deref().ok_or_else(|| {
            self.named(OidcError::Protocol(
                "discovery has no userinfo_endpoint; set `userinfo off` for this provider".into(),
            ))
        })?;
        let access_token = access_token.ok_or_else(|| {
            OidcError::Protocol("token endpoint returned no access_token for userinfo".into())
        })?;
        match userinfo::fetch(&self.http, url, access_token, self.settings.userinfo)
            .map_err(|e| self.named(e))?
        {
            Answer::Json(map) => Ok(map),
            Answer::Jwt(jwt) => {
                let what = "userinfo JWT";
                let jwt = self.unsealed(jwt, what)?;
                let claims = self.verify_jws(&jwt, what, snap, keys)?;
                validate::check_common(&claims, &self.settings, what, validate::now())?;
                Ok(claims)
            }
        }
    }

    /// The signed JWT of a token: the token itself, or when the site has encryption keys the
    /// JWS inside the JWE (a plain JWS is then refused as a downgrade).
    fn unsealed(&self, token: String, what: &str) -> Result<String, OidcError> {
        if self.settings.site_keys.encrypts() {
            super::jwe::open(&token, &self.settings.site_keys, what)
        } else {
            Ok(token)
        }
    }

    /// Header check, key selection (with one rate-limited JWKS refetch on an unknown kid or a
    /// signature failure) and signature verification. Returns the payload, claims unchecked.
    /// `keys` is replaced by the refetched set when a refetch happens.
    fn verify_jws(
        &self,
        token: &str,
        what: &str,
        snap: &Snapshot,
        keys: &mut Arc<KeySet>,
    ) -> Result<Map<String, Value>, OidcError> {
        let alg = self.settings.id_token_alg;
        let header = jws::check_header(token, alg, what)?;
        if alg == super::SigningAlg::HS256 {
            // Registered HS256 (ProConnect): the key is the client_secret, never the JWKS.
            let key = super::jwks::Key {
                kid: None,
                alg,
                fingerprint: Vec::new(),
                key: jsonwebtoken::DecodingKey::from_secret(self.settings.client_secret.as_bytes()),
                es256_point: None,
            };
            return match jws::verify(token, &key) {
                Ok(claims) => Ok(claims),
                Err(VerifyError::Signature) => Err(OidcError::InvalidToken(format!(
                    "{what}: HS256 signature does not verify with the client_secret (wrong client_secret_file, or forged token)"
                ))),
                Err(VerifyError::Other(m)) => Err(OidcError::InvalidToken(format!("{what} {m}"))),
            };
        }
        let kid = header.kid.as_deref();
        // The kid comes from an unverified token: bounded and escaped before it reaches a log.
        let shown_kid = kid.map(|k| super::util::sanitize(k, 80));
        let mut refetched = false;
        loop {
            let outcome = keys
                .find(alg, kid)
                .map(|key| (jws::verify(token, key), key.fingerprint.clone()));
            match outcome {
                Some((Ok(claims), _)) => return Ok(claims),
                Some((Err(VerifyError::Other(m)), _)) => {
                    return Err(OidcError::InvalidToken(format!("{what} {m}")))
                }
                Some((Err(VerifyError::Signature), fingerprint)) => {
                    if !refetched {
                        if let Some(new) = self.force_jwks(snap)? {
                            refetched = true;
                            // Retry only if the provider now publishes another key under this kid.
                            let changed =
                                new.find(alg, kid).map(|k| &k.fingerprint) != Some(&fingerprint);
                            *keys = new;
                            if changed {
                                continue;
                            }
                        }
                    }
                    return Err(OidcError::InvalidToken(format!(
                        "{what}: signature does not verify with the provider's key {shown_kid:?} (forged or corrupted token)"
                    )));
                }
                None => {
                    if !refetched {
                        if let Some(new) = self.force_jwks(snap)? {
                            refetched = true;
                            *keys = new;
                            continue;
                        }
                        return Err(OidcError::InvalidToken(format!(
                            "{what}: signing key {shown_kid:?} is not in the provider's JWKS (a forced refetch happened less than 10 s ago; not refetched again)"
                        )));
                    }
                    return Err(OidcError::InvalidToken(format!(
                        "{what}: signing key {shown_kid:?} is not in the provider's JWKS, even after refetching it"
                    )));
                }
            }
        }
    }

    fn force_jwks(&self, snap: &Snapshot) -> Result<Option<Arc<KeySet>>, OidcError> {
        self.cache
            .force_jwks(&self.http, &snap.meta)
            .map_err(|e| self.named(e))
    }
}

/// Removes protocol claims (and `also`) from a verified payload.
fn strip(mut claims: Map<String, Value>, also: &[&str]) -> Map<String, Value> {
    claims.retain(|k, _| !PROTOCOL_CLAIMS.contains(&k.as_str()) && !also.contains(&k.as_str()));
    claims
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_client_can_be_shared_by_every_request_thread() {
        fn shared<T: Send + Sync + 'static>() {}
        shared::<super::OidcClient>();
    }
}

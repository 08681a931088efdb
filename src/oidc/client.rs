//! `OidcClient`: one per configured provider, shared by every request of the process.
//! (Interface fixed by the integrator; bodies to be written.)

use std::sync::Arc;

use super::{AuthParams, CallbackParams, LoginResult, OidcError, OidcSettings, ProviderMetadata};

pub struct OidcClient {
    settings: OidcSettings,
}

impl OidcClient {
    /// Config time: validates settings that need no I/O, reads `ca_file`. Opens no socket and
    /// starts no thread (the server forks after this).
    pub fn new(settings: OidcSettings) -> Result<Self, OidcError> {
        Ok(OidcClient { settings })
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// Non-blocking: the metadata if cached and still fresh.
    pub fn cached_metadata(&self) -> Option<Arc<ProviderMetadata>> {
        todo!()
    }

    /// Blocking: cached metadata, or fetch discovery (and JWKS) now.
    pub fn metadata(&self) -> Result<Arc<ProviderMetadata>, OidcError> {
        todo!()
    }

    /// The authorize URL with exactly the parameters the federation accepts.
    pub fn authorize_url(&self, _meta: &ProviderMetadata, _params: &AuthParams) -> String {
        todo!()
    }

    /// Parse the raw query string of a request to the redirect_uri.
    pub fn parse_callback(_query: &str) -> CallbackParams {
        todo!()
    }

    /// Checks done before any I/O: provider `error`, RFC 9207 `iss`, presence of `code`.
    /// Returns the code. (The engine checks `state` against what the browser holds.)
    pub fn check_callback<'a>(&self, _cb: &'a CallbackParams) -> Result<&'a str, OidcError> {
        todo!()
    }

    /// Blocking: redeem the code, verify the id_token (nonce, acr...), fetch + verify userinfo.
    pub fn complete_login(
        &self,
        _code: &str,
        _params: &AuthParams,
    ) -> Result<LoginResult, OidcError> {
        todo!()
    }

    /// The end_session URL (id_token_hint, state, post_logout_redirect_uri), if the provider
    /// has an end_session_endpoint.
    pub fn end_session_url(
        &self,
        _meta: &ProviderMetadata,
        _id_token_hint: &str,
        _state: &str,
    ) -> Option<String> {
        todo!()
    }
}

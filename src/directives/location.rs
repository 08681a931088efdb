//! What a location asks of Sesame, as the server configuration wrote it (resolved by
//! `Sesame::location`; nested locations inherit through `LocationSpec::inherit`).

/// What a location asks of Sesame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocationMode {
    /// A login with the provider is required to reach this location.
    Protect,
    /// End the local session, then the provider's session (browser redirect to end_session).
    Logout,
    /// End the local session only, then redirect to the provider's configured logout landing page.
    LogoutLocal,
}

/// Raw per-location settings as written in the server configuration.
#[derive(Debug, Clone)]
pub struct LocationSpec {
    pub mode: LocationMode,
    /// Name of a provider block (`sesame_provider NAME { ... }`).
    pub provider: String,
    /// Further per-location options (`key`, `value`), validated by `Sesame::location`.
    pub options: Vec<(String, String)>,
}

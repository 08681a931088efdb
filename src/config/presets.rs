//! Federation presets: what `preset franceconnect-integration;` means, so that operators write
//! four lines instead of fifteen and cannot get FranceConnect's fixed choices wrong.

use crate::federation::Federation;
use crate::oidc::{SigningAlg, TokenAuth, UserinfoMode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    FranceConnectIntegration,
    FranceConnectIntegrationLegacy,
    FranceConnectProduction,
    /// FranceConnect+ (docs/federations.md §1.3: the `auth.*` hosts).
    FranceConnectPlusIntegration,
    FranceConnectPlusProduction,
    Generic,
    /// ProConnect, Internet, integration (docs/federations.md §1.3: still the agentconnect hosts).
    ProConnectIntegration,
    ProConnectProduction,
    /// ProConnect on the RIE (the State's private network): its own hosts and client database.
    ProConnectIntegrationRie,
    ProConnectProductionRie,
}

/// The scope FranceConnect's "identité pivot" + email needs (docs/federations.md §3.2).
pub const FC_DEFAULT_SCOPE: &str =
    "openid given_name family_name birthdate birthplace birthcountry gender email";

pub const PRESET_NAMES: &str = "franceconnect-integration, franceconnect-integration-legacy, \
                                franceconnect-production, franceconnect-plus-integration, \
                                franceconnect-plus-production, generic, proconnect-integration, \
                                proconnect-production, proconnect-integration-rie, \
                                proconnect-production-rie";

/// ProConnect's usual claims (docs/federations.md §3.2: allowed by default since 2024-08).
pub const PC_DEFAULT_SCOPE: &str = "openid given_name usual_name email uid siret idp_id";

/// Defaults a preset brings; every field can still be overridden by its directive.
pub struct PresetDefaults {
    pub federation: Federation,
    pub issuer: Option<&'static str>,
    pub scope: &'static str,
    pub acr_values: &'static [&'static str],
    pub id_token_alg: SigningAlg,
    pub userinfo: UserinfoMode,
    pub token_auth: TokenAuth,
    pub pkce: bool,
    /// `session_idle_timeout` when none is written (the federation's own SSO session).
    pub session_idle_timeout: Option<std::time::Duration>,
}

impl Preset {
    pub fn parse(name: &str) -> Option<Preset> {
        match name {
            "franceconnect-integration" => Some(Preset::FranceConnectIntegration),
            "franceconnect-integration-legacy" => Some(Preset::FranceConnectIntegrationLegacy),
            "franceconnect-production" => Some(Preset::FranceConnectProduction),
            "franceconnect-plus-integration" => Some(Preset::FranceConnectPlusIntegration),
            "franceconnect-plus-production" => Some(Preset::FranceConnectPlusProduction),
            "generic" => Some(Preset::Generic),
            "proconnect-integration" => Some(Preset::ProConnectIntegration),
            "proconnect-production" => Some(Preset::ProConnectProduction),
            "proconnect-integration-rie" => Some(Preset::ProConnectIntegrationRie),
            "proconnect-production-rie" => Some(Preset::ProConnectProductionRie),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Preset::FranceConnectIntegration => "franceconnect-integration",
            Preset::FranceConnectIntegrationLegacy => "franceconnect-integration-legacy",
            Preset::FranceConnectProduction => "franceconnect-production",
            Preset::FranceConnectPlusIntegration => "franceconnect-plus-integration",
            Preset::FranceConnectPlusProduction => "franceconnect-plus-production",
            Preset::Generic => "generic",
            Preset::ProConnectIntegration => "proconnect-integration",
            Preset::ProConnectProduction => "proconnect-production",
            Preset::ProConnectIntegrationRie => "proconnect-integration-rie",
            Preset::ProConnectProductionRie => "proconnect-production-rie",
        }
    }

    /// The federation whose rules apply to a provider of this preset.
    pub fn federation(self) -> Federation {
        self.defaults().federation
    }

    /// Production refuses plain-http redirect URIs (docs/federations.md §1.4).
    pub fn is_production(self) -> bool {
        matches!(
            self,
            Preset::FranceConnectProduction
                | Preset::FranceConnectPlusProduction
                | Preset::ProConnectProduction
                | Preset::ProConnectProductionRie
        )
    }

    pub fn defaults(self) -> PresetDefaults {
        let fc = |issuer| PresetDefaults {
            federation: Federation::FranceConnect,
            issuer: Some(issuer),
            scope: FC_DEFAULT_SCOPE,
            acr_values: &["eidas1"],
            id_token_alg: SigningAlg::ES256,
            userinfo: UserinfoMode::SignedJwt,
            token_auth: TokenAuth::ClientSecretPost,
            pkce: false,
            session_idle_timeout: None,
        };
        // docs/federations.md §1.2, §2, §4.7: eidas2 < eidas3, ES256 only, encrypted tokens, and
        // an SSO session of 10 minutes (not sliding) that Sesame's idle timeout follows.
        let fc_plus = |issuer| PresetDefaults {
            federation: Federation::FranceConnectPlus,
            issuer: Some(issuer),
            scope: FC_DEFAULT_SCOPE,
            acr_values: &["eidas2"],
            id_token_alg: SigningAlg::ES256,
            userinfo: UserinfoMode::SignedJwt,
            token_auth: TokenAuth::ClientSecretPost,
            pkce: false,
            session_idle_timeout: Some(std::time::Duration::from_secs(10 * 60)),
        };
        let pc = |issuer| PresetDefaults {
            federation: Federation::ProConnect,
            issuer: Some(issuer),
            scope: PC_DEFAULT_SCOPE,
            acr_values: &[],
            id_token_alg: SigningAlg::ES256,
            userinfo: UserinfoMode::SignedJwt,
            token_auth: TokenAuth::ClientSecretPost,
            pkce: true,
            session_idle_timeout: None,
        };
        match self {
            Preset::ProConnectIntegration => pc("https://fca.integ01.dev-agentconnect.fr/api/v2"),
            Preset::ProConnectProduction => pc("https://auth.agentconnect.gouv.fr/api/v2"),
            Preset::ProConnectIntegrationRie => {
                pc("https://fca.integ02.agentconnect.rie.gouv.fr/api/v2")
            }
            Preset::ProConnectProductionRie => pc("https://auth.agentconnect.rie.gouv.fr/api/v2"),
            Preset::FranceConnectIntegration => {
                fc("https://fcp-low.sbx.dev-franceconnect.fr/api/v2")
            }
            Preset::FranceConnectIntegrationLegacy => {
                fc("https://fcp-low.integ01.dev-franceconnect.fr/api/v2")
            }
            Preset::FranceConnectProduction => fc("https://oidc.franceconnect.gouv.fr/api/v2"),
            Preset::FranceConnectPlusIntegration => {
                fc_plus("https://auth.integ01.dev-franceconnect.fr/api/v2")
            }
            Preset::FranceConnectPlusProduction => {
                fc_plus("https://auth.franceconnect.gouv.fr/api/v2")
            }
            // A standards-compliant provider: PKCE on, plain JSON userinfo, HTTP Basic auth.
            Preset::Generic => PresetDefaults {
                federation: Federation::Generic,
                issuer: None,
                scope: "openid",
                acr_values: &[],
                id_token_alg: SigningAlg::RS256,
                userinfo: UserinfoMode::Json,
                token_auth: TokenAuth::ClientSecretBasic,
                pkce: true,
                session_idle_timeout: None,
            },
        }
    }
}

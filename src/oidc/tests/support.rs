//! Test fixtures: settings, signing keys, and a tiny canned OIDC provider on 127.0.0.1.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::oidc::util::{b64url, now_secs};
use crate::oidc::{Federation, OidcSettings, SigningAlg, TokenAuth, UserinfoMode};

pub(crate) fn settings_for(federation: Federation, issuer: &str) -> OidcSettings {
    let fc = federation == Federation::FranceConnect;
    OidcSettings {
        name: "test".into(),
        federation,
        issuer: issuer.into(),
        discovery_url: format!("{issuer}/.well-known/openid-configuration"),
        client_id: "client-1".into(),
        client_secret: "s3cret value&".into(),
        redirect_uri: "https://rp.example/oidc/callback".into(),
        post_logout_redirect_uri: Some("https://rp.example/oidc/logged-out".into()),
        scopes: vec!["openid".into(), "given_name".into(), "family_name".into()],
        acr_values: if fc { vec!["eidas1".into()] } else { vec![] },
        required_acr: None,
        id_token_alg: SigningAlg::ES256,
        userinfo: if fc {
            UserinfoMode::SignedJwt
        } else {
            UserinfoMode::Json
        },
        token_auth: TokenAuth::ClientSecretPost,
        jwks_uri: None,
        site_keys: Default::default(),
        pkce: false,
        ca_file: None,
        http_timeout: Duration::from_secs(3),
        leeway: Duration::from_secs(30),
        metadata_ttl: Duration::from_secs(600),
    }
}

/// A signing key with its public JWK.
#[derive(Clone)]
pub(crate) struct TestKey {
    pub kid: String,
    pub alg: Algorithm,
    pub encoding: EncodingKey,
    pub jwk: Value,
    /// Public key bytes, for the "HS256 keyed with the public key" attack.
    pub public_bytes: Vec<u8>,
}

impl TestKey {
    pub fn es256(kid: &str) -> TestKey {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        use p256::pkcs8::EncodePrivateKey;
        let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let der = secret.to_pkcs8_der().unwrap();
        let point = secret.public_key().to_encoded_point(false);
        TestKey {
            kid: kid.into(),
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_der(der.as_bytes()),
            jwk: json!({"kty":"EC","crv":"P-256","use":"sig","alg":"ES256","kid":kid,
                "x": b64url(point.x().unwrap()), "y": b64url(point.y().unwrap())}),
            public_bytes: point.as_bytes().to_vec(),
        }
    }

    /// RSA key generation is slow in debug builds: one key per test process, renamed per use.
    pub fn rs256(kid: &str) -> TestKey {
        static RSA: OnceLock<TestKey> = OnceLock::new();
        let base = RSA.get_or_init(|| {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            use rsa::traits::PublicKeyParts;
            let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
            let der = key.to_pkcs1_der().unwrap();
            TestKey {
                kid: String::new(),
                alg: Algorithm::RS256,
                encoding: EncodingKey::from_rsa_der(der.as_bytes()),
                jwk: json!({"kty":"RSA","use":"sig","alg":"RS256",
                    "n": b64url(&key.n().to_bytes_be()), "e": b64url(&key.e().to_bytes_be())}),
                public_bytes: key.n().to_bytes_be(),
            }
        });
        let mut k = base.clone();
        k.kid = kid.into();
        k.jwk["kid"] = json!(kid);
        k
    }

    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

/// A compact JWS with an arbitrary header and no signature check possible (alg none etc.).
pub(crate) fn unsigned_token(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}.",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    )
}

/// A canned answer.
#[derive(Clone)]
pub(crate) struct Canned {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl Canned {
    pub fn json(status: u16, body: &Value) -> Canned {
        Canned {
            status,
            content_type: "application/json".into(),
            body: body.to_string(),
        }
    }
    pub fn jwt(token: &str) -> Canned {
        Canned {
            status: 200,
            content_type: "application/jwt".into(),
            body: token.into(),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn form(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.body.as_bytes())
            .into_owned()
            .collect()
    }
}

#[derive(Default)]
pub(crate) struct ProviderState {
    /// Overrides the discovery `issuer` (to test mismatches).
    pub discovery_issuer: Option<String>,
    pub discovery_content_type: Option<String>,
    /// Answer discovery with this status and an empty JSON body (an outage).
    pub discovery_status: Option<u16>,
    /// Wait this long before answering discovery (a slow provider).
    pub discovery_delay: Duration,
    pub keys: Vec<Value>,
    pub token: Option<Canned>,
    pub userinfo: Option<Canned>,
    pub requests: Vec<Recorded>,
}

/// The canned provider: issuer `http://127.0.0.1:PORT/api/v2`.
pub(crate) struct TestProvider {
    pub issuer: String,
    pub state: Arc<Mutex<ProviderState>>,
}

impl TestProvider {
    pub fn start() -> TestProvider {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let issuer = format!("http://{}/api/v2", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(ProviderState::default()));
        let (st, iss) = (state.clone(), issuer.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (st, iss) = (st.clone(), iss.clone());
                std::thread::spawn(move || serve(stream, &st, &iss));
            }
        });
        TestProvider { issuer, state }
    }

    pub fn set_keys(&self, keys: &[&TestKey]) {
        self.state.lock().unwrap().keys = keys.iter().map(|k| k.jwk.clone()).collect();
    }

    pub fn requests_to(&self, path_suffix: &str) -> Vec<Recorded> {
        self.state
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|r| r.path.ends_with(path_suffix))
            .cloned()
            .collect()
    }

    /// Standard id_token claims for `nonce`, to be adjusted by each test.
    pub fn id_claims(&self, nonce: &str) -> Value {
        let now = now_secs();
        json!({"iss": self.issuer, "sub": "a1b2c3v1", "aud": "client-1", "exp": now + 60,
               "iat": now, "nonce": nonce, "acr": "eidas1", "auth_time": now,
               "given_name": "Angela"})
    }

    /// Standard userinfo claims.
    pub fn userinfo_claims(&self) -> Value {
        let now = now_secs();
        json!({"iss": self.issuer, "sub": "a1b2c3v1", "aud": "client-1", "exp": now + 60,
               "iat": now, "given_name": "Angela Claire Louise", "family_name": "DUBOIS",
               "birthplace": "75107"})
    }
}

fn serve(stream: TcpStream, state: &Mutex<ProviderState>, issuer: &str) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    let path = target.split('?').next().unwrap_or_default().to_owned();

    let delay = match path.strip_suffix("/.well-known/openid-configuration") {
        Some(_) => state.lock().unwrap().discovery_delay,
        None => Duration::ZERO,
    };
    std::thread::sleep(delay);
    let answer = {
        let mut st = state.lock().unwrap();
        st.requests.push(Recorded {
            method,
            path: path.clone(),
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        let prefix = "/api/v2";
        match path.strip_prefix(prefix).unwrap_or(&path) {
            "/.well-known/openid-configuration" if st.discovery_status.is_some() => {
                Canned::json(st.discovery_status.unwrap_or(503), &json!({}))
            }
            "/.well-known/openid-configuration" => Canned {
                status: 200,
                content_type: st
                    .discovery_content_type
                    .clone()
                    .unwrap_or_else(|| "application/json".into()),
                body: json!({
                    "issuer": st.discovery_issuer.clone().unwrap_or_else(|| issuer.to_owned()),
                    "authorization_endpoint": format!("{issuer}/authorize"),
                    "token_endpoint": format!("{issuer}/token"),
                    "userinfo_endpoint": format!("{issuer}/userinfo"),
                    "end_session_endpoint": format!("{issuer}/session/end"),
                    "jwks_uri": format!("{issuer}/jwks"),
                })
                .to_string(),
            },
            "/jwks" => Canned {
                status: 200,
                content_type: "application/jwk-set+json".into(),
                body: json!({"keys": st.keys}).to_string(),
            },
            "/token" => st
                .token
                .clone()
                .unwrap_or_else(|| Canned::json(500, &json!({}))),
            "/userinfo" => st
                .userinfo
                .clone()
                .unwrap_or_else(|| Canned::json(500, &json!({}))),
            _ => Canned::json(404, &json!({"error": "not_found"})),
        }
    };
    let mut stream = reader.into_inner();
    let _ = write!(
        stream,
        "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        answer.status,
        answer.content_type,
        answer.body.len(),
        answer.body
    );
    let _ = stream.flush();
}

/// Token endpoint answer carrying `id_token`.
pub(crate) fn token_answer(id_token: &str) -> Canned {
    Canned::json(
        200,
        &json!({"access_token": "at-123", "expires_in": 60, "id_token": id_token,
                "scope": "openid given_name", "token_type": "Bearer"}),
    )
}

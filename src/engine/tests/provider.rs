//! A tiny OpenID provider on loopback (plain HTTP) for engine tests: discovery, JWKS, token
//! (ES256 id_token whose nonce is the code it was given), JSON userinfo, end_session.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{json, Value};

pub struct TestProvider {
    pub issuer: String,
    pub down: Arc<AtomicBool>,
    pub requests: Arc<AtomicUsize>,
    /// `(token, token_type_hint)` of every revocation request received.
    pub revoked: Arc<std::sync::Mutex<Vec<(String, String)>>>,
}

struct Signer {
    kid: String,
    key: EncodingKey,
    jwk: Value,
}

impl Signer {
    fn new() -> Signer {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        use p256::pkcs8::EncodePrivateKey;
        let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let der = secret.to_pkcs8_der().unwrap();
        let point = secret.public_key().to_encoded_point(false);
        let kid = "test-es256".to_owned();
        Signer {
            jwk: json!({"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
                "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
                "y": URL_SAFE_NO_PAD.encode(point.y().unwrap())}),
            key: EncodingKey::from_ec_der(der.as_bytes()),
            kid,
        }
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }
}

pub const CLIENT_ID: &str = "test-client";
pub const SUB: &str = "sub-0123456789";

impl TestProvider {
    pub fn start() -> TestProvider {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let down = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let revoked = Arc::new(std::sync::Mutex::new(Vec::new()));
        let signer = Arc::new(Signer::new());
        {
            let (issuer, down, requests) = (issuer.clone(), down.clone(), requests.clone());
            let revoked = revoked.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    requests.fetch_add(1, Ordering::SeqCst);
                    let down = down.load(Ordering::SeqCst);
                    let _ = serve(stream, &issuer, &signer, down, &revoked);
                }
            });
        }
        TestProvider {
            issuer,
            down,
            requests,
            revoked,
        }
    }
}

fn serve(
    mut stream: TcpStream,
    issuer: &str,
    signer: &Signer,
    down: bool,
    revoked: &std::sync::Mutex<Vec<(String, String)>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut content_length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        if header.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                content_length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; content_length];
    reader.read_exact(&mut body)?;
    let path = target.split('?').next().unwrap_or("");
    let now = crate::session::now_unix();
    let (status, content_type, payload) = if down {
        (503, "text/plain", "down".to_owned())
    } else {
        match path {
            "/.well-known/openid-configuration" => (
                200,
                "application/json",
                json!({
                    "issuer": issuer,
                    "authorization_endpoint": format!("{issuer}/authorize"),
                    "token_endpoint": format!("{issuer}/token"),
                    "userinfo_endpoint": format!("{issuer}/userinfo"),
                    "end_session_endpoint": format!("{issuer}/session/end"),
                    "revocation_endpoint": format!("{issuer}/token/revocation"),
                    "jwks_uri": format!("{issuer}/jwks"),
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["ES256"],
                })
                .to_string(),
            ),
            "/jwks" => (
                200,
                "application/json",
                json!({"keys": [signer.jwk]}).to_string(),
            ),
            "/token" => {
                let code = form_urlencoded::parse(&body)
                    .find(|(k, _)| k == "code")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                let id_token = signer.sign(&json!({
                    "iss": issuer, "aud": CLIENT_ID, "sub": SUB, "exp": now + 60, "iat": now,
                    "nonce": code, "acr": "eidas1", "auth_time": now,
                }));
                (
                    200,
                    "application/json",
                    json!({"access_token": format!("at-{code}"), "token_type": "Bearer",
                        "expires_in": 60, "scope": "openid email", "id_token": id_token})
                    .to_string(),
                )
            }
            "/userinfo" => (
                200,
                "application/json",
                json!({"sub": SUB, "given_name": "Élodie", "family_name": "Ñúñez-Œuvray",
                    "email": "elodie@example.fr", "email_verified": true,
                    "given_name_array": ["Élodie"]})
                .to_string(),
            ),
            "/token/revocation" => {
                let field = |name: &str| {
                    form_urlencoded::parse(&body)
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default()
                };
                revoked
                    .lock()
                    .unwrap()
                    .push((field("token"), field("token_type_hint")));
                (200, "text/plain", String::new())
            }
            _ => (404, "text/plain", "not found".to_owned()),
        }
    };
    write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    )?;
    stream.flush()
}

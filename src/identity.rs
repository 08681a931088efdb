//! The verified identity handed to the backend, in the form every request reads it.
//!
//! One `Identity` is built per session and cache entry, then shared by every request that
//! session makes (measured with `make bench`): cloning it is a reference count, and it is laid out
//! compactly because the per-process cache holds one per active session (all strings in one
//! buffer, claims as spans into it). The mod_auth_openidc view of it (`compat`) is built on
//! first use only, so configurations that never ask for it never pay for it.
//!
//! This room is below the ones that name and encode what backends read: they build their views
//! of an identity (`backend_names`: claim env and header names; `compat`: the mod_auth_openidc
//! variables; `claims`: the claims header) in `impl Identity` blocks of their own, and this
//! room only keeps the cells those views are cached in.

use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// Which federation's rules apply (parameter whitelists, acr semantics, token auth): a plain
/// name every identity records; the rules themselves are in `federation/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Federation {
    /// FranceConnect v2 (fcp-low): acr_values always, no PKCE, no login_hint, no prompt=none.
    FranceConnect,
    /// FranceConnect+ (fcp-high): eidas2 < eidas3, acr_values always, no PKCE, ES256 only,
    /// id_token and userinfo encrypted to the site's keys.
    FranceConnectPlus,
    /// Any standards-compliant OIDC provider.
    Generic,
    /// ProConnect (ex-AgentConnect): acr as a set asked through `claims`, PKCE S256, hints,
    /// prompt=none, at_hash (docs/federations.md §3).
    ProConnect,
}

/// Names `Identity::uniform` answers for (`$sesame_<name>`, `SESAME_<NAME>`).
pub const UNIFORM_CLAIMS: &[&str; UNIFORM_COUNT] = &[
    "given_name",
    "family_name",
    "email",
    "siret",
    "idp_id",
    "birthdate",
    "birthplace",
    "birthcountry",
    "gender",
];

/// One claim as the backend sees it: the text, and whether that text is JSON (a claim that
/// was not a JSON string: number, boolean, array, object, written compactly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimText<'a> {
    pub name: &'a str,
    pub value: &'a str,
    pub json: bool,
}

/// The fixed parts of an identity, borrowed while it is built.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdentityFields<'a> {
    /// Provider name as configured (`fc`).
    pub provider: &'a str,
    pub issuer: &'a str,
    pub sub: &'a str,
    /// The acr the provider asserted for this session (`eidas1`).
    pub acr: &'a str,
    /// Stable user key built from issuer + sub (never email).
    pub user_key: &'a str,
    /// Value for REMOTE_USER (the configured claim, `sub` by default).
    pub remote_user: &'a str,
}

/// A range of `Parts::text` (u32: identities are built from provider answers of at most
/// `http::MAX_BODY` bytes).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

/// A claim value: its span in `Parts::text`, and whether it is JSON in the top bit of `end`.
#[derive(Clone, Copy)]
struct ValueSpan {
    start: u32,
    end_and_json: u32,
}

const JSON_BIT: u32 = 1 << 31;

impl ValueSpan {
    fn span(&self) -> Span {
        Span {
            start: self.start,
            end: self.end_and_json & !JSON_BIT,
        }
    }

    fn json(&self) -> bool {
        self.end_and_json & JSON_BIT != 0
    }
}

const UNIFORM_COUNT: usize = 9;
/// `Shape::uniform` for an absent claim (or one past index 254: looked up instead).
const NO_CLAIM: u8 = u8::MAX;

/// Indexes of `Parts::fixed`.
const PROVIDER: usize = 0;
const SUB: usize = 1;
const ACR: usize = 2;
const USER_KEY: usize = 3;
const REMOTE_USER: usize = 4;

/// Distinct issuers and claim-name lists kept for sharing; past that, an identity has its own.
const MAX_SHARED: usize = 256;

/// Locks a sharing table; one poisoned by a panic elsewhere is still a valid table.
fn lock<T>(table: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    table.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The issuer as an `Arc` shared by every identity of that provider in the process: it is
/// 50 bytes or so at the federations and repeated in each cached session.
fn shared_issuer(issuer: &str) -> Arc<str> {
    static ISSUERS: Mutex<Vec<Arc<str>>> = Mutex::new(Vec::new());
    let mut known = lock(&ISSUERS);
    if let Some(found) = known.iter().find(|known| ***known == *issuer) {
        return Arc::clone(found);
    }
    let new: Arc<str> = Arc::from(issuer);
    if known.len() < MAX_SHARED {
        known.push(Arc::clone(&new));
    }
    new
}

/// An identity's claim names, sorted, and what depends on them alone. The sessions of a
/// provider nearly all carry the same claims: one shape serves them all (see [`shape_of`]),
/// and each identity keeps only its values.
struct Shape {
    names: Box<[Box<str>]>,
    /// Index in `names` of each of [`UNIFORM_CLAIMS`] (`NO_CLAIM` when absent), found once:
    /// every request of an Apache site reads them all.
    uniform: [u8; UNIFORM_COUNT],
    /// What `backend_names` derives from the names, built on first use and shared by every
    /// identity of this shape.
    derived_names: ShapeNames,
}

/// What `backend_names` derives from a shape's claim names (see [`Identity::shape_names`]).
#[derive(Default)]
pub(crate) struct ShapeNames {
    /// Every name is already lower-case letters, digits and `_`: a name-folding lookup (nginx
    /// variable names) cannot find anything an exact lookup would not.
    pub(crate) folded: OnceLock<bool>,
    /// The claims' environment and header names: Apache sets them on every request.
    pub(crate) env: OnceLock<Box<[Box<str>]>>,
    pub(crate) header: OnceLock<Box<[Box<str>]>>,
}

impl Shape {
    fn new(names: &[&str]) -> Shape {
        let position = |name: &str| names.binary_search(&name).ok();
        let mut uniform = [NO_CLAIM; UNIFORM_COUNT];
        for (slot, name) in uniform.iter_mut().zip(UNIFORM_CLAIMS) {
            let found = match *name {
                "family_name" => position("family_name").or_else(|| position("usual_name")),
                name => position(name),
            };
            *slot = found.and_then(|i| u8::try_from(i).ok()).unwrap_or(NO_CLAIM);
        }
        Shape {
            names: names.iter().map(|n| Box::from(*n)).collect(),
            uniform,
            derived_names: ShapeNames::default(),
        }
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.names.binary_search_by(|n| (**n).cmp(name)).ok()
    }
}

/// The shared shape for these sorted names.
fn shape_of(names: &[&str]) -> Arc<Shape> {
    static SHAPES: Mutex<Vec<Arc<Shape>>> = Mutex::new(Vec::new());
    let mut known = lock(&SHAPES);
    let same = |shape: &&Arc<Shape>| {
        shape.names.len() == names.len() && shape.names.iter().zip(names).all(|(a, b)| **a == **b)
    };
    if let Some(found) = known.iter().find(same) {
        return Arc::clone(found);
    }
    let new = Arc::new(Shape::new(names));
    if known.len() < MAX_SHARED {
        known.push(Arc::clone(&new));
    }
    new
}

/// Every claim as one JSON object (`SESAME_CLAIMS`), and the same percent-encoded for a
/// request header (`X-Sesame-Claims`), each written once per identity.
struct ClaimsJson {
    json: Box<str>,
    header: OnceLock<Box<str>>,
}

/// `{"name":value,...}` in name order: string claims as JSON strings, the others as the
/// compact JSON they already are.
fn claims_object(identity: &Identity) -> String {
    let mut out = String::with_capacity(
        2 + identity
            .claims()
            .map(|c| c.name.len() + c.value.len() + 8)
            .sum::<usize>(),
    );
    out.push('{');
    for (i, c) in identity.claims().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_string(&mut out, c.name);
        out.push(':');
        if c.json {
            out.push_str(c.value);
        } else {
            push_json_string(&mut out, c.value);
        }
    }
    out.push('}');
    out
}

/// `s` as a JSON string (serde_json's escaping: quotes, backslash, control characters).
fn push_json_string(out: &mut String, s: &str) {
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        // Serialising a &str cannot fail; an empty string keeps the object well-formed.
        Err(_) => out.push_str("\"\""),
    }
}

/// One data call's result as the backend reads it: the JSON text, or why there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataText<'a> {
    /// Upper-cased, as configured: `SESAME_DATA_<NAME>`.
    pub name: &'a str,
    pub json: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// A data result: `(NAME, Ok(json text) | Err(reason))`.
type DataItem = (Box<str>, Result<Box<str>, Box<str>>);

/// The cell of each data result's variable names (value, error), derived by `backend_names`.
pub(crate) type DataEnvNames = OnceLock<Box<[(Box<str>, Box<str>)]>>;

/// An identity's data results (`data NAME URL ...` of its provider), kept next to the claims.
#[derive(Clone)]
struct DataParts {
    /// By name.
    items: Box<[DataItem]>,
    /// Every result as one JSON object `{"NAME": <json>}` (`SESAME_DATA`), "" without any.
    object: Box<str>,
    /// Every failure as one JSON object `{"NAME": "reason"}` (`SESAME_DATA_ERRORS`), "" without any.
    errors: Box<str>,
    /// What `backend_names` derives from the names, built on first use.
    env_names: DataEnvNames,
}

struct Parts {
    /// One per provider, shared by every identity of the process (see [`shared_issuer`]).
    issuer: Arc<str>,
    /// The claim names, shared (see [`shape_of`]).
    shape: Arc<Shape>,
    /// Every other string of the identity, one after the other.
    text: Box<str>,
    fixed: [Span; 5],
    /// The claims' values, in the order of `shape.names`.
    values: Box<[ValueSpan]>,
    /// `compat::variables_of`, built on first use (`Identity::mod_auth_openidc`).
    mod_auth_openidc: OnceLock<Vec<(String, String)>>,
    /// `SESAME_CLAIMS` and its header form, built on first use (boxed: an identity whose
    /// server never asks for it pays one pointer in the session cache).
    claims_json: OnceLock<Box<ClaimsJson>>,
    /// The login proved a second factor (`Session::mfa`).
    mfa: bool,
    /// When the user authenticated at the provider (`Session::auth_time`).
    auth_time: u64,
    /// The federation of the provider that issued it (rules that depend on it, e.g. whether an
    /// absent `email_verified` vouches for the address). Generic unless set: fail closed.
    federation: Federation,
    /// The access token handed to the backend with this request (`sesame_pass_access_token`);
    /// never set on an identity the session cache shares.
    access: Option<Box<HandedToken>>,
    /// The data calls' results (boxed: most identities have none and pay one pointer).
    data: Option<Box<DataParts>>,
}

/// An access token as the backend receives it: `SESAME_ACCESS_TOKEN`,
/// `SESAME_ACCESS_TOKEN_EXPIRES` (Unix seconds, decimal) and `SESAME_SCOPE`. `Debug` shows
/// no token.
#[derive(Clone, PartialEq, Eq)]
pub struct HandedToken {
    pub token: String,
    pub expires: String,
    pub scope: String,
}

impl fmt::Debug for HandedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandedToken")
            .field("expires", &self.expires)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// The verified identity handed to the backend. Immutable; a clone shares it.
#[derive(Clone)]
pub struct Identity(Arc<Parts>);

impl Default for Identity {
    fn default() -> Identity {
        Identity::new(IdentityFields::default(), &[])
    }
}

impl fmt::Debug for Identity {
    /// Names only: claim values are personal data and have no place in debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("provider", &self.provider())
            .field("acr", &self.acr())
            .field("user_key", &self.user_key())
            .field("claims", &self.claims().map(|c| c.name).collect::<Vec<_>>())
            .finish()
    }
}

struct Writer {
    text: String,
}

impl Writer {
    /// Appends `s`; None once the text would pass 2 GiB (the top bit of a value's end is its
    /// JSON flag).
    fn push(&mut self, s: &str) -> Option<Span> {
        let start = u32::try_from(self.text.len()).ok()?;
        let end = u32::try_from(self.text.len() + s.len())
            .ok()
            .filter(|end| end & JSON_BIT == 0)?;
        self.text.push_str(s);
        Some(Span { start, end })
    }

    /// The span of an equal string already written among `known`, else `s` appended: `sub`
    /// is also a claim and usually REMOTE_USER, and is 64 characters at FranceConnect.
    fn push_shared(&mut self, s: &str, known: &[Span]) -> Option<Span> {
        let found = known.iter().find(|span| text_at(&self.text, **span) == s);
        match found {
            Some(span) => Some(*span),
            None => self.push(s),
        }
    }
}

fn text_at(text: &str, span: Span) -> &str {
    text.get(span.start as usize..span.end as usize)
        .unwrap_or_default()
}

impl Identity {
    /// Builds an identity; claims are kept sorted by name (a repeated name keeps its first
    /// value). Values that would not fit the 2 GiB text buffer are left out (never reached:
    /// provider bodies are at most 1 MiB).
    pub fn new(fields: IdentityFields<'_>, claims: &[ClaimText<'_>]) -> Identity {
        let fixed_strings = [
            fields.provider,
            fields.sub,
            fields.acr,
            fields.user_key,
            fields.remote_user,
        ];
        let mut sorted: Vec<&ClaimText<'_>> = claims.iter().collect();
        sorted.sort_by(|a, b| a.name.cmp(b.name));
        sorted.dedup_by(|later, first| later.name == first.name);
        let len = fixed_strings.iter().map(|s| s.len()).sum::<usize>()
            + sorted.iter().map(|c| c.value.len()).sum::<usize>();
        let mut w = Writer {
            text: String::with_capacity(len),
        };
        let mut names = Vec::with_capacity(sorted.len());
        let mut values = Vec::with_capacity(sorted.len());
        for c in &sorted {
            let Some(span) = w.push(c.value) else {
                continue;
            };
            names.push(c.name);
            values.push(ValueSpan {
                start: span.start,
                end_and_json: span.end | if c.json { JSON_BIT } else { 0 },
            });
        }
        // The fixed parts reuse a claim's text when equal (`sub` is also a claim).
        let mut known: Vec<Span> = values.iter().map(ValueSpan::span).collect();
        let mut fixed = [Span::default(); 5];
        for (slot, s) in fixed.iter_mut().zip(fixed_strings) {
            *slot = w.push_shared(s, &known).unwrap_or_default();
            known.push(*slot);
        }
        Identity(Arc::new(Parts {
            issuer: shared_issuer(fields.issuer),
            shape: shape_of(&names),
            text: w.text.into_boxed_str(),
            fixed,
            values: values.into_boxed_slice(),
            mod_auth_openidc: OnceLock::new(),
            claims_json: OnceLock::new(),
            mfa: false,
            auth_time: 0,
            federation: Federation::Generic,
            access: None,
            data: None,
        }))
    }

    /// This identity for one request that also hands `token` to the backend. The identity
    /// shared with the session cache is left without it: a copy is made (its lazily built
    /// views start empty).
    pub(crate) fn with_access(&self, token: HandedToken) -> Identity {
        let p = &self.0;
        Identity(Arc::new(Parts {
            issuer: Arc::clone(&p.issuer),
            shape: Arc::clone(&p.shape),
            text: p.text.clone(),
            fixed: p.fixed,
            values: p.values.clone(),
            mod_auth_openidc: OnceLock::new(),
            claims_json: OnceLock::new(),
            mfa: p.mfa,
            auth_time: p.auth_time,
            federation: p.federation,
            access: Some(Box::new(token)),
            data: p.data.clone(),
        }))
    }

    /// The access token handed to the backend with this request, if any.
    pub fn access(&self) -> Option<&HandedToken> {
        self.0.access.as_deref()
    }

    /// The same identity with the facts its login verified (`Session::mfa`) and its provider's
    /// federation. Called on a freshly built identity; a shared one is left as it is (not MFA,
    /// generic, authenticated at time 0: fail closed).
    pub(crate) fn with_login_facts(mut self, mfa: bool, federation: Federation) -> Identity {
        if let Some(parts) = Arc::get_mut(&mut self.0) {
            parts.mfa = mfa;
            parts.federation = federation;
        }
        self
    }

    /// The same identity with the time its user authenticated at the provider.
    pub(crate) fn with_auth_time(mut self, auth_time: u64) -> Identity {
        if let Some(parts) = Arc::get_mut(&mut self.0) {
            parts.auth_time = auth_time;
        }
        self
    }

    /// Unix seconds of the user's authentication at the provider (`Session::auth_time`).
    /// The data results of the login, `(NAME, Ok(json text) | Err(reason))`.
    pub(crate) fn with_data<'a>(
        mut self,
        items: impl Iterator<Item = (&'a str, Result<&'a str, &'a str>)>,
    ) -> Identity {
        let mut items: Vec<DataItem> = items
            .map(|(name, r)| (Box::from(name), r.map(Box::from).map_err(Box::from)))
            .collect();
        if items.is_empty() {
            return self;
        }
        items.sort_by(|a, b| a.0.cmp(&b.0));
        let (mut object, mut errors) = (String::new(), String::new());
        for (name, result) in &items {
            let out = if result.is_ok() {
                &mut object
            } else {
                &mut errors
            };
            out.push(if out.is_empty() { '{' } else { ',' });
            push_json_string(out, name);
            out.push(':');
            match result {
                Ok(json) => out.push_str(json),
                Err(reason) => push_json_string(out, reason),
            }
        }
        for out in [&mut object, &mut errors] {
            if !out.is_empty() {
                out.push('}');
            }
        }
        if let Some(parts) = Arc::get_mut(&mut self.0) {
            parts.data = Some(Box::new(DataParts {
                items: items.into_boxed_slice(),
                object: object.into_boxed_str(),
                errors: errors.into_boxed_str(),
                env_names: OnceLock::new(),
            }));
        }
        self
    }

    fn data_items(&self) -> &[DataItem] {
        self.0.data.as_deref().map_or(&[], |d| &d.items)
    }

    /// The data results, sorted by name.
    pub fn data(&self) -> impl ExactSizeIterator<Item = DataText<'_>> + '_ {
        self.data_items().iter().map(|(name, result)| DataText {
            name,
            json: result.as_deref().ok(),
            error: result.as_ref().err().map(|e| &**e),
        })
    }

    /// The result of data call `name` (upper-cased, as configured).
    pub fn data_named(&self, name: &str) -> Option<DataText<'_>> {
        self.data().find(|d| d.name == name)
    }

    /// Every data result as one JSON object (`SESAME_DATA`), "" when there is none.
    pub fn data_object(&self) -> &str {
        self.0.data.as_deref().map_or("", |d| &d.object)
    }

    /// Every failed data call's reason as one JSON object (`SESAME_DATA_ERRORS`), "" when none.
    pub fn data_errors(&self) -> &str {
        self.0.data.as_deref().map_or("", |d| &d.errors)
    }

    /// The cell `backend_names` keeps each result's variable names in (None without data).
    pub(crate) fn data_env_names_view(&self) -> Option<&DataEnvNames> {
        self.0.data.as_deref().map(|d| &d.env_names)
    }

    pub fn auth_time(&self) -> u64 {
        self.0.auth_time
    }

    /// The federation of the provider that issued this identity.
    pub fn federation(&self) -> Federation {
        self.0.federation
    }

    /// True when the login proved a second factor (multi-factor acr, consistent amr).
    pub fn mfa(&self) -> bool {
        self.0.mfa
    }

    fn str_at(&self, span: Span) -> &str {
        text_at(&self.0.text, span)
    }

    pub fn provider(&self) -> &str {
        self.str_at(self.0.fixed[PROVIDER])
    }

    pub fn issuer(&self) -> &str {
        &self.0.issuer
    }

    pub fn sub(&self) -> &str {
        self.str_at(self.0.fixed[SUB])
    }

    pub fn acr(&self) -> &str {
        self.str_at(self.0.fixed[ACR])
    }

    pub fn user_key(&self) -> &str {
        self.str_at(self.0.fixed[USER_KEY])
    }

    pub fn remote_user(&self) -> &str {
        self.str_at(self.0.fixed[REMOTE_USER])
    }

    /// Every claim, sorted by name.
    pub fn claims(&self) -> impl ExactSizeIterator<Item = ClaimText<'_>> + Clone + '_ {
        let names = self.0.shape.names.iter();
        names
            .zip(self.0.values.iter())
            .map(|(name, value)| ClaimText {
                name,
                value: self.str_at(value.span()),
                json: value.json(),
            })
    }

    pub fn claim_count(&self) -> usize {
        self.0.values.len()
    }

    /// The i-th claim in name order.
    pub fn claim_at(&self, i: usize) -> Option<ClaimText<'_>> {
        let value = self.0.values.get(i)?;
        Some(ClaimText {
            name: self.0.shape.names.get(i)?,
            value: self.str_at(value.span()),
            json: value.json(),
        })
    }

    /// One claim, by its exact name.
    pub fn claim_text(&self, name: &str) -> Option<ClaimText<'_>> {
        self.claim_at(self.0.shape.find(name)?)
    }

    /// The value of one claim, if present.
    pub fn claim(&self, name: &str) -> Option<&str> {
        self.claim_text(name).map(|c| c.value)
    }

    /// A claim under one name whatever the federation (`given_name`, `family_name` = FC
    /// `family_name` or ProConnect `usual_name`, `email`, `siret`, `idp_id`, FC birth data:
    /// `birthdate`, `birthplace`, `birthcountry`, `gender`). See [`UNIFORM_CLAIMS`].
    pub fn uniform(&self, name: &str) -> Option<&str> {
        let i = UNIFORM_CLAIMS.iter().position(|n| *n == name)?;
        self.uniform_at(i).map(|(_, value)| value)
    }

    /// The i-th of [`UNIFORM_CLAIMS`]: its name and, when the identity has it, its value.
    pub fn uniform_at(&self, i: usize) -> Option<(&'static str, &str)> {
        let name = *UNIFORM_CLAIMS.get(i)?;
        let value = match *self.0.shape.uniform.get(i)? {
            NO_CLAIM if self.claim_count() > usize::from(NO_CLAIM) => {
                // Past the indexes a u8 holds: look it up.
                let found = match name {
                    "family_name" => self
                        .claim("family_name")
                        .or_else(|| self.claim("usual_name")),
                    name => self.claim(name),
                };
                return found.map(|v| (name, v));
            }
            NO_CLAIM => return None,
            index => self.claim_at(usize::from(index))?.value,
        };
        Some((name, value))
    }

    /// `SESAME_CLAIMS`: every claim as one JSON object, in name order (string claims as JSON
    /// strings, UTF-8 kept; the others as their compact JSON). Built on the first call, then
    /// shared by every request of the identity.
    pub fn claims_json(&self) -> &str {
        &self.claims_json_view().json
    }

    /// The claim names, in claim order (what `backend_names` derives names from).
    pub(crate) fn claim_names(&self) -> &[Box<str>] {
        &self.0.shape.names
    }

    /// The names `backend_names` derives from this identity's claim names, shared by every
    /// identity with the same claim names.
    pub(crate) fn shape_names(&self) -> &ShapeNames {
        &self.0.shape.derived_names
    }

    /// Where `compat` keeps the mod_auth_openidc view, built on its first use.
    pub(crate) fn mod_auth_openidc_view(&self) -> &OnceLock<Vec<(String, String)>> {
        &self.0.mod_auth_openidc
    }

    /// Where `claims` keeps [`Identity::claims_json`] encoded for a request header, built on
    /// its first use.
    pub(crate) fn claims_json_header_view(&self) -> (&str, &OnceLock<Box<str>>) {
        let view = self.claims_json_view();
        (&view.json, &view.header)
    }

    fn claims_json_view(&self) -> &ClaimsJson {
        self.0.claims_json.get_or_init(|| {
            Box::new(ClaimsJson {
                json: claims_object(self).into_boxed_str(),
                header: OnceLock::new(),
            })
        })
    }

    /// Heap bytes held by this identity alone (its share of the session cache), without what
    /// it shares with others (issuer, claim names) and the lazy mod_auth_openidc view.
    #[cfg(test)]
    fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Parts>()
            + self.0.text.len()
            + self.0.values.len() * std::mem::size_of::<ValueSpan>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim<'a>(name: &'a str, value: &'a str) -> ClaimText<'a> {
        ClaimText {
            name,
            value,
            json: false,
        }
    }

    fn sample() -> Identity {
        Identity::new(
            IdentityFields {
                provider: "fc",
                issuer: "https://op/api/v2",
                sub: "s1",
                acr: "eidas1",
                user_key: "k1",
                remote_user: "r1",
            },
            &[
                claim("given_name", "Élodie"),
                claim("email", "e@x.fr"),
                ClaimText {
                    name: "amr",
                    value: r#"["pwd","mfa"]"#,
                    json: true,
                },
                claim("usual_name", "Dupont"),
            ],
        )
    }

    #[test]
    fn fixed_parts_and_claims_read_back() {
        let id = sample();
        assert_eq!(
            (id.provider(), id.issuer(), id.sub(), id.acr()),
            ("fc", "https://op/api/v2", "s1", "eidas1")
        );
        assert_eq!((id.user_key(), id.remote_user()), ("k1", "r1"));
        let names: Vec<&str> = id.claims().map(|c| c.name).collect();
        assert_eq!(names, ["amr", "email", "given_name", "usual_name"]);
        assert_eq!(id.claim("given_name"), Some("Élodie"));
        assert_eq!(id.claim("given"), None);
        assert_eq!(id.claim("zzz"), None);
        assert!(id.claim_text("amr").is_some_and(|c| c.json));
        assert!(id.claim_text("email").is_some_and(|c| !c.json));
        assert_eq!(id.claim_at(1).map(|c| c.value), Some("e@x.fr"));
        assert_eq!(id.claim_at(4), None);
    }

    #[test]
    fn uniform_names_map_federation_claims() {
        let id = sample();
        assert_eq!(id.uniform("family_name"), Some("Dupont"));
        assert_eq!(id.uniform("given_name"), Some("Élodie"));
        assert_eq!(id.uniform("usual_name"), None, "not a uniform name");
    }

    #[test]
    fn uniform_claims_are_indexed_in_their_order() {
        let id = sample();
        assert_eq!(id.uniform_at(0), Some(("given_name", "Élodie")));
        assert_eq!(id.uniform_at(1), Some(("family_name", "Dupont")));
        assert_eq!(id.uniform_at(2), Some(("email", "e@x.fr")));
        assert_eq!(id.uniform_at(3), None, "no siret");
        assert_eq!(id.uniform_at(UNIFORM_CLAIMS.len()), None);
        // family_name wins over usual_name when both are there.
        let both = Identity::new(
            IdentityFields::default(),
            &[claim("usual_name", "U"), claim("family_name", "F")],
        );
        assert_eq!(both.uniform("family_name"), Some("F"));
    }

    #[test]
    fn uniform_claims_past_255_claims_are_still_found() {
        let names: Vec<String> = (0..300).map(|i| format!("c{i:03}")).collect();
        let mut claims: Vec<ClaimText<'_>> = names.iter().map(|n| claim(n, "v")).collect();
        claims.push(claim("usual_name", "Dupont"));
        claims.push(claim("siret", "21750001600019"));
        let id = Identity::new(IdentityFields::default(), &claims);
        assert_eq!(id.uniform("family_name"), Some("Dupont"));
        assert_eq!(id.uniform("siret"), Some("21750001600019"));
        assert_eq!(id.uniform("email"), None);
    }

    #[test]
    fn a_clone_shares_the_identity() {
        let id = sample();
        let copy = id.clone();
        assert!(Arc::ptr_eq(&id.0, &copy.0));
        assert_eq!(Arc::strong_count(&id.0), 2);
    }

    #[test]
    fn folded_names_are_detected() {
        assert!(sample().claim_names_are_folded());
        let odd = Identity::new(
            IdentityFields::default(),
            &[claim("chorusdt:matricule", "1")],
        );
        assert!(!odd.claim_names_are_folded());
        assert!(
            !Identity::new(IdentityFields::default(), &[claim("Given", "x")])
                .claim_names_are_folded()
        );
    }

    #[test]
    fn mod_auth_openidc_view_is_built_once_on_demand() {
        let id = sample();
        assert!(id.0.mod_auth_openidc.get().is_none(), "not built eagerly");
        let first = id.mod_auth_openidc().as_ptr();
        assert_eq!(id.mod_auth_openidc()[0].0, "REMOTE_USER");
        assert_eq!(id.clone().mod_auth_openidc().as_ptr(), first);
    }

    #[test]
    fn identities_of_one_issuer_and_claim_names_share_them() {
        let (a, b) = (sample(), sample());
        assert!(Arc::ptr_eq(&a.0.issuer, &b.0.issuer));
        assert!(Arc::ptr_eq(&a.0.shape, &b.0.shape));
        let other = Identity::new(IdentityFields::default(), &[claim("email", "x@y.fr")]);
        assert!(!Arc::ptr_eq(&a.0.shape, &other.0.shape));
        assert_eq!(a.issuer(), "https://op/api/v2");
    }

    #[test]
    fn sesame_claims_is_every_claim_as_one_json_object_built_once() {
        let id = sample();
        let parsed: serde_json::Value = serde_json::from_str(id.claims_json()).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({
                "amr": ["pwd", "mfa"], "email": "e@x.fr", "given_name": "Élodie",
                "usual_name": "Dupont"
            })
        );
        assert!(id.claims_json().contains("Élodie"), "UTF-8 kept as it is");
        assert_eq!(id.claims_json().as_ptr(), id.clone().claims_json().as_ptr());
        let header = id.claims_json_header();
        assert!(header
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
        assert_eq!(header.as_ptr(), id.claims_json_header().as_ptr());
        let decoded = percent_encoding::percent_decode_str(header)
            .decode_utf8()
            .unwrap();
        assert_eq!(decoded, id.claims_json());
    }

    #[test]
    fn sesame_claims_escapes_what_json_strings_cannot_hold() {
        let id = Identity::new(
            IdentityFields::default(),
            &[claim("quote\"name", "a\"b\\c\td"), claim("empty", "")],
        );
        let parsed: serde_json::Value = serde_json::from_str(id.claims_json()).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({"empty": "", "quote\"name": "a\"b\\c\td"})
        );
        assert_eq!(Identity::default().claims_json(), "{}");
    }

    #[test]
    fn debug_output_leaves_values_out() {
        let shown = format!("{:?}", sample());
        assert!(shown.contains("given_name"));
        assert!(!shown.contains("Élodie"));
        assert!(!shown.contains("e@x.fr"));
    }

    #[test]
    fn a_typical_identity_is_compact() {
        // FranceConnect's test user with every scope: the cache holds one of these per
        // active session (budget: <= 10 MiB for 10,000 sessions, everything included).
        let id = Identity::new(
            IdentityFields {
                provider: "fc",
                issuer: "https://fcp-low.sbx.dev-franceconnect.fr/api/v2",
                sub: "b6048e95bb134ec5b1d1e1fa69f287172e91722b9354d637a1bcf2ebb0fd2ef5v1",
                acr: "eidas1",
                user_key: "0123456789abcdef0123456789abcdef",
                remote_user: "b6048e95bb134ec5b1d1e1fa69f287172e91722b9354d637a1bcf2ebb0fd2ef5v1",
            },
            &[
                claim("given_name", "Angela Claire Louise"),
                claim("family_name", "DUBOIS"),
                claim("birthdate", "1962-08-24"),
                claim("gender", "female"),
                claim("birthplace", "75107"),
                claim("birthcountry", "99100"),
                claim("email", "wossewodda-3728@yopmail.com"),
                claim("preferred_username", ""),
                claim(
                    "sub",
                    "b6048e95bb134ec5b1d1e1fa69f287172e91722b9354d637a1bcf2ebb0fd2ef5v1",
                ),
                claim("idp_birthdate", "1962-08-24"),
                ClaimText {
                    name: "given_name_array",
                    value: r#"["Angela","Claire","Louise"]"#,
                    json: true,
                },
            ],
        );
        assert!(id.heap_bytes() < 500, "{} bytes", id.heap_bytes());
        // sub is written once and read back in its three places.
        let sub = "b6048e95bb134ec5b1d1e1fa69f287172e91722b9354d637a1bcf2ebb0fd2ef5v1";
        assert_eq!(id.0.text.matches(sub).count(), 1);
        assert_eq!(
            (id.sub(), id.remote_user(), id.claim("sub")),
            (sub, sub, Some(sub))
        );
        assert_eq!(
            id.claim("given_name_array"),
            Some(r#"["Angela","Claire","Louise"]"#)
        );
        assert!(id.claim_text("given_name_array").is_some_and(|c| c.json));
        assert_eq!(id.claim("preferred_username"), Some(""));
    }
}

//! C ABI: the identity of an allowed request — Sesame's variables, the uniform claims, the
//! mod_auth_openidc variables — and the Apache shim's Require rules on it.
//!
//! An outcome keeps the identity as the core hands it (shared with the session cache), and
//! reads from it on demand: a request that only needs environment variables costs no copy
//! and no encoding (measured with `make bench`). What has to be formatted for C callers (the
//! `claim_<name>` variable names, header-encoded values) is built on the first call asking for
//! it, once per outcome.

use std::ffi::{c_char, c_int, c_void};

use super::config::SesameHandle;
use super::outcome::{with_outcome, SesameOutcome};
use super::SESAME_ALLOW;
use super::{guarded, in_lossy, out_str, SesameStr, EMPTY};
use crate::backend_names;
use crate::claims::encode_header_value;
use crate::identity::{Identity, UNIFORM_CLAIMS};

/// Called once per (name, value) pair by the `sesame_outcome_each_*` functions; both strings
/// are valid for the duration of the call only (copy them).
pub type SesamePairFn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, name: SesameStr, value: SesameStr)>;

/// Calls `f` with each pair; returns how many.
///
/// # Safety
/// `f` must be safe to call with `user_data`.
unsafe fn each_pair<'a, V: AsRef<str>>(
    pairs: impl Iterator<Item = (&'a str, V)>,
    f: SesamePairFn,
    user_data: *mut c_void,
) -> usize {
    let Some(f) = f else {
        return 0;
    };
    let mut n = 0;
    for (name, value) in pairs {
        // SAFETY: the caller vouches for `f` and `user_data`; both strings live until the
        // call returns.
        unsafe { f(user_data, out_str(name), out_str(value.as_ref())) };
        n += 1;
    }
    n
}

/// Every environment variable of an allowed identity (SESAME_ALLOW only), with its final
/// name, for servers that set the backend's environment (Apache `r->subprocess_env`):
/// `SESAME_PROVIDER`, `SESAME_ACR`, `SESAME_USER`, `SESAME_CLAIMS` (every claim as one JSON
/// object), `SESAME_CLAIM_<NAME>` for every claim, the present uniform claims
/// (`SESAME_GIVEN_NAME`...), and `SESAME_ACCESS_TOKEN`, `SESAME_ACCESS_TOKEN_EXPIRES`,
/// `SESAME_SCOPE` when this request hands the access token over. Empty values are left out;
/// `REMOTE_USER` too (the server's user field). Calls `f` once per variable and returns how
/// many; 0 for NULL `o` or `f`.
///
/// # Safety
/// `o` must be NULL or a live outcome; `f` NULL or safe to call with `user_data`.
#[no_mangle]
pub unsafe extern "C" fn sesame_outcome_each_env(
    o: *const SesameOutcome,
    f: SesamePairFn,
    user_data: *mut c_void,
) -> usize {
    // SAFETY: `o` is NULL or a live outcome, `f` callable with `user_data` (this function's
    // contract).
    unsafe {
        with_outcome(o, 0, |o| {
            o.allowed()
                .map_or(0, |id| each_pair(backend_names::env_vars(id), f, user_data))
        })
    }
}

/// Every request header for proxied applications of an allowed identity (SESAME_ALLOW only),
/// final names and percent-encoded values (every byte outside `[A-Za-z0-9-._~]` as %XX):
/// `X-Sesame-Provider`, `X-Sesame-Acr`, `X-Sesame-User`, `X-Sesame-Claims`,
/// `X-Sesame-Claim-<Name>` for every claim, the present uniform claims (`X-Sesame-Given-Name`...).
/// Empty values are left out. Calls `f` once per header and returns how many.
///
/// # Safety
/// `o` must be NULL or a live outcome; `f` NULL or safe to call with `user_data`.
#[no_mangle]
pub unsafe extern "C" fn sesame_outcome_each_header(
    o: *const SesameOutcome,
    f: SesamePairFn,
    user_data: *mut c_void,
) -> usize {
    // SAFETY: as sesame_outcome_each_env.
    unsafe {
        with_outcome(o, 0, |o| {
            o.allowed().map_or(0, |id| {
                each_pair(backend_names::header_vars(id), f, user_data)
            })
        })
    }
}

/// The `OIDC_CLAIM_<claim>` variables of an allowed identity as mod_auth_openidc passes them
/// (SESAME_ALLOW only), empty values left out; not `REMOTE_USER` (`sub@issuer`, the server's
/// user field: see `sesame_outcome_oidc_var`), then the handed access token under Sesame's
/// names (`SESAME_ACCESS_TOKEN`...) when there is one. Calls `f` once per variable, returns how
/// many.
///
/// # Safety
/// `o` must be NULL or a live outcome; `f` NULL or safe to call with `user_data`.
#[no_mangle]
pub unsafe extern "C" fn sesame_outcome_each_oidc_env(
    o: *const SesameOutcome,
    f: SesamePairFn,
    user_data: *mut c_void,
) -> usize {
    // SAFETY: as sesame_outcome_each_env.
    unsafe {
        with_outcome(o, 0, |o| {
            o.allowed().map_or(0, |id| {
                let claims = id.mod_auth_openidc().iter().filter(|(name, value)| {
                    name.starts_with(backend_names::OIDC_CLAIM_PREFIX) && !value.is_empty()
                });
                // The handed access token keeps Sesame's names in this mode too.
                let handed = backend_names::Handed::ALL
                    .into_iter()
                    .filter_map(|h| Some((h.env_name(), h.value(id)?)));
                let all = claims.map(|(n, v)| (n.as_str(), v.as_str())).chain(handed);
                each_pair(all, f, user_data)
            })
        })
    }
}

/// `provider`, `acr`, `user_key`, `remote_user`: the first identity variables.
const FIXED_VARS: [&str; 4] = ["provider", "acr", "user_key", "remote_user"];

fn fixed_value(id: &Identity, i: usize) -> Option<&str> {
    match i {
        0 => Some(id.provider()),
        1 => Some(id.acr()),
        2 => Some(id.user_key()),
        3 => Some(id.remote_user()),
        _ => None,
    }
}

impl SesameOutcome {
    fn allowed(&self) -> Option<&Identity> {
        self.identity.as_ref().filter(|_| self.kind == SESAME_ALLOW)
    }

    fn var_value(&self, i: usize) -> Option<&str> {
        let id = self.allowed()?;
        match i.checked_sub(FIXED_VARS.len()) {
            None => fixed_value(id, i),
            Some(c) => id.claim_at(c).map(|claim| claim.value),
        }
    }

    fn var(&self, i: usize) -> Option<(&str, &str)> {
        let value = self.var_value(i)?;
        let name = match i.checked_sub(FIXED_VARS.len()) {
            None => FIXED_VARS.get(i).copied()?,
            Some(c) => {
                let names = self.views.claim_var_names.get_or_init(|| {
                    self.allowed()
                        .map(|id| id.claims().map(|c| format!("claim_{}", c.name)).collect())
                        .unwrap_or_default()
                });
                names.get(c)?.as_str()
            }
        };
        Some((name, value))
    }

    fn var_count(&self) -> usize {
        self.allowed()
            .map_or(0, |id| FIXED_VARS.len() + id.claim_count())
    }

    fn uniform_present(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        let id = self.allowed();
        (0..UNIFORM_CLAIMS.len()).filter_map(move |i| id?.uniform_at(i))
    }
}

/// Stores a (name, value) pair for the caller: 0, or -1 when there is none.
///
/// # Safety
/// `name` and `value` must be NULL or writable.
unsafe fn put_pair(
    pair: Option<(&str, &str)>,
    name: *mut SesameStr,
    value: *mut SesameStr,
) -> c_int {
    match pair {
        Some((n, v)) if !name.is_null() && !value.is_null() => {
            // SAFETY: both are non-NULL and writable (caller contract).
            unsafe {
                *name = out_str(n);
                *value = out_str(v);
            }
            0
        }
        _ => -1,
    }
}

/// Number of identity variables (SESAME_ALLOW only): `provider`, `acr`, `user_key`,
/// `remote_user`, then `claim_<claim name>` for every claim (raw UTF-8 values; non-string
/// claims as compact JSON).
///
/// # Safety
/// `o` must be NULL or a live outcome.
#[no_mangle]
pub unsafe extern "C" fn sesame_outcome_var_count(o: *const SesameOutcome) -> usize {
    // SAFETY: `o` is NULL or a live outcome (this function's contract).
    unsafe { with_outcome(o, 0, SesameOutcome::var_count) }
}

/// The i-th identity variable: 0 with `*name`/`*value` set, -1 when out of range.
///
/// # Safety
/// `o` must be NULL or a live outcome; `name` and `value` writable.
#[no_mangle]
pub unsafe extern "C" fn sesame_outcome_var(
    o: *const SesameOutcome,
    i: usize,
    name: *mut SesameStr,
    value: *mut SesameStr,
) -> c_int {
    // SAFETY: `o` is NULL or a live outcome; name and value writable (this function's
    // contract).
    unsafe { with_outcome(o, -1, |o| put_pair(o.var(i), name, value)) }
}

/// The i-th identity variable's value percent-encoded for a request header (every byte
/// outside `[A-Za-z0-9-._~]` as %XX); `{NULL, 0}` when out of range.
///
/// # Safety
/// `o` must be NULL or a live outcome.
#[no_mangle]
pub unsafe extern "C" fn sesame_outcome_var_header_value(
    o: *const SesameOutcome,
    i: usize,
) -> SesameStr {
    // SAFETY: `o` is NULL or a live outcome (this function's contract).
    unsafe {
        with_outcome(o, EMPTY, |o| {
            let encoded = o.views.var_header_values.get_or_init(|| {
                (0..o.var_count())
                    .map(|k| encode_header_value(o.var_value(k).unwrap_or_default()))
                    .collect()
            });
            encoded.get(i).map_or(EMPTY, |e| out_str(e))
        })
    }
}

/// Number of claims of an allowed identity (the variables after the first four, without the
/// `claim_` prefix): what a caller setting one variable per claim iterates over.
///
/// # Safety
/// `o` must be NULL or a live outcome.
#[no_mangle]
pub unsafe extern "C" fn sesame_outcome_claim_count(o: *const SesameOutcome) -> usize {
    // SAFETY: `o` is NULL or a live outcome (this function's contract).
    unsafe { with_outcome(o, 0, |o| o.allowed().map_or(0, Identity::claim_count)) }
}

/// The i-th claim, in name order: 0 with `*name` (the provider's claim name) and `*value` (raw
/// UTF-8; non-string claims as compact JSON) set, -1 when out of range.
///
/// # Safety
/// `o` must be NULL or a live outcome; `name` and `value` writable.
#[no_mangle]
pub unsafe extern "C" fn sesame_outcome_claim(
    o: *const SesameOutcome,
    i: usize,
    name: *mut SesameStr,
    value: *mut SesameStr,
) -> c_int {
    // SAFETY: `o` is NULL or a live outcome; name and value writable (this function's
    // contract).
    unsafe {
        with_outcome(o, -1, |o| {
            let claim = o.allowed().and_then(|id| id.claim_at(i));
            put_pair(claim.map(|c| (c.name, c.value)), name, value)
        })
    }
}

/// Number of mod_auth_openidc-style variables of an allowed identity (SESAME_ALLOW only):
/// `REMOTE_USER` (`sub@issuer` without `https://`), then `OIDC_CLAIM_<claim>` for every claim.
///
/// # Safety
/// `o` must be NULL or a live outcome.
#[no_mangle]
pub unsafe extern "C" fn sesame_outcome_oidc_var_count(o: *const SesameOutcome) -> usize {
    // SAFETY: `o` is NULL or a live outcome (this function's contract).
    unsafe {
        with_outcome(o, 0, |o| {
            o.allowed().map_or(0, |id| id.mod_auth_openidc().len())
        })
    }
}

/// The i-th mod_auth_openidc-style variable: 0 with `*name`/`*value` set, -1 when out of range.
///
/// # Safety
/// `o` must be NULL or a live outcome; `name` and `value` writable.
#[no_mangle]
pub unsafe extern "C" fn sesame_outcome_oidc_var(
    o: *const SesameOutcome,
    i: usize,
    name: *mut SesameStr,
    value: *mut SesameStr,
) -> c_int {
    // SAFETY: `o` is NULL or a live outcome; name and value writable (this function's
    // contract).
    unsafe {
        with_outcome(o, -1, |o| {
            let var = o
                .allowed()
                .and_then(|id| id.mod_auth_openidc().get(i))
                .map(|(n, v)| (n.as_str(), v.as_str()));
            put_pair(var, name, value)
        })
    }
}

/// `Sesame::acr_satisfies`: 1 when the allowed identity's acr meets `wanted` (one or more
/// space-separated values) under its provider's federation rules — FranceConnect levels
/// ordered (eidas1 < eidas2 < eidas3), ProConnect and generic providers a set — else 0 (also
/// for a NULL core, a NULL or non-ALLOW outcome, or an empty rule).
///
/// # Safety
/// `s` NULL or a live core; `o` NULL or a live outcome; `wanted` valid for `wanted_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn sesame_outcome_acr_satisfies(
    s: *const SesameHandle,
    o: *const SesameOutcome,
    wanted: *const c_char,
    wanted_len: usize,
) -> c_int {
    let r = guarded(|| {
        // SAFETY: caller guarantees the (ptr, len) pair.
        let wanted = unsafe {
            in_lossy(
                SesameStr {
                    ptr: wanted,
                    len: wanted_len,
                },
                "acr rule",
            )?
        };
        let wanted: Vec<String> = wanted.split_whitespace().map(str::to_owned).collect();
        // SAFETY: the caller passes NULL or a live core.
        let Some(s) = (unsafe { s.as_ref() }) else {
            return Ok(false);
        };
        // SAFETY: `o` is NULL or a live outcome (this function's contract).
        Ok(unsafe {
            with_outcome(o, false, |o| {
                o.allowed().is_some_and(|id| s.0.acr_satisfies(id, &wanted))
            })
        })
    });
    c_int::from(r.unwrap_or(false))
}

/// Number of uniform claims of an allowed identity (`given_name`, `family_name` = FranceConnect
/// `family_name` or ProConnect `usual_name`, `email`, `siret`, `idp_id`, FranceConnect birth
/// data), as nginx's `$sesame_<name>` / `SESAME_<NAME>`.
///
/// # Safety
/// `o` must be NULL or a live outcome.
#[no_mangle]
pub unsafe extern "C" fn sesame_outcome_uniform_count(o: *const SesameOutcome) -> usize {
    // SAFETY: `o` is NULL or a live outcome (this function's contract).
    unsafe { with_outcome(o, 0, |o| o.uniform_present().count()) }
}

/// The i-th uniform claim: 0 with `*name` and `*value` set and, when `header_value` is not
/// NULL, `*header_value` (percent-encoded, built on first request); -1 when out of range.
///
/// # Safety
/// `o` must be NULL or a live outcome; `name` and `value` writable; `header_value` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn sesame_outcome_uniform(
    o: *const SesameOutcome,
    i: usize,
    name: *mut SesameStr,
    value: *mut SesameStr,
    header_value: *mut SesameStr,
) -> c_int {
    // SAFETY: `o` is NULL or a live outcome, name and value writable, header_value NULL or writable
    // (this function's # Safety, repeated in include/sesame.h).
    unsafe {
        with_outcome(o, -1, |o| {
            let rc = put_pair(o.uniform_present().nth(i), name, value);
            if rc == 0 && !header_value.is_null() {
                let encoded = o.views.uniform_header_values.get_or_init(|| {
                    o.uniform_present()
                        .map(|(_, v)| encode_header_value(v))
                        .collect()
                });
                *header_value = encoded.get(i).map_or(EMPTY, |e| out_str(e));
            }
            rc
        })
    }
}

/// Apache's `Require sesame-claim NAME VALUE`: 1 when the allowed identity's claim `name`
/// holds `value` with exactly the semantics of `sesame_require` (`policy::RequireRule`: an
/// element of a JSON array claim, a string compared as it is, `@domain` for a vouched e-mail
/// address), else 0.
///
/// # Safety
/// `o` must be NULL or a live outcome; strings valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn sesame_outcome_claim_matches(
    o: *const SesameOutcome,
    name: *const c_char,
    name_len: usize,
    value: *const c_char,
    value_len: usize,
) -> c_int {
    let r = guarded(|| {
        // SAFETY: caller guarantees the (ptr, len) pairs.
        let (name, value) = unsafe {
            (
                in_lossy(
                    SesameStr {
                        ptr: name,
                        len: name_len,
                    },
                    "claim name",
                )?,
                in_lossy(
                    SesameStr {
                        ptr: value,
                        len: value_len,
                    },
                    "claim value",
                )?,
            )
        };
        // SAFETY: `o` is NULL or a live outcome (this function's contract).
        Ok(unsafe {
            with_outcome(o, false, |o| {
                o.allowed().is_some_and(|id| {
                    crate::policy::RequireRule::single(&name, &value).satisfied_by(id)
                })
            })
        })
    });
    c_int::from(r.unwrap_or(false))
}

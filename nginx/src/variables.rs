//! `$sesame_*` variables: the identity allowed for this request (kept across internal
//! redirects by the request ctx), "not found" when there is none.
//!
//! - `$sesame_claim_<name>`: the raw claim value (UTF-8; non-strings as compact JSON);
//! - `$sesame_header_<name>`: the same, percent-encoded for use in a request header;
//! - `$sesame_provider`, `$sesame_acr`, `$sesame_user` (stable user key), `$sesame_remote_user`;
//! - `$sesame_claims`: every claim as one JSON object, `$sesame_claims_header` percent-encoded;
//!   both built once per identity (session cache entry), so a request only copies them;
//! - `$sesame_access_token`, `$sesame_access_token_expires`, `$sesame_scope`: the access token
//!   when this request hands it over (`sesame_pass_access_token on`), else "not found".
//! - `$sesame_data_<name>`: the JSON result of data call NAME, `$sesame_data_<name>_error` why
//!   it gave nothing; `$sesame_data` and `$sesame_data_errors` all of them as JSON objects.
//!
//! Values are copied into the request pool, so nothing handed to nginx points into Rust-owned
//! memory. They are not cacheable: a variable read before the ACCESS phase (e.g. by `set`) must
//! not freeze an empty value for the rest of the request.

use core::ptr;

use ngx::ffi::{
    ngx_conf_t, ngx_http_add_variable, ngx_http_request_t, ngx_http_variable_value_t, ngx_int_t,
    ngx_pnalloc, ngx_str_t, ngx_uint_t, NGX_ERROR, NGX_HTTP_VAR_NOCACHEABLE, NGX_HTTP_VAR_PREFIX,
    NGX_OK,
};
use sesame::Identity;

use crate::claim_name::claim;
use crate::ctx;

use sesame::{
    uniform_nginx_header_variable, uniform_nginx_variable, Fixed, Handed,
    CLAIM_HEADER_VARIABLE_PREFIX as HEADER_PREFIX, CLAIM_VARIABLE_PREFIX as CLAIM_PREFIX,
    DATA_VARIABLE_PREFIX as DATA_PREFIX, OIDC_CLAIM_VARIABLE_PREFIX as OIDC_CLAIM_PREFIX,
    OIDC_REMOTE_USER_VARIABLE, REMOTE_USER,
};

type Getter = unsafe extern "C" fn(
    *mut ngx_http_request_t,
    *mut ngx_http_variable_value_t,
    usize,
) -> ngx_int_t;

/// Which identity field a plain variable reads (passed as the variable's `data`).
#[derive(Clone, Copy)]
enum Field {
    Provider = 0,
    Acr = 1,
    User = 2,
    RemoteUser = 3,
    /// `$sesame_given_name` ... : `Identity::uniform(UNIFORM_CLAIMS[data - UNIFORM_BASE])`.
    Uniform = 4,
    /// `$sesame_claims`: every claim as one JSON object (`Identity::claims_json`).
    Claims = 5,
    /// `$sesame_claims_header`: the same, percent-encoded (`Identity::claims_json_header`).
    ClaimsHeader = 6,
    /// `$sesame_data`: every data result as one JSON object (`Identity::data_object`).
    Data = 7,
    /// `$sesame_data_errors`: every failed data call's reason (`Identity::data_errors`).
    DataErrors = 8,
    /// `$sesame_access_token`... : `Handed::ALL[data - HANDED_BASE]`.
    Handed = 9,
}

/// `data` of the access-token variables (one per `sesame::Handed::ALL` entry).
const HANDED_BASE: usize = 300;

/// `data` of the uniform-claim variables starts here (one per `sesame::UNIFORM_CLAIMS` entry).
const UNIFORM_BASE: usize = 100;
/// `$sesame_uniform_header_<name>`: the same values, percent-encoded for a request header.
const UNIFORM_HEADER_BASE: usize = 200;

impl Field {
    fn from_data(data: usize) -> Option<Field> {
        let n = sesame::UNIFORM_CLAIMS.len();
        if (UNIFORM_BASE..UNIFORM_BASE + n).contains(&data)
            || (UNIFORM_HEADER_BASE..UNIFORM_HEADER_BASE + n).contains(&data)
        {
            return Some(Field::Uniform);
        }
        if (HANDED_BASE..HANDED_BASE + Handed::ALL.len()).contains(&data) {
            return Some(Field::Handed);
        }
        [
            Field::Provider,
            Field::Acr,
            Field::User,
            Field::RemoteUser,
            Field::Claims,
            Field::ClaimsHeader,
            Field::Data,
            Field::DataErrors,
        ]
        .into_iter()
        .find(|f| *f as usize == data)
    }

    /// The value, or None ("not found") for an access-token variable of a request that hands
    /// no token over.
    fn read(self, id: &Identity, data: usize) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        if let Field::Handed = self {
            let handed = Handed::ALL.get(data.checked_sub(HANDED_BASE)?)?;
            return handed.value(id).map(Cow::Borrowed);
        }
        Some(match self {
            Field::Provider => Cow::Borrowed(id.provider()),
            Field::Acr => Cow::Borrowed(id.acr()),
            Field::User => Cow::Borrowed(id.user_key()),
            Field::RemoteUser => Cow::Borrowed(id.remote_user()),
            // Built once per identity and shared: a request only copies it.
            Field::Claims => Cow::Borrowed(id.claims_json()),
            Field::ClaimsHeader => Cow::Borrowed(id.claims_json_header()),
            Field::Data => Cow::Borrowed(id.data_object()),
            Field::DataErrors => Cow::Borrowed(id.data_errors()),
            Field::Uniform if data >= UNIFORM_HEADER_BASE => {
                let value = id
                    .uniform_at(data - UNIFORM_HEADER_BASE)
                    .map_or("", |(_, value)| value);
                Cow::Owned(sesame::encode_header_value(value))
            }
            Field::Uniform => Cow::Borrowed(
                data.checked_sub(UNIFORM_BASE)
                    .and_then(|i| id.uniform_at(i))
                    .map_or("", |(_, value)| value),
            ),
            Field::Handed => return None,
        })
    }
}

/// An nginx string over `name` for `ngx_http_add_variable`, which copies it.
fn ngx_name(name: &str) -> ngx_str_t {
    ngx_str_t {
        len: name.len(),
        data: name.as_ptr().cast_mut(),
    }
}

/// Registers the variables (preconfiguration, before any `$sesame_*` use is parsed), every
/// name from the core's naming room (`sesame::backend_names`).
///
/// The four prefixes do not prefix each other nor any nginx prefix (`http_`, `arg_`, `cookie_`,
/// `sent_http_`...), so the order nginx tries prefixes in cannot send a name to the wrong one;
/// nginx looks exact names up before prefixes, and the room keeps the fixed and uniform names
/// out of the claim prefixes.
pub unsafe fn register(cf: *mut ngx_conf_t) -> ngx_int_t {
    const NOCACHE: u32 = NGX_HTTP_VAR_NOCACHEABLE;
    const PREFIX: u32 = NGX_HTTP_VAR_PREFIX | NGX_HTTP_VAR_NOCACHEABLE;
    let field = |f: Fixed| -> (String, Getter, usize) {
        let data = match f {
            Fixed::RemoteUser => Field::RemoteUser,
            Fixed::Provider => Field::Provider,
            Fixed::Acr => Field::Acr,
            Fixed::User => Field::User,
            Fixed::Claims => Field::Claims,
            Fixed::Data => Field::Data,
            Fixed::DataErrors => Field::DataErrors,
        };
        (f.nginx_variable().to_owned(), get_field, data as usize)
    };
    let mut table: Vec<(String, Getter, usize, u32)> = vec![
        (CLAIM_PREFIX.to_owned(), get_claim, 0, PREFIX),
        (HEADER_PREFIX.to_owned(), get_header, 0, PREFIX),
        (OIDC_CLAIM_PREFIX.to_owned(), get_oidc_claim, 0, PREFIX),
        (DATA_PREFIX.to_owned(), get_data, 0, PREFIX),
        (
            OIDC_REMOTE_USER_VARIABLE.to_owned(),
            get_oidc_remote_user,
            0,
            NOCACHE,
        ),
    ];
    for f in Fixed::ALL {
        let (name, getter, data) = field(f);
        table.push((name, getter, data, NOCACHE));
    }
    if let Some(name) = Fixed::Claims.nginx_header_variable() {
        table.push((
            name.to_owned(),
            get_field,
            Field::ClaimsHeader as usize,
            NOCACHE,
        ));
    }
    // `$sesame_given_name`...: one per `sesame::UNIFORM_CLAIMS` entry, in its order, raw and
    // header-encoded (`$sesame_uniform_header_given_name`).
    for (i, uniform) in sesame::UNIFORM_CLAIMS.iter().enumerate() {
        table.push((
            uniform_nginx_variable(uniform),
            get_field,
            UNIFORM_BASE + i,
            NOCACHE,
        ));
        table.push((
            uniform_nginx_header_variable(uniform),
            get_field,
            UNIFORM_HEADER_BASE + i,
            NOCACHE,
        ));
    }
    // `$sesame_access_token`...: the handed token, never part of a header set.
    for (i, handed) in Handed::ALL.iter().enumerate() {
        table.push((
            handed.nginx_variable().to_owned(),
            get_field,
            HANDED_BASE + i,
            NOCACHE,
        ));
    }
    for (name, getter, data, flags) in &table {
        let mut name = ngx_name(name);
        // SAFETY: cf is the configuration being set up; nginx copies the name (and only reads
        // it: the `*mut` is nginx's signature), which outlives the call.
        let v = unsafe { ngx_http_add_variable(cf, &mut name, *flags as ngx_uint_t) };
        // SAFETY: v is null or the variable nginx just registered.
        let Some(v) = (unsafe { v.as_mut() }) else {
            return NGX_ERROR as ngx_int_t;
        };
        v.get_handler = Some(*getter);
        v.data = *data;
    }
    NGX_OK as ngx_int_t
}

/// The identity of the request (of its main request for subrequests).
///
/// # Safety
/// `r` must be a valid request on the event-loop thread.
unsafe fn identity<'a>(r: *mut ngx_http_request_t) -> Option<&'a Identity> {
    // SAFETY: r is a valid request on the event-loop thread (this function's # Safety), so r->main
    // is readable: the main request (r itself for a main request), whose ctx holds the identity.
    unsafe { ctx::find((*r).main) }.and_then(|ctx| ctx.identity.as_ref())
}

/// The part of a prefix variable's name after `prefix`; `data` is nginx's pointer to the name.
///
/// # Safety
/// `data` must be the `ngx_str_t *` nginx passes to prefix variable handlers.
unsafe fn suffix<'a>(data: usize, prefix: &str) -> Option<&'a str> {
    // SAFETY: for a prefix variable nginx sets `data` to the address of the evaluated variable's
    // `ngx_str_t` name (this function's # Safety); it lives in the configuration pool, which
    // outlives the request.
    let name = unsafe { (data as *const ngx_str_t).as_ref()? };
    name.to_str().ok()?.strip_prefix(prefix)
}

/// Defines the `extern "C"` handler nginx calls: a panic (a bug) becomes an error for this
/// variable instead of unwinding into nginx, which would abort the worker.
macro_rules! getter {
    ($name:ident, $inner:ident) => {
        unsafe extern "C" fn $name(
            r: *mut ngx_http_request_t,
            v: *mut ngx_http_variable_value_t,
            data: usize,
        ) -> ngx_int_t {
            // SAFETY: nginx passes a valid request, value slot and data for this variable.
            std::panic::catch_unwind(|| unsafe { $inner(r, v, data) })
                .unwrap_or(NGX_ERROR as ngx_int_t)
        }
    };
}

getter!(get_field, get_field_inner);
getter!(get_claim, get_claim_inner);
getter!(get_header, get_header_inner);
getter!(get_oidc_claim, get_oidc_claim_inner);
getter!(get_oidc_remote_user, get_oidc_remote_user_inner);
getter!(get_data, get_data_inner);

/// Stores `value` (copied into the request pool) or "not found".
///
/// # Safety
/// `r` and `v` must be the handler's arguments.
unsafe fn set(
    r: *mut ngx_http_request_t,
    v: *mut ngx_http_variable_value_t,
    value: Option<&str>,
) -> ngx_int_t {
    // SAFETY: v is the value slot nginx passed to this variable handler (this function's # Safety):
    // non-NULL, owned by the request, and borrowed by nothing else during the call.
    let v = unsafe { &mut *v };
    let Some(value) = value else {
        v.set_not_found(1);
        return NGX_OK as ngx_int_t;
    };
    let data = if value.is_empty() {
        ptr::null_mut()
    } else {
        // SAFETY: r->pool is the request pool; the copy has exactly value.len() bytes.
        let p = unsafe { ngx_pnalloc((*r).pool, value.len()) }.cast::<u8>();
        if p.is_null() {
            return NGX_ERROR as ngx_int_t;
        }
        // SAFETY: p has room for value.len() bytes and does not overlap value.
        unsafe { ptr::copy_nonoverlapping(value.as_ptr(), p, value.len()) };
        p
    };
    v.data = data;
    v.set_len(value.len() as u32);
    v.set_valid(1);
    v.set_no_cacheable(1);
    v.set_not_found(0);
    NGX_OK as ngx_int_t
}

unsafe fn get_field_inner(
    r: *mut ngx_http_request_t,
    v: *mut ngx_http_variable_value_t,
    data: usize,
) -> ngx_int_t {
    // SAFETY: nginx passes a valid request and value slot.
    unsafe {
        let value = match (identity(r), Field::from_data(data)) {
            (Some(id), Some(field)) => field.read(id, data),
            _ => None,
        };
        set(r, v, value.as_deref())
    }
}

unsafe fn get_claim_inner(
    r: *mut ngx_http_request_t,
    v: *mut ngx_http_variable_value_t,
    data: usize,
) -> ngx_int_t {
    // SAFETY: nginx passes a valid request, value slot and (prefix variable) name pointer.
    unsafe {
        let value = match (identity(r), suffix(data, CLAIM_PREFIX)) {
            (Some(id), Some(name)) => claim(id, name),
            _ => None,
        };
        set(r, v, value)
    }
}

unsafe fn get_header_inner(
    r: *mut ngx_http_request_t,
    v: *mut ngx_http_variable_value_t,
    data: usize,
) -> ngx_int_t {
    // SAFETY: nginx passes a valid request, value slot and (prefix variable) name pointer.
    unsafe {
        let encoded = match (identity(r), suffix(data, HEADER_PREFIX)) {
            (Some(id), Some(name)) => claim(id, name).map(sesame::encode_header_value),
            _ => None,
        };
        set(r, v, encoded.as_deref())
    }
}

unsafe fn get_oidc_claim_inner(
    r: *mut ngx_http_request_t,
    v: *mut ngx_http_variable_value_t,
    data: usize,
) -> ngx_int_t {
    // SAFETY: nginx passes a valid request, value slot and (prefix variable) name pointer.
    unsafe {
        let value = match (identity(r), suffix(data, OIDC_CLAIM_PREFIX)) {
            (Some(id), Some(name)) => crate::claim_name::oidc_claim(id, name),
            _ => None,
        };
        set(r, v, value)
    }
}

unsafe fn get_oidc_remote_user_inner(
    r: *mut ngx_http_request_t,
    v: *mut ngx_http_variable_value_t,
    _data: usize,
) -> ngx_int_t {
    // SAFETY: nginx passes a valid request and value slot.
    unsafe {
        let value = identity(r).and_then(|id| {
            id.mod_auth_openidc()
                .iter()
                .find(|(n, _)| n == REMOTE_USER)
                .map(|(_, v)| v.as_str())
        });
        set(r, v, value)
    }
}

unsafe fn get_data_inner(
    r: *mut ngx_http_request_t,
    v: *mut ngx_http_variable_value_t,
    data: usize,
) -> ngx_int_t {
    // SAFETY: nginx passes a valid request, value slot and (prefix variable) name pointer.
    unsafe {
        let value = match (identity(r), suffix(data, DATA_PREFIX)) {
            (Some(id), Some(name)) => sesame::data_for_nginx_suffix(id, name),
            _ => None,
        };
        set(r, v, value)
    }
}

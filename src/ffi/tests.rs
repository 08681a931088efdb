//! The C ABI from the caller's side: NULLs, invalid UTF-8 and panics come back as values.

mod authz;
mod backend_names;

use super::*;
use crate::engine::tests::provider::{TestProvider, CLIENT_ID};
use std::ptr::{null, null_mut};

fn s(text: &str) -> SesameStr {
    SesameStr {
        ptr: text.as_ptr().cast(),
        len: text.len(),
    }
}

unsafe fn message(err: *mut SesameError) -> String {
    // SAFETY: pointers created and kept alive by this test, lengths match.
    let m = unsafe { sesame_error_message(err) };
    // SAFETY: pointers created and kept alive by this test, lengths match.
    let bytes = unsafe { std::slice::from_raw_parts(m.ptr.cast::<u8>(), m.len) };
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    // SAFETY: pointers created and kept alive by this test, lengths match.
    unsafe { sesame_error_free(err) };
    text
}

unsafe fn text(v: SesameStr) -> String {
    if v.ptr.is_null() {
        return String::new();
    }
    // SAFETY: pointers created and kept alive by this test, lengths match.
    String::from_utf8(unsafe { std::slice::from_raw_parts(v.ptr.cast::<u8>(), v.len) }.to_vec())
        .unwrap()
}

unsafe fn set_global(b: *mut SesameConfigBuilder, k: &str, v: &str) -> Result<(), String> {
    let mut err = null_mut();
    // SAFETY: pointers created and kept alive by this test, lengths match.
    let rc = unsafe {
        sesame_config_set_global(
            b,
            k.as_ptr().cast(),
            k.len(),
            v.as_ptr().cast(),
            v.len(),
            &mut err,
        )
    };
    if rc == 0 {
        assert!(err.is_null());
        Ok(())
    } else {
        assert_eq!(rc, -1);
        // SAFETY: pointers created and kept alive by this test, lengths match.
        Err(unsafe { message(err) })
    }
}

unsafe fn set_provider(
    b: *mut SesameConfigBuilder,
    p: &str,
    k: &str,
    v: &str,
) -> Result<(), String> {
    let mut err = null_mut();
    // SAFETY: pointers created and kept alive by this test, lengths match.
    let rc = unsafe {
        sesame_config_set_provider(
            b,
            p.as_ptr().cast(),
            p.len(),
            k.as_ptr().cast(),
            k.len(),
            v.as_ptr().cast(),
            v.len(),
            &mut err,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        // SAFETY: pointers created and kept alive by this test, lengths match.
        Err(unsafe { message(err) })
    }
}

#[test]
fn ffi_null_builder_is_an_error_value() {
    // SAFETY: pointers created and kept alive by this test, lengths match.
    unsafe {
        let mut err = null_mut();
        let rc = sesame_config_set_global(null_mut(), null(), 0, null(), 0, &mut err);
        assert_eq!(rc, -1);
        assert!(message(err).contains("builder is NULL"));
        // A NULL err pointer is accepted too.
        assert_eq!(
            sesame_config_set_global(null_mut(), null(), 0, null(), 0, null_mut()),
            -1
        );
        assert!(sesame_config_build(null_mut(), null_mut()).is_null());
        let mut err = null_mut();
        assert!(sesame_config_build(null_mut(), &mut err).is_null());
        assert!(message(err).contains("builder is NULL"));
    }
}

#[test]
fn ffi_invalid_utf8_and_dangling_lengths_are_error_values() {
    // SAFETY: pointers created and kept alive by this test, lengths match.
    unsafe {
        let b = sesame_config_builder_new();
        let bad = [0xffu8, 0xfe];
        let mut err = null_mut();
        let rc =
            sesame_config_set_global(b, bad.as_ptr().cast(), 2, "x".as_ptr().cast(), 1, &mut err);
        assert_eq!(rc, -1);
        assert_eq!(message(err), "directive name is not valid UTF-8");
        let mut err = null_mut();
        let rc = sesame_config_set_global(b, "redis".as_ptr().cast(), 5, null(), 10, &mut err);
        assert_eq!(rc, -1);
        assert!(message(err).contains("NULL pointer with length 10"));
        sesame_config_builder_free(b);
    }
}

#[test]
fn ffi_null_handles_everywhere_return_defaults() {
    // SAFETY: pointers created and kept alive by this test, lengths match.
    unsafe {
        sesame_free(null_mut());
        sesame_config_builder_free(null_mut());
        sesame_location_free(null_mut());
        sesame_job_free(null_mut());
        sesame_outcome_free(null_mut());
        sesame_error_free(null_mut());
        assert!(sesame_job_run(null_mut()).is_null());
        assert_eq!(sesame_outcome_kind(null()), -1);
        assert_eq!(sesame_outcome_status(null()), 0);
        assert_eq!(sesame_outcome_location(null()).len, 0);
        assert_eq!(sesame_outcome_cookie_count(null()), 0);
        assert_eq!(sesame_outcome_var_count(null()), 0);
        assert!(sesame_outcome_cookie(null(), 3).ptr.is_null());
        let (mut n, mut v) = (EMPTY, EMPTY);
        assert_eq!(sesame_outcome_var(null(), 0, &mut n, &mut v), -1);
        assert_eq!(sesame_outcome_header(null(), 0, null_mut(), null_mut()), -1);
        assert!(sesame_error_message(null()).ptr.is_null());
        let mut err = null_mut();
        assert!(sesame_location_new(null(), 0, null(), 0, null(), 0, &mut err).is_null());
        assert!(message(err).contains("sesame is NULL"));
        let (mut out, mut job, mut err) = (null_mut(), null_mut(), null_mut());
        assert_eq!(
            sesame_begin(null(), null(), null(), &mut out, &mut job, &mut err),
            -1
        );
        assert!(message(err).contains("sesame is NULL"));
        assert!(out.is_null() && job.is_null());
        assert_eq!(
            sesame_begin(null(), null(), null(), null_mut(), null_mut(), null_mut()),
            -1
        );
        assert_eq!(
            sesame_is_spoofable_header(null(), "x-sesame-a".as_ptr().cast(), 10),
            1
        );
        assert_eq!(
            sesame_is_spoofable_header(null(), "accept".as_ptr().cast(), 6),
            0
        );
        assert_eq!(
            sesame_is_spoofable_header(null(), null(), 5),
            1,
            "unreadable: treat as spoofable"
        );
    }
}

#[test]
fn ffi_panic_becomes_error_value_or_500_page() {
    let r: Result<(), String> = guarded(|| panic!("boom"));
    assert!(r.unwrap_err().contains("panic: boom"));
    let o = SesameOutcome::internal_error("test");
    // SAFETY: pointers created and kept alive by this test, lengths match.
    unsafe {
        assert_eq!(sesame_outcome_kind(o), SESAME_PAGE);
        assert_eq!(sesame_outcome_status(o), 500);
        assert!(text(sesame_outcome_body(o)).contains("Erreur interne"));
        sesame_outcome_free(o);
    }
}

#[test]
fn ffi_config_error_missing_client_id_comes_back_with_message() {
    let dir = std::env::temp_dir().join(format!("sesame-ffi-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let secret = dir.join("secret");
    std::fs::write(&secret, "x".repeat(40)).unwrap();
    // SAFETY: pointers created and kept alive by this test, lengths match.
    unsafe {
        let b = sesame_config_builder_new();
        set_global(b, "redis", "redis://127.0.0.1:6379/0").unwrap();
        set_global(b, "secret_file", &secret.to_string_lossy()).unwrap();
        let mut err = null_mut();
        assert_eq!(
            sesame_config_add_provider(b, "fc".as_ptr().cast(), 2, &mut err),
            0
        );
        set_provider(b, "fc", "preset", "franceconnect-integration").unwrap();
        let msg = set_provider(b, "fc", "preset", "generic").unwrap_err();
        assert!(msg.contains("is duplicate"), "{msg}");
        let mut err = null_mut();
        assert!(sesame_config_build(b, &mut err).is_null());
        let msg = message(err);
        assert!(
            msg.starts_with("sesame_provider \"fc\": client_id is missing"),
            "{msg}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ffi_request_drives_begin_job_run_to_a_redirect() {
    let op = TestProvider::start();
    let dir = std::env::temp_dir().join(format!("sesame-ffi-flow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("secret"), "y".repeat(40)).unwrap();
    std::fs::write(dir.join("client_secret"), "cs").unwrap();
    // SAFETY: pointers created and kept alive by this test, lengths match.
    unsafe {
        let b = sesame_config_builder_new();
        set_global(b, "redis", "redis://127.0.0.1:1/0").unwrap();
        set_global(b, "secret_file", &dir.join("secret").to_string_lossy()).unwrap();
        assert_eq!(
            sesame_config_add_provider(b, "op".as_ptr().cast(), 2, null_mut()),
            0
        );
        for (k, v) in [
            ("issuer", op.issuer.as_str()),
            ("client_id", CLIENT_ID),
            (
                "client_secret_file",
                &dir.join("client_secret").to_string_lossy(),
            ),
            ("redirect_uri", "https://app.example/cb"),
            ("id_token_alg", "ES256"),
        ] {
            set_provider(b, "op", k, v).unwrap();
        }
        let mut err = null_mut();
        let sesame = sesame_config_build(b, &mut err);
        assert!(!sesame.is_null(), "{}", message(err));
        let loc = sesame_location_new(
            sesame,
            SESAME_MODE_PROTECT,
            "op".as_ptr().cast(),
            2,
            null(),
            0,
            null_mut(),
        );
        assert!(!loc.is_null());
        // Invalid UTF-8 in the request target is replaced, not fatal.
        let uri = b"/private/\xff?x=1";
        let req = SesameRequest {
            method: s("GET"),
            scheme: s("https"),
            host: s("app.example"),
            uri: SesameStr {
                ptr: uri.as_ptr().cast(),
                len: uri.len(),
            },
            cookie: EMPTY,
            client_addr: s("192.0.2.1"),
            accept: EMPTY,
            x_requested_with: EMPTY,
            sec_fetch_mode: EMPTY,
            sec_fetch_site: EMPTY,
            sec_fetch_dest: EMPTY,
            origin: EMPTY,
            referer: EMPTY,
            accept_language: EMPTY,
            if_none_match: EMPTY,
        };
        // The headers cross the ABI: a fetch() without a session gets its 401, no login state.
        let fetch = SesameRequest {
            sec_fetch_mode: s("cors"),
            ..req
        };
        let (mut out, mut job, mut err) = (null_mut(), null_mut(), null_mut());
        let rc = sesame_begin(sesame, loc, &fetch, &mut out, &mut job, &mut err);
        assert_eq!(rc, SESAME_STEP_DONE);
        assert_eq!(sesame_outcome_kind(out), SESAME_PAGE);
        assert_eq!(sesame_outcome_status(out), 401);
        assert_eq!(sesame_outcome_cookie_count(out), 0);
        sesame_outcome_free(out);
        let (mut out, mut job, mut err) = (null_mut(), null_mut(), null_mut());
        let rc = sesame_begin(sesame, loc, &req, &mut out, &mut job, &mut err);
        assert_eq!(rc, SESAME_STEP_JOB);
        assert!(out.is_null() && !job.is_null());
        // The core may be freed while the job is in flight.
        sesame_free(sesame);
        let o = sesame_job_run(job);
        assert_eq!(sesame_outcome_kind(o), SESAME_REDIRECT);
        assert_eq!(sesame_outcome_status(o), 303);
        assert!(text(sesame_outcome_location(o)).starts_with(&format!("{}/authorize?", op.issuer)));
        assert_eq!(sesame_outcome_cookie_count(o), 1);
        assert!(text(sesame_outcome_cookie(o, 0)).starts_with("__Host-sesame-login="));
        assert!(sesame_outcome_cookie(o, 1).ptr.is_null());
        sesame_outcome_free(o);
        sesame_location_free(loc);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ffi_allow_outcome_exposes_identity_variables() {
    let identity = crate::identity::Identity::new(
        crate::identity::IdentityFields {
            provider: "fc",
            acr: "eidas1",
            user_key: "k",
            remote_user: "u",
            ..Default::default()
        },
        &[crate::identity::ClaimText {
            name: "family_name",
            value: "Ñúñez-Œuvray",
            json: false,
        }],
    );
    let o = Box::into_raw(Box::new(SesameOutcome::from_outcome(Outcome::Allow(
        identity,
    ))));
    // SAFETY: pointers created and kept alive by this test, lengths match.
    unsafe {
        assert_eq!(sesame_outcome_kind(o), SESAME_ALLOW);
        assert_eq!(sesame_outcome_var_count(o), 5);
        let mut names = Vec::new();
        for i in 0..5 {
            let (mut n, mut v) = (EMPTY, EMPTY);
            assert_eq!(sesame_outcome_var(o, i, &mut n, &mut v), 0);
            names.push((
                text(n),
                text(v),
                text(sesame_outcome_var_header_value(o, i)),
            ));
        }
        assert_eq!(names[0], ("provider".into(), "fc".into(), "fc".into()));
        assert_eq!(names[3].0, "remote_user");
        assert_eq!(
            names[4],
            (
                "claim_family_name".into(),
                "Ñúñez-Œuvray".into(),
                "%C3%91%C3%BA%C3%B1ez-%C5%92uvray".into()
            )
        );
        let (mut n, mut v) = (EMPTY, EMPTY);
        assert_eq!(sesame_outcome_var(o, 5, &mut n, &mut v), -1);
        // The claims alone, under their own names.
        assert_eq!(sesame_outcome_claim_count(o), 1);
        assert_eq!(sesame_outcome_claim(o, 0, &mut n, &mut v), 0);
        assert_eq!(
            (text(n), text(v)),
            ("family_name".into(), "Ñúñez-Œuvray".into())
        );
        assert_eq!(sesame_outcome_claim(o, 1, &mut n, &mut v), -1);
        assert_eq!(sesame_outcome_claim(o, 0, std::ptr::null_mut(), &mut v), -1);
        // Uniform claims, with or without their header encoding.
        assert_eq!(sesame_outcome_uniform_count(o), 1);
        assert_eq!(
            sesame_outcome_uniform(o, 0, &mut n, &mut v, std::ptr::null_mut()),
            0
        );
        assert_eq!(text(n), "family_name");
        let mut h = EMPTY;
        assert_eq!(sesame_outcome_uniform(o, 0, &mut n, &mut v, &mut h), 0);
        assert_eq!(text(h), "%C3%91%C3%BA%C3%B1ez-%C5%92uvray");
        assert_eq!(sesame_outcome_uniform(o, 1, &mut n, &mut v, &mut h), -1);
        sesame_outcome_free(o);
    }
}

static LOGGED: parking_lot::Mutex<Vec<(c_int, String)>> = parking_lot::Mutex::new(Vec::new());

unsafe extern "C" fn capture(user: *mut c_void, level: c_int, msg: *const c_char, len: usize) {
    assert_eq!(user as usize, 42);
    // SAFETY: the library passes a NUL-terminated buffer of len bytes.
    let bytes = unsafe { std::slice::from_raw_parts(msg.cast::<u8>(), len + 1) };
    assert_eq!(bytes[len], 0, "messages are NUL-terminated");
    LOGGED
        .lock()
        .push((level, String::from_utf8_lossy(&bytes[..len]).into_owned()));
}

#[test]
fn ffi_log_sink_receives_lines_with_user_data() {
    let _guard = crate::log::TEST_SINK_LOCK.lock();
    // SAFETY: pointers created and kept alive by this test, lengths match.
    unsafe { sesame_set_log_sink(Some(capture), 42usize as *mut c_void) };
    crate::log::emit(LogLevel::Warn, "ffi log sink test line");
    // SAFETY: pointers created and kept alive by this test, lengths match.
    unsafe { sesame_set_log_sink(None, null_mut()) };
    let logged = LOGGED.lock();
    assert!(logged
        .iter()
        .any(|(level, m)| *level == SESAME_LOG_WARN && m == "ffi log sink test line"));
}

static REQUEST_LOGGED: parking_lot::Mutex<Vec<(usize, c_int, String)>> =
    parking_lot::Mutex::new(Vec::new());

unsafe extern "C" fn request_log(user: *mut c_void, level: c_int, msg: *const c_char, len: usize) {
    // SAFETY: the library passes a NUL-terminated buffer of len bytes.
    let bytes = unsafe { std::slice::from_raw_parts(msg.cast::<u8>(), len) };
    REQUEST_LOGGED.lock().push((
        user as usize,
        level,
        String::from_utf8_lossy(bytes).into_owned(),
    ));
}

#[test]
fn ffi_captured_lines_reach_the_request_log_not_the_global_sink() {
    let _guard = crate::log::TEST_SINK_LOCK.lock();
    // SAFETY: pointers created and kept alive by this test.
    unsafe { sesame_set_log_sink(Some(capture), 42usize as *mut c_void) };
    sesame_log_capture_begin();
    crate::log::emit(LogLevel::Error, "a request line\nforged");
    sesame_log_capture_begin();
    crate::log::emit(LogLevel::Info, "a second request line");
    // SAFETY: request_log only reads its arguments.
    unsafe { sesame_log_capture_end(Some(request_log), 7usize as *mut c_void) };
    crate::log::emit(LogLevel::Warn, "a line after the capture");
    // Without a capture, the end writes nothing.
    // SAFETY: as above.
    unsafe { sesame_log_capture_end(Some(request_log), 8usize as *mut c_void) };
    // SAFETY: pointers created and kept alive by this test.
    unsafe { sesame_set_log_sink(None, null_mut()) };
    let request = REQUEST_LOGGED.lock().clone();
    assert_eq!(
        request,
        [
            (7, SESAME_LOG_ERROR, "a request line\\u{a}forged".to_owned()),
            (7, SESAME_LOG_INFO, "a second request line".to_owned()),
        ]
    );
    let global = LOGGED.lock();
    assert!(!global.iter().any(|(_, m)| m.contains("request line")));
    assert!(global.iter().any(|(_, m)| m == "a line after the capture"));
}

/// The ABI's one convention for "": `{NULL, 0}` out, and accepted in.
fn is_null_empty(v: SesameStr) -> bool {
    v.ptr.is_null() && v.len == 0
}

#[test]
fn ffi_empty_strings_are_returned_as_null_and_zero() {
    let identity = crate::identity::Identity::new(
        crate::identity::IdentityFields {
            provider: "fc",
            acr: "",
            user_key: "k",
            remote_user: "",
            ..Default::default()
        },
        &[crate::identity::ClaimText {
            name: "birthplace",
            value: "",
            json: false,
        }],
    );
    let o = Box::into_raw(Box::new(SesameOutcome::from_outcome(Outcome::Allow(
        identity,
    ))));
    // SAFETY: the outcome is created and kept alive by this test; out-params are locals.
    unsafe {
        // No redirect, no page: location, body and content type are "".
        assert!(is_null_empty(sesame_outcome_location(o)));
        assert!(is_null_empty(sesame_outcome_body(o)));
        assert!(is_null_empty(sesame_outcome_content_type(o)));
        assert!(is_null_empty(sesame_outcome_cookie(o, 0)));
        // Empty values among non-empty ones.
        let mut empty_values = 0;
        for i in 0..sesame_outcome_var_count(o) {
            let (mut n, mut v) = (EMPTY, EMPTY);
            assert_eq!(sesame_outcome_var(o, i, &mut n, &mut v), 0);
            assert!(!n.ptr.is_null() && n.len > 0);
            if v.len == 0 {
                assert!(
                    v.ptr.is_null(),
                    "var {}: \"\" with a non-NULL pointer",
                    text(n)
                );
                assert!(is_null_empty(sesame_outcome_var_header_value(o, i)));
                empty_values += 1;
            } else {
                assert!(!v.ptr.is_null());
            }
        }
        assert_eq!(empty_values, 3, "acr, remote_user and the empty claim");
        let (mut n, mut v) = (EMPTY, EMPTY);
        assert_eq!(sesame_outcome_claim(o, 0, &mut n, &mut v), 0);
        assert_eq!(text(n), "birthplace");
        assert!(is_null_empty(v));
        sesame_outcome_free(o);
        let err = Box::into_raw(Box::new(SesameError::from(String::new())));
        assert!(is_null_empty(sesame_error_message(err)));
        sesame_error_free(err);
    }
}

#[test]
fn ffi_null_and_zero_is_accepted_as_the_empty_string_on_every_input() {
    // SAFETY: NULL pointers with length 0 only, and locals for the out-params.
    unsafe {
        // Configuration: "" is a value like any other (refused with a message where a value is
        // required, never read through the NULL pointer).
        let b = sesame_config_builder_new();
        let mut err = null_mut();
        assert_eq!(
            sesame_config_set_global(b, "redis".as_ptr().cast(), 5, null(), 0, &mut err),
            -1
        );
        assert!(!message(err).contains("NULL"));
        let mut err = null_mut();
        assert_eq!(
            sesame_config_set_global(b, null(), 0, null(), 0, &mut err),
            -1
        );
        assert!(!message(err).contains("NULL"));
        let mut err = null_mut();
        assert_eq!(sesame_config_add_provider(b, null(), 0, &mut err), -1);
        assert!(!message(err).contains("NULL"));
        sesame_config_builder_free(b);
        // Request-path helpers.
        assert_eq!(sesame_is_spoofable_header(null(), null(), 0), 0);
        let mut len = 7usize;
        assert_eq!(
            sesame_without_own_cookies(null(), EMPTY, null_mut(), &mut len),
            0
        );
        let o = Box::into_raw(Box::new(SesameOutcome::from_outcome(Outcome::Decline)));
        assert_eq!(sesame_outcome_acr_satisfies(null(), o, null(), 0), 0);
        assert_eq!(sesame_outcome_claim_matches(o, null(), 0, null(), 0), 0);
        sesame_outcome_free(o);
    }
}

#[test]
fn ffi_cookie_header_loses_sesames_cookies_into_the_callers_buffer() {
    // SAFETY: the header and buffer are locals of the stated lengths.
    unsafe {
        let header = "a=1; __Host-sesame=id.tag; __Host-sesame-login=x; b=2";
        let mut buf = vec![0u8; header.len()];
        let mut len = 0usize;
        assert_eq!(
            sesame_without_own_cookies(null(), s(header), buf.as_mut_ptr().cast(), &mut len),
            1
        );
        assert_eq!(&buf[..len], b"a=1; b=2");
        // Only Sesame's: 1 with length 0 (remove the header).
        let only = "__Host-sesame=id.tag";
        let mut buf = vec![0u8; only.len()];
        assert_eq!(
            sesame_without_own_cookies(null(), s(only), buf.as_mut_ptr().cast(), &mut len),
            1
        );
        assert_eq!(len, 0);
        // None of Sesame's: 0, the buffer is not needed.
        assert_eq!(
            sesame_without_own_cookies(null(), s("a=1"), null_mut(), &mut len),
            -1,
            "a buffer is required when the header is not empty"
        );
        let mut buf = [0u8; 3];
        assert_eq!(
            sesame_without_own_cookies(null(), s("a=1"), buf.as_mut_ptr().cast(), &mut len),
            0
        );
        assert_eq!(
            sesame_without_own_cookies(null(), s(header), buf.as_mut_ptr().cast(), null_mut()),
            -1
        );
        // The result is never written over the header being read.
        let mut same = *b"a=1; __Host-sesame=id.tag";
        let whole = SesameStr {
            ptr: same.as_ptr().cast(),
            len: same.len(),
        };
        assert_eq!(
            sesame_without_own_cookies(null(), whole, same.as_mut_ptr().add(4).cast(), &mut len),
            -1
        );
    }
}

#[test]
fn ffi_config_error_names_its_subject_and_reads_in_apache_syntax() {
    // SAFETY: pointers created and kept alive by this test, lengths match.
    unsafe {
        let b = sesame_config_builder_new();
        let mut err = null_mut();
        let rc =
            sesame_config_set_global(b, s("redis_timeout").ptr, 13, s("soon").ptr, 4, &mut err);
        assert_eq!(rc, -1);
        let (mut provider, mut key) = (EMPTY, EMPTY);
        assert_eq!(
            sesame_error_subject(err, &mut provider, &mut key),
            SESAME_SUBJECT_GLOBAL
        );
        assert_eq!(text(key), "redis_timeout");
        assert!(text(provider).is_empty());
        let apache = text(sesame_error_render(err, SESAME_SYNTAX_APACHE));
        assert!(
            apache.starts_with("SesameRedisTimeout \"soon\" is not a duration"),
            "{apache}"
        );
        let nginx = text(sesame_error_render(err, SESAME_SYNTAX_NGINX));
        assert!(
            nginx.starts_with("sesame_redis_timeout \"soon\""),
            "{nginx}"
        );
        sesame_error_free(err);

        assert_eq!(sesame_config_add_provider(b, s("fc").ptr, 2, null_mut()), 0);
        let mut err = null_mut();
        let rc = sesame_config_set_provider(
            b,
            s("fc").ptr,
            2,
            s("pkce").ptr,
            4,
            s("maybe").ptr,
            5,
            &mut err,
        );
        assert_eq!(rc, -1);
        assert_eq!(
            sesame_error_subject(err, &mut provider, &mut key),
            SESAME_SUBJECT_PROVIDER
        );
        assert_eq!((text(provider), text(key)), ("fc".into(), "pkce".into()));
        assert!(text(sesame_error_render(err, SESAME_SYNTAX_APACHE))
            .starts_with("<SesameProvider fc>: PKCE \"maybe\""));
        sesame_error_free(err);
        sesame_config_builder_free(b);
        assert_eq!(
            sesame_error_subject(null(), null_mut(), null_mut()),
            SESAME_SUBJECT_WHOLE
        );
    }
}

#[test]
fn ffi_apache_provider_spelling_maps_to_the_core_key() {
    // SAFETY: pointers created and kept alive by this test, lengths match.
    unsafe {
        assert_eq!(text(sesame_provider_key(s("ClientID").ptr, 8)), "client_id");
        assert_eq!(text(sesame_provider_key(s("clientid").ptr, 8)), "client_id");
        assert_eq!(
            text(sesame_provider_key(s("MetadataTTL").ptr, 11)),
            "metadata_ttl"
        );
        assert!(text(sesame_provider_key(s("ClientSecret").ptr, 12)).is_empty());
        assert!(text(sesame_provider_key(null(), 0)).is_empty());
    }
}

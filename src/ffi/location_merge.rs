//! C ABI: the nesting rule of location sections (`policy::nesting` and
//! `policy::pick_inherited`, the rule nginx's nested locations follow), for servers that merge
//! their sections themselves: Apache's `merge_dir_config`, which runs on every request for the
//! `<Location>` / `<Directory>` / `.htaccess` sections it matches.
//!
//! Only option keys cross, and the answer is a list of indices into the caller's arrays,
//! written in place: no allocation and no copy on either side, so the caller keeps its own option records (and
//! their file:line) and reuses an input array untouched when the merge is one of them.

use std::ffi::c_int;

use super::{in_str, SesameStr};
use crate::policy::{nesting, pick_inherited, Nesting, Picked};

/// The nested section keeps the enclosing options its own do not replace, then its own.
pub const SESAME_NESTING_INHERITS: c_int = 0;
/// Another provider, or nothing to inherit: its own options only.
pub const SESAME_NESTING_STARTS_CLEAN: c_int = 1;

/// Borrows `len` keys, checked once (UTF-8) so that reading one again cannot fail.
///
/// # Safety
/// `keys` must be NULL or point to `len` readable `SesameStr`, each valid for its length,
/// for `'a`.
unsafe fn keys_in<'a>(
    keys: *const SesameStr,
    len: usize,
    what: &str,
) -> Result<&'a [SesameStr], String> {
    if len == 0 {
        return Ok(&[]);
    }
    if keys.is_null() {
        return Err(format!("{what}: NULL with length {len}"));
    }
    // SAFETY: non-NULL, and the caller guarantees `len` readable items valid for 'a.
    let keys = unsafe { std::slice::from_raw_parts(keys, len) };
    for key in keys {
        // SAFETY: the caller guarantees each (ptr, len) pair.
        unsafe { in_str(*key, what)? };
    }
    Ok(keys)
}

/// One key of a list `keys_in` checked.
fn key_at<'a>(keys: &[SesameStr], i: usize) -> &'a str {
    // SAFETY: `keys_in` checked every pair of this list: readable and UTF-8, valid for as
    // long as the call that borrowed it.
    unsafe { in_str(keys[i], "option key") }.unwrap_or_default()
}

/// A provider name, None for "" (none named).
fn named(provider: &str) -> Option<&str> {
    (!provider.is_empty()).then_some(provider)
}

/// The options of a nested section under the enclosing one's, by the core's nesting rule.
///
/// `enclosing_provider` is the provider the enclosing section protects with, `{NULL, 0}` when
/// none is named there or above; `own_provider` the one the nested section names itself,
/// `{NULL, 0}` when it keeps the enclosing one. The keys are the sections' option keys in
/// order (`acr`, `require`...). `picks` must have room for `enclosing_len + own_len` indices:
/// on return `*picks_len` of them are filled, in the merged order, each an index into the
/// enclosing keys (below `enclosing_len`) or `enclosing_len` + an index into the own keys.
///
/// Returns `SESAME_NESTING_*`, or -1 (nothing written) when an argument is invalid.
///
/// # Safety
/// Strings valid for their lengths; `enclosing_keys` / `own_keys` NULL or that many readable
/// items; `picks` writable for `enclosing_len + own_len` items; `picks_len` writable.
#[no_mangle]
pub unsafe extern "C" fn sesame_location_merge(
    enclosing_provider: SesameStr,
    enclosing_keys: *const SesameStr,
    enclosing_len: usize,
    own_provider: SesameStr,
    own_keys: *const SesameStr,
    own_len: usize,
    picks: *mut usize,
    picks_len: *mut usize,
) -> c_int {
    let merged = super::guarded(|| {
        if picks_len.is_null() || (picks.is_null() && enclosing_len + own_len > 0) {
            return Err("sesame_location_merge: picks is NULL".to_owned());
        }
        // SAFETY: the caller guarantees each (ptr, len) pair and array (this function's
        // # Safety).
        let (enclosing_provider, own_provider, enclosing, own) = unsafe {
            (
                in_str(enclosing_provider, "enclosing provider")?,
                in_str(own_provider, "own provider")?,
                keys_in(enclosing_keys, enclosing_len, "enclosing option key")?,
                keys_in(own_keys, own_len, "own option key")?,
            )
        };
        let case = nesting(
            named(enclosing_provider),
            !enclosing.is_empty(),
            named(own_provider),
        );
        let mut n = 0;
        let mut put = |index: usize| {
            // SAFETY: `picks` is writable for enclosing_len + own_len items (contract) and at
            // most that many indices are picked, each once.
            unsafe { *picks.add(n) = index };
            n += 1;
        };
        match case {
            Nesting::Inherits => pick_inherited(
                enclosing.len(),
                |i| key_at(enclosing, i),
                own.len(),
                |j| key_at(own, j),
                |picked| match picked {
                    Picked::Enclosing(i) => put(i),
                    Picked::Own(j) => put(enclosing.len() + j),
                },
            ),
            Nesting::StartsClean => (0..own.len()).for_each(|j| put(enclosing.len() + j)),
        }
        Ok((case, n))
    });
    let Ok((case, n)) = merged else {
        return -1;
    };
    // SAFETY: `picks_len` is writable (checked non-NULL above).
    unsafe { *picks_len = n };
    match case {
        Nesting::Inherits => SESAME_NESTING_INHERITS,
        Nesting::StartsClean => SESAME_NESTING_STARTS_CLEAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(list: &[&'static str]) -> Vec<SesameStr> {
        list.iter()
            .map(|s| SesameStr {
                ptr: s.as_ptr().cast(),
                len: s.len(),
            })
            .collect()
    }

    fn merge(
        enclosing: (&'static str, &[&'static str]),
        own: (&'static str, &[&'static str]),
    ) -> (c_int, Vec<usize>) {
        let (ep, ek) = (strs(&[enclosing.0]), strs(enclosing.1));
        let (op, ok) = (strs(&[own.0]), strs(own.1));
        let mut picks = vec![usize::MAX; ek.len() + ok.len()];
        let mut n = 0;
        // SAFETY: every string is a 'static str; the arrays hold the lengths passed and picks
        // has room for both.
        let rc = unsafe {
            sesame_location_merge(
                ep[0],
                ek.as_ptr(),
                ek.len(),
                op[0],
                ok.as_ptr(),
                ok.len(),
                picks.as_mut_ptr(),
                &mut n,
            )
        };
        picks.truncate(n);
        (rc, picks)
    }

    #[test]
    fn a_section_of_the_same_provider_keeps_what_its_own_options_do_not_replace() {
        let (rc, picks) = merge(
            ("pc", &["acr", "require", "prompt"]),
            ("", &["require", "acr"]),
        );
        assert_eq!(rc, SESAME_NESTING_INHERITS);
        assert_eq!(
            picks,
            [1, 2, 3, 4],
            "acr replaced, require accumulated, prompt kept"
        );
        let (rc, picks) = merge(("pc", &["acr"]), ("pc", &[]));
        assert_eq!((rc, picks), (SESAME_NESTING_INHERITS, vec![0]));
    }

    #[test]
    fn a_section_naming_another_provider_keeps_only_its_own() {
        let (rc, picks) = merge(("pc", &["acr", "require"]), ("fc", &["prompt"]));
        assert_eq!((rc, picks), (SESAME_NESTING_STARTS_CLEAN, vec![2]));
    }

    #[test]
    fn options_written_before_any_provider_go_to_the_section_that_names_one() {
        let (rc, picks) = merge(("", &["require", "acr"]), ("pc", &["acr"]));
        assert_eq!((rc, picks), (SESAME_NESTING_INHERITS, vec![0, 2]));
        let (rc, picks) = merge(("", &["require"]), ("", &["acr"]));
        assert_eq!((rc, picks), (SESAME_NESTING_INHERITS, vec![0, 1]));
    }

    #[test]
    fn invalid_arguments_are_refused_without_writing() {
        let mut n = 7;
        // SAFETY: NULL picks with a non-zero count is the case under test; nothing is read.
        let rc = unsafe {
            sesame_location_merge(
                EMPTY_STR,
                std::ptr::null(),
                1,
                EMPTY_STR,
                std::ptr::null(),
                0,
                std::ptr::null_mut(),
                &mut n,
            )
        };
        assert_eq!((rc, n), (-1, 7));
    }

    const EMPTY_STR: SesameStr = SesameStr {
        ptr: std::ptr::null(),
        len: 0,
    };
}

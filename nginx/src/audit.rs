//! `sesame_audit_log PATH;`: the audit log goes through nginx's list of open files
//! (`ngx_conf_open_file`), as `error_log` and `access_log` do. nginx's master opens it as root
//! when it starts or reloads, the workers inherit the descriptor, and `nginx -s reopen` (USR1)
//! reopens it in the master and every worker: logrotate renames the file, sends USR1, and the
//! next lines go to the new file.
//!
//! Lines are written by the event loop only: the core hands a request's audit lines to
//! `log::write_captured` with its log lines (a job's once it completes), so a write never races
//! the reopen, which also runs on the event loop.

use core::ptr::NonNull;

use ngx::ffi::{ngx_conf_open_file, ngx_conf_t, ngx_open_file_t, ngx_str_t, write};
use sesame::ConfigBuilder;

/// nginx's open file of the audit log, valid for the cycle that opened it (the one whose
/// configuration holds the core that writes through it).
struct OpenFile(NonNull<ngx_open_file_t>);

// SAFETY: the pointer is only dereferenced on nginx's event loop (module doc); the file entry
// lives as long as the cycle, which outlives the core holding this.
unsafe impl Send for OpenFile {}
// SAFETY: as above.
unsafe impl Sync for OpenFile {}

impl OpenFile {
    fn write(&self, bytes: &[u8]) -> std::io::Result<usize> {
        // SAFETY: the entry is valid for the cycle (type doc); nginx sets fd when it opens the
        // file and replaces it on reopen, both on this thread.
        let fd = unsafe { self.0.as_ref().fd };
        // SAFETY: bytes is a valid buffer of its length; one write(2) with O_APPEND (nginx
        // opens log files with NGX_FILE_APPEND) lands whole at the end of the file.
        let n = unsafe { write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(n as usize)
    }
}

/// Registers the audit log written in this http block (if any) with nginx's open files and
/// hands the core a writer through it. Returns false when nginx could not register it.
///
/// # Safety
/// `cf` must be the configuration being parsed (its cycle's pool outlives the core).
pub unsafe fn register(cf: *mut ngx_conf_t, builder: &mut ConfigBuilder) -> bool {
    let Some(path) = builder.audit_log_path() else {
        return true;
    };
    // nginx opens the file by name.data as a C string: the copy ends with a NUL that the
    // length leaves out, as in the names nginx's own parser hands over.
    let mut bytes = path.as_bytes().to_vec();
    bytes.push(0);
    // SAFETY: cf->pool is the configuration pool; the name must live as long as the cycle.
    let Some(mut name) = (unsafe { ngx_str_t::from_bytes((*cf).pool, &bytes) }) else {
        return false;
    };
    name.len -= 1;
    // SAFETY: cf->cycle is the cycle being configured; nginx resolves a relative name against
    // its prefix, and opens (and on USR1 reopens) every entry of the list itself.
    let file = unsafe { ngx_conf_open_file((*cf).cycle, &mut name) };
    let Some(file) = NonNull::new(file) else {
        return false;
    };
    let file = OpenFile(file);
    builder.set_audit_writer(Box::new(move |bytes| file.write(bytes)));
    true
}

//! The cells every process of one server adds to: one anonymous `MAP_SHARED` mapping, made
//! while the configuration is read (nginx master, Apache parent), so that every worker or
//! child forked afterwards inherits the same physical pages. The only unsafe code of the
//! metrics room lives here.

use std::ptr::NonNull;
use std::sync::atomic::AtomicU64;

/// `len` zeroed 64-bit atomics shared with every process forked after `new`.
pub(super) struct SharedCells {
    base: NonNull<AtomicU64>,
    len: usize,
    bytes: usize,
}

// SAFETY: the mapping is only ever accessed through `&[AtomicU64]`, which is Sync; the
// pointer is owned by this value and unmapped once, on drop.
unsafe impl Send for SharedCells {}
// SAFETY: as above: shared access goes through atomics only.
unsafe impl Sync for SharedCells {}

impl SharedCells {
    pub(super) fn new(len: usize) -> std::io::Result<SharedCells> {
        let bytes = len.max(1) * std::mem::size_of::<AtomicU64>();
        // SAFETY: an anonymous mapping at an address the kernel picks touches no existing
        // memory; the result is checked against MAP_FAILED before use.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let base = NonNull::new(addr.cast::<AtomicU64>())
            .ok_or_else(|| std::io::Error::other("mmap returned a null address"))?;
        Ok(SharedCells { base, len, bytes })
    }

    pub(super) fn cells(&self) -> &[AtomicU64] {
        // SAFETY: the mapping holds `bytes >= len * 8` bytes, page-aligned (so aligned for
        // AtomicU64), zero-filled by the kernel (a valid AtomicU64 is any bit pattern), and
        // lives until `self` is dropped, which the returned borrow cannot outlive.
        unsafe { std::slice::from_raw_parts(self.base.as_ptr(), self.len) }
    }
}

impl Drop for SharedCells {
    fn drop(&mut self) {
        // SAFETY: base/bytes are exactly what mmap returned and was asked for; no borrow of
        // the cells outlives self. Processes forked earlier keep their own mapping.
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.bytes);
        }
    }
}

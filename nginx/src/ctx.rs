//! Per-request state: the identity once allowed, and the job in flight.
//!
//! Two nginx behaviours shape it:
//! - an internal redirect (index, try_files, error_page, rewrite ... last) zeroes `r->ctx` and
//!   reruns the ACCESS phase. The state therefore lives in the data of a request-pool cleanup,
//!   as ngx_http_realip_module does: when `r->ctx[our index]` is NULL we walk `r->pool->cleanup`
//!   for our handler (and this very request: subrequests share the pool) and reattach it. So a
//!   job is never posted twice and `$sesame_*` survive `try_files ... /index.php`.
//! - a worker that is shutting down (reload) exits as soon as only cancelable timers remain,
//!   killing requests whose job is still on the thread pool. While a job runs we hold a
//!   non-cancelable "guard" timer that re-arms itself.

use core::ffi::c_void;
use core::{mem, ptr};

use ngx::ffi::{
    ngx_add_timer, ngx_del_timer, ngx_event_t, ngx_http_request_t, ngx_pool_cleanup_add,
    NGX_ALIGNMENT,
};
use ngx::http::HttpModule;
use sesame::{Identity, Job, Outcome};

use crate::Module;

/// How often the guard timer fires while a job runs; it only re-arms itself.
const GUARD_MS: usize = 60_000;

/// Where the request's job stands.
pub enum JobState {
    /// No job in flight.
    Idle,
    /// Posted to the thread pool; `task` is its data in the request pool.
    Running { task: *mut TaskData },
    /// The job finished; the next ACCESS handler run applies the outcome (None: it panicked).
    Finished(Option<Outcome>),
}

/// What the pool thread sees (`job::start` allocates it in the request pool): the job going
/// in, the outcome coming out. Nothing else is shared with the event loop while the task runs.
pub struct TaskData {
    pub job: Option<Job>,
    pub outcome: Option<Outcome>,
    /// The job's log lines, written on the event loop when it completes (`log::write_captured`).
    pub log_lines: Option<sesame::CapturedLogLines>,
}

pub struct Ctx {
    /// The request this state belongs to (recovery must not pick a subrequest's or the
    /// parent's state from the shared pool).
    request: *mut ngx_http_request_t,
    pub job: JobState,
    /// Set on Allow; what `$sesame_*` read.
    pub identity: Option<Identity>,
    guard: ngx_event_t,
}

// The cleanup data comes from ngx_palloc, aligned to NGX_ALIGNMENT (its binding type varies).
#[allow(clippy::unnecessary_cast)]
const _: () = assert!(mem::align_of::<Ctx>() <= NGX_ALIGNMENT as usize);

/// The request's state, reattached after an internal redirect; None when it has none yet.
///
/// # Safety
/// `r` must be a valid request of the current event-loop iteration.
pub unsafe fn find<'a>(r: *mut ngx_http_request_t) -> Option<&'a mut Ctx> {
    let index = Module::module().ctx_index;
    // SAFETY: r->ctx has one slot per http module; ours is NULL or a Ctx we stored.
    let slot = unsafe { (*r).ctx.add(index) };
    // SAFETY: `slot` is in bounds (r->ctx has one slot per http module, `index` is ours) and holds
    // NULL or a Ctx this module stored.
    let current = unsafe { *slot }.cast::<Ctx>();
    if !current.is_null() {
        // SAFETY: a non-NULL slot is a Ctx living in the request pool.
        return Some(unsafe { &mut *current });
    }
    // SAFETY: the pool and its cleanup list are valid for the request's lifetime; cleanup data
    // with our handler is always a Ctx.
    unsafe {
        let mut cln = (*(*r).pool).cleanup;
        while !cln.is_null() {
            if let Some(handler) = (*cln).handler {
                if ptr::fn_addr_eq(handler, cleanup as unsafe extern "C" fn(*mut c_void)) {
                    let ctx = (*cln).data.cast::<Ctx>();
                    if (*ctx).request == r {
                        *slot = ctx.cast();
                        return Some(&mut *ctx);
                    }
                }
            }
            cln = (*cln).next;
        }
    }
    None
}

/// The request's state, created on first use.
///
/// # Safety
/// `r` must be a valid request of the current event-loop iteration.
pub unsafe fn get_or_create<'a>(r: *mut ngx_http_request_t) -> Option<&'a mut Ctx> {
    // SAFETY: r is a valid request of this event-loop iteration (this function's # Safety), what
    // find requires.
    if let Some(ctx) = unsafe { find(r) } {
        return Some(ctx);
    }
    // SAFETY: r->pool is the request pool; the cleanup's data area is sized for a Ctx.
    unsafe {
        let cln = ngx_pool_cleanup_add((*r).pool, mem::size_of::<Ctx>());
        if cln.is_null() {
            return None;
        }
        let ctx = (*cln).data.cast::<Ctx>();
        ptr::write(
            ctx,
            Ctx {
                request: r,
                job: JobState::Idle,
                identity: None,
                guard: mem::zeroed(),
            },
        );
        (*cln).handler = Some(cleanup);
        *(*r).ctx.add(Module::module().ctx_index) = ctx.cast();
        Some(&mut *ctx)
    }
}

impl Ctx {
    pub fn request(&self) -> *mut ngx_http_request_t {
        self.request
    }

    /// Holds the worker open while a job runs (see module docs).
    pub fn arm_guard(&mut self) {
        let data: *mut Ctx = self;
        let ev = &mut self.guard;
        ev.handler = Some(guard_fired);
        ev.data = data.cast();
        // SAFETY: the request and its connection are valid while the request is being handled.
        ev.log = unsafe { (*(*self.request).connection).log };
        // Zeroed event: `cancelable` is 0, which is the point.
        // SAFETY: the event lives in the request pool, which outlives the timer (disarmed in
        // job completion and in the pool cleanup).
        unsafe { ngx_add_timer(ev, GUARD_MS) };
    }

    pub fn disarm_guard(&mut self) {
        if self.guard.timer_set() != 0 {
            // SAFETY: the timer was armed by arm_guard on this very event.
            unsafe { ngx_del_timer(&mut self.guard) };
        }
    }
}

unsafe extern "C" fn guard_fired(ev: *mut ngx_event_t) {
    // SAFETY: ev is our guard event; its data is the Ctx that holds it.
    unsafe {
        let ctx = &*(*ev).data.cast::<Ctx>();
        if matches!(ctx.job, JobState::Running { .. }) {
            ngx_add_timer(ev, GUARD_MS);
        }
    }
}

/// Request pool destroyed: stop the guard and drop the Rust values (identity, outcome).
unsafe extern "C" fn cleanup(data: *mut c_void) {
    // SAFETY: data is the Ctx written by get_or_create, dropped exactly once here.
    unsafe {
        let ctx = data.cast::<Ctx>();
        (*ctx).disarm_guard();
        ptr::drop_in_place(ctx);
    }
}

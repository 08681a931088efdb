//! Blocking work (Redis, HTTPS to the provider) on nginx's thread pool, never on the event loop.
//!
//! Pattern of ngx_http_copy_filter's thread handler (nginx `ngx_http_copy_thread_handler`, in
//! src/http/ngx_http_copy_filter_module.c): the task and its data live
//! in the request pool; `r->main->blocked` stays raised while the task is in flight so nginx does
//! not free the request; nginx wakes the event loop through ngx_notify when the task is done and
//! calls `completed` there, which reruns the request's phases: the ACCESS handler then finds the
//! outcome in the request ctx and applies it.
//!
//! Two kinds of jobs (`JobKind`): session reads (one Redis round trip) and provider exchanges
//! (seconds when the provider is slow). nginx's pool queue is FIFO, so a session read must not
//! wait behind provider exchanges: they go to `sesame_provider_thread_pool` when one is
//! declared, and in a shared pool the core never lets more than `sesame_provider_concurrency`
//! provider jobs exist at once (the rest are answered "busy" before reaching the queue), so the
//! pool's other threads are always free for session reads.

use core::ffi::c_void;
use core::{mem, ptr};
use std::panic::{self, AssertUnwindSafe};

use ngx::ffi::{
    ngx_event_t, ngx_http_log_ctx_t, ngx_http_request_t, ngx_http_run_posted_requests, ngx_int_t,
    ngx_log_t, ngx_thread_pool_t, ngx_thread_task_alloc, ngx_thread_task_post, NGX_AGAIN,
    NGX_HTTP_INTERNAL_SERVER_ERROR, NGX_HTTP_SERVICE_UNAVAILABLE, NGX_OK,
};
use sesame::{Job, JobKind};

use crate::conf::MainConf;
use crate::ctx::{self, Ctx, JobState, TaskData};

/// The pool for `job`: provider exchanges to their own pool when one is configured.
pub fn pool_for(mcf: &MainConf, job: &Job) -> *mut ngx_thread_pool_t {
    match job.kind() {
        JobKind::Session => mcf.thread_pool,
        JobKind::Provider => mcf.provider_thread_pool,
    }
}

/// Posts `job` for request `r`. Returns NGX_AGAIN (phase processing pauses) or an HTTP error.
///
/// # Safety
/// `r` must be the main request being handled in the ACCESS phase; `ctx` its state.
pub unsafe fn start(
    r: *mut ngx_http_request_t,
    ctx: &mut Ctx,
    job: Job,
    pool: *mut ngx_thread_pool_t,
) -> ngx_int_t {
    // SAFETY: r->pool is the request pool; the task is zeroed and followed by
    // size_of::<TaskData>() bytes (task->ctx), aligned like the task itself (8).
    let task = unsafe { ngx_thread_task_alloc((*r).pool, mem::size_of::<TaskData>()) };
    if task.is_null() {
        return NGX_HTTP_INTERNAL_SERVER_ERROR as ngx_int_t;
    }
    // SAFETY: task is valid; ctx area is uninitialised memory of the right size.
    unsafe {
        let data = (*task).ctx.cast::<TaskData>();
        ptr::write(
            data,
            TaskData {
                job: Some(job),
                outcome: None,
                log_lines: None,
            },
        );
        (*task).handler = Some(run_on_pool_thread);
        (*task).event.handler = Some(completed);
        (*task).event.data = (ctx as *mut Ctx).cast();
        (*task).event.log = (*(*r).connection).log;

        if ngx_thread_task_post(pool, task) != NGX_OK as ngx_int_t {
            // Queue full (nginx logged "thread pool queue overflow"): answer 503 rather than
            // block the loop; the job is dropped unrun.
            ptr::drop_in_place(data);
            return NGX_HTTP_SERVICE_UNAVAILABLE as ngx_int_t;
        }

        let main = (*r).main;
        (*main).set_blocked((*main).blocked() + 1);
        (*r).set_aio(1);
        ctx.job = JobState::Running { task: data };
    }
    ctx.arm_guard();
    NGX_AGAIN as ngx_int_t
}

/// Runs on a pool thread: touches only its TaskData.
unsafe extern "C" fn run_on_pool_thread(data: *mut c_void, _log: *mut ngx_log_t) {
    // SAFETY: data is the TaskData written by `start`; the event loop does not touch it until
    // `completed`, which nginx calls after this function returned (handoff under its mutex).
    let data = unsafe { &mut *data.cast::<TaskData>() };
    if let Some(job) = data.job.take() {
        // A panic must not unwind into nginx's C thread loop; `completed` turns None into a 500.
        // The job's log lines are held back and written on the event loop, in `completed`,
        // through the location's error_log (`log::write_captured` says why not from here).
        let (outcome, lines) = sesame::capture_log_lines(|| {
            panic::catch_unwind(AssertUnwindSafe(move || job.run())).ok()
        });
        data.outcome = outcome;
        data.log_lines = Some(lines);
    }
}

/// Event-loop thread, after the task ran: store the outcome and resume the request.
unsafe extern "C" fn completed(ev: *mut ngx_event_t) {
    // SAFETY: ev is the task's event; its data is the request's Ctx, kept alive by the request
    // pool, which `blocked` keeps alive until here.
    unsafe {
        let ctx = &mut *(*ev).data.cast::<Ctx>();
        let r = ctx.request();
        let c = (*r).connection;
        let log_ctx = (*(*c).log).data.cast::<ngx_http_log_ctx_t>();
        if !log_ctx.is_null() {
            (*log_ctx).current_request = r;
        }

        let outcome = match ctx.job {
            JobState::Running { task } => {
                if let Some(lines) = (*task).log_lines.take() {
                    // This request's location error_log.
                    crate::log::write_captured(r, lines);
                }
                (*task).outcome.take()
            }
            _ => None,
        };
        ctx.job = JobState::Finished(outcome);
        ctx.disarm_guard();
        // Reattach in case anything zeroed r->ctx meanwhile (nothing should while blocked).
        let _ = ctx::find(r);

        let main = (*r).main;
        (*main).set_blocked((*main).blocked().saturating_sub(1));
        (*r).set_aio(0);

        // ngx_http_core_run_phases (or ngx_http_request_finalizer if the client went away).
        if let Some(handler) = (*r).write_event_handler {
            handler(r);
        }
        ngx_http_run_posted_requests(c);
    }
}

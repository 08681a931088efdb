//! The per-process cap on provider exchanges (`sesame_provider_concurrency`).
//!
//! A job that talks to a provider (discovery, JWKS, token, userinfo) takes a slot when `begin`
//! creates it and gives it back when it has run (or is dropped unrun). Without a free slot the
//! request is answered at once with a 503 "provider busy" page, before any job exists. So at
//! most `limit` server threads can ever wait on providers at once, whatever a slow provider or
//! a flood of forged callbacks does; the other threads stay free for session reads (one Redis
//! round trip), which take no slot.
//!
//! Why a cap and not only a second queue: a queue in front of a slow provider only grows, and
//! every login in it waits as long anyway. Refusing the excess at once costs nothing, tells the
//! user to retry, and keeps both nginx's thread pool and Apache's request threads available.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub(crate) struct Slots {
    in_use: AtomicUsize,
    limit: usize,
}

/// One provider exchange in flight; released on drop.
pub(crate) struct Slot {
    slots: Arc<Slots>,
}

impl Slots {
    pub fn new(limit: usize) -> Arc<Slots> {
        Arc::new(Slots {
            in_use: AtomicUsize::new(0),
            limit: limit.max(1),
        })
    }

    /// A slot if fewer than `limit` are taken. Never blocks.
    pub fn try_take(self: &Arc<Self>) -> Option<Slot> {
        self.in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot {
                slots: Arc::clone(self),
            })
    }

    pub fn limit(&self) -> usize {
        self.limit
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.in_use.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_limit_slots_are_taken_and_a_dropped_slot_is_given_back() {
        let slots = Slots::new(2);
        let a = slots.try_take().expect("first");
        let _b = slots.try_take().expect("second");
        assert!(slots.try_take().is_none());
        drop(a);
        assert!(slots.try_take().is_some());
    }
}

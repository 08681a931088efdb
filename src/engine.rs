//! The request state machine: `begin` (pure CPU) and `Job::run` (blocking I/O).
//! (Skeleton from the integrator; to be written.)

use crate::api::*;

pub struct Sesame {}

#[derive(Debug)]
pub(crate) struct LocationPolicy {}

pub(crate) struct Work {}

impl Sesame {
    /// Config time: resolve a location's settings against the configured providers.
    pub fn location(&self, _spec: &LocationSpec) -> Result<Location, ConfigError> {
        todo!()
    }

    /// Pure CPU, never blocks. `location` is None for locations without a sesame directive:
    /// then only Sesame's own endpoints (callback, logout return) are answered, else Decline.
    pub fn begin(&self, _location: Option<&Location>, _req: &Request<'_>) -> Step {
        todo!()
    }

    /// True for incoming request headers that could spoof what Sesame passes to the backend.
    pub fn is_spoofable_header(&self, _name: &str) -> bool {
        todo!()
    }
}

impl Job {
    /// Blocking: Redis and/or HTTPS. Runs on any thread, exactly once.
    pub fn run(self) -> Outcome {
        todo!()
    }
}

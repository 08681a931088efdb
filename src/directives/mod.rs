//! What an operator writes, shared by every layer that reads it: the directive registry (each
//! directive's spelling on both servers), configuration errors rendered in a server's syntax,
//! durations, local paths, and a location's settings as written. Plain data and pure functions:
//! this room imports from no other room of the core.

mod duration;
mod error;
pub mod local_path;
mod location;
pub mod registry;

pub use duration::parse_duration;
pub use error::{ConfigError, Subject};
pub use location::{LocationMode, LocationSpec};
pub use registry::Syntax;

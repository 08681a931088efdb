//! API FranceConnectées: the data a démarche needs (quotient familial, student grant status...),
//! fetched from data APIs with the FranceConnect access token right after the token exchange,
//! while the token is still alive (it lives 60 seconds), and kept with the session.
//!
//! `data NAME URL [scope=SCOPE ...] [recipient=SIRET] [timeout=TIME] [max_size=BYTES];` in a
//! provider block declares one call (`source.rs`); `fetch.rs` runs the calls of one login in
//! parallel, each bounded by its own timeout, and says why a call gave nothing.

mod fetch;
mod source;

pub(crate) use fetch::{fetch_all, DataError};
pub(crate) use source::DataSource;

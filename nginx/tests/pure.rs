//! The module's pure logic, compiled on its own: the crate is a cdylib whose other code calls into
//! nginx, so its unit tests cannot link outside an nginx process. These files call no nginx symbol.

#[path = "../src/claim_name.rs"]
mod claim_name;

#[path = "../src/conf/provider_keys.rs"]
mod provider_keys;

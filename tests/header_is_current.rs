//! include/sesame.h is generated from the C ABI in src/ffi/ by cbindgen; this test regenerates
//! it in memory and fails when the committed header is stale. `SESAME_UPDATE_HEADER=1` rewrites
//! it.

use std::path::Path;

#[test]
fn c_header_matches_the_rust_ffi() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml"))
        .expect("cbindgen.toml is readable and valid");
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        // The module and its files, in the order of its `mod` lines.
        .with_src(root.join("src/ffi/mod.rs"))
        .generate()
        .expect("cbindgen can parse the C ABI sources");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let header_path = root.join("include/sesame.h");
    if std::env::var_os("SESAME_UPDATE_HEADER").is_some_and(|v| v == "1") {
        std::fs::write(&header_path, &generated).expect("include/sesame.h is writable");
        return;
    }
    let committed = std::fs::read(&header_path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/sesame.h is stale: the C ABI in src/ffi/ changed.\n\
         Regenerate it with: SESAME_UPDATE_HEADER=1 cargo test --test header_is_current\n\
         and commit the result."
    );
}

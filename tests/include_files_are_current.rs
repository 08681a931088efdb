//! nginx/conf/sesame_fastcgi_params, sesame_proxy_params and sesame_fastcgi_params_oidc are
//! generated from the core's naming room (`sesame::backend_names::include_files`); this test
//! fails when a committed file differs. `SESAME_UPDATE_PARAMS=1` rewrites them.

use std::path::Path;

#[test]
fn nginx_include_files_match_the_naming_room() {
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("nginx/conf");
    let update = std::env::var_os("SESAME_UPDATE_PARAMS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for (name, generated) in sesame::include_files::all() {
        let path = conf.join(name);
        if update {
            std::fs::write(&path, &generated).expect("nginx/conf is writable");
            continue;
        }
        if std::fs::read_to_string(&path).unwrap_or_default() != generated {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "nginx/conf/{} stale: the names in src/backend_names.rs changed, or the file was edited.\n\
         Regenerate with: SESAME_UPDATE_PARAMS=1 cargo test --test include_files_are_current\n\
         and commit the result.",
        stale.join(", nginx/conf/")
    );
}

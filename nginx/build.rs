//! Turns what nginx-sys learnt about the nginx build (DEP_NGINX_*) into `ngx_feature` / `ngx_os`
//! cfgs, so the module compiles only the code paths the target nginx has (same scheme as ngx's
//! own build script; nginx-sys must be a direct dependency for cargo to pass these on).

use std::env;

/// nginx versions whose structures differ where the module reads them: 1.23.0 chained repeated
/// request headers (`headers_in.cookie` + `ngx_table_elt_t.next`) where 1.22 kept an array
/// (`headers_in.cookies`).
const VERSION_CHECKS: &[(u64, &str)] = &[(1_023_000, "nginx1_23_0")];

fn main() {
    println!("cargo::rerun-if-env-changed=DEP_NGINX_VERSION_NUMBER");
    let version = env::var("DEP_NGINX_VERSION_NUMBER")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok());
    for (min, cfg) in VERSION_CHECKS {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if version.is_some_and(|v| v >= *min) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
    for (var, cfg) in [("FEATURES", "ngx_feature"), ("OS", "ngx_os")] {
        let check = format!("DEP_NGINX_{var}_CHECK");
        println!("cargo::rerun-if-env-changed={check}");
        let allowed = env::var(&check).unwrap_or_else(|_| "any()".to_string());
        println!("cargo::rustc-check-cfg=cfg({cfg}, values({allowed}))");

        let values = format!("DEP_NGINX_{var}");
        println!("cargo::rerun-if-env-changed={values}");
        if let Ok(list) = env::var(&values) {
            for value in list.split(',').map(str::trim).filter(|v| !v.is_empty()) {
                println!("cargo::rustc-cfg={cfg}=\"{value}\"");
            }
        }
    }
}

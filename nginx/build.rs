//! Turns what nginx-sys learnt about the nginx build (DEP_NGINX_*) into `ngx_feature` / `ngx_os`
//! cfgs, so the module compiles only the code paths the target nginx has (same scheme as ngx's
//! own build script; nginx-sys must be a direct dependency for cargo to pass these on).

use std::env;

fn main() {
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

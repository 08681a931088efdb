# Makefile rule for the Rust part of ngx_http_sesame_module (see ./config). Cargo is always run
# (it knows when nothing changed); the module .so / nginx binary depends on its static library.

ngx_sesame_cargo=${NGX_CARGO:-cargo}

cat << END                                                    >> $NGX_MAKEFILE

.PHONY: $ngx_sesame_lib

$ngx_sesame_lib:
	NGINX_SOURCE_DIR="\$(CURDIR)" NGINX_BUILD_DIR="\$(CURDIR)/$NGX_OBJS" \\
	$ngx_sesame_cargo rustc --lib --crate-type staticlib \\
		--manifest-path "$ngx_addon_dir/Cargo.toml" \\
		--no-default-features --profile $ngx_sesame_profile \\
		--target-dir "$ngx_sesame_target_dir"

END

if [ "$ngx_sesame_link" = DYNAMIC ]; then
    cat << END                                                >> $NGX_MAKEFILE
$NGX_OBJS${ngx_dirsep}ngx_http_sesame_module$ngx_modext: $ngx_sesame_lib

END
fi

#!/usr/bin/env bash
# `make deb`: the three Debian packages of Sesame, built against this machine's Debian nginx and
# Apache, into build/deb/ (or $SESAME_DEB_DIR):
#   sesame                      the sesame command, nginx's sesame_*_params, /etc/sesame/secret
#   libnginx-mod-http-sesame    the nginx module (Debian's modules-enabled/ convention)
#   libapache2-mod-sesame       mod_sesame (a2enmod sesame)
# plus their -dbgsym packages (.ddeb). The version is the one in Cargo.toml. What each package
# installs and why: docs/packaging.md.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${SESAME_DEB_DIR:-$root/build/deb}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}

# The Debian packages this needs, from the one package list (tools/setup.sh, its "build" and
# "deb" groups): installed when missing as root, else the exact apt-get line and exit 1.
"$root/tools/setup.sh" deb

version=$(awk '/^\[package\]/ { p = 1; next } /^\[/ { p = 0 }
               p && /^version *=/ { gsub(/"/, "", $3); print $3; exit }' "$root/Cargo.toml")
if [ -z "$version" ]; then
    echo "make deb: no [package] version in $root/Cargo.toml" >&2
    exit 1
fi
# Who built the packages: DEBFULLNAME / DEBEMAIL as for Debian's own tools, else git's user.
name=${DEBFULLNAME:-$(git -C "$root" config user.name 2>/dev/null || true)}
email=${DEBEMAIL:-$(git -C "$root" config user.email 2>/dev/null || true)}
maintainer="${name:-Sesame maintainers} <${email:-sesame@example.org}>"
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
# The commit's date stamps the changelog and the files (reproducible builds); now outside git.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}

mkdir -p "$out"

# Debian's nginx source, configured with the flags Debian's nginx was built with. Kept between
# builds (a new configure would make cargo rebuild the module's bindings) and redone when
# nginx-dev changes.
nginx_src="$out/nginx-src"
nginx_dev=$(dpkg-query -W -f='${Version}' nginx-dev)
if [ "$(cat "$nginx_src/.nginx-dev-version" 2>/dev/null)" != "$nginx_dev" ]; then
    rm -rf "$nginx_src"
    cp -a /usr/share/nginx/src "$nginx_src"
    (cd "$nginx_src" && . ./conf_flags && ./configure "${NGX_CONF_FLAGS[@]}") > "$out/nginx-configure.log" 2>&1 || {
        echo "make deb: ./configure of Debian's nginx source failed (see $out/nginx-configure.log)" >&2
        exit 1
    }
    echo "$nginx_dev" > "$nginx_src/.nginx-dev-version"
fi

# A fresh staging directory: debian/ from packaging/, a changelog carrying Cargo.toml's version,
# the documents the sesame package ships.
work="$out/work"
rm -rf "$work"
mkdir -p "$work/docs"
cp -a "$root/packaging/debian" "$work/debian"
# The crates linked into the binaries: their copyright paragraphs, licence and notice files.
python3 "$root/packaging/third_party.py" "$root" "$work/debian/copyright" "$work/crates" >/dev/null
sed -i "s|@MAINTAINER@|$maintainer|" "$work/debian/control"
cp "$root/README.md" "$work/"
cp "$root"/docs/{directives,federations,packaging}.md "$work/docs/"
cat > "$work/debian/changelog" <<EOF
sesame ($version) bookworm; urgency=medium

  * Built by make deb from the Sesame source tree at commit $commit.

 -- $maintainer  $(date -R -u -d "@$SOURCE_DATE_EPOCH")
EOF

rm -rf "$out"/*.deb "$out"/*.ddeb "$out"/*.changes "$out"/*.buildinfo "$out/dbgsym"
# -d: Rust comes from rustup, not from a Debian package (tools/setup.sh checked the rest above).
(cd "$work" && SESAME_ROOT="$root" NGINX_SRC="$nginx_src" \
    dpkg-buildpackage -b -d -us -uc --no-pre-clean) > "$out/build.log" 2>&1 || {
    tail -40 "$out/build.log" >&2
    echo "make deb: dpkg-buildpackage failed (whole log: $out/build.log)" >&2
    exit 1
}

# Lintian on what was built: an error fails the build; warnings are printed (each one that
# remains is explained in packaging/debian/*.lintian-overrides).
if command -v lintian >/dev/null; then
    lintian --fail-on error "$out"/*.changes | tee "$out/lintian.log" >&2 || {
        echo "make deb: lintian found errors (see above)" >&2
        exit 1
    }
fi

# The debug symbols apart, so that `apt-get install ./build/deb/*.deb` installs the three.
mkdir -p "$out/dbgsym"
mv "$out"/*-dbgsym_*.*deb "$out/dbgsym/"
ls -1 "$out"/*.deb

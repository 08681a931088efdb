# Sesame — build, test, demo, lint. Cargo's target dir: $CARGO_TARGET_DIR if set, else ./target.
CARGO  ?= cargo
PYTHON ?= python3
export CARGO_TARGET_DIR ?= $(CURDIR)/target

.PHONY: all build cli test demo lint deps apache apache-install bench deb

all: build

# The core as a static library (C ABI users, tests/c) and the nginx module (which also builds
# nginx itself through nginx-sys; the binary lands in target/debug/build/nginx-sys-*/out/objs/).
build:
	$(CARGO) build -p sesame
	$(CARGO) build -p ngx-sesame
	$(MAKE) apache

# The Apache httpd module (apxs, Debian's apache2-dev): apache/.build/debug/mod_sesame.so, linked with the
# core's static library; fails unless sesame_module is its only exported symbol.
apache:
	$(MAKE) -C apache

# Builds the module against the release core and installs it into `apxs -q LIBEXECDIR`
# (/usr/lib/apache2/modules on Debian). Then: LoadModule sesame_module .../mod_sesame.so
apache-install:
	$(MAKE) -C apache PROFILE=release install

# The `sesame` operator command, optimised: target/release/sesame (`build` makes a debug one).
cli:
	$(CARGO) build --release -p sesame --bin sesame

# Unit + integration tests of the core (the C header check is one of them) and of the module's
# pure parts, then the end-to-end suite against real nginx, redis-server, php-fpm, the emulator.
test: build
	$(CARGO) test
	$(CARGO) test -p ngx-sesame
	$(PYTHON) -m pytest -q tests

# Everything running on localhost; prints the URL and a test user; Ctrl-C stops it all.
demo: build
	$(PYTHON) tests/e2e/demo.py

# The Debian packages sesame, libnginx-mod-http-sesame (built against Debian's nginx through
# nginx-dev) and libapache2-mod-sesame, release builds, stripped, into build/deb/:
# apt-get install ./build/deb/*.deb. What each installs: docs/packaging.md.
deb:
	bash packaging/build-deb.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy -p sesame --all-targets -- -D warnings
	$(CARGO) clippy -p ngx-sesame --all-targets -- -D warnings

deps:
	$(PYTHON) -m pip install -r tests/requirements.txt

# Performance beside the bare server (wrk, HTTPS, loopback): the release module, nginx and the
# session seeder, then bench/run.py (BENCH_ARGS=--quick: 3 s per row). Needs wrk (apt-get
# install wrk); Apache rows need apache2, apache2-dev and libapache2-mod-auth-openidc. Not part
# of `make test`: the figures depend on the machine and its load.
BENCH_ARGS ?=
bench:
	$(CARGO) build --release -p ngx-sesame
	$(CARGO) build --release --example bench_seed_sessions
	$(PYTHON) bench/run.py $(BENCH_ARGS)

# Sesame — build, test, demo, lint. Cargo's target dir: $CARGO_TARGET_DIR if set, else ./target.
CARGO  ?= cargo
# The Python test tools live in a virtual environment in the checkout, made by tools/setup.sh.
PYTHON ?= $(CURDIR)/.venv/bin/python
export CARGO_TARGET_DIR ?= $(CURDIR)/target
# Installs what a target needs when it is missing (Debian packages, .venv); `make SETUP=true ...`
# skips it on a machine set up another way. SETUP_FOR is what the target being made needs: a
# target-specific value, so `make test` sets up everything once, before its `build` prerequisite.
SETUP ?= $(CURDIR)/tools/setup.sh
SETUP_FOR = build
test: SETUP_FOR = test
demo: SETUP_FOR = demo
asan: SETUP_FOR = asan

.PHONY: all build cli test demo lint deps setup apache apache-install bench bench-cluster chaos soak dashboard deb asan fuzz fuzz-campaign cost cost-nginx

all: build

# The core as a static library (C ABI users, tests/c) and the nginx module (which also builds
# nginx itself through nginx-sys; the binary lands in target/debug/build/nginx-sys-*/out/objs/).
build:
	@$(SETUP) $(SETUP_FOR)
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

# Everything running on localhost, behind nginx (or SERVER=apache): FranceConnect and ProConnect
# emulators, Redis, PHP; prints the fixed URLs and the test users; Ctrl-C stops it all.
SERVER ?= nginx
demo: build
	$(PYTHON) tests/demo/demo.py --server $(SERVER)

# The Debian packages sesame, libnginx-mod-http-sesame (built against Debian's nginx through
# nginx-dev) and libapache2-mod-sesame, release builds, stripped, into build/deb/:
# apt-get install ./build/deb/*.deb. What each installs: docs/packaging.md.
deb:
	bash packaging/build-deb.sh

# AddressSanitizer (clang, Debian's libclang-rt): the C ABI smoke test and the Apache module
# (apache/.build/asan/, apache2 with the ASan runtime preloaded) through a login, a logout and
# hostile requests: tests/e2e/sanitizers/. Under a minute, so `make test` runs it too (it is
# part of the pytest suite); this target runs it alone.
asan:
	@$(SETUP) $(SETUP_FOR)
	$(CARGO) build -p sesame
	$(PYTHON) -m pytest -q tests/e2e/sanitizers

# Fuzzing (cargo-fuzz on the nightly toolchain: rustup toolchain install nightly; cargo install
# cargo-fuzz): each target of fuzz/fuzz_targets/ for FUZZ_SECONDS, niced, its new inputs in
# build/fuzz/corpus/ (the committed corpora stay as they are), then the stable replay of the
# committed corpora. Not part of `make test` (`cargo test` replays the corpora). Each target
# stops at FUZZ_RUNS executions or FUZZ_SECONDS, whichever comes first. ASan's fake stacks
# (use-after-return) cost a quarter of each execution's CPU and find nothing in safe Rust: off.
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?= 10000000
FUZZ_TARGETS ?= $(basename $(notdir $(wildcard fuzz/fuzz_targets/*.rs)))
fuzz:
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p build/fuzz/corpus/$$t && \
	    ASAN_OPTIONS=detect_stack_use_after_return=0 \
	    nice -n 19 $(CARGO) +nightly fuzz run -O $$t build/fuzz/corpus/$$t fuzz/corpus/$$t -- \
	        -max_total_time=$(FUZZ_SECONDS) -runs=$(FUZZ_RUNS) -print_final_stats=1 || exit 1; \
	done
	$(CARGO) test --test fuzz_corpora

# A long campaign (fuzz/campaign.sh): each target until 10 million executions or 30 minutes of
# its own CPU time, without ASan and with overflow checks; FUZZ_JOBS=2 runs two at a time.
fuzz-campaign:
	fuzz/campaign.sh $(FUZZ_CAMPAIGN_TARGETS)

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy -p sesame --all-targets -- -D warnings
	$(CARGO) clippy -p ngx-sesame --all-targets -- -D warnings
	rustfmt --check --edition 2021 fuzz/fuzz_targets/*.rs

# Everything `make test` needs (Debian packages as root, .venv), without building or testing.
setup deps:
	@$(SETUP) test

# Performance beside the bare server (wrk, HTTPS, loopback): the release module, nginx and the
# session seeder, then bench/run.py (BENCH_ARGS=--quick: 3 s per row); wrk and the Apache rows'
# packages come from tools/setup.sh. Not part of `make test`: the figures depend on the machine
# and its load.
BENCH_ARGS ?=
bench:
	@$(SETUP) bench
	$(CARGO) build --release -p ngx-sesame
	$(CARGO) build --release --example bench_seed_sessions
	$(PYTHON) bench/run.py $(BENCH_ARGS)

# Web nodes sharing a Redis Cluster, as behind a load balancer (bench/cluster.py): 4 nginx nodes
# and 1 Apache node, a 3-master + 3-replica Redis Cluster, the emulator and wrk, each in a network
# namespace of its own (root; created and deleted by the run). Checks a session made on one node
# on the others, logout and kill across nodes, then measures 1 000 vs 1 000 000 sessions stored,
# nodes added, a master killed under load, Redis memory per session. Not part of `make test`.
# CLUSTER_ARGS=--quick for a short run.
CLUSTER_ARGS ?=
bench-cluster: SETUP_FOR = cluster
bench-cluster:
	@$(SETUP) $(SETUP_FOR)
	$(CARGO) build --release -p ngx-sesame
	$(CARGO) build --release --example bench_seed_sessions
	$(CARGO) build --release -p sesame --bin sesame
	$(MAKE) -C apache PROFILE=release
	nice -n 10 $(PYTHON) bench/cluster.py $(CLUSTER_ARGS)

# Sesame's own CPU per request (session-cache hit) and per login (bench/cost.py): the release
# core driven as the nginx module drives it (bench/cost.rs) and through the C ABI as the Apache
# module does (bench/cost_c_abi.c), against redis-server and the emulator; instructions counted
# by valgrind's callgrind (repeatable under any load) and native CPU time. COST_ARGS="--hits 500".
COST_ARGS ?=
cost: SETUP_FOR = cost
cost:
	@$(SETUP) $(SETUP_FOR)
	$(CARGO) build --release -p sesame --lib --example bench_cost
	nice -n 10 $(PYTHON) bench/cost.py $(COST_ARGS)

# What a protected request costs inside a real nginx worker (bench/nginx_cost.py): the release
# nginx and module in one process under callgrind, a real login through the emulator, then the
# same requests to an unprotected and a protected location; instructions per request, the
# difference, and the functions it goes to. COST_NGINX_ARGS="--requests 500".
COST_NGINX_ARGS ?=
cost-nginx: SETUP_FOR = cost
cost-nginx:
	@$(SETUP) $(SETUP_FOR)
	$(CARGO) build --release -p ngx-sesame
	nice -n 10 $(PYTHON) bench/nginx_cost.py $(COST_NGINX_ARGS)

# Faults under load (bench/chaos.py): on nginx (2 workers) and Apache, while wrk drives protected
# and unprotected pages and a client logs in: Redis killed, stopped, failed over by Sentinel, cut
# off (iptables); the provider hanging, answering 500, garbage, closing mid-answer; reloads every
# 2 s. One table: crashes, 5xx and when, recovery, logins failed, sessions lost, RSS, fds, Redis
# memory (CHAOS_ARGS="--server nginx --scenarios redis-kill,reload"). Exit 1 when a property fails.
CHAOS_ARGS ?= --nice
chaos: SETUP_FOR = chaos
chaos:
	@$(SETUP) $(SETUP_FOR)
	$(CARGO) build --release -p ngx-sesame
	$(CARGO) build --release --example bench_seed_sessions
	$(PYTHON) bench/chaos.py $(CHAOS_ARGS)

# The metrics dashboard's screenshot (bench/dashboard.py): bench rows b-e with a real Prometheus
# scraping the module, the panels of docs/grafana/sesame.json queried from it and drawn by the
# script, screenshotted by headless Chromium into docs/images/metrics-dashboard.png.
DASHBOARD_ARGS ?=
dashboard: SETUP_FOR = dashboard
dashboard:
	@$(SETUP) $(SETUP_FOR)
	$(CARGO) build --release -p ngx-sesame
	$(PYTHON) bench/dashboard.py $(DASHBOARD_ARGS)

# Soak (bench/soak.py): 10 million protected requests over 100 000 sessions and 10 000 logins per
# server (SOAK_ARGS="--requests 2000000" for a shorter run); worker RSS, fds and Redis memory at
# the start, after every wrk run and at the end. About an hour per server on a small machine.
SOAK_ARGS ?= --nice
soak: SETUP_FOR = bench
soak:
	@$(SETUP) $(SETUP_FOR)
	$(CARGO) build --release -p ngx-sesame
	$(CARGO) build --release --example bench_seed_sessions
	$(PYTHON) bench/soak.py $(SOAK_ARGS)

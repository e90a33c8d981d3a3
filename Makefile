# Thin wrapper over CMake: the two commands the README names, and their parts.
#   make run    install missing Debian packages, build, start zend in the foreground
#   make demo   build, then a request failing over between two mock providers and
#               zenctl metrics --watch, in a temporary home (tests/demo/demo.py)
#   make test   install missing Debian packages, build, run the whole suite (ctest)
#   make fuzz   build the libFuzzer harnesses with clang and run each FUZZ_SECONDS
#   make test-clients  Claude Code, the openai SDK and Codex through zend (tests/clients)
#   make install    build, then install under PREFIX (default /usr/local; DESTDIR honoured)
#   make uninstall  remove every file the last install wrote ($(BUILD)/install_manifest.txt)
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
CMAKE_FLAGS ?=
ZEND_ARGS ?=
PREFIX ?= /usr/local
DESTDIR ?=

# Build and run dependencies (Debian package names): what `make run` and
# `make install` need. python3 renders the man pages from docs/ at build time.
DEBIAN_PACKAGES := cmake make gcc pkg-config libev-dev libcurl4-openssl-dev libsodium-dev \
	libcunit1-dev libmsgpack-dev node-llhttp libjansson-dev libsqlite3-dev python3

# What `make test` needs on top: zsh and fish so the completion tests can load the
# generated scripts in their own shells; curl for make demo (and its test) and the
# README's examples; man-db (with groff-base) and systemd so the install test can
# render the manual pages and check the units (systemd-analyze); strace so it can
# see which system calls zend makes.
TEST_PACKAGES := bash zsh fish curl man-db groff-base systemd strace

# The extra checks .ci/run performs after `make test`. prometheus brings promtool,
# which the Prometheus tests run on zenctl's exposition when it is there (about
# 100 MB; on a machine booted with systemd the package also enables and starts a
# Prometheus server on :9090, which a container's policy-rc.d prevents).
CHECK_PACKAGES := valgrind gcovr prometheus

# What `make bench` needs besides the build (tests/bench/README.md). The Node
# gateways it compares with go into $(BUILD)/bench/node_modules through npm.
BENCH_PACKAGES := wrk nginx strace

# What `make test-clients` needs when node or npm is missing. The clients
# themselves (Claude Code, the openai SDK, Codex) go into $(BUILD)/clients/
# node_modules through npm, at the versions pinned in tests/clients/install_clients.sh.
CLIENT_PACKAGES := nodejs npm
SOAK_SECONDS ?= 600

.PHONY: all deps build run demo test clean test-sanitize test-tsan test-valgrind coverage check-deps test-clients \
	install uninstall

all: build

deps:
	@missing=""; \
	for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	  else \
	    echo "missing Debian packages:$$missing"; \
	    echo "install them as root, then run make again:"; \
	    echo "  sudo apt-get install -y --no-install-recommends$$missing"; \
	    exit 1; \
	  fi; \
	fi

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j$$(nproc)

run: build
	exec $(BUILD)/bin/zend --foreground $(ZEND_ARGS)

demo: build
	@$(MAKE) --no-print-directory deps DEBIAN_PACKAGES=curl
	PYTHONDONTWRITEBYTECODE=1 python3 tests/demo/demo.py --build $(abspath $(BUILD))

test: build
	@$(MAKE) --no-print-directory deps DEBIAN_PACKAGES="$(TEST_PACKAGES)"
	cd $(BUILD) && ctest --output-on-failure -j2

# What goes where: README, "Install". The systemd units get ExecStart from PREFIX
# (never from DESTDIR, which only stages the files).
install: build
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"

# Removes exactly what the last install wrote, then the doc directory if nothing else
# is left in it. The manifest holds the paths under PREFIX: give uninstall the same
# DESTDIR as that install.
uninstall:
	@test -f $(BUILD)/install_manifest.txt || \
	  { echo "uninstall: no $(BUILD)/install_manifest.txt (nothing was installed from $(BUILD))"; exit 1; }
	@while IFS= read -r f || [ -n "$$f" ]; do \
	  [ -n "$$f" ] || continue; f="$(DESTDIR)$$f"; \
	  if [ -e "$$f" ] || [ -L "$$f" ]; then echo "removing $$f"; rm -f -- "$$f"; fi; \
	done < $(BUILD)/install_manifest.txt
	@sed -n 's,/README\.md$$,,p' $(BUILD)/install_manifest.txt | while IFS= read -r d || [ -n "$$d" ]; do \
	  rmdir -- "$(DESTDIR)$$d" 2>/dev/null || true; done

check-deps:
	@$(MAKE) --no-print-directory deps DEBIAN_PACKAGES="$(DEBIAN_PACKAGES) $(TEST_PACKAGES) $(CHECK_PACKAGES)"

# The whole suite again, built with AddressSanitizer and UBSan.
test-sanitize:
	$(MAKE) test BUILD=build-asan BUILD_TYPE=Debug CMAKE_FLAGS=-DZEN_SANITIZE=ON

# zend's threads (the health front, the ledger's writer) under ThreadSanitizer: the control
# and usage tests, with zend and zenctl built with -fsanitize=thread. A report (written to a
# temporary directory) fails the target even when the test that caused it passed.
TSAN_TESTS := test_control_front test_control test_hardening_ctl test_control_read test_blame_health test_usage
test-tsan: check-deps
	$(MAKE) --no-print-directory build BUILD=build-tsan BUILD_TYPE=RelWithDebInfo CMAKE_FLAGS=-DZEN_TSAN=ON
	@reports=$$(mktemp -d); \
	cd tests/integration && PYTHONDONTWRITEBYTECODE=1 TSAN_OPTIONS="log_path=$$reports/tsan" \
	  ZEND_BIN=$(abspath build-tsan)/bin/zend ZENCTL_BIN=$(abspath build-tsan)/bin/zenctl \
	  python3 -m unittest $(TSAN_TESTS); rc=$$?; \
	if ls $$reports/tsan* >/dev/null 2>&1; then cat $$reports/tsan*; echo "ThreadSanitizer reports above"; rc=1; fi; \
	rm -rf $$reports; exit $$rc

# The proxy and translation integration tests with zend under valgrind memcheck: a memory
# error or a leak makes zend exit 99 and the test's clean-shutdown check fail.
test-valgrind: check-deps build
	cd tests/integration && PYTHONDONTWRITEBYTECODE=1 \
	  ZEND_REAL_BIN=$(abspath $(BUILD))/bin/zend ZEND_BIN=$(CURDIR)/tests/integration/valgrind_zend.sh \
	  ZENCTL_BIN=$(abspath $(BUILD))/bin/zenctl python3 -m unittest test_proxy test_translate test_usage_tokens

# Real clients through zend's format translation (tests/clients/test_clients.py):
# Claude Code, the openai Node SDK and Codex, each against a mock provider of
# the other format.
test-clients: build
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory deps DEBIAN_PACKAGES="$(CLIENT_PACKAGES)"; \
	fi
	@sh tests/clients/install_clients.sh $(BUILD)/clients
	cd tests/clients && PYTHONDONTWRITEBYTECODE=1 ZEN_CLIENTS_DIR=$(abspath $(BUILD))/clients \
	  ZEND_BIN=$(abspath $(BUILD))/bin/zend ZENCTL_BIN=$(abspath $(BUILD))/bin/zenctl \
	  python3 -m unittest -v test_clients

# Line coverage of lib/, proto/ and zend/ over the whole suite (gcovr).
coverage: check-deps
	$(MAKE) test BUILD=build-cov BUILD_TYPE=Debug CMAKE_FLAGS=-DZEN_COVERAGE=ON
	@for d in lib proto zend; do \
	  printf '%-6s ' "$$d/"; \
	  gcovr -r . --object-directory build-cov --filter "$$d/" --exclude 'tests/' \
	    --print-summary -o build-cov/coverage-$$d.txt | grep '^lines:'; \
	done

# Throughput, latency, RSS and streaming of zend against nginx, Portkey and
# claude-code-router on one fast mock, then a streaming capacity run; prints a
# table and writes $(BUILD)/bench/results.json. Knobs (environment): BENCH_SECONDS,
# BENCH_REPS, BENCH_STREAM_SECONDS, CAP_STREAMS (0 = no capacity run), CAP_SECONDS,
# BENCH_TRANSLATED (0 = no Anthropic -> OpenAI Chat rows), BENCH_COUNTS (0 = no
# system call / allocation counts), BENCH_HEALTH_RPCS. The bench compiles its own
# tools (tests/bench/curlfloor.c, malloc_count.c) into $(BUILD)/bench with cc.
.PHONY: bench soak
bench: build
	@$(MAKE) --no-print-directory deps DEBIAN_PACKAGES="$(DEBIAN_PACKAGES) $(BENCH_PACKAGES)"
	@sh tests/bench/install_gateways.sh $(BUILD)/bench
	cd tests/bench && PYTHONDONTWRITEBYTECODE=1 BUILD=$(abspath $(BUILD)) python3 bench.py

# Mixed traffic (successes, failovers, 429s, cut streams, client hang-ups) for
# SOAK_SECONDS; fails if zend's idle RSS grows > 5 % or its fds grow after warm-up.
soak: build
	cd tests/bench && PYTHONDONTWRITEBYTECODE=1 BUILD=$(abspath $(BUILD)) \
	  SOAK_SECONDS=$(SOAK_SECONDS) python3 soak.py

clean:
	rm -rf $(BUILD) build-asan build-cov build-fuzz

# Fuzzing (tests/fuzz/README.md): clang's libFuzzer with ASan/UBSan, in its
# own build tree; each harness runs FUZZ_SECONDS on a copy of its committed
# seed corpus. New corpus entries and crash artifacts go to
# $(FUZZ_BUILD)/fuzz-work/<harness>/, never into tests/fuzz/corpus.
# Fails if any harness found something.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_HARNESSES ?= http rpc config sse tr_request tr_decode tr_chunk zjson usage routing
FUZZ_ARGS ?=
FUZZ_PACKAGES := clang libclang-rt-14-dev

.PHONY: fuzz-deps fuzz-build fuzz

fuzz-deps:
	@$(MAKE) --no-print-directory deps DEBIAN_PACKAGES="$(DEBIAN_PACKAGES) $(FUZZ_PACKAGES)"

fuzz-build: fuzz-deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZEN_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j$$(nproc) --target fuzz_harnesses

fuzz: fuzz-build
	@failed=""; \
	for h in $(FUZZ_HARNESSES); do \
	  work=$(FUZZ_BUILD)/fuzz-work/$$h; \
	  rm -rf $$work && mkdir -p $$work/corpus $$work/artifacts; \
	  cp tests/fuzz/corpus/$$h/* $$work/corpus/; \
	  dict=""; [ -f tests/fuzz/$$h.dict ] && dict="-dict=tests/fuzz/$$h.dict"; \
	  maxlen=""; [ $$h = http ] && maxlen="-max_len=16384"; \
	  echo "fuzz_$$h: running $(FUZZ_SECONDS) s (log: $$work/log)"; \
	  UBSAN_OPTIONS=print_stacktrace=1 $(FUZZ_BUILD)/bin/fuzz_$$h \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 $$dict $$maxlen \
	    -artifact_prefix=$$work/artifacts/ $(FUZZ_ARGS) $$work/corpus >$$work/log 2>&1; \
	  rc=$$?; \
	  runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$work/log); \
	  rate=$$(sed -n 's/^stat::average_exec_per_sec: *//p' $$work/log); \
	  if [ $$rc = 0 ]; then \
	    echo "fuzz_$$h: ok, $${runs:-?} runs, $${rate:-?} execs/s"; \
	  else \
	    echo "fuzz_$$h: FAILED (exit $$rc), $${runs:-?} runs, $${rate:-?} execs/s"; \
	    grep -E "ERROR|SUMMARY|invariant|^fuzz_[a-z_]+:" $$work/log | head -5; \
	    for a in $$work/artifacts/*; do [ -e "$$a" ] && echo "  reproduce: $(FUZZ_BUILD)/bin/fuzz_$$h $$a"; done; \
	    failed="$$failed $$h"; \
	  fi; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: findings in:$$failed"; exit 1; fi

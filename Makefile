# Thin wrapper over CMake: the two commands the README names, and their parts.
#   make run    install missing Debian packages, build, start zend in the foreground
#   make test   install missing Debian packages, build, run the whole suite (ctest)
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
CMAKE_FLAGS ?=
ZEND_ARGS ?=

# Build and test dependencies (architecture.md). zsh and fish are here so the
# completion tests can load the generated scripts in their own shells.
DEBIAN_PACKAGES := cmake make gcc pkg-config libev-dev libcurl4-openssl-dev libsodium-dev \
	libcunit1-dev libmsgpack-dev node-llhttp libjansson-dev python3 bash zsh fish

# The extra checks .ci/run performs after `make test`.
CHECK_PACKAGES := valgrind gcovr

.PHONY: all deps build run test clean test-sanitize test-valgrind coverage check-deps

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

test: build
	cd $(BUILD) && ctest --output-on-failure -j2

check-deps:
	@$(MAKE) --no-print-directory deps DEBIAN_PACKAGES="$(DEBIAN_PACKAGES) $(CHECK_PACKAGES)"

# The whole suite again, built with AddressSanitizer and UBSan.
test-sanitize:
	$(MAKE) test BUILD=build-asan BUILD_TYPE=Debug CMAKE_FLAGS=-DZEN_SANITIZE=ON

# The proxy integration tests with zend under valgrind memcheck: a memory
# error or a leak makes zend exit 99 and the test's clean-shutdown check fail.
test-valgrind: check-deps build
	cd tests/integration && PYTHONDONTWRITEBYTECODE=1 \
	  ZEND_REAL_BIN=$(abspath $(BUILD))/bin/zend ZEND_BIN=$(CURDIR)/tests/integration/valgrind_zend.sh \
	  ZENCTL_BIN=$(abspath $(BUILD))/bin/zenctl python3 -m unittest test_proxy

# Line coverage of lib/, proto/ and zend/ over the whole suite (gcovr).
coverage: check-deps
	$(MAKE) test BUILD=build-cov BUILD_TYPE=Debug CMAKE_FLAGS=-DZEN_COVERAGE=ON
	@for d in lib proto zend; do \
	  printf '%-6s ' "$$d/"; \
	  gcovr -r . --object-directory build-cov --filter "$$d/" --exclude 'tests/' \
	    --print-summary -o /dev/null | grep '^lines:'; \
	done

clean:
	rm -rf $(BUILD) build-asan build-cov build-fuzz

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

.PHONY: all deps build run test clean

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

clean:
	rm -rf $(BUILD)

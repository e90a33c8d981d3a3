#!/bin/sh
# Installs the real clients that `make test-clients` drives through zend into
# DIR/node_modules (DIR defaults to build/clients; never committed), with npm,
# unless the pinned versions are there already. Each pin ships everything it
# runs inside registry packages: Claude Code and Codex bring their Linux x64
# binaries as optional dependencies, so nothing is downloaded at run time.
set -eu
DIR=${1:-build/clients}
CLAUDE=@anthropic-ai/claude-code@2.1.328
OPENAI=openai@6.49.0
CODEX=@openai/codex@0.169.0

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "clients: node and npm are needed (make test-clients installs them as root)" >&2
    exit 1
fi
exec sh "$(dirname "$0")/../npm_pinned.sh" "$DIR" "$CLAUDE" "$OPENAI" "$CODEX"

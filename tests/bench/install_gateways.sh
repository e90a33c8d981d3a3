#!/bin/sh
# Installs the two Node gateways the benchmark compares zend with into
# DIR/node_modules (DIR defaults to build/bench; never committed), with npm,
# unless the pinned versions are there already. Without node and npm it says
# so and exits 0: bench.py then reports those gateways as not started.
set -eu
DIR=${1:-build/bench}
PORTKEY=@portkey-ai/gateway@1.15.2
CCR=@musistudio/claude-code-router@1.0.73

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "bench: node/npm not found: the Node gateways will be skipped" >&2
    exit 0
fi
exec sh "$(dirname "$0")/../npm_pinned.sh" "$DIR" "$PORTKEY" "$CCR"

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
have() {  # have NAME@VERSION: is exactly that version installed in DIR?
    name=${1%@*}; version=${1##*@}
    f="$DIR/node_modules/$name/package.json"
    [ -f "$f" ] && node -e 'process.exit(require(process.argv[1]).version === process.argv[2] ? 0 : 1)' "$f" "$version"
}
if have "$PORTKEY" && have "$CCR"; then
    exit 0
fi
mkdir -p "$DIR"
echo "bench: npm install $PORTKEY $CCR into $DIR/node_modules"
npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error "$PORTKEY" "$CCR"

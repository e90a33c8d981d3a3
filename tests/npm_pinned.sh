#!/bin/sh
# npm_pinned.sh DIR NAME@VERSION...: installs exactly these versions into
# DIR/node_modules with npm, unless every one of them is there already.
# Shared by tests/bench/install_gateways.sh and tests/clients/install_clients.sh;
# the caller checks that node and npm exist. DIR is a build directory, never
# committed (npm writes its package.json and lockfile there).
set -eu
DIR=$1
shift
have() {  # have NAME@VERSION: is exactly that version installed in DIR?
    name=${1%@*}; version=${1##*@}
    f="$DIR/node_modules/$name/package.json"
    # An absolute path: require() takes "build/..." for a module name.
    [ -f "$f" ] && node -e 'const p = require("path").resolve(process.argv[1]);
        process.exit(require(p).version === process.argv[2] ? 0 : 1)' "$f" "$version"
}
missing=0
for p in "$@"; do
    have "$p" || missing=1
done
[ "$missing" = 0 ] && exit 0
mkdir -p "$DIR"
echo "npm install $* into $DIR/node_modules"
npm install --prefix "$DIR" --no-audit --no-fund --no-update-notifier --loglevel=error "$@"

#!/usr/bin/env bash
# Fetch axe-core (the accessibility checker the browser tests inject) from the npm registry, pinned and
# checked against the registry's own integrity hash. Run by .ci/run; the tests never touch the network.
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=4.14.1
INTEGRITY="sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
target=".cache/axe-core-$VERSION"
[ -f "$target/axe.min.js" ] && exit 0
mkdir -p "$target"
tarball="$target/axe-core.tgz"
curl -fsSL "https://registry.npmjs.org/axe-core/-/axe-core-$VERSION.tgz" -o "$tarball"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$actual" != "$INTEGRITY" ]; then
    echo "axe-core $VERSION: integrity mismatch ($actual)" >&2
    rm -f "$tarball"
    exit 1
fi
tar -xzf "$tarball" -C "$target" --strip-components=1 package/axe.min.js
rm -f "$tarball"

#!/usr/bin/env bash
# Rebuilds ../zod.js: zod (the version that nango 0.71.10 depends on and `nango init` pins)
# bundled by esbuild into ONE self-contained, minified IIFE that sets globalThis.__nango_zod
# to the zod module namespace. The embedded QuickJS runtime evaluates it and returns
# globalThis.__nango_zod from require("zod"). No network at run time; node_modules is removed.
#
# Needs Node and npm (npm registry reachable). Run from anywhere: server/src/runtime/js/zod/build.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

npm ci --no-audit --no-fund
zod_version="$(node -p 'require("./node_modules/zod/package.json").version')"

./node_modules/.bin/esbuild entry.js \
  --bundle \
  --format=iife \
  --platform=neutral \
  --target=es2020 \
  --minify \
  --legal-comments=none \
  --charset=utf8 \
  --banner:js="/* zod ${zod_version} (MIT License, Copyright (c) 2025 Colin McDonnell), bundled by server/src/runtime/js/zod/build.sh with esbuild; do not edit. */" \
  --outfile=../zod.js

rm -rf node_modules
node verify.mjs
echo "wrote $(cd .. && pwd)/zod.js ($(wc -c < ../zod.js) bytes, zod ${zod_version})"

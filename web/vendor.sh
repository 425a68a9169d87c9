#!/usr/bin/env bash
# Copies GraphiQL and React from the npm registry into web/vendor/, which is committed and
# embedded in the gateway binary, so /graphiql loads nothing from a CDN.
#
# Run it only to change a version: edit the exact versions in web/package.json, run
# `bash web/vendor.sh`, check /graphiql and the browser tests, and commit web/vendor/ with
# web/package-lock.json. Builds and CI never run it. It needs Node.js and npm.
#
# What the packages ship, checked for graphiql 3.0.10 to 3.8.3: `graphiql.min.js` is a UMD
# build that expects `window.React` and `window.ReactDOM` and bundles its own graphql-js, but
# it is webpack's development build, unminified (3.5 MB in 3.8.3). This script minifies it with
# esbuild and keeps every licence comment at the end of the file. React 18 still ships UMD
# builds (`umd/*.production.min.js`); React 19 no longer does, which is why React stays at 18.
set -euo pipefail
cd "$(dirname "$0")"

npm ci --ignore-scripts --no-audit --no-fund

version() { node -p "require('./node_modules/$1/package.json').version"; }

out=vendor
rm -rf "$out"
mkdir -p "$out"

node_modules/.bin/esbuild node_modules/graphiql/graphiql.min.js \
  --minify --legal-comments=eof --log-level=warning \
  --outfile="$out/graphiql.min.js"
cp node_modules/graphiql/graphiql.min.css "$out/graphiql.min.css"
cp node_modules/graphiql/LICENSE "$out/LICENSE.graphiql"

cp node_modules/react/umd/react.production.min.js "$out/react.production.min.js"
cp node_modules/react/LICENSE "$out/LICENSE.react"
cp node_modules/react-dom/umd/react-dom.production.min.js "$out/react-dom.production.min.js"
cp node_modules/react-dom/LICENSE "$out/LICENSE.react-dom"

# GraphiQL's CSS ends with a source map comment for a file that is not vendored.
sed -i '/sourceMappingURL=/d' "$out/graphiql.min.css"

{
  echo "# Vendored by web/vendor.sh from the npm registry; do not edit by hand."
  echo "# package version licence file sha256"
  for file in graphiql.min.js graphiql.min.css; do
    echo "graphiql $(version graphiql) MIT $file $(sha256sum "$out/$file" | cut -d' ' -f1)"
  done
  echo "react $(version react) MIT react.production.min.js $(sha256sum "$out/react.production.min.js" | cut -d' ' -f1)"
  echo "react-dom $(version react-dom) MIT react-dom.production.min.js $(sha256sum "$out/react-dom.production.min.js" | cut -d' ' -f1)"
  echo "# graphiql.min.js minified by esbuild $(version esbuild)"
} > "$out/VERSIONS"

cat "$out/VERSIONS"
du -b "$out"/* | sort -n

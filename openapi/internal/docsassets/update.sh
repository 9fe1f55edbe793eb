#!/usr/bin/env bash
# Replaces the pinned Swagger UI and ReDoc copies with the given npm
# releases and rewrites SOURCES (versions, npm integrity, sha256 of each
# file). The files are copied byte for byte from the npm tarballs (the
# source maps they point to are left out: only devtools asks for them).
# Usage, from this directory:
#   ./update.sh 5.36.0 2.5.4   # swagger-ui-dist version, redoc version
# Then set SwaggerUIVersion and RedocVersion in assets.go to match and run
# go test ./openapi/... (TestPinnedVersions checks all three agree).
set -euo pipefail
cd "$(dirname "$0")"
swagger=${1:?swagger-ui-dist version}
redoc=${2:?redoc version}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

npm pack --silent --pack-destination "$tmp" "swagger-ui-dist@$swagger" "redoc@$redoc" >/dev/null
mkdir -p "$tmp/s" "$tmp/r"
tar xzf "$tmp/swagger-ui-dist-$swagger.tgz" -C "$tmp/s"
tar xzf "$tmp/redoc-$redoc.tgz" -C "$tmp/r"

rm -rf swagger-ui-dist redoc
mkdir swagger-ui-dist redoc
for f in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt \
	swagger-ui-standalone-preset.js swagger-ui-standalone-preset.js.LICENSE.txt \
	swagger-ui.css favicon-32x32.png LICENSE NOTICE; do
	cp "$tmp/s/package/$f" swagger-ui-dist/
done
cp "$tmp/r/package/bundles/redoc.standalone.js" "$tmp/r/package/bundles/redoc.standalone.js.LICENSE.txt" \
	"$tmp/r/package/LICENSE" redoc/

{
	echo "# Written by update.sh; TestPinnedVersions checks it against the files."
	echo "swagger-ui-dist $swagger $(npm view --silent "swagger-ui-dist@$swagger" dist.integrity)"
	echo "redoc $redoc $(npm view --silent "redoc@$redoc" dist.integrity)"
	sha256sum swagger-ui-dist/* redoc/*
} >SOURCES

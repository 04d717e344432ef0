#!/usr/bin/env bash
# Re-vendor Vue Flow and dagre into ui/canvas/vendor/ (see ui/canvas/vendor/VENDORED.md).
#
# Fetches the npm tarballs with `npm pack` into a temporary directory, copies only each
# package's ESM build (renamed index.js: NiceGUI's `esm=` maps a bare name to <dir>/index.js),
# its CSS (renamed so that every file name is unique: NiceGUI's loadResource de-duplicates
# stylesheets by file name) and its LICENSE, then replaces `process.env.NODE_ENV` (which does
# not exist in a browser) with "production". npm is needed only to run this script, never to
# install or run graphflow.
#
# Usage: scripts/vendor_vueflow.sh   (versions below; bump them together)
set -euo pipefail

CORE_VERSION=1.48.2
BACKGROUND_VERSION=1.3.2
CONTROLS_VERSION=1.1.3
MINIMAP_VERSION=1.5.4
DAGRE_VERSION=3.1.3  # @dagrejs/dagre: the canvas' automatic layout (graphlib 4 bundled in)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$ROOT/ui/canvas/vendor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

fetch() {  # fetch <npm name> <version> <folder>: unpack the tarball into $WORK/<folder>/package
  local name="$1" version="$2" folder="$3"
  mkdir -p "$WORK/$folder"
  (cd "$WORK/$folder" && npm pack --silent "$name@$version" >/dev/null && tar xzf ./*.tgz)
  rm -rf "${VENDOR:?}/$folder"
  mkdir -p "$VENDOR/$folder"
  cp "$WORK/$folder/package/LICENSE" "$VENDOR/$folder/LICENSE"
  sed 's/process\.env\.NODE_ENV/"production"/g' "$WORK/$folder/package/dist/$folder.mjs" > "$VENDOR/$folder/index.js"
  if grep -q 'process\.env' "$VENDOR/$folder/index.js"; then
    echo "error: $folder still reads process.env after patching" >&2
    exit 1
  fi
}

fetch @vue-flow/core "$CORE_VERSION" vue-flow-core
cp "$WORK/vue-flow-core/package/dist/style.css" "$VENDOR/vue-flow-core/vue-flow-core.css"
cp "$WORK/vue-flow-core/package/dist/theme-default.css" "$VENDOR/vue-flow-core/vue-flow-theme-default.css"

fetch @vue-flow/background "$BACKGROUND_VERSION" vue-flow-background

fetch @vue-flow/controls "$CONTROLS_VERSION" vue-flow-controls
cp "$WORK/vue-flow-controls/package/dist/style.css" "$VENDOR/vue-flow-controls/vue-flow-controls.css"

fetch @vue-flow/minimap "$MINIMAP_VERSION" vue-flow-minimap
cp "$WORK/vue-flow-minimap/package/dist/style.css" "$VENDOR/vue-flow-minimap/vue-flow-minimap.css"

# dagre: its ESM build has no imports at all; its source map is not vendored, so its comment goes
mkdir -p "$WORK/dagre"
(cd "$WORK/dagre" && npm pack --silent "@dagrejs/dagre@$DAGRE_VERSION" >/dev/null && tar xzf ./*.tgz)
rm -rf "${VENDOR:?}/dagre"
mkdir -p "$VENDOR/dagre"
cp "$WORK/dagre/package/LICENSE" "$VENDOR/dagre/LICENSE"
grep -v '^//# sourceMappingURL=' "$WORK/dagre/package/dist/dagre.esm.js" > "$VENDOR/dagre/index.js"

# The only bare imports left must be "vue" (NiceGUI's import map) and "@vue-flow/core" (ours).
if grep -ho 'from "[^".][^"]*"' "$VENDOR"/*/index.js | sort -u | grep -v -e 'from "vue"' -e 'from "@vue-flow/core"'; then
  echo "error: a vendored module imports something the import map does not provide" >&2
  exit 1
fi
(cd "$VENDOR" && sha256sum */index.js */*.css)
echo "vendored into $VENDOR"

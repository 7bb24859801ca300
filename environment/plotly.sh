#!/usr/bin/env bash
# plotly.js-dist-min 2.35.3 from npm (sha256-checked) at $TINYRT_TOOLS/plotly/plotly-2.35.3.min.js (default
# ~/.local/share/tinyrt/plotly/), where benchmark charts (dev.tinyrt.report) and notebooks inline it: the pages must
# work offline, so no CDN link. 2.35.3 exactly: plotly.js 3.x drops the chart titles Tablesaw writes.
# environment/jupyter/setup_jupyter.sh (run by setup.sh) fetches the same file; this is the fetch on its own.
# Idempotent. Prints the file's path.
set -euo pipefail
PLOTLY_VERSION=2.35.3
PLOTLY_SHA256=fc84e3cfa55d23d3654c562ea5deb3c274eb6972a6adf66941d1a821e34825e4
tools="${TINYRT_TOOLS:-$HOME/.local/share/tinyrt}"
plotly_js="$tools/plotly/plotly-$PLOTLY_VERSION.min.js"
if [ ! -f "$plotly_js" ] || ! echo "$PLOTLY_SHA256  $plotly_js" | sha256sum --check --status; then
  command -v npm >/dev/null || { echo "plotly.sh: npm is needed (apt-get install -y npm)" >&2; exit 1; }
  echo "plotly.sh: fetching plotly.js-dist-min $PLOTLY_VERSION from npm" >&2
  pack="$(mktemp -d)"
  trap 'rm -rf "$pack"' EXIT
  (cd "$pack" && npm pack --silent "plotly.js-dist-min@$PLOTLY_VERSION" >/dev/null \
    && tar xzf "plotly.js-dist-min-$PLOTLY_VERSION.tgz")
  echo "$PLOTLY_SHA256  $pack/package/plotly.min.js" | sha256sum --check --status \
    || { echo "plotly.sh: plotly.min.js $PLOTLY_VERSION has an unexpected sha256" >&2; exit 1; }
  mkdir -p "$tools/plotly"
  cp "$pack/package/plotly.min.js" "$plotly_js"
  cp "$pack/package/LICENSE" "$tools/plotly/LICENSE"
fi
echo "$plotly_js"

#!/usr/bin/env bash
# Renders an exported notebook (or any HTML file) to a PNG with headless Chromium, offline: to look at what a
# reader sees, e.g. that the inlined plotly.js draws every chart without a network.
#   bash environment/jupyter/screenshot.sh build/notebooks/01_environment_and_model.html out.png [height]
# Needs Debian's chromium (apt-get install --no-install-recommends chromium); not part of the set-up or CI.
set -euo pipefail
html="$(realpath "$1")" png="$(realpath -m "$2")" height="${3:-6000}"
command -v chromium >/dev/null || { echo "screenshot.sh: chromium is not installed" >&2; exit 1; }
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
# a throwaway HOME and profile; no network, sync, updates or first-run pages
HOME="$scratch" chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --user-data-dir="$scratch/profile" \
  --hide-scrollbars --virtual-time-budget=15000 --window-size="1100,$height" --screenshot="$png" "file://$html" \
  >/dev/null 2>"$scratch/chromium.log" || { cat "$scratch/chromium.log" >&2; exit 1; }
echo "screenshot.sh: wrote $png"

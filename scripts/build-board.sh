#!/usr/bin/env bash
# Builds the wall-board (dashboard/, Leptos, wasm32) into dashboard/dist/, which the daemon embeds
# at its next build. Installs what it needs: the wasm32 target and the wasm-bindgen CLI of exactly
# the version in Cargo.lock (the CLI and the library must match).
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target list --installed | grep -qx wasm32-unknown-unknown \
  || rustup target add wasm32-unknown-unknown

want=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  echo "installing wasm-bindgen-cli $want (found: ${have:-none})"
  # Not --locked: the registry here lacks some of its locked dependencies.
  cargo install wasm-bindgen-cli --version "$want" --force
fi

cargo build --locked -p floorwatch-dashboard --target wasm32-unknown-unknown --profile board
rm -rf dashboard/dist.new
wasm-bindgen --target web --no-typescript --out-dir dashboard/dist.new --out-name board \
  "${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/board/floorwatch_dashboard.wasm"
cp dashboard/index.html dashboard/style.css dashboard/dist.new/
rm -rf dashboard/dist && mv dashboard/dist.new dashboard/dist
wasm=$(gzip -9c dashboard/dist/board_bg.wasm | wc -c)
js=$(gzip -9c dashboard/dist/board.js | wc -c)
echo "wall-board built in dashboard/dist: wasm+js gzipped $(( (wasm + js) / 1024 )) KiB"

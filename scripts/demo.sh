#!/usr/bin/env bash
# Runs the demo: builds the wall-board, then the daemon on the built-in alerts.toml with its
# simulated contact center, and prints the URL to open. Installs what it needs (the wasm32 target
# and the wasm-bindgen CLI); extra arguments go to `floorwatch demo`
# (e.g. --listen 127.0.0.1:9000 --speed 6).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-board.sh
cargo build --release --locked -p floorwatch
listen=127.0.0.1:8070
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[$i]}" = "--listen" ] && listen=${args[$((i + 1))]:-$listen}
done
echo
echo "  Open the wall-board at http://$listen/"
echo
exec target/release/floorwatch demo "$@"

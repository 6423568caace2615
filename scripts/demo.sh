#!/usr/bin/env bash
# Runs the demo: the daemon on the built-in alerts.toml with its simulated contact center.
# Everything it needs is the Rust toolchain; extra arguments go to `floorwatch demo`
# (e.g. --listen 127.0.0.1:9000 --speed 6).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release --locked -p floorwatch -- demo "$@"

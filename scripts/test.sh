#!/usr/bin/env bash
# Runs every test: checks the repository's alerts.toml (with the tests it carries), then unit,
# property, config and end-to-end tests (the real binary on 127.0.0.1).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --workspace --all-targets
cargo run --locked -q -p floorwatch -- check alerts.toml
cargo test --locked --workspace

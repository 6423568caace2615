#!/usr/bin/env bash
# Runs every test: unit, property, config and end-to-end tests (the real binary on 127.0.0.1),
# then checks the repository's alerts.toml with the tests it carries.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --workspace --all-targets
cargo test --locked --workspace
cargo run --locked -q -p floorwatch -- check alerts.toml

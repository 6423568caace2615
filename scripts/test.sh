#!/usr/bin/env bash
# Runs every test: checks the repository's alerts.toml (with the tests it carries), then unit,
# property, config and end-to-end tests (the real binary on 127.0.0.1, real HTTP receivers, a
# real SMTP server, a real PostgreSQL, real Prometheus, Alertmanager and amtool, the
# wall-board in Debian's headless Chromium). Installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
# The SMTP server the e-mail tests talk to.
python3 -c "import aiosmtpd" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "aiosmtpd==1.4.6"
# The browser the wall-board tests drive, a Chinese font so its screenshots of the Chinese
# board show characters rather than boxes, PostgreSQL's server for the PostgreSQL store's
# tests (which start their own, as an unprivileged user, in a temporary directory), and
# Prometheus, Alertmanager and amtool for the Alertmanager API's tests.
if ! [ -x /usr/bin/chromium ] || ! [ -x /usr/bin/chromedriver ] \
  || ! [ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] \
  || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
  || ! [ -x /usr/bin/prometheus ] || ! [ -x /usr/bin/amtool ] \
  || ! [ -x /usr/bin/prometheus-alertmanager ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver \
    fonts-wqy-microhei postgresql prometheus prometheus-alertmanager
fi
# The wall-board (wasm32 target and wasm-bindgen CLI installed by the script), then the daemon
# that embeds it.
scripts/build-board.sh
cargo build --locked --workspace --all-targets
cargo run --locked -q -p floorwatch -- check alerts.toml
# Unit, property and end-to-end tests (no doc tests: the crates have no examples in their docs).
cargo test --locked --workspace --lib --bins --tests

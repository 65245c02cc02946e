#!/usr/bin/env bash
# Install what the browser, HTML and workflow tests need, when it is missing:
# Debian's Chromium (for Playwright) and the node packages pinned in tests/tools/package.json.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing Debian's chromium for the browser tests" >&2
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
  else
    echo "The browser tests need Chromium at /usr/bin/chromium: sudo apt-get install chromium" >&2
    exit 1
  fi
fi
if ! command -v java >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q default-jre-headless >/dev/null
  else
    echo "The HTML validation test needs Java: sudo apt-get install default-jre-headless" >&2
    exit 1
  fi
fi
if [ ! -d "$here/node_modules" ] || [ "$here/package-lock.json" -nt "$here/node_modules" ]; then
  echo "installing node test tools (npm ci)" >&2
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  touch "$here/node_modules"
fi

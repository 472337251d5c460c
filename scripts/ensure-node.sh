#!/usr/bin/env bash
# The interop tests run Digital Bazaar's verifier on Node >= 18. Install Debian's if missing.
set -euo pipefail
if command -v node >/dev/null && command -v npm >/dev/null; then
  major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 18 ] && exit 0
fi
if [ "$(id -u)" != 0 ]; then echo "Node.js >= 18 with npm is required for the interop tests" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null

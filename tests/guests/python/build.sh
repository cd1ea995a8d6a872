#!/usr/bin/env bash
# Builds the Python guest (app.py) into target/python-guest/py_thread_stats.wasm with componentize-py, puts its
# manifest beside it as py_thread_stats.toml (so that directory can serve as a plugins directory), and prints the
# component's path. Works from any directory and offline once tests/tools/install.sh has run (it runs it when
# componentize-py is missing): componentize-py carries its own CPython and standard library, so nothing is fetched.
# Skips the build when the component is newer than its inputs (app.py, the WIT files, this script, componentize-py).
#
# The component targets the contract's `plugin` world intersected with wit/world.wit, so it imports only the
# interfaces app.py uses (`conversations`, `types`) besides WASI; plugin.toml grants exactly that.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
tools="${FASTINTERCOM_TEST_TOOLS:-$root/target/test-tools}"
componentize_py="$tools/python/bin/componentize-py"
out_dir="$root/target/python-guest"
wasm="$out_dir/py_thread_stats.wasm"
manifest="$out_dir/py_thread_stats.toml"

if [ ! -x "$componentize_py" ]; then
    bash "$root/tests/tools/install.sh"
fi

inputs=("$here/app.py" "$here/build.sh" "$here"/wit/*.wit "$root"/wit/0.1.0/*.wit "$componentize_py")
mkdir -p "$out_dir"
cmp -s "$here/plugin.toml" "$manifest" || cp "$here/plugin.toml" "$manifest"
if [ -f "$wasm" ] && [ -z "$(find "${inputs[@]}" -newer "$wasm" -print -quit)" ]; then
    echo "$wasm"
    exit 0
fi

stage="$(mktemp -d "$out_dir/build.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
# The app is copied so that the byte code componentize-py writes while it pre-initializes the interpreter lands in
# the stage, not in the source tree. VIRTUAL_ENV points at an empty environment because componentize-py otherwise
# adds the site-packages of the Python that runs it (the test venv, with the MCP SDK) to the component.
mkdir -p "$stage/app" "$stage/env/lib/python3/site-packages"
cp "$here/app.py" "$stage/app/"
VIRTUAL_ENV="$stage/env" "$componentize_py" --quiet \
    --wit-path "$root/wit/0.1.0" --wit-path "$here/wit" --world fastintercom:plugin/plugin@0.1.0 \
    componentize --intersect-world local:py-thread-stats/thread-stats --python-path "$stage/app" \
    --output "$stage/py_thread_stats.wasm" app
# Renamed into place so that a reader never sees half a component and a failed build leaves no newer output.
mv "$stage/py_thread_stats.wasm" "$wasm"
echo "$wasm"

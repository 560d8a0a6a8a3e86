#!/usr/bin/env bash
# Installs the real Segment SDKs that segment_itest drives, from their registries:
#   - @segment/analytics-node (npm), pinned by tests/sdk/node/package-lock.json, with `npm ci`
#     into tests/sdk/node/node_modules (git-ignored);
#   - segment-analytics-python (PyPI), pinned by tests/sdk/python/requirements.txt, into a
#     virtualenv (`python3 -m venv`) at VENV_DIR.
#
# Usage: tests/sdk/install.sh VENV_DIR
#
# Idempotent and fast when present: each side is reinstalled only when its lock file changed
# since the last successful install (a stamp holds the lock file's SHA-256). Needs node >= 20,
# npm and python3 with the venv module (infra/install.sh installs them).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${1:?usage: tests/sdk/install.sh VENV_DIR}"

die() { echo "sdk/install.sh: $*" >&2; exit 1; }
command -v node >/dev/null || die "node is missing (infra/install.sh installs it)"
command -v npm >/dev/null || die "npm is missing (infra/install.sh installs it)"
command -v python3 >/dev/null || die "python3 is missing (infra/install.sh installs it)"

mkdir -p "$(dirname "$venv")"
node_dir="$here/node"
# One installer at a time per directory (test binaries of two build dirs may start together).
exec 8>"$node_dir/.install.lock"
flock 8
exec 9>"$venv.lock"
flock 9

# Node SDK
node_sum="$(sha256sum "$node_dir/package-lock.json" | cut -d' ' -f1)"
node_stamp="$node_dir/node_modules/.tributary-installed"
if [[ "$(cat "$node_stamp" 2>/dev/null)" != "$node_sum" ]]; then
    echo "sdk/install.sh: npm ci in tests/sdk/node" >&2
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
    echo "$node_sum" >"$node_stamp"
fi

# Python SDK
requirements="$here/python/requirements.txt"
py_sum="$(sha256sum "$requirements" | cut -d' ' -f1)"
py_stamp="$venv/.tributary-installed"
if [[ "$(cat "$py_stamp" 2>/dev/null)" != "$py_sum" ]]; then
    echo "sdk/install.sh: virtualenv at $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$requirements" >&2
    echo "$py_sum" >"$py_stamp"
fi

# Prove both import, and say which versions the test runs with.
node_version="$(cd "$node_dir" && node -p "require('@segment/analytics-node/package.json').version")"
py_version="$("$venv/bin/python" -c 'import segment.analytics as a; print(a.VERSION)')"
echo "analytics-node $node_version, segment-analytics-python $py_version"

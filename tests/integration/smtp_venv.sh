#!/usr/bin/env bash
# Makes the virtualenv that runs tests/integration/smtp_server.py (aiosmtpd from PyPI, pinned
# below) and prints the path of its python. alerts_itest calls it before it starts the server.
#
# Usage: tests/integration/smtp_venv.sh
#
# The virtualenv lives under ${XDG_CACHE_HOME:-$HOME/.cache}/tributary/tools/aiosmtpd-venv and
# is made once: it is rebuilt only when the pins below change (a stamp holds their SHA-256).
# Needs python3 with the venv module (infra/install.sh installs python3-venv); all output but
# the path goes to stderr.
set -euo pipefail

# aiosmtpd and its dependencies, exactly (pip would otherwise take whatever is newest).
pins=(aiosmtpd==1.4.6 atpublic==9.0.0 attrs==26.1.0)

die() { echo "smtp_venv.sh: $*" >&2; exit 1; }
command -v python3 >/dev/null || die "python3 is missing (infra/install.sh installs it)"

venv="${XDG_CACHE_HOME:-$HOME/.cache}/tributary/tools/aiosmtpd-venv"
mkdir -p "$(dirname "$venv")"
# Two test binaries (two build dirs) may start together: one installer at a time.
exec 9>"$venv.lock"
flock 9

sum="$(printf '%s\n' "${pins[@]}" | sha256sum | cut -d' ' -f1)"
stamp="$venv/.tributary-installed"
if [[ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]]; then
    echo "smtp_venv.sh: virtualenv with ${pins[*]} at $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv" >&2 \
        || die "python3 -m venv failed (the venv module: infra/install.sh installs python3-venv)"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input "${pins[@]}" >&2
    echo "$sum" >"$stamp"
fi
"$venv/bin/python" -c 'import aiosmtpd' || die "aiosmtpd does not import from $venv"
echo "$venv/bin/python"

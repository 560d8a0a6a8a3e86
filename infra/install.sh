#!/usr/bin/env bash
# Installs everything Tributary needs to build, test and run locally (Debian 12).
#
# Usage: infra/install.sh
#
# Idempotent and fast when nothing is missing: asks dpkg which packages are absent and
# runs apt-get (update + install) only for those, then makes sure the Kafka jars are
# resolved (infra/kafka.sh fetch). Needs root (or sudo) only when something is missing.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

packages=(
    # toolchain
    build-essential cmake ninja-build pkg-config clang-format ccache
    # libFuzzer targets (tests/fuzz/run.sh): clang with its sanitizer and fuzzer runtimes
    clang-14 libclang-rt-14-dev
    # C++ libraries
    librdkafka-dev libpqxx-dev libcpp-httplib-dev nlohmann-json3-dev libhiredis-dev
    libspdlog-dev libgtest-dev libgmock-dev libbenchmark-dev librdkit-dev libboost-dev zlib1g-dev
    libsimdjson-dev
    # alert delivery: webhooks, Slack and SMTP (STARTTLS) through libcurl
    libcurl4-openssl-dev
    # servers and tools
    postgresql redis-server kcat maven curl python3
    # ./start.sh runs the services under its own supervisord (never the system-wide one)
    supervisor
    # tests/monitoring: promtool checks the shipped rules, a private prometheus scrapes a stack
    prometheus
    # test data: RDKit's NCI SDF sets (tributary-import tests)
    rdkit-data
    # Segment's SDKs as test clients (tests/sdk/install.sh: npm ci, python3 -m venv)
    nodejs python3-venv
    # alerts_itest: the certificate of its SMTP server (openssl req; aiosmtpd comes from PyPI
    # through tests/integration/smtp_venv.sh, in a python3 -m venv)
    openssl
    # the console's browser tests (tests/browser: playwright-core drives it headless)
    chromium
)

# Java: any headless JRE >= 17 does; prefer what is already there.
java_pkg=openjdk-17-jre-headless

installed() {
    dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

missing=()
for p in "${packages[@]}"; do
    installed "$p" || missing+=("$p")
done
if ! installed openjdk-17-jre-headless && ! installed default-jre-headless; then
    missing+=("$java_pkg")
fi
# npm: Debian's own package, unless node came with it (NodeSource's nodejs bundles npm).
command -v npm >/dev/null || installed npm || missing+=(npm)

if ((${#missing[@]} > 0)); then
    info "installing missing Debian packages: ${missing[*]}"
    sudo_cmd=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null || die "not root and no sudo: install ${missing[*]} by hand"
        sudo_cmd=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
    # Debian's packages start system-wide postgresql / redis services on install where an
    # init system runs. Tributary starts private instances instead; the system ones are
    # left alone (they use the default ports, ours use free ones). Supervisor's system-wide
    # supervisord is not wanted at all: ./start.sh runs its own, so the one systemd just started
    # (if any) is stopped and disabled.
    if [[ " ${missing[*]} " == *" supervisor "* ]] && [[ -d /run/systemd/system ]]; then
        "${sudo_cmd[@]}" systemctl disable --now supervisor.service || true
    fi
    # Likewise the system-wide prometheus (port 9090, data in /var/lib/prometheus): the tests
    # run their own on a free port. Stopped whichever init system started it.
    if [[ " ${missing[*]} " == *" prometheus "* ]]; then
        if [[ -d /run/systemd/system ]]; then
            "${sudo_cmd[@]}" systemctl disable --now prometheus.service || true
        elif [[ -x /etc/init.d/prometheus ]]; then
            "${sudo_cmd[@]}" /etc/init.d/prometheus stop >/dev/null 2>&1 || true
            "${sudo_cmd[@]}" update-rc.d prometheus disable >/dev/null 2>&1 || true
        fi
    fi
else
    info "all Debian packages present"
fi

"$TRIBUTARY_ROOT/infra/kafka.sh" fetch

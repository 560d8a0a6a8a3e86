#!/usr/bin/env bash
# Offline checks of what deploys Tributary beyond one machine: the Helm chart under
# deploy/helm/tributary and docker-compose.yml. No cluster and no Docker engine: the chart is
# linted, rendered and validated against the Kubernetes API schemas; the compose file is loaded
# by the Compose Specification's reference loader.
#
#   tests/deploy/check.sh        (ctest: deploy_check; needs no servers)
#
# Tools, from the registries on the first run and cached under
# ${TRIBUTARY_CACHE:-~/.cache/tributary}/tools so later runs are offline (160–290 s measured on
# 2 cores for the first build of helm, a few seconds later):
#   helm v4.3.2            built from the Go module proxy (go install helm.sh/helm/v4/cmd/helm)
#   kubernetes-validate    1.37.0 from PyPI in a venv (it ships the Kubernetes 1.37 schemas)
#   composecheck           tests/deploy/composecheck, compose-go v2.16.2 (the loader and JSON
#                          schema Docker Compose v2 itself uses)
# Each check that must fail (a values-schema violation, a broken manifest, a broken compose
# file, a chart fact broken on purpose) is asserted to fail, so a validator that accepts
# everything cannot pass. When `unshare -n` works (root), the checks run with no network at
# all, which proves the cached tools need none.
set -euo pipefail

ROOT="${TRIBUTARY_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
CACHE="${TRIBUTARY_CACHE:-${HOME:-/root}/.cache/tributary}"
TOOLS="$CACHE/tools"
HELM_VERSION=v4.3.2
KV_VERSION=1.37.0
COMPOSE_GO_VERSION=v2.16.2 # also in tests/deploy/composecheck/go.mod
CHART="$ROOT/deploy/helm/tributary"
HERE="$ROOT/tests/deploy"

log() { printf '[deploy_check] %s\n' "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

GO="$(command -v go || true)"
[[ -n "$GO" ]] || GO=/usr/local/go/bin/go

mkdir -p "$TOOLS"
WORK="$(mktemp -d "${TRIBUTARY_TEST_TMPDIR:-${TMPDIR:-/tmp}}/deploy-check.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# One installer at a time (two test dirs or helpers may run this concurrently).
exec 9>"$TOOLS/.deploy-tools.lock"
flock 9

HELM="$TOOLS/helm-$HELM_VERSION/helm"
if [[ ! -x "$HELM" ]]; then
    [[ -x "$GO" ]] || die "go is needed to build helm (infra/install.sh installs it)"
    log "building helm $HELM_VERSION from the Go module proxy (first run only; minutes)"
    start=$SECONDS
    rm -rf "$HELM.partial" && mkdir -p "$HELM.partial"
    GOBIN="$HELM.partial" GOFLAGS=-buildvcs=false "$GO" install "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" \
        || die "go install helm.sh/helm/v4/cmd/helm@$HELM_VERSION failed"
    mkdir -p "$(dirname "$HELM")" && mv "$HELM.partial/helm" "$HELM" && rmdir "$HELM.partial"
    log "helm built in $((SECONDS - start)) s"
fi

VENV="$TOOLS/kubernetes-validate-$KV_VERSION"
KV="$VENV/bin/kubernetes-validate"
PY="$VENV/bin/python"
if [[ ! -x "$KV" ]] || ! "$PY" -c 'import yaml' 2>/dev/null; then
    log "installing kubernetes-validate $KV_VERSION from PyPI into $VENV (first run only)"
    rm -rf "$VENV"
    python3 -m venv "$VENV" || die "python3 -m venv failed (Debian: python3-venv)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$KV_VERSION" pyyaml \
        || die "pip install kubernetes-validate==$KV_VERSION failed"
fi

# Rebuilt when its source changes: the binary's name carries a hash of it.
src_hash="$(cat "$HERE/composecheck/go.mod" "$HERE/composecheck/go.sum" "$HERE/composecheck/main.go" | sha256sum | cut -c1-12)"
COMPOSECHECK="$TOOLS/composecheck-$COMPOSE_GO_VERSION-$src_hash"
if [[ ! -x "$COMPOSECHECK" ]]; then
    [[ -x "$GO" ]] || die "go is needed to build composecheck"
    log "building composecheck (compose-go $COMPOSE_GO_VERSION)"
    (cd "$HERE/composecheck" && GOFLAGS="-buildvcs=false -mod=readonly" "$GO" build -o "$COMPOSECHECK.partial" .) \
        || die "building tests/deploy/composecheck failed"
    mv "$COMPOSECHECK.partial" "$COMPOSECHECK"
fi
flock -u 9

# Everything below needs no network: prove it where we can.
OFFLINE=()
if unshare -n true 2>/dev/null; then
    OFFLINE=(unshare -n)
    log "running the checks without network (unshare -n)"
fi
run() { "${OFFLINE[@]}" "$@"; }

start=$SECONDS
failures=0
fail() { log "FAIL: $*"; failures=$((failures + 1)); }
ok() { log "ok: $*"; }

# expect_fail WHAT PATTERN CMD... — CMD must fail and say PATTERN (so it failed for that reason).
expect_fail() {
    local what="$1" pattern="$2" out
    shift 2
    if out="$(run "$@" 2>&1)"; then
        fail "$what: accepted, must be rejected"
    elif ! grep -Eq -- "$pattern" <<<"$out"; then
        fail "$what: rejected, but not for the expected reason ($pattern): $(tail -n 3 <<<"$out")"
    else
        ok "$what: rejected ($(grep -Em1 -- "$pattern" <<<"$out" | cut -c1-160))"
    fi
}

# ---- Helm chart -----------------------------------------------------------------------------
OPTIONS="$HERE/values-options.yaml"
for case in default options; do
    args=()
    [[ "$case" == options ]] && args=(-f "$OPTIONS")
    if out="$(run "$HELM" lint --strict "$CHART" "${args[@]}" 2>&1)"; then
        ok "helm lint --strict ($case values)"
    else
        fail "helm lint --strict ($case values): $out"
    fi
    manifest="$WORK/$case.yaml"
    if run "$HELM" template tributary "$CHART" --namespace tributary "${args[@]}" >"$manifest" 2>"$WORK/$case.err"; then
        ok "helm template ($case values): $(grep -c '^kind:' "$manifest") manifests"
    else
        fail "helm template ($case values): $(cat "$WORK/$case.err")"
        continue
    fi
    if out="$(run "$KV" --strict --quiet --kubernetes-version 1.37.0 "$manifest" 2>&1)"; then
        ok "kubernetes-validate --strict ($case values, Kubernetes 1.37 schemas)"
    else
        fail "kubernetes-validate --strict ($case values): $out"
    fi
    if out="$(run "$PY" "$HERE/chart_facts.py" "$ROOT" "$case" "$manifest" 2>&1)"; then
        ok "$(tail -n 1 <<<"$out")"
    else
        fail "chart facts ($case values): $out"
    fi
    # NOTES.txt renders (helm template leaves it out; a client-side dry run renders it).
    if out="$(run "$HELM" install tributary "$CHART" --namespace tributary --dry-run=client "${args[@]}" 2>&1)" \
        && grep -q 'advisory lock' <<<"$out"; then
        ok "NOTES.txt renders ($case values)"
    else
        fail "helm install --dry-run=client ($case values): $(tail -n 5 <<<"$out")"
    fi
done

# Values the schema (values.schema.json) or the templates must refuse.
expect_fail "values schema: publisher.replicas=two" "replicas.*(got string|want integer)" \
    "$HELM" template t "$CHART" --set publisher.replicas=two
expect_fail "values schema: a misspelt key (subscriber.worker)" "additional propert.*worker" \
    "$HELM" template t "$CHART" --set subscriber.worker=4
expect_fail "values schema: log.format=xml" "format" \
    "$HELM" template t "$CHART" --set log.format=xml
expect_fail "values schema: kafka.bootstrapServers without a port" "bootstrapServers" \
    "$HELM" template t "$CHART" --set kafka.bootstrapServers=kafka
expect_fail "helm lint --strict: replicas as a string" "replicas" \
    "$HELM" lint --strict "$CHART" --set query.replicas=two
expect_fail "template: LLM enrichment without an LLM" "no LLM is configured" \
    "$HELM" template t "$CHART" --set llm.baseUrl= --set mockLlm.enabled=false

# The validator and the facts must catch broken manifests (otherwise they prove nothing).
if [[ -s "$WORK/default.yaml" ]]; then
    "$PY" - "$WORK/default.yaml" "$WORK" <<'EOF'
import copy, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
dep = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["labels"]["app.kubernetes.io/component"] == "publisher")
c = lambda: copy.deepcopy(dep)
unknown = c(); unknown["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGett"] = {"path": "/readyz", "port": "http"}
wrong_type = c(); wrong_type["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = "45s"
for name, d in (("unknown-field", unknown), ("wrong-type", wrong_type)):
    yaml.safe_dump(d, open(f"{sys.argv[2]}/broken-{name}.yaml", "w"))
# Facts broken on purpose: readiness on /healthz; DATABASE_URL as a plain value.
probe = c(); probe["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"] = "/healthz"
plain = c()
for e in plain["spec"]["template"]["spec"]["containers"][0]["env"]:
    if e["name"] == "DATABASE_URL":
        e.pop("valueFrom"); e["value"] = "postgresql://u:secret@db/x"
for name, d in (("probe", probe), ("plain-secret", plain)):
    yaml.safe_dump_all([x for x in docs if x is not dep] + [d], open(f"{sys.argv[2]}/facts-{name}.yaml", "w"))
EOF
    expect_fail "kubernetes-validate --strict: an unknown field" "httpGett.*unexpected" \
        "$KV" --strict --quiet "$WORK/broken-unknown-field.yaml"
    expect_fail "kubernetes-validate --strict: a wrong type" "terminationGracePeriodSeconds.*not of type" \
        "$KV" --strict --quiet "$WORK/broken-wrong-type.yaml"
    expect_fail "chart facts: readiness probe on /healthz" "readinessProbe path /healthz" \
        "$PY" "$HERE/chart_facts.py" "$ROOT" default "$WORK/facts-probe.yaml"
    expect_fail "chart facts: DATABASE_URL as a plain value" "DATABASE_URL is not taken from a secretKeyRef" \
        "$PY" "$HERE/chart_facts.py" "$ROOT" default "$WORK/facts-plain-secret.yaml"
fi
# A grace period shorter than the publisher's drain, through the values.
run "$HELM" template tributary "$CHART" --set publisher.terminationGracePeriodSeconds=20 >"$WORK/short-grace.yaml" 2>&1 \
    || fail "helm template with publisher.terminationGracePeriodSeconds=20: $(cat "$WORK/short-grace.yaml")"
expect_fail "chart facts: publisher grace period below its drain" "terminationGracePeriodSeconds 20 <" \
    "$PY" "$HERE/chart_facts.py" "$ROOT" default "$WORK/short-grace.yaml"

# ---- docker-compose.yml ---------------------------------------------------------------------
if out="$(run "$COMPOSECHECK" "$ROOT/docker-compose.yml" 2>&1)"; then
    ok "compose-go $COMPOSE_GO_VERSION: $out"
else
    fail "docker-compose.yml: $out"
fi
sed 's/condition: service_healthy/condition: service_up/' "$ROOT/docker-compose.yml" >"$WORK/compose-bad-condition.yml"
expect_fail "compose: an unknown depends_on condition" "condition.*must be one of" \
    "$COMPOSECHECK" "$WORK/compose-bad-condition.yml"
sed 's/^\(      \)postgres:$/\1postgress:/' "$ROOT/docker-compose.yml" >"$WORK/compose-bad-dependency.yml"
expect_fail "compose: depends_on an undefined service" "undefined service" \
    "$COMPOSECHECK" "$WORK/compose-bad-dependency.yml"
sed 's/^\(    \)hostname: kafka$/\1hostname: kafka\n\1restart_policy: always/' "$ROOT/docker-compose.yml" >"$WORK/compose-bad-key.yml"
expect_fail "compose: a key the specification does not have" "restart_policy" \
    "$COMPOSECHECK" "$WORK/compose-bad-key.yml"

log "checks took $((SECONDS - start)) s; $failures failed"
((failures == 0)) || exit 1
echo "deploy_check: all checks passed"

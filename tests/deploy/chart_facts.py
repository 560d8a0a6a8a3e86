#!/usr/bin/env python3
"""Asserts what the Helm chart promises, on manifests rendered by `helm template`.

    chart_facts.py ROOT CASE MANIFESTS.yaml

CASE is "default" (values.yaml) or "options" (tests/deploy/values-options.yaml). The facts are
checked against the repository itself where it can say: binary names from the Dockerfile, the
ports and the shutdown drain times from the C++ sources, so a change there that the chart does
not follow fails here. Prints one line per failed fact and exits 1 if any failed.
"""
import re
import sys

import yaml

ROOT, CASE, MANIFESTS = sys.argv[1], sys.argv[2], sys.argv[3]
failures = []


def check(cond, message):
    if not cond:
        failures.append(message)
    return cond


def source(path):
    with open(f"{ROOT}/{path}", encoding="utf-8") as f:
        return f.read()


def number(path, pattern, what):
    m = re.search(pattern, source(path))
    if not m:
        sys.exit(f"chart_facts: cannot find {what} in {path} (pattern {pattern!r}); update this check")
    return int(m.group(1))


# ---- what the repository says ----------------------------------------------------------
dockerfile = source("Dockerfile")
BINARIES = set(re.findall(r"build/[\w/]+/(tributary-[\w-]+)", dockerfile))
check({"tributary-publisher", "tributary-subscriber", "tributary-query", "tributary-console"} <= BINARIES,
      f"Dockerfile does not install the four service binaries (found {sorted(BINARIES)})")
m = re.search(r"useradd[^\n]*--uid (\d+)", dockerfile)
IMAGE_UID = int(m.group(1)) if m else None

# Default ports (CONTRACT.md; the subscriber's operational port from subscriber/config.hpp).
PORT_ENV = {"tributary-publisher": "PUBLISHER_PORT", "tributary-query": "QUERY_PORT",
            "tributary-subscriber": "SUBSCRIBER_PORT", "tributary-console": "CONSOLE_PORT",
            "tributary-mock-llm": "MOCK_LLM_PORT"}
DEFAULT_PORT = {"tributary-publisher": 8000, "tributary-query": 8001, "tributary-console": 8080,
                "tributary-mock-llm": 8090,
                "tributary-subscriber": number("subscriber/config.hpp", r"int port = (\d+);", "the subscriber port")}

# Shutdown on SIGTERM: the HTTP server drains in-flight requests for drain_timeout, then the
# publisher flushes Kafka, the subscriber flushes dead letters.
HTTP_DRAIN = number("common/http/server.hpp", r"drain_timeout\{(\d+)\}", "the HTTP drain timeout") // 1000
PUBLISHER_FLUSH = number("publisher/main.cpp", r"producer\.Flush\(std::chrono::seconds\((\d+)\)\)", "the publisher's flush")
DLQ_FLUSH = number("subscriber/main.cpp", r"dead_letters\.Flush\(std::chrono::seconds\((\d+)\)\)", "the dead-letter flush")
DRAIN = {"tributary-publisher": HTTP_DRAIN + PUBLISHER_FLUSH, "tributary-query": HTTP_DRAIN,
         "tributary-console": HTTP_DRAIN, "tributary-subscriber": DLQ_FLUSH + HTTP_DRAIN,
         "tributary-mock-llm": 0}

# The chart's default image tag is the project's version.
m = re.search(r"project\(tributary VERSION ([0-9.]+)", source("CMakeLists.txt"))
chart = yaml.safe_load(source("deploy/helm/tributary/Chart.yaml"))
check(m and str(chart.get("appVersion")) == m.group(1),
      f"Chart.yaml appVersion {chart.get('appVersion')} is not the project's version {m and m.group(1)}")

SECRET_ENV = {"DATABASE_URL", "LLM_API_KEY", "KAFKA_PROPERTIES"}

# ---- the rendered chart ----------------------------------------------------------------
with open(MANIFESTS, encoding="utf-8") as f:
    docs = [d for d in yaml.safe_load_all(f) if d]
by_kind = {}
for d in docs:
    by_kind.setdefault(d["kind"], []).append(d)
deployments = {d["metadata"]["name"]: d for d in by_kind.get("Deployment", [])}
services = {d["metadata"]["name"]: d for d in by_kind.get("Service", [])}
secrets = {d["metadata"]["name"]: d for d in by_kind.get("Secret", [])}


def component(obj):
    return obj["metadata"]["labels"].get("app.kubernetes.io/component")


def pod_labels(dep):
    return dep["spec"]["template"]["metadata"]["labels"]


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


components = {component(d): d for d in deployments.values()}
check({"publisher", "query", "subscriber", "console"} <= set(components),
      f"Deployments for publisher, query, subscriber and console (got {sorted(components)})")

expected_secret = "tributary-prod" if CASE == "options" else None
for name, dep in deployments.items():
    spec = dep["spec"]
    check(selects(spec["selector"]["matchLabels"], pod_labels(dep)),
          f"{name}: the selector does not match its own pod labels")
    pod = spec["template"]["spec"]
    psc = pod.get("securityContext", {})
    check(psc.get("runAsNonRoot") is True, f"{name}: pod securityContext.runAsNonRoot is not true")
    if IMAGE_UID is not None:
        check(psc.get("runAsUser") == IMAGE_UID, f"{name}: runAsUser {psc.get('runAsUser')} is not the image's uid {IMAGE_UID}")
    check(pod.get("automountServiceAccountToken") is False, f"{name}: the service-account token is mounted")
    for c in pod["containers"]:
        where = f"{name}/{c['name']}"
        binary = (c.get("command") or [None])[0]
        check(binary in BINARIES, f"{where}: command {binary} is not a binary the Dockerfile installs")
        env = {e["name"]: e for e in c.get("env", [])}
        ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        check("http" in ports, f"{where}: no container port named http")
        port_env = PORT_ENV.get(binary)
        if check(port_env in env, f"{where}: {port_env} is not set"):
            check(str(ports.get("http")) == env[port_env].get("value"),
                  f"{where}: port http={ports.get('http')} but {port_env}={env[port_env].get('value')}")
        if CASE == "default":
            check(ports.get("http") == DEFAULT_PORT.get(binary),
                  f"{where}: port {ports.get('http')}, the service's default is {DEFAULT_PORT.get(binary)}")
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = (c.get(probe) or {}).get("httpGet") or {}
            if binary == "tributary-mock-llm" and probe == "readinessProbe":
                path = "/healthz"  # the mock LLM has no /readyz
            check(get.get("path") == path, f"{where}: {probe} path {get.get('path')}, want {path}")
            check(get.get("port") in ports or get.get("port") in ports.values(),
                  f"{where}: {probe} port {get.get('port')} is not a container port")
        sc = c.get("securityContext", {})
        check(sc.get("readOnlyRootFilesystem") is True, f"{where}: readOnlyRootFilesystem is not true")
        check(sc.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation is not false")
        check("ALL" in (sc.get("capabilities", {}).get("drop") or []), f"{where}: capabilities do not drop ALL")
        res = c.get("resources", {})
        check(res.get("requests") and res.get("limits"), f"{where}: resources need requests and limits")
        # Secrets only by reference.
        for n, e in env.items():
            if n in SECRET_ENV or (n == "REDIS_URL" and CASE == "options"):
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if check(ref and "value" not in e, f"{where}: {n} is not taken from a secretKeyRef"):
                    if expected_secret:
                        check(ref["name"] == expected_secret, f"{where}: {n} from secret {ref['name']}, want {expected_secret}")
                    else:
                        check(ref["name"] in secrets, f"{where}: {n} refers to secret {ref['name']}, which the chart does not create")
                        if ref["name"] in secrets and not ref.get("optional"):
                            check(ref["key"] in secrets[ref["name"]].get("stringData", {}),
                                  f"{where}: {n} refers to key {ref['key']}, absent from the secret")
            value = str(e.get("value", ""))
            check(not re.search(r"://[^/@\s]*:[^/@\s]+@", value), f"{where}: {n} carries a password in plain text")
        for e in c.get("envFrom", []):
            check("secretRef" in e or "configMapRef" in e, f"{where}: envFrom without secretRef/configMapRef")
        if binary != "tributary-mock-llm":
            check("DATABASE_URL" in env, f"{where}: DATABASE_URL is not set")
        # Graceful termination: preStop sleep + the service's drain fit in the grace period.
        sleep = 0
        pre = ((c.get("lifecycle") or {}).get("preStop") or {}).get("exec", {}).get("command")
        if pre:
            sleep = int(pre[-1])
        grace = pod.get("terminationGracePeriodSeconds", 30)
        check(grace >= sleep + DRAIN.get(binary, 0),
              f"{where}: terminationGracePeriodSeconds {grace} < preStop {sleep} s + drain {DRAIN.get(binary)} s")

# HPA: the publisher's, on its Deployment (default); none for the publisher with HPA off.
hpas = by_kind.get("HorizontalPodAutoscaler", [])
for h in hpas:
    ref = h["spec"]["scaleTargetRef"]
    check(ref["kind"] == "Deployment" and ref["name"] in deployments,
          f"HPA {h['metadata']['name']} targets {ref['kind']}/{ref['name']}, not a rendered Deployment")
    if ref["name"] in deployments:
        check("replicas" not in deployments[ref["name"]]["spec"],
              f"{ref['name']}: sets replicas while HPA {h['metadata']['name']} owns the count")
hpa_targets = {component(deployments[h["spec"]["scaleTargetRef"]["name"]]) for h in hpas
               if h["spec"]["scaleTargetRef"]["name"] in deployments}
if CASE == "default":
    check(hpa_targets == {"publisher"}, f"default: an HPA for the publisher only (got {sorted(hpa_targets)})")
    sub = components.get("subscriber")
    if sub:
        env = {e["name"]: e.get("value") for e in sub["spec"]["template"]["spec"]["containers"][0]["env"]}
        consumers = sub["spec"]["replicas"] * int(env["SUBSCRIBER_WORKERS"])
        check(consumers <= int(env["KAFKA_TOPIC_PARTITIONS"]),
              f"default: {consumers} subscriber consumers for {env['KAFKA_TOPIC_PARTITIONS']} partitions")
    check(len(secrets) == 1, f"default: the chart creates one Secret (got {sorted(secrets)})")
    check(not by_kind.get("Ingress"), "default: no Ingress")
else:
    check("publisher" not in hpa_targets, "options: autoscaling off, yet the publisher has an HPA")
    check(components["publisher"]["spec"].get("replicas") == 3, "options: the publisher's replicas (3) are not set")
    check(not secrets, f"options: existingSecret is set, yet the chart creates {sorted(secrets)}")
    check(bool(by_kind.get("Ingress")), "options: ingress.enabled, yet no Ingress")

# PDBs: publisher, query and subscriber each (when enabled), each selecting existing pods.
pdb_components = set()
for p in by_kind.get("PodDisruptionBudget", []):
    sel = p["spec"]["selector"]["matchLabels"]
    matched = [d for d in deployments.values() if selects(sel, pod_labels(d))]
    check(len(matched) == 1, f"PDB {p['metadata']['name']} selects {len(matched)} Deployments' pods, want 1")
    pdb_components.update(component(d) for d in matched)
want_pdbs = {"publisher", "query", "subscriber"} if CASE == "default" else {"publisher", "subscriber"}
check(pdb_components == want_pdbs, f"{CASE}: PDBs for {sorted(want_pdbs)}, got {sorted(pdb_components)}")

# Services select pods and target a named container port.
for name, s in services.items():
    matched = [d for d in deployments.values() if selects(s["spec"]["selector"], pod_labels(d))]
    check(len(matched) == 1, f"Service {name} selects {len(matched)} Deployments' pods, want 1")
    for port in s["spec"]["ports"]:
        for d in matched:
            names = {p["name"] for c in d["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
            check(port["targetPort"] in names, f"Service {name}: targetPort {port['targetPort']} is not a container port of {d['metadata']['name']}")

# Ingress backends are rendered Services with that port name.
for ing in by_kind.get("Ingress", []):
    for rule in ing["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            svc = path["backend"]["service"]
            ok = svc["name"] in services and any(p["name"] == svc["port"].get("name") for p in services[svc["name"]]["spec"]["ports"])
            check(ok, f"Ingress {ing['metadata']['name']}: backend {svc} is not a rendered Service port")

for f in failures:
    print(f"FAIL ({CASE}): {f}")
print(f"chart_facts ({CASE}): {len(docs)} manifests, {len(failures)} failed facts")
sys.exit(1 if failures else 0)

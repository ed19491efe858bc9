#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Structural checks of invar's rendered manifests (called by render_test.sh).

Each argument is NAME=FILE, FILE holding the JSON objects that
`kubectl label --local -o json` printed for one kustomize rendering (objects
concatenated, not a list). NAME is "base" or "overlays/<name>". Checks what
Kubernetes and invar's design need and a reviewer would otherwise check by
eye: least-privilege RBAC, the webhook's hardening and availability, the
ValidatingWebhookConfiguration's routing (evaluated against synthetic
namespaces), the agent's capabilities and mounts, and per overlay the
certificate wiring. Standard library only. Exit 0 when every check passes,
1 otherwise (every failure is printed, not just the first).
"""
import argparse
import base64
import itertools
import json
import os
import re
import sys

NS = "invar-system"
DIGEST_IMAGE = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")
RENDER_LABEL = "invar.dev/render-test"
AGENT_CAPS = {"SYS_ADMIN", "DAC_READ_SEARCH", "SYS_PTRACE", "KILL", "SYS_NICE"}
AGENT_EXEMPT = {
    "hostNamespaces", "hostPathVolumes", "restrictedVolumes", "capabilities_baseline",
    "capabilities_restricted", "allowPrivilegeEscalation", "runAsNonRoot", "runAsUser",
}
# (apiGroup, resource, operation) the webhook must see.
WEBHOOK_RULES = set()
for r in ("pods", "replicationcontrollers", "podtemplates"):
    WEBHOOK_RULES |= {("", r, "CREATE"), ("", r, "UPDATE")}
WEBHOOK_RULES.add(("", "pods/ephemeralcontainers", "UPDATE"))
WEBHOOK_RULES |= {("", "pods/exec", "CONNECT"), ("", "pods/attach", "CONNECT")}
for r in ("deployments", "replicasets", "statefulsets", "daemonsets"):
    WEBHOOK_RULES |= {("apps", r, "CREATE"), ("apps", r, "UPDATE")}
for r in ("jobs", "cronjobs"):
    WEBHOOK_RULES |= {("batch", r, "CREATE"), ("batch", r, "UPDATE")}
MODE_LABELS = ("invar.dev/enforce", "invar.dev/warn", "invar.dev/audit")


class Checker:
    def __init__(self, name, objects):
        self.name = name
        self.objects = objects
        self.errors = []

    def check(self, cond, msg):
        if not cond:
            self.errors.append(f"{self.name}: {msg}")
        return cond

    def find(self, kind, name, namespace=None):
        hits = [o for o in self.objects
                if o.get("kind") == kind and o["metadata"].get("name") == name
                and (namespace is None or o["metadata"].get("namespace") == namespace)]
        self.check(len(hits) == 1, f"expected exactly one {kind} {name}, found {len(hits)}")
        return hits[0] if hits else None

    def all(self, kind):
        return [o for o in self.objects if o.get("kind") == kind]


def load(path):
    text = open(path, encoding="utf-8").read()
    dec = json.JSONDecoder()
    out, i = [], 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            break
        obj, i = dec.raw_decode(text, i)
        items = obj.get("items") if obj.get("kind") == "List" else [obj]
        for o in items:
            labels = o.get("metadata", {}).get("labels", {})
            labels.pop(RENDER_LABEL, None)
            out.append(o)
    return out


def selector_matches(sel, labels):
    """Kubernetes LabelSelector semantics (matchLabels AND matchExpressions)."""
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        k, op, vals = e["key"], e["operator"], e.get("values") or []
        if op == "In" and labels.get(k) not in vals:
            return False
        if op == "NotIn" and k in labels and labels[k] in vals:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise ValueError(f"unknown selector operator {op}")
    return True


def synthetic_namespaces():
    """Every combination of the three mode labels, for ordinary and system namespaces."""
    for name in ("default", "team-a", "kube-system", NS):
        for present in itertools.product((False, True), repeat=3):
            labels = {"kubernetes.io/metadata.name": name}
            for label, on in zip(MODE_LABELS, present):
                if on:
                    labels[label] = "immutable"
            yield name, labels


def containers(pod_spec):
    return (pod_spec.get("initContainers") or []) + (pod_spec.get("containers") or [])


def port_number(container, port):
    if isinstance(port, int):
        return port
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return p["containerPort"]
    return None


def check_common(c):
    # Namespace: PSA privileged (agent), no invar mode label (never enforce on itself).
    ns = c.find("Namespace", NS)
    if ns:
        labels = ns["metadata"].get("labels", {})
        c.check(labels.get("pod-security.kubernetes.io/enforce") == "privileged",
                "namespace must set pod-security.kubernetes.io/enforce: privileged for the agent")
        for l in MODE_LABELS:
            c.check(l not in labels, f"namespace {NS} must not carry {l}")
    for o in c.objects:
        kind = o["kind"]
        if kind in ("Namespace", "ClusterRole", "ClusterRoleBinding", "ValidatingWebhookConfiguration"):
            c.check("namespace" not in o["metadata"], f"cluster-scoped {kind} has a namespace")
        else:
            c.check(o["metadata"].get("namespace") == NS,
                    f"{kind} {o['metadata'].get('name')} is not in {NS}")
        c.check(o["metadata"].get("labels", {}).get("app.kubernetes.io/part-of") == "invar"
                or kind in ("Certificate", "Issuer"),
                f"{kind} {o['metadata'].get('name')} lacks app.kubernetes.io/part-of: invar")

    # RBAC: exactly the documented rules, no wildcard, no secrets, no Role escalation.
    c.find("ServiceAccount", "invar-webhook", NS)
    c.find("ServiceAccount", "invar-agent", NS)
    c.check(not c.all("Role") and not c.all("RoleBinding"), "unexpected namespaced Role/RoleBinding")
    expected = {
        "invar-webhook": {("", "namespaces"): {"get", "list", "watch"}},
        "invar-agent": {("", "pods"): {"get", "list", "watch", "patch", "delete"},
                        ("events.k8s.io", "events"): {"create"}},
    }
    c.check({r["metadata"]["name"] for r in c.all("ClusterRole")} == set(expected),
            "ClusterRoles must be exactly invar-webhook and invar-agent")
    for role in c.all("ClusterRole"):
        got = {}
        for rule in role.get("rules", []):
            c.check("resourceNames" not in rule and "nonResourceURLs" not in rule,
                    f"{role['metadata']['name']}: unexpected rule shape {rule}")
            for g in rule.get("apiGroups", []):
                for res in rule.get("resources", []):
                    got.setdefault((g, res), set()).update(rule.get("verbs", []))
        c.check(got == expected.get(role["metadata"]["name"]),
                f"ClusterRole {role['metadata']['name']} grants {got}, expected "
                f"{expected.get(role['metadata']['name'])}")
    for b in c.all("ClusterRoleBinding"):
        n = b["metadata"]["name"]
        c.check(b["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": n},
                f"ClusterRoleBinding {n} has roleRef {b['roleRef']}")
        c.check(b.get("subjects") == [{"kind": "ServiceAccount", "name": n, "namespace": NS}],
                f"ClusterRoleBinding {n} binds {b.get('subjects')}")

    # Nothing here may carry a CA private key; only the self-signed overlay holds
    # the serving key, in the invar-webhook-tls Secret.
    for s in c.all("Secret"):
        for k, v in (s.get("data") or {}).items():
            raw = base64.b64decode(v)
            if b"PRIVATE KEY" in raw:
                c.check(c.name == "overlays/self-signed" and s["metadata"]["name"] == "invar-webhook-tls"
                        and k == "tls.key", f"private key in Secret {s['metadata']['name']}/{k}")

    check_webhook_workload(c)
    check_agent(c)
    check_webhook_configuration_common(c)
    for cm, keys in (("invar-config", {"config.yaml", "agent.yaml"}), ("invar-rules", {"rules.local.yaml"})):
        o = c.find("ConfigMap", cm, NS)
        if o:
            c.check(set(o.get("data") or {}) == keys, f"ConfigMap {cm} keys {sorted(o.get('data') or {})}")


def check_hardened_container(c, what, ctr):
    sc = ctr.get("securityContext") or {}
    c.check(sc.get("readOnlyRootFilesystem") is True, f"{what}: readOnlyRootFilesystem must be true")
    c.check(sc.get("privileged") in (None, False), f"{what}: privileged")
    caps = sc.get("capabilities") or {}
    c.check(caps.get("drop") == ["ALL"], f"{what}: capabilities.drop must be [ALL]")
    c.check((sc.get("seccompProfile") or {}).get("type") == "RuntimeDefault",
            f"{what}: seccompProfile RuntimeDefault")
    c.check(bool(DIGEST_IMAGE.match(ctr.get("image", ""))), f"{what}: image {ctr.get('image')} not pinned by digest")
    res = ctr.get("resources") or {}
    for part in ("requests", "limits"):
        for r in ("cpu", "memory"):
            c.check(r in (res.get(part) or {}), f"{what}: resources.{part}.{r} missing")
    return sc


def check_webhook_workload(c):
    d = c.find("Deployment", "invar-webhook", NS)
    if not d:
        return
    spec = d["spec"]
    pod = spec["template"]["spec"]
    plabels = spec["template"]["metadata"]["labels"]
    c.check(spec.get("replicas") == 2, "webhook replicas must be 2")
    c.check(selector_matches(spec["selector"], plabels), "webhook selector does not match its pods")
    c.check(spec.get("strategy", {}).get("rollingUpdate", {}).get("maxUnavailable") == 0,
            "webhook rolling update must keep every replica (maxUnavailable 0)")
    c.check(pod.get("serviceAccountName") == "invar-webhook", "webhook serviceAccountName")
    for f in ("hostPID", "hostIPC", "hostNetwork"):
        c.check(not pod.get(f), f"webhook {f}")
    psc = pod.get("securityContext") or {}
    c.check(psc.get("runAsNonRoot") is True and psc.get("runAsUser") == 65532, "webhook pod must run as 65532, non-root")
    tsc = pod.get("topologySpreadConstraints") or []
    c.check(any(t.get("topologyKey") == "kubernetes.io/hostname"
                and selector_matches(t["labelSelector"], plabels) for t in tsc),
            "webhook needs a hostname topologySpreadConstraint selecting its pods")
    ctrs = containers(pod)
    c.check(len(ctrs) == 1, "webhook pod must have exactly one container")
    ctr = ctrs[0]
    sc = check_hardened_container(c, "webhook container", ctr)
    c.check(sc.get("allowPrivilegeEscalation") is False, "webhook: allowPrivilegeEscalation must be false")
    c.check(sc.get("runAsNonRoot") is True and sc.get("runAsUser") == 65532, "webhook container must run as 65532")
    c.check(not (sc.get("capabilities") or {}).get("add"), "webhook must add no capability")
    args = ctr.get("args") or []
    c.check(args[:1] == ["webhook"], f"webhook args must start with 'webhook': {args}")
    flags = dict(a[2:].split("=", 1) for a in args[1:] if a.startswith("--") and "=" in a)
    c.check(flags == {"tls-cert": "/tls/tls.crt", "tls-key": "/tls/tls.key", "config": "/etc/invar/config.yaml",
                      "listen": ":8443", "metrics-listen": ":9090"}, f"webhook flags: {flags}")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        g = (ctr.get(probe) or {}).get("httpGet") or {}
        c.check(g.get("path") == path and g.get("scheme") == "HTTPS" and port_number(ctr, g.get("port")) == 8443,
                f"webhook {probe} must be HTTPS {path} on 8443: {g}")
    c.check(port_number(ctr, "metrics") == 9090, "webhook exposes no metrics port 9090")
    vols = {v["name"]: v for v in pod.get("volumes") or []}
    for v in vols.values():
        c.check(set(v) - {"name"} <= {"secret", "configMap", "projected", "emptyDir", "downwardAPI"},
                f"webhook volume {v['name']} has a type outside restricted")
    tls = [v for v in vols.values() if (v.get("secret") or {}).get("secretName") == "invar-webhook-tls"]
    c.check(len(tls) == 1 and tls[0]["secret"].get("defaultMode") == 0o440,
            "webhook must mount Secret invar-webhook-tls with defaultMode 0440 (key not world-readable)")
    mounts = {m["mountPath"]: m for m in ctr.get("volumeMounts") or []}
    c.check("/tls" in mounts and mounts["/tls"].get("readOnly") is True, "webhook /tls mount must be read-only")
    c.check("/etc/invar" in mounts, "webhook mounts no /etc/invar")

    pdb = c.find("PodDisruptionBudget", "invar-webhook", NS)
    if pdb:
        c.check(pdb["spec"].get("minAvailable") == 1, "PDB minAvailable must be 1")
        c.check(selector_matches(pdb["spec"]["selector"], plabels), "PDB selector does not match webhook pods")

    svc = c.find("Service", "invar-webhook", NS)
    if svc:
        c.check(selector_matches({"matchLabels": svc["spec"]["selector"]}, plabels), "Service does not select webhook pods")
        ports = svc["spec"]["ports"]
        c.check(len(ports) == 1 and ports[0]["port"] == 443 and port_number(ctr, ports[0]["targetPort"]) == 8443,
                f"Service invar-webhook must map 443 -> 8443: {ports}")
    check_metrics_service(c, "invar-webhook-metrics", plabels, ctr)


def check_metrics_service(c, name, plabels, ctr):
    svc = c.find("Service", name, NS)
    if not svc:
        return
    c.check(svc["metadata"]["labels"].get("invar.dev/metrics") == "true", f"{name} lacks invar.dev/metrics label")
    c.check(selector_matches({"matchLabels": svc["spec"]["selector"]}, plabels), f"{name} does not select its pods")
    ports = svc["spec"]["ports"]
    c.check(len(ports) == 1 and ports[0]["port"] == 9090 and port_number(ctr, ports[0]["targetPort"]) == 9090,
            f"{name} must serve 9090: {ports}")


def check_agent(c):
    ds = c.find("DaemonSet", "invar-agent", NS)
    if not ds:
        return
    tmpl = ds["spec"]["template"]
    pod = tmpl["spec"]
    c.check(selector_matches(ds["spec"]["selector"], tmpl["metadata"]["labels"]), "agent selector")
    c.check(pod.get("serviceAccountName") == "invar-agent", "agent serviceAccountName")
    c.check(pod.get("hostPID") is True, "agent needs hostPID")
    c.check(not pod.get("hostNetwork") and not pod.get("hostIPC"), "agent must not use hostNetwork/hostIPC")
    c.check(pod.get("priorityClassName") == "system-node-critical", "agent priorityClassName")
    c.check({"operator": "Exists"} in (pod.get("tolerations") or []), "agent must tolerate every taint")
    for meta, where in ((ds["metadata"], "DaemonSet"), (tmpl["metadata"], "pod template")):
        ann = meta.get("annotations") or {}
        listed = {x.strip() for x in ann.get("invar.dev/exempt", "").split(",") if x.strip()}
        c.check(listed == AGENT_EXEMPT, f"agent {where} invar.dev/exempt is {sorted(listed)}, "
                f"expected {sorted(AGENT_EXEMPT)}")
        c.check(len(ann.get("invar.dev/exempt-reason", "")) > 40, f"agent {where} needs invar.dev/exempt-reason")
    ctrs = containers(pod)
    c.check(len(ctrs) == 1, "agent pod must have exactly one container")
    ctr = ctrs[0]
    sc = check_hardened_container(c, "agent container", ctr)
    c.check(set((sc.get("capabilities") or {}).get("add") or []) == AGENT_CAPS,
            f"agent capabilities.add must be exactly {sorted(AGENT_CAPS)}")
    c.check(sc.get("runAsUser") == 0, "agent runs as uid 0 (added capabilities are not effective otherwise)")
    args = ctr.get("args") or []
    c.check(args[:1] == ["agent"], f"agent args must start with 'agent': {args}")
    flags = dict(a[2:].split("=", 1) for a in args[1:] if a.startswith("--") and "=" in a)
    c.check(flags == {"host-root": "/host", "config": "/etc/invar/agent.yaml", "rules": "/etc/invar/rules",
                      "metrics-listen": "0.0.0.0:9090", "state-dir": "/var/lib/invar/agent"},
            f"agent flags: {flags}")
    env = {e["name"]: e for e in ctr.get("env") or []}
    c.check((env.get("NODE_NAME", {}).get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName",
            "agent NODE_NAME must come from spec.nodeName")
    vols = {v["name"]: v for v in pod.get("volumes") or []}
    mounts = {m["name"]: m for m in ctr.get("volumeMounts") or []}
    host = {v["hostPath"]["path"]: n for n, v in vols.items() if "hostPath" in v}
    # host path -> (mount path in the container, writable)
    want = {"/run/containerd": ("/host/run/containerd", False),
            "/var/lib/containerd": ("/host/var/lib/containerd", False),
            "/proc": ("/host/proc", False),
            "/sys/fs/cgroup": ("/host/sys/fs/cgroup", True),   # kill action: cgroup.kill
            "/var/lib/invar": ("/var/lib/invar", True)}        # --state-dir
    c.check(set(host) == set(want), f"agent hostPath volumes: {sorted(host)}")
    for path, n in host.items():
        m = mounts.get(n)
        if not c.check(m is not None and path in want, f"agent hostPath {path} not mounted or not expected"):
            continue
        c.check(m["mountPath"] == want[path][0], f"agent mounts {path} at {m['mountPath']}")
        c.check(m.get("mountPropagation") in (None, "None", "HostToContainer"),
                f"agent {path}: Bidirectional propagation is not needed")
        c.check((m.get("readOnly") is True) != want[path][1],
                f"agent hostPath {path} must be {'writable' if want[path][1] else 'read-only'}")
    for p in ("/host/run/containerd", "/host/var/lib/containerd"):
        m = [m for m in mounts.values() if m["mountPath"] == p]
        c.check(m and m[0].get("mountPropagation") == "HostToContainer",
                f"agent {p} needs HostToContainer propagation (overlays of containers started later)")
    c.check(flags.get("state-dir", "").startswith("/var/lib/invar/"), "agent --state-dir must be on the state volume")
    # /etc/invar/agent.yaml and /etc/invar/rules/rules.local.yaml from the projected ConfigMaps.
    cfg = [m for m in mounts.values() if m["mountPath"] == "/etc/invar"]
    files = set()
    if c.check(len(cfg) == 1, "agent mounts nothing at /etc/invar"):
        for src in (vols[cfg[0]["name"]].get("projected") or {}).get("sources", []):
            for item in (src.get("configMap") or {}).get("items", []):
                files.add(((src["configMap"]["name"]), item["key"], "/etc/invar/" + item["path"]))
    c.check(files == {("invar-config", "agent.yaml", "/etc/invar/agent.yaml"),
                      ("invar-rules", "rules.local.yaml", "/etc/invar/rules/rules.local.yaml")},
            f"agent config files: {sorted(files)}")
    c.check(port_number(ctr, "metrics") == 9090, "agent exposes no metrics port 9090")
    check_metrics_service(c, "invar-agent-metrics", tmpl["metadata"]["labels"], ctr)


def webhooks_by_name(c):
    vwc = c.find("ValidatingWebhookConfiguration", "invar")
    return vwc, ({w["name"]: w for w in vwc["webhooks"]} if vwc else {})


def check_webhook_configuration_common(c):
    vwc, hooks = webhooks_by_name(c)
    if not vwc:
        return
    c.check(c.all("MutatingWebhookConfiguration") == [], "invar registers no mutating webhook")
    for name, w in hooks.items():
        c.check(name.endswith(".invar.dev"), f"webhook name {name}")
        c.check(w.get("admissionReviewVersions") == ["v1", "v1beta1"], f"{name}: admissionReviewVersions")
        c.check(w.get("sideEffects") == "None", f"{name}: sideEffects must be None")
        c.check(w.get("timeoutSeconds") == 5, f"{name}: timeoutSeconds must be 5")
        c.check(w.get("matchPolicy") == "Equivalent", f"{name}: matchPolicy must be Equivalent")
        c.check(w.get("failurePolicy") in ("Fail", "Ignore"), f"{name}: failurePolicy")
        svc = (w.get("clientConfig") or {}).get("service") or {}
        c.check(svc == {"name": "invar-webhook", "namespace": NS, "path": "/validate", "port": 443},
                f"{name}: clientConfig.service {svc}")
        got = set()
        for r in w.get("rules") or []:
            c.check(r.get("scope") == "Namespaced", f"{name}: rule scope")
            c.check(r.get("apiVersions") == ["v1"], f"{name}: rule apiVersions")
            for g, res, op in itertools.product(r["apiGroups"], r["resources"], r["operations"]):
                got.add((g, res, op))
        c.check(got == WEBHOOK_RULES, f"{name}: rules differ: missing {sorted(WEBHOOK_RULES - got)}, "
                f"extra {sorted(got - WEBHOOK_RULES)}")
        for ns, labels in synthetic_namespaces():
            if ns in ("kube-system", NS):
                c.check(not selector_matches(w["namespaceSelector"], labels),
                        f"{name} would review namespace {ns} (labels {labels})")


def route(hooks, labels):
    return [n for n, w in hooks.items() if selector_matches(w["namespaceSelector"], labels)]


def check_base_routing(c):
    _, hooks = webhooks_by_name(c)
    c.check(set(hooks) == {"enforce.invar.dev", "warn.invar.dev", "audit.invar.dev"}, f"webhooks {sorted(hooks)}")
    c.check(hooks.get("enforce.invar.dev", {}).get("failurePolicy") == "Fail", "enforce.invar.dev must fail closed")
    for n in ("warn.invar.dev", "audit.invar.dev"):
        c.check(hooks.get(n, {}).get("failurePolicy") == "Ignore", f"{n} must fail open")
    for ns, labels in synthetic_namespaces():
        if ns in ("kube-system", NS):
            continue
        hit = route(hooks, labels)
        if "invar.dev/enforce" in labels:
            want = ["enforce.invar.dev"]
        elif "invar.dev/warn" in labels:
            want = ["warn.invar.dev"]
        elif "invar.dev/audit" in labels:
            want = ["audit.invar.dev"]
        else:
            want = []
        c.check(hit == want, f"namespace labels {labels} routed to {hit}, expected {want}")


def check_cert_manager(c):
    vwc, _ = webhooks_by_name(c)
    if vwc:
        c.check(vwc["metadata"].get("annotations", {}).get("cert-manager.io/inject-ca-from") == f"{NS}/invar-webhook",
                "ValidatingWebhookConfiguration lacks cert-manager.io/inject-ca-from")
    cert = c.find("Certificate", "invar-webhook", NS)
    issuers = {o["metadata"]["name"]: o for o in c.all("Issuer")}
    certs = {o["metadata"]["name"]: o for o in c.all("Certificate")}
    if cert:
        c.check(cert["spec"].get("secretName") == "invar-webhook-tls", "serving Certificate secretName")
        c.check("invar-webhook.invar-system.svc" in cert["spec"].get("dnsNames", []),
                "serving Certificate must name invar-webhook.invar-system.svc")
        c.check(not cert["spec"].get("isCA"), "serving certificate must not be a CA")
    for name, cr in certs.items():
        ref = cr["spec"]["issuerRef"]
        c.check(ref.get("kind") == "Issuer" and ref["name"] in issuers, f"Certificate {name}: issuer {ref} not in overlay")
    ca_issuers = [i for i in issuers.values() if "ca" in i["spec"]]
    c.check(len(ca_issuers) == 1, "exactly one CA Issuer")
    for i in ca_issuers:
        src = [cr for cr in certs.values() if cr["spec"].get("secretName") == i["spec"]["ca"]["secretName"]]
        c.check(len(src) == 1 and src[0]["spec"].get("isCA") is True, "the CA Issuer's secret must come from an isCA Certificate")
    if cert and cert["spec"]["issuerRef"]["name"] in issuers:
        c.check("ca" in issuers[cert["spec"]["issuerRef"]["name"]]["spec"], "serving Certificate must be issued by the CA Issuer")


def check_self_signed(c, ca_path):
    ca = open(ca_path, "rb").read()
    s = c.find("Secret", "invar-webhook-tls", NS)
    if s:
        c.check(s.get("type") == "kubernetes.io/tls", "Secret invar-webhook-tls must be kubernetes.io/tls")
        c.check(set(s.get("data", {})) == {"tls.crt", "tls.key", "ca.crt"}, f"Secret keys {sorted(s.get('data', {}))}")
    vwc, hooks = webhooks_by_name(c)
    for name, w in hooks.items():
        bundle = (w.get("clientConfig") or {}).get("caBundle")
        if c.check(bundle is not None, f"{name}: no caBundle"):
            c.check(base64.b64decode("".join(bundle.split())) == ca, f"{name}: caBundle is not certs/ca.crt")
    if vwc:
        c.check("cert-manager.io/inject-ca-from" not in vwc["metadata"].get("annotations", {}),
                "self-signed overlay must not ask cert-manager for injection")
    c.check(not c.all("Certificate") and not c.all("Issuer"), "self-signed overlay must not need cert-manager")


def strip_comments(text):
    return [l.rstrip() for l in text.splitlines() if l.strip() and not l.lstrip().startswith("#")]


def check_audit_only(c, base_cfg, audit_cfg):
    _, hooks = webhooks_by_name(c)
    c.check("enforce.invar.dev" not in hooks, "audit-only must not register enforce.invar.dev")
    for n, w in hooks.items():
        c.check(w.get("failurePolicy") == "Ignore", f"audit-only: {n} must fail open")
    for ns, labels in synthetic_namespaces():
        if ns in ("kube-system", NS):
            continue
        hit = route(hooks, labels)
        if "invar.dev/enforce" in labels:
            c.check(hit == [], f"audit-only routes enforce-labelled namespace {labels} to {hit}")
        else:
            c.check(len(hit) == 1, f"audit-only: namespace {labels} routed to {hit}, expected exactly one")
    cm = c.find("ConfigMap", "invar-config", NS)
    if cm:
        c.check(cm["data"]["config.yaml"] == audit_cfg, "audit-only invar-config is not components/audit-only/config.yaml")
    b, a = strip_comments(base_cfg), strip_comments(audit_cfg)
    diff = [(x, y) for x, y in zip(b, a) if x != y]
    c.check(len(b) == len(a) and diff == [('  audit: ""', "  audit: immutable")],
            f"audit-only config must equal the base config but for defaults.audit: {diff}")


def check_monitoring(c, source_dir):
    sm = c.find("ServiceMonitor", "invar", NS)
    if sm:
        sel = sm["spec"]["selector"]
        for svc in ("invar-webhook-metrics", "invar-agent-metrics"):
            o = c.find("Service", svc, NS)
            if o:
                c.check(selector_matches(sel, o["metadata"]["labels"]), f"ServiceMonitor does not select {svc}")
        c.check(all(e.get("port") == "metrics" for e in sm["spec"]["endpoints"]), "ServiceMonitor port must be 'metrics'")
    rule = c.find("PrometheusRule", "invar", NS)
    if not rule:
        return
    # Every invar_* metric an alert uses must be defined in the sources.
    sources = []
    for top in ("admission", "drift", "enforcer"):
        for root, _, files in os.walk(os.path.join(source_dir, top)):
            for f in files:
                if f.endswith((".cpp", ".h")):
                    sources.append(open(os.path.join(root, f), encoding="utf-8", errors="replace").read())
    blob = "\n".join(sources)
    for g in rule["spec"]["groups"]:
        for r in g["rules"]:
            c.check(r.get("alert") and r.get("expr") and r.get("labels", {}).get("severity"),
                    f"PrometheusRule rule incomplete: {r}")
            for m in set(re.findall(r"\binvar_[a-z0-9_]+", r.get("expr", ""))):
                base = re.sub(r"_(bucket|sum|count)$", "", m)
                c.check(f'"{base}"' in blob, f"alert {r.get('alert')}: metric {base} is not defined in the sources")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--base-config", required=True)
    ap.add_argument("--audit-only-config", required=True)
    ap.add_argument("renderings", nargs="+", help="NAME=FILE")
    args = ap.parse_args()
    base_cfg = open(args.base_config, encoding="utf-8").read()
    audit_cfg = open(args.audit_only_config, encoding="utf-8").read()
    errors, seen = [], set()
    for item in args.renderings:
        name, path = item.split("=", 1)
        seen.add(name)
        c = Checker(name, load(path))
        check_common(c)
        if name in ("base", "overlays/cert-manager", "overlays/self-signed"):
            check_base_routing(c)
        if name in ("overlays/cert-manager", "overlays/audit-only"):
            check_cert_manager(c)
        if name == "overlays/self-signed":
            check_self_signed(c, args.ca)
        if name == "overlays/audit-only":
            check_audit_only(c, base_cfg, audit_cfg)
        if name == "overlays/test-monitoring":
            check_cert_manager(c)
            check_monitoring(c, args.source_dir)
        status = "ok" if not c.errors else f"{len(c.errors)} problem(s)"
        print(f"checked {name}: {len(c.objects)} objects, {status}")
        errors += c.errors
    for required in ("base", "overlays/cert-manager", "overlays/self-signed", "overlays/audit-only",
                     "overlays/test-monitoring"):
        if required not in seen:
            errors.append(f"{required} was not rendered")
    for e in errors:
        print("FAIL:", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

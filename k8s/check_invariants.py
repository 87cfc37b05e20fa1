#!/usr/bin/env python3
"""Checks the invariants of rendered InvMux manifests (k8s/validate.sh runs it on the base and every overlay).

    python3 k8s/check_invariants.py LAUNCHER RENDERED.yaml [RENDERED.yaml ...]
    python3 k8s/check_invariants.py --injected LAUNCHER INJECTED.yaml [...]

--injected checks only what `invmux inject` and the webhook add to each pod (the apps' own containers are their
authors'): the sidecar is the first init container, restartPolicy Always, restricted, with resources and its own
/tmp; its generated INVMUX_ variables load with the sidecar's loader; the probes match the health port; the join
key is in a mounted Secret; enableServiceLinks false; the pod is marked invmux.io/injected; the API stays on
loopback while the admin port (/metrics) is on the pod IP as invmux-admin, on a pod labelled invmux.io/sidecar.

LAUNCHER is bin/invmux (the jar must be built): every sidecar config found in a ConfigMap is checked by the
sidecar's own loader (`invmux sidecar --config FILE --print-config`, exit 0 required), with the environment the
pod gives the sidecar container and the join key taken from the mounted Secret.

For every pod template (Deployment, StatefulSet, DaemonSet, Job, CronJob):
  - an init container running `invmux sidecar` with restartPolicy: Always (a native sidecar);
  - its startupProbe, readinessProbe and livenessProbe are native gRPC probes on the config's health port, for the
    services liveness, accepting and liveness; health.address is not loopback; api.address is loopback or unix://;
  - the Pod Security "restricted" profile on the pod and on every container, stated explicitly on each container:
    runAsNonRoot, allowPrivilegeEscalation false, readOnlyRootFilesystem, capabilities drop ALL (nothing added
    but NET_BIND_SERVICE), seccompProfile RuntimeDefault/Localhost, no privileged container, no host namespaces,
    ports or hostPath volumes; the sidecar runs as uid 65532;
  - requests (cpu, memory) and a memory limit on every container; /tmp on an emptyDir in every container;
  - the config comes from a ConfigMap mounted where --config points; preSharedKeyFile lies in a mounted Secret
    that has that key; terminationGracePeriodSeconds exceeds limits.drainTimeout; enableServiceLinks is false
    (Service links would add INVMUX_* variables the loader rejects); INVMUX_JAVA_OPTS and the loader's other
    ignored variables are passed to it like any other;
  - a NetworkPolicy selects the pods, admits ingress only to the config's listener ports and only from selected
    peers, and to the admin port (when it is on the pod IP, declared as the port invmux-admin) only by selector; a Service selecting the pods exposes only listener ports, and one exists when there are listeners;
  - a PodDisruptionBudget selects the pods;
  - with security.tls: its three files lie in one Secret volume mounted readOnly as a directory (no subPath, which
    never sees a renewal) under the names cert-manager writes (tls.crt, tls.key, ca.crt); a rendered cert-manager
    Certificate writes that Secret, with a PKCS8 key and the usages its roles need, from an issuer that is rendered
    too (a CA issuer's Secret from an isCA Certificate); the certificate's first name (SPIFFE URI, else DNS) is the
    sidecar's identity; every listener and peer link is tls://; and every peer it dials that is rendered too has a
    certificate naming that peer, from the same issuer. The loader reads PEM files made with deploy/pki.sh for the
    Certificate's names.
Exits 1 and lists every violation; prints one line per checked object otherwise.
"""
import atexit
import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}
SIDECAR_UID = 65532
LOOPBACK = ("127.", "localhost:", "[::1]:")

problems = []


def problem(where, text):
    problems.append(f"{where}: {text}")


def pod_template(obj):
    spec = obj.get("spec") or {}
    if obj["kind"] == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    return spec.get("template") or {}


def matches(selector, labels):
    """Kubernetes label selector semantics (matchLabels / matchExpressions, or a plain map for Services)."""
    if selector is None:
        return False
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        return all(labels.get(k) == v for k, v in selector.items())  # Service selector, or {} = everything
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], e.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def port_of(address):
    return int(address.rsplit(":", 1)[1])


def seconds(duration):
    m = re.fullmatch(r"(\d+)(ms|s|m|h)", str(duration))
    if not m:
        raise ValueError(f"not a duration: {duration}")
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def check_security(where, pod_sc, c, sidecar):
    sc = c.get("securityContext") or {}
    if sc.get("runAsNonRoot") is not True:
        problem(where, "securityContext.runAsNonRoot must be true")
    uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
    if uid == 0:
        problem(where, "runs as uid 0")
    if sidecar and uid != SIDECAR_UID:
        problem(where, f"the sidecar must run as uid {SIDECAR_UID} (the image's user), not {uid}")
    if sc.get("allowPrivilegeEscalation") is not False:
        problem(where, "securityContext.allowPrivilegeEscalation must be false")
    if sc.get("readOnlyRootFilesystem") is not True:
        problem(where, "securityContext.readOnlyRootFilesystem must be true")
    if sc.get("privileged"):
        problem(where, "must not be privileged")
    caps = sc.get("capabilities") or {}
    if "ALL" not in (caps.get("drop") or []):
        problem(where, "securityContext.capabilities.drop must contain ALL")
    if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
        problem(where, f"adds capabilities {caps.get('add')} (restricted allows NET_BIND_SERVICE only)")
    seccomp = (sc.get("seccompProfile") or {}).get("type")
    if seccomp not in ("RuntimeDefault", "Localhost"):
        problem(where, f"securityContext.seccompProfile.type must be RuntimeDefault (is {seccomp})")
    for p in c.get("ports") or []:
        if p.get("hostPort"):
            problem(where, f"uses hostPort {p['hostPort']}")


def check_resources(where, c):
    r = c.get("resources") or {}
    for k in ("cpu", "memory"):
        if k not in (r.get("requests") or {}):
            problem(where, f"resources.requests.{k} is not set")
    if "memory" not in (r.get("limits") or {}):
        problem(where, "resources.limits.memory is not set")


def check_tmp(where, c, volumes):
    mounts = [m for m in c.get("volumeMounts") or [] if m.get("mountPath", "").rstrip("/") == "/tmp"]
    if not mounts:
        problem(where, "no volume mounted at /tmp (readOnlyRootFilesystem needs a writable /tmp)")
    elif "emptyDir" not in volumes.get(mounts[0]["name"], {}):
        problem(where, "/tmp must be an emptyDir volume")
    elif mounts[0].get("readOnly"):
        problem(where, "/tmp is mounted read-only")


def run_loader(launcher, where, config_text, env, key, tls_env=None):
    """The sidecar's own loader: invmux sidecar --config FILE --print-config; returns the effective config.
    tls_env: INVMUX_SECURITY_TLS_* variables naming PEM files made for the Secret's place (the loader reads them)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "invmux.yaml")
        with open(path, "w") as f:
            f.write(config_text)
        run_env = {k: os.environ[k] for k in ("PATH", "JAVA_HOME", "INVMUX_JAR") if k in os.environ}
        run_env["HOSTNAME"] = "demo-app-5f7c9d8b6d-x2x7q"  # a pod name: the default identity
        run_env.update(env)
        run_env.update(tls_env or {})
        if key is not None:
            key_file = os.path.join(tmp, "psk")
            with open(key_file, "w") as f:
                f.write(key)
            run_env["INVMUX_SECURITY_PRE_SHARED_KEY_FILE"] = key_file  # the Secret's mount, here
        r = subprocess.run([launcher, "sidecar", "--config", path, "--print-config"], env=run_env,
                           capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        problem(where, f"the sidecar's loader rejects invmux.yaml (exit {r.returncode}):\n"
                + (r.stderr or r.stdout).strip())
        return None
    return yaml.safe_load(r.stdout)


def check_workload(launcher, obj, objects, source):
    before = len(problems)
    summary = check_workload_(launcher, obj, objects, source)
    name = f"{source}: {obj['kind']}/{obj['metadata']['name']}"
    if len(problems) == before:
        print(f"ok    {name}: {summary}")
    else:
        print(f"FAIL  {name}: {len(problems) - before} violation(s)")


def check_workload_(launcher, obj, objects, source):
    name = f"{source}: {obj['kind']}/{obj['metadata']['name']}"
    template = pod_template(obj)
    labels = (template.get("metadata") or {}).get("labels") or {}
    spec = template.get("spec") or {}
    pod_sc = spec.get("securityContext") or {}
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    namespace = obj["metadata"].get("namespace")

    # the pod
    if pod_sc.get("runAsNonRoot") is not True:
        problem(name, "pod securityContext.runAsNonRoot must be true")
    if (pod_sc.get("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
        problem(name, "pod securityContext.seccompProfile.type must be RuntimeDefault")
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(host):
            problem(name, f"{host} is on")
    for v in volumes.values():
        if "hostPath" in v:
            problem(name, f"volume {v['name']} is a hostPath")
    if spec.get("enableServiceLinks") is not False:
        problem(name, "enableServiceLinks must be false: Service links add INVMUX_* variables to the sidecar's "
                      "environment (a Service named invmux...), and the sidecar refuses unknown INVMUX_ variables")

    # every container
    init = spec.get("initContainers") or []
    regular = spec.get("containers") or []
    sidecars = [c for c in init if is_sidecar(c)]
    for c in init + regular:
        where = f"{name} container {c['name']}"
        check_security(where, pod_sc, c, c in sidecars)
        check_resources(where, c)
        check_tmp(where, c, volumes)
    if not sidecars:
        problem(name, "no InvMux init container (image invmux, or command/args running `invmux sidecar`)")
        return
    for c in [c for c in regular if is_sidecar(c)]:
        problem(f"{name} container {c['name']}", "InvMux runs as a regular container: make it a native sidecar "
                "(initContainers, restartPolicy: Always)")
    sc = sidecars[0]
    where = f"{name} init container {sc['name']}"
    if sc.get("restartPolicy") != "Always":
        problem(where, "restartPolicy must be Always (a native sidecar; Kubernetes >= 1.29)")

    # its config: from a ConfigMap at the --config path
    args = (sc.get("command") or [])[2:] + (sc.get("args") or [])
    config_path = "/etc/invmux/invmux.yaml"  # the image's CMD
    for i, a in enumerate(args):
        if a in ("--config", "-c") and i + 1 < len(args):
            config_path = args[i + 1]
        elif a.startswith("--config="):
            config_path = a.split("=", 1)[1]
    mount = mount_for(sc, config_path)
    if mount is None or "configMap" not in volumes.get(mount["name"], {}):
        problem(where, f"{config_path} is not in a mounted ConfigMap")
        return
    cm_name = volumes[mount["name"]]["configMap"]["name"]
    key = os.path.relpath(config_path, mount["mountPath"])
    sub = mount.get("subPath")
    if sub:
        key = sub
    cm = find(objects, "ConfigMap", cm_name, namespace)
    if cm is None or key not in (cm.get("data") or {}):
        problem(where, f"ConfigMap {cm_name} with key {key} is not among the rendered objects")
        return
    text = cm["data"][key]
    raw = yaml.safe_load(text) or {}

    # the join key: the file named by the config, in a mounted Secret that holds that key
    psk = None
    key_file = ((raw.get("security") or {}).get("preSharedKeyFile")) or ""
    if key_file:
        kmount = mount_for(sc, key_file)
        if kmount is None or "secret" not in volumes.get(kmount["name"], {}):
            problem(where, f"security.preSharedKeyFile {key_file} is not in a mounted Secret")
        else:
            secret_name = volumes[kmount["name"]]["secret"]["secretName"]
            item = kmount.get("subPath") or os.path.relpath(key_file, kmount["mountPath"])
            secret = find(objects, "Secret", secret_name, namespace)
            if secret is None:
                problem(where, f"Secret {secret_name} is not among the rendered objects")
            elif item in (secret.get("stringData") or {}):
                psk = secret["stringData"][item]
            elif item in (secret.get("data") or {}):
                psk = base64.b64decode(secret["data"][item]).decode()
            else:
                problem(where, f"Secret {secret_name} has no key {item} (security.preSharedKeyFile {key_file})")

    env = {}
    for e in sc.get("env") or []:
        if "value" in e:
            env[e["name"]] = str(e["value"])
        elif e["name"].startswith("INVMUX_"):
            env[e["name"]] = "x"  # valueFrom: unknown here; still checked as a key name by the loader
    tls = (raw.get("security") or {}).get("tls") or {}
    cert, tls_env = (None, None)
    if any(tls.get(k) for k in TLS_FILES):
        cert, tls_env = check_tls_mounts(where, sc, volumes, tls, objects, namespace)
    cfg = run_loader(launcher, f"{where} ConfigMap {cm_name} {key}", text, env, psk, tls_env)
    if cfg is None:
        return
    if cert is not None:
        check_tls_config(where, cfg, cert, objects, namespace, source)

    # probes: native gRPC on the health port, the right services
    health = (cfg.get("health") or {}).get("address") or ""
    api = str((cfg.get("api") or {}).get("address") or "")
    if not health:
        problem(where, "health.address is off: the gRPC probes need it")
        return
    if health.startswith(LOOPBACK):
        problem(where, f"health.address {health} is loopback: the kubelet probes the pod IP")
    if not (api.startswith(LOOPBACK) or api.startswith("unix://")):
        problem(where, f"api.address {api} must stay on loopback (or a unix socket)")
    health_port = port_of(health)
    # readiness must not wait for peers ("readiness" does): mutual peers behind Services would deadlock
    for probe, service in (("startupProbe", "liveness"), ("readinessProbe", "accepting"),
                           ("livenessProbe", "liveness")):
        p = sc.get(probe)
        if not p:
            problem(where, f"no {probe}")
            continue
        g = p.get("grpc")
        if not g:
            problem(where, f"{probe} must be a native gRPC probe (grpc: {{port: {health_port}, service: {service}}})")
            continue
        if g.get("port") != health_port:
            problem(where, f"{probe} probes port {g.get('port')}, the health listener is on {health_port}")
        if g.get("service") != service:
            problem(where, f"{probe} asks service {g.get('service')!r}, expected {service!r}")

    # graceful stop fits the drain
    drain = seconds((cfg.get("limits") or {}).get("drainTimeout", "20s"))
    grace = spec.get("terminationGracePeriodSeconds", 30)
    if not grace > drain:
        problem(name, f"terminationGracePeriodSeconds {grace} must exceed limits.drainTimeout ({drain:g}s)")

    # NetworkPolicy, Service, PDB
    listener_ports = {int(u.rsplit(":", 1)[1].split("?")[0].split("/")[0]) for u in cfg.get("listeners") or []
                      if str(u).startswith(("tcp://", "tls://"))}
    named = {p["name"]: p["containerPort"] for c in init + regular for p in c.get("ports") or [] if "name" in p}
    # the admin port, when it is on the pod IP: Prometheus may be admitted to it, but no Service may expose it
    admin = str((cfg.get("admin") or {}).get("address") or "")
    admin_port = port_of(admin) if admin and not admin.startswith(LOOPBACK) else None
    if admin_port is not None and named.get("invmux-admin") != admin_port:
        problem(where, f"admin.address {admin} is on the pod IP: declare it as the container port invmux-admin "
                       "(what the PodMonitor scrapes)")
    policies = [o for o in objects if o["kind"] == "NetworkPolicy" and same_ns(o, namespace)
                and matches(o["spec"].get("podSelector"), labels)
                and "Ingress" in (o["spec"].get("policyTypes") or ["Ingress"])]
    if not policies:
        problem(name, "no NetworkPolicy restricts ingress to these pods")
    for pol in policies:
        pwhere = f"{source}: NetworkPolicy/{pol['metadata']['name']}"
        for rule in pol["spec"].get("ingress") or []:
            if not rule.get("from"):
                problem(pwhere, "an ingress rule admits every source: name the peers (podSelector ...)")
            ports = rule.get("ports")
            if not ports:
                problem(pwhere, "an ingress rule admits every port")
                continue
            for p in ports:
                port = named.get(p.get("port"), p.get("port"))
                if port == admin_port:
                    if any("ipBlock" in f for f in rule["from"]):
                        problem(pwhere, f"admits the admin port {port} from an ipBlock: admit Prometheus by "
                                        "namespace or pod selector")
                    continue
                if port not in listener_ports:
                    problem(pwhere, f"admits port {p.get('port')}, which is not a peer-link listener "
                                    f"({sorted(listener_ports) or 'none'})")
    services = [o for o in objects if o["kind"] == "Service" and same_ns(o, namespace)
                and matches(o["spec"].get("selector"), labels) and o["spec"].get("selector")]
    for svc in services:
        for p in svc["spec"].get("ports") or []:
            target = p.get("targetPort", p.get("port"))
            target = named.get(target, target)
            if target not in listener_ports:
                problem(f"{source}: Service/{svc['metadata']['name']}",
                        f"exposes port {target}, which is not a peer-link listener ({sorted(listener_ports)})")
    if listener_ports and not services:
        problem(name, f"the sidecar listens on {sorted(listener_ports)} but no Service exposes it")
    if obj["kind"] in ("Deployment", "StatefulSet") and not any(
            o["kind"] == "PodDisruptionBudget" and same_ns(o, namespace) and matches(o["spec"].get("selector"), labels)
            for o in objects):
        problem(name, "no PodDisruptionBudget selects these pods")
    return (f"native sidecar {sc['name']}, gRPC probes on {health_port}, config {cm_name}/{key} "
            f"loads (identity {cfg.get('identity')}, {len(cfg.get('peers') or [])} peer(s), "
            f"{len(cfg.get('forwards') or [])} forward(s), {len(cfg.get('services') or [])} service(s)), "
            f"{len(init) + len(regular)} container(s) restricted")


def check_injected(launcher, obj, source):
    """--injected: what `invmux inject` (and the webhook) add to a pod, the app's own containers aside."""
    name = f"{source}: {obj['kind']}/{obj['metadata'].get('name') or obj['metadata'].get('generateName')}"
    before = len(problems)
    template = obj if obj["kind"] == "Pod" else pod_template(obj)
    spec = template.get("spec") or {}
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    if annotations.get("invmux.io/inject") == "false":
        print(f"skip  {name}: invmux.io/inject: \"false\"")
        return
    pod_sc = spec.get("securityContext") or {}
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    init = spec.get("initContainers") or []
    if not init or not is_sidecar(init[0]):
        problem(name, "the InvMux sidecar is not the first init container")
        print(f"FAIL  {name}")
        return
    sc = init[0]
    where = f"{name} init container {sc['name']}"
    if sc.get("restartPolicy") != "Always":
        problem(where, "restartPolicy must be Always (a native sidecar)")
    check_security(where, pod_sc, sc, True)
    check_resources(where, sc)
    check_tmp(where, sc, volumes)
    if spec.get("enableServiceLinks") is not False:
        problem(name, "enableServiceLinks must be false")
    if "invmux.io/injected" not in annotations:
        problem(name, "no invmux.io/injected annotation")
    env = {e["name"]: str(e["value"]) for e in sc.get("env") or [] if "value" in e}
    key_file = env.pop("INVMUX_SECURITY_PRE_SHARED_KEY_FILE", "")
    kmount = mount_for(sc, key_file) if key_file else None
    if kmount is None or "secret" not in volumes.get(kmount["name"], {}):
        problem(where, f"the join key {key_file or '(none)'} is not in a mounted Secret")
    # The generated variables through the sidecar's loader, with a key of the right form in place of the Secret's
    # (and the named ConfigMap's file left out: it is not among these objects).
    cfg = run_loader(launcher, where, "{}\n", env, base64.b64encode(b"k" * 32).decode())
    if cfg is not None:
        health = (cfg.get("health") or {}).get("address") or ""
        if not health or health.startswith(LOOPBACK):
            problem(where, f"health.address {health!r} must be on the pod IP")
        else:
            for probe, service in (("startupProbe", "liveness"), ("readinessProbe", "accepting"),
                                   ("livenessProbe", "liveness")):
                g = (sc.get(probe) or {}).get("grpc") or {}
                if g.get("port") != port_of(health) or g.get("service") != service:
                    problem(where, f"{probe} must be grpc {{port: {port_of(health)}, service: {service}}}, is {g}")
        if not str((cfg.get("api") or {}).get("address", "")).startswith(LOOPBACK):
            problem(where, "api.address must stay on loopback")
        # /metrics on the pod IP, declared as the port the PodMonitor invmux-injected scrapes, on a pod it selects
        admin = str((cfg.get("admin") or {}).get("address") or "")
        declared = {p.get("name"): p.get("containerPort") for p in sc.get("ports") or []}
        if not admin or admin.startswith(LOOPBACK):
            problem(where, f"admin.address {admin!r} must be on the pod IP, for Prometheus")
        elif declared.get("invmux-admin") != port_of(admin):
            problem(where, f"admin.address {admin} must be declared as the container port invmux-admin")
        if ((template.get("metadata") or {}).get("labels") or {}).get("invmux.io/sidecar") != "injected":
            problem(name, "no label invmux.io/sidecar: injected (what the PodMonitor invmux-injected selects)")
    drain = seconds(((cfg or {}).get("limits") or {}).get("drainTimeout", "20s"))
    if not spec.get("terminationGracePeriodSeconds", 30) > drain:
        problem(name, f"terminationGracePeriodSeconds must exceed limits.drainTimeout ({drain:g}s)")
    if len(problems) == before:
        print(f"ok    {name}: native sidecar first of {len(init)} init container(s), restartPolicy "
              f"{spec.get('restartPolicy', 'Always')}, {len(cfg.get('peers') or [])} peer(s), "
              f"{len(cfg.get('forwards') or [])} forward(s), generated config loads")
    else:
        print(f"FAIL  {name}: {len(problems) - before} violation(s)")


TLS_FILES = {"certFile": "tls.crt", "keyFile": "tls.key", "caFile": "ca.crt"}  # the keys cert-manager writes
PKI = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "deploy", "pki.sh")
pki_dir = None   # made once: a CA per cert-manager issuer, a leaf per Certificate, for the loader to read
bond = []        # per TLS sidecar: (source, where, identity, certificate, issuer, names, peers it dials over tls://)


def certificate_names(cert):
    """The names the core takes from the certificate cert-manager will issue, in its order: SPIFFE URI SANs (the
    last path segment), then DNS SANs, then IP SANs. The first is the name a peer gives the session."""
    spec = cert.get("spec") or {}
    spiffe = [u.rstrip("/").rsplit("/", 1)[-1] for u in spec.get("uris") or [] if u.lower().startswith("spiffe://")]
    return spiffe + list(spec.get("dnsNames") or []) + list(spec.get("ipAddresses") or [])


def issuer_of(cert, namespace):
    ref = (cert.get("spec") or {}).get("issuerRef") or {}
    kind = ref.get("kind", "Issuer")
    return (kind, ref.get("name"), namespace if kind == "Issuer" else None)


def check_issuer(where, cert, objects, namespace):
    """The Certificate's issuer is among the rendered objects, and a CA issuer's Secret comes from a CA
    Certificate (the bootstrap chain: self-signed Issuer, CA Certificate, CA Issuer)."""
    kind, name, ns = issuer_of(cert, namespace)
    issuer = next((o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name
                   and (kind == "ClusterIssuer" or same_ns(o, ns))), None)
    if issuer is None:
        problem(where, f"Certificate {cert['metadata']['name']}: its issuer {kind} {name} is not among the rendered "
                       "objects")
        return
    ca = (issuer.get("spec") or {}).get("ca")
    if ca:
        ca_cert = next((o for o in objects if o["kind"] == "Certificate" and same_ns(o, issuer["metadata"].get(
            "namespace")) and (o.get("spec") or {}).get("secretName") == ca.get("secretName")), None)
        if ca_cert is None or not ca_cert["spec"].get("isCA"):
            problem(where, f"{kind} {name} signs with Secret {ca.get('secretName')}, which no rendered Certificate "
                           "with isCA: true writes")
        else:
            check_issuer(where, ca_cert, objects, namespace)


def make_pem_files(cert, namespace):
    """PEM files like those cert-manager writes for cert (same SANs, PKCS#8 key), for the sidecar's loader."""
    global pki_dir
    if pki_dir is None:
        pki_dir = tempfile.mkdtemp(prefix="invmux-invariants-pki.")
        atexit.register(shutil.rmtree, pki_dir, True)
    kind, name, ns = issuer_of(cert, namespace)
    ca = os.path.join(pki_dir, f"ca-{kind}-{name}-{ns}")
    if not os.path.isdir(ca):
        subprocess.run([PKI, "ca", ca], check=True)
    leaf = os.path.join(pki_dir, f"leaf-{cert['metadata']['name']}-{namespace}")
    spec = cert["spec"]
    sans = ([f"URI:{u}" for u in spec.get("uris") or []] + [f"DNS:{d}" for d in spec.get("dnsNames") or []]
            + [f"IP:{i}" for i in spec.get("ipAddresses") or []])
    subprocess.run([PKI, "leaf", ca, leaf] + sans, check=True)
    return leaf


def check_tls_mounts(where, sc, volumes, tls, objects, namespace):
    """security.tls's three files lie in one Secret volume, mounted read-only as a directory (a subPath mount never
    sees a renewal), under the names cert-manager writes, and a rendered cert-manager Certificate writes that
    Secret. Returns the Certificate and the loader's INVMUX_SECURITY_TLS_* variables (None, None on a problem)."""
    secrets = set()
    for knob, item in TLS_FILES.items():
        path = tls.get(knob) or ""
        m = mount_for(sc, path) if path else None
        if m is None or "secret" not in volumes.get(m["name"], {}):
            problem(where, f"security.tls.{knob} {path or '(not set)'} is not in a mounted Secret")
            return None, None
        if m.get("readOnly") is not True:
            problem(where, f"the Secret volume {m['name']} of security.tls.{knob} must be mounted readOnly: true")
        if m.get("subPath"):
            problem(where, f"security.tls.{knob} is mounted with subPath {m['subPath']}: a subPath mount never sees "
                           "the Secret's updates (certificate rotation); mount the Secret as a directory")
        if os.path.relpath(path, m["mountPath"]) != item:
            problem(where, f"security.tls.{knob} is {path}: cert-manager's Secret holds it as {item}")
        secrets.add(volumes[m["name"]]["secret"]["secretName"])
    if len(secrets) != 1:
        problem(where, f"security.tls's files come from several Secrets {sorted(secrets)}: a renewal would change "
                       "them at different times")
        return None, None
    secret = secrets.pop()
    cert = next((o for o in objects if o["kind"] == "Certificate" and same_ns(o, namespace)
                 and (o.get("spec") or {}).get("secretName") == secret), None)
    if cert is None:
        problem(where, f"no cert-manager Certificate among the rendered objects writes the Secret {secret} "
                       "(security.tls)")
        return None, None
    cwhere = f"{where} Certificate {cert['metadata']['name']}"
    if ((cert["spec"].get("privateKey") or {}).get("encoding")) != "PKCS8":
        problem(cwhere, "privateKey.encoding must be PKCS8: security.tls.keyFile reads BEGIN PRIVATE KEY")
    check_issuer(where, cert, objects, namespace)
    leaf = make_pem_files(cert, namespace)
    env = {"INVMUX_SECURITY_TLS_" + re.sub("([A-Z])", r"_\1", k).upper(): os.path.join(leaf, item)
           for k, item in TLS_FILES.items()}
    return cert, env


def check_tls_config(where, cfg, cert, objects, namespace, source):
    """With TLS credentials, every link is tls://, and the certificate proves the sidecar's identity: its first
    name (what a peer names the session after, and what a stream's source must be) is the identity."""
    identity = cfg.get("identity")
    names = certificate_names(cert)
    cwhere = f"{where} Certificate {cert['metadata']['name']}"
    if not names:
        problem(cwhere, "names nobody: give it dnsNames (or a spiffe:// URI) with the identity")
    elif names[0] != identity:
        problem(cwhere, f"its first name is {names[0]!r} (names {names}), the sidecar's identity is {identity!r}: "
                        "peers name the session after the certificate's first name (SPIFFE URI, else DNS) and "
                        "refuse streams whose source is not among its names")
    for u in cfg.get("listeners") or []:
        if not str(u).startswith("tls://"):
            problem(where, f"listener {u} is not tls:// although security.tls is set: links there are plaintext")
    dialed = []
    for p in cfg.get("peers") or []:
        for link in p.get("links") or []:
            address = link.get("address") if isinstance(link, dict) else link
            if not str(address).startswith("tls://"):
                problem(where, f"peer {p.get('name')} link {address} is not tls:// although security.tls is set")
        if p.get("links"):
            dialed.append(p.get("name"))
    usages = (cert["spec"].get("usages") or [])
    if any(u.endswith(" auth") for u in usages):  # with an extended key usage, each role must be in it
        if cfg.get("listeners") and "server auth" not in usages:
            problem(cwhere, "usages lacks \"server auth\": the sidecar accepts links (TLS server)")
        if dialed and "client auth" not in usages:
            problem(cwhere, "usages lacks \"client auth\": the sidecar dials links (TLS client, mutual TLS)")
    bond.append((source, where, identity, cert, issuer_of(cert, namespace), names, dialed))


def check_bond():
    """Each peer a TLS sidecar dials, when it is rendered too: its certificate names it (the dialer checks that
    name), it comes from the same issuer (both ends trust only their Secret's ca.crt), and it accepts tls://."""
    for source, where, identity, cert, issuer, names, dialed in bond:
        for peer in dialed:
            others = [b for b in bond if b[0] == source and b[2] == peer]
            for _, owhere, _, ocert, oissuer, onames, _ in others:
                if peer not in onames:
                    problem(owhere, f"Certificate {ocert['metadata']['name']} does not name {peer!r} ({onames}): "
                                    f"{where} dials it as peer {peer!r} and checks its certificate for that name")
                if oissuer != issuer:
                    problem(where, f"Certificate {cert['metadata']['name']} comes from {issuer[0]} {issuer[1]} and "
                                   f"peer {peer}'s from {oissuer[0]} {oissuer[1]}: each trusts only its own CA")


def is_sidecar(c):
    image = c.get("image", "")
    repo = image.rsplit("@", 1)[0]
    repo = repo.rsplit(":", 1)[0] if ":" in repo.rsplit("/", 1)[-1] else repo
    cmd = (c.get("command") or []) + (c.get("args") or [])
    return repo.rsplit("/", 1)[-1] == "invmux" or (len(cmd) > 1 and cmd[0].endswith("invmux") and cmd[1] == "sidecar")


def mount_for(c, path):
    best = None
    for m in c.get("volumeMounts") or []:
        mp = m["mountPath"].rstrip("/")
        if (path == mp or path.startswith(mp + "/")) and (best is None or len(mp) > len(best["mountPath"])):
            best = m
    return best


def same_ns(o, namespace):
    return o["metadata"].get("namespace") == namespace


def find(objects, kind, name, namespace):
    for o in objects:
        if o["kind"] == kind and o["metadata"]["name"] == name and same_ns(o, namespace):
            return o
    return None


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    injected = sys.argv[1] == "--injected"
    args = sys.argv[2:] if injected else sys.argv[1:]
    launcher = args[0]
    for source in args[1:]:
        with open(source) as f:
            objects = [o for o in yaml.safe_load_all(f) if o]
        if injected:
            for o in objects:
                if o["kind"] in WORKLOADS | {"Pod"}:
                    check_injected(launcher, o, source)
            continue
        workloads = [o for o in objects if o["kind"] in WORKLOADS]
        if not workloads:
            problem(source, "renders no workload")
        for o in workloads:
            check_workload(launcher, o, objects, source)
    check_bond()
    if problems:
        print(f"\n{len(problems)} violation(s):", file=sys.stderr)
        for p in problems:
            print("  - " + p.replace("\n", "\n      "), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

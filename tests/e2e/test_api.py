"""The API server through the real kubectl: apply, get in every output format, label, scale,
delete, watch, bad input, and a restart that keeps every object as it was."""

import json
import re
import subprocess
import time

import pytest

from conftest import Kubectl, Server

WHOAMI_RS = """
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: whoami-web
  labels:
    kiamol: ch06
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: whoami-web
  template:
    metadata:
      labels:
        app: whoami-web
    spec:
      containers:
        - image: kiamol/ch02-whoami
          name: web
          ports:
            - containerPort: 80
              name: http
"""

WHOAMI_SVC = """
apiVersion: v1
kind: Service
metadata:
  name: whoami-web
  labels:
    kiamol: ch06
spec:
  ports:
    - port: 8088
      targetPort: 80
  selector:
    app: whoami-web
  type: LoadBalancer
"""


CONFIGMAP = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
data:
  k: v
"""


@pytest.fixture(scope="module")
def ns(kubectl):
    """A namespace per kubectl version, so both versions run every test on one server."""
    name = "e2e-" + re.sub(r"[^a-z0-9]", "", kubectl.binary.split("/")[-2] if "kubectl-" in kubectl.binary else "system")
    kubectl.apply(f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n")
    return name


def test_apply_directory_create_configure_unchanged(kubectl, ns, tmp_path):
    d = tmp_path / "whoami"
    d.mkdir()
    (d / "rs.yaml").write_text(WHOAMI_RS.format(replicas=1))
    (d / "svc.yaml").write_text(WHOAMI_SVC)
    out = kubectl("apply", "-n", ns, "-f", str(d))
    assert "replicaset.apps/whoami-web created" in out
    assert "service/whoami-web created" in out

    (d / "rs.yaml").write_text(WHOAMI_RS.format(replicas=3))
    out = kubectl("apply", "-n", ns, "-f", str(d))
    assert "replicaset.apps/whoami-web configured" in out
    assert "service/whoami-web unchanged" in out
    assert kubectl("get", "rs", "whoami-web", "-n", ns, "-o", "jsonpath={.spec.replicas}") == "3"

    out = kubectl("apply", "-n", ns, "-f", str(d))
    assert "replicaset.apps/whoami-web unchanged" in out


def test_get_table_and_output_formats(kubectl, ns):
    kubectl.apply(WHOAMI_RS.format(replicas=2), "-n", ns)
    out = kubectl("get", "replicaset", "whoami-web", "-n", ns)
    header, row = out.strip().splitlines()
    assert header.split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    # DESIRED 2; no node runs pods on this server, so none is READY.
    cells = row.split()
    assert cells[:2] == ["whoami-web", "2"] and cells[3] == "0"

    wide = kubectl("get", "rs", "-n", ns, "-o", "wide").splitlines()[0].split()
    assert wide == ["NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]

    obj = json.loads(kubectl("get", "rs", "whoami-web", "-n", ns, "-o", "json"))
    assert obj["kind"] == "ReplicaSet" and obj["apiVersion"] == "apps/v1"
    assert obj["metadata"]["uid"] and obj["metadata"]["resourceVersion"] and obj["metadata"]["creationTimestamp"]
    assert obj["metadata"]["generation"] >= 1
    # Defaults applied as Kubernetes applies them.
    container = obj["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"][0]["protocol"] == "TCP"
    assert container["imagePullPolicy"] == "Always"
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert obj["spec"]["template"]["spec"]["restartPolicy"] == "Always"
    assert obj["spec"]["template"]["spec"]["dnsPolicy"] == "ClusterFirst"

    yaml_out = kubectl("get", "rs", "whoami-web", "-n", ns, "-o", "yaml")
    assert "kind: ReplicaSet" in yaml_out and "name: whoami-web" in yaml_out

    svc = kubectl("get", "svc", "whoami-web", "-n", ns)
    header, row = svc.strip().splitlines()
    assert header.split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    cells = row.split()
    assert cells[1] == "LoadBalancer"
    assert re.fullmatch(r"10\.43\.\d+\.\d+", cells[2])
    assert re.fullmatch(r"8088:3\d{4}/TCP", cells[4])

    cc = kubectl("get", "rs", "-n", ns, "-o", "custom-columns=NAME:{.metadata.name},SEL:{.spec.selector.matchLabels.app}")
    assert cc.split() == ["NAME", "SEL", "whoami-web", "whoami-web"]


def test_label_overwrite_and_selectors(kubectl, ns):
    kubectl.apply(WHOAMI_RS.format(replicas=1), "-n", ns)
    assert "labeled" in kubectl("label", "rs", "whoami-web", "-n", ns, "tier=web", "--overwrite")
    assert kubectl("label", "rs", "whoami-web", "-n", ns, "tier=web", "--overwrite").strip().endswith("not labeled")
    assert "whoami-web" in kubectl("get", "rs", "-n", ns, "-l", "tier in (web,api),kiamol=ch06")
    none = kubectl.run("get", "rs", "-n", ns, "-l", "tier notin (web)")
    assert none.stdout == "" and "No resources found" in none.stderr
    bad = kubectl.run("get", "rs", "-n", ns, "-l", "tier in (web", check=False)
    assert bad.returncode != 0


def test_scale_through_subresource(kubectl, ns):
    kubectl.apply(WHOAMI_RS.format(replicas=1), "-n", ns)
    assert "scaled" in kubectl("scale", "--replicas=4", "rs/whoami-web", "-n", ns)
    assert kubectl("get", "rs", "whoami-web", "-n", ns, "-o", "jsonpath={.spec.replicas}") == "4"
    # A precondition that does not hold is refused.
    out = kubectl.run("scale", "--replicas=2", "--current-replicas=3", "rs/whoami-web", "-n", ns, check=False)
    assert out.returncode != 0
    assert kubectl("get", "rs", "whoami-web", "-n", ns, "-o", "jsonpath={.spec.replicas}") == "4"


def test_delete_by_name_label_and_all(kubectl, ns):
    for name in ["cm-a", "cm-b", "cm-c"]:
        kubectl.apply(CONFIGMAP.format(name=name), "-n", ns)
    kubectl("label", "cm", "cm-b", "cm-c", "-n", ns, "group=x")
    assert 'configmap "cm-a" deleted' in kubectl("delete", "cm", "cm-a", "-n", ns)
    out = kubectl("delete", "cm", "-l", "group=x", "-n", ns)
    assert 'configmap "cm-b" deleted' in out and 'configmap "cm-c" deleted' in out
    assert kubectl.run("get", "cm", "cm-b", "-n", ns, check=False).returncode != 0

    kubectl.apply(WHOAMI_RS.format(replicas=1), "-n", ns)
    kubectl.apply(WHOAMI_SVC, "-n", ns)
    out = kubectl("delete", "all", "-l", "kiamol=ch06", "-n", ns)
    assert 'replicaset.apps "whoami-web" deleted' in out and 'service "whoami-web" deleted' in out
    left = kubectl.run("get", "all", "-l", "kiamol=ch06", "-n", ns)
    assert left.stdout.strip() == ""


def test_watch_receives_events(kubectl, ns):
    kubectl.apply(CONFIGMAP.format(name="watched"), "-n", ns)
    cmd = [kubectl.binary, "--kubeconfig", kubectl.server.kubeconfig, "--cache-dir", str(kubectl.cache_dir),
           "get", "configmaps", "watched", "-n", ns, "-w", "--output-watch-events", "-o", "json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        kubectl("label", "cm", "watched", "-n", ns, "x=y")
        kubectl("delete", "cm", "watched", "-n", ns)
        time.sleep(1.0)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    events, decoder, rest = [], json.JSONDecoder(), out.strip()
    while rest:
        event, end = decoder.raw_decode(rest)
        events.append(event)
        rest = rest[end:].lstrip()
    types = [e["type"] for e in events]
    assert types == ["ADDED", "MODIFIED", "DELETED"], types
    assert events[1]["object"]["metadata"]["labels"] == {"x": "y"}
    assert all(e["object"]["metadata"]["name"] == "watched" for e in events)


def test_bad_input_is_refused_and_changes_nothing(kubectl, ns):
    kubectl.apply(WHOAMI_RS.format(replicas=1), "-n", ns)
    before = json.loads(kubectl("get", "rs", "whoami-web", "-n", ns, "-o", "json"))

    unknown = kubectl.run("apply", "-n", ns, "-f", "-", input=WHOAMI_RS.format(replicas=2).replace("replicas: 2", "replicas: 2\n  replicaz: 5"), check=False)
    assert unknown.returncode != 0
    assert 'unknown field "spec.replicaz"' in unknown.stderr

    wrong_type = kubectl.run("apply", "-n", ns, "-f", "-", input=WHOAMI_RS.format(replicas='"three"'), check=False)
    assert wrong_type.returncode != 0

    bad_name = kubectl.run("apply", "-n", ns, "-f", "-", input=CONFIGMAP.format(name="Bad_Name"), check=False)
    assert bad_name.returncode != 0 and "Invalid value" in bad_name.stderr and "RFC 1123" in bad_name.stderr

    malformed = kubectl.run("apply", "-n", ns, "-f", "-", input="kind: [unclosed", check=False)
    assert malformed.returncode != 0

    mismatch = kubectl.run("apply", "-n", ns, "-f", "-", input=WHOAMI_RS.format(replicas=1).replace("app: whoami-web\n  template", "app: other\n  template"), check=False)
    assert mismatch.returncode != 0 and "selector" in mismatch.stderr

    after = json.loads(kubectl("get", "rs", "whoami-web", "-n", ns, "-o", "json"))
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_restart_keeps_objects_with_same_uid_and_version(workdir):
    from conftest import kubectl_binaries

    server = Server(workdir / "restart-data")
    server.start()
    try:
        k = Kubectl(kubectl_binaries()[0][1], server, workdir / "cache-restart")
        k.apply(WHOAMI_RS.format(replicas=2))
        k.apply(WHOAMI_SVC)
        before = {kind: json.loads(k("get", kind, "whoami-web", "-o", "json")) for kind in ["rs", "svc"]}
        server.stop()
        server.start()
        for kind, obj in before.items():
            now = json.loads(k("get", kind, "whoami-web", "-o", "json"))
            assert now["metadata"]["uid"] == obj["metadata"]["uid"]
            assert now["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]
        # The allocated ClusterIP is still taken after the restart: a new Service gets another.
        k.apply(WHOAMI_SVC.replace("name: whoami-web\n  labels", "name: second\n  labels"))
        second = json.loads(k("get", "svc", "second", "-o", "json"))
        assert second["spec"]["clusterIP"] != before["svc"]["spec"]["clusterIP"]
    finally:
        server.stop()


def test_typed_create_commands_send_protobuf(kubectl, ns):
    """kubectl's `create` generators use typed clients, which send protobuf bodies."""
    out = kubectl("create", "configmap", "made-by-create", "-n", ns, "--from-literal=greeting=hello")
    assert "configmap/made-by-create created" in out
    cm = json.loads(kubectl("get", "cm", "made-by-create", "-n", ns, "-o", "json"))
    assert cm["data"] == {"greeting": "hello"}

    kubectl("create", "deployment", "made-by-create", "-n", ns, "--image=nginx:1.17-alpine", "--replicas=2")
    deploy = json.loads(kubectl("get", "deploy", "made-by-create", "-n", ns, "-o", "json"))
    assert deploy["spec"]["replicas"] == 2
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.17-alpine"
    # Defaults apply to protobuf bodies as to JSON ones.
    assert deploy["spec"]["template"]["spec"]["restartPolicy"] == "Always"
    assert deploy["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": "25%"}

    name = "e2e-created-" + ns.split("-")[-1]
    kubectl("create", "namespace", name)
    assert json.loads(kubectl("get", "ns", name, "-o", "json"))["status"]["phase"] == "Active"

    secret = kubectl.run("create", "secret", "generic", "s1", "-n", ns, "--from-literal=password=p4ss")
    assert secret.returncode == 0
    data = json.loads(kubectl("get", "secret", "s1", "-n", ns, "-o", "json"))["data"]
    assert data == {"password": "cDRzcw=="}

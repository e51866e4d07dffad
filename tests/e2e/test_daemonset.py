"""The chapter's DaemonSet steps on two simulated nodes: a DaemonSet takes over from a
Deployment without the Service losing endpoints, a nodeSelector removes its pods and a node
label brings one back, `--cascade=false` leaves pods that a new DaemonSet adopts, and a
rolling update with maxSurge brings each new pod up next to the old one."""

import json

import pytest

from conftest import Kubectl, Server, kubectl_binaries, wait_for

TEMPLATE = """
    metadata:
      labels:
        app: pi-proxy
    spec:
      containers:
        - image: nginx:1.17-alpine
          name: nginx
          ports:
            - containerPort: 80
              name: http
"""

DEPLOY = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: pi-proxy
  labels:
    kiamol: ch06
spec:
  replicas: 2
  selector:
    matchLabels:
      app: pi-proxy
  template:""" + TEMPLATE

SERVICE = """
apiVersion: v1
kind: Service
metadata:
  name: pi-proxy
  labels:
    kiamol: ch06
spec:
  ports:
    - port: 8080
      targetPort: http
  selector:
    app: pi-proxy
  type: LoadBalancer
"""

DAEMONSET = """
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: pi-proxy
  labels:
    kiamol: ch06
spec:
  selector:
    matchLabels:
      app: pi-proxy
  template:""" + TEMPLATE


def with_node_selector(manifest):
    return manifest.replace("    spec:\n      containers:", "    spec:\n      nodeSelector:\n        kiamol: ch06\n      containers:")


@pytest.fixture(scope="module")
def k(workdir):
    server = Server(workdir / "ds-data", extra_args=["--simulated-nodes", "2"])
    server.start()
    yield Kubectl(kubectl_binaries()[0][1], server, workdir / "cache-ds")
    server.stop()


def live_pods(k):
    return [p for p in json.loads(k("get", "pods", "-l", "app=pi-proxy", "-o", "json"))["items"]
            if "deletionTimestamp" not in p["metadata"] and p["status"].get("phase") == "Running"]


def endpoint_ips(k):
    ep = json.loads(k("get", "endpoints", "pi-proxy", "-o", "json"))
    return {a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or []}


def test_daemonset_takes_over_from_a_deployment(k):
    k.apply(DEPLOY)
    k.apply(SERVICE)
    wait_for(lambda: len(live_pods(k)) == 2, what="2 deployment pods")
    wait_for(lambda: len(endpoint_ips(k)) == 2, what="2 endpoints")

    k.apply(DAEMONSET)
    wait_for(lambda: len(live_pods(k)) == 4, what="deployment and daemonset pods")
    wait_for(lambda: len(endpoint_ips(k)) == 4, what="endpoints of both sets")
    ds_pods = [p for p in live_pods(k) if p["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"]
    assert len(ds_pods) == 2 and len({p["spec"]["nodeName"] for p in ds_pods}) == 2

    k("delete", "deploy", "pi-proxy")
    wait_for(lambda: len(live_pods(k)) == 2, what="only the daemonset pods")
    assert endpoint_ips(k) == {p["status"]["podIP"] for p in ds_pods}
    row = k("get", "ds", "pi-proxy").splitlines()[1].split()
    assert row[1:6] == ["2", "2", "2", "2", "2"]


def test_deleted_daemonset_pod_is_replaced(k):
    before = {p["metadata"]["name"] for p in live_pods(k)}
    k("delete", "po", "-l", "app=pi-proxy")
    after = wait_for(lambda: (lambda pods: pods if len(pods) == 2 else None)(live_pods(k)), what="replacements")
    assert not before & {p["metadata"]["name"] for p in after}


def test_node_selector_and_node_label(k):
    k.apply(with_node_selector(DAEMONSET))
    wait_for(lambda: not json.loads(k("get", "pods", "-l", "app=pi-proxy", "-o", "json"))["items"], what="pods removed")
    node = k("get", "nodes", "-o", "jsonpath={.items[0].metadata.name}")
    k("label", "node", node, "kiamol=ch06", "--overwrite")
    pods = wait_for(lambda: (lambda p: p if len(p) == 1 else None)(live_pods(k)), what="one pod on the labelled node")
    assert pods[0]["spec"]["nodeName"] == node


def test_cascade_false_leaves_pods_that_a_new_daemonset_adopts(k):
    before = {p["metadata"]["name"] for p in live_pods(k)}
    out = k.run("delete", "ds", "pi-proxy", "--cascade=false")
    assert out.returncode == 0 and "deprecated" in out.stderr
    assert {p["metadata"]["name"] for p in live_pods(k)} == before
    k.apply(with_node_selector(DAEMONSET))
    adopted = wait_for(lambda: [p for p in live_pods(k) if p["metadata"].get("ownerReferences")] or None, what="adoption")
    assert {p["metadata"]["name"] for p in adopted} == before
    k("delete", "ds", "pi-proxy")
    wait_for(lambda: not live_pods(k), what="daemonset pods deleted")


def with_surge(manifest, image):
    surge = "spec:\n  updateStrategy:\n    type: RollingUpdate\n    rollingUpdate:\n      maxSurge: 1\n      maxUnavailable: 0\n  selector:"
    return manifest.replace("spec:\n  selector:", surge, 1).replace("nginx:1.17-alpine", image)


def test_rolling_update_with_max_surge(k):
    k.apply(with_surge(DAEMONSET, "nginx:1.17-alpine"))
    old = wait_for(lambda: (lambda p: p if len(p) == 2 else None)(live_pods(k)), what="2 daemonset pods")
    k.apply(with_surge(DAEMONSET, "nginx:1.18-alpine"))
    out = k("rollout", "status", "ds/pi-proxy", "--timeout=60s", timeout=90)
    assert "successfully rolled out" in out
    new = wait_for(lambda: (lambda p: p if len(p) == 2 and all(x["spec"]["containers"][0]["image"] == "nginx:1.18-alpine"
                                                               for x in p) else None)(live_pods(k)), what="2 updated pods")
    assert not {p["metadata"]["name"] for p in old} & {p["metadata"]["name"] for p in new}
    assert len({p["spec"]["nodeName"] for p in new}) == 2
    # maxUnavailable 0: each old pod was deleted only after its replacement was available.
    described = k("describe", "ds", "pi-proxy")
    assert described.count("SuccessfulDelete") >= 1
    k("delete", "ds", "pi-proxy")
    wait_for(lambda: not live_pods(k), what="daemonset pods deleted")

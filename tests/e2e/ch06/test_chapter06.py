"""Chapter 6 of Learn Kubernetes in a Month of Lunches, as a reader types it: every command of
the chapter's list runs verbatim (`bash -c`, in examples/ch06, kubectl 1.34 as `kubectl` on the
PATH) against a fresh `swiftlet server` with its node agent, and after each one the test checks
what the chapter says happens at that step. The second test walks the same list with a second
node joined by `swiftlet agent`, where the DaemonSet runs a pod on each node."""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

E2E = Path(__file__).resolve().parents[1]
if str(E2E) not in sys.path:  # run on its own (pytest tests/e2e/ch06), the parent conftest is not loaded
    sys.path.insert(0, str(E2E))
from conftest import REPO, Kubectl, Server, bridge_name, kubectl_134, swiftlet_bin, wait_for  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the node agent needs root")

EXAMPLES = REPO / "examples" / "ch06"

# The seed's list of the chapter's commands ("해당 파트 사용 명령어 모음"), exactly as it gives them.
SEED_COMMAND_LIST = r"""
- kubectl apply -f whoami/
- kubectl get replicaset whoami-web
- curl $(kubectl get svc whoami-web -o jsonpath='http://{.status.loadBalancer.ingress[0].*}:8088') -UseBasicParsing
- kubectl delete pods -l app=whoami-web
- curl $(kubectl get svc whoami-web -o jsonpath='http://{.status.loadBalancer.ingress[0].*}:8088') -UseBasicParsing
- kubectl describe rs whoami-web
- kubectl apply -f whoami/update/whoami-replicas-3.yaml
- kubectl get pods -l app=whoami-web
- kubectl delete pods -l app=whoami-web
- kubectl get pods -l app=whoami-web
- curl $(kubectl get svc whoami-web -o jsonpath='http://{.status.loadBalancer.ingress[0].*}:8088') -UseBasicParsing
- kubectl apply -f sleep.yaml
- kubectl get svc whoami-web
- kubectl exec deploy/sleep -- sh -c 'nslookup whoami-web | grep "^[^*]"'
- kubectl exec deploy/sleep -- sh -c 'for i in 1 2 3; do curl -w \\n -s http://whoami-web:8088; done;'
- kubectl apply -f pi/web/
- kubectl get rs -l app=pi-web
- kubectl apply -f pi/web/update/web-replicas-3.yaml
- kubectl get rs -l app=pi-web
- kubectl apply -f pi/web/update/web-logging-level.yaml
- kubectl get rs -l app=pi-web
- kubectl scale --replicas=4 deploy/pi-web
- kubectl get rs -l app=pi-web
- kubectl apply -f pi/web/update/web-replicas-3.yaml
- kubectl get rs -l app=pi-web
- kubectl get pods -l app=pi-web
- kubectl apply -f pi/proxy/
- kubectl get svc whoami-web -o jsonpath='http://{.status.loadBalancer.ingress[0].*}:8080/?dp=10000'
- kubectl logs -l app=pi-proxy --tail 1
- kubectl apply -f pi/proxy/daemonset/nginx-ds.yaml
- kubectl get endpoints pi-proxy
- kubectl delete deploy pi-proxy
- kubectl get daemonset pi-proxy
- kubectl get po -l app=pi-proxy
- kubectl get ds pi-proxy
- kubectl delete po -l app=pi-proxy
- kubectl get po -l app=pi-proxy
- kubectl apply -f pi/proxy/daemonset/nginx-ds-nodeSelector.yaml
- kubectl get ds pi-proxy
- kubectl get po -l app=pi-proxy
- kubectl label node $(kubectl get nodes -o jsonpath='{.items[0].metadata.name}') kiamol=ch06 --overwrite
- kubectl get ds pi-proxy
- kubectl delete ds pi-proxy --cascade=false
- kubectl get po -l app=pi-proxy
- kubectl apply -f pi/proxy/daemonset/nginx-ds-nodeSelector.yaml
- kubectl get ds pi-proxy
- kubectl get po -l app=pi-proxy
- kubectl delete ds pi-proxy
- kubectl get po -l app=pi-proxy
- kubectl get po -o custom-columns=NAME:'{.metadata.name}',OWNER:'{.metadata.ownerReferences[0].name}',OWNER_KIND:'{.metadata.ownerReferences[0].kind}'
- kubectl get rs -o custom-columns=NAME:'{.metadata.name}',OWNER:'{.metadata.ownerReferences[0].name}',OWNER_KIND:'{.metadata.ownerReferences[0].kind}'
- kubectl delete all -l kiamol=ch06
"""
COMMANDS = [line.removeprefix("- ") for line in SEED_COMMAND_LIST.strip().splitlines()]

# A PowerShell flag (curl is an alias of Invoke-WebRequest there); on Linux the line runs without it.
POWERSHELL_FLAG = " -UseBasicParsing"

WHOAMI_CURL = COMMANDS[2]  # through the LoadBalancer; the chapter runs it three times

POD_START = 90          # seconds for pods to be Running and ready
SERVICE_READY = 60      # seconds for a Service's rules, load balancer status or DNS to follow
GONE = 90               # seconds for deleted pods to be gone
DS_CACHE = Path("/volumes/nginx-cache")  # the DaemonSet's hostPath, on this machine's root


# --- the reader's shell ---------------------------------------------------------------------

class Reader:
    """Types the chapter's commands in order, in a shell in examples/ch06."""

    def __init__(self, server: Server, home: Path):
        bin_dir = home / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        (bin_dir / "kubectl").symlink_to(kubectl_134())
        # localhost must not go through a proxy the CI machine may configure.
        self.env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        self.env.update(PATH=f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
                        KUBECONFIG=server.kubeconfig, KUBECACHEDIR=str(home / "kube-cache"))
        self.todo = list(COMMANDS)

    def type(self, command: str) -> subprocess.CompletedProcess:
        """Runs the chapter's next command, which must be `command`."""
        assert self.todo, f"{command!r} comes after the end of the chapter's list"
        assert command == self.todo[0], f"the chapter's next command is {self.todo[0]!r}, not {command!r}"
        self.todo.pop(0)
        return self.again(command)

    def again(self, command: str) -> subprocess.CompletedProcess:
        """Runs one of the chapter's commands (again, as a reader repeats a curl); every one of
        them succeeds, "No resources found" included."""
        assert command in COMMANDS, f"{command!r} is not one of the chapter's commands"
        line = command.removesuffix(POWERSHELL_FLAG)
        started = time.monotonic()
        p = subprocess.run(["bash", "-c", line], cwd=EXAMPLES, env=self.env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=180)
        print(f"\n$ {line}    # exit {p.returncode}, {time.monotonic() - started:.1f} s", flush=True)
        for text in (p.stdout, p.stderr):
            if text:
                print(text, end="" if text.endswith("\n") else "\n", flush=True)
        assert p.returncode == 0, f"{line!r} failed with exit code {p.returncode}: {p.stderr}"
        return p

    def shell(self, line: str) -> subprocess.CompletedProcess:
        """A command of the test's own (not the chapter's), in the same environment."""
        return subprocess.run(["bash", "-c", line], cwd=EXAMPLES, env=self.env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=60)


def table(output: str) -> list[dict]:
    """kubectl's columns as dicts keyed by header; headers may hold a space ("NODE SELECTOR")."""
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines:
        return []
    starts = [(m.start(), m.group()) for m in re.finditer(r"\S+(?: \S+)*", lines[0])]
    rows = []
    for line in lines[1:]:
        row = {}
        for i, (start, name) in enumerate(starts):
            end = starts[i + 1][0] if i + 1 < len(starts) else None
            row[name] = line[start:end].strip()
        rows.append(row)
    return rows


def step(title: str):
    print(f"\n=== {title}", flush=True)


# --- what the test looks at besides the chapter's output -------------------------------------

def items(k: Kubectl, kind: str, *args) -> list[dict]:
    return json.loads(k("get", kind, *args, "-o", "json"))["items"]


def live_pods(k: Kubectl, selector: str) -> list[dict]:
    return [p for p in items(k, "pods", "-l", selector) if "deletionTimestamp" not in p["metadata"]]


def is_ready(pod: dict) -> bool:
    status = pod.get("status", {})
    return status.get("phase") == "Running" and any(
        c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions", []))


def wait_pods(k: Kubectl, selector: str, count: int, not_named=(), what=None) -> list[dict]:
    """Exactly `count` pods of the selector, all ready, none of them named in `not_named`, and no
    pod of the selector still terminating."""
    def check():
        every = items(k, "pods", "-l", selector)
        live = [p for p in every if "deletionTimestamp" not in p["metadata"]]
        if len(every) == count and all(is_ready(p) for p in live) and not {
                p["metadata"]["name"] for p in live} & set(not_named):
            return sorted(live, key=lambda p: p["metadata"]["name"])
        return None
    return wait_for(check, timeout=POD_START, what=what or f"{count} ready pods of {selector}")


def wait_no_pods(k: Kubectl, selector: str):
    wait_for(lambda: not items(k, "pods", "-l", selector), timeout=GONE, what=f"no pods of {selector}")


def names(pods) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


def endpoint_ips(k: Kubectl, service: str) -> set[str]:
    ep = json.loads(k("get", "endpoints", service, "-o", "json"))
    return {a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or []}


def wait_endpoints(k: Kubectl, service: str, pods):
    ips = {p["status"]["podIP"] for p in pods}
    wait_for(lambda: endpoint_ips(k, service) == ips, timeout=SERVICE_READY, what=f"endpoints of {service} = {ips}")


def http_get(url: str, timeout=10.0):
    """(status, headers, body) with a new connection, as each curl makes one."""
    m = re.fullmatch(r"http://([^:/]+):(\d+)(/.*)?", url)
    assert m, f"not an http URL: {url!r}"
    conn = http.client.HTTPConnection(m.group(1), int(m.group(2)), timeout=timeout)
    try:
        conn.request("GET", m.group(3) or "/")
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode(errors="replace")
    finally:
        conn.close()


def answers(url: str, predicate=lambda status, headers, body: status == 200):
    try:
        return predicate(*http_get(url, timeout=5))
    except (OSError, http.client.HTTPException):
        return False


def whoami_name(body: str) -> str:
    m = re.match(r"I'm (\S+) running on ", body)
    assert m, f"not a whoami answer: {body!r}"
    return m.group(1)


def refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


class RequestLoop(threading.Thread):
    """Requests http://localhost:8080/?dp=50 back to back, as a user of the pi app would while
    the proxy changes from a Deployment to a DaemonSet; records every failure."""

    URL = "http://localhost:8080/?dp=50"

    def __init__(self):
        super().__init__(daemon=True)
        self.stopping = threading.Event()
        self.results = []  # (monotonic time, X-Host or None, error or None)
        self.marks = []  # (monotonic time, what the test did then), to place failures in the story

    def run(self):
        while not self.stopping.is_set():
            at = time.monotonic()
            try:
                status, headers, body = http_get(self.URL, timeout=10)
                error = None if status == 200 and "3.14" in body else f"HTTP {status}: {body[:200]!r}"
                self.results.append((at, headers.get("x-host"), error))
            except (OSError, http.client.HTTPException) as e:
                self.results.append((at, None, f"{type(e).__name__}: {e}"))
            time.sleep(0.02)

    def stop(self):
        self.stopping.set()
        self.join(timeout=15)

    def mark(self, what: str):
        self.marks.append((time.monotonic(), what))

    def failures(self):
        def when(at):
            before = [(t, what) for t, what in self.marks if t <= at]
            return f"{at - before[-1][0]:.3f} s after {before[-1][1]}" if before else "before the first step"
        return [f"{when(at)}: {error}" for at, _, error in self.results if error]

    def hosts_since(self, since: float) -> set:
        return {host for at, host, error in self.results if at >= since and not error}


# --- the chapter ----------------------------------------------------------------------------

class Chapter:
    """One walk through the chapter's commands on a cluster whose nodes are `nodes` (the
    server's own node first)."""

    def __init__(self, reader: Reader, k: Kubectl, nodes: list[str]):
        self.reader = reader
        self.k = k
        self.nodes = nodes
        self.cluster_ips = {}

    def type(self, command):
        return self.reader.type(command)

    def walk(self):
        self.replicaset_and_load_balancer()
        self.services_inside_the_cluster()
        self.deployment_and_replicasets()
        self.proxy_in_front()
        self.daemonset_takes_over()
        self.daemonset_node_selector_and_adoption()
        self.ownership_and_garbage_collection()
        assert not self.reader.todo, f"commands of the chapter not run: {self.reader.todo}"

    # 6.1 ---------------------------------------------------------------------------------------

    def wait_whoami_served_by(self, pods):
        """The load balancer's rules follow the endpoints: a request reaches one of these pods."""
        k = self.k
        wait_endpoints(k, "whoami-web", pods)
        wanted = set(names(pods))
        wait_for(lambda: answers("http://localhost:8088",
                                 lambda s, h, b: s == 200 and b.startswith("I'm ") and whoami_name(b) in wanted),
                 timeout=SERVICE_READY, what=f"http://localhost:8088 answered by one of {sorted(wanted)}")

    def replicaset_and_load_balancer(self):
        k = self.k
        step("6.1 a ReplicaSet of whoami and a LoadBalancer Service in front of it")
        out = self.type("kubectl apply -f whoami/").stdout
        assert "replicaset.apps/whoami-web created" in out and "service/whoami-web created" in out
        first = wait_pods(k, "app=whoami-web", 1)
        assert first[0]["metadata"]["name"].startswith("whoami-web-")
        assert first[0]["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"

        rows = table(self.type("kubectl get replicaset whoami-web").stdout)
        assert [(r["NAME"], r["DESIRED"], r["CURRENT"], r["READY"]) for r in rows] == [("whoami-web", "1", "1", "1")]

        svc = json.loads(k("get", "svc", "whoami-web", "-o", "json"))
        assert svc["spec"]["type"] == "LoadBalancer" and svc["spec"]["ports"][0]["port"] == 8088
        self.cluster_ips["whoami-web"] = svc["spec"]["clusterIP"]
        assert svc["spec"]["clusterIP"].startswith("10.43."), svc["spec"]["clusterIP"]
        ingress = wait_for(lambda: json.loads(k("get", "svc", "whoami-web", "-o", "json"))["status"]
                           .get("loadBalancer", {}).get("ingress"), timeout=SERVICE_READY, what="load balancer ingress")
        assert ingress == [{"hostname": "localhost"}], ingress
        self.wait_whoami_served_by(first)
        body = self.type(WHOAMI_CURL).stdout
        assert whoami_name(body) == first[0]["metadata"]["name"]

        step("6.1 deleted pods are replaced at once")
        out = self.type("kubectl delete pods -l app=whoami-web").stdout
        assert f'pod "{first[0]["metadata"]["name"]}" deleted' in out
        second = wait_pods(k, "app=whoami-web", 1, not_named=names(first), what="a replacement pod")
        self.wait_whoami_served_by(second)
        assert whoami_name(self.type(WHOAMI_CURL).stdout) == second[0]["metadata"]["name"]

        wait_for(lambda: all(f"Created pod: {n}" in k("describe", "rs", "whoami-web") for n in names(first + second)),
                 timeout=20, what="the ReplicaSet's SuccessfulCreate events")
        out = self.type("kubectl describe rs whoami-web").stdout
        assert re.search(r"Replicas:\s+1 current / 1 desired", out), out
        assert re.search(r"Pods Status:\s+1 Running / 0 Waiting / 0 Succeeded / 0 Failed", out), out
        for pod in first + second:
            assert re.search(r"Normal\s+SuccessfulCreate\s+.*replicaset-controller\s+Created pod: "
                             + re.escape(pod["metadata"]["name"]), out), out

        step("6.1 three replicas; deleted pods are replaced; requests are balanced across the pods")
        out = self.type("kubectl apply -f whoami/update/whoami-replicas-3.yaml").stdout
        assert "replicaset.apps/whoami-web configured" in out
        three = wait_pods(k, "app=whoami-web", 3)
        assert names(second)[0] in names(three), "scaling up keeps the pod that was running"
        rows = table(self.type("kubectl get pods -l app=whoami-web").stdout)
        assert sorted(r["NAME"] for r in rows) == names(three)
        assert all(r["READY"] == "1/1" and r["STATUS"] == "Running" for r in rows), rows

        out = self.type("kubectl delete pods -l app=whoami-web").stdout
        assert all(f'pod "{n}" deleted' in out for n in names(three)), out
        replaced = wait_pods(k, "app=whoami-web", 3, not_named=names(three), what="three replacement pods")
        rows = table(self.type("kubectl get pods -l app=whoami-web").stdout)
        assert sorted(r["NAME"] for r in rows) == names(replaced)
        assert all(r["STATUS"] == "Running" for r in rows), rows
        self.whoami_pods = replaced

        self.wait_whoami_served_by(replaced)
        seen = [whoami_name(self.type(WHOAMI_CURL).stdout)]
        for _ in range(11):
            seen.append(whoami_name(self.reader.again(WHOAMI_CURL).stdout))
        print(f"answered by: {seen}")
        assert set(seen) <= set(names(replaced)), seen
        assert len(set(seen)) >= 2, f"twelve requests through the load balancer all reached {seen[0]}"
        # Spreading a ReplicaSet's pods over the nodes is a scheduler preference, not a promise
        # (in Kubernetes too), so where they run is shown, not checked.
        print("whoami-web pods on nodes:", sorted(p["spec"]["nodeName"] for p in replaced))

    def services_inside_the_cluster(self):
        k = self.k
        step("6.1 a ClusterIP is reachable inside the cluster by DNS name, and balanced too")
        out = self.type("kubectl apply -f sleep.yaml").stdout
        assert "deployment.apps/sleep created" in out
        wait_pods(k, "app=sleep", 1)

        rows = table(self.type("kubectl get svc whoami-web").stdout)
        assert len(rows) == 1
        row = rows[0]
        assert (row["NAME"], row["TYPE"], row["CLUSTER-IP"], row["EXTERNAL-IP"]) == (
            "whoami-web", "LoadBalancer", self.cluster_ips["whoami-web"], "localhost"), row
        assert re.fullmatch(r"8088:3\d{4}/TCP", row["PORT(S)"]), row

        nslookup = "kubectl exec deploy/sleep -- sh -c 'nslookup whoami-web | grep \"^[^*]\"'"
        ip = self.cluster_ips["whoami-web"]
        tries = []

        def resolved():
            tries.append(self.reader.shell(nslookup))
            return ip in tries[-1].stdout
        try:
            wait_for(resolved, timeout=SERVICE_READY, what="cluster DNS answering whoami-web")
        except AssertionError as e:
            raise AssertionError(f"{e}; the last try said: {tries[-1].stdout}{tries[-1].stderr}") from None
        out = self.type(nslookup).stdout
        assert re.search(r"^Server:\s+10\.43\.0\.10$", out, re.M), out
        assert re.search(r"^Name:\s+whoami-web\.default\.svc\.cluster\.local$", out, re.M), out
        assert re.search(rf"^Address:\s+{re.escape(ip)}$", out, re.M), out

        loop = "kubectl exec deploy/sleep -- sh -c 'for i in 1 2 3; do curl -w \\\\n -s http://whoami-web:8088; done;'"
        current = set(names(self.whoami_pods))
        seen = []
        for attempt in range(6):
            out = (self.type(loop) if attempt == 0 else self.reader.again(loop)).stdout
            lines = out.splitlines()
            assert len(lines) == 3, f"three answers expected: {out!r}"
            seen += [whoami_name(line) for line in lines]
            if len(set(seen)) >= 2:
                break
        assert set(seen) <= current, seen
        assert len(set(seen)) >= 2, f"requests to the ClusterIP all reached {seen[0]}"

    # 6.2 ---------------------------------------------------------------------------------------

    def pi_replicasets(self) -> dict:
        return {rs["metadata"]["name"]: rs for rs in items(self.k, "rs", "-l", "app=pi-web")}

    def wait_rollout(self, active: str, replicas: int) -> dict:
        """The Deployment has `replicas` ready pods, all of ReplicaSet `active`; every other
        ReplicaSet is scaled to 0 and its pods are gone."""
        def done():
            sets = self.pi_replicasets()
            rs = sets.get(active)
            if not rs or rs["spec"]["replicas"] != replicas or rs["status"].get("readyReplicas", 0) != replicas:
                return None
            others = [s for n, s in sets.items() if n != active]
            if any(s["spec"]["replicas"] != 0 or s["status"].get("replicas", 0) != 0 for s in others):
                return None
            pods = items(self.k, "pods", "-l", "app=pi-web")
            if len(pods) != replicas or not all(is_ready(p) and p["metadata"]["name"].startswith(active + "-") for p in pods):
                return None
            return sets
        return wait_for(done, timeout=POD_START, what=f"pi-web rolled out to {replicas} pods of {active}")

    def rs_rows(self, command):
        return {r["NAME"]: (r["DESIRED"], r["CURRENT"], r["READY"]) for r in table(self.type(command).stdout)}

    def deployment_and_replicasets(self):
        k = self.k
        get_rs = "kubectl get rs -l app=pi-web"
        step("6.2 a Deployment with two replicas: one ReplicaSet")
        out = self.type("kubectl apply -f pi/web/").stdout
        assert "deployment.apps/pi-web created" in out and "service/pi-web created" in out
        original = wait_for(lambda: (lambda s: next(iter(s)) if len(s) == 1 else None)(self.pi_replicasets()),
                            timeout=20, what="pi-web's ReplicaSet")
        self.wait_rollout(original, 2)
        assert self.rs_rows(get_rs) == {original: ("2", "2", "2")}
        pods = items(k, "pods", "-l", "app=pi-web")
        template_hash = pods[0]["metadata"]["labels"]["pod-template-hash"]
        assert original == f"pi-web-{template_hash}", "the ReplicaSet is named after its pod template's hash"
        assert all(p["metadata"]["name"].startswith(original + "-") for p in pods)

        step("6.2 only replicas changed: the same ReplicaSet scales")
        assert "deployment.apps/pi-web configured" in self.type("kubectl apply -f pi/web/update/web-replicas-3.yaml").stdout
        self.wait_rollout(original, 3)
        assert self.rs_rows(get_rs) == {original: ("3", "3", "3")}

        step("6.2 the pod template changed: a new ReplicaSet, the old one scaled to 0")
        assert "deployment.apps/pi-web configured" in self.type("kubectl apply -f pi/web/update/web-logging-level.yaml").stdout
        updated = wait_for(lambda: next((n for n in self.pi_replicasets() if n != original), None),
                           timeout=20, what="a second ReplicaSet")
        sets = self.wait_rollout(updated, 3)
        env = sets[updated]["spec"]["template"]["spec"]["containers"][0].get("env", [])
        assert {"name": "Logging__LogLevel__Default", "value": "Debug"} in env
        assert self.rs_rows(get_rs) == {original: ("0", "0", "0"), updated: ("3", "3", "3")}

        step("6.2 kubectl scale acts at once; applying the YAML again puts its replicas back")
        assert "deployment.apps/pi-web scaled" in self.type("kubectl scale --replicas=4 deploy/pi-web").stdout
        self.wait_rollout(updated, 4)
        assert self.rs_rows(get_rs) == {original: ("0", "0", "0"), updated: ("4", "4", "4")}

        # web-replicas-3.yaml also returns the template to web.yaml's: the first ReplicaSet is reused.
        assert "deployment.apps/pi-web configured" in self.type("kubectl apply -f pi/web/update/web-replicas-3.yaml").stdout
        self.wait_rollout(original, 3)
        rows = self.rs_rows(get_rs)
        assert rows == {original: ("3", "3", "3"), updated: ("0", "0", "0")}, "no third ReplicaSet, the first one reused"
        pod_rows = table(self.type("kubectl get pods -l app=pi-web").stdout)
        assert len(pod_rows) == 3 and all(r["NAME"].startswith(original + "-") and r["STATUS"] == "Running"
                                          for r in pod_rows), pod_rows
        self.pi_web_sets = (original, updated)
        self.cluster_ips["pi-web"] = json.loads(k("get", "svc", "pi-web", "-o", "json"))["spec"]["clusterIP"]

    def proxy_in_front(self):
        k = self.k
        step("6.2 an nginx proxy with a cache in front of the pi app, on a LoadBalancer at 8080")
        out = self.type("kubectl apply -f pi/proxy/").stdout
        for created in ("configmap/pi-proxy-configmap created", "deployment.apps/pi-proxy created",
                        "service/pi-proxy created"):
            assert created in out, out
        proxies = wait_pods(k, "app=pi-proxy", 2)
        self.cluster_ips["pi-proxy"] = json.loads(k("get", "svc", "pi-proxy", "-o", "json"))["spec"]["clusterIP"]
        wait_endpoints(k, "pi-proxy", proxies)
        # Any other page warms the path without putting ?dp=10000 in a cache.
        wait_for(lambda: answers("http://localhost:8080/?dp=5"), timeout=SERVICE_READY,
                 what="http://localhost:8080 answering through the proxy")

        # The chapter prints the URL from whoami-web's status: both Services are on localhost.
        url = self.type("kubectl get svc whoami-web -o jsonpath='http://{.status.loadBalancer.ingress[0].*}:8080/?dp=10000'").stdout
        assert url == "http://localhost:8080/?dp=10000", url
        # Each proxy pod has its own cache: per pod, the first answer is a MISS and later ones HITs.
        caches = {}
        for _ in range(20):
            p = self.reader.shell(f"curl -s -i '{url}'")
            assert p.returncode == 0, p.stderr
            head, _, body = p.stdout.partition("\n\n")  # text mode has turned CRLF into LF
            assert head.startswith("HTTP/1.1 200"), head
            headers = {name.strip(): value.strip() for name, _, value in
                       (line.partition(":") for line in head.splitlines()[1:])}
            assert "To: 10,000 d.p." in body and "3.14159265358979323846" in body, body[:300]
            print(f"X-Host {headers.get('X-Host')}: X-Cache {headers.get('X-Cache')}")
            caches.setdefault(headers.get("X-Host"), []).append(headers.get("X-Cache"))
            if any("HIT" in seq for seq in caches.values()):
                break
        assert set(caches) <= set(names(proxies)), f"X-Host names no proxy pod: {caches}"
        for host, seq in caches.items():
            assert seq[0] == "MISS" and all(s == "HIT" for s in seq[1:]), f"{host}: {seq}"
        assert any("HIT" in seq for seq in caches.values()), f"no cache hit in 20 requests: {caches}"

        out = self.type("kubectl logs -l app=pi-proxy --tail 1").stdout
        lines = out.splitlines()
        assert 1 <= len(lines) <= 2, out
        assert any('"GET /?dp=10000 HTTP/1.1" 200' in line for line in lines), out

    # 6.3 ---------------------------------------------------------------------------------------

    def ds_pods_by_node(self, pods):
        owned = [p for p in pods if p["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"]
        return {p["spec"]["nodeName"]: p for p in owned}

    def ds_row(self, command):
        rows = table(self.type(command).stdout)
        assert len(rows) == 1 and rows[0]["NAME"] == "pi-proxy", rows
        row = rows[0]
        return tuple(row[c] for c in ("DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR"))

    def wait_ds_status(self, count):
        def settled():
            ds = json.loads(self.k("get", "ds", "pi-proxy", "-o", "json"))
            s = ds.get("status", {})
            return (s.get("observedGeneration") == ds["metadata"]["generation"] and s.get("desiredNumberScheduled") == count
                    and s.get("currentNumberScheduled") == count and s.get("numberReady") == count
                    and s.get("updatedNumberScheduled", 0) == count and s.get("numberAvailable", 0) == count)
        wait_for(settled, timeout=POD_START, what=f"DaemonSet pi-proxy status at {count}")

    def daemonset_takes_over(self):
        k = self.k
        n = len(self.nodes)
        step("6.3 a DaemonSet takes over from the Deployment without a failed request")
        deployment_pods = live_pods(k, "app=pi-proxy")
        loop = RequestLoop()
        loop.start()
        try:
            loop.mark("applying nginx-ds.yaml")
            assert "daemonset.apps/pi-proxy created" in self.type("kubectl apply -f pi/proxy/daemonset/nginx-ds.yaml").stdout
            both = wait_pods(k, "app=pi-proxy", 2 + n)
            loop.mark("the DaemonSet's pods ready")
            ds_pods = self.ds_pods_by_node(both)
            assert set(ds_pods) == set(self.nodes), f"one DaemonSet pod per node: {sorted(ds_pods)}"
            wait_endpoints(k, "pi-proxy", both)
            loop.mark("the endpoints holding both sets of pods")

            out = self.type("kubectl get endpoints pi-proxy").stdout
            row = table(out)[0]
            shown = re.findall(r"(\d+\.\d+\.\d+\.\d+):80", row["ENDPOINTS"])
            assert set(shown) <= {p["status"]["podIP"] for p in both} and len(shown) == min(3, 2 + n), row
            if 2 + n > 3:
                assert row["ENDPOINTS"].endswith(f"+ {2 + n - 3} more..."), row

            loop.mark("deleting the Deployment")
            assert 'deployment.apps "pi-proxy" deleted' in self.type("kubectl delete deploy pi-proxy").stdout
            remaining = wait_pods(k, "app=pi-proxy", n, not_named=names(deployment_pods),
                                  what="only the DaemonSet's pods")
            loop.mark("the Deployment's pods gone")
            wait_endpoints(k, "pi-proxy", remaining)
            loop.mark("the endpoints holding only the DaemonSet's pods")
            settled_at = time.monotonic()
            time.sleep(3)
        finally:
            loop.stop()
        print(f"{len(loop.results)} requests during the takeover, failures: {loop.failures()}")
        assert len(loop.results) >= 20, "the request loop hardly ran"
        assert not loop.failures(), f"requests failed while the DaemonSet took over: {loop.failures()}"
        served = loop.hosts_since(settled_at)
        assert served <= set(names(remaining)), served
        if n > 1:
            # Answered by the nginx of every node (X-Host is the pod's host name).
            assert served == set(names(remaining)), f"answers after the takeover came from {served} only"

        ready = ("{0}".format(n),) * 5 + ("<none>",)
        assert self.ds_row("kubectl get daemonset pi-proxy") == ready
        rows = table(self.type("kubectl get po -l app=pi-proxy").stdout)
        assert sorted(r["NAME"] for r in rows) == names(remaining) and all(r["STATUS"] == "Running" for r in rows)

        step("6.3 a deleted DaemonSet pod is replaced")
        assert self.ds_row("kubectl get ds pi-proxy") == ready
        out = self.type("kubectl delete po -l app=pi-proxy").stdout
        assert all(f'pod "{p}" deleted' in out for p in names(remaining)), out
        replaced = wait_pods(k, "app=pi-proxy", n, not_named=names(remaining), what="replacement DaemonSet pods")
        assert set(self.ds_pods_by_node(replaced)) == set(self.nodes)
        rows = table(self.type("kubectl get po -l app=pi-proxy").stdout)
        assert sorted(r["NAME"] for r in rows) == names(replaced)

    def daemonset_node_selector_and_adoption(self):
        k = self.k
        get_po = "kubectl get po -l app=pi-proxy"
        apply_selector = "kubectl apply -f pi/proxy/daemonset/nginx-ds-nodeSelector.yaml"
        step("6.3 a nodeSelector no node matches removes the pods; labelling a node brings one back")
        assert "daemonset.apps/pi-proxy configured" in self.type(apply_selector).stdout
        wait_no_pods(k, "app=pi-proxy")
        self.wait_ds_status(0)
        assert self.ds_row("kubectl get ds pi-proxy") == ("0",) * 5 + ("kiamol=ch06",)
        p = self.type(get_po)
        assert p.stdout == "" and "No resources found in default namespace." in p.stderr

        first_node = items(k, "nodes")[0]["metadata"]["name"]
        assert first_node in self.nodes
        out = self.type("kubectl label node $(kubectl get nodes -o jsonpath='{.items[0].metadata.name}') kiamol=ch06 --overwrite").stdout
        assert f"node/{first_node} labeled" in out, out
        labelled = wait_pods(k, "app=pi-proxy", 1)
        assert labelled[0]["spec"]["nodeName"] == first_node
        self.wait_ds_status(1)
        assert self.ds_row("kubectl get ds pi-proxy") == ("1",) * 5 + ("kiamol=ch06",)

        step("6.3 --cascade=false deletes only the DaemonSet; a new one adopts its pod")
        old_uid = json.loads(k("get", "ds", "pi-proxy", "-o", "json"))["metadata"]["uid"]
        p = self.type("kubectl delete ds pi-proxy --cascade=false")
        assert 'daemonset.apps "pi-proxy" deleted' in p.stdout
        wait_for(lambda: not items(k, "ds"), timeout=20, what="the DaemonSet gone")
        orphan = wait_for(lambda: (lambda pods: pods[0] if len(pods) == 1 and not pods[0]["metadata"].get(
            "ownerReferences") else None)(live_pods(k, "app=pi-proxy")), timeout=20, what="the pod orphaned")
        assert orphan["metadata"]["name"] == labelled[0]["metadata"]["name"] and is_ready(orphan)
        rows = table(self.type(get_po).stdout)
        assert [(r["NAME"], r["STATUS"]) for r in rows] == [(orphan["metadata"]["name"], "Running")]

        assert "daemonset.apps/pi-proxy created" in self.type(apply_selector).stdout
        new_uid = json.loads(k("get", "ds", "pi-proxy", "-o", "json"))["metadata"]["uid"]
        assert new_uid != old_uid
        adopted = wait_for(lambda: (lambda pods: pods[0] if len(pods) == 1 and [
            (o["kind"], o["name"], o["uid"], o.get("controller")) for o in pods[0]["metadata"].get("ownerReferences", [])
        ] == [("DaemonSet", "pi-proxy", new_uid, True)] else None)(live_pods(k, "app=pi-proxy")),
            timeout=30, what="the pod adopted by the new DaemonSet")
        assert adopted["metadata"]["uid"] == orphan["metadata"]["uid"], "the running pod is kept, not replaced"
        self.wait_ds_status(1)
        assert self.ds_row("kubectl get ds pi-proxy") == ("1",) * 5 + ("kiamol=ch06",)
        rows = table(self.type(get_po).stdout)
        assert [(r["NAME"], r["STATUS"], r["RESTARTS"]) for r in rows] == [(orphan["metadata"]["name"], "Running", "0")]

        assert 'daemonset.apps "pi-proxy" deleted' in self.type("kubectl delete ds pi-proxy").stdout
        wait_no_pods(k, "app=pi-proxy")
        p = self.type(get_po)
        assert p.stdout == "" and "No resources found in default namespace." in p.stderr

    # 6.4 ---------------------------------------------------------------------------------------

    def ownership_and_garbage_collection(self):
        k = self.k
        step("6.4 pods are owned by ReplicaSets, ReplicaSets by Deployments")
        original, updated = self.pi_web_sets
        sleep_rs = next(rs["metadata"]["name"] for rs in items(k, "rs", "-l", "app=sleep"))
        rows = table(self.type("kubectl get po -o custom-columns=NAME:'{.metadata.name}',OWNER:'{.metadata.ownerReferences[0].name}',OWNER_KIND:'{.metadata.ownerReferences[0].kind}'").stdout)
        owners = sorted((r["OWNER"], r["OWNER_KIND"]) for r in rows)
        assert owners == sorted([("whoami-web", "ReplicaSet")] * 3 + [(sleep_rs, "ReplicaSet")] + [(original, "ReplicaSet")] * 3), rows
        assert all(r["NAME"].startswith(r["OWNER"] + "-") for r in rows), rows

        rows = table(self.type("kubectl get rs -o custom-columns=NAME:'{.metadata.name}',OWNER:'{.metadata.ownerReferences[0].name}',OWNER_KIND:'{.metadata.ownerReferences[0].kind}'").stdout)
        assert sorted((r["NAME"], r["OWNER"], r["OWNER_KIND"]) for r in rows) == sorted([
            ("whoami-web", "<none>", "<none>"), (sleep_rs, "sleep", "Deployment"),
            (original, "pi-web", "Deployment"), (updated, "pi-web", "Deployment")]), rows

        step("6.4 deleting everything labelled kiamol=ch06; the garbage collector removes what they owned")
        out = self.type("kubectl delete all -l kiamol=ch06").stdout
        for deleted in ('service "whoami-web" deleted', 'service "pi-web" deleted', 'service "pi-proxy" deleted',
                        'deployment.apps "sleep" deleted', 'deployment.apps "pi-web" deleted',
                        'replicaset.apps "whoami-web" deleted'):
            assert deleted in out, out
        wait_for(lambda: not items(k, "pods"), timeout=GONE, what="every pod of the chapter gone")
        for kind in ("replicasets", "deployments", "daemonsets"):
            assert items(k, kind) == [], f"{kind} left"
        assert names(items(k, "services")) == ["kubernetes"]
        # ConfigMaps are not in the "all" category, in Kubernetes as here: the chapter's stays.
        assert names(items(k, "configmaps", "-l", "kiamol=ch06")) == ["pi-proxy-configmap"]


# --- what the machine must not keep -------------------------------------------------------------

def node_tables(bridges) -> str:
    """The nftables rules of these nodes' service proxies (table `swiftlet-<bridge>` each); other
    clusters on the machine may use the same Service addresses in tables of their own."""
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout.splitlines()
    wanted = {f"swiftlet-{bridge}" for bridge in bridges}
    return "".join(subprocess.run(["nft", "list", *line.split()], capture_output=True, text=True).stdout
                   for line in tables if line.split()[-1] in wanted)


def expect_nothing_left_on_the_machine(nodes: dict, cluster_ips: dict):
    """No container, pod network namespace, Service rule or load balancer port of the chapter
    stays on the machine once its objects are deleted. `nodes` maps node name to bridge."""
    def leftovers():
        found = []
        netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        found += [f"netns {line.split()[0]}" for line in netns.splitlines()
                  if any(line.startswith(bridge + "-") for bridge in nodes.values())]
        for node in nodes:
            listed = subprocess.run(["runc", "--root", f"/run/swiftlet/{node}/runc", "list", "-q"],
                                    capture_output=True, text=True).stdout
            found += [f"container {c} on {node}" for c in listed.split()]
        rules = node_tables(nodes.values())
        found += [f"nft rules for {name} ({ip})" for name, ip in cluster_ips.items()
                  if re.search(rf"\b{re.escape(ip)}\b", rules)]
        found += [f"127.0.0.1:{port} still accepts connections" for port in (8088, 8080) if not refuses(port)]
        return found
    try:
        wait_for(lambda: not leftovers(), timeout=GONE, what="nothing of the chapter left on the machine")
    except AssertionError as e:
        raise AssertionError(f"{e}: {leftovers()}") from None


# --- clusters -------------------------------------------------------------------------------

@pytest.fixture
def volumes_cache():
    """The DaemonSet's hostPath is on this machine's root: removed afterwards if the test made it."""
    existed = {path: path.exists() for path in (DS_CACHE.parent, DS_CACHE)}
    yield
    for path in (DS_CACHE, DS_CACHE.parent):
        if not existed[path]:
            shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def home():
    d = Path(tempfile.mkdtemp(prefix="swiftlet-ch06-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def walk_chapter(server: Server, home: Path, nodes: dict, logs):
    """Runs the whole chapter on a cluster with these nodes (name → bridge, the server's first),
    then checks that nothing of it is left on the machine. `logs` gives the cluster's log tails
    for a failure report."""
    k = Kubectl(kubectl_134(), server, home / "kubectl-cache")
    wait_for(lambda: {n["metadata"]["name"] for n in items(k, "nodes") if any(
        c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))} == set(nodes),
             timeout=60, what=f"nodes {sorted(nodes)} Ready")
    chapter = Chapter(Reader(server, home), k, list(nodes))
    try:
        chapter.walk()
        expect_nothing_left_on_the_machine(nodes, chapter.cluster_ips)
    except BaseException:
        print("\n--- cluster logs (tails)\n" + logs(), flush=True)
        raise


def expect_nodes_cleaned_up(nodes: dict):
    """After the agents stop and `swiftlet cleanup` ran: no node's nft table, bridge or netns."""
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    bridges = subprocess.run(["ip", "link", "show", "type", "bridge"], capture_output=True, text=True).stdout
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for bridge in nodes.values():
        assert f"swiftlet-{bridge}" not in tables, tables
        assert bridge not in bridges, bridges
        assert bridge + "-" not in netns, netns


def test_chapter_6_on_one_node(home, volumes_cache):
    server = Server(home / "data", agent=True)
    nodes = {server.node_name: server.bridge}
    server.start()
    try:
        walk_chapter(server, home, nodes, server.log)
    finally:
        server.stop()
        server.cleanup()
    expect_nodes_cleaned_up(nodes)


class JoinedAgent:
    """`swiftlet agent` joining the server as a second node on this machine."""

    def __init__(self, server: Server, home: Path):
        self.name = f"e2e-node2-{server.port}"
        self.data_dir = home / "agent2"
        self.log_path = home / "agent2.log"
        self.proc = None
        self.server = server

    def start(self):
        # As on another machine: no copy of the CA, only the server's address and the join token
        # (in the environment, not on the command line), whose CA hash the agent checks.
        token = (self.server.data_dir / "node-token").read_text().strip()
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [swiftlet_bin(), "agent", "--server", self.server.url, "--node-name", self.name, "--data-dir", str(self.data_dir)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=dict(os.environ, SWIFTLET_TOKEN=token))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cleanup(self):
        subprocess.run([swiftlet_bin(), "cleanup", "--data-dir", str(self.data_dir)], check=True,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=120)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


def test_chapter_6_on_two_nodes(home, volumes_cache):
    """Both nodes are on this machine, so each node's DaemonSet pod caches in the same host
    folder (on separate machines each would have its own); everything else is as on two hosts."""
    server = Server(home / "data", agent=True)
    agent = JoinedAgent(server, home)
    nodes = {server.node_name: server.bridge, agent.name: bridge_name(agent.name)}
    server.start()
    try:
        agent.start()
        walk_chapter(server, home, nodes,
                     lambda: f"server:\n{server.log()}\n\nagent {agent.name}:\n{agent.log()}")
    finally:
        agent.stop()
        server.stop()
        agent.cleanup()
        server.cleanup()
    expect_nodes_cleaned_up(nodes)

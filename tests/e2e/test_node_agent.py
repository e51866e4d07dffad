"""The node agent through the real kubectl: pods run as runc containers on this machine,
serve on their pod IPs, log, exec, restart with back-off, obey probes and limits, get their
volumes, survive a restart of the agent, and leave nothing behind."""

import base64
import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import urllib.request

import pytest

from conftest import Kubectl, Server, api, kubectl_binaries, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the node agent needs root")


@pytest.fixture(scope="module")
def cluster(workdir):
    server = Server(workdir / "agent-data", agent=True)
    server.start()
    yield server
    server.stop()
    server.cleanup()
    bridge = subprocess.run(["ip", "link", "show", "type", "bridge"], capture_output=True, text=True).stdout
    assert server.bridge not in bridge, "swiftlet cleanup left the node's bridge"


@pytest.fixture(scope="module")
def k(cluster, workdir):
    return Kubectl(kubectl_binaries()[0][1], cluster, workdir / "cache-agent")


def pod_json(k, name):
    return json.loads(k("get", "pod", name, "-o", "json"))


def wait_running(k, name, timeout=30):
    def check():
        pod = pod_json(k, name)
        statuses = pod["status"].get("containerStatuses", [])
        if pod["status"].get("phase") == "Running" and statuses and all("running" in s["state"] for s in statuses):
            return pod
        return None
    return wait_for(check, timeout=timeout, what=f"pod {name} running")


def pod(name, containers, extra=""):
    return f"""
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels:
    app: {name}
spec:
  terminationGracePeriodSeconds: 2
{extra}
  containers:
{containers}
"""


def test_node_registers_ready_with_machine_capacity(k, cluster):
    node = json.loads(k("get", "node", cluster.node_name, "-o", "json"))
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == cluster.node_name
    assert node["metadata"]["labels"]["kubernetes.io/os"] == "linux"
    assert int(node["status"]["capacity"]["cpu"]) == os.cpu_count()
    assert node["spec"]["podCIDR"].startswith("10.42.")
    lease = wait_for(lambda: json.loads(k("get", "lease", "-n", "kube-node-lease", cluster.node_name, "-o", "json",
                                          check=False) or "null"), timeout=10, what="the node's lease")
    assert lease["spec"]["holderIdentity"] == cluster.node_name


def test_pod_serves_http_on_its_pod_ip_and_names_its_host(k):
    k.apply(pod("whoami", "    - name: web\n      image: kiamol/ch02-whoami"))
    p = wait_running(k, "whoami")
    ip = p["status"]["podIP"]
    assert ip.startswith("10.42.")
    assert p["status"]["containerStatuses"][0]["containerID"].startswith("runc://")
    body = wait_for(lambda: urllib.request.urlopen(f"http://{ip}:80/", timeout=2).read().decode(),
                    timeout=10, what="whoami answering")
    assert "I'm whoami running on Linux" in body
    k("delete", "pod", "whoami", "--wait=true")


def test_logs_and_exec_with_exit_codes(k):
    k.apply(pod("talker", """    - name: main
      image: kiamol/ch03-sleep
      command: ["sh", "-c", "for i in 1 2 3; do echo line $i; done; echo oops >&2; exec sleep 3600"]"""))
    wait_running(k, "talker")
    out = wait_for(lambda: (lambda o: o if "oops" in o else None)(k("logs", "talker")), timeout=10, what="logs")
    assert out.splitlines() == ["line 1", "line 2", "line 3", "oops"]
    assert k("logs", "talker", "--tail", "1").strip() == "oops"
    stamped = k("logs", "talker", "--timestamps", "--tail", "1").strip()
    assert stamped.endswith(" oops") and stamped[:4].isdigit()
    assert k("exec", "talker", "--", "sh", "-c", "echo hi; hostname").split() == ["hi", "talker"]
    result = k.run("exec", "talker", "--", "sh", "-c", "exit 3", check=False)
    assert result.returncode == 3
    assert "command terminated with exit code 3" in result.stderr
    assert k("exec", "talker", "-i", "--", "cat", input="from stdin\n") == "from stdin\n"
    resolv = k("exec", "talker", "--", "cat", "/etc/resolv.conf")
    assert "nameserver 10.43.0.10" in resolv and "search default.svc.cluster.local svc.cluster.local cluster.local" in resolv
    k("delete", "pod", "talker", "--wait=true")


def test_crashing_container_restarts_with_back_off_and_keeps_previous_logs(k):
    k.apply(pod("crasher", """    - name: main
      image: kiamol/ch03-sleep
      command: ["sh", "-c", "echo run at $(date +%s%N); exit 2"]"""))

    def backing_off():
        s = pod_json(k, "crasher")["status"].get("containerStatuses", [{}])[0]
        waiting = s.get("state", {}).get("waiting", {})
        return s if s.get("restartCount", 0) >= 1 and waiting.get("reason") == "CrashLoopBackOff" else None
    s = wait_for(backing_off, timeout=30, what="CrashLoopBackOff")
    assert s["lastState"]["terminated"]["exitCode"] == 2
    assert s["lastState"]["terminated"]["reason"] == "Error"
    assert "back-off 10s restarting failed container=main" in s["state"]["waiting"]["message"]
    assert k("logs", "crasher", "--previous").startswith("run at ")
    events = k("get", "events", "--field-selector", "involvedObject.name=crasher", "-o", "json")
    assert any(e["reason"] == "BackOff" for e in json.loads(events)["items"])
    k("delete", "pod", "crasher", "--wait=true")


def test_failing_liveness_probe_restarts_the_container(k):
    k.apply(pod("unlively", """    - name: main
      image: kiamol/ch03-sleep
      livenessProbe:
        exec:
          command: ["test", "-f", "/tmp/alive"]
        periodSeconds: 1
        failureThreshold: 2"""))
    wait_for(lambda: pod_json(k, "unlively")["status"].get("containerStatuses", [{}])[0].get("restartCount", 0) >= 1,
             timeout=30, what="a restart by the liveness probe")
    events = json.loads(k("get", "events", "--field-selector", "involvedObject.name=unlively", "-o", "json"))["items"]
    assert any(e["reason"] == "Unhealthy" and e["message"].startswith("Liveness probe failed") for e in events)
    assert any(e["reason"] == "Killing" and "failed liveness probe" in e["message"] for e in events)
    k("delete", "pod", "unlively", "--wait=true")


def test_readiness_gates_the_service_endpoints(k):
    k.apply(pod("gated", """    - name: web
      image: kiamol/ch02-whoami
      readinessProbe:
        exec:
          command: ["test", "-f", "/tmp/ready"]
        periodSeconds: 1""") + """
---
apiVersion: v1
kind: Service
metadata:
  name: gated
spec:
  selector:
    app: gated
  ports:
    - port: 80
""")
    wait_running(k, "gated")

    def subset(key):
        ep = json.loads(k("get", "endpoints", "gated", "-o", "json"))
        return [a["ip"] for s in ep.get("subsets", []) for a in s.get(key, [])]
    wait_for(lambda: subset("notReadyAddresses"), timeout=15, what="a not-ready address")
    assert pod_json(k, "gated")["status"]["containerStatuses"][0]["ready"] is False
    k("exec", "gated", "--", "touch", "/tmp/ready")
    wait_for(lambda: subset("addresses"), timeout=15, what="a ready address")
    assert next(c for c in pod_json(k, "gated")["status"]["conditions"] if c["type"] == "Ready")["status"] == "True"
    k("delete", "pod,svc", "gated", "--wait=true")


def test_a_load_balancer_port_taken_on_the_host_is_reported_then_served_once_free(k):
    # A port below the ephemeral range, held by a process outside the cluster (this test).
    port = free_low_port()
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("0.0.0.0", port))
    holder.listen(8)
    holder.settimeout(10)
    try:
        k.apply(pod("taken", "    - name: web\n      image: kiamol/ch02-whoami") + f"""
---
apiVersion: v1
kind: Service
metadata:
  name: taken
spec:
  type: LoadBalancer
  selector:
    app: taken
  ports:
    - port: {port}
      targetPort: 80
""")
        wait_running(k, "taken")

        def condition():
            service = json.loads(k("get", "svc", "taken", "-o", "json"))
            return next((c for c in service.get("status", {}).get("conditions", [])
                         if c["type"] == "LoadBalancerPortsAvailable"), None)
        refused = wait_for(lambda: (lambda c: c if c and c["status"] == "False" else None)(condition()),
                           timeout=30, what="LoadBalancerPortsAvailable=False")
        assert refused["reason"] == "PortInUse"
        assert f"port {port}/TCP is already in use on the host by a process outside the cluster" in refused["message"]
        events = wait_for(lambda: json.loads(k("get", "events", "--field-selector",
                                               "involvedObject.name=taken,reason=HostPortInUse", "-o", "json"))["items"],
                          timeout=15, what="a HostPortInUse event")
        assert events[0]["type"] == "Warning" and events[0]["involvedObject"]["kind"] == "Service"
        # The process keeps its port: a connection reaches it, not the Service's pod.
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        accepted, _ = holder.accept()
        accepted.close()
        client.close()

        holder.close()
        served = wait_for(lambda: (lambda c: c if c and c["status"] == "True" else None)(condition()),
                          timeout=30, what="LoadBalancerPortsAvailable=True once the port is free")
        assert served["reason"] == "PortsServed"
        answer = wait_for(lambda: http_get(f"http://127.0.0.1:{port}/"), timeout=15, what="the Service on the freed port")
        assert answer.startswith("I'm taken ")
    finally:
        holder.close()
        k("delete", "pod,svc", "taken", "--wait=true", "--ignore-not-found")


def http_get(url):
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=3) as response:
            return response.read().decode()
    except OSError:
        return None


def test_pre_stop_hook_runs_before_sigterm_and_a_failing_one_is_reported(k, workdir):
    out = workdir / "prestop-out"
    out.mkdir(exist_ok=True)
    log = out / "log"
    volume = f"""  volumes:
    - name: out
      hostPath:
        path: {out}
"""
    k.apply(pod("hooked", """    - name: main
      image: kiamol/ch03-sleep
      command: ["sh", "-c", "trap 'echo term >> /out/log; exit 0' TERM; while true; do sleep 0.2; done"]
      volumeMounts:
        - name: out
          mountPath: /out
      lifecycle:
        preStop:
          exec:
            command: ["sh", "-c", "echo prestop >> /out/log; sleep 1"]""", extra=volume))
    wait_running(k, "hooked")
    k("delete", "pod", "hooked", "--wait=true")
    # The hook ran to its end before the container got SIGTERM.
    assert log.read_text() == "prestop\nterm\n"

    k.apply(pod("badhook", """    - name: main
      image: kiamol/ch03-sleep
      command: ["sleep", "600"]
      lifecycle:
        preStop:
          exec:
            command: ["false"]"""))
    wait_running(k, "badhook")
    k("delete", "pod", "badhook", "--wait=false")
    event = wait_for(lambda: json.loads(k("get", "events", "--field-selector",
                                          "involvedObject.name=badhook,reason=FailedPreStopHook", "-o", "json"))["items"],
                     timeout=30, what="a FailedPreStopHook event")[0]
    assert event["type"] == "Warning" and event["message"] == "PreStopHook failed"
    wait_for(lambda: "NotFound" in k.run("get", "pod", "badhook", check=False).stderr, timeout=30, what="badhook gone")


def test_attach_streams_new_output_on_each_stream_until_the_container_ends(k):
    k.apply(pod("chatty", """    - name: main
      image: kiamol/ch03-sleep
      command: ["sh", "-c", "echo before; sleep 6; for i in 1 2 3; do echo out-$i; echo err-$i >&2; sleep 0.3; done"]""",
                extra="  restartPolicy: Never"))
    wait_running(k, "chatty")
    wait_for(lambda: "before" in k("logs", "chatty"), timeout=10, what="the first line in the log")
    attached = k.run("attach", "chatty", "-c", "main", timeout=30)
    # Only what came after the attach, each stream on its own, and kubectl returns when the container ends.
    assert attached.stdout.split() == ["out-1", "out-2", "out-3"]
    assert [line for line in attached.stderr.split() if line.startswith("err-")] == ["err-1", "err-2", "err-3"]
    failed = k.run("attach", "chatty", check=False)
    assert failed.returncode != 0
    k("delete", "pod", "chatty", "--wait=true")


def test_a_host_network_pod_shares_the_nodes_network_and_host_name(k, cluster):
    port = free_low_port()
    k.apply(pod("onhost", f"""    - name: main
      image: kiamol/ch03-sleep
      command: ["sh", "-c", "mkdir -p /tmp/site && echo served-on-the-node > /tmp/site/index.html && exec httpd -f -p 127.0.0.1:{port} -h /tmp/site"]""", extra="  hostNetwork: true"))
    status = wait_running(k, "onhost")["status"]
    node = json.loads(k("get", "node", "-o", "json"))["items"][0]
    node_ip = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
    assert status["podIP"] == status["hostIP"] == node_ip
    assert status["podIPs"] == [{"ip": node_ip}]
    # A server on the node's loopback inside the pod answers the node itself.
    assert "served-on-the-node" in wait_for(lambda: http_get(f"http://127.0.0.1:{port}/"), timeout=15,
                                            what="the pod's server on the node's loopback")
    # The node's interfaces (the agent's bridge among them) and its host name.
    assert cluster.bridge in k("exec", "onhost", "--", "ls", "/sys/class/net").split()
    assert k("exec", "onhost", "--", "hostname").strip() == socket.gethostname()
    k("delete", "pod", "onhost", "--wait=true")


def free_low_port():
    """A TCP port below the ephemeral range that nothing holds now."""
    for port in random.sample(range(20000, 30000), 100):
        with socket.socket() as probe:
            try:
                probe.bind(("0.0.0.0", port))
                return port
            except OSError:
                continue
    raise AssertionError("no free port between 20000 and 30000")


def port_forward(k, *args):
    return subprocess.Popen([k.binary, "--kubeconfig", k.server.kubeconfig, "--cache-dir", str(k.cache_dir),
                             "port-forward", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_port_forward_carries_bytes_both_ways_and_reports_a_closed_port(k):
    # The digest server answers once its client has half-closed: md5sum reads to end of input.
    k.apply(pod("forwarded", """    - name: web
      image: kiamol/ch02-whoami
    - name: digest
      image: kiamol/ch03-sleep
      command: ["nc", "-ll", "-p", "9000", "-e", "md5sum"]"""))
    wait_running(k, "forwarded")
    ports = set()
    while len(ports) < 3:
        ports.add(free_low_port())
    web, digest, closed = sorted(ports)
    forwarding = port_forward(k, "pod/forwarded", f"{web}:80", f"{digest}:9000")
    try:
        answer = wait_for(lambda: http_get(f"http://127.0.0.1:{web}/"), timeout=30, what="whoami through port-forward")
        assert answer.startswith("I'm forwarded ")
        # 3 MB up, the client's half-close passed on (the server answers only at the end of its input), and the
        # pod's answer back.
        blob = os.urandom(3_000_000)
        with socket.create_connection(("127.0.0.1", digest), timeout=30) as client:
            client.sendall(blob)
            client.shutdown(socket.SHUT_WR)
            reply = b""
            while chunk := client.recv(65536):
                reply += chunk
        assert reply.decode().split()[0] == hashlib.md5(blob).hexdigest()
    finally:
        forwarding.terminate()
        forwarding.wait(timeout=10)

    failing = port_forward(k, "pod/forwarded", f"{closed}:81")
    try:
        def connect_once():
            try:
                with socket.create_connection(("127.0.0.1", closed), timeout=5) as client:
                    client.recv(1)
                return True
            except OSError:
                return False
        wait_for(connect_once, timeout=30, what="kubectl listening")
        failing.wait(timeout=30)
        stderr = failing.stderr.read()
        assert "failed to connect to localhost:81 inside the pod's network namespace" in stderr
        assert "connection refused" in stderr
    finally:
        if failing.poll() is None:
            failing.kill()
    k("delete", "pod", "forwarded", "--wait=true")


def test_memory_limit_oom_kills(k):
    k.apply(pod("hog", """    - name: main
      image: kiamol/ch03-sleep
      command: ["dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"]
      resources:
        limits:
          memory: 48Mi""", extra="  restartPolicy: Never"))

    def oom():
        s = pod_json(k, "hog")["status"].get("containerStatuses", [{}])[0]
        return s.get("state", {}).get("terminated")
    terminated = wait_for(oom, timeout=30, what="the container ended")
    assert terminated["reason"] == "OOMKilled"
    assert terminated["exitCode"] == 137
    assert pod_json(k, "hog")["status"]["phase"] == "Failed"
    k("delete", "pod", "hog", "--wait=true")


def test_configmap_files_appear_and_update_and_emptydir_is_shared(k):
    k.apply("""
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  greeting: hello
""" + "---" + pod("volumes", """    - name: writer
      image: kiamol/ch03-sleep
      command: ["sh", "-c", "echo shared > /scratch/note; exec sleep 3600"]
      volumeMounts:
        - {name: scratch, mountPath: /scratch}
        - {name: config, mountPath: /config}
    - name: reader
      image: kiamol/ch03-sleep
      volumeMounts:
        - {name: scratch, mountPath: /data}""", extra="""  volumes:
    - name: scratch
      emptyDir: {}
    - name: config
      configMap:
        name: settings"""))
    wait_running(k, "volumes")
    assert k("exec", "volumes", "-c", "writer", "--", "cat", "/config/greeting") == "hello"
    wait_for(lambda: k("exec", "volumes", "-c", "reader", "--", "cat", "/data/note", check=False).strip() == "shared",
             timeout=10, what="the emptyDir shared")
    k("patch", "configmap", "settings", "-p", '{"data":{"greeting":"bonjour"}}')
    wait_for(lambda: k("exec", "volumes", "-c", "writer", "--", "cat", "/config/greeting") == "bonjour",
             timeout=20, what="the configMap update in the running pod")
    k("delete", "pod", "volumes", "--wait=true")
    k("delete", "configmap", "settings")


SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
# What an in-cluster client does: the mounted CA verifies the server as kubernetes.default.svc,
# the mounted token authenticates. Prints the HTTP status, then the body.
IN_CLUSTER_LIST_PODS = (f'curl -s -w "\\n%{{http_code}}" --cacert {SERVICE_ACCOUNT_DIR}/ca.crt '
                        f'-H "Authorization: Bearer $(cat {SERVICE_ACCOUNT_DIR}/token)" '
                        f'https://kubernetes.default.svc/api/v1/namespaces/$(cat {SERVICE_ACCOUNT_DIR}/namespace)/pods')


def test_a_pods_mounted_token_reaches_the_api_through_kubernetes_default_svc_as_rbac_allows(k, cluster):
    k("create", "namespace", "insiders")
    # Made right behind its namespace: the pod waits for the namespace's default ServiceAccount.
    k("run", "client", "-n", "insiders", "--image=kiamol/ch03-sleep", "--overrides",
      '{"spec": {"terminationGracePeriodSeconds": 1}}')
    k("run", "tokenless", "-n", "insiders", "--image=kiamol/ch03-sleep", "--overrides",
      '{"spec": {"terminationGracePeriodSeconds": 1, "automountServiceAccountToken": false}}')
    for name in ["client", "tokenless"]:
        wait_for(lambda: k("get", "pod", name, "-n", "insiders", "-o", "jsonpath={.status.phase}") == "Running",
                 timeout=30, what=f"pod {name} running")

    def in_pod(script, pod="client"):
        return k("exec", pod, "-n", "insiders", "--", "sh", "-c", script)

    env = dict(line.split("=", 1) for line in in_pod("env").splitlines() if "=" in line)
    assert env["KUBERNETES_SERVICE_HOST"] == "10.43.0.1" and env["KUBERNETES_SERVICE_PORT"] == "443"
    assert in_pod(f"cat {SERVICE_ACCOUNT_DIR}/namespace") == "insiders"
    token = in_pod(f"cat {SERVICE_ACCOUNT_DIR}/token")
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["sub"] == "system:serviceaccount:insiders:default"
    assert claims["kubernetes.io"]["pod"]["name"] == "client"
    assert claims["exp"] - claims["iat"] == 3607
    assert in_pod(f"ls {SERVICE_ACCOUNT_DIR} 2>&1 || true", pod="tokenless").strip().endswith("No such file or directory")

    *body, status = in_pod(IN_CLUSTER_LIST_PODS).split("\n")
    assert status == "403", body
    assert json.loads("\n".join(body))["message"] == ('pods is forbidden: User "system:serviceaccount:insiders:default" '
                                                      'cannot list resource "pods" in API group "" in the namespace "insiders"')

    k("create", "rolebinding", "default-view", "--clusterrole=view", "--serviceaccount=insiders:default", "-n", "insiders")
    listed = wait_for(lambda: (lambda lines: lines if lines[-1] == "200" else None)(in_pod(IN_CLUSTER_LIST_PODS).split("\n")),
                      timeout=10, what="the pod's token to list pods once bound to view")
    names = [p["metadata"]["name"] for p in json.loads("\n".join(listed[:-1]))["items"]]
    assert sorted(names) == ["client", "tokenless"]
    # view reads; it does not write.
    deleted = in_pod(IN_CLUSTER_LIST_PODS.replace("curl -s", "curl -s -X DELETE") + "/tokenless").split("\n")
    assert deleted[-1] == "403"

    # The token is bound to its pod: it ends with it.
    assert api(cluster, "GET", "/api/v1/namespaces/insiders/pods", token=token)[0] == 200
    k("delete", "pod", "client", "-n", "insiders", "--wait=true")
    assert api(cluster, "GET", "/api/v1/namespaces/insiders/pods", token=token)[0] == 401
    k("delete", "namespace", "insiders", "--wait=true", "--timeout=60s")


def test_unknown_image_reports_image_pull_back_off(k):
    k.apply(pod("nowhere", "    - name: main\n      image: example.invalid/nothing:1.0"))

    def reason():
        s = pod_json(k, "nowhere")["status"].get("containerStatuses", [{}])[0]
        return s.get("state", {}).get("waiting", {}).get("reason")
    assert wait_for(lambda: reason() in ("ErrImagePull", "ImagePullBackOff") and reason(), timeout=15, what="ErrImagePull")
    # As the kubelet: ErrImagePull, a second try 10 s later, then the back-off of 20 s shows.
    wait_for(lambda: reason() == "ImagePullBackOff", timeout=60, what="ImagePullBackOff")
    assert "Pending" == pod_json(k, "nowhere")["status"]["phase"]
    k("delete", "pod", "nowhere", "--wait=true")


def test_restarting_the_server_and_agent_keeps_pods_running(k, cluster):
    k.apply(pod("steady", "    - name: web\n      image: kiamol/ch02-whoami"))
    before = wait_running(k, "steady")["status"]["containerStatuses"][0]
    cluster.stop(sig=signal.SIGKILL)
    cluster.start()
    wait_for(lambda: pod_json(k, "steady")["status"]["containerStatuses"][0].get("ready"), timeout=30, what="ready again")
    after = pod_json(k, "steady")["status"]["containerStatuses"][0]
    assert after["containerID"] == before["containerID"]
    assert after["restartCount"] == before["restartCount"] == 0
    ip = pod_json(k, "steady")["status"]["podIP"]
    assert "I'm steady" in urllib.request.urlopen(f"http://{ip}:80/", timeout=3).read().decode()
    k("delete", "pod", "steady", "--wait=true")


def test_deleted_pods_leave_nothing_behind(k, cluster):
    k.apply(pod("ephemeral", "    - name: web\n      image: kiamol/ch02-whoami"))
    uid = wait_running(k, "ephemeral")["metadata"]["uid"]
    k("delete", "pod", "ephemeral", "--wait=true")
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert uid[:8] not in netns
    mounts = open("/proc/self/mountinfo").read()
    assert uid not in mounts
    pods_dir = cluster.data_dir / "agent" / "pods"
    assert not (pods_dir / uid).exists()

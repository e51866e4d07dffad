#!/usr/bin/env python3
"""The service proxy's benchmark: what a Service costs on the data path, and how fast an
endpoint change reaches the node's rules.

Deploys N whoami pods (Deployment `svc-bench` in the namespace `service-bench`) behind a
ClusterIP Service and a LoadBalancer Service, then runs wrk for a fixed time against the pods'
IPs directly, the ClusterIP, and the LoadBalancer's port on 127.0.0.1, and reports requests/s and
p99 latency of each with their ratios to the direct path. Every path is loaded by the same wrk
(one thread per pod, the same connections): on the direct path a wrk script points each thread at
another pod, so the same pods share the same load whichever way it arrives, and the only
difference is the Service in between. The paths take turns, --repeat times, and each figure is
the median of its turns, since this machine's noise is larger than the gap being measured. Then it scales the
Deployment up by one pod, R times, and times each new pod from the EndpointSlice watch event
that first lists it ready to the first `nft list ruleset` that holds its address. Deletes the
namespace at the end. Prints a Markdown table; asserts nothing.

    sudo bench/service-proxy.py [--pods 3] [--duration 10] [--repeat 3] [--connections 15] [--rounds 5] [--close]
    sudo bench/service-proxy.py --kubeconfig /var/lib/swiftlet/kubeconfig.yaml   # a running cluster

Without --kubeconfig it starts `swiftlet server` (node `bench-node`) on a fresh data dir, as
bench/pod-startup.py does, and removes it afterwards; the binary is $SWIFTLET_BIN, else
.build/release/swiftlet, else .build/debug/swiftlet. With --kubeconfig, that file must be a
Swiftlet kubeconfig (bearer token) for an API server on this machine, whose node runs the pods.
Must run as root (nft, and the node agent). Needs wrk: installed with apt-get when missing.
Python 3 standard library only.
"""

import argparse
import base64
import http.client
import importlib.util
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("pod_startup", os.path.join(HERE, "pod-startup.py"))
startup = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(startup)  # the server, API and wait helpers the benchmarks share

NAMESPACE = "service-bench"
NAME = "svc-bench"
LB_NAME = "svc-bench-lb"
IMAGE = "kiamol/ch02-whoami"
IPV4 = re.compile(rb"\b(?:\d{1,3}\.){3}\d{1,3}\b")
RULE_POLL_SECONDS = 0.005


class KubeconfigAPI(startup.API):
    """The benchmarks' API client, with its server, CA and token from a Swiftlet kubeconfig."""

    def __init__(self, path):
        super().__init__(port=None, data_dir=None)
        self.path = path
        self.host = "127.0.0.1"

    def load_credentials(self):
        values = {}
        with open(self.path) as f:
            for line in f:
                key, _, value = line.strip().partition(":")
                if key in ("server", "certificate-authority-data", "token") and key not in values:
                    values[key] = value.strip().strip('"')
        url = urllib.parse.urlsplit(values.get("server", ""))
        if url.scheme != "https" or not values.get("token"):
            sys.exit(f"{self.path}: expected a Swiftlet kubeconfig (an https server and a bearer token)")
        self.host, self.port = url.hostname, url.port or 443
        self.token = values["token"]
        ca = values.get("certificate-authority-data")
        self.context = (ssl.create_default_context(cadata=base64.b64decode(ca).decode()) if ca
                        else ssl._create_unverified_context())

    def connection(self, timeout=30):
        return http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=timeout)


# --- the workload ---------------------------------------------------------------------------

def deployment(replicas):
    labels = {"app": NAME}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": NAME, "labels": labels},
        "spec": {
            "replicas": replicas, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {
                "terminationGracePeriodSeconds": 2,
                "containers": [{"name": "web", "image": IMAGE, "ports": [{"containerPort": 80}]}]}},
        },
    }


def service(name, kind, port):
    return {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
        "spec": {"type": kind, "selector": {"app": NAME}, "ports": [{"port": port, "targetPort": 80}]},
    }


def create(api, path, body):
    status, answer = api.request("POST", path, body)
    if status != 201:
        raise RuntimeError(f"POST {path} answered {status}: {answer}")
    return answer


def ready_pods(api):
    status, listed = api.request("GET", f"/api/v1/namespaces/{NAMESPACE}/pods?labelSelector=app%3D{NAME}")
    if status != 200:
        return []
    return [p for p in listed["items"] if "deletionTimestamp" not in p["metadata"] and any(
        c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))]


def service_field(api, name, *keys):
    status, svc = api.request("GET", f"/api/v1/namespaces/{NAMESPACE}/services/{name}")
    value = svc if status == 200 else None
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else (value[key] if isinstance(value, list) and value else None)
    return value


def answers(url):
    """A direct GET (no proxy from the environment, as wrk uses none)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=2)
    try:
        conn.request("GET", parts.path or "/")
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def deploy(api, pods, lb_port, server):
    create(api, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    create(api, f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments", deployment(pods))
    create(api, f"/api/v1/namespaces/{NAMESPACE}/services", service(NAME, "ClusterIP", 80))
    create(api, f"/api/v1/namespaces/{NAMESPACE}/services", service(LB_NAME, "LoadBalancer", lb_port))
    running = startup.wait_for(lambda: (lambda p: p if len(p) == pods else None)(ready_pods(api)),
                               60 + 2 * pods, f"{pods} pods ready", server)
    cluster_ip = service_field(api, NAME, "spec", "clusterIP")
    startup.wait_for(lambda: service_field(api, LB_NAME, "status", "loadBalancer", "ingress"), 60,
                     "the load balancer's status", server)
    pod_ips = [pod["status"]["podIP"] for pod in running]
    targets = [
        (f"pod IPs (direct, {pods} pod{'s' if pods != 1 else ''})", f"http://{pod_ips[0]}:80/", pod_ips),
        (f"ClusterIP ({pods} endpoint{'s' if pods != 1 else ''})", f"http://{cluster_ip}:80/", None),
        (f"LoadBalancer 127.0.0.1:{lb_port}", f"http://127.0.0.1:{lb_port}/", None),
    ]
    for label, url, _ in targets:
        startup.wait_for(lambda: answers(url), 60, f"{label} answering at {url}", server)
    for ip in pod_ips:
        startup.wait_for(lambda: answers(f"http://{ip}:80/"), 60, f"pod {ip} answering", server)
    return targets


def delete_namespace(api):
    api.request("DELETE", f"/api/v1/namespaces/{NAMESPACE}")
    startup.wait_for(lambda: api.request("GET", f"/api/v1/namespaces/{NAMESPACE}")[0] == 404, 180,
                     f"namespace {NAMESPACE} deleted")


# --- wrk ------------------------------------------------------------------------------------

def ensure_wrk():
    if shutil.which("wrk"):
        return
    print("wrk is missing: apt-get install wrk", file=sys.stderr)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"], check=True, env=env)


def seconds(text):
    """wrk's durations: 812.00us, 1.23ms, 2.00s, 1.00m."""
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[m.group(2)]


# wrk connects each thread to thread.addr: this points thread i at address i (mod their number).
SPREAD_SCRIPT = """
local ips = {%s}
local started = 0
function setup(thread)
   started = started + 1
   thread.addr = wrk.lookup(ips[(started - 1) %% #ips + 1], "80")[1]
end
"""


def run_wrk(url, duration, connections, threads, close, spread_over=None):
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--latency"]
    if close:
        command += ["-H", "Connection: close"]
    script = None
    if spread_over:
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        script.write(SPREAD_SCRIPT % ", ".join(f'"{ip}"' for ip in spread_over))
        script.close()
        command += ["-s", script.name]
    try:
        p = subprocess.run(command + [url], capture_output=True, text=True, timeout=duration + 60)
    finally:
        if script:
            os.unlink(script.name)
    if p.returncode != 0:
        raise RuntimeError(f"wrk failed ({p.returncode}): {p.stderr or p.stdout}")
    out = p.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    if not rps or not p99:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    errors = 0
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        errors += int(non_2xx.group(1))
    return {"rps": float(rps.group(1)), "p99": seconds(p99.group(1)), "errors": errors}


def median_of(runs):
    """The median requests/s and p99 of a path's turns, and all its errors."""
    return {"rps": startup.percentile(sorted(r["rps"] for r in runs), 50),
            "p99": startup.percentile(sorted(r["p99"] for r in runs), 50),
            "errors": sum(r["errors"] for r in runs),
            "turns": [(r["rps"], r["p99"]) for r in runs]}


# --- endpoint change → rules ---------------------------------------------------------------

class SliceWatch(threading.Thread):
    """Watches the namespace's EndpointSlices; records when each address is first listed ready."""

    def __init__(self, api):
        super().__init__(daemon=True)
        self.api = api
        self.ready_at = {}
        self.lock = threading.Lock()
        self.opened = threading.Event()
        self.error = None

    def run(self):
        try:
            conn = self.api.connection(timeout=None)
            conn.request("GET", f"/apis/discovery.k8s.io/v1/namespaces/{NAMESPACE}/endpointslices?watch=1",
                         headers=self.api.headers())
            response = conn.getresponse()
            if response.status != 200:
                raise RuntimeError(f"watch answered {response.status}: {response.read()[:500]!r}")
            self.opened.set()
            while True:
                line = response.readline()
                if not line:
                    raise RuntimeError("the watch stream ended")
                seen = time.monotonic()
                if not line.strip():
                    continue
                event = json.loads(line)
                if event.get("type") not in ("ADDED", "MODIFIED"):
                    continue
                for endpoint in event.get("object", {}).get("endpoints") or []:
                    if endpoint.get("conditions", {}).get("ready"):
                        with self.lock:
                            for address in endpoint.get("addresses", []):
                                self.ready_at.setdefault(address, seen)
        except Exception as error:  # reported by the main thread, which waits on the results
            self.error = error
            self.opened.set()

    def addresses(self):
        with self.lock:
            return dict(self.ready_at)


class RulePoller(threading.Thread):
    """Lists the nftables ruleset every few milliseconds; records when each address first appears."""

    def __init__(self):
        super().__init__(daemon=True)
        self.first_seen = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.polls = 0

    def run(self):
        while not self.stopping.is_set():
            ruleset = subprocess.run(["nft", "list", "ruleset"], capture_output=True).stdout
            seen = time.monotonic()
            with self.lock:
                self.polls += 1
                for address in IPV4.findall(ruleset):
                    self.first_seen.setdefault(address.decode(), seen)
            time.sleep(RULE_POLL_SECONDS)

    def seen(self, address):
        with self.lock:
            return self.first_seen.get(address)


def scale_to(api, replicas):
    path = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{NAME}/scale"
    status, scale = api.request("GET", path)
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}: {scale}")
    scale["spec"]["replicas"] = replicas
    status, answer = api.request("PUT", path, scale)
    if status != 200:
        raise RuntimeError(f"PUT {path} answered {status}: {answer}")


def time_endpoint_changes(api, pods, rounds, server):
    """Per added pod: scale request → EndpointSlice lists it ready → its address in the ruleset."""
    watch = SliceWatch(api)
    watch.start()
    watch.opened.wait(30)
    if watch.error:
        raise watch.error
    startup.wait_for(lambda: len(watch.addresses()) >= pods, 30, "the current endpoints in the watch", server)
    poller = RulePoller()
    poller.start()
    samples = []
    try:
        startup.wait_for(lambda: poller.polls > 0, 30, "the first listing of the ruleset", server)
        for replicas in range(pods + 1, pods + 1 + rounds):
            before = set(watch.addresses())
            stale = {a for a in before if poller.seen(a) is None}
            if stale:
                raise RuntimeError(f"ready endpoints not in the ruleset before scaling: {sorted(stale)}")
            requested = time.monotonic()
            scale_to(api, replicas)

            def new_address():
                if watch.error:
                    raise watch.error
                added = set(watch.addresses()) - before
                return next(iter(added)) if added else None
            address = startup.wait_for(new_address, 90, f"pod {replicas} ready in an EndpointSlice", server)
            if poller.seen(address) is not None and poller.seen(address) < requested:
                print(f"skipping {address}: it was in the ruleset before the pod existed", file=sys.stderr)
                continue
            startup.wait_for(lambda: poller.seen(address), 30, f"{address} in the nftables ruleset", server)
            sliced = watch.addresses()[address]
            samples.append({"address": address, "pod_ready": sliced - requested, "to_rules": poller.seen(address) - sliced})
    finally:
        poller.stopping.set()
        poller.join(timeout=10)
    return samples, poller.polls


# --- report ---------------------------------------------------------------------------------

def report(args, results, samples, polls, binary):
    ms = lambda s: f"{s * 1000:.2f} ms"
    direct = results[0][1]
    mode = "a new connection per request" if args.close else "keep-alive connections"
    print(f"\nswiftlet service proxy ({binary or args.kubeconfig})\n")
    print(f"wrk: {args.duration} s, {args.pods} threads, {args.connections} connections, {mode}; "
          f"{args.pods} × {IMAGE}; the direct path's threads each on another pod; "
          f"medians of {args.repeat} turns\n")
    print("| path | requests/s | p99 latency | errors | requests/s vs direct | p99 vs direct | each turn: requests/s (p99) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, r in results:
        print(f"| {label} | {r['rps']:.0f} | {ms(r['p99'])} | {r['errors']} | "
              f"{r['rps'] / direct['rps']:.2f} | {r['p99'] / direct['p99']:.2f} | "
              f"{', '.join(f'{rps:.0f} ({ms(p99)})' for rps, p99 in r['turns'])} |")
    if samples:
        to_rules = sorted(s["to_rules"] for s in samples)
        pod_ready = sorted(s["pod_ready"] for s in samples)
        median = lambda v: startup.percentile(v, 50)
        print(f"\n| endpoint change ({len(samples)} pods added one at a time) | median | max |")
        print("| --- | --- | --- |")
        print(f"| scale request → EndpointSlice lists the pod ready | {ms(median(pod_ready))} | {ms(pod_ready[-1])} |")
        print(f"| EndpointSlice ready (watch) → address in `nft list ruleset` | {ms(median(to_rules))} | {ms(to_rules[-1])} |")
        print(f"\n(the ruleset was listed {polls} times, every {RULE_POLL_SECONDS * 1000:.0f} ms plus the listing's "
              f"own time; a negative delay means the rules changed before the watch event reached this script)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kubeconfig", help="use the running cluster of this Swiftlet kubeconfig instead of starting one")
    parser.add_argument("--pods", type=int, default=3, help="whoami pods behind the Services (default 3)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per path (default 10)")
    parser.add_argument("--connections", type=int, default=15,
                        help="wrk connections, a multiple of --pods (default 15); wrk runs one thread per pod")
    parser.add_argument("--close", action="store_true",
                        help="send Connection: close, so every request makes a new connection through the NAT "
                             "(on one client machine TIME_WAIT soon dominates: compare turns, not paths)")
    parser.add_argument("--repeat", type=int, default=3, help="turns of wrk on each path (default 3)")
    parser.add_argument("--rounds", type=int, default=5, help="pods added one at a time for the rules timing (default 5)")
    parser.add_argument("--lb-port", type=int, default=8098, help="the LoadBalancer Service's port (default 8098)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("service-proxy.py must run as root: it reads nftables (and its own server runs a node agent)")
    if args.pods < 1 or args.rounds < 0 or args.repeat < 1:
        sys.exit("--pods and --repeat must be at least 1, --rounds at least 0")
    if args.connections % args.pods != 0:
        sys.exit("--connections must be a multiple of --pods: wrk gives each of its threads (one per pod) the same share")
    ensure_wrk()

    binary = data_dir = server = None
    if args.kubeconfig:
        api = KubeconfigAPI(args.kubeconfig)
        api.load_credentials()
    else:
        binary = startup.swiftlet_binary()
        data_dir = tempfile.mkdtemp(prefix="swiftlet-bench-")
        port = startup.free_port()
        server = startup.start_server(binary, data_dir, port)
        api = startup.API(port, data_dir)
    deployed = False
    try:
        if server is not None:
            startup.wait_until_ready(api, server)
        if api.request("GET", f"/api/v1/namespaces/{NAMESPACE}")[0] == 200:
            sys.exit(f"namespace {NAMESPACE} exists (an earlier run?): delete it first")
        deployed = True
        targets = deploy(api, args.pods, args.lb_port, server)
        turns = {label: [] for label, _, _ in targets}
        for turn in range(args.repeat):
            for label, url, spread_over in targets:
                print(f"turn {turn + 1}/{args.repeat}: wrk {url} ({label}) for {args.duration} s", file=sys.stderr)
                turns[label].append(run_wrk(url, args.duration, args.connections, args.pods, args.close, spread_over))
        results = [(label, median_of(turns[label])) for label, _, _ in targets]
        samples, polls = time_endpoint_changes(api, args.pods, args.rounds, server)
        report(args, results, samples, polls, binary)
    except BaseException:
        if data_dir:
            print(startup.server_log_tail(data_dir), file=sys.stderr)
        raise
    finally:
        if deployed:
            try:
                delete_namespace(api)
            except Exception as error:
                print(f"deleting namespace {NAMESPACE} failed: {error}", file=sys.stderr)
        if server is not None:
            startup.stop_server(server)
            startup.cleanup(binary, data_dir)


if __name__ == "__main__":
    main()

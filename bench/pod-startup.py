#!/usr/bin/env python3
"""The node agent's benchmark: pod start-up latency and the memory and CPU of running pods.

Starts `swiftlet server` (with its node agent, node `bench-node`) on a fresh data dir, watches
the pods, creates N whoami pods from a small pool of clients and times, per pod, from the
client's POST to the first watch event that shows it Running with every container running.
It waits until the node lists the image (built once at its start), so the latency is from a
cached image, as Kubernetes' start-up objective is. With the pods running it samples the server's RSS and idle CPU and the memory of every
swiftlet-shim and of the containers' processes, then deletes the pods, stops the server,
runs `swiftlet cleanup` and removes the data dir. Prints a Markdown table; asserts nothing.

    sudo bench/pod-startup.py [--pods 100] [--rate PODS_PER_SECOND] [--compare-token] [--keep]

Without --rate all pods are POSTed at once, so the latency includes the wait behind the pods
before them; with it the creates are spread evenly at that rate, as Kubernetes' density tests
measure its start-up objective. With --compare-token every other pod opts out of its
ServiceAccount token (`automountServiceAccountToken: false`), and the two halves' latencies are
reported apart: what the token (a TokenRequest and a projected volume) adds, in one run.

The binary is $SWIFTLET_BIN, else .build/release/swiftlet, else .build/debug/swiftlet.
Python 3 standard library only; must run as root (the node agent makes namespaces and mounts).
"""

import argparse
import concurrent.futures
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NODE = "bench-node"
NAMESPACE = "default"
IMAGE = "kiamol/ch02-whoami"
CLIENTS = 8
IDLE_WINDOW_SECONDS = 10
MIB = 1024 * 1024


def swiftlet_binary():
    explicit = os.environ.get("SWIFTLET_BIN")
    if explicit:
        return os.path.abspath(explicit)
    for build in ("release", "debug"):
        path = os.path.join(REPO, ".build", build, "swiftlet")
        if os.path.exists(path):
            return path
    sys.exit("no swiftlet binary: set SWIFTLET_BIN or build one (swift build -c release --product swiftlet)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class API:
    """HTTPS requests to the API server with the admin token; one keep-alive connection per thread."""

    def __init__(self, port, data_dir):
        self.port = port
        self.data_dir = data_dir
        self.token = None
        self.context = None
        self.local = threading.local()

    def load_credentials(self):
        """The CA and token exist once the server has written its kubeconfig."""
        ca = os.path.join(self.data_dir, "tls", "ca.crt")
        if os.path.exists(ca):
            self.context = ssl.create_default_context(cafile=ca)
        else:
            self.context = ssl._create_unverified_context()
        with open(os.path.join(self.data_dir, "kubeconfig.yaml")) as f:
            for line in f:
                if line.strip().startswith("token:"):
                    self.token = line.split(":", 1)[1].strip().strip('"')
        if not self.token:
            raise RuntimeError("no token: line in kubeconfig.yaml")

    def connection(self, timeout=30):
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context, timeout=timeout)

    def headers(self, body=None):
        h = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if body is not None:
            h["Content-Type"] = "application/json"
        return h

    def request(self, method, path, body=None):
        """Returns (status, decoded JSON or None); retries once on a dropped keep-alive connection."""
        data = json.dumps(body).encode() if body is not None else None
        for attempt in (1, 2):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = self.connection()
            try:
                conn.request(method, path, body=data, headers=self.headers(body))
                response = conn.getresponse()
                raw = response.read()
                return response.status, (json.loads(raw) if raw else None)
            except (http.client.HTTPException, OSError):
                conn.close()
                self.local.conn = None
                if attempt == 2:
                    raise


def start_server(binary, data_dir, port):
    log = open(os.path.join(data_dir, "server.log"), "ab")
    return subprocess.Popen(
        [binary, "server", "--data-dir", data_dir, "--port", str(port), "--node-name", NODE],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def server_log_tail(data_dir):
    try:
        with open(os.path.join(data_dir, "server.log"), errors="replace") as f:
            return f.read()[-3000:]
    except OSError:
        return ""


def wait_for(check, timeout, what, server=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            raise RuntimeError(f"swiftlet server exited with {server.returncode} while waiting for {what}")
        try:
            value = check()
        except (OSError, http.client.HTTPException, ValueError):
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


def wait_until_ready(api, server):
    def serving():
        if not os.path.exists(os.path.join(api.data_dir, "kubeconfig.yaml")):
            return False
        api.load_credentials()
        conn = api.connection(timeout=2)
        try:
            conn.request("GET", "/readyz", headers=api.headers())
            response = conn.getresponse()
            response.read()
            return response.status == 200
        finally:
            conn.close()
    wait_for(serving, 60, "/readyz", server)

    def node_ready():
        status, node = api.request("GET", f"/api/v1/nodes/{NODE}")
        if status != 200:
            return False
        conditions = node.get("status", {}).get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
    wait_for(node_ready, 60, f"node {NODE} Ready", server)

    # Start-up is measured from a cached image, as Kubernetes' objective is: the node has built
    # its built-in images once it lists them.
    def image_cached():
        status, node = api.request("GET", f"/api/v1/nodes/{NODE}")
        names = [name for image in (node or {}).get("status", {}).get("images", []) for name in image["names"]]
        return status == 200 and f"docker.io/{IMAGE}:latest" in names
    wait_for(image_cached, 120, f"{IMAGE} in the node's images", server)


def is_running(pod):
    status = pod.get("status", {})
    containers = status.get("containerStatuses") or []
    return (status.get("phase") == "Running" and len(containers) == len(pod["spec"]["containers"])
            and all("running" in c.get("state", {}) for c in containers))


class PodWatch(threading.Thread):
    """Streams pod watch events and records when each pod is first seen running."""

    def __init__(self, api):
        super().__init__(daemon=True)
        self.api = api
        self.running_at = {}
        self.lock = threading.Lock()
        self.opened = threading.Event()
        self.error = None

    def run(self):
        try:
            conn = self.api.connection(timeout=None)
            conn.request("GET", f"/api/v1/namespaces/{NAMESPACE}/pods?watch=1", headers=self.api.headers())
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
                pod = event.get("object", {})
                name = pod.get("metadata", {}).get("name")
                if event.get("type") in ("ADDED", "MODIFIED") and name and is_running(pod):
                    with self.lock:
                        self.running_at.setdefault(name, seen)
        except Exception as error:  # reported by the main thread, which waits on the results
            self.error = error
            self.opened.set()

    def count_running(self):
        with self.lock:
            return len(self.running_at)


def pod_manifest(name, token=True):
    spec = {"terminationGracePeriodSeconds": 2, "containers": [{"name": "web", "image": IMAGE}]}
    if not token:
        spec["automountServiceAccountToken"] = False
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "pod-startup-bench"}}, "spec": spec}


def create_pods(api, names, rate=None, tokenless=frozenset()):
    """POSTs every pod from a pool of clients, all at once or `rate` per second; returns each pod's
    client time just before its POST, and the time the last create was answered."""
    created_at = {}
    start = time.monotonic()

    def create(index, name):
        if rate:
            time.sleep(max(0.0, start + index / rate - time.monotonic()))
        created_at[name] = time.monotonic()
        status, body = api.request("POST", f"/api/v1/namespaces/{NAMESPACE}/pods", pod_manifest(name, name not in tokenless))
        if status != 201:
            raise RuntimeError(f"creating {name} answered {status}: {body}")

    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        for future in [pool.submit(create, i, n) for i, n in enumerate(names)]:
            future.result()
    return created_at, time.monotonic()


def percentile(sorted_values, p):
    """Nearest-rank percentile."""
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


# --- /proc sampling -------------------------------------------------------------------------

def read_proc(pid, name):
    try:
        with open(f"/proc/{pid}/{name}", "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def status_kib(pid, field):
    for line in read_proc(pid, "status").splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def smaps_kib(pid, field):
    for line in read_proc(pid, "smaps_rollup").splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def cpu_ticks(pid):
    stat = read_proc(pid, "stat")
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "; comm may hold spaces
    return int(fields[11]) + int(fields[12])  # utime, stime


def process_table():
    """pid -> (ppid, argv) for every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = read_proc(entry, "stat")
        if not stat:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        table[int(entry)] = (ppid, read_proc(entry, "cmdline").split("\0"))
    return table


def shims_and_containers(data_dir):
    """This server's swiftlet-shim processes (their bundles are under its data dir) and every
    process below them: the containers' processes, which the shim reaps as child subreaper."""
    table = process_table()
    shims = {pid for pid, (_, argv) in table.items()
             if os.path.basename(argv[0]) == "swiftlet-shim" and any(a.startswith(data_dir + "/") for a in argv)}
    below = set()
    frontier = set(shims)
    while frontier:
        frontier = {pid for pid, (ppid, _) in table.items() if ppid in frontier} - below
        below |= frontier
    return shims, below


def memory_sum(pids):
    return {
        "rss": sum(status_kib(p, "VmRSS") for p in pids) * 1024,
        "private": sum(smaps_kib(p, "Private_Dirty") for p in pids) * 1024,
        "pss": sum(smaps_kib(p, "Pss") for p in pids) * 1024,
    }


def sample_resources(server_pid, data_dir):
    ticks_per_second = os.sysconf("SC_CLK_TCK")
    before_ticks, before = cpu_ticks(server_pid), time.monotonic()
    time.sleep(IDLE_WINDOW_SECONDS)
    cpu_percent = (cpu_ticks(server_pid) - before_ticks) / ticks_per_second / (time.monotonic() - before) * 100
    shims, containers = shims_and_containers(data_dir)
    return {
        "server_rss": status_kib(server_pid, "VmRSS") * 1024,
        "server_cpu_percent": cpu_percent,
        "shims": len(shims), "shim": memory_sum(shims),
        "container_processes": len(containers), "containers": memory_sum(containers),
    }


# --- teardown -------------------------------------------------------------------------------

def delete_all_pods(api):
    status, _ = api.request("DELETE", f"/api/v1/namespaces/{NAMESPACE}/pods")
    if status not in (200, 202):
        _, listed = api.request("GET", f"/api/v1/namespaces/{NAMESPACE}/pods")
        for pod in listed.get("items", []):
            api.request("DELETE", f"/api/v1/namespaces/{NAMESPACE}/pods/{pod['metadata']['name']}")

    def none_left():
        status, listed = api.request("GET", f"/api/v1/namespaces/{NAMESPACE}/pods")
        return status == 200 and not listed.get("items")
    started = time.monotonic()
    wait_for(none_left, 300, "every pod deleted")
    return time.monotonic() - started


def stop_server(server):
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def cleanup(binary, data_dir):
    result = subprocess.run([binary, "cleanup", "--data-dir", data_dir], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        print(f"swiftlet cleanup failed ({result.returncode}): {result.stderr}", file=sys.stderr)
    shutil.rmtree(data_dir, ignore_errors=True)


# --- report ---------------------------------------------------------------------------------

def report(n, rate, latencies, creates, wall, resources, delete_seconds, binary, halves=None):
    ms = lambda s: f"{s * 1000:.0f} ms"
    mib = lambda b: f"{b / MIB:.1f} MiB"
    per_pod = lambda b: f"{b / n / MIB:.2f} MiB"
    values = sorted(latencies)
    shim, ctr = resources["shim"], resources["containers"]
    rows = [
        ("pods", f"{n} × {IMAGE}, created by {CLIENTS} clients, "
                 + (f"{rate:g} per second" if rate else "all at once")),
        ("start-up latency p50 / p90 / p99 / max",
         " / ".join(ms(percentile(values, p)) for p in (50, 90, 99)) + f" / {ms(values[-1])}"),
        ("first create → last create answered", ms(creates)),
        ("first create → last pod Running", ms(wall)),
        (f"server RSS with {n} pods running", mib(resources["server_rss"])),
        (f"server CPU, idle {IDLE_WINDOW_SECONDS} s window", f"{resources['server_cpu_percent']:.1f} % of one core"),
        (f"swiftlet-shim ({resources['shims']}) RSS / Private_Dirty / PSS per pod",
         f"{per_pod(shim['rss'])} / {per_pod(shim['private'])} / {per_pod(shim['pss'])}"),
        (f"container processes ({resources['container_processes']}) RSS / Private_Dirty / PSS per pod",
         f"{per_pod(ctr['rss'])} / {per_pod(ctr['private'])} / {per_pod(ctr['pss'])}"),
    ]
    for label, half in (halves or []):
        ordered = sorted(half)
        rows.append((f"{label}: p50 / p90 / p99 / max",
                     " / ".join(ms(percentile(ordered, p)) for p in (50, 90, 99)) + f" / {ms(ordered[-1])}"))
    if delete_seconds is not None:
        rows.append(("delete → no pods left", ms(delete_seconds)))
    print(f"\nswiftlet pod start-up ({binary})\n")
    print("| figure | measured |")
    print("| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=100, help="how many pods to create (default 100)")
    parser.add_argument("--rate", type=float, help="create this many pods per second (default: all at once)")
    parser.add_argument("--compare-token", action="store_true",
                        help="every other pod without its ServiceAccount token; report both halves")
    parser.add_argument("--keep", action="store_true",
                        help="leave the pods, the server and its data dir running at the end")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("pod-startup.py must run as root: the node agent makes network namespaces, mounts and cgroups")
    if args.pods < 1 or (args.rate is not None and args.rate <= 0):
        sys.exit("--pods must be at least 1 and --rate above 0")

    binary = swiftlet_binary()
    data_dir = tempfile.mkdtemp(prefix="swiftlet-bench-")
    port = free_port()
    server = start_server(binary, data_dir, port)
    api = API(port, data_dir)
    keep = False
    try:
        wait_until_ready(api, server)
        watch = PodWatch(api)
        watch.start()
        watch.opened.wait(30)
        if watch.error:
            raise watch.error

        names = [f"startup-{i:04d}" for i in range(args.pods)]
        tokenless = frozenset(names[1::2]) if args.compare_token else frozenset()
        created_at, creates_done = create_pods(api, names, args.rate, tokenless)

        def all_running():
            if watch.error:
                raise watch.error
            return watch.count_running() >= len(names)
        wait_for(all_running, 60 + args.pods, f"{args.pods} pods Running", server)
        with watch.lock:
            latencies = [watch.running_at[n] - created_at[n] for n in names]
            first_create = min(created_at.values())
            wall = max(watch.running_at[n] for n in names) - first_create
            creates = creates_done - first_create

        resources = sample_resources(server.pid, data_dir)
        delete_seconds = None
        if args.keep:
            keep = True
        else:
            delete_seconds = delete_all_pods(api)
        halves = None
        if args.compare_token:
            by_name = dict(zip(names, latencies))
            halves = [("with a token", [by_name[n] for n in names if n not in tokenless]),
                      ("without (automountServiceAccountToken: false)", [by_name[n] for n in tokenless])]
        report(args.pods, args.rate, latencies, creates, wall, resources, delete_seconds, binary, halves)
    except BaseException:
        print(server_log_tail(data_dir), file=sys.stderr)
        keep = False
        raise
    finally:
        if keep:
            print(f"\nkept: server PID {server.pid} on https://127.0.0.1:{port}, "
                  f"KUBECONFIG={data_dir}/kubeconfig.yaml\n"
                  f"to clean up: kill {server.pid}; {binary} cleanup --data-dir {data_dir}; rm -rf {data_dir}")
        else:
            stop_server(server)
            cleanup(binary, data_dir)


if __name__ == "__main__":
    main()

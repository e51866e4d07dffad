#!/usr/bin/env python3
"""The API server under abuse: its memory (RSS) before, during and after each attack.

Starts `swiftlet server --disable-agent` on a fresh data dir with the connection timeouts given
here, fills it with --objects ConfigMaps, and runs one attack after another, sampling the
server's VmRSS (/proc/PID/status) every 50 ms:

- held bodies: --connections unauthenticated POSTs that declare Content-Length: 3000000 and
  send only the head and a few bytes (expected: 401 at once, connection closed);
- slowloris: --connections TLS connections that send part of a request head and stop
  (expected: closed at --request-header-timeout);
- never TLS: --connections TCP connections that send nothing (expected: closed at
  --tls-handshake-timeout);
- watch churn: --watch-clients clients repeating GET /api/v1/configmaps?watch=1&timeoutSeconds=2
  for --churn-seconds, each watch starting with all --objects objects;
- abandoned watches: --abandoned-watches watches without timeoutSeconds, each dropped by its
  client as soon as the response head arrives;
- stalled watchers: --stalled-watchers watches that are never read while --writes updates are
  made (expected: a watcher 10,000 events behind is closed);
- patch amplification: --patch-rounds JSON patches of one 2.4 KB add and 18 doubling copies,
  which unbounded would grow a ConfigMap to over 600 MB (expected: 413 with a small body);
- unread lists: --unread-lists clients that GET the whole ConfigMap list and never read the
  answer, for --unread-seconds: what the server holds for them until its idle deadline
  (--request-header-timeout, run from when the response was handed over) closes them.

"before" is sampled just before the attack, "peak" is the highest sample while it runs (until
the client has closed all its connections), "after" is --settle seconds later. After each
attack a GET checks that the server still serves. Prints a Markdown table; asserts nothing.

    bench/abuse.py [--bin .build/release/swiftlet] [--objects 5000] [--connections 500]
                   [--watch-clients 20] [--churn-seconds 20] [--abandoned-watches 4000]
                   [--stalled-watchers 10] [--writes 15000]
                   [--patch-rounds 20] [--unread-lists 50] [--settle 5]
                   [--tls-handshake-timeout 5] [--request-header-timeout 10] [--request-body-timeout 10]
                   [--only ATTACK ...]

The defaults took about 4 minutes on 2 cores with a debug build (most of it the stalled
watchers catching up); scale them down for a quick look. The binary is
--bin, else $SWIFTLET_BIN, else .build/release/swiftlet. Python 3 standard library only; needs
no root, and an open-file limit above 2 × --connections.
"""

import argparse
import collections
import concurrent.futures
import http.client
import json
import os
import re
import resource
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import importlib.util

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
_spec = importlib.util.spec_from_file_location("pod_startup", os.path.join(HERE, "pod-startup.py"))
startup = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(startup)  # the wait and port helpers the benchmarks share
NAMESPACE = "default"
CONFIGMAPS = f"/api/v1/namespaces/{NAMESPACE}/configmaps"
MIB = 1024 * 1024
ATTACKS = ["held-bodies", "slowloris", "never-tls", "watch-churn", "abandoned-watches", "stalled-watchers",
           "patch-amplification", "unread-lists"]


def client_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


CTX = client_context()


class Server:
    def __init__(self, binary, args):
        self.binary = binary
        self.data_dir = tempfile.mkdtemp(prefix="swiftlet-abuse-")
        self.port = startup.free_port()
        self.log_path = os.path.join(self.data_dir, "server.log")
        self.proc = None
        self.token = None
        self.args = ["--tls-handshake-timeout", str(args.tls_handshake_timeout),
                     "--request-header-timeout", str(args.request_header_timeout),
                     "--request-body-timeout", str(args.request_body_timeout)]
        self.local = threading.local()

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.binary, "server", "--data-dir", os.path.join(self.data_dir, "data"), "--port", str(self.port),
             "--disable-agent", *self.args],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        kubeconfig = os.path.join(self.data_dir, "data", "kubeconfig.yaml")

        def ready():
            if not os.path.exists(kubeconfig):
                return False
            with open(kubeconfig) as f:
                match = re.search(r'^\s*token:\s*"?([^"\s]+)"?\s*$', f.read(), re.MULTILINE)
            if not match:
                return False
            self.token = match.group(1)
            return self.request("GET", "/readyz", fresh=True)[0] == 200
        startup.wait_for(ready, 60, "/readyz", self.proc)

    def stop(self):
        if self.proc:
            startup.stop_server(self.proc)

    def log_tail(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def rss(self):
        """The server's resident memory in bytes, 0 once it has exited."""
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def connection(self, timeout=60):
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=CTX, timeout=timeout)

    def headers(self, content_type=None):
        h = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if content_type:
            h["Content-Type"] = content_type
        return h

    def request(self, method, path, body=None, content_type="application/json", fresh=False, timeout=60):
        """(status, body bytes) on this thread's keep-alive connection; retried once on a dropped one."""
        data = None if body is None else (body if isinstance(body, (bytes, str)) else json.dumps(body))
        for attempt in (1, 2):
            conn = None if fresh else getattr(self.local, "conn", None)
            if conn is None:
                conn = self.connection(timeout)
                if not fresh:
                    self.local.conn = conn
            try:
                conn.request(method, path, body=data, headers=self.headers(content_type if data is not None else None))
                response = conn.getresponse()
                raw = response.read()
                if fresh:
                    conn.close()
                return response.status, raw
            except (http.client.HTTPException, OSError):
                conn.close()
                self.local.conn = None
                if attempt == 2:
                    raise

    def serves(self):
        try:
            status, body = self.request("GET", f"/api/v1/namespaces/{NAMESPACE}", fresh=True, timeout=30)
            return status == 200
        except (OSError, http.client.HTTPException):
            return False


class Sampler(threading.Thread):
    """Samples the server's RSS every 50 ms and keeps the highest."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server = server
        self.peak = server.rss()
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.wait(0.05):
            self.peak = max(self.peak, self.server.rss())

    def stop(self):
        self.stopped.set()
        self.join()
        self.peak = max(self.peak, self.server.rss())
        return self.peak


# Raw connections.

def tls_connect(port, timeout=30, rcvbuf=None):
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if rcvbuf:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        raw.settimeout(timeout)
        raw.connect(("127.0.0.1", port))
        return CTX.wrap_socket(raw, server_hostname="127.0.0.1")
    except BaseException:
        raw.close()
        raise


def read_until_closed(sock, timeout):
    """(bytes read, "eof" | "reset" | "open"): "open" when nothing ended the connection within `timeout`."""
    sock.settimeout(max(0.01, timeout))
    deadline = time.monotonic() + timeout
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return data, "reset"
        except (socket.timeout, TimeoutError):
            return data, "open"
        except ssl.SSLError:
            return data, "reset"
        if not chunk:
            return data, "eof"
        data += chunk
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return data, "open"
        sock.settimeout(remaining)


def open_many(n, opener, workers=32):
    """Opens n connections in parallel: (connections, failures)."""
    conns, failures = [], collections.Counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(opener, i) for i in range(n)]:
            try:
                conns.append(future.result())
            except (OSError, ssl.SSLError) as e:
                failures[type(e).__name__] += 1
    return conns, failures


def close_all(conns):
    for c in conns:
        c.close()


def wait_closed(conns, bound):
    """Waits in parallel, each connection at most `bound` seconds from now, for the server to
    close it: a Counter of how each ended, and how many had any answer."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=64) as pool:
        results = list(pool.map(lambda s: read_until_closed(s, bound), conns))
    ends = collections.Counter(how for _, how in results)
    answered = sum(1 for data, _ in results if data)
    return ends, answered


def describe(counter):
    """"401 ×200, 400 ×3": each answer and how many times."""
    return ", ".join(f"{k} ×{v}" for k, v in sorted(counter.items(), key=lambda kv: -kv[1])) or "none"


# The attacks. Each returns a description of what the server answered.

def held_bodies(server, args):
    def opener(i):
        sock = tls_connect(server.port)
        try:
            sock.sendall(f"POST {CONFIGMAPS} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         "Content-Length: 3000000\r\n\r\n".encode() + b'{"metadata":{')
        except BaseException:
            sock.close()
            raise
        return sock

    conns, failures = open_many(args.connections, opener)
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=64) as pool:
            results = list(pool.map(lambda s: read_until_closed(s, 3 * args.request_body_timeout + 5), conns))
    finally:
        close_all(conns)
    statuses = collections.Counter(data.split(b"\r\n", 1)[0].decode("latin-1", "replace")[9:12] or "nothing"
                                   for data, _ in results)
    ends = collections.Counter(how for _, how in results)
    biggest = max((len(data) for data, _ in results), default=0)
    return (f"status {describe(statuses)}; then {describe(ends)}; largest answer {biggest} B"
            + (f"; connect failed: {describe(failures)}" if failures else ""))


def held_open(server, args, opener, deadline):
    """Opens --connections connections with `opener` and leaves them as they are: how and when
    the server ended them (within 3 × `deadline` + 5 s), and whether it served meanwhile."""
    started = time.monotonic()
    conns, failures = open_many(args.connections, opener)
    served_meanwhile = server.serves()
    try:
        ends, answered = wait_closed(conns, 3 * deadline + 5)
    finally:
        close_all(conns)
    return (f"{describe(ends)} (all ended {time.monotonic() - started:.1f} s after the first opened); "
            f"{answered} answered; served meanwhile: {'yes' if served_meanwhile else 'NO'}"
            + (f"; connect failed: {describe(failures)}" if failures else ""))


def slowloris(server, args):
    def opener(i):
        sock = tls_connect(server.port)
        try:
            sock.sendall(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        except BaseException:
            sock.close()
            raise
        return sock

    return held_open(server, args, opener, args.request_header_timeout)


def never_tls(server, args):
    def opener(i):
        return socket.create_connection(("127.0.0.1", server.port), timeout=30)

    return held_open(server, args, opener, args.tls_handshake_timeout)


def watch_churn(server, args):
    deadline = time.monotonic() + args.churn_seconds
    lock = threading.Lock()
    totals = collections.Counter()

    def client(_):
        conn = server.connection(timeout=30)
        try:
            while time.monotonic() < deadline:
                conn.request("GET", "/api/v1/configmaps?watch=1&timeoutSeconds=2", headers=server.headers())
                response = conn.getresponse()
                events = 0
                while True:
                    line = response.readline()
                    if not line:
                        break
                    events += 1
                with lock:
                    totals[f"{response.status}"] += 1
                    totals["events"] += events
        except (OSError, http.client.HTTPException) as e:
            with lock:
                totals[f"error {type(e).__name__}"] += 1
        finally:
            conn.close()

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.watch_clients) as pool:
        list(pool.map(client, range(args.watch_clients)))
    events = totals.pop("events", 0)
    return f"{args.watch_clients} clients, watches: {describe(totals)}; {events} events read"


def stalled_watchers(server, args):
    status, body = server.request("GET", CONFIGMAPS + "?limit=1")
    revision = json.loads(body)["metadata"]["resourceVersion"]

    def opener(i):
        sock = tls_connect(server.port, rcvbuf=4096)
        try:
            sock.sendall(f"GET {CONFIGMAPS}?watch=1&resourceVersion={revision}&timeoutSeconds=600 HTTP/1.1\r\n"
                         f"Host: 127.0.0.1\r\nAuthorization: Bearer {server.token}\r\n\r\n".encode())
        except BaseException:
            sock.close()
            raise
        return sock

    conns, failures = open_many(args.stalled_watchers, opener)
    payload = "y" * max(1, args.object_bytes)
    outcomes = collections.Counter()
    try:
        def write(i):
            name = f"cm-{i % args.objects:05d}"
            status, _ = server.request("PATCH", f"{CONFIGMAPS}/{name}", body={"data": {"d": f"{i}{payload}"}},
                                       content_type="application/merge-patch+json")
            return status

        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            writes = collections.Counter(pool.map(write, range(args.writes)))
        stalled_rss = server.rss()
        # Now read: a watcher the server closed ends (after what was already in the socket buffers);
        # one still open goes quiet.
        with concurrent.futures.ThreadPoolExecutor(max_workers=64) as pool:
            results = list(pool.map(lambda s: drain(s, quiet=5, limit=120), conns))
    finally:
        close_all(conns)
    for how, events in results:
        outcomes[how] += 1
    counts = sorted(events for _, events in results)
    return (f"writes: {describe(writes)}; RSS {stalled_rss / MIB:.1f} MiB when they were done, before the "
            f"watchers read; then watchers: {describe(outcomes)}, "
            f"events read per watcher: {counts[0] if counts else 0}–{counts[-1] if counts else 0}"
            + (f"; connect failed: {describe(failures)}" if failures else ""))


def drain(sock, quiet, limit):
    """Reads a watch stream: ("ended" | "reset" | "still open", events read). "still open" when no byte
    arrives for `quiet` seconds, or after `limit` seconds in all."""
    deadline = time.monotonic() + limit
    events = 0
    tail = b""  # the last bytes of the previous read, for a marker split between reads
    how = "still open"
    while time.monotonic() < deadline:
        sock.settimeout(quiet)
        try:
            chunk = sock.recv(1 << 20)
        except (socket.timeout, TimeoutError):
            break
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            how = "reset"
            break
        if not chunk:
            how = "ended"
            break
        window = tail + chunk
        events += window.count(b'{"type":') - tail.count(b'{"type":')
        tail = window[-16:]
        if window.endswith(b"\r\n0\r\n\r\n"):
            how = "ended"
            break
    return how, events


def patch_amplification(server, args):
    name = "amplified"
    server.request("POST", CONFIGMAPS, body={"metadata": {"name": name, "finalizers": ["example.com/hold"]}})
    operations = ([{"op": "add", "path": "/metadata/finalizers/-", "value": "x" * 2400}]
                  + [{"op": "copy", "from": "/metadata/finalizers", "path": "/metadata/finalizers/-"}] * 18)
    body = json.dumps(operations)

    def patch(_):
        return server.request("PATCH", f"{CONFIGMAPS}/{name}", body=body, content_type="application/json-patch+json")

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(patch, range(args.patch_rounds)))
    statuses = collections.Counter(str(status) for status, _ in results)
    biggest = max(len(raw) for _, raw in results)
    status, raw = server.request("GET", f"{CONFIGMAPS}/{name}")
    return f"{describe(statuses)}; largest answer {biggest} B; object now {len(raw)} B"


def unread_lists(server, args):
    def opener(i):
        sock = tls_connect(server.port, rcvbuf=4096)
        try:
            sock.sendall(f"GET {CONFIGMAPS} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {server.token}\r\n\r\n".encode())
        except BaseException:
            sock.close()
            raise
        return sock

    conns, failures = open_many(args.unread_lists, opener)
    try:
        time.sleep(args.unread_seconds)
        # The server's side of each connection, seen by the kernel: still there, with answer bytes unsent?
        held = server_connections_with_unsent_bytes(server.port)
    finally:
        close_all(conns)
    return (f"after {args.unread_seconds:g} s unread: {held} of {len(conns)} server connections still open with bytes unsent"
            + (f"; connect failed: {describe(failures)}" if failures else ""))


def server_connections_with_unsent_bytes(port):
    """How many of the server's established connections have data in their send queue (`ss`)."""
    try:
        out = subprocess.run(["ss", "-Htn", "state", "established", f"( sport = :{port} )"],
                             capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return sum(1 for line in out.splitlines() if len(line.split()) >= 2 and int(line.split()[1]) > 0)


def abandoned_watches(server, args):
    """Watches without timeoutSeconds (so the server's default of 30 to 60 minutes), from the
    current revision (no initial events), each closed by its client once the response head has come."""
    status, body = server.request("GET", CONFIGMAPS + "?limit=1")
    revision = json.loads(body)["metadata"]["resourceVersion"]
    per_client = max(1, args.abandoned_watches // 16)
    answers = collections.Counter()
    lock = threading.Lock()

    def client(_):
        for _ in range(per_client):
            conn = server.connection(timeout=30)
            try:
                conn.request("GET", f"{CONFIGMAPS}?watch=1&resourceVersion={revision}", headers=server.headers())
                response = conn.getresponse()
                with lock:
                    answers[str(response.status)] += 1
            except (OSError, http.client.HTTPException) as e:
                with lock:
                    answers[f"error {type(e).__name__}"] += 1
            finally:
                conn.close()

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(client, range(16)))
    return f"{16 * per_client} watches opened and dropped: {describe(answers)}"


def fill(server, args):
    payload = "x" * max(1, args.object_bytes)

    def create(i):
        status, _ = server.request("POST", CONFIGMAPS, body={"metadata": {"name": f"cm-{i:05d}"}, "data": {"d": payload}})
        return status

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        statuses = collections.Counter(pool.map(create, range(args.objects)))
    if set(statuses) - {201, 409}:
        raise RuntimeError(f"filling ConfigMaps: {statuses}")
    return time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default=os.environ.get("SWIFTLET_BIN", os.path.join(REPO, ".build", "release", "swiftlet")),
                        help="the swiftlet binary (default: $SWIFTLET_BIN, else .build/release/swiftlet)")
    parser.add_argument("--objects", type=int, default=5000, help="ConfigMaps in the server (default 5000)")
    parser.add_argument("--object-bytes", type=int, default=256, help="bytes of data in each ConfigMap (default 256)")
    parser.add_argument("--connections", type=int, default=500, help="connections of the connection attacks (default 500)")
    parser.add_argument("--watch-clients", type=int, default=20, help="clients repeating watches (default 20)")
    parser.add_argument("--churn-seconds", type=float, default=20, help="how long the watch churn runs (default 20)")
    parser.add_argument("--abandoned-watches", type=int, default=4000,
                        help="watches without timeoutSeconds opened and dropped at once (default 4000)")
    parser.add_argument("--stalled-watchers", type=int, default=10, help="watches that are never read (default 10)")
    parser.add_argument("--writes", type=int, default=15000, help="updates made while they stall (default 15000)")
    parser.add_argument("--patch-rounds", type=int, default=20, help="amplifying JSON patches sent (default 20)")
    parser.add_argument("--unread-lists", type=int, default=50, help="list requests whose answer is never read (default 50)")
    parser.add_argument("--unread-seconds", type=float, default=10, help="how long they are left unread (default 10)")
    parser.add_argument("--settle", type=float, default=5, help="seconds after an attack until 'after' (default 5)")
    parser.add_argument("--tls-handshake-timeout", type=float, default=5)
    parser.add_argument("--request-header-timeout", type=float, default=10)
    parser.add_argument("--request-body-timeout", type=float, default=10)
    parser.add_argument("--only", nargs="+", choices=ATTACKS, help="run only these attacks")
    parser.add_argument("--keep", action="store_true", help="leave the server and its data dir at the end")
    args = parser.parse_args()
    if not os.path.exists(args.bin):
        sys.exit(f"no swiftlet binary at {args.bin}: pass --bin or build one (swift build -c release --product swiftlet)")
    if args.objects < 1:
        sys.exit("--objects must be at least 1")
    binary = os.path.abspath(args.bin)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 2 * args.connections + 256))
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    attacks = {
        "held-bodies": (f"held bodies, {args.connections} unauthenticated POSTs", held_bodies),
        "slowloris": (f"slowloris, {args.connections} connections", slowloris),
        "never-tls": (f"never TLS, {args.connections} connections", never_tls),
        "watch-churn": (f"watch churn, {args.watch_clients} clients × {args.churn_seconds:g} s", watch_churn),
        "abandoned-watches": (f"abandoned watches, {16 * max(1, args.abandoned_watches // 16)}", abandoned_watches),
        "stalled-watchers": (f"stalled watchers, {args.stalled_watchers} × {args.writes} writes", stalled_watchers),
        "patch-amplification": (f"patch amplification, {args.patch_rounds} patches", patch_amplification),
        "unread-lists": (f"unread lists, {args.unread_lists} × {args.unread_seconds:g} s", unread_lists),
    }
    chosen = args.only or ATTACKS

    server = Server(binary, args)
    rows = []
    keep = False
    try:
        server.start()
        idle_rss = server.rss()
        fill_seconds = fill(server, args)
        filled_rss = server.rss()
        for key in chosen:
            label, attack = attacks[key]
            print(f"running: {label}", file=sys.stderr, flush=True)
            before = server.rss()
            sampler = Sampler(server)
            sampler.start()
            try:
                answers = attack(server, args)
            finally:
                peak = sampler.stop()
            time.sleep(args.settle)
            after = server.rss()
            serving = server.serves()
            if server.proc.poll() is not None:
                raise RuntimeError(f"the server exited ({server.proc.returncode}) during {label}")
            rows.append((label, before, peak, after, answers + ("" if serving else "; NOT SERVING AFTER")))
        keep = args.keep
    except BaseException:
        print(server.log_tail(), file=sys.stderr)
        raise
    finally:
        if keep:
            print(f"\nkept: server PID {server.proc.pid} on https://127.0.0.1:{server.port}, "
                  f"KUBECONFIG={server.data_dir}/data/kubeconfig.yaml")
        else:
            server.stop()
            shutil.rmtree(server.data_dir, ignore_errors=True)

    def mib(n):
        return f"{n / MIB:.1f}"

    print(f"\nswiftlet API server under abuse ({binary})\n")
    print(f"server: --tls-handshake-timeout {args.tls_handshake_timeout:g} --request-header-timeout "
          f"{args.request_header_timeout:g} --request-body-timeout {args.request_body_timeout:g}; "
          f"RSS idle {mib(idle_rss)} MiB, {mib(filled_rss)} MiB with {args.objects} ConfigMaps of "
          f"{args.object_bytes} B (filled in {fill_seconds:.1f} s); settle {args.settle:g} s\n")
    print("| attack | RSS before (MiB) | peak (MiB) | after (MiB) | observed |")
    print("| --- | ---: | ---: | ---: | --- |")
    for label, before, peak, after, answers in rows:
        print(f"| {label} | {mib(before)} | {mib(peak)} | {mib(after)} | {answers} |")


if __name__ == "__main__":
    main()

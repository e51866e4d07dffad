#!/usr/bin/env python3
"""Server-side apply against client-side apply: N Deployments applied with the real kubectl, and
how fast their pods run.

For each mode, in one run, starts `swiftlet server --disable-agent --simulated-nodes 12` on a
fresh data dir, applies one file of --deployments Deployments (one replica each) with
`kubectl apply` (client-side: a GET and a create or strategic merge patch per object, and the
last-applied annotation) or `kubectl apply --server-side` (one apply PATCH per object, with
managedFields), and times from kubectl's start to every pod Running. Then applies the same
file again (nothing changes) and times that. Prints a Markdown table; asserts nothing.

    bench/apply.py [--deployments 1000] [--rounds 1]

The binary is $SWIFTLET_BIN, else .build/release/swiftlet, else .build/debug/swiftlet; kubectl is
$KUBECTL, else the 1.34 the end-to-end tests unpack into .build-e2e/. Python 3 standard library
only; needs no root.
"""

import argparse
import importlib.util
import os
import shutil
import subprocess
import tempfile
import time

# Enough simulated nodes for the pods: each takes 110, as a kubelet's default.
NODES = 12
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
_spec = importlib.util.spec_from_file_location("pod_startup", os.path.join(HERE, "pod-startup.py"))
startup = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(startup)  # the binary, port and wait helpers the benchmarks share

DEPLOYMENT = """---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}
  labels: {{app: app-{i}, bench: apply}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: app-{i}}}}}
  template:
    metadata: {{labels: {{app: app-{i}, bench: apply}}}}
    spec:
      containers:
        - name: web
          image: kiamol/ch02-whoami
          ports: [{{containerPort: 80}}]
          env: [{{name: INDEX, value: "{i}"}}]
"""


def kubectl_binary():
    explicit = os.environ.get("KUBECTL")
    if explicit:
        return explicit
    path = os.path.join(REPO, ".build-e2e", "kubectl-1.34", "kubectl")
    if os.path.exists(path):
        return path
    raise SystemExit("no kubectl: set KUBECTL, or run the end-to-end tests once to unpack kubectl 1.34")


class Cluster:
    def __init__(self, binary):
        self.data_dir = tempfile.mkdtemp(prefix="swiftlet-apply-")
        self.port = startup.free_port()
        log = open(os.path.join(self.data_dir, "server.log"), "ab")
        self.proc = subprocess.Popen(
            [binary, "server", "--data-dir", os.path.join(self.data_dir, "data"), "--port", str(self.port),
             "--disable-agent", "--simulated-nodes", str(NODES)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.kubeconfig = os.path.join(self.data_dir, "data", "kubeconfig.yaml")
        self.api = startup.API(self.port, os.path.join(self.data_dir, "data"))

        def ready():
            if not os.path.exists(self.kubeconfig):
                return False
            self.api.load_credentials()
            return self.api.request("GET", "/version")[0] == 200
        startup.wait_for(ready, 60, "the server to answer", self.proc)

    def running_pods(self):
        _, pods = self.api.request(
            "GET", "/api/v1/namespaces/default/pods?labelSelector=bench%3Dapply&fieldSelector=status.phase%3DRunning")
        return len(pods["items"])

    def stop(self):
        startup.stop_server(self.proc)
        shutil.rmtree(self.data_dir, ignore_errors=True)


def run(mode, binary, kubectl, manifest, count):
    cluster = Cluster(binary)
    try:
        args = [kubectl, "--kubeconfig", cluster.kubeconfig, "apply", "-f", manifest]
        if mode == "server-side":
            args.append("--server-side")
        start = time.monotonic()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        applied = time.monotonic() - start
        startup.wait_for(lambda: cluster.running_pods() >= count, 600, f"{count} running pods", cluster.proc)
        running = time.monotonic() - start
        start = time.monotonic()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        again = time.monotonic() - start
        return applied, running, again
    finally:
        cluster.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deployments", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    binary, kubectl = startup.swiftlet_binary(), kubectl_binary()
    work = tempfile.mkdtemp(prefix="swiftlet-apply-manifest-")
    try:
        manifest = os.path.join(work, "deployments.yaml")
        with open(manifest, "w") as f:
            f.write("".join(DEPLOYMENT.format(i=i) for i in range(args.deployments)))
        print(f"{args.deployments} Deployments, one replica each, {NODES} simulated nodes; {binary}\n")
        print("| mode | round | kubectl apply (s) | all pods Running (s) | pods/s | apply again, unchanged (s) |")
        print("| --- | --- | --- | --- | --- | --- |")
        for round_ in range(1, args.rounds + 1):
            for mode in ("client-side", "server-side"):
                applied, running, again = run(mode, binary, kubectl, manifest, args.deployments)
                print(f"| {mode} | {round_} | {applied:.1f} | {running:.1f} | {args.deployments / running:.0f} | {again:.1f} |", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

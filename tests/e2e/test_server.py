"""`swiftlet server` as a process: TLS and tokens, owner-only files, and durability across
`kill -9`, Secrets encrypted at rest."""

import base64
import json
import os
import signal
import socket
import ssl
import stat
import subprocess
import urllib.error
import urllib.request

import pytest

from conftest import Kubectl, Server, kubectl_binaries, swiftlet_bin, wait_for


def _get(server, path, token=None):
    ctx = ssl.create_default_context(cafile=str(server.data_dir / "tls" / "ca.crt"))
    req = urllib.request.Request(server.url + path)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_tls_and_bearer_tokens(server):
    # The serving certificate verifies against the cluster CA for 127.0.0.1.
    assert _get(server, "/readyz") == (200, b"ok")
    assert _get(server, "/livez")[0] == 200
    status, body = _get(server, "/version")
    assert status == 200 and json.loads(body)["major"] == "1"
    status, body = _get(server, "/api/v1/namespaces")
    assert status == 401 and json.loads(body)["reason"] == "Unauthorized"
    assert _get(server, "/api/v1/namespaces", token="wrong")[0] == 401
    admin = (server.data_dir / "tls" / "admin.token").read_text().strip()
    assert _get(server, "/api/v1/namespaces", token=admin)[0] == 200
    # The join token authenticates, and may only be traded for a node's credentials.
    node = (server.data_dir / "node-token").read_text().strip()
    status, body = _get(server, "/api/v1/namespaces", token=node)
    assert node != admin and status == 403 and json.loads(body)["message"] == \
        'namespaces is forbidden: User "system:node-bootstrap" cannot list resource "namespaces" in API group "" at the cluster scope'
    assert _get(server, "/api/v1/pods", token=node)[0] == 403


def test_data_dir_is_owner_only(server):
    assert stat.S_IMODE(os.stat(server.data_dir).st_mode) == 0o700
    for name in ["kubeconfig.yaml", "node-token", "tls/ca.key", "tls/server.key", "tls/admin.token", "state.db"]:
        mode = stat.S_IMODE(os.stat(server.data_dir / name).st_mode)
        assert mode & 0o077 == 0, f"{name} is {oct(mode)}"


def test_nothing_acknowledged_is_lost_on_kill_9(workdir):
    server = Server(workdir / "kill9-data")
    server.start()
    try:
        k = Kubectl(kubectl_binaries()[0][1], server, workdir / "cache-kill9")
        manifest = "".join(
            f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata:\n  n: \"{i}\"\n" for i in range(50))
        k.apply(manifest)
        uids = json.loads(k("get", "cm", "-o", "json"))
        server.stop(sig=signal.SIGKILL)
        server.start()
        after = json.loads(k("get", "cm", "-o", "json"))
        by_name = {i["metadata"]["name"]: i for i in after["items"]}
        for item in uids["items"]:
            same = by_name[item["metadata"]["name"]]
            assert same["metadata"]["uid"] == item["metadata"]["uid"]
            assert same["metadata"]["resourceVersion"] == item["metadata"]["resourceVersion"]
    finally:
        server.stop()


def test_a_server_installed_without_its_shim_refuses_to_start_and_says_why(workdir):
    # `swift build --product swiftlet` alone: the binary, nothing beside it.
    alone = workdir / "alone"
    alone.mkdir()
    binary = alone / "swiftlet"
    os.link(swiftlet_bin(), binary)
    run = subprocess.run([str(binary), "server", "--data-dir", str(workdir / "alone-data"), "--port", "0"],
                         capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert run.returncode != 0
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    assert f"{alone}/swiftlet-shim is missing" in lines[0] and "swift build" in lines[0], lines[0]
    # Without a node agent the shim is not needed.
    assert "--disable-agent" in lines[0]


def test_secrets_encryption_keeps_secret_values_out_of_the_datastore(workdir):
    data = workdir / "encrypted-data"
    server = Server(data, extra_args=["--secrets-encryption"])
    server.start()
    marker = "hunter2-not-in-the-datastore"
    try:
        k = Kubectl(kubectl_binaries()[0][1], server, workdir / "cache-encrypted")
        k("create", "secret", "generic", "db", f"--from-literal=password={marker}")
        assert base64.b64decode(json.loads(k("get", "secret", "db", "-o", "json"))["data"]["password"]).decode() == marker
        config = data / "cred" / "encryption-config.json"
        assert stat.S_IMODE(os.stat(config).st_mode) == 0o600
        # Rotation needs the server stopped: it holds the data dir.
        busy = subprocess.run([swiftlet_bin(), "secrets-encrypt", "rotate", "--data-dir", str(data)],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL)
        assert busy.returncode != 0 and "stop it first" in busy.stderr
    finally:
        server.stop()

    def stored_bytes():
        return b"".join(p.read_bytes() for p in data.glob("state.db*"))
    for form in (marker.encode(), base64.b64encode(marker.encode())):
        assert form not in stored_bytes()
    assert b"k8s:enc:aesgcm:v1:" in stored_bytes()
    key_before = json.loads(config.read_text())["resources"][0]["providers"][0]["aesgcm"]["keys"][0]["name"]

    rotated = subprocess.run([swiftlet_bin(), "secrets-encrypt", "rotate", "--data-dir", str(data)],
                             capture_output=True, text=True, stdin=subprocess.DEVNULL, check=True)
    assert "re-encrypted" in rotated.stdout
    key_after = json.loads(config.read_text())["resources"][0]["providers"][0]["aesgcm"]["keys"][0]["name"]
    assert key_after != key_before
    server.start()
    try:
        k = Kubectl(kubectl_binaries()[0][1], server, workdir / "cache-encrypted")
        assert base64.b64decode(json.loads(k("get", "secret", "db", "-o", "json"))["data"]["password"]).decode() == marker
    finally:
        server.stop()
    assert f"k8s:enc:aesgcm:v1:{key_after}:".encode() in stored_bytes()


def test_an_agent_refuses_a_server_whose_ca_does_not_match_its_token(server, workdir):
    join = (server.data_dir / "node-token").read_text().strip()
    assert join.startswith("K10") and "::node:" in join
    secret = join.split("::node:", 1)[1]
    # The CA the server hands out is the one whose hash the token carries.
    status, body = _get(server, "/cacerts")
    assert status == 200 and body == (server.data_dir / "tls" / "ca.crt").read_bytes()

    def agent(token_args, env=None):
        return subprocess.run([swiftlet_bin(), "agent", "--server", server.url, "--node-name", "tampered",
                               "--data-dir", str(workdir / "tampered-agent"), *token_args],
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                              env=dict(os.environ, **(env or {})))
    tampered = "K10" + "0" * 64 + "::node:" + secret
    refused = agent(["--token", tampered])
    assert refused.returncode != 0
    assert "the server's CA certificate does not match the join token" in refused.stderr, refused.stderr
    refused = agent([], env={"SWIFTLET_TOKEN": tampered})
    assert "does not match the join token" in refused.stderr, refused.stderr
    malformed = agent(["--token", "K10abc"])
    assert malformed.returncode != 0 and "the join token is malformed" in malformed.stderr
    bare = agent(["--token", secret])
    assert bare.returncode != 0 and "the token carries no CA hash; pass --ca-file" in bare.stderr
    missing = agent([], env={"SWIFTLET_TOKEN": ""})
    assert missing.returncode != 0


def test_a_joined_agents_streaming_port_speaks_only_tls_to_the_api_server(server, workdir):
    """A node on another machine, as far as the port is concerned: joined with the token alone."""
    name = f"e2e-tls-{server.port}"
    data = workdir / "tls-agent"
    log = open(workdir / "tls-agent.log", "ab")
    token = (server.data_dir / "node-token").read_text().strip()
    agent = subprocess.Popen([swiftlet_bin(), "agent", "--server", server.url, "--node-name", name, "--data-dir", str(data)],
                             stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=dict(os.environ, SWIFTLET_TOKEN=token))
    try:
        k = Kubectl(kubectl_binaries()[0][1], server, workdir / "cache-tls-agent")
        port = wait_for(lambda: json.loads(k("get", "node", name, "-o", "json", check=False) or "{}")
                        .get("status", {}).get("daemonEndpoints", {}).get("kubeletEndpoint", {}).get("Port"),
                        timeout=60, what="the joined node to advertise its streaming port")
        # Another machine cannot take the joined node's name with the token alone (k3s's node passwords).
        impostor = subprocess.run([swiftlet_bin(), "agent", "--server", server.url, "--node-name", name,
                                   "--data-dir", str(workdir / "impostor-agent")], capture_output=True, text=True, timeout=60,
                                  stdin=subprocess.DEVNULL, env=dict(os.environ, SWIFTLET_TOKEN=token))
        assert impostor.returncode != 0
        assert f'node password rejected: node "{name}" joined with another password' in impostor.stderr, impostor.stderr
        # Plain text gets no answer but the end of the connection.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as plain:
            plain.sendall(b"GET / HTTP/1.1\r\nHost: node\r\n\r\n")
            reply = b""
            try:
                while chunk := plain.recv(4096):
                    reply += chunk
            except (ConnectionResetError, socket.timeout):
                pass
            assert b"HTTP/" not in reply
        # TLS without a client certificate does not get through the handshake.
        context = ssl.create_default_context(cafile=str(server.data_dir / "tls" / "ca.crt"))
        context.check_hostname = False
        with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
                with context.wrap_socket(raw) as tls:
                    tls.sendall(b"\x00" * 16)
                    if not tls.recv(1):
                        raise ConnectionResetError("closed")
    finally:
        agent.send_signal(signal.SIGTERM)
        try:
            agent.wait(timeout=15)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait()
        subprocess.run([swiftlet_bin(), "cleanup", "--data-dir", str(data)], check=True, capture_output=True, timeout=120,
                       stdin=subprocess.DEVNULL)

"""Clients that attack the API server rather than use it, each against a real `swiftlet server`:
held-back bodies of unauthenticated requests, slowloris heads, connections that never start TLS,
malformed requests, idle keep-alive connections, slow bodies, bad watch timeouts, JSON patches
that would grow an object without end, floods past the in-flight limits, and concurrent
generated names. Each test asserts what the server answers (a status, a bounded body, a closed
connection) and that kubectl is still served afterwards; counts and waits are bounded, and no
test treats an elapsed time as a performance figure: a deadline only bounds how long the server
may take to close a connection (its configured timeout plus a margin).

The module's server runs with short connection timeouts so that the tests are quick:
TLS handshake 1 s, request head (and idle keep-alive) 4 s, request body 2 s. The head timeout is
the longest so that a connection closed within the handshake or body bound can only have been
closed by that deadline, not by the head deadline that also runs from the connection's start.
"""

import concurrent.futures
import http.client
import json
import re
import socket
import ssl
import threading
import time

import pytest

from conftest import Kubectl, Server, admin_token, api, insecure_tls_context, kubectl_binaries, wait_for

HANDSHAKE_TIMEOUT = 1
HEAD_TIMEOUT = 4
BODY_TIMEOUT = 2
# How long past its configured timeout the server may take to close a connection.
MARGIN = 1.5

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


CTX = insecure_tls_context()


def start_server(data_dir, extra_args):
    server = Server(data_dir, extra_args=extra_args)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    server.token = admin_token(server)
    return server


@pytest.fixture(scope="module")
def srv(workdir):
    s = start_server(workdir / "abuse-data", [
        "--tls-handshake-timeout", str(HANDSHAKE_TIMEOUT),
        "--request-header-timeout", str(HEAD_TIMEOUT),
        "--request-body-timeout", str(BODY_TIMEOUT)])
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def kc(srv, workdir):
    return Kubectl(kubectl_binaries()[0][1], srv, workdir / "abuse-kubectl-cache")


def tls_connect(server, timeout=10):
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    try:
        return CTX.wrap_socket(raw, server_hostname="127.0.0.1")
    except BaseException:
        raw.close()
        raise


def read_until_closed(sock, timeout):
    """Reads until the server closes the connection: (bytes, "eof" or "reset"). Fails when the
    connection is still open after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    data = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"connection still open after {timeout:.1f} s; read so far: {data[:300]!r}")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return data, "reset"
        except (socket.timeout, TimeoutError):
            raise AssertionError(f"connection still open after {timeout:.1f} s; read so far: {data[:300]!r}")
        if not chunk:
            return data, "eof"
        data += chunk


def split_response(data: bytes):
    """(status code, lowercased headers, body, what follows) of an HTTP/1.1 response with a Content-Length."""
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    return status, headers, rest[:length], rest[length:]


def read_response(sock, timeout=10):
    """Reads one whole response with a Content-Length from a blocking socket: (status, headers, body)."""
    sock.settimeout(timeout)
    data = b""
    while True:
        if b"\r\n\r\n" in data:
            status, headers, body, _ = split_response(data)
            if len(body) >= int(headers.get("content-length", "0")):
                return status, headers, body
        chunk = sock.recv(65536)
        assert chunk, f"connection closed during a response: {data[:300]!r}"
        data += chunk


class HeldConnection:
    """A connection the client keeps open without finishing what it started; polled without blocking."""

    def __init__(self, sock, opened, trickle=False):
        self.sock = sock
        self.opened = opened
        self.trickle = trickle
        self.last_trickle = time.monotonic()
        self.data = b""
        self.closed_at = None
        self.how = None
        sock.setblocking(False)

    def poll(self):
        """True once the server has closed the connection."""
        if self.closed_at is not None:
            return True
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return self._closed("eof")
                self.data += chunk
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            pass
        except (ConnectionResetError, BrokenPipeError):
            return self._closed("reset")
        except ssl.SSLError as e:
            return self._closed(f"tls error {e}")
        if self.trickle and time.monotonic() - self.last_trickle >= 0.5:
            # Slowloris proper: one more byte of the head now and then, which must not extend its deadline.
            self.last_trickle = time.monotonic()
            try:
                self.sock.send(b"a")
            except (ssl.SSLWantWriteError, BlockingIOError):
                pass
            except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
                return self._closed("reset on send")
        return False

    def _closed(self, how):
        self.closed_at = time.monotonic()
        self.how = how
        return True

    def close(self):
        self.sock.close()


def wait_all_closed(conns, bound, what):
    """Waits until the server has closed every connection, and checks each closed within `bound`
    seconds of its opening."""
    latest = max(c.opened for c in conns) + bound
    wait_for(lambda: all([c.poll() for c in conns]), timeout=max(0.1, latest - time.monotonic()) + 0.2,
             what=f"the server to close all {len(conns)} {what} connections "
                  f"(still open: {sum(c.closed_at is None for c in conns)})")
    late = [round(c.closed_at - c.opened, 2) for c in conns if c.closed_at - c.opened > bound]
    assert not late, f"{len(late)} {what} connections closed later than {bound} s after opening: {late[:10]}"


def kubectl_works(kc, marker):
    kc("create", "configmap", marker, "--from-literal=k=v")
    assert kc("get", "configmap", marker, "-o", "jsonpath={.data.k}") == "v"


# 1. Unauthenticated requests that declare a large body and hold it back.

def test_unauthenticated_large_posts_get_401_and_a_closed_connection_without_their_body(srv, kc):
    authorizations = [None, "Bearer not-a-token", "Basic YWRtaW46YWRtaW4="]

    def attack(i):
        sock = tls_connect(srv)
        try:
            auth = authorizations[i % len(authorizations)]
            head = (f"POST {CONFIGMAPS} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + (f"Authorization: {auth}\r\n" if auth else "")
                    + "Content-Length: 3000000\r\n\r\n")
            # The head and a few bytes of the body; the other 2,999,9xx bytes are never sent.
            sock.sendall(head.encode() + b'{"metadata":')
            return read_until_closed(sock, timeout=10)
        finally:
            sock.close()

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attack, range(200)))

    for data, how in results:
        assert data.startswith(b"HTTP/1.1 401 "), f"expected a 401 before the body was sent, got {data[:300]!r} then {how}"
        status, headers, body, extra = split_response(data)
        assert headers.get("connection", "").lower() == "close", headers
        assert len(body) < 4096 and extra == b""
        assert json.loads(body)["reason"] == "Unauthorized"
        assert how == "eof", f"401 sent, then the connection ended by {how}"
    kubectl_works(kc, "after-unauthenticated-bodies")


# 2. Slowloris: request heads that are never finished.

def test_slowloris_heads_are_closed_at_the_head_deadline_and_kubectl_is_served_meanwhile(srv, kc):
    def open_slow(i):
        sock = tls_connect(srv)
        opened = time.monotonic()
        sock.sendall(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        return HeldConnection(sock, opened, trickle=(i % 5 == 0))

    conns = []
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
            futures = [pool.submit(open_slow, i) for i in range(100)]
            for f in futures:
                conns.append(f.result())
        kubectl_works(kc, "during-slowloris")
        wait_all_closed(conns, HEAD_TIMEOUT + MARGIN, "slowloris")
        answered = [c.data[:100] for c in conns if c.data]
        assert not answered, f"a partial head was answered: {answered[:3]}"
    finally:
        for c in conns:
            c.close()
    kubectl_works(kc, "after-slowloris")


# 3. Connections that never start TLS.

def test_connections_that_never_start_tls_are_closed_at_the_handshake_deadline(srv, kc):
    conns = []
    try:
        for i in range(100):
            sock = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            opened = time.monotonic()
            if i % 2:
                sock.sendall(b"\x16\x03\x01\x02")  # the start of a TLS record header, and no more
            conns.append(HeldConnection(sock, opened))
        # Closed within the handshake bound, which is shorter than the head deadline that also runs.
        assert HANDSHAKE_TIMEOUT + MARGIN < HEAD_TIMEOUT
        wait_all_closed(conns, HANDSHAKE_TIMEOUT + MARGIN, "never-TLS")
    finally:
        for c in conns:
            c.close()
    kubectl_works(kc, "after-never-tls")


# 4. Malformed requests.

@pytest.mark.parametrize("request_bytes", [
    b"GARBAGE\r\n\r\n",
    b"GET /api/v1/namespaces HTTP/1.1\r\nHost: 127.0.0.1\r\nNo colon here\r\n\r\n",
    b"GET /a b c HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"GET /api/v1/namespaces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"GET /api/v1/namespaces HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * (1024 * 1024) + b"\r\n\r\n",
    b"POST /api/v1/namespaces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n",
], ids=["request-line", "header-without-colon", "spaces-in-target", "length-and-chunked", "1MiB-header", "negative-length"])
def test_a_malformed_request_gets_400_and_a_closed_connection(srv, request_bytes):
    sock = tls_connect(srv)
    try:
        try:
            sock.sendall(request_bytes)
        except (ConnectionResetError, BrokenPipeError):
            pass  # the server answered and closed before taking all of an oversized head
        data, how = read_until_closed(sock, timeout=BODY_TIMEOUT + HEAD_TIMEOUT)
    finally:
        sock.close()
    assert data.startswith(b"HTTP/1.1 400 "), f"got {data[:300]!r} then {how}"
    status, headers, body, extra = split_response(data)
    assert len(body) < 4096 and extra == b""
    assert how == "eof"


def test_a_malformed_request_after_a_good_one_on_a_keep_alive_connection_closes_it(srv):
    sock = tls_connect(srv)
    try:
        sock.sendall(f"GET /api/v1/namespaces/default HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {srv.token}\r\n\r\n"
                     .encode() + b"GET / HTTP/1.1\r\nBroken\r\n\r\n")
        data, how = read_until_closed(sock, timeout=BODY_TIMEOUT + HEAD_TIMEOUT)
    finally:
        sock.close()
    status, _, body, rest = split_response(data)
    assert status == 200 and json.loads(body)["metadata"]["name"] == "default"
    assert rest.startswith(b"HTTP/1.1 400 "), rest[:300]
    assert how == "eof"


# 5. Idle keep-alive connections, and bodies that never finish.

def test_an_idle_keep_alive_connection_is_closed_at_the_head_deadline(srv):
    sock = tls_connect(srv)
    try:
        request = f"GET /api/v1/namespaces/default HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {srv.token}\r\n\r\n".encode()
        for _ in range(2):  # two requests on one connection: it is kept alive
            sock.sendall(request)
            status, _, body = read_response(sock)
            assert status == 200 and json.loads(body)["metadata"]["name"] == "default"
        answered = time.monotonic()
        # Still open a second later (kept alive, not closed after each response)...
        sock.settimeout(1)
        with pytest.raises((socket.timeout, TimeoutError)):
            sock.recv(1)
        # ...and closed by the server once idle for the head timeout.
        rest, how = read_until_closed(sock, timeout=answered + HEAD_TIMEOUT + MARGIN - time.monotonic())
        assert rest == b"" and how == "eof"
    finally:
        sock.close()


def test_an_authenticated_body_that_never_finishes_is_closed_at_the_body_deadline(srv):
    sock = tls_connect(srv)
    try:
        opened = time.monotonic()
        sock.sendall(f"POST {CONFIGMAPS} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {srv.token}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n".encode() + b'{"metadata":{"name":"slow-body"')
        held = HeldConnection(sock, opened)
        assert BODY_TIMEOUT + MARGIN < HEAD_TIMEOUT
        wait_all_closed([held], BODY_TIMEOUT + MARGIN, "slow-body")
        assert not held.data.startswith(b"HTTP/1.1 2"), held.data[:300]
    finally:
        sock.close()
    assert api(srv, "GET", CONFIGMAPS + "/slow-body")[0] == 404


def test_a_body_over_3_mib_gets_413_with_a_small_body(srv):
    status, _, body = api(srv, "POST", CONFIGMAPS, body=b"x" * (3 * 1024 * 1024 + 1))
    assert status == 413 and len(body) < 4096
    assert json.loads(body)["reason"] == "RequestEntityTooLarge"


# 6. Watch timeouts.

@pytest.mark.parametrize("value", ["x", "-1", "0.5", "1e3", "99999999999999999999"])
def test_a_watch_with_a_bad_timeout_seconds_is_400(srv, value):
    status, _, body = api(srv, "GET", f"{CONFIGMAPS}?watch=1&timeoutSeconds={value}")
    assert status == 400, body[:300]
    answer = json.loads(body)
    assert answer["kind"] == "Status" and answer["reason"] == "BadRequest" and "timeoutSeconds" in answer["message"]


def test_a_watch_with_timeout_seconds_1_ends_by_itself(srv):
    assert api(srv, "POST", CONFIGMAPS, body={"metadata": {"name": "watched"}, "data": {"k": "v"}})[0] == 201
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=CTX, timeout=10)
    try:
        headers = {"Authorization": f"Bearer {srv.token}"}
        conn.request("GET", f"{CONFIGMAPS}?watch=1&timeoutSeconds=1", headers=headers)
        response = conn.getresponse()
        assert response.status == 200
        # read() returns only at the stream's last chunk; a stream that did not end would time out here.
        events = [json.loads(line) for line in response.read().splitlines() if line.strip()]
        assert any(e["type"] == "ADDED" and e["object"]["metadata"]["name"] == "watched" for e in events), events
        # The stream ended cleanly: the connection serves the next request.
        conn.request("GET", "/api/v1/namespaces/default", headers=headers)
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read())["metadata"]["name"] == "default"
    finally:
        conn.close()


# 7. JSON patch amplification.

def json_patch(server, name, operations):
    return api(server, "PATCH", f"{CONFIGMAPS}/{name}", body=json.dumps(operations),
               content_type="application/json-patch+json", timeout=60)


def test_json_patch_copy_amplification_is_413_with_a_small_body_and_changes_nothing(srv):
    status, _, _ = api(srv, "POST", CONFIGMAPS, body={
        "metadata": {"name": "amplified", "finalizers": ["example.com/hold"]}, "data": {"k": "v"}})
    assert status == 201
    before = json.loads(api(srv, "GET", f"{CONFIGMAPS}/amplified")[2])
    big = "x" * 2400
    # Each copy doubles the list: 18 of them would make it 2.4 KB × 2^18, over 600 MB.
    attacks = [
        [{"op": "add", "path": "/metadata/finalizers/-", "value": big}]
        + [{"op": "copy", "from": "/metadata/finalizers", "path": "/metadata/finalizers/-"}] * 18,
        [{"op": "add", "path": "/metadata/annotations", "value": {"a": big}}]
        + [{"op": "copy", "from": "/metadata/annotations", "path": f"/metadata/annotations/c{i}"} for i in range(18)],
        [{"op": "add", "path": "/data/big", "value": big}]
        + [{"op": "copy", "from": "/data", "path": f"/data/c{i}"} for i in range(18)],
    ]
    for operations in attacks:
        status, _, body = json_patch(srv, "amplified", operations)
        assert status == 413, (status, body[:300])
        assert len(body) < 64 * 1024
        assert json.loads(body)["reason"] == "RequestEntityTooLarge"
    after = json.loads(api(srv, "GET", f"{CONFIGMAPS}/amplified")[2])
    assert after == before

    status, _, body = json_patch(srv, "amplified", [{"op": "test", "path": "/metadata/name", "value": "amplified"}] * 10_001)
    assert status == 413 and len(body) < 64 * 1024, (status, body[:300])
    assert json.loads(body)["reason"] == "RequestEntityTooLarge"
    assert json.loads(api(srv, "GET", f"{CONFIGMAPS}/amplified")[2]) == before
    # 10,000 is allowed.
    status, _, body = json_patch(srv, "amplified", [{"op": "test", "path": "/metadata/name", "value": "amplified"}] * 10_000)
    assert status == 200, (status, body[:300])


# 8. In-flight limits.

@pytest.fixture
def capped(workdir):
    """A server with in-flight limits of 1. Its requests go with the node token, bound by RBAC to
    what the tests do: the admin is in system:masters, which upstream (and Swiftlet) serves even
    past the limits."""
    s = start_server(workdir / "abuse-capped-data",
                     ["--max-mutating-requests-inflight", "1", "--max-requests-inflight", "1"])
    s.node_token = (s.data_dir / "node-token").read_text().strip()
    try:
        rbac = "/apis/rbac.authorization.k8s.io/v1"
        status, _, body = api(s, "POST", f"{rbac}/clusterroles", {
            "metadata": {"name": "abuse-tester"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps", "namespaces"], "verbs": ["create", "get", "list", "watch"]}]})
        assert status in (201, 409), body  # each test restarts the server on the same data
        status, _, body = api(s, "POST", f"{rbac}/clusterrolebindings", {
            "metadata": {"name": "abuse-tester"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "abuse-tester"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "system:node-bootstrap"}]})
        assert status in (201, 409), body
        yield s
    finally:
        s.stop()


def test_requests_past_the_in_flight_limit_get_429_with_retry_after(capped):
    seen = []
    rounds = 0
    # Bounded: at most 5 rounds of 60 concurrent creates, stopping after a round that saw a 429.
    while rounds < 5 and not any(status == 429 for status, *_ in seen):
        barrier = threading.Barrier(60)

        def create(i, round=rounds):
            barrier.wait(timeout=30)
            status, response, body = api(capped, "POST", CONFIGMAPS, token=capped.node_token,
                                         body={"metadata": {"name": f"flood-{round}-{i}", "labels": {"flood": "1"}}})
            return status, response.getheader("Retry-After"), body, f"flood-{round}-{i}"

        with concurrent.futures.ThreadPoolExecutor(max_workers=60) as pool:
            seen += list(pool.map(create, range(60)))
        rounds += 1

    refused = [s for s in seen if s[0] == 429]
    assert refused, f"no 429 in {len(seen)} concurrent creates against --max-mutating-requests-inflight 1"
    for status, retry_after, body, name in seen:
        assert status in (201, 429), (status, body[:300])
        if status == 429:
            answer = json.loads(body)
            assert retry_after == "1"
            assert answer["kind"] == "Status" and answer["reason"] == "TooManyRequests" and answer["code"] == 429
            assert answer["details"]["retryAfterSeconds"] == 1
    # A refused create created nothing; every accepted one exists.
    status, _, body = api(capped, "GET", CONFIGMAPS + "?labelSelector=flood%3D1")
    assert status == 200
    assert sorted(i["metadata"]["name"] for i in json.loads(body)["items"]) == sorted(s[3] for s in seen if s[0] == 201)


def test_an_answer_left_unread_keeps_its_in_flight_place_until_it_is_read(capped):
    """As upstream: a place is held while its answer is written, so clients that leave their
    answers unread get 429s once the places are taken, instead of each pinning a whole answer."""
    value = "x" * 900_000
    for i in range(30):  # a 27 MB list: more than the kernel's socket buffers take
        assert api(capped, "POST", CONFIGMAPS, body={"metadata": {"name": f"large-{i}"}, "data": {"v": value}})[0] == 201
    unread = tls_connect(capped)
    try:
        unread.sendall(f"GET {CONFIGMAPS} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {capped.node_token}\r\n\r\n".encode())
        unread.settimeout(10)
        assert unread.recv(12).startswith(b"HTTP/1.1 200")
        wait_for(lambda: api(capped, "GET", "/api/v1/namespaces", token=capped.node_token)[0] == 429, timeout=10,
                 what="the unread answer holding the only read-only place")
        # The admin (system:masters) is served past the limit all the same.
        assert api(capped, "GET", "/api/v1/namespaces")[0] == 200
        # Reading the answer gives the place back.
        received = 12
        while received < 27_000_000:
            chunk = unread.recv(1 << 20)
            assert chunk, "the server closed the connection before the whole answer"
            received += len(chunk)
        wait_for(lambda: api(capped, "GET", "/api/v1/namespaces", token=capped.node_token)[0] == 200, timeout=10,
                 what="the place given back")
    finally:
        unread.close()


def test_watches_and_held_back_bodies_take_no_in_flight_place(capped):
    watches, held = [], None
    try:
        for _ in range(3):
            conn = http.client.HTTPSConnection("127.0.0.1", capped.port, context=CTX, timeout=10)
            watches.append(conn)
            conn.request("GET", f"{CONFIGMAPS}?watch=1&timeoutSeconds=60", headers={"Authorization": f"Bearer {capped.node_token}"})
            assert conn.getresponse().status == 200
        # A request whose body is still coming holds no place: the limit is taken once it is read.
        held = tls_connect(capped)
        held.sendall(f"POST {CONFIGMAPS} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {capped.node_token}\r\n"
                     f"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n".encode() + b'{"metadata":')
        # With limits of 1, three open watches and a held-back POST, a list and a create are served
        # (after a retry or two at most: the server's own controllers take the place when it is free).
        wait_for(lambda: api(capped, "GET", CONFIGMAPS, token=capped.node_token)[0] == 200, timeout=10,
                 what="a list beside the watches and the held-back body")
        wait_for(lambda: api(capped, "POST", CONFIGMAPS, token=capped.node_token,
                             body={"metadata": {"name": "beside-watches"}})[0] == 201, timeout=10,
                 what="a create beside the watches and the held-back body")
        assert api(capped, "GET", f"{CONFIGMAPS}/beside-watches")[0] == 200
    finally:
        for conn in watches:
            conn.close()
        if held is not None:
            held.close()


# 9. Generated names.

def test_concurrent_generate_name_creates_all_succeed_with_distinct_names(srv):
    barrier = threading.Barrier(50)

    def create(_):
        barrier.wait(timeout=30)
        status, _, body = api(srv, "POST", CONFIGMAPS,
                              body={"metadata": {"generateName": "gen-", "labels": {"generated": "1"}}, "data": {"k": "v"}})
        return status, json.loads(body)

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(create, range(50)))
    assert all(status == 201 for status, _ in results), [(s, b.get("message")) for s, b in results if s != 201]
    names = [body["metadata"]["name"] for _, body in results]
    assert len(set(names)) == 50 and all(re.fullmatch(r"gen-[a-z0-9]{5}", n) for n in names), names
    status, _, body = api(srv, "GET", CONFIGMAPS + "?labelSelector=generated%3D1")
    assert sorted(i["metadata"]["name"] for i in json.loads(body)["items"]) == sorted(names)

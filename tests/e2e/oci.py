"""Container images built by the tests, byte by byte, and the registries they are pushed to.

Layers are tar archives made here with exactly the entries a test wants (whiteouts, opaque
directories, hard links); every image has a base layer with Debian's static busybox, so its
pods can run `sh`. Images are pushed to Debian's `docker-registry` (the distribution registry)
started on a free loopback port, over the registry's HTTP API, and written as `docker save`
or OCI image-layout archives for the airgap import."""

import base64
import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_TYPES = {
    "none": "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_layer(entries) -> bytes:
    """A layer from (path, kind, value, mode) entries: kind is "file" (value: bytes), "dir",
    "symlink" or "hardlink" (value: the target)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, kind, value, mode in entries:
            info = tarfile.TarInfo(path)
            info.mode = mode
            info.mtime = 0
            if kind == "file":
                info.size = len(value)
                tar.addfile(info, io.BytesIO(value))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE}[kind]
            if kind in ("symlink", "hardlink"):
                info.linkname = value
            tar.addfile(info)
    return out.getvalue()


def busybox_layer() -> bytes:
    """Debian's static busybox with a link per applet: a base every test image shares."""
    binary = Path("/bin/busybox").read_bytes()
    entries = [("bin", "dir", None, 0o755), ("bin/busybox", "file", binary, 0o755), ("etc", "dir", None, 0o755),
               ("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n", 0o644),
               ("tmp", "dir", None, 0o1777), ("usr", "dir", None, 0o755), ("usr/bin", "dir", None, 0o755),
               ("sbin", "dir", None, 0o755), ("usr/sbin", "dir", None, 0o755), ("root", "dir", None, 0o700)]
    applets = subprocess.run(["/bin/busybox", "--list-full"], capture_output=True, text=True, check=True).stdout.split()
    entries += [(applet, "symlink", "/bin/busybox", 0o777) for applet in applets if applet != "bin/busybox"]
    return tar_layer(entries)


def compress(data: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.compress(data, mtime=0)
    if compression == "zstd":
        return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True, check=True).stdout
    return data


class Image:
    """An image for one platform: layers (uncompressed tars, bottom first), how to run it."""

    def __init__(self, layers, cmd=None, user=None, env=None, architecture="amd64", compression="gzip", entrypoint=None):
        self.layers = layers
        self.compression = compression
        self.architecture = architecture
        config = {"Env": env or ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]}
        if cmd:
            config["Cmd"] = cmd
        if entrypoint:
            config["Entrypoint"] = entrypoint
        if user is not None:
            config["User"] = user
        self.config = json.dumps({
            "architecture": architecture, "os": "linux", "config": config,
            "rootfs": {"type": "layers", "diff_ids": [digest(layer) for layer in layers]},
        }, sort_keys=True).encode()
        self.blobs = [compress(layer, compression) for layer in layers]
        self.manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": digest(self.config), "size": len(self.config)},
            "layers": [{"mediaType": LAYER_TYPES[compression], "digest": digest(blob), "size": len(blob)} for blob in self.blobs],
        }, sort_keys=True).encode()

    def descriptor(self):
        return {"mediaType": OCI_MANIFEST, "digest": digest(self.manifest), "size": len(self.manifest),
                "platform": {"architecture": self.architecture, "os": "linux"}}


def index(images) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                       "manifests": [image.descriptor() for image in images]}, sort_keys=True).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    """Debian's docker-registry on a free loopback port, with its own storage; with `users`, it
    asks for Basic credentials from an htpasswd file."""

    def __init__(self, workdir: Path, users=None):
        self.dir = Path(tempfile.mkdtemp(prefix="registry-", dir=workdir))
        self.port = free_port()
        self.users = users or {}
        auth = ""
        if self.users:
            htpasswd = self.dir / "htpasswd"
            for user, password in self.users.items():
                line = subprocess.run(["htpasswd", "-Bbn", user, password], capture_output=True, text=True, check=True).stdout
                with open(htpasswd, "a") as f:
                    f.write(line.strip() + "\n")
            auth = f"auth:\n  htpasswd:\n    realm: swiftlet-tests\n    path: {htpasswd}\n"
        (self.dir / "config.yml").write_text(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.dir / 'storage'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{self.port}\n" + auth)
        self.log = open(self.dir / "registry.log", "wb")
        self.proc = subprocess.Popen(["docker-registry", "serve", str(self.dir / "config.yml")],
                                     stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("docker-registry exited: " + (self.dir / "registry.log").read_text())
                time.sleep(0.05)
        raise RuntimeError("docker-registry did not listen")

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _request(self, method, path, data=None, headers=None):
        request = urllib.request.Request(f"http://{self.host}{path}", data=data, method=method, headers=headers or {})
        if self.users:
            user, password = next(iter(self.users.items()))
            request.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()

    def push_blob(self, repository: str, data: bytes):
        status, headers, _ = self._request("POST", f"/v2/{repository}/blobs/uploads/")
        location = headers["Location"]
        if location.startswith("http"):
            location = location.split(self.host, 1)[1]
        separator = "&" if "?" in location else "?"
        self._request("PUT", f"{location}{separator}digest={digest(data)}", data=data,
                      headers={"Content-Type": "application/octet-stream"})

    def push_manifest(self, repository: str, reference: str, data: bytes, media_type: str):
        self._request("PUT", f"/v2/{repository}/manifests/{reference}", data=data, headers={"Content-Type": media_type})

    def push(self, repository: str, tag: str, image: Image) -> str:
        """Pushes one image under a tag; returns its manifest digest."""
        for blob in image.blobs + [image.config]:
            self.push_blob(repository, blob)
        self.push_manifest(repository, tag, image.manifest, OCI_MANIFEST)
        return digest(image.manifest)

    def push_index(self, repository: str, tag: str, images) -> str:
        """Pushes images for several platforms under one tag; returns the index's digest."""
        for image in images:
            for blob in image.blobs + [image.config]:
                self.push_blob(repository, blob)
            self.push_manifest(repository, digest(image.manifest), image.manifest, OCI_MANIFEST)
        data = index(images)
        self.push_manifest(repository, tag, data, OCI_INDEX)
        return digest(data)


def oci_archive(path: Path, name: str, image: Image):
    """An OCI image layout as a tar, named with containerd's annotation."""
    with tarfile.open(path, "w") as tar:
        def add(member: str, data: bytes):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        descriptor = image.descriptor()
        descriptor["annotations"] = {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1]}
        add("index.json", json.dumps({"schemaVersion": 2, "manifests": [descriptor]}).encode())
        for blob in image.blobs + [image.config, image.manifest]:
            add("blobs/sha256/" + digest(blob)[7:], blob)


def docker_archive(path: Path, tag: str, image: Image):
    """A `docker save` tarball: manifest.json, the config, and each layer uncompressed in a
    folder of its own."""
    with tarfile.open(path, "w") as tar:
        def add(member: str, data: bytes):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        config_name = digest(image.config)[7:] + ".json"
        add(config_name, image.config)
        layer_paths = []
        for number, layer in enumerate(image.layers):
            folder = hashlib.sha256(f"{number}".encode()).hexdigest()
            add(f"{folder}/layer.tar", layer)
            layer_paths.append(f"{folder}/layer.tar")
        add("manifest.json", json.dumps([{"Config": config_name, "RepoTags": [tag], "Layers": layer_paths}]).encode())

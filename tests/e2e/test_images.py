"""Images through the real kubectl: pods whose filesystem is their image and nothing of the
host, pulled from Debian's docker-registry on loopback (by tag, by digest, from an index of two
platforms, from a private registry with a pull secret, through a registries.yaml mirror with a
rewrite), imported from archives, with Kubernetes' pull policies and failures, and confined as
containerd confines containers."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import Kubectl, Server, kubectl_binaries, swiftlet_bin, wait_for
from oci import Image, Registry, busybox_layer, docker_archive, oci_archive, tar_layer

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the node agent needs root")

PRIVATE_USER, PRIVATE_PASSWORD = "puller", "s3cret-pass"


@pytest.fixture(scope="module")
def base():
    return busybox_layer()


@pytest.fixture(scope="module")
def registries(workdir):
    public = Registry(workdir)
    private = Registry(workdir, users={PRIVATE_USER: PRIVATE_PASSWORD})
    yield public, private
    public.stop()
    private.stop()


@pytest.fixture(scope="module")
def cluster(workdir, registries, base):
    public, _ = registries
    data = workdir / "images-data"
    data.mkdir()
    # A mirror for a registry that does not exist, with a rewrite of the repository path.
    (data / "registries.yaml").write_text(f"""mirrors:
  mirror.invalid:
    endpoint:
      - "http://{public.host}"
    rewrite:
      "^team/(.*)": "mirrored/$1"
""")
    # An archive in the airgap folder before the server starts: imported at start.
    (data / "images").mkdir()
    oci_archive(data / "images" / "airgapped.tar", "docker.io/example/airgapped:1.0",
                Image([base, tar_layer([("marker", "file", b"from the airgap folder\n", 0o644)])], cmd=["sleep", "3600"]))
    server = Server(data, agent=True)
    server.start()
    yield server
    server.stop()
    server.cleanup()


@pytest.fixture(scope="module")
def k(cluster, workdir):
    return Kubectl(kubectl_binaries()[0][1], cluster, workdir / "cache-images")


def pod_json(k, name):
    return json.loads(k("get", "pod", name, "-o", "json"))


def run_pod(k, name, image, command=None, extra="", container_extra="", policy=None):
    command_line = f"\n      command: {json.dumps(command)}" if command else ""
    policy_line = f"\n      imagePullPolicy: {policy}" if policy else ""
    k.apply(f"""
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  terminationGracePeriodSeconds: 1
  restartPolicy: Never
{extra}
  containers:
    - name: main
      image: {image}{command_line}{policy_line}
{container_extra}""")


def container_status(k, name):
    statuses = pod_json(k, name)["status"].get("containerStatuses", [])
    return statuses[0] if statuses else {}


def wait_output(k, name, timeout=60):
    """Waits until the pod's container ended with 0; returns its log."""
    def finished():
        terminated = container_status(k, name).get("state", {}).get("terminated")
        return terminated if terminated else None
    terminated = wait_for(finished, timeout=timeout, what=f"pod {name} to finish")
    log = k("logs", name)
    assert terminated["exitCode"] == 0, f"{name} exited with {terminated}: {log}"
    return log


def wait_waiting(k, name, reason, timeout=60):
    def check():
        waiting = container_status(k, name).get("state", {}).get("waiting", {})
        return waiting if waiting.get("reason") == reason else None
    return wait_for(check, timeout=timeout, what=f"pod {name} waiting with {reason}")


def events(k, name):
    out = k("get", "events", "--field-selector", f"involvedObject.name={name}", "-o", "json")
    return [(e["reason"], e["message"]) for e in json.loads(out)["items"]]


def delete(k, *names):
    k("delete", "pod", *names, "--wait=true")


def test_an_index_with_whiteouts_an_opaque_directory_and_a_hard_link_runs_with_exactly_its_files(k, registries, base):
    public, _ = registries
    lower = tar_layer([
        ("data", "dir", None, 0o755), ("data/kept", "file", b"kept\n", 0o644), ("data/removed", "file", b"gone\n", 0o644),
        ("data/dir", "dir", None, 0o755), ("data/dir/old-1", "file", b"old\n", 0o644), ("data/dir/old-2", "file", b"old\n", 0o644),
        ("platform", "file", b"amd64\n", 0o644),
    ])
    upper = tar_layer([
        ("data/.wh.removed", "file", b"", 0o644),
        ("data/dir/.wh..wh..opq", "file", b"", 0o644), ("data/dir/new", "file", b"new\n", 0o644),
        ("data/original", "file", b"linked\n", 0o640), ("data/link", "hardlink", "data/original", 0o640),
    ])
    listing = ["sh", "-c", "cd /data && find . | sort && cat platform 2>/dev/null; cat /platform; "
                           "stat -c '%h %a' /data/link; cat /data/link"]
    amd64 = Image([base, lower, upper], cmd=listing)
    # The other platform's layer would show itself: the node must not pick it.
    arm64 = Image([base, tar_layer([("platform", "file", b"arm64\n", 0o644)])], cmd=listing, architecture="arm64")
    index_digest = public.push_index("layers/app", "1.0", [arm64, amd64])

    run_pod(k, "layers", f"{public.host}/layers/app:1.0")
    out = wait_output(k, "layers").splitlines()
    assert out == [".", "./dir", "./dir/new", "./kept", "./link", "./original", "amd64", "2 640", "linked"]
    status = container_status(k, "layers")
    assert status["image"] == f"{public.host}/layers/app:1.0"
    assert status["imageID"] == f"{public.host}/layers/app@{index_digest}"
    messages = events(k, "layers")
    assert ("Pulling", f'Pulling image "{public.host}/layers/app:1.0"') in messages
    assert any(r == "Pulled" and m.startswith(f'Successfully pulled image "{public.host}/layers/app:1.0" in ') for r, m in messages)
    delete(k, "layers")


def test_pull_by_digest_and_always_picks_up_a_moved_tag(k, registries, base):
    public, _ = registries
    first = Image([base, tar_layer([("version", "file", b"v1\n", 0o644)])], cmd=["cat", "/version"], compression="zstd")
    second = Image([base, tar_layer([("version", "file", b"v2\n", 0o644)])], cmd=["cat", "/version"])
    first_digest = public.push("moving/app", "latest", first)

    run_pod(k, "tag-v1", f"{public.host}/moving/app")  # untagged: latest, so Always
    assert wait_output(k, "tag-v1").strip() == "v1"
    public.push("moving/app", "latest", second)
    run_pod(k, "tag-v2", f"{public.host}/moving/app")
    assert wait_output(k, "tag-v2").strip() == "v2"
    # The first image is still there by digest.
    run_pod(k, "by-digest", f"{public.host}/moving/app@{first_digest}")
    assert wait_output(k, "by-digest").strip() == "v1"
    assert container_status(k, "by-digest")["imageID"] == f"{public.host}/moving/app@{first_digest}"
    delete(k, "tag-v1", "tag-v2", "by-digest")


def test_a_private_registry_refuses_a_pod_without_credentials_and_takes_one_with_a_pull_secret(k, registries, base):
    _, private = registries
    private.push("secret/app", "1.0", Image([base], cmd=["echo", "pulled with credentials"]))
    image = f"{private.host}/secret/app:1.0"

    run_pod(k, "no-creds", image)
    waiting = wait_waiting(k, "no-creds", "ErrImagePull")
    assert f'failed to pull and unpack image "{image}"' in waiting["message"]
    assert "401 Unauthorized" in waiting["message"]
    backoff = wait_waiting(k, "no-creds", "ImagePullBackOff")
    assert backoff["message"].startswith(f'Back-off pulling image "{image}": ErrImagePull: ')
    assert ("Failed", "Error: ErrImagePull") in events(k, "no-creds")

    k("create", "secret", "docker-registry", "regcred", f"--docker-server={private.host}",
      f"--docker-username={PRIVATE_USER}", f"--docker-password={PRIVATE_PASSWORD}")
    run_pod(k, "with-creds", image, extra="  imagePullSecrets:\n    - name: regcred")
    assert wait_output(k, "with-creds").strip() == "pulled with credentials"
    delete(k, "no-creds", "with-creds")


def test_a_registries_yaml_mirror_and_rewrite_serve_a_registry_that_does_not_exist(k, registries, base):
    public, _ = registries
    public.push("mirrored/app", "2.0", Image([base], cmd=["echo", "served by the mirror"]))
    run_pod(k, "mirrored", "mirror.invalid/team/app:2.0")
    assert wait_output(k, "mirrored").strip() == "served by the mirror"
    assert container_status(k, "mirrored")["image"] == "mirror.invalid/team/app:2.0"
    delete(k, "mirrored")


def test_a_pod_sees_nothing_of_the_host(k, cluster):
    data_dir = str(cluster.data_dir)
    run_pod(k, "isolated", "kiamol/ch03-sleep", command=["sh", "-c", f"""
        test -e {data_dir} && echo data-dir-visible
        test -e /etc/shadow && echo shadow-visible
        ls -A /root
        head -c 1 /proc/kcore >/dev/null 2>&1 && echo kcore-readable
        test -e /var/lib/swiftlet && echo swiftlet-visible
        echo checked"""])
    assert wait_output(k, "isolated").split() == ["checked"]
    delete(k, "isolated")


def test_pull_failures_as_kubernetes_reports_them(k, registries):
    public, _ = registries
    missing = f"{public.host}/nothing/here:1.0"
    run_pod(k, "missing", missing)
    waiting = wait_waiting(k, "missing", "ErrImagePull")
    assert waiting["message"] == (f'rpc error: code = NotFound desc = failed to pull and unpack image "{missing}": '
                                  f"failed to resolve image: {missing}: not found")
    wait_waiting(k, "missing", "ImagePullBackOff")

    run_pod(k, "never", f"{public.host}/never/pulled:1.0", policy="Never")
    never = wait_waiting(k, "never", "ErrImageNeverPull")
    assert never["message"] == f'Container image "{public.host}/never/pulled:1.0" is not present with pull policy of Never'

    # An image refused by the API's validation never reaches the node; one it lets through may still not parse.
    run_pod(k, "invalid", "registry.example/Upper:1.0")
    invalid = wait_waiting(k, "invalid", "InvalidImageName")
    assert "invalid reference format" in invalid["message"]
    delete(k, "missing", "never", "invalid")


def test_archives_imported_at_start_and_by_the_command_run_without_a_registry(k, cluster, base, workdir):
    run_pod(k, "airgapped", "docker.io/example/airgapped:1.0", command=["cat", "/marker"], policy="IfNotPresent")
    assert wait_output(k, "airgapped").strip() == "from the airgap folder"
    assert any(r == "Pulled" and "already present on machine" in m for r, m in events(k, "airgapped"))

    archive = workdir / "imported.tar"
    docker_archive(archive, "example/imported:2.0", Image([base, tar_layer([("marker", "file", b"from docker save\n", 0o644)])]))
    compressed = workdir / "imported.tar.zst"
    subprocess.run(["zstd", "-q", "-f", str(archive), "-o", str(compressed)], check=True)
    imported = subprocess.run([swiftlet_bin(), "images", "import", "--data-dir", str(cluster.data_dir), str(compressed)],
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert imported.returncode == 0, imported.stderr
    assert "unpacking docker.io/example/imported:2.0" in imported.stdout
    listing = subprocess.run([swiftlet_bin(), "images", "ls", "--data-dir", str(cluster.data_dir)],
                             capture_output=True, text=True, timeout=60).stdout
    rows = [line.split() for line in listing.splitlines()]
    assert ["docker.io/example/imported", "2.0"] == rows[[r[0] for r in rows].index("docker.io/example/imported")][:2]
    # The chapter's images are there too, built offline.
    for name in ["docker.io/kiamol/ch02-whoami", "docker.io/kiamol/ch05-pi", "docker.io/kiamol/ch03-sleep",
                 "docker.io/library/nginx", "docker.io/library/busybox"]:
        assert name in [r[0] for r in rows], listing
    assert "(shared layers counted once)" in listing

    run_pod(k, "imported", "example/imported:2.0", command=["cat", "/marker"], policy="IfNotPresent")
    assert wait_output(k, "imported").strip() == "from docker save"
    delete(k, "airgapped", "imported")


def test_the_node_lists_its_images(k, cluster):
    def listed():
        node = json.loads(k("get", "node", cluster.node_name, "-o", "json"))
        names = [name for image in node["status"].get("images", []) for name in image["names"]]
        return names if "docker.io/kiamol/ch03-sleep:latest" in names else None
    names = wait_for(listed, timeout=90, what="the node's status.images")
    assert any(name.startswith("docker.io/kiamol/ch03-sleep@sha256:") for name in names)


def test_containers_are_confined_as_containerd_confines_them(k):
    # RuntimeDefault: no new namespaces, no mounts, a filter in place; no_new_privs from allowPrivilegeEscalation.
    run_pod(k, "confined", "kiamol/ch03-sleep", command=["sh", "-c", """
        grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status
        unshare -r true 2>/dev/null && echo unshare-worked || echo unshare-refused
        mkdir -p /m; mount -t tmpfs none /m 2>/dev/null && echo mount-worked || echo mount-refused"""],
            extra="  securityContext:\n    seccompProfile:\n      type: RuntimeDefault",
            container_extra="      securityContext:\n        allowPrivilegeEscalation: false")
    assert wait_output(k, "confined").split() == ["NoNewPrivs:", "1", "Seccomp:", "2", "unshare-refused", "mount-refused"]

    # runAsNonRoot against an image that runs as root: refused with the kubelet's words.
    run_pod(k, "nonroot", "kiamol/ch03-sleep", container_extra="      securityContext:\n        runAsNonRoot: true")
    waiting = wait_waiting(k, "nonroot", "CreateContainerConfigError")
    assert waiting["message"].startswith("container has runAsNonRoot and image will run as root (pod: \"nonroot_default(")
    run_pod(k, "asuser", "kiamol/ch03-sleep", command=["id", "-u"],
            container_extra="      securityContext:\n        runAsNonRoot: true\n        runAsUser: 4321")
    assert wait_output(k, "asuser").strip() == "4321"

    # privileged starts (with every capability the node has), hostPID sees the node's processes.
    run_pod(k, "privileged", "kiamol/ch03-sleep", command=["sh", "-c", "grep CapEff /proc/self/status; test -e /proc/1/cmdline && cat /proc/1/comm"],
            extra="  hostPID: true", container_extra="      securityContext:\n        privileged: true")
    out = wait_output(k, "privileged").split()
    with open("/proc/1/comm") as f:
        assert out[-1] == f.read().strip()
    assert out[1] != "00000000a80425fb"  # more than the default capabilities
    delete(k, "confined", "nonroot", "asuser", "privileged")

#!/usr/bin/env python3
"""Image benchmarks: pulling and unpacking, and the disk that images sharing a layer take.

1. Pull and unpack. Builds an image of about --size-mb MB in --layers gzip layers (files half
   random, half text, so it compresses as programs do), pushes it to Debian's docker-registry on
   a loopback port, then times, in alternating turns on fresh directories:
   - `swiftlet images pull` (downloads, verifies, stores and unpacks every layer into its snapshot);
   - `skopeo copy docker://… oci:…` followed by `umoci unpack` (the same work by the usual tools).
2. Shared layers. Pushes --images images that share one base layer of half the size and each
   add a small layer of their own, pulls them all into one store, and reports the store's disk
   use next to the sum of the images' sizes.

Prints a Markdown table; asserts nothing. Needs root (snapshots keep owners and whiteouts), and
`docker-registry`, `skopeo` and `umoci` (installed from Debian's packages when missing).

    sudo bench/image-pull.py [--size-mb 200] [--layers 5] [--rounds 5] [--images 10]

The binary is $SWIFTLET_BIN, else .build/release/swiftlet, else .build/debug/swiftlet.
"""

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from oci import Image, Registry, tar_layer  # noqa: E402

MB = 1000 * 1000


def swiftlet_binary():
    explicit = os.environ.get("SWIFTLET_BIN")
    if explicit:
        return os.path.abspath(explicit)
    for build in ("release", "debug"):
        path = REPO / ".build" / build / "swiftlet"
        if path.exists():
            return str(path)
    sys.exit("no swiftlet binary: set SWIFTLET_BIN or build one (swift build -c release)")


def ensure_tools():
    missing = [package for command, package in [("docker-registry", "docker-registry"), ("skopeo", "skopeo"),
                                                 ("umoci", "umoci")] if shutil.which(command) is None]
    if missing:
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, stdout=subprocess.DEVNULL)


def layer(seed: int, megabytes: float) -> bytes:
    """Files of 1 MB, half random bytes and half text: about 2:1 under gzip, as binaries are."""
    rng = random.Random(seed)
    text = b"".join(f"line {i} of layer {seed}: some configuration text\n".encode() for i in range(12000))
    entries = [(f"data{seed}", "dir", None, 0o755)]
    for index in range(max(1, int(megabytes))):
        content = rng.randbytes(MB // 2) + text[: MB // 2]
        entries.append((f"data{seed}/file{index}", "file", content, 0o644))
    return tar_layer(entries)


def timed(command):
    started = time.monotonic()
    run = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    if run.returncode != 0:
        sys.exit(f"{' '.join(command)} failed: {run.stderr}")
    return time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--images", type=int, default=10)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root")
    ensure_tools()
    binary = swiftlet_binary()
    work = Path(tempfile.mkdtemp(prefix="image-bench-"))
    registry = Registry(work)
    try:
        layers = [layer(seed, args.size_mb / args.layers) for seed in range(args.layers)]
        image = Image(layers, cmd=["true"])
        registry.push("bench/big", "1", image)
        compressed = sum(len(blob) for blob in image.blobs)
        unpacked = sum(len(data) for data in layers)
        reference = f"{registry.host}/bench/big:1"

        swiftlet, tools = [], []
        for turn in range(args.rounds):
            store = work / f"swiftlet-{turn}"
            swiftlet.append(timed([binary, "images", "pull", "--data-dir", str(store), reference]))
            shutil.rmtree(store)
            layout = work / f"tools-{turn}"
            layout.mkdir()
            copy = timed(["skopeo", "copy", "--quiet", "--src-tls-verify=false", f"docker://{reference}",
                          f"oci:{layout / 'layout'}:1"])
            unpack = timed(["umoci", "unpack", "--image", f"{layout / 'layout'}:1", str(layout / "bundle")])
            tools.append(copy + unpack)
            shutil.rmtree(layout)

        base = layer(1000, args.size_mb / 2)
        total = 0
        store = work / "shared"
        for number in range(args.images):
            own = Image([base, layer(2000 + number, 1)], cmd=["true"])
            registry.push(f"bench/shared{number}", "1", own)
            total += sum(len(blob) for blob in own.blobs)
        for number in range(args.images):
            subprocess.run([binary, "images", "pull", "--data-dir", str(store), f"{registry.host}/bench/shared{number}:1"],
                           check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        listing = subprocess.run([binary, "images", "ls", "--data-dir", str(store)], capture_output=True, text=True,
                                 check=True).stdout.strip().splitlines()[-1]
        disk = int(subprocess.run(["du", "-sb", str(store / "image-store")], capture_output=True, text=True,
                                  check=True).stdout.split()[0])

        def median(values):
            return statistics.median(values)
        print(f"Image: {args.layers} gzip layers, {compressed / MB:.0f} MB compressed, {unpacked / MB:.0f} MB unpacked; "
              f"{args.rounds} alternating turns, medians.\n")
        print("| path | median | min | max | × swiftlet |")
        print("| --- | --- | --- | --- | --- |")
        for name, values in [("`swiftlet images pull`", swiftlet), ("`skopeo copy` + `umoci unpack`", tools)]:
            print(f"| {name} | {median(values):.2f} s | {min(values):.2f} s | {max(values):.2f} s | "
                  f"{median(values) / median(swiftlet):.2f} |")
        print(f"\n{args.images} images sharing a {len(base) / MB:.0f} MB base layer, each with a 1 MB layer of its own: "
              f"{total / MB:.0f} MB of content in all; the store holds {disk / MB:.0f} MB "
              f"(blobs and snapshots) — `swiftlet images ls`: {listing}")
    finally:
        registry.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

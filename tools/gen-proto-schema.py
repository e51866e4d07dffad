#!/usr/bin/env python3
"""Generate Sources/SwiftletAPI/Protobuf/KubernetesProtobufData.swift.

kubectl and client-go send typed request bodies as Kubernetes protobuf. Swiftlet holds objects
as JSON, so it turns each body into the JSON the same Go object would marshal to. That needs,
for every message reachable from the kinds Swiftlet serves:

- field numbers and wire types, from the generated.proto files of k8s.io/api and
  k8s.io/apimachinery;
- what Go's encoding/json makes of each field, from the Go struct tags in the same packages:
  the JSON name, `,inline` embedding (Volume's VolumeSource members sit beside `name`), and
  whether a zero value is dropped. Go clients write every non-pointer scalar field, even when
  empty, so `omitempty` on a non-pointer field is what keeps `namespace: ""` or
  `restartPolicy: ""` out of the stored object (defaulting treats those as set), and
  `omitzero` keeps an unset creationTimestamp out. Pointer fields are written only when set,
  so their zero values (`replicas: 0`) are kept.
  Fields are listed in Go struct order, which is the order Go's JSON writes them.

Usage (both sources may be checkouts, or git repositories read at --ref):
    git clone --bare https://github.com/kubernetes/api /tmp/k8s-api
    git clone --bare https://github.com/kubernetes/apimachinery /tmp/k8s-apimachinery
    python3 tools/gen-proto-schema.py --api /tmp/k8s-api --apimachinery /tmp/k8s-apimachinery --ref v0.34.0
"""

import argparse
import os
import re
import subprocess
import sys

OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                      "Sources", "SwiftletAPI", "Protobuf", "KubernetesProtobufData.swift")

META = "k8s.io.apimachinery.pkg.apis.meta.v1"

# (apiVersion, proto package, message) of every kind a request body may carry.
ROOTS = [("v1", "k8s.io.api.core.v1", k) for k in [
    "Namespace", "Node", "Pod", "Service", "Endpoints", "ConfigMap", "Secret", "Event", "ServiceAccount",
    "ReplicationController", "Binding"]] + [
    ("apps/v1", "k8s.io.api.apps.v1", k)
    for k in ["Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "ControllerRevision"]] + [
    ("discovery.k8s.io/v1", "k8s.io.api.discovery.v1", "EndpointSlice"),
    ("coordination.k8s.io/v1", "k8s.io.api.coordination.v1", "Lease"),
    ("autoscaling/v1", "k8s.io.api.autoscaling.v1", "Scale"),
    ("autoscaling/v2", "k8s.io.api.autoscaling.v2", "HorizontalPodAutoscaler"),
    ("batch/v1", "k8s.io.api.batch.v1", "Job"),
    ("batch/v1", "k8s.io.api.batch.v1", "CronJob"),
    ("policy/v1", "k8s.io.api.policy.v1", "Eviction"),
    ("policy/v1", "k8s.io.api.policy.v1", "PodDisruptionBudget"),
    ("events.k8s.io/v1", "k8s.io.api.events.v1", "Event"),
] + [
    ("rbac.authorization.k8s.io/v1", "k8s.io.api.rbac.v1", k)
    for k in ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"]] + [
    ("authentication.k8s.io/v1", "k8s.io.api.authentication.v1", k)
    for k in ["TokenRequest", "TokenReview", "SelfSubjectReview"]] + [
    ("authorization.k8s.io/v1", "k8s.io.api.authorization.v1", k)
    for k in ["SubjectAccessReview", "SelfSubjectAccessReview", "LocalSubjectAccessReview", "SelfSubjectRulesReview"]]
# DeleteOptions is registered in every group version, and a typed client names its own.
ROOTS += [(v, META, "DeleteOptions") for v in sorted({r[0] for r in ROOTS} | {"meta.k8s.io/v1"})]

# Messages whose Go types marshal to JSON by hand; each becomes a one-letter value kind.
SPECIAL = {
    META + ".Time": "t",
    META + ".MicroTime": "m",
    META + ".FieldsV1": "j",
    "k8s.io.apimachinery.pkg.runtime.RawExtension": "j",
    "k8s.io.apimachinery.pkg.api.resource.Quantity": "q",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": "n",
    # type ExtraValue []string: a message of repeated string items, in JSON only the list.
    "k8s.io.api.authentication.v1.ExtraValue": "a",
    "k8s.io.api.authorization.v1.ExtraValue": "a",
}
SCALARS = {"string": "s", "bool": "b", "int32": "i", "int64": "l", "bytes": "y"}


class Source:
    """Files of one repository, from a checkout or, with a ref, from a (bare) git repository."""

    def __init__(self, root, ref):
        self.root, self.ref = root, ref

    def names(self, directory):
        if self.ref:
            out = subprocess.run(["git", "-C", self.root, "ls-tree", "--name-only", self.ref, directory + "/"],
                                 check=True, capture_output=True, text=True).stdout.split()
            return sorted(os.path.basename(p) for p in out)
        full = os.path.join(self.root, directory)
        return sorted(os.listdir(full)) if os.path.isdir(full) else []

    def read(self, path):
        if self.ref:
            return subprocess.run(["git", "-C", self.root, "show", self.ref + ":" + path],
                                  check=True, capture_output=True, text=True).stdout
        with open(os.path.join(self.root, path)) as f:
            return f.read()


def parse_proto(text):
    """{message name: [(number, field name, label, type)]} of one generated.proto."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    messages = {}
    for m in re.finditer(r"\bmessage\s+(\w+)\s*\{([^{}]*)\}", text):
        fields = []
        for f in re.finditer(r"(optional|repeated|required)?\s*(map\s*<\s*[\w.]+\s*,\s*[\w.]+\s*>|[\w.]+)\s+(\w+)\s*=\s*(\d+)\s*;",
                             m.group(2)):
            fields.append((int(f.group(4)), f.group(3), f.group(1) or "", re.sub(r"\s", "", f.group(2))))
        messages[m.group(1)] = fields
    return messages


def parse_go_structs(text):
    """{struct name: [(proto number, json name, options, pointer)]} in field order."""
    structs = {}
    for m in re.finditer(r"^type (\w+) struct \{\n(.*?)^\}", text, flags=re.S | re.M):
        fields = []
        for line in m.group(2).split("\n"):
            line = line.strip()
            tag = re.search(r"`([^`]*)`", line)
            if line.startswith("//") or not tag:
                continue
            proto = re.search(r'protobuf:"\w+,(\d+),', tag.group(1))
            js = re.search(r'json:"([^"]*)"', tag.group(1))
            if not proto or not js:
                continue
            options = js.group(1).split(",")
            decl = line[:tag.start()].split()
            go_type = decl[-1] if decl else ""
            fields.append((int(proto.group(1)), options[0], set(options[1:]), go_type.startswith("*")))
        structs[m.group(1)] = fields
    return structs


class Packages:
    """Proto messages and Go structs by proto package, loaded on demand."""

    def __init__(self, api, apimachinery):
        self.sources = [("k8s.io.api.", api), ("k8s.io.apimachinery.", apimachinery)]
        self.protos, self.structs = {}, {}

    def load(self, package):
        if package in self.protos:
            return
        for prefix, source in self.sources:
            if package.startswith(prefix):
                directory = package[len(prefix):].replace(".", "/")
                break
        else:
            sys.exit("no source for proto package " + package)
        self.protos[package] = parse_proto(source.read(directory + "/generated.proto"))
        structs = {}
        for name in source.names(directory):
            if name.endswith(".go") and not name.endswith("_test.go") and not name.startswith(("zz_", "generated")):
                structs.update(parse_go_structs(source.read(directory + "/" + name)))
        self.structs[package] = structs

    def message(self, package, name):
        self.load(package)
        if name not in self.protos[package]:
            sys.exit("%s.%s: no such message" % (package, name))
        return self.protos[package][name]

    def struct(self, package, name):
        self.load(package)
        if name not in self.structs[package]:
            sys.exit("%s.%s: no Go struct" % (package, name))
        return self.structs[package][name]


class Builder:
    def __init__(self, packages):
        self.packages = packages
        self.index = {}     # full message name -> index
        self.lines = []     # one per message, filled in as messages are reached
        self.warnings = []

    def resolve(self, type_name, package):
        if type_name.startswith("."):
            return type_name[1:]
        return package + "." + type_name

    def value(self, type_name, package):
        if type_name in SCALARS:
            return SCALARS[type_name]
        full = self.resolve(type_name, package)
        if full in SPECIAL:
            return SPECIAL[full]
        return str(self.message(full))

    def message(self, full):
        if full in self.index:
            return self.index[full]
        package, name = full.rsplit(".", 1)
        index = len(self.lines)
        self.index[full] = index
        self.lines.append(None)
        proto = {number: (fname, label, ftype) for number, fname, label, ftype in self.packages.message(package, name)}
        go = self.packages.struct(package, name)
        fields = []
        seen = set()
        for number, json_name, options, pointer in go:
            if number not in proto:
                sys.exit("%s: Go field %d (%s) is not in the proto" % (full, number, json_name))
            seen.add(number)
            proto_name, label, ftype = proto[number]
            inline = "inline" in options
            if json_name == "-":
                self.warnings.append("%s.%s: not in JSON; skipped" % (name, proto_name))
                continue
            if not inline and json_name != proto_name:
                self.warnings.append("%s field %d: proto name %s, JSON name %s" % (name, number, proto_name, json_name))
            mapped = re.match(r"map<([\w.]+),([\w.]+)>", ftype)
            if mapped:
                if mapped.group(1) != "string":
                    sys.exit("%s.%s: map key %s" % (full, proto_name, mapped.group(1)))
                kind = "%" + self.value(mapped.group(2), package)
            elif label == "repeated":
                kind = "*" + self.value(ftype, package)
            else:
                kind = self.value(ftype, package)
            flags = ""
            if inline:
                if not kind.isdigit():
                    sys.exit("%s.%s: inline field of kind %s" % (full, proto_name, kind))
                flags = "^"
            elif "omitzero" in options and not pointer:
                # The decoder knows the zero value of scalars and of times only.
                if kind not in list(SCALARS.values()) + ["t", "m"]:
                    sys.exit("%s.%s: omitzero on a field of kind %s" % (full, proto_name, kind))
                flags = "?"
            elif "omitempty" in options and not pointer and kind in SCALARS.values():
                flags = "?"
            fields.append("%d=%s:%s%s" % (number, "" if inline else json_name, kind, flags))
        missing = sorted(set(proto) - seen)
        if missing:
            sys.exit("%s: proto fields %s have no Go field" % (full, missing))
        self.lines[index] = " ".join([name] + fields)
        return index


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--api", required=True, help="k8s.io/api checkout or git repository")
    parser.add_argument("--apimachinery", required=True, help="k8s.io/apimachinery checkout or git repository")
    parser.add_argument("--ref", help="git ref to read both repositories at, e.g. v0.34.0")
    parser.add_argument("--output", default=OUTPUT)
    args = parser.parse_args()

    builder = Builder(Packages(Source(args.api, args.ref), Source(args.apimachinery, args.ref)))
    kinds = []
    for api_version, package, kind in ROOTS:
        kinds.append("%s/%s=%d" % (api_version, kind, builder.message(package + "." + kind)))
    for w in builder.warnings:
        print("warning:", w, file=sys.stderr)

    body = "\n".join([" ".join(kinds)] + builder.lines)
    if '"#' in body or "\\" in body:
        sys.exit("table text would break the raw string literal")
    version = args.ref or "(checkouts)"
    swift = '''// Generated by tools/gen-proto-schema.py: do not edit.
// Source: generated.proto files and Go struct tags of k8s.io/api and k8s.io/apimachinery %s.
//
// The first line maps apiVersion/Kind to a message. Then one message per line, numbered from 0:
// its name, then its fields in Go struct order as number=jsonName:kind. A kind is s string,
// b bool, i int32, l int64, y bytes, t Time, m MicroTime, q Quantity, n IntOrString,
// j raw JSON (RawExtension, FieldsV1), a a named string slice (ExtraValue), or a message
// number; *X is repeated X,
// %%X a map from string to X. Suffix ? drops a zero value ("", 0, false, a zero time: Go's
// omitempty on non-pointer scalars, omitzero); ^ inlines the message's members into the
// enclosing object (its JSON name is empty).

extension KubernetesProtobuf {
    static let data = #"""
%s
"""#
}
''' % (version, body)
    with open(args.output, "w") as f:
        f.write(swift)
    print("wrote %s: %d messages, %d kinds, %d bytes" % (os.path.normpath(args.output), len(builder.lines),
                                                        len(kinds), len(swift.encode())), file=sys.stderr)


if __name__ == "__main__":
    main()

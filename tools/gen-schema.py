#!/usr/bin/env python3
"""Generate Sources/SwiftletAPI/Schema/KubernetesSchemaData.swift.

Swiftlet rejects and prunes fields the way kube-apiserver's Go decoder does, so it needs the
Kubernetes 1.34 API schema for every kind it serves. The schema comes from the
`kubernetes-validate` PyPI package (its 1.34 "local-strict" JSON schema, which carries the
x-kubernetes-patch-* extensions strategic merge patch needs). Descriptions, enums, required
lists and everything else validation does not use are dropped, refs are turned into node
indices, and identical inline nodes are shared, so the Swift side loads a flat table.

Go decode errors name Go types ("... of type v1.Protocol"), which the OpenAPI schema does not
record. With --api/--apimachinery pointing at k8s.io/api and k8s.io/apimachinery sources
(checkouts, or git repositories read at --ref), the Go type of every field is taken from the
struct definitions; without them, names are derived from the schema and named scalar types
fall back to their underlying type (v1.Protocol prints as string).

Usage:
    pip install kubernetes-validate
    git clone --bare https://github.com/kubernetes/api /tmp/k8s-api
    git clone --bare https://github.com/kubernetes/apimachinery /tmp/k8s-apimachinery
    python3 tools/gen-schema.py --api /tmp/k8s-api --apimachinery /tmp/k8s-apimachinery --ref v0.34.0
"""

import argparse
import json
import os
import re
import subprocess
import sys

SCHEMA_VERSION = "v1.34.0"
SCHEMA_DIR = SCHEMA_VERSION + "-local-strict"
OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                      "Sources", "SwiftletAPI", "Schema", "KubernetesSchemaData.swift")

# The kinds Swiftlet serves or decodes (subresource bodies and options included).
ROOTS = [
    ("", "v1", k) for k in [
        "Namespace", "Node", "Pod", "Service", "Endpoints", "ConfigMap", "Secret", "Event",
        "ServiceAccount", "ReplicationController", "Binding", "DeleteOptions", "Status"]
] + [("apps", "v1", k) for k in ["Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "ControllerRevision"]] + [
    ("discovery.k8s.io", "v1", "EndpointSlice"),
    ("coordination.k8s.io", "v1", "Lease"),
    ("autoscaling", "v1", "Scale"),
    ("autoscaling", "v2", "HorizontalPodAutoscaler"),
    ("batch", "v1", "Job"),
    ("batch", "v1", "CronJob"),
    ("policy", "v1", "Eviction"),
    ("policy", "v1", "PodDisruptionBudget"),
    ("events.k8s.io", "v1", "Event"),
] + [("rbac.authorization.k8s.io", "v1", k) for k in ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"]] + [
    ("authentication.k8s.io", "v1", k) for k in ["TokenRequest", "TokenReview", "SelfSubjectReview"]] + [
    ("authorization.k8s.io", "v1", k)
    for k in ["SubjectAccessReview", "SelfSubjectAccessReview", "LocalSubjectAccessReview", "SelfSubjectRulesReview"]
]

# Types whose Go UnmarshalJSON replaces struct decoding: how each one decodes.
#   io  IntOrString: a string, or JSON decoded into an int32
#   q   Quantity: the text parsed by resource.ParseQuantity
#   t   Time: a string parsed as RFC 3339;  mt  MicroTime: RFC 3339 with microseconds
#   x   anything at all, kept raw
SPECIAL = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": "io",
    "io.k8s.apimachinery.pkg.api.resource.Quantity": "q",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time": "t",
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": "mt",
    "io.k8s.apimachinery.pkg.runtime.RawExtension": "x",
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1": "x",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON": "x",
}


def schema_path():
    import kubernetes_validate
    base = os.path.dirname(kubernetes_validate.__file__)
    path = os.path.join(base, "kubernetes-json-schema", SCHEMA_DIR, "_definitions.json")
    if not os.path.exists(path):
        sys.exit("kubernetes-validate has no %s schema at %s" % (SCHEMA_DIR, path))
    return path


# ---------------------------------------------------------------------------------------------
# Go sources: struct fields and named types, enough to print types as reflect.Type.String().

class GoSource:
    """Reads Go packages from a checkout or, with a ref, from a (bare) git repository."""

    def __init__(self, root, ref):
        self.root, self.ref = root, ref

    def files(self, directory):
        if self.ref:
            out = subprocess.run(["git", "-C", self.root, "ls-tree", "--name-only", self.ref, directory + "/"],
                                 check=True, capture_output=True, text=True).stdout.split()
            names = [os.path.basename(p) for p in out]
        else:
            full = os.path.join(self.root, directory)
            names = os.listdir(full) if os.path.isdir(full) else []
        for name in sorted(names):
            if not name.endswith(".go") or name.endswith("_test.go") or name.startswith("zz_generated") \
                    or name.startswith("generated") or "swagger" in name:
                continue
            path = directory + "/" + name
            if self.ref:
                yield subprocess.run(["git", "-C", self.root, "show", self.ref + ":" + path],
                                     check=True, capture_output=True, text=True).stdout
            else:
                with open(os.path.join(self.root, path)) as f:
                    yield f.read()


class GoPackage:
    def __init__(self, source, directory):
        self.name = None
        self.imports = {}   # local name -> import path
        self.structs = {}   # type name -> [(json name or None for inline, type expr)]
        self.named = {}     # type name -> type expr (non-struct)
        for text in source.files(directory):
            self.parse(text)

    def parse(self, text):
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
        lines = [re.sub(r"//.*$", "", l) if "`" not in l else l for l in text.split("\n")]
        m = re.search(r"^package (\w+)", "\n".join(lines), re.M)
        if m:
            self.name = m.group(1)
        i = 0
        while i < len(lines):
            line = lines[i].strip()
            if line.startswith("import ("):
                i += 1
                while not lines[i].strip().startswith(")"):
                    self.add_import(lines[i].strip())
                    i += 1
            elif line.startswith("import "):
                self.add_import(line[len("import "):])
            elif line == "type (":
                i += 1
                while not lines[i].strip().startswith(")"):
                    m = re.match(r"^(\w+) (\S.*)$", lines[i].strip())
                    if m and not m.group(2).startswith(("struct", "interface", "func", "=")):
                        self.named[m.group(1)] = m.group(2).strip()
                    i += 1
            else:
                m = re.match(r"^type (\w+) struct \{$", line)
                if m:
                    fields = []
                    i += 1
                    while lines[i].strip() != "}":
                        field = parse_field(lines[i].strip())
                        if field:
                            fields.append(field)
                        i += 1
                    self.structs[m.group(1)] = fields
                else:
                    m = re.match(r"^type (\w+) (\S.*)$", line)
                    if m and not m.group(2).startswith(("struct", "interface", "func", "=")):
                        self.named[m.group(1)] = m.group(2).strip()
            i += 1

    def add_import(self, spec):
        m = re.match(r'^(\w+)?\s*"([^"]+)"', spec)
        if m:
            path = m.group(2)
            self.imports[m.group(1) or path.split("/")[-1]] = path


def parse_field(line):
    """(json name, type expr) for a field line; json name None for an inlined embedded struct."""
    m = re.match(r"^(\w+)\s+([^`]+?)\s*`([^`]*)`", line)
    embedded = re.match(r"^(\*?[\w.]+)\s*`([^`]*)`", line)
    if embedded:
        tag = re.search(r'json:"([^"]*)"', embedded.group(2))
        name = tag.group(1).split(",")[0] if tag else ""
        if not name:
            return (None, embedded.group(1))
        return (name, embedded.group(1))
    if not m:
        return None
    tag = re.search(r'json:"([^"]*)"', m.group(3))
    if not tag:
        return None
    name = tag.group(1).split(",")[0]
    if name == "-" or name == "":
        return None
    return (name, m.group(2).strip())


class GoTypes:
    """Go packages by import path, loaded on demand from the k8s.io/api and apimachinery trees."""

    def __init__(self, api, apimachinery):
        self.sources = {"k8s.io/api/": api, "k8s.io/apimachinery/": apimachinery}
        self.packages = {}

    def package(self, import_path):
        if import_path not in self.packages:
            pkg = None
            for prefix, source in self.sources.items():
                if import_path.startswith(prefix) and source:
                    pkg = GoPackage(source, import_path[len(prefix):])
            self.packages[import_path] = pkg
        return self.packages[import_path]

    def parse_expr(self, expr, import_path):
        """A Go type expression as nested tuples, with identifiers resolved to packages."""
        expr = expr.strip()
        if expr.startswith("*"):
            return ("ptr", self.parse_expr(expr[1:], import_path))
        if expr.startswith("[]"):
            return ("slice", self.parse_expr(expr[2:], import_path))
        if expr.startswith("map["):
            depth, j = 0, 3
            while True:
                if expr[j] == "[":
                    depth += 1
                elif expr[j] == "]":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            return ("map", self.parse_expr(expr[4:j], import_path), self.parse_expr(expr[j + 1:], import_path))
        if "." in expr:
            alias, name = expr.split(".")
            pkg = self.package(import_path)
            return ("named", pkg.imports[alias], name)
        if expr in ("string", "bool", "int", "int8", "int16", "int32", "int64", "uint", "uint16", "uint32",
                    "uint64", "float32", "float64", "uint8"):
            return ("builtin", expr)
        if expr == "byte":
            return ("builtin", "uint8")
        return ("named", import_path, expr)

    def string(self, t):
        """reflect.Type.String(): package *names* qualify named types."""
        kind = t[0]
        if kind == "ptr":
            return "*" + self.string(t[1])
        if kind == "slice":
            return "[]" + self.string(t[1])
        if kind == "map":
            return "map[" + self.string(t[1]) + "]" + self.string(t[2])
        if kind == "builtin":
            return t[1]
        pkg = self.package(t[1])
        name = pkg.name if pkg and pkg.name else t[1].split("/")[-1]
        return name + "." + t[2]

    def underlying(self, t):
        """Pointers stripped (the decoder reports the pointee) and named slices/maps expanded."""
        while True:
            if t[0] == "ptr":
                t = t[1]
            elif t[0] == "named":
                pkg = self.package(t[1])
                if pkg and t[2] in pkg.named:
                    t = self.parse_expr(pkg.named[t[2]], t[1])
                else:
                    return t
            else:
                return t

    def fields(self, import_path, struct):
        """json name -> type, including the fields of inlined embedded structs."""
        pkg = self.package(import_path)
        if not pkg or struct not in pkg.structs:
            return None
        out = {}
        for name, expr in pkg.structs[struct]:
            t = self.parse_expr(expr, import_path)
            if name is None:
                inner = t[1] if t[0] == "ptr" else t
                out.update(self.fields(inner[1], inner[2]) or {})
            else:
                out[name] = t
        return out


def go_import_path(defname):
    """io.k8s.api.apps.v1.Deployment -> (k8s.io/api/apps/v1, Deployment)."""
    parts = defname.split(".")
    name, pkg = parts[-1], parts[:-1]
    if pkg[:3] == ["io", "k8s", "api"]:
        return "k8s.io/api/" + "/".join(pkg[3:]), name
    if pkg[:3] == ["io", "k8s", "apimachinery"]:
        return "k8s.io/apimachinery/" + "/".join(pkg[3:]), name
    return None, name


# ---------------------------------------------------------------------------------------------
# The node table.

class Builder:
    def __init__(self, defs, go):
        self.defs = defs
        self.go = go
        self.nodes = []
        self.def_index = {}
        self.shared = {}
        self.warnings = []

    def add(self, node, share=True):
        key = json.dumps(node, sort_keys=True)
        if share and key in self.shared:
            return self.shared[key]
        self.nodes.append(node)
        index = len(self.nodes) - 1
        if share:
            self.shared[key] = index
        return index

    def definition(self, name):
        if name in self.def_index:
            return self.def_index[name]
        if name in SPECIAL:
            gotype = {"io": "intstr.IntOrString", "q": "resource.Quantity", "t": "v1.Time", "mt": "v1.MicroTime"}.get(
                SPECIAL[name], ".".join(name.split(".")[-2:]))
            index = self.add({"k": SPECIAL[name], "g": gotype})
            self.def_index[name] = index
            return index
        schema = self.defs[name]
        if "properties" not in schema:
            sys.exit("definition %s has no properties and no known Go decoder; add it to SPECIAL" % name)
        if schema.get("additionalProperties", False) is not False:
            sys.exit("definition %s mixes properties and additionalProperties" % name)
        # Reserve the slot first: definitions can be recursive.
        index = self.add(None, share=False)
        self.def_index[name] = index
        import_path, struct = go_import_path(name)
        go_fields = self.go.fields(import_path, struct) if self.go and import_path else None
        if self.go and go_fields is None:
            self.warnings.append("no Go struct for %s" % name)
        props = {}
        for prop, sub in sorted(schema["properties"].items()):
            go_type = None
            if go_fields is not None:
                go_type = go_fields.get(prop)
                if go_type is None:
                    self.warnings.append("no Go field %s.%s" % (struct, prop))
            props[prop] = self.position(sub, go_type, "%s.%s" % (struct, prop))
        self.nodes[index] = {"k": "o", "g": ".".join(name.split(".")[-2:]), "p": props}
        return index

    def position(self, schema, go_type, where):
        """The node for one field, array item or map value."""
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return self.add({"k": "x", "g": self.go_string(go_type) or "interface {}"})
        patch = {}
        if "x-kubernetes-patch-strategy" in schema:
            patch["ps"] = schema["x-kubernetes-patch-strategy"]
        if "x-kubernetes-patch-merge-key" in schema:
            patch["pk"] = schema["x-kubernetes-patch-merge-key"]
        if "$ref" in schema:
            target = self.definition(schema["$ref"].split("/")[-1])
            expected = self.nodes[target]["g"] if self.nodes[target] else None
            actual = self.go_string(go_type)
            if actual and expected and actual != expected:
                self.warnings.append("%s: Go type %s, schema %s" % (where, actual, expected))
            return self.add(dict({"r": target}, **patch)) if patch else target
        types = schema.get("type")
        types = [types] if isinstance(types, str) else [t for t in (types or []) if t != "null"]
        if len(types) != 1:
            sys.exit("%s: cannot handle type %r" % (where, schema.get("type")))
        kind = types[0]
        under = self.go.underlying(go_type) if go_type else None
        if kind == "array":
            item_go = under[1] if under and under[0] == "slice" else None
            item = self.position(schema["items"], item_go, where + "[]")
            node = {"k": "a", "i": item, "g": self.go_string(go_type) or "[]" + self.node_go(item)}
        elif kind == "object":
            value_schema = schema.get("additionalProperties")
            if not isinstance(value_schema, dict):
                sys.exit("%s: object without additionalProperties" % where)
            value_go = under[2] if under and under[0] == "map" else None
            value = self.position(value_schema, value_go, where + "{}")
            node = {"k": "m", "v": value, "g": self.go_string(go_type) or "map[string]" + self.node_go(value)}
        elif kind == "string":
            if schema.get("format") == "byte":
                node = {"k": "y", "g": self.go_string(go_type) or "[]uint8"}
            else:
                node = {"k": "s", "g": self.go_string(go_type) or "string"}
        elif kind == "integer":
            fmt = schema.get("format", "int64")
            if fmt not in ("int32", "int64"):
                sys.exit("%s: integer format %s" % (where, fmt))
            node = {"k": "i32" if fmt == "int32" else "i64", "g": self.go_string(go_type) or fmt}
        elif kind == "number":
            node = {"k": "f", "g": self.go_string(go_type) or "float64"}
        elif kind == "boolean":
            node = {"k": "b", "g": self.go_string(go_type) or "bool"}
        else:
            sys.exit("%s: unknown type %s" % (where, kind))
        node.update(patch)
        return self.add(node)

    def go_string(self, go_type):
        if not go_type:
            return None
        if go_type[0] == "ptr":
            go_type = go_type[1]
        return self.go.string(go_type)

    def node_go(self, index):
        node = self.nodes[index]
        if "r" in node:
            node = self.nodes[node["r"]]
        return node["g"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--api", help="k8s.io/api source (checkout, or git repository with --ref)")
    parser.add_argument("--apimachinery", help="k8s.io/apimachinery source (checkout, or git repository with --ref)")
    parser.add_argument("--ref", help="git ref to read the Go sources at, e.g. v0.34.0")
    parser.add_argument("--output", default=OUTPUT)
    args = parser.parse_args()

    with open(schema_path()) as f:
        defs = json.load(f)["$defs"]

    go = None
    if args.api and args.apimachinery:
        go = GoTypes(GoSource(args.api, args.ref), GoSource(args.apimachinery, args.ref))
    else:
        print("warning: no Go sources given; named scalar types will print as their underlying type",
              file=sys.stderr)

    builder = Builder(defs, go)
    kinds = {}
    served = {(group, version) for group, version, _ in ROOTS}
    for group, version, kind in ROOTS:
        matches = [name for name, d in defs.items()
                   if {"group": group, "version": version, "kind": kind} in d.get("x-kubernetes-group-version-kind", [])]
        if len(matches) != 1:
            sys.exit("%s/%s %s: %d definitions" % (group, version, kind, len(matches)))
        index = builder.definition(matches[0])
        # Options kinds are registered in every group (DeleteOptions bodies name the resource's
        # group version); keep the served ones.
        for gvk in defs[matches[0]]["x-kubernetes-group-version-kind"]:
            if (gvk["group"], gvk["version"]) in served:
                kinds["%s/%s/%s" % (gvk["group"], gvk["version"], gvk["kind"])] = index
    for w in builder.warnings:
        print("warning:", w, file=sys.stderr)

    source = "kubernetes-validate's %s/_definitions.json" % SCHEMA_DIR
    if go:
        source += "; Go types from k8s.io/api and k8s.io/apimachinery" + (" " + args.ref if args.ref else "")
    lines = ['{"v":%s,' % json.dumps(SCHEMA_VERSION), '"k":' + json.dumps(kinds, separators=(",", ":"), sort_keys=True) + ",",
             '"n":[']
    for i, node in enumerate(builder.nodes):
        lines.append(json.dumps(node, separators=(",", ":"), sort_keys=True) + ("," if i + 1 < len(builder.nodes) else ""))
    lines.append("]}")
    body = "\n".join(lines)
    if '"#' in body or "\\" in body:
        sys.exit("schema text would break the raw string literal")

    swift = '''// Generated by tools/gen-schema.py: do not edit.
// Source: Kubernetes %s OpenAPI schema (%s).
//
// One node per line: "k" kind (o struct, a array, m map, s string, b bool, i32/i64 integer, f float,
// y base64 bytes, io IntOrString, q Quantity, t Time, mt MicroTime, x anything), "g" the Go type
// decode errors name, "p" struct fields, "i" array items, "v" map values, "r" a referenced node,
// "ps"/"pk" patch strategy and merge key. Numbers are node indices; "k" at the top maps
// group/version/kind to a node.

extension KubernetesSchema {
    static let data = #"""
%s
"""#
}
''' % (SCHEMA_VERSION, source, body)
    with open(args.output, "w") as f:
        f.write(swift)
    print("wrote %s: %d nodes, %d kinds, %d bytes" % (os.path.normpath(args.output), len(builder.nodes), len(kinds),
                                                      len(swift.encode())), file=sys.stderr)


if __name__ == "__main__":
    main()

import Foundation
import SwiftletAPI
import SwiftletMachinery

/// Prepares a pod's volumes on the node, under `<pod dir>/volumes/<plugin>/<name>` as the
/// kubelet lays them out, and takes them down again. Called on every sync: setting up is
/// idempotent, and configMap, secret and downwardAPI contents are rewritten (atomically)
/// only when they changed, which is how updates reach running pods.
struct VolumeManager: Sendable {
    /// Reads a ConfigMap or Secret from the agent's caches.
    typealias Lookup = @Sendable (_ kind: String, _ namespace: String, _ name: String) -> JSONValue?

    let lookup: Lookup

    struct SetUpError: Error, CustomStringConvertible {
        let volume: String
        let message: String
        /// As the kubelet's FailedMount event says it.
        var description: String { "MountVolume.SetUp failed for volume \"\(volume)\" : \(message)" }
    }

    /// Sets up every volume of the pod; returns the host path of each, by volume name.
    /// `tokens` are the pod's ServiceAccount tokens (`ServiceAccountTokenManager`).
    func setUp(pod: JSONValue, podDirectory: String, hostIP: String, podIP: String?, allocatable: JSONValue,
               tokens: [ServiceAccountTokenSource: String] = [:]) throws(SetUpError) -> [String: String] {
        let namespace = pod[path: "metadata", "namespace"]?.stringValue ?? "default"
        var paths: [String: String] = [:]
        for volume in pod[path: "spec", "volumes"]?.arrayValue ?? [] {
            guard let name = volume["name"]?.stringValue else { continue }
            do {
                paths[name] = try setUp(volume, name: name, namespace: namespace, pod: pod, podDirectory: podDirectory,
                                        hostIP: hostIP, podIP: podIP, allocatable: allocatable, tokens: tokens)
            } catch let error as SetUpError {
                throw SetUpError(volume: name, message: error.message)
            } catch {
                throw SetUpError(volume: name, message: "\(error)")
            }
        }
        return paths
    }

    private func setUp(_ volume: JSONValue, name: String, namespace: String, pod: JSONValue, podDirectory: String,
                       hostIP: String, podIP: String?, allocatable: JSONValue,
                       tokens: [ServiceAccountTokenSource: String]) throws -> String {
        let base = podDirectory + "/volumes"
        if let emptyDir = volume["emptyDir"] {
            let path = base + "/kubernetes.io~empty-dir/" + name
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            _ = chmod(path, 0o777)  // as the kubelet makes it: any container user may write
            if emptyDir["medium"]?.stringValue == "Memory", !Mounts.isMountPoint(path) {
                var options = "mode=0777"
                if let size = emptyDir["sizeLimit"]?.stringValue { options += ",size=\(size.replacingOccurrences(of: "i", with: ""))" }
                guard mount("tmpfs", path, "tmpfs", 0, options) == 0 else {
                    throw SetUpError(volume: name, message: "mount of tmpfs failed: \(String(cString: strerror(errno)))")
                }
            }
            return path
        }
        if let hostPath = volume["hostPath"] {
            let path = hostPath["path"]?.stringValue ?? ""
            try HostPathCheck.check(path: path, type: hostPath["type"]?.stringValue ?? "")
            return path
        }
        if let source = volume["configMap"] {
            return try writeProjection(base + "/kubernetes.io~configmap/" + name, try keyFiles(
                kind: "configmap", source: source, namespace: namespace, decode: false))
        }
        if let source = volume["secret"] {
            var renamed = source
            renamed["name"] = source["secretName"]
            return try writeProjection(base + "/kubernetes.io~secret/" + name, try keyFiles(
                kind: "secret", source: renamed, namespace: namespace, decode: true))
        }
        if let source = volume["downwardAPI"] {
            return try writeProjection(base + "/kubernetes.io~downward-api/" + name, downwardFiles(
                source: source, pod: pod, hostIP: hostIP, podIP: podIP, allocatable: allocatable))
        }
        if let projected = volume["projected"] {
            var files: [AtomicWriter.File] = []
            let mode = UInt16(projected["defaultMode"]?.intValue ?? 0o644)
            for source in projected["sources"]?.arrayValue ?? [] {
                if var configMap = source["configMap"] {
                    configMap["defaultMode"] = .int(Int64(mode))
                    files += try keyFiles(kind: "configmap", source: configMap, namespace: namespace, decode: false)
                } else if var secret = source["secret"] {
                    secret["defaultMode"] = .int(Int64(mode))
                    files += try keyFiles(kind: "secret", source: secret, namespace: namespace, decode: true)
                } else if var downward = source["downwardAPI"] {
                    downward["defaultMode"] = .int(Int64(mode))
                    files += downwardFiles(source: downward, pod: pod, hostIP: hostIP, podIP: podIP, allocatable: allocatable)
                } else if let tokenSource = source["serviceAccountToken"] {
                    guard let token = tokens[ServiceAccountTokenSource(tokenSource)] else {
                        throw SetUpError(volume: name, message: "no ServiceAccount token was fetched for it")
                    }
                    files.append(.init(path: FieldRead.string(tokenSource["path"]), data: Array(token.utf8), mode: mode))
                }
            }
            return try writeProjection(base + "/kubernetes.io~projected/" + name, files)
        }
        throw SetUpError(volume: name, message: "volume type is not supported by this node")
    }

    private func writeProjection(_ path: String, _ files: [AtomicWriter.File]) throws -> String {
        try AtomicWriter(directory: path).write(files)
        return path
    }

    /// The files of a configMap or secret source: every key, or just `items`, with their modes.
    private func keyFiles(kind: String, source: JSONValue, namespace: String, decode: Bool) throws -> [AtomicWriter.File] {
        let objectName = source["name"]?.stringValue ?? ""
        let optional = source["optional"]?.boolValue ?? false
        let defaultMode = UInt16(source["defaultMode"]?.intValue ?? 0o644)
        guard let object = lookup(kind, namespace, objectName) else {
            if optional { return [] }
            throw SetUpError(volume: source["name"]?.stringValue ?? "", message: "\(kind) \"\(objectName)\" not found")
        }
        var data: [String: [UInt8]] = [:]
        for (key, value) in object["data"]?.objectValue ?? JSONObject() {
            guard let text = value.stringValue else { continue }
            data[key] = decode ? Array(Data(base64Encoded: text) ?? Data()) : Array(text.utf8)
        }
        for (key, value) in object["binaryData"]?.objectValue ?? JSONObject() {
            if let text = value.stringValue, let bytes = Data(base64Encoded: text) { data[key] = Array(bytes) }
        }
        if decode, let stringData = object["stringData"]?.objectValue {
            for (key, value) in stringData { if let text = value.stringValue { data[key] = Array(text.utf8) } }
        }
        guard let items = source["items"]?.arrayValue, !items.isEmpty else {
            return data.map { AtomicWriter.File(path: $0.key, data: $0.value, mode: defaultMode) }
        }
        var files: [AtomicWriter.File] = []
        for item in items {
            let key = item["key"]?.stringValue ?? ""
            guard let bytes = data[key] else {
                if optional { continue }
                throw SetUpError(volume: objectName, message: "\(kind) references non-existent config key: \(key)")
            }
            files.append(.init(path: item["path"]?.stringValue ?? key, data: bytes,
                               mode: UInt16(item["mode"]?.intValue ?? Int64(defaultMode))))
        }
        return files
    }

    private func downwardFiles(source: JSONValue, pod: JSONValue, hostIP: String, podIP: String?,
                               allocatable: JSONValue) -> [AtomicWriter.File] {
        let defaultMode = UInt16(source["defaultMode"]?.intValue ?? 0o644)
        return (source["items"]?.arrayValue ?? []).compactMap { item in
            guard let path = item["path"]?.stringValue else { return nil }
            var value: String?
            if let fieldPath = item[path: "fieldRef", "fieldPath"]?.stringValue {
                value = FieldPaths.value(of: fieldPath, in: pod, hostIP: hostIP, podIP: podIP)
            } else if let reference = item["resourceFieldRef"], let resource = reference["resource"]?.stringValue {
                let name = reference["containerName"]?.stringValue
                let container = (pod[path: "spec", "containers"]?.arrayValue ?? []).first { $0["name"]?.stringValue == name }
                value = FieldPaths.resource(resource, divisor: reference["divisor"], container: container, allocatable: allocatable)
            }
            return value.map { .init(path: path, data: Array($0.utf8), mode: UInt16(item["mode"]?.intValue ?? Int64(defaultMode))) }
        }
    }

    /// Unmounts the pod's memory-backed volumes and deletes its volume folders (never a
    /// hostPath: those are the host's).
    func tearDown(podDirectory: String) {
        let base = podDirectory + "/volumes"
        for mountPoint in Mounts.mountPoints(under: base).sorted(by: >) { _ = umount2(mountPoint, Int32(MNT_DETACH)) }
        try? FileManager.default.removeItem(atPath: base)
    }
}

/// hostPath `type` checks, worded as the kubelet words them.
enum HostPathCheck {
    static func check(path: String, type: String) throws {
        func fail(_ message: String) -> VolumeManager.SetUpError {
            VolumeManager.SetUpError(volume: path, message: "hostPath type check failed: \(path) \(message)")
        }
        var info = stat()
        let exists = lstat(path, &info) == 0 || stat(path, &info) == 0
        let kind = info.st_mode & S_IFMT
        switch type {
        case "", "Unset":
            return
        case "DirectoryOrCreate":
            if !exists {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o755])
            } else if kind != S_IFDIR {
                throw fail("is not a directory")
            }
        case "Directory":
            if !exists || kind != S_IFDIR { throw fail("is not a directory") }
        case "FileOrCreate":
            if !exists {
                guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o644]) else {
                    throw fail("could not be created")
                }
            } else if kind != S_IFREG {
                throw fail("is not a file")
            }
        case "File":
            if !exists || kind != S_IFREG { throw fail("is not a file") }
        case "Socket":
            if !exists || kind != S_IFSOCK { throw fail("is not a socket file") }
        case "CharDevice":
            if !exists || kind != S_IFCHR { throw fail("is not a character device") }
        case "BlockDevice":
            if !exists || kind != S_IFBLK { throw fail("is not a block device") }
        default:
            throw fail("has an unknown hostPath type \(type)")
        }
    }
}

/// Reads the mount table, to make mounting idempotent and to find what to unmount.
enum Mounts {
    static func mountPoints(under prefix: String) -> [String] {
        guard let table = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return [] }
        return table.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { return nil }
            let point = String(fields[4]).replacingOccurrences(of: "\\040", with: " ")
            return point == prefix || point.hasPrefix(prefix + "/") ? point : nil
        }
    }

    static func isMountPoint(_ path: String) -> Bool { mountPoints(under: path).contains(path) }
}

#if canImport(Glibc)
import Glibc
#endif
import SwiftletSpawn

/// Named network namespaces as `ip netns` keeps them (bind mounts under /var/run/netns), and sysctls written inside
/// one without starting a process.
enum NetworkNamespace {
    static func path(_ name: String) -> String { SandboxNames.netnsDirectory + "/" + name }

    /// True when the name is a live namespace, not just a file: a crash inside `ip netns add` can leave an empty
    /// file behind, which setns and `ip -n` refuse.
    static func exists(_ name: String) -> Bool {
        var file = stat()
        var directory = stat()
        guard stat(path(name), &file) == 0, stat(SandboxNames.netnsDirectory, &directory) == 0 else { return false }
        return file.st_dev != directory.st_dev
    }

    /// Names under /var/run/netns that start with the prefix, live or stale.
    static func names(withPrefix prefix: String) -> [String] {
        guard let directory = opendir(SandboxNames.netnsDirectory) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasPrefix(prefix) { names.append(name) }
        }
        return names.sorted()
    }

    /// Writes sysctls given as paths under /proc/sys (e.g. "net/ipv4/conf/swl0/forwarding"). /proc/sys/net shows the
    /// calling thread's namespace, hence `run(in:)` for another namespace.
    static func writeSysctls(_ values: [(key: String, value: String)], in namespace: String?) throws(PodNetworkError) {
        try run(in: namespace) { () throws(PodNetworkError) in
            for (key, value) in values { try writeProcSys(key, value) }
        }
    }

    private static func writeProcSys(_ key: String, _ value: String) throws(PodNetworkError) {
        let path = "/proc/sys/" + key
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system(operation: "open \(path)", errno: errno) }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw .system(operation: "write \(value) to \(path)", errno: written < 0 ? errno : EIO) }
    }

    /// Runs `body` in the namespace (in ours when nil), on a thread that joins it (see `NetworkNamespaceThread`).
    static func run<Value>(in namespace: String?, _ body: @escaping () throws(PodNetworkError) -> Value) throws(PodNetworkError) -> Value {
        guard let namespace else { return try body() }
        switch NetworkNamespaceThread.run(inNamespaceAt: path(namespace), body) {
        case .success(let value): return value
        case .failure(.body(let error)): throw error
        case .failure(.entering(let operation, let code)): throw .system(operation: operation, errno: code)
        }
    }
}

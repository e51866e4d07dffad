import SwiftletSpawn

/// The proxy's work in the node's network namespace (`ServiceProxyConfig.hostNamespace`, which only tests set).
enum NamespaceThread {
    /// Runs `body` in `namespace`, or right here when it is nil.
    static func run<Value>(in namespace: String?, _ body: @escaping () throws(ServiceProxyError) -> Value) throws(ServiceProxyError) -> Value {
        guard let namespace else { return try body() }
        switch NetworkNamespaceThread.run(inNamespaceAt: "/var/run/netns/" + namespace, body) {
        case .success(let value): return value
        case .failure(.body(let error)): throw error
        case .failure(.entering(let operation, let code)): throw .system(operation: operation, errno: code)
        }
    }
}

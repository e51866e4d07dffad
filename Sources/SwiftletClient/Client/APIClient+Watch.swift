import SwiftletAPI
import SwiftletMachinery

extension APIClient {
    /// Watches changes after `resourceVersion` (from a list, or the last event seen).
    ///
    /// The stream ends when the server closes the watch (timeout, shutdown); a watcher
    /// resumes from the last `resourceVersion` it saw. An `.expired` event means that
    /// revision is gone and only a relist can catch up. To stop watching, cancel the task
    /// that iterates the stream. Bookmarks are asked for, so a quiet watch still advances.
    public func watch(_ resource: ResourceInfo, namespace: String? = nil, labelSelector: String? = nil,
                      fieldSelector: String? = nil, resourceVersion: String) async throws(APIError) -> AsyncStream<WatchedEvent> {
        var path = ResourcePath(resource: resource, namespace: namespace)
        path.query = [("watch", "true"), ("resourceVersion", resourceVersion), ("allowWatchBookmarks", "true")]
            + Self.selectorQuery(labelSelector: labelSelector, fieldSelector: fieldSelector)
        let response = await send(.GET, path)
        switch response.body {
        case .bytes(let bytes):
            let status = (try? JSONParser.parse(bytes).value) ?? .null
            throw APIError(status: status, httpCode: Int(response.status.code))
        case .stream(let chunks):
            return Self.decode(chunks)
        }
    }

    /// Splits the byte stream into newline-delimited events: chunks may hold several events
    /// or part of one.
    private static func decode(_ chunks: AsyncStream<[UInt8]>) -> AsyncStream<WatchedEvent> {
        AsyncStream { continuation in
            let pump = Task {
                var pending: [UInt8] = []
                for await chunk in chunks {
                    pending += chunk
                    while let newline = pending.firstIndex(of: 0x0A) {
                        if let event = WatchedEvent(line: pending[..<newline]) { continuation.yield(event) }
                        pending.removeSubrange(...newline)
                    }
                }
                if let event = WatchedEvent(line: pending[...]) { continuation.yield(event) }
                continuation.finish()
            }
            continuation.onTermination = { _ in pump.cancel() }
        }
    }
}

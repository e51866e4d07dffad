import Foundation
import SwiftletMachinery

extension APIServer {
    /// GET pods/{name}/log, as upstream's LogREST: validated options, the container located, then
    /// the node agent's stream as `text/plain`, cut at `limitBytes`.
    func podLog(namespace: String, name: String, query: QueryParameters) async throws(APIError) -> HTTPResponse {
        let (options, limitBytes) = try Self.podLogOptions(query, pod: name, now: config.clock())
        let location = try locateContainer(namespace: namespace, name: name, container: options.container)
        // Upstream has no log location for a pod not yet scheduled, and answers with no content.
        guard !location.nodeName.isEmpty else { return HTTPResponse(status: .noContent, body: .bytes([])) }
        let backend = try streamingBackend(node: location.nodeName)
        var resolved = options
        resolved.container = location.container
        let log = try await backend.containerLogs(pod: location.pod, options: resolved)
        return HTTPResponse(status: .ok, headers: ["Content-Type": "text/plain"],
                            body: .stream(limitBytes.map { Self.cut(log, at: $0) } ?? log))
    }

    /// The query as upstream decodes `PodLogOptions` (bad numbers are 400) and validates it (422).
    static func podLogOptions(_ query: QueryParameters, pod: String, now: Date) throws(APIError) -> (PodLogOptions, limitBytes: Int?) {
        let tailLines = try integer(query, "tailLines")
        let limitBytes = try integer(query, "limitBytes")
        let sinceSeconds = try integer(query, "sinceSeconds")
        var sinceTime: Date?
        if let text = query["sinceTime"], !text.isEmpty {
            guard let date = RFC3339.date(from: text) else {
                throw APIError.badRequest("parsing time \"\(text)\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"\(text)\" as RFC 3339")
            }
            sinceTime = date
        }

        var errors: [FieldError] = []
        if let tailLines, tailLines < 0 {
            errors.append(.invalid("tailLines", .int(Int64(tailLines)), "must be greater than or equal to 0"))
        }
        if let limitBytes, limitBytes < 1 {
            errors.append(.invalid("limitBytes", .int(Int64(limitBytes)), "must be greater than 0"))
        }
        if sinceSeconds != nil, sinceTime != nil {
            errors.append(.forbidden("", "at most one of `sinceTime` or `sinceSeconds` may be specified"))
        } else if let sinceSeconds, sinceSeconds < 1 {
            errors.append(.invalid("sinceSeconds", .int(Int64(sinceSeconds)), "must be greater than 0"))
        }
        if !errors.isEmpty { throw APIError.invalid(group: "", kind: "PodLogOptions", name: pod, errors: errors) }

        let options = PodLogOptions(
            container: query["container"] ?? "",
            follow: query.optionFlag("follow"), previous: query.optionFlag("previous"),
            timestamps: query.optionFlag("timestamps"), tailLines: tailLines,
            since: sinceTime ?? sinceSeconds.map { now.addingTimeInterval(-Double($0)) })
        return (options, limitBytes)
    }

    private static func integer(_ query: QueryParameters, _ key: String) throws(APIError) -> Int? {
        guard let text = query[key] else { return nil }
        guard let value = Int(text) else { throw APIError.badRequest("strconv.ParseInt: parsing \"\(text)\": invalid syntax") }
        return value
    }

    /// The first `limit` bytes of `log`. Ending early drops the source stream, which terminates it,
    /// so the node agent stops reading.
    static func cut(_ log: AsyncStream<[UInt8]>, at limit: Int) -> AsyncStream<[UInt8]> {
        AsyncStream { continuation in
            let task = Task {
                var remaining = limit
                for await chunk in log {
                    if chunk.count >= remaining {
                        continuation.yield(Array(chunk.prefix(remaining)))
                        break
                    }
                    continuation.yield(chunk)
                    remaining -= chunk.count
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

extension QueryParameters {
    /// A boolean connect or log option as upstream converts query values: absent is false, and so
    /// are `0` and `false`; any other value, even empty, is true.
    func optionFlag(_ key: String) -> Bool {
        guard let value = self[key] else { return false }
        return value != "0" && value.lowercased() != "false"
    }
}

import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import SwiftletAPI
import SwiftletMachinery

extension APIServer {
    func wantsTable(_ request: HTTPRequest) -> Bool { request.accept.contains("as=Table") }

    func get(_ storage: ResourceStorage, namespace: String?, name: String, request: HTTPRequest) throws(APIError) -> HTTPResponse {
        let cached = try storage.get(namespace: namespace, name: name)
        if wantsTable(request) {
            try checkIncludeObject(request)
            return .json(table(storage.type.table, [cached.object()], revision: cached.revision, continueToken: nil, request: request))
        }
        return .json(bytes: cached.bytes)
    }

    /// The namespace, label and field selectors of a list or watch request.
    func filter(for request: HTTPRequest, type: ResourceType, namespace: String?) throws(APIError) -> WatchFilter {
        var filter = WatchFilter(namespace: namespace)
        if let text = request.query["labelSelector"], !text.isEmpty {
            let selector: LabelSelector
            do { selector = try LabelSelector.parse(text) } catch {
                throw APIError.badRequest("\(error)")
            }
            filter.labelSelector = { selector.matches($0) }
        }
        if let text = request.query["fieldSelector"], !text.isEmpty {
            let selector: FieldSelector
            do { selector = try FieldSelector.parse(text) } catch {
                throw APIError.badRequest("\(error)")
            }
            for field in selector.fields where !type.selects(field) {
                throw APIError.badRequest("field label not supported: \(field)")
            }
            filter.fieldSelector = { selector.matches($0) }
        }
        return filter
    }

    func list(_ storage: ResourceStorage, namespace: String?, request: HTTPRequest) throws(APIError) -> HTTPResponse {
        let info = storage.info
        let filter = try self.filter(for: request, type: storage.type, namespace: namespace)
        let limit = max(0, Int(request.query["limit"] ?? "") ?? 0)
        var startAfter: String?
        if let token = request.query["continue"], !token.isEmpty {
            startAfter = try ContinueToken.decode(token, prefix: info.storagePrefix(namespace: namespace), compacted: store.compactedRevision)
        }
        let page = storage.cache.list(prefix: info.storagePrefix(namespace: namespace), filter: filter, startAfter: startAfter, limit: limit)
        let continueToken = page.continueAfter.map { ContinueToken.encode(revision: page.revision, startAfter: $0) }

        if wantsTable(request) {
            try checkIncludeObject(request)
            return .json(table(storage.type.table, page.items.map { $0.object() }, revision: page.revision,
                               continueToken: continueToken, request: request))
        }
        // The list is assembled from the stored bytes: no object is decoded or re-encoded.
        var out: [UInt8] = []
        out.reserveCapacity(page.items.reduce(128) { $0 + $1.bytes.count + 1 })
        out += Array(#"{"kind":"\#(info.listKind)","apiVersion":"\#(info.apiVersion)","metadata":{"resourceVersion":"\#(page.revision)""#.utf8)
        if let continueToken { out += Array(#","continue":"\#(continueToken)""#.utf8) }
        out += Array(#"},"items":["#.utf8)
        for (i, item) in page.items.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out += item.bytes
        }
        out += Array("]}".utf8)
        return .json(bytes: out)
    }

    func table(_ printer: TablePrinter?, _ objects: [JSONValue], revision: Int64, continueToken: String?, request: HTTPRequest) -> JSONValue {
        TableConverter.table(
            printer, objects: objects,
            resourceVersion: String(revision), continueToken: continueToken,
            includeObject: request.query["includeObject"] ?? "", now: config.clock())
    }

    /// Upstream refuses an `includeObject` it does not know before doing anything else.
    func checkIncludeObject(_ request: HTTPRequest) throws(APIError) {
        if let value = request.query["includeObject"], !TableConverter.acceptsIncludeObject(value) {
            throw APIError.badRequest("unrecognized includeObject value: \"\(value)\"")
        }
    }

    func watch(_ storage: ResourceStorage, namespace: String?, request: HTTPRequest) throws(APIError) -> HTTPResponse {
        let info = storage.info
        let filter = try self.filter(for: request, type: storage.type, namespace: namespace)
        let sendInitialEvents = try Self.sendInitialEvents(request)
        let start: ResourceCache.WatchStart
        switch request.query["resourceVersion"] ?? "" {
        case "", "0": start = sendInitialEvents == false ? .after(storage.cache.revision) : .currentState
        case let text:
            guard let revision = Int64(text), revision >= 0 else {
                throw APIError.badRequest("invalid resource version: \(text)")
            }
            // A streaming list wants the state as of at least that revision: the cache's is.
            start = sendInitialEvents == true ? .currentState : .after(revision)
        }
        let timeout = try Self.watchTimeout(request.query["timeoutSeconds"])
        let watch: ResourceCache.Watch
        do {
            watch = try storage.cache.watch(filter: filter, prefix: info.storagePrefix(namespace: namespace), from: start,
                                            bookmarks: request.query["allowWatchBookmarks"] == "true",
                                            markInitialEventsEnd: sendInitialEvents == true)
        } catch {
            // Upstream answers an expired start as a 200 stream holding one ERROR event.
            let status = APIError.gone("too old resource version: \(error.requested) (\(error.oldest))").status
            let line = JSONWriter.write(["type": "ERROR", "object": status]) + [0x0A]
            return HTTPResponse(status: .ok, headers: ["Content-Type": "application/json"], body: .stream(AsyncStream { c in
                c.yield(line)
                c.finish()
            }))
        }
        let asTable = wantsTable(request)
        if asTable { try checkIncludeObject(request) }
        let now = config.clock
        let includeObject = request.query["includeObject"] ?? ""
        // Scheduled on an event loop rather than slept in a task: a cancelled `Task.sleep` keeps
        // its memory until its deadline, so every dropped watch would pin it for up to an hour.
        let timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: TimeAmount(timeout)) { watch.close() }
        // Events are encoded only as fast as the client takes them: the response pulls the next
        // chunk when it has written the last, so what waits is the cache's (shared) objects, never bytes.
        let encoder = WatchEncoder(watch: watch, type: storage.type, asTable: asTable, includeObject: includeObject, now: now, timer: timer)
        let body = AsyncStream<[UInt8]>(unfolding: { await encoder.next() }, onCancel: { encoder.stop() })
        return HTTPResponse(status: .ok, headers: ["Content-Type": "application/json"], body: .stream(body))
    }

    /// `sendInitialEvents`, which client-go's streaming lists (WatchList) set: the watch starts
    /// with the current state and a bookmark marking its end. As upstream, it needs
    /// `resourceVersionMatch=NotOlderThan` and bookmarks.
    static func sendInitialEvents(_ request: HTTPRequest) throws(APIError) -> Bool? {
        guard let text = request.query["sendInitialEvents"] else { return nil }
        let send = text == "true" || text == "1"
        var errors: [FieldError] = []
        if request.query["resourceVersionMatch"] != "NotOlderThan" {
            errors.append(.forbidden("resourceVersionMatch", "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"))
        }
        if send, request.query["allowWatchBookmarks"] != "true" {
            errors.append(.forbidden("allowWatchBookmarks", "sendInitialEvents requires setting allowWatchBookmarks to true"))
        }
        if !errors.isEmpty { throw APIError.invalid(group: "meta.k8s.io", kind: "ListOptions", name: "", errors: errors) }
        return send
    }

    /// `timeoutSeconds`: an integer, at most twice kube-apiserver's --min-request-timeout; none
    /// (or 0) gets upstream's default, 30 to 60 minutes at random so that watchers reconnect spread out.
    static func watchTimeout(_ text: String?) throws(APIError) -> Duration {
        let minimum: Int64 = 1800
        guard let text, !text.isEmpty, text != "0" else { return .seconds(Int64.random(in: minimum..<(2 * minimum))) }
        guard let seconds = Int64(text), seconds > 0 else {
            throw APIError.badRequest("invalid value for timeoutSeconds: \"\(text)\": must be a positive number of seconds")
        }
        return .seconds(min(seconds, 2 * minimum))
    }

    static func encodeWatchEvent(_ event: WatchEvent, type: ResourceType, asTable: Bool, includeObject: String,
                                 headers: Bool, now: Date) -> [UInt8] {
        let info = type.info
        var out = Array(#"{"type":"\#(event.kind.rawValue)","object":"#.utf8)
        if let object = event.object {
            if asTable {
                JSONWriter.write(TableConverter.table(type.table, objects: [object.object()],
                                                      resourceVersion: String(event.revision), continueToken: nil,
                                                      includeObject: includeObject, noHeaders: !headers, now: now), into: &out)
            } else {
                out += object.bytes
            }
        } else {
            let annotations = event.endsInitialEvents ? #","annotations":{"k8s.io/initial-events-end":"true"}"# : ""
            out += Array(#"{"kind":"\#(info.kind)","apiVersion":"\#(info.apiVersion)","metadata":{"resourceVersion":"\#(event.revision)"\#(annotations)}}"#.utf8)
        }
        out += Array("}\n".utf8)
        return out
    }
}

/// Continue tokens carry the revision of the first page and the last key served, opaque to
/// clients (base64 JSON, as upstream's).
enum ContinueToken {
    static func encode(revision: Int64, startAfter: String) -> String {
        let json = JSONWriter.write(["v": "meta.k8s.io/v1", "rv": .int(revision), "start": .string(startAfter)])
        return Data(json).base64EncodedString()
    }

    static func decode(_ token: String, prefix: String, compacted: Int64) throws(APIError) -> String {
        guard let data = Data(base64Encoded: token),
              let value = try? JSONParser.parse(Array(data)).value,
              let start = value["start"]?.stringValue, let revision = value["rv"]?.intValue,
              start.hasPrefix(prefix)
        else {
            throw APIError.badRequest("continue key is not valid: invalid continue token")
        }
        if revision < compacted {
            throw APIError(code: 410, reason: "Expired", message: "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")
        }
        return start
    }
}

/// The body of a watch response, made chunk by chunk as the connection asks for it: the
/// starting events, a batch per chunk, then each live event. Only `next` (called one call at a
/// time by the response's stream) moves the cursor; `stop` only ends the watch.
final class WatchEncoder: @unchecked Sendable {
    private let watch: ResourceCache.Watch
    private let type: ResourceType
    private let asTable: Bool
    private let includeObject: String
    private let now: @Sendable () -> Date
    private let timer: Scheduled<Void>
    private var live: AsyncStream<WatchEvent>.Iterator
    private var nextInitial = 0
    /// Column definitions go with the first Table event only, as upstream sends them.
    private var first = true

    static let batchBytes = 64 * 1024

    init(watch: ResourceCache.Watch, type: ResourceType, asTable: Bool, includeObject: String,
         now: @escaping @Sendable () -> Date, timer: Scheduled<Void>) {
        self.watch = watch
        self.type = type
        self.asTable = asTable
        self.includeObject = includeObject
        self.now = now
        self.timer = timer
        live = watch.live.makeAsyncIterator()
    }

    func next() async -> [UInt8]? {
        if nextInitial < watch.initial.count {
            var chunk: [UInt8] = []
            while nextInitial < watch.initial.count, chunk.count < Self.batchBytes {
                chunk += encode(watch.initial[nextInitial])
                nextInitial += 1
            }
            return chunk
        }
        guard let event = await live.next() else {
            timer.cancel()
            return nil
        }
        return encode(event)
    }

    func stop() {
        watch.close()
        timer.cancel()
    }

    private func encode(_ event: WatchEvent) -> [UInt8] {
        let bytes = APIServer.encodeWatchEvent(event, type: type, asTable: asTable, includeObject: includeObject,
                                               headers: first, now: now())
        if event.kind != .bookmark { first = false }
        return bytes
    }
}

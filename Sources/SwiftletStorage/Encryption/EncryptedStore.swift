/// A `Store` that keeps the values of the configured resources encrypted in the store below
/// it, as kube-apiserver's storage transformers keep them in etcd: values are encrypted as
/// they are written and decrypted as they are read, listed or watched, so everything above
/// (the watch caches, the API) sees plaintext and the datastore file never holds it.
public final class EncryptedStore: Store {
    public let base: any Store
    public let configuration: EncryptionConfiguration

    public init(base: any Store, configuration: EncryptionConfiguration) {
        self.base = base
        self.configuration = configuration
    }

    public var currentRevision: Int64 { base.currentRevision }
    public var compactedRevision: Int64 { base.compactedRevision }

    private func plain(_ kv: KeyValue) throws(StoreError) -> KeyValue {
        guard configuration.providers(for: kv.key) != nil else { return kv }
        var out = kv
        do { out.value = try configuration.decrypt(kv.value, key: kv.key) } catch {
            throw StoreError.io("cannot decrypt \(kv.key): \(error)")
        }
        return out
    }

    public func get(_ key: String) throws(StoreError) -> KeyValue? {
        try base.get(key).map { kv throws(StoreError) in try plain(kv) }
    }

    public func list(prefix: String, revision: Int64, startAfter: String?, limit: Int) throws(StoreError) -> ListResult {
        var result = try base.list(prefix: prefix, revision: revision, startAfter: startAfter, limit: limit)
        for i in result.items.indices { result.items[i] = try plain(result.items[i]) }
        return result
    }

    public func create(_ key: String, encode: (Int64) throws -> [UInt8]) throws(StoreError) -> KeyValue {
        try plain(try base.create(key) { revision in try configuration.encrypt(try encode(revision), key: key) })
    }

    public func update(_ key: String, expectedRevision: Int64, encode: (Int64) throws -> [UInt8]) throws(StoreError) -> KeyValue {
        try plain(try base.update(key, expectedRevision: expectedRevision) { revision in
            try configuration.encrypt(try encode(revision), key: key)
        })
    }

    public func delete(_ key: String, expectedRevision: Int64?) throws(StoreError) -> KeyValue {
        try plain(try base.delete(key, expectedRevision: expectedRevision))
    }

    /// Events carry plaintext. A value that cannot be decrypted (a key removed from the
    /// configuration too early) is passed on as stored: no decoder above accepts it, and the
    /// object is skipped rather than the watch stopped.
    public func watch(prefix: String, fromRevision: Int64, handler: @escaping @Sendable (StoreEvent) -> Void) throws(StoreError) -> StoreWatch {
        try base.watch(prefix: prefix, fromRevision: fromRevision) { [configuration] event in
            guard configuration.providers(for: event.kv.key) != nil else { return handler(event) }
            var out = event
            out.kv.value = (try? configuration.decrypt(event.kv.value, key: event.kv.key)) ?? event.kv.value
            if let previous = event.previous {
                out.previous?.value = (try? configuration.decrypt(previous.value, key: previous.key)) ?? previous.value
            }
            handler(out)
        }
    }

    public func compact(revision: Int64) throws(StoreError) { try base.compact(revision: revision) }
    public func writeFailure() -> String? { base.writeFailure() }
    public func close() { base.close() }

    /// Rewrites every value of the encrypted resources not yet under the current write key
    /// (`swiftlet secrets-encrypt rotate`); returns how many were rewritten.
    public func reencryptAll() throws(StoreError) -> Int {
        var rewritten = 0
        for entry in configuration.resources {
            for prefix in entry.prefixes {
                var after: String?
                while true {
                    let page = try base.list(prefix: prefix, revision: 0, startAfter: after, limit: 500)
                    for kv in page.items where !configuration.isCurrent(kv.value, key: kv.key) {
                        let plaintext = try plain(kv).value
                        _ = try update(kv.key, expectedRevision: kv.modRevision) { _ in plaintext }
                        rewritten += 1
                    }
                    guard page.hasMore, let last = page.items.last?.key else { break }
                    after = last
                }
            }
        }
        return rewritten
    }
}

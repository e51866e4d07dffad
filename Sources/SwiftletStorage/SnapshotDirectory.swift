import Foundation

/// The folder snapshots are kept in (k3s: `${data-dir}/server/db/snapshots`), named as k3s
/// names them: `NAME-NODE-UNIXTIME`, where NAME is `on-demand` for `snapshot save` and
/// `scheduled` for the server's own.
public struct SnapshotDirectory: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public struct Snapshot: Sendable, Equatable {
        public var name: String
        public var path: String
        public var size: Int
        public var created: Date
    }

    /// Saves a snapshot of `database` as `NAME-NODE-UNIXTIME`.
    @discardableResult
    public func save(database: String, name: String, node: String, now: Date = Date()) throws -> Snapshot {
        guard Self.isValidName(name) else {
            throw StoreError.io("invalid snapshot name \(name): use letters, digits, '-', '_' and '.'")
        }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let file = "\(name)-\(node)-\(Int64(now.timeIntervalSince1970))"
        try SQLiteSnapshots.save(database: database, to: path + "/" + file)
        guard let saved = list().first(where: { $0.name == file }) else {
            throw StoreError.io("snapshot \(file) vanished after it was saved")
        }
        return saved
    }

    /// Every snapshot here, oldest first.
    public func list() -> [Snapshot] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return [] }
        return names.compactMap { name -> Snapshot? in
            guard !name.hasPrefix("."), !name.hasSuffix(".partial"),
                  let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/" + name),
                  attributes[.type] as? FileAttributeType == .typeRegular else { return nil }
            return Snapshot(name: name, path: path + "/" + name, size: attributes[.size] as? Int ?? 0,
                            created: attributes[.modificationDate] as? Date ?? .distantPast)
        }.sorted { ($0.created, $0.name) < ($1.created, $1.name) }
    }

    /// Removes the oldest snapshots whose names start with `prefix` until `keep` are left
    /// (k3s' retention counts its scheduled snapshots only). Returns the removed names.
    @discardableResult
    public func prune(prefix: String, keep: Int) -> [String] {
        let matching = list().filter { $0.name.hasPrefix(prefix) }
        guard matching.count > keep else { return [] }
        let removed = matching.prefix(matching.count - max(keep, 0))
        for snapshot in removed { try? FileManager.default.removeItem(atPath: snapshot.path) }
        return removed.map(\.name)
    }

    /// A snapshot given by name (in this folder) or by path.
    public func resolve(_ nameOrPath: String) -> String {
        nameOrPath.contains("/") ? nameOrPath : path + "/" + nameOrPath
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 200 && !name.hasPrefix(".")
            && name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) && $0.isASCII || "-_.".unicodeScalars.contains($0) }
    }
}

import Foundation
import Glibc

/// What a garbage collection removed.
public struct CollectedGarbage: Sendable, Equatable {
    public var blobs = 0
    public var snapshots = 0
    public var bytes: Int64 = 0
}

extension ImageStore {
    /// Removes the blobs and snapshots no record names, except snapshots a mounted container
    /// root still uses. Holds the content lock exclusively, so it waits for pulls and imports
    /// in any process, and they wait for it.
    public func collectGarbage() throws(ImageError) -> CollectedGarbage {
        try withLock("content", exclusive: true) { () throws(ImageError) in
            let records = records()
            let keptBlobs = Set(records.flatMap(\.blobs))
            let keptSnapshots = Set(records.flatMap { $0.layers.map { String($0.diffID.hex.prefix(16)) } })
                .union(mountedSnapshots())
            var result = CollectedGarbage()
            for digest in content.allDigests() where !keptBlobs.contains(digest) {
                result.bytes += content.size(digest) ?? 0
                content.delete(digest)
                result.blobs += 1
            }
            for name in snapshotNames() where !keptSnapshots.contains(name) {
                let path = root + "/snapshots/" + name
                result.bytes += FileSystem.diskUsage(path)
                Self.removeTree(path)
                result.snapshots += 1
            }
            // Leftovers of unpacks that a dead process began.
            for name in ((try? FileManager.default.contentsOfDirectory(atPath: root + "/snapshots")) ?? []) where name.hasPrefix(".tmp-") {
                Self.removeTree(root + "/snapshots/" + name)
            }
            content.removeStaleIngests(olderThan: 0)
            return result
        }
    }

    /// Removes images by name and then what only they used. A snapshot that a running
    /// container's root still uses stays until it is unmounted.
    @discardableResult
    public func remove(names: Set<String>) throws(ImageError) -> (removed: [ImageRecord], garbage: CollectedGarbage) {
        let removed = try removeRecords(named: names)
        return (removed, try collectGarbage())
    }

    /// Names of snapshots in use as the lower directories of a mounted overlay, from
    /// `/proc/self/mountinfo`: containers of any process on this machine count.
    public func mountedSnapshots() -> Set<String> {
        guard let bytes = FileSystem.readFile("/proc/self/mountinfo", limit: 64 << 20) else { return [] }
        let prefix = root + "/snapshots/"
        var names = Set<String>()
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.contains(" - overlay ") {
            guard let options = line.split(separator: " ").last else { continue }
            for option in options.split(separator: ",") where option.hasPrefix("lowerdir=") {
                for directory in option.dropFirst("lowerdir=".count).split(separator: ":") {
                    let path = Self.unescapeMountPath(String(directory))
                    guard path.hasPrefix(prefix) else { continue }
                    names.insert(String(path.dropFirst(prefix.count).prefix { $0 != "/" }))
                }
            }
        }
        return names
    }

    /// Images whose snapshots a mounted container uses.
    public func imagesInUse() -> Set<String> {
        let mounted = mountedSnapshots()
        return Set(records().filter { record in record.layers.contains { mounted.contains(String($0.diffID.hex.prefix(16))) } }.map(\.name))
    }

    /// mountinfo writes space, tab, newline and backslash as octal escapes.
    static func unescapeMountPath(_ text: String) -> String {
        guard text.contains("\\") else { return text }
        var bytes: [UInt8] = []
        let utf8 = Array(text.utf8)
        var i = 0
        while i < utf8.count {
            if utf8[i] == UInt8(ascii: "\\"), i + 3 < utf8.count, let value = UInt8(String(decoding: utf8[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                bytes.append(value)
                i += 4
            } else {
                bytes.append(utf8[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: - Usage

    /// The filesystem the store is on: its size and free bytes, as the kubelet's image GC reads them.
    public func filesystemUsage() -> (capacity: Int64, available: Int64)? {
        var info = statvfs()
        guard statvfs(root, &info) == 0 else { return nil }
        return (Int64(info.f_blocks) * Int64(info.f_frsize), Int64(info.f_bavail) * Int64(info.f_frsize))
    }

    /// Bytes the store's content and snapshots take on disk, each blob and snapshot counted
    /// once however many images share it.
    public func diskUsage() -> Int64 {
        FileSystem.diskUsage(root + "/blobs") + FileSystem.diskUsage(root + "/snapshots")
    }
}

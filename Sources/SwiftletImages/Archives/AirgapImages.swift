import Foundation
import Glibc

/// The airgap folder, as k3s's `agent/images/`: archives dropped into `DATA_DIR/images/` are
/// imported when the node starts. An archive whose size and modification time are those of
/// its last import is skipped (the store remembers them in `imports.json`).
public struct AirgapImages: Sendable {
    public let directory: String
    public let importer: ImageArchiveImporter

    public init(directory: String, importer: ImageArchiveImporter) {
        self.directory = directory
        self.importer = importer
    }

    public static let extensions = [".tar", ".tar.gz", ".tgz", ".tar.zst", ".tzst"]

    public struct Outcome: Sendable {
        public var file: String
        public var result: Result<[ImageRecord], ImageError>?  // nil: skipped, imported before
    }

    /// Imports what is new, in name order.
    public func importNew() -> [Outcome] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        var outcomes: [Outcome] = []
        for name in names where Self.extensions.contains(where: { name.lowercased().hasSuffix($0) }) {
            let path = directory + "/" + name
            var info = stat()
            guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            let stamp = Stamp(size: Int64(info.st_size), modified: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
            if stamps()[path] == stamp {
                outcomes.append(Outcome(file: path, result: nil))
                continue
            }
            do throws(ImageError) {
                let records = try importer.importArchive(path)
                try remember(path, stamp)
                outcomes.append(Outcome(file: path, result: .success(records)))
            } catch {
                outcomes.append(Outcome(file: path, result: .failure(error)))
            }
        }
        return outcomes
    }

    struct Stamp: Codable, Equatable {
        var size: Int64
        var modified: Int64
    }

    private var stampsPath: String { importer.store.root + "/imports.json" }

    private func stamps() -> [String: Stamp] {
        guard let bytes = FileSystem.readFile(stampsPath, limit: 16 << 20) else { return [:] }
        return (try? CanonicalJSON.decode([String: Stamp].self, from: bytes, what: "imports.json")) ?? [:]
    }

    private func remember(_ path: String, _ stamp: Stamp) throws(ImageError) {
        try importer.store.withLock("records", exclusive: true) { () throws(ImageError) in
            var all = stamps()
            all[path] = stamp
            try FileSystem.writeAtomically(CanonicalJSON.encode(all), to: stampsPath)
        }
    }
}

import ArgumentParser
import Foundation
import Glibc
import SwiftletImages
import SwiftletNodeAgent
import SwiftletOffload

/// `swiftlet images`: a node's image store, whether or not its server or agent runs (the
/// store's file locks keep the two apart).
struct ImagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "images",
        abstract: "List, pull, import and remove a node's images.",
        subcommands: [List.self, Pull.self, Import.self, Remove.self, Prune.self])

    struct Location: ParsableArguments {
        @Option(help: "The --data-dir that `swiftlet server` or `swiftlet agent` was given (default: the server's).")
        var dataDir: String = ServerCommand.defaultDataDir()

        func store() throws -> ImageStore {
            try ImageStore(root: NodeAgentConfig.imageStoreDirectory(dataDirectory: dataDir))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the images, as crictl images does.")
        @OptionGroup var location: Location

        func run() async throws {
            let store = try location.store()
            let records = store.records().sorted { $0.name < $1.name }
            var rows = [["IMAGE", "TAG", "IMAGE ID", "SIZE"]]
            for record in records {
                let reference = ImageReference(record.name)
                rows.append([reference?.name ?? record.name, reference?.tag ?? "<none>", record.id.short,
                             ByteCount.human(record.size)])
            }
            print(Table.render(rows), terminator: "")
            let unique = Set(records.flatMap { $0.layers.map(\.blob.digest) })
            let content = records.flatMap { $0.layers.map(\.blob) }.reduce(into: [Digest: Int64]()) { $0[$1.digest] = $1.size }
            print("\(records.count) images, \(ByteCount.human(unique.reduce(0) { $0 + (content[$1] ?? 0) })) of layers "
                  + "(shared layers counted once), \(ByteCount.human(store.diskUsage())) on disk")
        }
    }

    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "pull", abstract: "Pull an image from its registry (or a mirror in registries.yaml).")
        @OptionGroup var location: Location
        @Option(help: "Credentials for the registry, USER:PASSWORD.")
        var creds: String?
        @Argument(help: "The image, e.g. redis:7 or registry.example.com/team/app@sha256:…")
        var image: String

        func run() async throws {
            guard let reference = ImageReference(image) else { throw CommandFailure("invalid image reference \"\(image)\"") }
            let store = try location.store()
            let registries = try RegistriesConfig.load(path: location.dataDir + "/registries.yaml")
            let puller = ImagePuller(store: store, registries: registries,
                                     builtIn: BuiltInImages(programDirectory: NodeAgentConfig.executableDirectory()))
            var credentials: [RegistryCredential] = []
            if let creds {
                let parts = creds.split(separator: ":", maxSplits: 1).map(String.init)
                credentials = [RegistryCredential(username: parts[0], password: parts.count > 1 ? parts[1] : "")]
            }
            let progress = LayerProgress()
            let record = try await puller.pull(reference, credentials: credentials) { progress.report($0) }
            progress.finish()
            print("Image is up to date for \(record.name) (\(record.repoDigest))")
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Import docker save or OCI image-layout archives (plain, gzip or zstd), as k3s's airgap images.")
        @OptionGroup var location: Location
        @Argument(help: "Archives to import.")
        var files: [String]

        func run() async throws {
            let importer = ImageArchiveImporter(store: try location.store())
            for file in files {
                let progress = LayerProgress()
                let records = try await Offload.run { () throws(ImageError) in
                    try importer.importArchive(file) { progress.report($0) }
                }
                progress.finish()
                for record in records { print("unpacking \(record.name) (\(record.target.digest))...done") }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove images no container uses.")
        @OptionGroup var location: Location
        @Argument(help: "Images to remove.")
        var images: [String]

        func run() async throws {
            let store = try location.store()
            let inUse = store.imagesInUse()
            var names = Set<String>()
            for image in images {
                guard let reference = ImageReference(image), let record = store.image(for: reference) else {
                    throw CommandFailure("no such image: \(image)")
                }
                guard !inUse.contains(record.name) else {
                    throw CommandFailure("image \(record.name) is in use by a running container")
                }
                names.insert(record.name)
            }
            let (removed, garbage) = try store.remove(names: names)
            for record in removed { print("Deleted: \(record.name)") }
            print("Freed \(ByteCount.human(garbage.bytes))")
        }
    }

    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prune", abstract: "Remove every image no container uses (the built-in ones stay) and content nothing names.")
        @OptionGroup var location: Location

        func run() async throws {
            let store = try location.store()
            let inUse = store.imagesInUse()
            let names = Set(store.records().filter { !$0.pinned && !inUse.contains($0.name) }.map(\.name))
            let (removed, garbage) = try store.remove(names: names)
            for record in removed { print("Deleted: \(record.name)") }
            print("Freed \(ByteCount.human(garbage.bytes))")
        }
    }
}

/// Sizes as crictl prints them (decimal units, three significant digits).
enum ByteCount {
    static func human(_ bytes: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        if unit == 0 { return "\(bytes)B" }
        let digits = value >= 100 ? 0 : (value >= 10 ? 1 : 2)
        return String(format: "%.\(digits)f%@", value, units[unit])
    }
}

/// Columns padded to their widest cell, three spaces apart.
enum Table {
    static func render(_ rows: [[String]]) -> String {
        guard let first = rows.first else { return "" }
        let widths = (0..<first.count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index] + 3, withPad: " ", startingAt: 0)
            }.joined()
        }.joined(separator: "\n") + "\n"
    }
}

/// A pull's or import's progress: on a terminal a line per layer, redrawn as bytes arrive;
/// otherwise a line per layer once it is done.
final class LayerProgress: @unchecked Sendable {
    private let lock = NSLock()
    private let terminal = isatty(STDOUT_FILENO) == 1
    private var order: [Digest] = []
    private var lines: [Digest: String] = [:]
    private var drawn = 0

    func report(_ event: PullEvent) {
        lock.lock()
        defer { lock.unlock() }
        switch event {
        case .resolved(let reference, let digest):
            print("\(reference): resolved to \(digest)")
        case .layerPresent(let digest, let size):
            update(digest, "\(digest.short): already present \(ByteCount.human(size))", done: true)
        case .layerProgress(let digest, let received, let total):
            update(digest, "\(digest.short): downloading \(ByteCount.human(received))/\(ByteCount.human(total))", done: false)
        case .layerDone(let digest, let size):
            update(digest, "\(digest.short): done \(ByteCount.human(size))", done: true)
        }
    }

    private func update(_ digest: Digest, _ line: String, done: Bool) {
        if lines[digest] == nil { order.append(digest) }
        lines[digest] = line
        if terminal {
            // Back to the first layer's line, then every line again.
            if drawn > 0 { Swift.print("\u{1B}[\(drawn)A", terminator: "") }
            for digest in order { Swift.print("\u{1B}[2K" + (lines[digest] ?? "")) }
            drawn = order.count
            fflush(nil)
        } else if done {
            Swift.print(line)
        }
    }

    func finish() { fflush(nil) }
}

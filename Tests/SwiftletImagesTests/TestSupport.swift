import Foundation
import Glibc
import Testing
@testable import SwiftletImages

/// A directory of its own under /tmp for one test; the test removes it with `remove()`.
struct TemporaryDirectory {
    let path: String

    init(_ label: String = "swiftlet-images-test") {
        path = "/tmp/\(label)-\(UUID().uuidString.prefix(12).lowercased())"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// A subdirectory, created.
    func directory(_ name: String) -> String {
        let full = path + "/" + name
        try! FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        return full
    }

    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let full = path + "/" + name
        try! Data(bytes).write(to: URL(fileURLWithPath: full))
        return full
    }
}

struct CommandError: Error, CustomStringConvertible {
    var description: String
}

/// Runs a shell command line to completion. Output goes to files, never pipes, so a large
/// output cannot block the command.
func shell(_ commandLine: String) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", commandLine]
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw CommandError(description: "`\(commandLine)` exited with \(process.terminationStatus)")
    }
}

func readFile(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// `bytes` compressed by a command-line tool (`gzip -c -n`, `zstd -c -q`) reading a file.
func compress(_ bytes: [UInt8], with tool: String) throws -> [UInt8] {
    let directory = TemporaryDirectory("swiftlet-compress")
    defer { directory.remove() }
    let input = directory.write("input", bytes)
    try shell("\(tool) < '\(input)' > '\(directory.path)/output'")
    return try readFile(directory.path + "/output")
}

func gzip(_ bytes: [UInt8]) throws -> [UInt8] { try compress(bytes, with: "gzip -c -n") }
func zstd(_ bytes: [UInt8]) throws -> [UInt8] { try compress(bytes, with: "zstd -c -q") }

/// Python's tarfile writing an archive: `script` (unindented Python) gets `tar`, open for
/// writing, and the modules `io` and `tarfile`.
func pythonTar(format: String, _ script: String) throws -> [UInt8] {
    let directory = TemporaryDirectory("swiftlet-python-tar")
    defer { directory.remove() }
    let program = """
        import io, tarfile
        tar = tarfile.open('\(directory.path)/out.tar', 'w', format=tarfile.\(format))
        \(script)
        tar.close()
        """
    let file = directory.write("make.py", Array(program.utf8))
    try shell("/usr/bin/python3 '\(file)'")
    return try readFile(directory.path + "/out.tar")
}

// MARK: - Tar streams

/// A tar stream TarWriter writes, in memory.
func tarBytes(_ build: (TarWriter) throws -> Void) throws -> [UInt8] {
    final class Sink {
        var bytes: [UInt8] = []
    }
    let sink = Sink()
    let writer = TarWriter { (chunk) throws(ImageError) in sink.bytes += chunk }
    try build(writer)
    try writer.finish()
    return sink.bytes
}

/// Tar headers made byte by byte, for what TarWriter never writes: hard links, fifos,
/// devices, owners and times, PAX records, GNU long names and base-256 numbers.
enum RawTar {
    static let file = UInt8(ascii: "0")
    static let hardlink = UInt8(ascii: "1")
    static let symlink = UInt8(ascii: "2")
    static let characterDevice = UInt8(ascii: "3")
    static let directory = UInt8(ascii: "5")
    static let fifo = UInt8(ascii: "6")

    /// One ustar header block; `edit` may change fields before the checksum is computed.
    static func header(_ name: String, type: UInt8 = file, size: Int64 = 0, mode: UInt32 = 0o644, uid: Int = 0, gid: Int = 0,
                       mtime: Int64 = 0, linkName: String = "", edit: (inout [UInt8]) -> Void = { _ in }) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ bytes: [UInt8], at offset: Int) {
            for (i, byte) in bytes.enumerated() { block[offset + i] = byte }
        }
        func octal(_ value: Int64, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
        }
        put(Array(name.utf8.prefix(100)), at: 0)
        put(octal(Int64(mode), width: 8), at: 100)
        put(octal(Int64(uid), width: 8), at: 108)
        put(octal(Int64(gid), width: 8), at: 116)
        put(octal(size, width: 12), at: 124)
        put(octal(mtime, width: 12), at: 136)
        block[156] = type
        put(Array(linkName.utf8.prefix(100)), at: 157)
        put(Array("ustar\0".utf8), at: 257)
        put(Array("00".utf8), at: 263)
        edit(&block)
        put(Array(repeating: UInt8(ascii: " "), count: 8), at: 148)
        let sum = block.reduce(0) { $0 + Int64($1) }
        put(octal(sum, width: 7) + [UInt8(ascii: " ")], at: 148)
        return block
    }

    /// A whole entry: header, data, padding.
    static func entry(_ name: String, type: UInt8 = file, data: [UInt8] = [], mode: UInt32 = 0o644, uid: Int = 0, gid: Int = 0,
                      mtime: Int64 = 0, linkName: String = "", edit: (inout [UInt8]) -> Void = { _ in }) -> [UInt8] {
        header(name, type: type, size: Int64(data.count), mode: mode, uid: uid, gid: gid, mtime: mtime, linkName: linkName, edit: edit)
            + padded(data)
    }

    /// A PAX extended header ('x') with these records, for the entry that follows.
    static func pax(_ records: [(String, [UInt8])]) -> [UInt8] {
        let body = TarWriter.paxRecords(records)
        return header("PaxHeaders/entry", type: UInt8(ascii: "x"), size: Int64(body.count)) + padded(body)
    }

    /// A GNU long name ('L') or long link name ('K') record.
    static func gnuLong(_ type: Character, _ name: String) -> [UInt8] {
        let body = Array(name.utf8) + [0]
        return header("././@LongLink", type: UInt8(ascii: type.unicodeScalars.first!), size: Int64(body.count)) + padded(body)
    }

    static let end = [UInt8](repeating: 0, count: 1024)

    static func padded(_ data: [UInt8]) -> [UInt8] {
        data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    /// GNU base-256: the marker bit, then the value big-endian in two's complement.
    static func base256(_ value: Int64, width: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: value < 0 ? 0xff : 0, count: width)
        var rest = value
        for i in stride(from: width - 1, to: 0, by: -1) {
            bytes[i] = UInt8(truncatingIfNeeded: rest)
            rest >>= 8
        }
        bytes[0] |= 0x80
        return bytes
    }
}

/// Everything a tar stream handed on, entry by entry.
final class RecordingConsumer: TarEntryConsumer {
    struct Entry: Equatable {
        var header: TarHeader
        var data: [UInt8]
    }

    var entries: [Entry] = []
    var open = false

    func begin(_ header: TarHeader) throws(ImageError) {
        #expect(!open, "begin before the previous entry's end")
        entries.append(Entry(header: header, data: []))
        open = true
    }

    func data(_ bytes: UnsafeRawBufferPointer) throws(ImageError) {
        entries[entries.count - 1].data += bytes
    }

    func end() throws(ImageError) {
        #expect(open, "end without begin")
        open = false
    }
}

/// Parses a whole tar stream, in chunks of `chunkSize` bytes (all at once when nil).
func readTar(_ bytes: [UInt8], chunkSize: Int? = nil) throws(ImageError) -> [RecordingConsumer.Entry] {
    let consumer = RecordingConsumer()
    let reader = TarReader(consumer: consumer)
    try feed(bytes, chunkSize: chunkSize) { (chunk) throws(ImageError) in try reader.feed(chunk) }
    try reader.finish()
    return consumer.entries
}

/// Hands `bytes` to `body` in chunks of `chunkSize` (all at once when nil).
func feed(_ bytes: [UInt8], chunkSize: Int? = nil, _ body: (UnsafeRawBufferPointer) throws(ImageError) -> Void) throws(ImageError) {
    let size = max(1, chunkSize ?? bytes.count)
    var offset = 0
    while offset < bytes.count {
        let end = min(offset + size, bytes.count)
        try FileSystem.withBytes(Array(bytes[offset..<end])) { (chunk) throws(ImageError) in try body(chunk) }
        offset = end
    }
}

// MARK: - Layers

/// Extracts a whole (uncompressed) layer tar into `directory`, as a snapshot is filled.
@discardableResult
func extract(_ tar: [UInt8], into directory: String, limits: LayerExtractor.Limits = .init()) throws(ImageError) -> LayerExtractor {
    let extractor = try LayerExtractor(directory: directory, limits: limits)
    let reader = TarReader(consumer: extractor)
    try feed(tar) { (chunk) throws(ImageError) in try reader.feed(chunk) }
    try reader.finish()
    try extractor.finish()
    return extractor
}

/// The error a throwing call ended with, nil if it returned.
func imageError(_ body: () throws(ImageError) -> Void) -> ImageError? {
    do throws(ImageError) {
        try body()
        return nil
    } catch {
        return error
    }
}

func imageError(_ body: () async throws(ImageError) -> Void) async -> ImageError? {
    do throws(ImageError) {
        try await body()
        return nil
    } catch {
        return error
    }
}

func fileStatus(_ path: String) -> stat? {
    var info = stat()
    return lstat(path, &info) == 0 ? info : nil
}

func exists(_ path: String) -> Bool { fileStatus(path) != nil }

func fileType(_ path: String) -> mode_t? { fileStatus(path).map { $0.st_mode & S_IFMT } }

func contents(_ path: String) -> String? {
    (try? readFile(path)).map { String(decoding: $0, as: UTF8.self) }
}

/// An extended attribute of a file or directory (not following a final symbolic link).
func extendedAttribute(_ path: String, _ name: String) -> String? {
    let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    return ExtendedAttributes.get(fd, name).map { String(decoding: $0, as: UTF8.self) }
}

// MARK: - Images

/// One image's blobs as a registry or an archive holds them.
struct TestImage {
    var layers: [(blob: [UInt8], descriptor: Descriptor, diffID: Digest)]
    var config: [UInt8]
    var configDescriptor: Descriptor
    var manifest: [UInt8]
    var manifestDescriptor: Descriptor

    /// Each layer a gzip-compressed tar of `files` (path → text), in order, bottom first.
    init(layers files: [[String: String]], platform: Platform = Platform(os: "linux", architecture: "amd64"),
         compression: Compression = .gzip, manifestMediaType: String = MediaType.ociManifest) throws {
        layers = []
        for layerFiles in files {
            let tar = try tarBytes { tar in
                for (path, text) in layerFiles.sorted(by: { $0.key < $1.key }) {
                    try tar.file(path, contents: Array(text.utf8))
                }
            }
            let (blob, mediaType): ([UInt8], String) = switch compression {
            case .gzip: (try gzip(tar), MediaType.ociLayerGzip)
            case .zstd: (try zstd(tar), MediaType.ociLayerZstd)
            case .none: (tar, MediaType.ociLayer)
            }
            layers.append((blob, Descriptor(mediaType: mediaType, digest: Digest(hashing: blob), size: Int64(blob.count)),
                           Digest(hashing: tar)))
        }
        config = CanonicalJSON.encode(ImageConfiguration(platform: platform, config: .init(Cmd: ["/bin/app"]),
                                                         diffIDs: layers.map(\.diffID)))
        configDescriptor = Descriptor(mediaType: MediaType.ociConfig, digest: Digest(hashing: config), size: Int64(config.count))
        manifest = CanonicalJSON.encode(ImageManifest(mediaType: manifestMediaType, config: configDescriptor,
                                                      layers: layers.map(\.descriptor)))
        manifestDescriptor = Descriptor(mediaType: manifestMediaType, digest: Digest(hashing: manifest), size: Int64(manifest.count))
    }
}

extension ImageRecord {
    /// A record whose content is not checked: for store tests.
    static func fake(_ name: String, blobs: [Digest], diffIDs: [Digest], pinned: Bool = false) -> ImageRecord {
        let descriptor = { (digest: Digest) in Descriptor(mediaType: MediaType.ociManifest, digest: digest, size: 1) }
        return ImageRecord(name: name, target: descriptor(blobs[0]), manifest: blobs[0], config: descriptor(blobs[1]),
                           layers: zip(blobs.dropFirst(2), diffIDs).map { ImageRecord.Layer(blob: descriptor($0), diffID: $1) },
                           created: Date(timeIntervalSince1970: 1_700_000_000), pinned: pinned)
    }
}

import Foundation
import SwiftletSpawn

/// The files of a layer Swiftlet assembles: directories, files (from the host or given),
/// and symbolic links, keyed by their path in the image. Written in path order, with every
/// parent directory, so the same content always makes the same tar.
struct LayerContent {
    enum Source: Equatable {
        case host(String, mode: UInt32?)
        case bytes([UInt8], mode: UInt32)
    }

    var directories: [String: UInt32] = [:]
    var files: [String: Source] = [:]
    var symlinks: [String: String] = [:]

    mutating func directory(_ path: String, mode: UInt32 = 0o755) { directories[Self.clean(path)] = mode }
    mutating func file(_ path: String, host: String, mode: UInt32? = nil) { files[Self.clean(path)] = .host(host, mode: mode) }
    mutating func file(_ path: String, text: String, mode: UInt32 = 0o644) { files[Self.clean(path)] = .bytes(Array(text.utf8), mode: mode) }
    mutating func symlink(_ path: String, to target: String) { symlinks[Self.clean(path)] = target }

    /// A program and the shared libraries it loads (and their loader), each at the path the
    /// host's loader finds it, so the program starts the same way inside the image.
    mutating func program(_ path: String, host: String) throws(ImageError) {
        file(path, host: host)
        for (imagePath, hostPath) in try LibraryClosure.libraries(of: host) where files[Self.clean(imagePath)] == nil {
            file(imagePath, host: hostPath)
        }
    }

    /// The host files the layer copies: what its fingerprint is computed from.
    var hostFiles: [String] {
        files.values.compactMap { if case .host(let path, _) = $0 { return path } else { return nil } }.sorted()
    }

    func write(to tar: TarWriter) throws(ImageError) {
        var paths = Set(directories.keys).union(files.keys).union(symlinks.keys)
        for path in Array(paths) {
            var parent = (path as NSString).deletingLastPathComponent
            while !parent.isEmpty, parent != "/" {
                paths.insert(parent)
                parent = (parent as NSString).deletingLastPathComponent
            }
        }
        for path in paths.sorted() {
            if let target = symlinks[path] {
                try tar.symlink(path, target: target)
            } else if let source = files[path] {
                switch source {
                case .host(let host, let mode): try tar.file(path, copyOf: host, mode: mode)
                case .bytes(let bytes, let mode): try tar.file(path, contents: bytes, mode: mode)
                }
            } else {
                try tar.directory(path, mode: directories[path] ?? 0o755)
            }
        }
        try tar.finish()
    }

    /// Relative to the image's root, without a leading slash: how layer tars name entries.
    private static func clean(_ path: String) -> String {
        String(path.drop { $0 == "/" })
    }
}

/// The shared libraries a host program needs, as the dynamic loader resolves them (`ldd`).
enum LibraryClosure {
    /// Image path → host path (symbolic links resolved: the image gets the file's content).
    static func libraries(of program: String) throws(ImageError) -> [(String, String)] {
        let output: CommandOutput
        do {
            output = try Command.run(["/usr/bin/ldd", program])
        } catch {
            throw ImageError(.storage, "cannot run ldd on \(program): \(String(cString: strerror(error.errno)))")
        }
        // A static program: "not a dynamic executable", and nothing to add.
        guard output.status == 0 else { return [] }
        var libraries: [(String, String)] = []
        for line in output.stdout.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if let arrow = fields.firstIndex(of: "=>"), arrow + 1 < fields.count, fields[arrow + 1].hasPrefix("/") {
                libraries.append((String(fields[arrow + 1]), String(fields[arrow + 1])))
            } else if let first = fields.first, first.hasPrefix("/") {
                // The loader itself, at the path programs name it by.
                libraries.append((String(first), String(first)))
            }
        }
        guard !libraries.isEmpty else {
            throw ImageError(.storage, "ldd found no libraries for \(program): \(output.stderr)")
        }
        return libraries
    }
}

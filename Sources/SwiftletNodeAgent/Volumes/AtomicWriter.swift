import Foundation

/// Writes a volume's files the way the kubelet's AtomicWriter does, so that a running
/// container sees an update all at once: the files go into a new hidden folder, `..data` is
/// switched to it with one rename, and each visible name is a symlink through `..data`.
struct AtomicWriter {
    let directory: String

    struct File: Equatable {
        var path: String  // relative, may contain folders
        var data: [UInt8]
        var mode: UInt16
    }

    /// Makes the folder hold exactly `files`; returns false when they were already there.
    @discardableResult
    func write(_ unordered: [File]) throws -> Bool {
        let files = unordered.sorted { $0.path < $1.path }  // the order `contents(of:)` reads back
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let dataLink = directory + "/..data"
        if let current = try? fm.destinationOfSymbolicLink(atPath: dataLink), contents(of: directory + "/" + current) == files {
            return false
        }
        let stamp = "..\(ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "_")).\(UInt32.random(in: 0...UInt32.max))"
        let target = directory + "/" + stamp
        try fm.createDirectory(atPath: target, withIntermediateDirectories: true)
        for file in files {
            let path = target + "/" + file.path
            try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            guard fm.createFile(atPath: path, contents: Data(file.data), attributes: [.posixPermissions: file.mode]) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
            _ = chmod(path, mode_t(file.mode))  // not narrowed by the umask
        }
        let previous = try? fm.destinationOfSymbolicLink(atPath: dataLink)
        let temporary = directory + "/..data_tmp"
        try? fm.removeItem(atPath: temporary)
        try fm.createSymbolicLink(atPath: temporary, withDestinationPath: stamp)
        guard rename(temporary, dataLink) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        // Visible names: one symlink per top-level entry, and none left for names that went.
        let topLevel = Set(files.map { String($0.path.split(separator: "/").first ?? "") })
        for name in (try? fm.contentsOfDirectory(atPath: directory)) ?? [] where !name.hasPrefix("..") && !topLevel.contains(name) {
            try? fm.removeItem(atPath: directory + "/" + name)
        }
        for name in topLevel where (try? fm.destinationOfSymbolicLink(atPath: directory + "/" + name)) == nil {
            try fm.createSymbolicLink(atPath: directory + "/" + name, withDestinationPath: "..data/" + name)
        }
        if let previous { try? fm.removeItem(atPath: directory + "/" + previous) }
        return true
    }

    private func contents(of folder: String) -> [File]? {
        guard let paths = FileManager.default.subpaths(atPath: folder) else { return nil }
        var files: [File] = []
        for path in paths.sorted() {
            var info = stat()
            guard stat(folder + "/" + path, &info) == 0 else { return nil }
            guard info.st_mode & S_IFMT == S_IFREG else { continue }
            guard let data = FileManager.default.contents(atPath: folder + "/" + path) else { return nil }
            files.append(File(path: path, data: Array(data), mode: UInt16(info.st_mode & 0o7777)))
        }
        return files
    }
}

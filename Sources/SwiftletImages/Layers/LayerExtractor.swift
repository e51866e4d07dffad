import Foundation
import Glibc

/// Unpacks one layer's tar stream into an empty directory, the layer's own snapshot, in the
/// form overlayfs reads as a lower directory: OCI whiteouts (`.wh.NAME`) become 0/0 character
/// devices and opaque markers (`.wh..wh..opq`) the `trusted.overlay.opaque` attribute, as
/// containerd's overlay snapshotter converts them.
///
/// Extraction is where image tools have been broken into, so every path is opened one
/// component at a time from the snapshot's root with `O_NOFOLLOW`. A layer is refused, never
/// "repaired", when an entry:
/// - has an absolute name or a `..` component;
/// - would be written through a symbolic link (a symlinked parent) or under a non-directory;
/// - is a hard link to something outside this layer, to a directory, or through a symlink.
/// Symbolic links themselves may point anywhere: they are only ever followed inside the
/// container's own root. Extended attributes other than `user.*` and `security.capability`
/// are dropped, so a layer cannot forge overlayfs's own `trusted.overlay.*` attributes.
/// Device nodes are not created (a container gets its devices from the runtime).
public final class LayerExtractor: TarEntryConsumer {
    public struct Limits: Sendable {
        /// Bytes of file content a layer may unpack to.
        public var maxBytes: Int64
        public var maxEntries: Int

        public init(maxBytes: Int64 = 64 << 30, maxEntries: Int = 4_000_000) {
            self.maxBytes = maxBytes
            self.maxEntries = maxEntries
        }
    }

    private let root: Int32
    private let limits: Limits
    private var file: (fd: Int32, header: TarHeader)?
    private var directories: [(components: [String], header: TarHeader)] = []
    /// Where each directory is in `directories`: one listed again gets its last header, as tar gives it.
    private var directoryPositions: [String: Int] = [:]
    public private(set) var bytesWritten: Int64 = 0
    public private(set) var entries = 0
    /// Device entries that were left out.
    public private(set) var skippedDevices = 0

    /// `directory` must exist and be empty; the caller removes it if extraction fails.
    public init(directory: String, limits: Limits = Limits()) throws(ImageError) {
        root = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard root >= 0 else { throw ImageError(.storage, "cannot open \(directory): \(FileSystem.errorText())") }
        self.limits = limits
    }

    deinit {
        if let file { close(file.fd) }
        close(root)
    }

    public func begin(_ header: TarHeader) throws(ImageError) {
        entries += 1
        guard entries <= limits.maxEntries else {
            throw ImageError(.tooLarge, "layer has more than \(limits.maxEntries) entries")
        }
        let components = try Self.components(header.name, entry: header.name)
        guard let base = components.last else { return }  // The root itself ("./"): nothing to make.
        let parentComponents = Array(components.dropLast())
        let parent = try openDirectory(parentComponents, entry: header.name)
        defer { close(parent) }

        if base.hasPrefix(".wh.") {
            try whiteout(base: base, parent: parent, header: header)
            return
        }
        switch header.kind {
        case .directory:
            var info = stat()
            if fstatat(parent, base, &info, AT_SYMLINK_NOFOLLOW) == 0 {
                if (info.st_mode & S_IFMT) == S_IFDIR {
                    recordDirectory(components, header)
                    return
                }
                try remove(base, in: parent, entry: header.name)
            }
            guard mkdirat(parent, base, 0o700) == 0 else { throw failure("create directory", header.name) }
            recordDirectory(components, header)
        case .file:
            try remove(base, in: parent, entry: header.name)
            let fd = openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw failure("create file", header.name) }
            file = (fd, header)
        case .symlink:
            try remove(base, in: parent, entry: header.name)
            guard symlinkat(header.linkName, parent, base) == 0 else { throw failure("create symbolic link", header.name) }
            fchownat(parent, base, uid_t(clamping: header.uid), gid_t(clamping: header.gid), AT_SYMLINK_NOFOLLOW)
            Self.setTimes(header) { utimensat(parent, base, $0, AT_SYMLINK_NOFOLLOW) }
        case .hardlink:
            try hardlink(base: base, parent: parent, header: header)
        case .fifo:
            try remove(base, in: parent, entry: header.name)
            guard mkfifoat(parent, base, 0o600) == 0 else { throw failure("create fifo", header.name) }
            fchownat(parent, base, uid_t(clamping: header.uid), gid_t(clamping: header.gid), AT_SYMLINK_NOFOLLOW)
            // Set apart from mkfifo, whose mode the process's umask would trim.
            guard fchmodat(parent, base, mode_t(header.mode), 0) == 0 else { throw failure("set the mode of", header.name) }
            Self.setTimes(header) { utimensat(parent, base, $0, AT_SYMLINK_NOFOLLOW) }
        case .characterDevice, .blockDevice:
            skippedDevices += 1
        case .unsupported(let type):
            throw ImageError(.unsupported, "layer entry \(header.name) has the unsupported tar type '\(Character(UnicodeScalar(type)))'")
        }
    }

    public func data(_ bytes: UnsafeRawBufferPointer) throws(ImageError) {
        guard let file else { return }
        bytesWritten += Int64(bytes.count)
        guard bytesWritten <= limits.maxBytes else {
            throw ImageError(.tooLarge, "layer unpacks to more than \(limits.maxBytes) bytes")
        }
        guard FileSystem.writeAll(file.fd, bytes) else { throw failure("write", file.header.name) }
    }

    public func end() throws(ImageError) {
        guard let (fd, header) = file else { return }
        file = nil
        defer { close(fd) }
        // Owner before mode: chown clears the setuid and setgid bits.
        fchown(fd, uid_t(clamping: header.uid), gid_t(clamping: header.gid))
        guard fchmod(fd, mode_t(header.mode)) == 0 else { throw failure("set the mode of", header.name) }
        for (name, value) in header.xattrs where Self.keepsAttribute(name) {
            ExtendedAttributes.set(fd, name, value)
        }
        Self.setTimes(header) { futimens(fd, $0) }
    }

    /// Gives directories their modes, owners and times, deepest first, once nothing more is
    /// written into them (a read-only directory would refuse its own entries otherwise).
    public func finish() throws(ImageError) {
        for (components, header) in directories.reversed() {
            guard let parent = try? openDirectory(Array(components.dropLast()), entry: header.name, create: false) else { continue }
            defer { close(parent) }
            let fd = openat(parent, components.last!, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            fchown(fd, uid_t(clamping: header.uid), gid_t(clamping: header.gid))
            fchmod(fd, mode_t(header.mode))
            for (name, value) in header.xattrs where Self.keepsAttribute(name) {
                ExtendedAttributes.set(fd, name, value)
            }
            Self.setTimes(header) { futimens(fd, $0) }
        }
        directories = []
        directoryPositions = [:]
    }

    private func recordDirectory(_ components: [String], _ header: TarHeader) {
        let path = components.joined(separator: "/")
        if let position = directoryPositions[path] {
            directories[position].header = header
        } else {
            directoryPositions[path] = directories.count
            directories.append((components, header))
        }
    }

    // MARK: - Entries

    private func whiteout(base: String, parent: Int32, header: TarHeader) throws(ImageError) {
        if base == ".wh..wh..opq" {
            // Everything the lower layers have in this directory is hidden.
            guard ExtendedAttributes.set(parent, "trusted.overlay.opaque", [UInt8(ascii: "y")]) else { throw failure("mark as opaque the directory of", header.name) }
            return
        }
        // Other `.wh..wh.` names are aufs bookkeeping, meaningless here.
        if base.hasPrefix(".wh..wh.") { return }
        let name = String(base.dropFirst(4))
        guard Self.isPlainName(name) else { throw ImageError(.invalidContent, "invalid whiteout \(header.name)") }
        try remove(name, in: parent, entry: header.name)
        guard mknodat(parent, name, S_IFCHR, 0) == 0 else { throw failure("create the whiteout", header.name) }
        fchownat(parent, name, uid_t(clamping: header.uid), gid_t(clamping: header.gid), AT_SYMLINK_NOFOLLOW)
    }

    private func hardlink(base: String, parent: Int32, header: TarHeader) throws(ImageError) {
        let target = try Self.components(header.linkName, entry: header.name)
        guard let targetBase = target.last else {
            throw ImageError(.invalidContent, "invalid layer: hard link \(header.name) has no target")
        }
        let targetParent = try openDirectory(Array(target.dropLast()), entry: header.name, create: false)
        defer { close(targetParent) }
        var info = stat()
        guard fstatat(targetParent, targetBase, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw ImageError(.invalidContent, "invalid layer: hard link \(header.name) points to \(header.linkName), which is not in the layer")
        }
        guard (info.st_mode & S_IFMT) != S_IFDIR else {
            throw ImageError(.invalidContent, "invalid layer: hard link \(header.name) points to the directory \(header.linkName)")
        }
        var existing = stat()
        if fstatat(parent, base, &existing, AT_SYMLINK_NOFOLLOW) == 0, existing.st_ino == info.st_ino, existing.st_dev == info.st_dev {
            return
        }
        try remove(base, in: parent, entry: header.name)
        guard linkat(targetParent, targetBase, parent, base, 0) == 0 else { throw failure("create the hard link", header.name) }
    }

    // MARK: - Paths

    /// The components of an entry's name. `./` prefixes and repeated slashes are fine; an
    /// absolute name or a `..` is refused.
    static func components(_ name: String, entry: String) throws(ImageError) -> [String] {
        guard !name.hasPrefix("/") else {
            throw ImageError(.invalidContent, "invalid layer: entry \(entry) has the absolute path \(name)")
        }
        var result: [String] = []
        for part in name.split(separator: "/", omittingEmptySubsequences: true) where part != "." {
            guard part != ".." else {
                throw ImageError(.invalidContent, "invalid layer: entry \(entry) has a path with \"..\": \(name)")
            }
            result.append(String(part))
        }
        return result
    }

    static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/")
    }

    /// Opens a directory below the root without following any symbolic link; missing
    /// directories are created (mode 0755, as tar does for parents a layer does not list).
    private func openDirectory(_ components: [String], entry: String, create: Bool = true) throws(ImageError) -> Int32 {
        var current = dup(root)
        guard current >= 0 else { throw failure("open", entry) }
        for component in components {
            var next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0 && errno == ENOENT && create {
                if mkdirat(current, component, 0o755) != 0 && errno != EEXIST {
                    close(current)
                    throw failure("create directory", entry)
                }
                next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            if next < 0 {
                let code = errno
                var info = stat()
                let isLink = fstatat(current, component, &info, AT_SYMLINK_NOFOLLOW) == 0 && (info.st_mode & S_IFMT) == S_IFLNK
                close(current)
                if isLink || code == ELOOP {
                    throw ImageError(.invalidContent, "invalid layer: entry \(entry) passes through the symbolic link \(component)")
                }
                if code == ENOTDIR {
                    throw ImageError(.invalidContent, "invalid layer: entry \(entry) is under \(component), which is not a directory")
                }
                throw ImageError(code == ENOENT ? .invalidContent : .storage,
                                 "cannot open \(component) for layer entry \(entry): \(FileSystem.errorText(code))")
            }
            close(current)
            current = next
        }
        return current
    }

    /// Removes whatever the layer already put at this name (a later entry replaces it).
    private func remove(_ name: String, in parent: Int32, entry: String) throws(ImageError) {
        var info = stat()
        guard fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            try removeTree(name, in: parent, entry: entry)
        } else if unlinkat(parent, name, 0) != 0 {
            throw failure("replace", entry)
        }
    }

    private func removeTree(_ name: String, in parent: Int32, entry: String) throws(ImageError) {
        let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0, let stream = fdopendir(fd) else { throw failure("replace", entry) }
        var children: [(String, Bool)] = []
        while let item = readdir(stream) {
            let child = withUnsafeBytes(of: item.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if child == "." || child == ".." { continue }
            var info = stat()
            let isDirectory = fstatat(fd, child, &info, AT_SYMLINK_NOFOLLOW) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
            children.append((child, isDirectory))
        }
        for (child, isDirectory) in children {
            if isDirectory { try removeTree(child, in: fd, entry: entry) } else { unlinkat(fd, child, 0) }
        }
        closedir(stream)
        guard unlinkat(parent, name, AT_REMOVEDIR) == 0 else { throw failure("replace", entry) }
    }

    /// Access and modification time both set to the entry's mtime, as tar does.
    private static func setTimes(_ header: TarHeader, _ call: (UnsafePointer<timespec>) -> Int32) {
        let time = timespec(tv_sec: Int(clamping: header.modified.seconds), tv_nsec: Int(header.modified.nanoseconds))
        let times = [time, time]
        _ = times.withUnsafeBufferPointer { call($0.baseAddress!) }
    }

    static func keepsAttribute(_ name: String) -> Bool {
        name.hasPrefix("user.") || name == "security.capability"
    }

    private func failure(_ action: String, _ entry: String) -> ImageError {
        let code = errno
        let kind: ImageError.Kind = code == ENOSPC || code == EDQUOT || code == EROFS || code == EIO ? .storage : .invalidContent
        return ImageError(kind, "cannot \(action) \(entry): \(FileSystem.errorText(code))")
    }
}

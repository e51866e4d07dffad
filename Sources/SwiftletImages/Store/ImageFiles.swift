import Foundation
import Glibc

/// Reads a file of an image from its layer snapshots, as the container will see it: from the
/// topmost layer that has it, unless a layer above hides it with a whiteout. Every path is
/// opened one component at a time without following symbolic links, so an image whose
/// `/etc/passwd` is a link to a host path is never read through to the host.
public enum ImageFiles {
    /// The file's content, at most `limit` bytes; nil when the image has no such regular file.
    public static func read(_ path: String, lowerDirectories: [String], limit: Int = 1 << 20) -> [UInt8]? {
        let components = path.split(separator: "/").map(String.init)
        guard let name = components.last, !components.contains("..") else { return nil }
        for lower in lowerDirectories {
            var directory = open(lower, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard directory >= 0 else { continue }
            var reachable = true
            for component in components.dropLast() {
                let next = openat(directory, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                close(directory)
                directory = next
                if next < 0 {
                    reachable = false
                    break
                }
            }
            guard reachable else { continue }
            defer { close(directory) }
            var info = stat()
            guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFREG:
                let fd = openat(directory, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
                guard fd >= 0 else { return nil }
                defer { close(fd) }
                return FileSystem.readAll(fd, limit: limit)
            default:
                // A whiteout, a link or anything else: not a file this reader follows.
                return nil
            }
        }
        return nil
    }
}

/// An image's `User` resolved to ids, as containerd resolves it from the image's own
/// /etc/passwd and /etc/group: `uid`, `uid:gid`, `name`, `name:group`.
public struct ImageUser: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    /// The groups /etc/group lists the user in.
    public var additionalGids: [UInt32]

    public init(uid: UInt32, gid: UInt32, additionalGids: [UInt32] = []) {
        self.uid = uid
        self.gid = gid
        self.additionalGids = additionalGids
    }

    /// Resolves `user` (the image's `User`, or a uid the pod asks for) in the image's files.
    public static func resolve(_ user: String, lowerDirectories: [String]) throws(ImageError) -> ImageUser {
        let parts = user.split(separator: ":", maxSplits: 1).map(String.init)
        let passwd = ImageFiles.read("/etc/passwd", lowerDirectories: lowerDirectories).map { entries(String(decoding: $0, as: UTF8.self)) } ?? []
        let groups = ImageFiles.read("/etc/group", lowerDirectories: lowerDirectories).map { entries(String(decoding: $0, as: UTF8.self)) } ?? []
        let userPart = parts.first ?? ""
        var uid: UInt32
        var gid: UInt32 = 0
        var name: String?
        if userPart.isEmpty {
            uid = 0
        } else if let number = UInt32(userPart) {
            uid = number
            if let entry = passwd.first(where: { UInt32($0[safe: 2] ?? "") == number }) {
                gid = UInt32(entry[safe: 3] ?? "") ?? 0
                name = entry[0]
            }
        } else {
            guard let entry = passwd.first(where: { $0[0] == userPart }), let number = UInt32(entry[safe: 2] ?? "") else {
                throw ImageError(.notFound, "unable to find user \(userPart): no matching entries in passwd file")
            }
            uid = number
            gid = UInt32(entry[safe: 3] ?? "") ?? 0
            name = userPart
        }
        if parts.count == 2 {
            if let number = UInt32(parts[1]) {
                gid = number
            } else if let entry = groups.first(where: { $0[0] == parts[1] }), let number = UInt32(entry[safe: 2] ?? "") {
                gid = number
            } else {
                throw ImageError(.notFound, "unable to find group \(parts[1]): no matching entries in group file")
            }
        }
        var additional: [UInt32] = []
        if let name {
            for entry in groups where (entry[safe: 3] ?? "").split(separator: ",").contains(Substring(name)) {
                if let number = UInt32(entry[safe: 2] ?? ""), number != gid, !additional.contains(number) { additional.append(number) }
            }
        }
        return ImageUser(uid: uid, gid: gid, additionalGids: additional)
    }

    private static func entries(_ text: String) -> [[String]] {
        text.split(separator: "\n").filter { !$0.hasPrefix("#") }
            .map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) }
            .filter { !$0.isEmpty && !$0[0].isEmpty }
    }
}

private extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}

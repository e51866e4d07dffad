import Foundation
import Glibc
import Testing
@testable import SwiftletImages
import SwiftletTestSupport

/// A snapshot directory to extract into and, beside it, an "outside" directory holding one
/// file: what a hostile layer would reach for.
private struct ExtractionFixture {
    let directory = TemporaryDirectory("swiftlet-extract")
    var root: String { directory.path + "/root" }
    var outside: String { directory.path + "/outside" }
    var secret: String { outside + "/secret" }
    let secretBefore: stat

    init() {
        _ = directory.directory("root")
        _ = directory.directory("outside")
        _ = directory.write("outside/secret", Array("do not touch".utf8))
        secretBefore = fileStatus(directory.path + "/outside/secret")!
    }

    func remove() { directory.remove() }

    /// Nothing was made or changed beside the snapshot directory, nor in the outside one.
    func expectOutsideUntouched(_ comment: Comment, sourceLocation: SourceLocation = #_sourceLocation) {
        let beside = (try? FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()) ?? []
        #expect(beside == ["outside", "root"], comment, sourceLocation: sourceLocation)
        let inside = (try? FileManager.default.contentsOfDirectory(atPath: outside)) ?? []
        #expect(inside == ["secret"], comment, sourceLocation: sourceLocation)
        let now = fileStatus(secret)
        #expect(now?.st_nlink == secretBefore.st_nlink && now?.st_size == secretBefore.st_size
                    && now?.st_mode == secretBefore.st_mode && now?.st_ino == secretBefore.st_ino, comment, sourceLocation: sourceLocation)
        #expect(extendedAttribute(outside, "trusted.overlay.opaque") == nil, comment, sourceLocation: sourceLocation)
        #expect(contents(secret) == "do not touch", comment, sourceLocation: sourceLocation)
    }
}

@Suite(.blockingWork) struct LayerExtractorTests {
    @Test func filesKeepTheirModesOwnersTimesAndUserAttributes() throws {
        let fixture = ExtractionFixture()
        defer { fixture.remove() }
        let layer = RawTar.entry("./", type: RawTar.directory, mode: 0o755)
            + RawTar.pax([("SCHILY.xattr.user.dir", Array("d".utf8))])
            + RawTar.entry("bin/", type: RawTar.directory, mode: 0o555, uid: 2, gid: 3, mtime: 1_500_000_000)
            + RawTar.pax([("SCHILY.xattr.user.comment", Array("hello".utf8)),
                          ("SCHILY.xattr.trusted.overlay.opaque", Array("y".utf8)),
                          ("SCHILY.xattr.trusted.other", Array("z".utf8))])
            + RawTar.entry("bin/tool", data: Array("#!/bin/sh\n".utf8), mode: 0o4755, uid: 1000, gid: 1001, mtime: 1_600_000_000)
            + RawTar.pax([("mtime", Array("1600000001.123456789".utf8))])
            + RawTar.entry("etc/shadow", data: Array("secret".utf8), mode: 0o640, gid: 42)
            + RawTar.end
        try extract(layer, into: fixture.root)

        let tool = try #require(fileStatus(fixture.root + "/bin/tool"))
        #expect(tool.st_mode & S_IFMT == S_IFREG)
        // chown clears setuid: the mode is applied after the owner, so it stays.
        #expect(tool.st_mode & 0o7777 == 0o4755)
        #expect(tool.st_uid == 1000 && tool.st_gid == 1001)
        #expect(tool.st_mtim.tv_sec == 1_600_000_000 && tool.st_atim.tv_sec == 1_600_000_000)
        #expect(contents(fixture.root + "/bin/tool") == "#!/bin/sh\n")
        #expect(extendedAttribute(fixture.root + "/bin/tool", "user.comment") == "hello")
        // A layer cannot forge overlayfs's attributes, nor set other trusted ones.
        #expect(extendedAttribute(fixture.root + "/bin/tool", "trusted.overlay.opaque") == nil)
        #expect(extendedAttribute(fixture.root + "/bin/tool", "trusted.other") == nil)

        let shadow = try #require(fileStatus(fixture.root + "/etc/shadow"))
        #expect(shadow.st_mode & 0o7777 == 0o640 && shadow.st_uid == 0 && shadow.st_gid == 42)
        #expect(shadow.st_mtim.tv_sec == 1_600_000_001 && shadow.st_mtim.tv_nsec == 123_456_789)

        // Directory settings come last, so a read-only directory still received its files.
        let bin = try #require(fileStatus(fixture.root + "/bin"))
        #expect(bin.st_mode & S_IFMT == S_IFDIR && bin.st_mode & 0o7777 == 0o555)
        #expect(bin.st_uid == 2 && bin.st_gid == 3 && bin.st_mtim.tv_sec == 1_500_000_000)
        #expect(extendedAttribute(fixture.root + "/bin", "user.dir") == "d")
        // A parent the layer does not list is made 0755.
        #expect(fileStatus(fixture.root + "/etc").map { $0.st_mode & 0o7777 } == 0o755)
    }

    @Test func symbolicLinksHardLinksAndFifos() throws {
        let fixture = ExtractionFixture()
        defer { fixture.remove() }
        let layer = RawTar.entry("link", type: RawTar.symlink, uid: 7, gid: 8, mtime: 1_000_000, linkName: "/etc/passwd")
            // A link may point anywhere: it is only ever followed inside the container's root.
            + RawTar.entry("relative", type: RawTar.symlink, linkName: "../../outside/secret")
            + RawTar.entry("a", data: Array("shared".utf8), mode: 0o600)
            + RawTar.entry("dir/b", type: RawTar.hardlink, linkName: "a")
            + RawTar.entry("dir/b", type: RawTar.hardlink, linkName: "./a")
            + RawTar.entry("pipe", type: RawTar.fifo, mode: 0o666, uid: 3, gid: 4, mtime: 2_000_000)
            + RawTar.entry("dev/null", type: RawTar.characterDevice, mode: 0o666)
            + RawTar.end
        let extractor = try extract(layer, into: fixture.root)

        #expect(fileType(fixture.root + "/link") == S_IFLNK)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: fixture.root + "/link") == "/etc/passwd")
        let link = try #require(fileStatus(fixture.root + "/link"))
        #expect(link.st_uid == 7 && link.st_gid == 8 && link.st_mtim.tv_sec == 1_000_000)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: fixture.root + "/relative") == "../../outside/secret")

        let a = try #require(fileStatus(fixture.root + "/a"))
        let b = try #require(fileStatus(fixture.root + "/dir/b"))
        #expect(a.st_ino == b.st_ino && a.st_nlink == 2)

        let pipe = try #require(fileStatus(fixture.root + "/pipe"))
        #expect(pipe.st_mode & S_IFMT == S_IFIFO)
        #expect(pipe.st_mode & 0o7777 == 0o666)
        #expect(pipe.st_uid == 3 && pipe.st_gid == 4 && pipe.st_mtim.tv_sec == 2_000_000)

        // Devices come from the runtime, not from layers.
        #expect(!exists(fixture.root + "/dev/null"))
        #expect(extractor.skippedDevices == 1)
        fixture.expectOutsideUntouched("ordinary links")
    }

    @Test func whiteoutsAndOpaqueDirectoriesBecomeOverlayMarkers() throws {
        let fixture = ExtractionFixture()
        defer { fixture.remove() }
        let layer = RawTar.entry("dir/", type: RawTar.directory, mode: 0o755)
            + RawTar.entry("dir/gone", data: Array("replaced by the whiteout".utf8))
            + RawTar.entry("dir/.wh.gone", uid: 0, gid: 0)
            + RawTar.entry(".wh.top")
            + RawTar.entry("opaque/", type: RawTar.directory, mode: 0o755)
            + RawTar.entry("opaque/.wh..wh..opq")
            + RawTar.entry("opaque/kept", data: Array("k".utf8))
            // aufs bookkeeping: nothing to make.
            + RawTar.entry("opaque/.wh..wh.aufs")
            + RawTar.end
        try extract(layer, into: fixture.root)

        for whiteout in ["/dir/gone", "/top"] {
            let info = try #require(fileStatus(fixture.root + whiteout))
            #expect(info.st_mode & S_IFMT == S_IFCHR, "\(whiteout)")
            #expect(info.st_rdev == 0 && info.st_uid == 0 && info.st_gid == 0, "\(whiteout)")
        }
        #expect(!exists(fixture.root + "/dir/.wh.gone"))
        #expect(extendedAttribute(fixture.root + "/opaque", "trusted.overlay.opaque") == "y")
        #expect(!exists(fixture.root + "/opaque/.wh..wh..opq"))
        #expect(contents(fixture.root + "/opaque/kept") == "k")
        #expect(!exists(fixture.root + "/opaque/.wh..wh.aufs"))
        #expect(extendedAttribute(fixture.root + "/dir", "trusted.overlay.opaque") == nil)

        let invalid = RawTar.entry("dir/.wh..") + RawTar.end
        let other = ExtractionFixture()
        defer { other.remove() }
        #expect(imageError { () throws(ImageError) in try extract(invalid, into: other.root) }?.kind == .invalidContent)
    }

    @Test func laterEntriesReplaceEarlierOnes() throws {
        let fixture = ExtractionFixture()
        defer { fixture.remove() }
        let layer = RawTar.entry("x", data: Array("one".utf8))
            + RawTar.entry("x", data: Array("two".utf8))
            // A file, then a directory of that name with a child.
            + RawTar.entry("y", data: Array("file".utf8))
            + RawTar.entry("y/", type: RawTar.directory, mode: 0o755)
            + RawTar.entry("y/child", data: Array("c".utf8))
            // A directory tree, then a symbolic link of that name.
            + RawTar.entry("z/deep/file", data: Array("d".utf8))
            + RawTar.entry("z", type: RawTar.symlink, linkName: "elsewhere")
            // A link to the outside, then a file of that name: written here, not there.
            + RawTar.entry("w", type: RawTar.symlink, linkName: fixture.secret)
            + RawTar.entry("w", data: Array("mine".utf8))
            // A directory listed again keeps what it holds.
            + RawTar.entry("k/", type: RawTar.directory, mode: 0o755)
            + RawTar.entry("k/a", data: Array("a".utf8))
            + RawTar.entry("k/", type: RawTar.directory, mode: 0o700)
            + RawTar.end
        try extract(layer, into: fixture.root)

        #expect(contents(fixture.root + "/x") == "two")
        #expect(fileType(fixture.root + "/y") == S_IFDIR)
        #expect(contents(fixture.root + "/y/child") == "c")
        #expect(fileType(fixture.root + "/z") == S_IFLNK)
        #expect(fileType(fixture.root + "/w") == S_IFREG)
        #expect(contents(fixture.root + "/w") == "mine")
        #expect(contents(fixture.root + "/k/a") == "a")
        #expect(fileStatus(fixture.root + "/k").map { $0.st_mode & 0o7777 } == 0o700)
        fixture.expectOutsideUntouched("replacements")
    }

    /// Each hostile layer is refused, and nothing beside the snapshot directory changes.
    @Test(arguments: HostileLayer.allCases)
    func hostileLayersAreRefused(_ hostile: HostileLayer) throws {
        let fixture = ExtractionFixture()
        defer { fixture.remove() }
        let error = imageError { () throws(ImageError) in try extract(hostile.layer(fixture), into: fixture.root) }
        #expect(error?.kind == .invalidContent, "\(hostile): \(error?.message ?? "accepted")")
        fixture.expectOutsideUntouched("\(hostile)")
    }

    enum HostileLayer: CaseIterable, CustomTestStringConvertible {
        case parentEscape, absolutePath, fileThroughSymlinkedDirectory, fileThroughSymlinkToParent
        case hardLinkToAbsolutePath, hardLinkUpwards, hardLinkToOutsideFile, hardLinkTargetThroughSymlink, hardLinkEntryThroughSymlink
        case hardLinkToDirectory, hardLinkToMissingFile, fileUnderRegularFile, whiteoutThroughSymlink, opaqueThroughSymlink

        var testDescription: String { "\(self)" }

        fileprivate func layer(_ fixture: ExtractionFixture) -> [UInt8] {
            let evil = RawTar.entry("evil", type: RawTar.symlink, linkName: fixture.outside)
            let entries: [UInt8] = switch self {
            case .parentEscape:
                RawTar.entry("../escape", data: Array("x".utf8))
            case .absolutePath:
                RawTar.entry(fixture.outside + "/absolute", data: Array("x".utf8))
            case .fileThroughSymlinkedDirectory:
                evil + RawTar.entry("evil/pwned", data: Array("x".utf8))
            case .fileThroughSymlinkToParent:
                RawTar.entry("up", type: RawTar.symlink, linkName: "..") + RawTar.entry("up/escape", data: Array("x".utf8))
            case .hardLinkToAbsolutePath:
                RawTar.entry("passwd", type: RawTar.hardlink, linkName: "/etc/passwd")
            case .hardLinkUpwards:
                RawTar.entry("x", type: RawTar.hardlink, linkName: "../../x")
            case .hardLinkToOutsideFile:
                RawTar.entry("y", type: RawTar.hardlink, linkName: "../outside/secret")
            case .hardLinkTargetThroughSymlink:
                evil + RawTar.entry("stolen", type: RawTar.hardlink, linkName: "evil/secret")
            case .hardLinkEntryThroughSymlink:
                RawTar.entry("a", data: Array("x".utf8)) + evil + RawTar.entry("evil/planted", type: RawTar.hardlink, linkName: "a")
            case .hardLinkToDirectory:
                RawTar.entry("d/", type: RawTar.directory, mode: 0o755) + RawTar.entry("h", type: RawTar.hardlink, linkName: "d")
            case .hardLinkToMissingFile:
                RawTar.entry("h", type: RawTar.hardlink, linkName: "missing")
            case .fileUnderRegularFile:
                RawTar.entry("f", data: Array("x".utf8)) + RawTar.entry("f/child", data: Array("y".utf8))
            case .whiteoutThroughSymlink:
                evil + RawTar.entry("evil/.wh.secret")
            case .opaqueThroughSymlink:
                evil + RawTar.entry("evil/.wh..wh..opq")
            }
            return entries + RawTar.end
        }
    }

    @Test func hardLinksToAbsolutePathsLeaveTheTargetAlone() throws {
        let before = try #require(fileStatus("/etc/passwd"))
        let fixture = ExtractionFixture()
        defer { fixture.remove() }
        let layer = RawTar.entry("passwd", type: RawTar.hardlink, linkName: "/etc/passwd") + RawTar.end
        #expect(imageError { () throws(ImageError) in try extract(layer, into: fixture.root) } != nil)
        #expect(fileStatus("/etc/passwd")?.st_nlink == before.st_nlink)
        #expect(!exists(fixture.root + "/passwd"))
    }

    @Test func tooManyEntriesAreRefused() throws {
        let fixture = ExtractionFixture()
        defer { fixture.remove() }
        let layer = (1...5).map { RawTar.entry("f\($0)") }.reduce([], +) + RawTar.end
        let error = imageError { () throws(ImageError) in try extract(layer, into: fixture.root, limits: .init(maxEntries: 3)) }
        #expect(error?.kind == .tooLarge)
        #expect(!exists(fixture.root + "/f4"))

        let fits = ExtractionFixture()
        defer { fits.remove() }
        #expect(try extract(layer, into: fits.root, limits: .init(maxEntries: 5)).entries == 5)
    }

    /// A layer whose one file is 64 MiB of zeros compresses to almost nothing; a small
    /// limit stops it before it fills the disk.
    @Test(arguments: ["gzip -c -n", "zstd -c -q"])
    func aDecompressionBombIsRefused(tool: String) throws {
        let fixture = ExtractionFixture()
        defer { fixture.remove() }
        let work = TemporaryDirectory()
        defer { work.remove() }
        // A sparse file reads as zeros.
        let zeros = work.path + "/zeros"
        try shell("truncate -s \(64 << 20) '\(zeros)'")
        let tarPath = work.path + "/layer.tar"
        let fd = open(tarPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(fd) }
        let writer = TarWriter { (bytes) throws(ImageError) in
            guard FileSystem.writeAll(fd, bytes) else { throw ImageError(.storage, "cannot write the layer") }
        }
        try writer.file("zeros", copyOf: zeros)
        try writer.finish()
        try shell("\(tool) < '\(tarPath)' > '\(tarPath).compressed'")
        let bomb = try readFile(tarPath + ".compressed")
        #expect(bomb.count < 1 << 20)

        let maxBytes: Int64 = 1 << 20
        let unpack = try LayerUnpack(blob: nil, compression: Compression.detect(bomb), snapshotDirectory: fixture.root,
                                     limits: .init(maxBytes: maxBytes))
        let error = imageError { () throws(ImageError) in
            try feed(bomb, chunkSize: 64 * 1024) { (chunk) throws(ImageError) in try unpack.write(chunk) }
            _ = try unpack.finish()
        }
        #expect(error?.kind == .tooLarge)
        #expect((fileStatus(fixture.root + "/zeros")?.st_size ?? 0) <= maxBytes)
    }
}

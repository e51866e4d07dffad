import Foundation
import Testing
@testable import SwiftletImages
import SwiftletTestSupport

@Suite(.blockingWork) struct TarReaderTests {
    /// A ustar stream with a directory, files, a symbolic link, a name split across ustar's
    /// prefix field and one only a PAX record can hold.
    static func writerStream() throws -> [UInt8] {
        try tarBytes { tar in
            try tar.directory("etc", mode: 0o750, uid: 5, gid: 6)
            try tar.file("etc/hosts", contents: Array("127.0.0.1 localhost\n".utf8), mode: 0o600, uid: 1000, gid: 1001)
            try tar.symlink("etc/localtime", target: "/usr/share/zoneinfo/UTC")
            try tar.file(String(repeating: "d", count: 60) + "/" + String(repeating: "e", count: 60) + "/file",
                         contents: Array(repeating: UInt8(ascii: "x"), count: 1500))
            try tar.file(String(repeating: "n", count: 130), contents: Array("pax name".utf8))
            try tar.file("empty", contents: [])
        }
    }

    @Test func readsWhatTarWriterWrites() throws {
        let entries = try readTar(try Self.writerStream())
        #expect(entries.map(\.header.name) == [
            "etc/", "etc/hosts", "etc/localtime",
            String(repeating: "d", count: 60) + "/" + String(repeating: "e", count: 60) + "/file",
            String(repeating: "n", count: 130), "empty",
        ])
        #expect(entries.map(\.header.kind) == [.directory, .file, .symlink, .file, .file, .file])
        #expect(entries[0].header.mode == 0o750 && entries[0].header.uid == 5 && entries[0].header.gid == 6)
        #expect(entries[1].header.mode == 0o600 && entries[1].header.uid == 1000 && entries[1].header.gid == 1001)
        #expect(entries[1].header.size == 20)
        #expect(entries[1].data == Array("127.0.0.1 localhost\n".utf8))
        #expect(entries[2].header.linkName == "/usr/share/zoneinfo/UTC")
        #expect(entries[2].data.isEmpty)
        #expect(entries[3].data == Array(repeating: UInt8(ascii: "x"), count: 1500))
        #expect(entries[4].data == Array("pax name".utf8))
        #expect(entries[5].data.isEmpty && entries[5].header.size == 0)
    }

    @Test func gnuLongNamesAndLinkNamesFromPython() throws {
        let longName = "dir/" + String(repeating: "n", count: 150)
        let longTarget = String(repeating: "t", count: 150)
        let bytes = try pythonTar(format: "GNU_FORMAT", """
            info = tarfile.TarInfo('\(longName)')
            data = b'long name'
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            link = tarfile.TarInfo('link')
            link.type = tarfile.SYMTYPE
            link.linkname = '\(longTarget)'
            tar.addfile(link)
            hard = tarfile.TarInfo('\(longName)-hard')
            hard.type = tarfile.LNKTYPE
            hard.linkname = '\(longName)'
            tar.addfile(hard)
            """)
        // The records really are GNU's ('L' and 'K' headers), not PAX.
        let types = stride(from: 0, to: bytes.count - 512, by: 512).map { bytes[$0 + 156] }
        #expect(types.contains(UInt8(ascii: "L")) && types.contains(UInt8(ascii: "K")))
        #expect(!types.contains(UInt8(ascii: "x")))

        let entries = try readTar(bytes)
        #expect(entries.count == 3)
        #expect(entries[0].header.name == longName && entries[0].header.kind == .file)
        #expect(entries[0].data == Array("long name".utf8))
        #expect(entries[1].header.name == "link" && entries[1].header.kind == .symlink)
        #expect(entries[1].header.linkName == longTarget)
        #expect(entries[2].header.name == longName + "-hard" && entries[2].header.kind == .hardlink)
        #expect(entries[2].header.linkName == longName)
    }

    @Test func handBuiltGNULongRecordsApplyToTheNextEntryOnly() throws {
        let longName = String(repeating: "a", count: 200)
        let stream = RawTar.gnuLong("L", longName) + RawTar.gnuLong("K", "target/" + String(repeating: "b", count: 200))
            + RawTar.entry("short", type: RawTar.symlink, linkName: "short-target")
            + RawTar.entry("next", data: Array("n".utf8)) + RawTar.end
        let entries = try readTar(stream)
        #expect(entries.map(\.header.name) == [longName, "next"])
        #expect(entries[0].header.linkName == "target/" + String(repeating: "b", count: 200))
        #expect(entries[1].header.linkName == "")
    }

    @Test func paxRecordsFromPython() throws {
        let longName = String(repeating: "p", count: 120)
        let longTarget = String(repeating: "x", count: 120)
        let bytes = try pythonTar(format: "PAX_FORMAT", """
            info = tarfile.TarInfo('\(longName)')
            data = b'pax'
            info.size = len(data)
            info.mtime = 1700000000.25
            info.pax_headers = {'SCHILY.xattr.user.origin': 'python', 'SCHILY.xattr.trusted.forged': 'y'}
            tar.addfile(info, io.BytesIO(data))
            link = tarfile.TarInfo('link')
            link.type = tarfile.SYMTYPE
            link.linkname = '\(longTarget)'
            tar.addfile(link)
            """)
        let entries = try readTar(bytes)
        #expect(entries.count == 2)
        #expect(entries[0].header.name == longName)
        #expect(entries[0].data == Array("pax".utf8))
        #expect(entries[0].header.modified == (1_700_000_000, 250_000_000))
        #expect(entries[0].header.xattrs == ["user.origin": Array("python".utf8), "trusted.forged": Array("y".utf8)])
        #expect(entries[1].header.linkName == longTarget)
        #expect(entries[1].header.xattrs.isEmpty)
    }

    @Test func paxSizeUidGidAndTimeOverrideTheUstarFields() throws {
        let data = Array("eleven byte".utf8)
        let stream = RawTar.pax([("size", Array("11".utf8)), ("uid", Array("70000".utf8)), ("gid", Array("80000".utf8)),
                                 ("mtime", Array("1234567890.5".utf8)), ("path", Array("päx/ünïcode=name".utf8)),
                                 ("linkpath", Array("ignored for a file".utf8))])
            // The ustar size says 0: the data that follows is the PAX size's 11 bytes.
            + RawTar.header("short", size: 0, uid: 1, gid: 2, mtime: 99) + RawTar.padded(data)
            + RawTar.entry("after", data: Array("after".utf8)) + RawTar.end
        let entries = try readTar(stream)
        #expect(entries.count == 2)
        #expect(entries[0].header.name == "päx/ünïcode=name")
        #expect(entries[0].header.size == 11 && entries[0].data == data)
        #expect(entries[0].header.uid == 70000 && entries[0].header.gid == 80000)
        #expect(entries[0].header.modified == (1_234_567_890, 500_000_000))
        // The records were for that entry only.
        #expect(entries[1].header.name == "after" && entries[1].header.uid == 0 && entries[1].data == Array("after".utf8))
    }

    @Test func base256NumbersFromPython() throws {
        let bytes = try pythonTar(format: "GNU_FORMAT", """
            info = tarfile.TarInfo('big-owner')
            data = b'data'
            info.size = len(data)
            info.uid = 10000000
            info.gid = 20000000
            info.mtime = -1000
            tar.addfile(info, io.BytesIO(data))
            """)
        // Python wrote base-256 (the marker bit set) for the fields octal cannot hold.
        #expect(bytes[108] & 0x80 != 0 && bytes[116] & 0x80 != 0 && bytes[136] & 0x80 != 0)
        let entries = try readTar(bytes)
        #expect(entries.count == 1)
        #expect(entries[0].header.uid == 10_000_000 && entries[0].header.gid == 20_000_000)
        #expect(entries[0].header.modified.seconds == -1000)
        #expect(entries[0].data == Array("data".utf8))
    }

    @Test(arguments: [Int64(0), 5, 3_000_000, 1 << 40, -1, -1000, -(1 << 40)])
    func base256FieldsRoundTrip(value: Int64) throws {
        let header = RawTar.header("f", size: 3) { block in
            block.replaceSubrange(136..<148, with: RawTar.base256(value, width: 12))
            block.replaceSubrange(124..<136, with: RawTar.base256(3, width: 12))
        }
        let entries = try readTar(header + RawTar.padded(Array("abc".utf8)) + RawTar.end)
        #expect(entries.first?.header.modified.seconds == value)
        #expect(entries.first?.data == Array("abc".utf8))
    }

    @Test func aChecksumMismatchIsRefused() throws {
        var bytes = try Self.writerStream()
        bytes[1] ^= 0x20  // "etc/" becomes "eTc/" without the checksum following
        let error = imageError { () throws(ImageError) in _ = try readTar(bytes) }
        #expect(error?.kind == .invalidContent)
        #expect(error?.message.contains("checksum") == true)

        var garbage = try Self.writerStream()
        garbage.replaceSubrange(148..<156, with: Array("zzzzzzz\0".utf8))
        #expect(imageError { () throws(ImageError) in _ = try readTar(garbage) }?.kind == .invalidContent)
    }

    @Test func aTruncatedStreamIsRefusedByFinish() throws {
        let bytes = try tarBytes { tar in try tar.file("big", contents: Array(repeating: 7, count: 1000)) }
        // In the data, in the next header, and after a PAX header whose entry never came.
        let paxOnly = RawTar.pax([("path", Array("lost".utf8))])
        for truncated in [Array(bytes[..<(512 + 500)]), Array(bytes[..<(1024 + 512 + 300)]), Array(bytes[..<300]), paxOnly] {
            let consumer = RecordingConsumer()
            let reader = TarReader(consumer: consumer)
            #expect(imageError { () throws(ImageError) in try feed(truncated) { (chunk) throws(ImageError) in try reader.feed(chunk) } } == nil)
            let error = imageError { () throws(ImageError) in try reader.finish() }
            #expect(error?.kind == .invalidContent, "a stream of \(truncated.count) bytes")
        }
        // A stream that stops at an entry's end is whole (some tools omit the end blocks).
        #expect(try readTar(Array(bytes[..<1536])).map(\.header.name) == ["big"])
    }

    @Test func chunkSizeDoesNotChangeTheEntries() throws {
        let stream = Array(try Self.writerStream().dropLast(1024))
            + RawTar.gnuLong("L", String(repeating: "g", count: 300)) + RawTar.entry("x", data: Array(repeating: 1, count: 700))
            + RawTar.pax([("SCHILY.xattr.user.a", Array("b".utf8)), ("mtime", Array("5.000000001".utf8))])
            + RawTar.entry("fifo", type: RawTar.fifo, mode: 0o600) + RawTar.end
        let whole = try readTar(stream)
        #expect(whole.count == 8)
        #expect(whole[7].header.modified == (5, 1))
        for size in [1, 7, 511, 512, 513, 4096] {
            #expect(try readTar(stream, chunkSize: size) == whole, "chunks of \(size) bytes")
        }
    }

    @Test func gnuSparseFilesAndHugeRecordsAreRefused() throws {
        let sparse = RawTar.pax([("GNU.sparse.major", Array("1".utf8))]) + RawTar.entry("sparse", data: [1]) + RawTar.end
        #expect(imageError { () throws(ImageError) in _ = try readTar(sparse) }?.kind == .unsupported)

        let huge = RawTar.header("PaxHeaders/huge", type: UInt8(ascii: "x"), size: Int64(TarReader.maxSpecialRecord + 1))
        #expect(imageError { () throws(ImageError) in _ = try readTar(huge) }?.kind == .tooLarge)

        let badRecord = RawTar.header("PaxHeaders/bad", type: UInt8(ascii: "x"), size: 12) + RawTar.padded(Array("99 path=x\n\0\0".utf8))
        #expect(imageError { () throws(ImageError) in _ = try readTar(badRecord + RawTar.end) }?.kind == .invalidContent)
    }

    @Test func whatFollowsTheEndBlocksIsIgnored() throws {
        let stream = try tarBytes { tar in try tar.file("a", contents: [1]) } + Array(repeating: 0xEE, count: 700)
        #expect(try readTar(stream).map(\.header.name) == ["a"])
    }
}

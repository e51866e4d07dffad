import Foundation
import Testing
@testable import SwiftletImages
import SwiftletTestSupport

@Suite(.blockingWork) struct DecompressorTests {
    /// Text that compresses, with enough variety to span several deflate blocks.
    static let plain: [UInt8] = Array((0..<20_000).map { "line \($0) of the test input\n" }.joined().utf8)

    /// Everything `compressed` decompresses to, fed in chunks of `chunkSize`; `finish` checked.
    static func decompress(_ compressed: [UInt8], _ compression: Compression, limit: Int64 = 1 << 30,
                           chunkSize: Int? = nil) throws(ImageError) -> [UInt8] {
        let decompressor = try Decompressor(compression, limit: limit)
        var output: [UInt8] = []
        try feed(compressed, chunkSize: chunkSize) { (chunk) throws(ImageError) in
            try decompressor.feed(chunk) { (plain) throws(ImageError) in output += plain }
        }
        try decompressor.finish()
        return output
    }

    @Test func detectsCompressionFromTheFirstBytes() throws {
        #expect(Compression.detect(try gzip([1, 2, 3])) == .gzip)
        #expect(Compression.detect(try zstd([1, 2, 3])) == .zstd)
        #expect(Compression.detect(Array("ustar".utf8)) == Compression.none)
        #expect(Compression.detect([0x1f]) == Compression.none)
        #expect(Compression.forLayer(mediaType: MediaType.dockerLayerGzip) == .gzip)
        #expect(Compression.forLayer(mediaType: MediaType.ociLayerZstd) == .zstd)
        #expect(Compression.forLayer(mediaType: MediaType.ociLayer) == Compression.none)
        #expect(Compression.forLayer(mediaType: "application/vnd.in-toto+json") == nil)
    }

    @Test func gzipSingleMember() throws {
        let compressed = try gzip(Self.plain)
        #expect(compressed.count < Self.plain.count / 4)
        #expect(try Self.decompress(compressed, .gzip) == Self.plain)
    }

    @Test func gzipSeveralMembersAsGoReadsThem() throws {
        let first = Array(Self.plain[..<1000])
        let second = Array(Self.plain[1000...])
        let compressed = try gzip(first) + gzip(second)
        #expect(try Self.decompress(compressed, .gzip) == Self.plain)
        #expect(try Self.decompress(compressed, .gzip, chunkSize: 1) == Self.plain)

        // Python's gzip module writes members of its own; zeros after the last are padding.
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let script = directory.write("members.py", Array("""
            import gzip, sys
            with open(sys.argv[1], 'wb') as out:
                out.write(gzip.compress(b'alpha ' * 1000))
                out.write(gzip.compress(b'beta ' * 1000))
                out.write(b'\\0' * 1024)
            """.utf8))
        try shell("/usr/bin/python3 '\(script)' '\(directory.path)/members.gz'")
        let python = try readFile(directory.path + "/members.gz")
        let expected = Array((String(repeating: "alpha ", count: 1000) + String(repeating: "beta ", count: 1000)).utf8)
        #expect(try Self.decompress(python, .gzip) == expected)
    }

    @Test func zstdOneAndSeveralFrames() throws {
        let compressed = try zstd(Self.plain)
        #expect(try Self.decompress(compressed, .zstd) == Self.plain)
        // Two frames one after the other, as `cat a.zst b.zst` makes.
        let twoFrames = try zstd(Array(Self.plain[..<5000])) + zstd(Array(Self.plain[5000...]))
        #expect(try Self.decompress(twoFrames, .zstd) == Self.plain)
    }

    @Test func plainStreamsPassThrough() throws {
        #expect(try Self.decompress(Self.plain, Compression.none) == Self.plain)
        #expect(try Self.decompress(Self.plain, Compression.none, chunkSize: 333) == Self.plain)
        #expect(try Self.decompress([], Compression.none) == [])
    }

    @Test(arguments: [1, 3, 100, 4096])
    func smallChunksGiveTheSameOutput(chunkSize: Int) throws {
        #expect(try Self.decompress(try gzip(Self.plain), .gzip, chunkSize: chunkSize) == Self.plain)
        #expect(try Self.decompress(try zstd(Self.plain), .zstd, chunkSize: chunkSize) == Self.plain)
    }

    @Test func corruptedInputIsRefused() throws {
        var badHeader = try gzip(Self.plain)
        badHeader[2] = 99  // an unknown compression method
        #expect(imageError { () throws(ImageError) in _ = try Self.decompress(badHeader, .gzip) }?.kind == .invalidContent)

        // A wrong CRC in the trailer: every byte decompresses, the check at the end fails.
        var badChecksum = try gzip(Self.plain)
        badChecksum[badChecksum.count - 8] ^= 0xff
        let gzipError = imageError { () throws(ImageError) in _ = try Self.decompress(badChecksum, .gzip) }
        #expect(gzipError?.kind == .invalidContent)
        #expect(gzipError?.message.contains("gzip") == true)

        var badMagic = try zstd(Self.plain)
        badMagic[1] ^= 0xff
        #expect(imageError { () throws(ImageError) in _ = try Self.decompress(badMagic, .zstd) }?.kind == .invalidContent)

        // zstd's content checksum (the CLI writes one) is the frame's last four bytes.
        var badZstdChecksum = try zstd(Self.plain)
        badZstdChecksum[badZstdChecksum.count - 1] ^= 0xff
        #expect(imageError { () throws(ImageError) in _ = try Self.decompress(badZstdChecksum, .zstd) }?.kind == .invalidContent)
    }

    @Test func aCutOffStreamIsRefusedByFinish() throws {
        for (compression, compressed) in [(Compression.gzip, try gzip(Self.plain)), (.zstd, try zstd(Self.plain))] {
            for cut in [compressed.count / 2, compressed.count - 1] {
                let decompressor = try Decompressor(compression, limit: 1 << 30)
                var produced = 0
                #expect(imageError { () throws(ImageError) in
                    try feed(Array(compressed[..<cut])) { (chunk) throws(ImageError) in
                        try decompressor.feed(chunk) { (plain) throws(ImageError) in produced += plain.count }
                    }
                } == nil)
                #expect(produced <= Self.plain.count)
                let error = imageError { () throws(ImageError) in try decompressor.finish() }
                #expect(error?.kind == .invalidContent, "\(compression) cut at \(cut) of \(compressed.count)")
            }
        }
    }

    /// 64 MiB of zeros compress to a few kilobytes; a small limit stops them without producing them all.
    @Test(arguments: ["gzip -c -n", "zstd -c -q"])
    func aDecompressionBombStopsAtTheLimit(tool: String) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try shell("head -c \(64 << 20) /dev/zero | \(tool) > '\(directory.path)/bomb'")
        let bomb = try readFile(directory.path + "/bomb")
        #expect(bomb.count < 1 << 20)
        let compression = Compression.detect(bomb)
        #expect(compression != Compression.none)

        let decompressor = try Decompressor(compression, limit: 1 << 20)
        var produced = 0
        let error = imageError { () throws(ImageError) in
            try feed(bomb, chunkSize: 64 * 1024) { (chunk) throws(ImageError) in
                try decompressor.feed(chunk) { (plain) throws(ImageError) in produced += plain.count }
            }
        }
        #expect(error?.kind == .tooLarge)
        #expect(produced <= 1 << 20)
        #expect(decompressor.produced <= 1 << 20)
    }
}

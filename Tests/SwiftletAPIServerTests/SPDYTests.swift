import Testing
@testable import SwiftletAPIServer

@Suite struct SPDYTests {
    @Test func framesRoundTripAndAPartialFrameWaitsForTheRest() throws {
        let frames: [SPDYFrame] = [
            .synStream(streamID: 1, fin: false, headerBlock: [1, 2, 3]),
            .synReply(streamID: 1, fin: false, headerBlock: [4, 5]),
            .data(streamID: 3, fin: true, payload: Array("hello".utf8)),
            .rstStream(streamID: 5, status: 3),  // REFUSED_STREAM
            .ping(id: 7),
            .goAway(lastStreamID: 5, status: 0),
        ]
        let bytes = frames.flatMap(\.encoded)
        var buffer = Array(bytes.dropLast(2))
        let parsed = try SPDYFrame.parse(&buffer)
        #expect(parsed == Array(frames.dropLast()))
        buffer += bytes.suffix(2)
        #expect(try SPDYFrame.parse(&buffer) == [frames.last!])
        #expect(buffer.isEmpty)
    }

    @Test func controlFramesOfOtherVersionsAreRefusedAndUnknownTypesSkipped() throws {
        var windowUpdate: [UInt8] = [0x80, 0x03, 0x00, 0x09, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0x10, 0]
        #expect(try SPDYFrame.parse(&windowUpdate) == [.ignored(type: 9)])
        var version2: [UInt8] = [0x80, 0x02, 0x00, 0x06, 0, 0, 0, 4, 0, 0, 0, 1]
        #expect(throws: SPDYError.unsupportedVersion(2)) { try SPDYFrame.parse(&version2) }
    }

    @Test func headerBlocksShareOneCompressedStreamPerDirection() throws {
        let deflater = try SPDYHeaderCompression(.deflating)
        let inflater = try SPDYHeaderCompression(.inflating)
        let first = [("streamType", "error"), ("port", "80"), ("requestID", "0")]
        let second = [("streamType", "data"), ("port", "80"), ("requestID", "0")]
        let compressedFirst = try deflater.process(SPDYHeaderBlock.encode(first))
        let compressedSecond = try deflater.process(SPDYHeaderBlock.encode(second))
        // The second block is smaller: it refers back to the first, as the peer's zlib stream expects.
        #expect(compressedSecond.count < compressedFirst.count)
        #expect(try SPDYHeaderBlock.decode(inflater.process(compressedFirst)) == ["streamtype": "error", "port": "80", "requestid": "0"])
        #expect(try SPDYHeaderBlock.decode(inflater.process(compressedSecond)) == ["streamtype": "data", "port": "80", "requestid": "0"])
    }

    @Test func aHeaderBlockThatLiesAboutItsLengthsIsRefused() {
        #expect(throws: SPDYError.malformed("header block")) { try SPDYHeaderBlock.decode([0, 0, 0, 1, 0, 0, 0, 9, 65]) }
        #expect(throws: SPDYError.malformed("header block")) { try SPDYHeaderBlock.decode([0, 0]) }
    }

    @Test func theDictionaryIsSPDY3s() {
        let dictionary = SPDYHeaderDictionary.bytes
        #expect(dictionary.count == 1423)
        #expect(Array(dictionary.prefix(11)) == [0, 0, 0, 7] + Array("options".utf8))
        #expect(String(decoding: dictionary.suffix(6), as: UTF8.self) == "enq=0.")
    }
}

import Foundation
import Testing
import SwiftletMachinery
import SwiftletAPIServer

@Suite struct NodeStreamFramesTests {
    @Test func framesAreChannelLengthAndPayload() {
        #expect(NodeStreamFrame(.stderr, Array("hi".utf8)).encoded() == [2, 0, 0, 0, 2, 104, 105])
        #expect(NodeStreamFrame(.stdinClosed).encoded() == [5, 0, 0, 0, 0])
    }

    @Test func theHeaderAndFramesComeBackWhateverPiecesTheBytesArriveIn() throws {
        var request = NodeStreamRequest(token: "t0k", logsOf: PodReference(namespace: "ns", name: "p", uid: "u1"),
                                        options: PodLogOptions(container: "c", follow: true, tailLines: 3,
                                                               since: Date(timeIntervalSince1970: 1_700_000_000)))
        request.command = ["sh", "-c", "echo ü"]
        let frames = [NodeStreamFrame(.stdout, Array(repeating: 7, count: 70_000)), NodeStreamFrame(.stdin),
                      NodeStreamStatus.exitCode(-2).frame, .resize(TerminalSize(width: 80, height: 24))]
        let bytes = request.encoded() + frames.flatMap { $0.encoded() }
        for pieceSize in [1, 3, 4096, bytes.count] {
            var codec = NodeStreamCodec(expectingHeader: true)
            var received: [NodeStreamMessage] = []
            for start in stride(from: 0, to: bytes.count, by: pieceSize) {
                codec.append(bytes[start..<min(start + pieceSize, bytes.count)])
                while let message = try codec.next() { received.append(message) }
            }
            #expect(received == [.header(request)] + frames.map { .frame($0) })
        }
        #expect(request.podLogOptions == PodLogOptions(container: "c", follow: true, tailLines: 3,
                                                       since: Date(timeIntervalSince1970: 1_700_000_000)))
        #expect(frames[3].terminalSize == TerminalSize(width: 80, height: 24))
        #expect(String(decoding: frames[3].payload, as: UTF8.self) == #"{"Height":24,"Width":80}"# ||
                String(decoding: frames[3].payload, as: UTF8.self) == #"{"Width":80,"Height":24}"#)
    }

    @Test func statusIsAnExitCodeOrTheErrorAsItWas() throws {
        #expect(String(decoding: NodeStreamStatus.exitCode(137).frame.payload, as: UTF8.self) == "137")
        #expect(try NodeStreamStatus(payload: Array("137".utf8)) == .exitCode(137))
        let error = APIError.badRequest("container \"c\" in pod \"p\" is waiting to start: ContainerCreating")
        #expect(try NodeStreamStatus(payload: NodeStreamStatus.failure(error).frame.payload) == .failure(error))
        #expect(throws: NodeStreamProtocolError.self) { try NodeStreamStatus(payload: Array("what".utf8)) }
    }

    @Test func brokenInputIsAnError() {
        var unknownChannel = NodeStreamCodec(expectingHeader: false)
        unknownChannel.append([9, 0, 0, 0, 0])
        #expect(throws: NodeStreamProtocolError.self) { try unknownChannel.next() }
        var huge = NodeStreamCodec(expectingHeader: false)
        huge.append([1, 0xff, 0, 0, 0])
        #expect(throws: NodeStreamProtocolError.self) { try huge.next() }
        var notJSON = NodeStreamCodec(expectingHeader: true)
        notJSON.append([0, 0, 0, 2, 0x7b, 0x7b])
        #expect(throws: NodeStreamProtocolError.self) { try notJSON.next() }
    }
}

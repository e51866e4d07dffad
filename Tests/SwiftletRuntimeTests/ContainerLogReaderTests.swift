import Foundation
import Testing
@testable import SwiftletRuntime

/// A log file written by hand in the CRI format, in a directory of its own.
private struct LogFixture {
    let directory = NSTemporaryDirectory() + "swiftlet-logs-" + UUID().uuidString
    var path: String { directory + "/0.log" }
    var reader: ContainerLogReader { ContainerLogReader(path: path) }

    init() {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// `2026-11-24T10:00:<second>.000000001Z <stream> <tag> <text>`
    static func record(_ second: Int, _ text: String, stream: String = "stdout", tag: String = "F") -> String {
        "2026-11-24T10:00:\(second < 10 ? "0" : "")\(second).000000001Z \(stream) \(tag) \(text)\n"
    }

    func write(_ records: [String], to file: String? = nil) throws {
        try records.joined().write(toFile: file ?? path, atomically: false, encoding: .utf8)
    }

    func append(_ records: [String]) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(records.joined().utf8))
        try handle.close()
    }

    func read(_ options: ContainerLogOptions = ContainerLogOptions()) -> String {
        String(decoding: reader.read(options), as: UTF8.self)
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: directory) }
}

@Suite struct ContainerLogReaderTests {
    private let sample = [
        LogFixture.record(1, "one"),
        LogFixture.record(2, "two", stream: "stderr"),
        LogFixture.record(3, "thr", tag: "P"),
        LogFixture.record(3, "ee", tag: "P"),
        LogFixture.record(4, "!"),
        LogFixture.record(5, "four"),
    ]

    @Test func allLinesWithPartialRecordsJoined() throws {
        let log = LogFixture()
        defer { log.cleanUp() }
        try log.write(sample)
        #expect(log.read() == "one\ntwo\nthree!\nfour\n")
    }

    @Test func oneStreamLeavesTheOtherOut() throws {
        let log = LogFixture()
        defer { log.cleanUp() }
        try log.write(sample)
        #expect(log.read(ContainerLogOptions(stream: .stderr)) == "two\n")
        #expect(log.read(ContainerLogOptions(stream: .stdout)) == "one\nthree!\nfour\n")
    }

    @Test func tailCountsLinesNotRecords() throws {
        let log = LogFixture()
        defer { log.cleanUp() }
        try log.write(sample)
        #expect(log.read(ContainerLogOptions(tailLines: 1)) == "four\n")
        #expect(log.read(ContainerLogOptions(tailLines: 2)) == "three!\nfour\n")
        #expect(log.read(ContainerLogOptions(tailLines: 3)) == "two\nthree!\nfour\n")
        #expect(log.read(ContainerLogOptions(tailLines: 10)) == "one\ntwo\nthree!\nfour\n")
        #expect(log.read(ContainerLogOptions(tailLines: 0)) == "")
    }

    @Test func tailOfALastLineStillBeingWritten() throws {
        let log = LogFixture()
        defer { log.cleanUp() }
        try log.write([LogFixture.record(1, "done"), LogFixture.record(2, "in prog", tag: "P")])
        #expect(log.read(ContainerLogOptions(tailLines: 1)) == "in prog")
        #expect(log.read() == "done\nin prog")
    }

    @Test func sinceSkipsOlderRecords() throws {
        let log = LogFixture()
        defer { log.cleanUp() }
        try log.write(sample)
        let since = try #require(ISO8601DateFormatter().date(from: "2026-11-24T10:00:03Z"))
        #expect(log.read(ContainerLogOptions(sinceTime: since)) == "three!\nfour\n")
        #expect(log.read(ContainerLogOptions(tailLines: 3, sinceTime: since)) == "three!\nfour\n")
    }

    @Test func timestampsPrefixEachLineOnce() throws {
        let log = LogFixture()
        defer { log.cleanUp() }
        try log.write(sample)
        #expect(log.read(ContainerLogOptions(tailLines: 2, timestamps: true)) == """
            2026-11-24T10:00:03.000000001Z three!
            2026-11-24T10:00:05.000000001Z four

            """)
    }

    @Test func limitBytesCutsTheOutput() throws {
        let log = LogFixture()
        defer { log.cleanUp() }
        try log.write(sample)
        #expect(log.read(ContainerLogOptions(limitBytes: 6)) == "one\ntw")
        #expect(log.read(ContainerLogOptions(timestamps: true, limitBytes: 33)) == "2026-11-24T10:00:01.000000001Z on")
    }

    @Test func linesThatAreNotCRIRecordsAreSkipped() throws {
        let log = LogFixture()
        defer { log.cleanUp() }
        try log.write([LogFixture.record(1, "good"), "garbage\n", "2026 stdin F bad\n", LogFixture.record(2, "")])
        #expect(log.read() == "good\n\n")
    }

    @Test func theRotatedFileComesFirst() throws {
        let log = LogFixture()
        defer { log.cleanUp() }
        try log.write([LogFixture.record(1, "old1"), LogFixture.record(2, "old2"), LogFixture.record(3, "spl", tag: "P")],
                      to: log.reader.rotatedPath)
        try log.write([LogFixture.record(3, "it"), LogFixture.record(4, "new")])
        #expect(log.read() == "old1\nold2\nsplit\nnew\n")
        #expect(log.read(ContainerLogOptions(tailLines: 2)) == "split\nnew\n")
        #expect(log.read(ContainerLogOptions(tailLines: 3)) == "old2\nsplit\nnew\n")
        #expect(log.read(ContainerLogOptions(tailLines: 1)) == "new\n")
    }

    @Test func aMissingFileHasNoLines() {
        #expect(ContainerLogReader(path: "/nonexistent/0.log").read().isEmpty)
    }

    @Test func followGetsNewLinesAcrossRotationUntilTheContainerExits() async throws {
        let log = LogFixture()
        defer { log.cleanUp() }
        try log.write([LogFixture.record(1, "before1"), LogFixture.record(2, "before2")])
        let running = Flag(true)
        let stream = log.reader.follow(ContainerLogOptions(tailLines: 1), pollInterval: .milliseconds(10)) { running.value }
        let collected = Task {
            var text = ""
            for await chunk in stream { text += String(decoding: chunk, as: UTF8.self) }
            return text
        }
        try await Task.sleep(for: .milliseconds(50))
        try log.append([LogFixture.record(3, "appended"), LogFixture.record(4, "half", tag: "P")])
        try await Task.sleep(for: .milliseconds(50))
        // Rotation as the shim does it: the full file is renamed and a new one started.
        try log.append([LogFixture.record(4, "-line")])
        #expect(rename(log.path, log.reader.rotatedPath) == 0)
        try log.write([LogFixture.record(5, "after rotation")])
        try await Task.sleep(for: .milliseconds(50))
        try log.append([LogFixture.record(6, "last")])
        running.value = false
        #expect(await collected.value == "before2\nappended\nhalf-line\nafter rotation\nlast\n")
    }

    @Test func followStopsAtTheByteLimitAndWhenTheConsumerLeaves() async throws {
        let log = LogFixture()
        defer { log.cleanUp() }
        try log.write([LogFixture.record(1, "0123456789")])
        let limited = log.reader.follow(ContainerLogOptions(limitBytes: 4), pollInterval: .milliseconds(10)) { true }
        var text = ""
        for await chunk in limited { text += String(decoding: chunk, as: UTF8.self) }
        #expect(text == "0123")

        let endless = log.reader.follow(pollInterval: .milliseconds(10)) { true }
        for await chunk in endless {
            #expect(chunk == Array("0123456789\n".utf8))
            break
        }
    }
}

/// A Bool shared between a test and a closure it hands out.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Bool
    init(_ value: Bool) { stored = value }
    var value: Bool {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

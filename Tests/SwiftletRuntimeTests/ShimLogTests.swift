import Foundation
import Testing
@testable import SwiftletRuntime
import SwiftletTestSupport

@Suite(.blockingWork) struct ShimLogTests {
    @Test func longLinesAreSplitIntoPartialRecordsAndAnUnterminatedLastLineIsKept() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        let spec = fixture.spec("partial", ["/bin/sh", "-c", "head -c 40000 /dev/zero | tr '\\0' x; echo; printf 'no newline at the end'"])
        _ = try fixture.runtime.start(spec)
        #expect(exitCode(await fixture.runtime.waitForExit(spec.id)) == 0)
        let records = criRecords(spec.logPath)
        #expect(records.map(\.tag) == ["P", "P", "F", "F"])
        #expect(records.map(\.text.count) == [16384, 16384, 40000 - 2 * 16384, 21])
        #expect(records.last?.text == "no newline at the end")
        let text = String(decoding: ContainerLogReader(path: spec.logPath).read(), as: UTF8.self)
        #expect(text == String(repeating: "x", count: 40000) + "\nno newline at the end\n")
    }

    @Test func theLogIsRotatedBySizeKeepingOneOldFile() async throws {
        let fixture = RuntimeFixture(logMaxBytes: 4096)
        defer { fixture.cleanUp() }
        let spec = fixture.spec("rotate", ["/bin/sh", "-c", "i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo line-$i; done"])
        _ = try fixture.runtime.start(spec)
        #expect(exitCode(await fixture.runtime.waitForExit(spec.id)) == 0)
        let reader = ContainerLogReader(path: spec.logPath)
        for path in [reader.path, reader.rotatedPath] {
            let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            #expect(size > 0 && size <= 4096)
        }
        let directory = (spec.logPath as NSString).deletingLastPathComponent
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["rotate.log", "rotate.log.1"])
        // What is left is the newest lines, in order, ending with the last one.
        let lines = String(decoding: reader.read(), as: UTF8.self).split(separator: "\n").map(String.init)
        let first = try #require(lines.first.flatMap { Int($0.dropFirst(5)) })
        #expect(first > 1)
        #expect(lines == (first...300).map { "line-\($0)" })
        #expect(String(decoding: reader.read(ContainerLogOptions(tailLines: 2)), as: UTF8.self) == "line-299\nline-300\n")
    }

    @Test func followingARealContainerEndsWhenItExits() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        let spec = fixture.spec("follow", ["/bin/sh", "-c", "echo first; sleep 0.3; echo second; sleep 0.3; echo third"])
        _ = try fixture.runtime.start(spec)
        let runtime = fixture.runtime
        let id = spec.id
        var text = ""
        for await chunk in ContainerLogReader(path: spec.logPath).follow(pollInterval: .milliseconds(20), isRunning: {
            runtime.state(id: id).isRunning
        }) {
            text += String(decoding: chunk, as: UTF8.self)
        }
        #expect(text == "first\nsecond\nthird\n")
        #expect(exitCode(fixture.runtime.state(id: spec.id)) == 0)
    }
}

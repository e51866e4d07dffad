import Foundation
import Testing
@testable import SwiftletRuntime
import SwiftletTestSupport

@Suite(.blockingWork) struct ExecTests {
    @Test func execWithoutATerminalReturnsOutputAndExitCode() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        let spec = fixture.spec("exec", ["/bin/sleep", "600"])
        _ = try fixture.runtime.start(spec)

        let process = try fixture.runtime.exec(
            id: spec.id, command: ["/bin/sh", "-c", "echo out $FOO; echo err >&2; hostname; exit 5"], tty: false,
            environment: ["FOO=bar"])
        process.closeStdin()
        async let out = collect(process.stdout)
        async let err = collect(process.stderr)
        #expect(await out == "out bar\nexec\n")
        #expect(await err == "err\n")
        #expect(await process.wait() == 5)
    }

    @Test func execStdinReachesTheProcess() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        let spec = fixture.spec("stdin", ["/bin/sleep", "600"])
        _ = try fixture.runtime.start(spec)
        let process = try fixture.runtime.exec(id: spec.id, command: ["/bin/cat"], tty: false, environment: [])
        try process.write(Array("line one\nline two\n".utf8))
        process.closeStdin()
        #expect(await collect(process.stdout) == "line one\nline two\n")
        #expect(await process.wait() == 0)
        #expect(throws: RuntimeError.self) { try process.write([1]) }
    }

    @Test func killEndsAnExecWith137() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        let spec = fixture.spec("kill", ["/bin/sleep", "600"])
        _ = try fixture.runtime.start(spec)
        let process = try fixture.runtime.exec(id: spec.id, command: ["/bin/sleep", "600"], tty: false, environment: [])
        process.kill()
        #expect(await process.wait() == 137)
        // The container itself is untouched.
        #expect(fixture.runtime.state(id: spec.id).isRunning)
    }

    @Test func execIntoAStoppedContainerFails() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        let spec = fixture.spec("done", ["/bin/true"])
        _ = try fixture.runtime.start(spec)
        _ = await fixture.runtime.waitForExit(spec.id)
        do {
            _ = try fixture.runtime.exec(id: spec.id, command: ["/bin/true"], tty: false, environment: [])
            Issue.record("exec succeeded")
        } catch {
            #expect(error.code == .notRunning)
        }
    }

    @Test func execWithATerminalGetsARealTerminalThatResizes() async throws {
        let fixture = RuntimeFixture()
        defer { fixture.cleanUp() }
        let spec = fixture.spec("tty", ["/bin/sleep", "600"])
        _ = try fixture.runtime.start(spec)
        let process = try fixture.runtime.exec(id: spec.id, command: ["/bin/sh"], tty: true, environment: ["PS1=$ "])
        let watchdog = Task {
            try await Task.sleep(for: .seconds(30))
            process.kill()
        }
        defer { watchdog.cancel() }
        var output = process.stdout.makeAsyncIterator()
        var seen = ""
        func readUntil(_ text: String) async -> Bool {
            while !seen.contains(text) {
                guard let chunk = await output.next() else { return false }
                seen += String(decoding: chunk, as: UTF8.self)
            }
            return true
        }

        #expect(await readUntil("$ "))
        // The terminal echoes what is typed, so the markers are computed by the shell. (busybox's
        // line editing redraws the line it reads, so only the computed text is looked for.)
        try process.write(Array("tty; echo TTY-$((40+2))\n".utf8))
        #expect(await readUntil("TTY-42"))
        #expect(seen.contains("/dev/pts/0"))
        process.resize(width: 123, height: 45)
        // runc copies the size when it handles SIGWINCH, which may be after the shell ran its next command.
        var resized = false
        for attempt in 0..<50 where !resized {
            try process.write(Array("stty size; echo SIZE-$((100+\(attempt)))\n".utf8))
            #expect(await readUntil("SIZE-\(100 + attempt)"))
            resized = seen.contains("45 123")
            if !resized { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(resized)
        try process.write(Array("exit 3\n".utf8))
        #expect(await process.wait() == 3)
        #expect(process.tty)
        #expect(await collect(process.stderr).isEmpty)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import SwiftletSpawn

/// One line of an `ip -batch` script, and the failures of that line which mean there was nothing to do
/// (e.g. `Cannot find device` when deleting what is already gone).
struct BatchLine: Sendable, ExpressibleByStringInterpolation {
    var text: String
    var harmlessFailures: [String] = []

    init(stringLiteral text: String) { self.text = text }

    /// A deletion whose target may already be gone.
    static func delete(_ text: String) -> BatchLine {
        var line = BatchLine(stringLiteral: text)
        line.harmlessFailures = ["Cannot find device", "does not exist"]
        return line
    }
}

/// iproute2's `ip`, started inside a network namespace or in ours.
enum IPCommand {
    static let executable: String = {
        let candidates = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]
        return candidates.first { access($0, X_OK) == 0 } ?? "/usr/sbin/ip"
    }()

    /// `ip ARGS`; returns what it printed.
    @discardableResult
    static func run(_ arguments: [String], in namespace: String?) throws(PodNetworkError) -> String {
        let result = try runInNamespace([executable] + arguments, input: "", namespace)
        guard result.status == 0 else {
            throw .commandFailed(command: commandLine(arguments, namespace), failedCommand: nil, status: result.status, stderr: result.stderr)
        }
        return result.stdout
    }

    /// Runs the lines with one `ip -batch -` process. When some line has harmless failures, `-force` carries on past
    /// failed lines, and the run fails only if some line failed otherwise; ip then reports the first such line.
    @discardableResult
    static func batch(_ lines: [BatchLine], in namespace: String?) throws(PodNetworkError) -> String {
        let force = lines.contains { !$0.harmlessFailures.isEmpty }
        let arguments = (force ? ["-force"] : []) + ["-batch", "-"]
        let input = lines.map(\.text).joined(separator: "\n") + "\n"
        let result = try runInNamespace([executable] + arguments, input: input, namespace)
        guard result.status != 0 else { return result.stdout }
        let failures = BatchFailure.parse(result.stderr)
        let fatal = failures.filter { failure in
            guard let number = failure.line, number >= 1, number <= lines.count else { return true }
            return !lines[number - 1].harmlessFailures.contains { failure.message.contains($0) }
        }
        guard let first = fatal.first else { return result.stdout }
        // ip names the line unless it gave up on the whole batch (a bad argument exits at once, -force or not).
        let failedCommand = first.line.flatMap { $0 >= 1 && $0 <= lines.count ? lines[$0 - 1].text : nil }
            ?? "one of: " + lines.map(\.text).joined(separator: "; ")
        throw .commandFailed(command: commandLine(arguments, namespace), failedCommand: failedCommand, status: result.status, stderr: first.message)
    }

    private static func runInNamespace(_ argv: [String], input: String, _ namespace: String?) throws(PodNetworkError) -> CommandOutput {
        try NetworkNamespace.run(in: namespace) { () throws(PodNetworkError) in
            do throws(CommandFailure) {
                return try Command.run(argv, input: input)
            } catch {
                throw .system(operation: error.operation, errno: error.errno)
            }
        }
    }

    private static func commandLine(_ arguments: [String], _ namespace: String?) -> String {
        (["ip"] + arguments).joined(separator: " ") + (namespace.map { " (in netns \($0))" } ?? "")
    }

}

/// One failed line of a batch: ip prints the error, then "Command failed -:LINE". What comes after the last such
/// report, or a non-zero exit with none at all, is a failure without a line.
private struct BatchFailure {
    var message: String
    var line: Int?

    static func parse(_ stderr: String) -> [BatchFailure] {
        var failures: [BatchFailure] = []
        var message: [Substring] = []
        for line in stderr.split(separator: "\n") {
            if line.hasPrefix("Command failed -:"), let number = Int(line.dropFirst("Command failed -:".count)) {
                failures.append(BatchFailure(message: message.joined(separator: "\n"), line: number))
                message = []
            } else {
                message.append(line)
            }
        }
        if !message.isEmpty || failures.isEmpty {
            failures.append(BatchFailure(message: message.joined(separator: "\n"), line: nil))
        }
        return failures
    }
}

import Glibc

/// The levels of .NET's `Microsoft.Extensions.Logging`, which both kiamol images log with.
public enum LogLevel: Int, Comparable, Sendable, CaseIterable {
    case trace, debug, information, warning, error, critical, none

    /// Parses a .NET level name such as "Debug" or "warning" (case-insensitive); nil when unknown.
    public init?(dotNetName: String) {
        let lowered = dotNetName.lowercased()
        guard let level = Self.allCases.first(where: { "\($0)" == lowered }) else { return nil }
        self = level
    }

    /// The four-letter tag .NET's console logger prints before each entry.
    var tag: String {
        switch self {
        case .trace: "trce"
        case .debug: "dbug"
        case .information: "info"
        case .warning: "warn"
        case .error: "fail"
        case .critical: "crit"
        case .none: ""
        }
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One-line log entries in the spirit of .NET's console logger ("info: Category[event] message"),
/// written straight to a sink (stdout by default, unbuffered) so `kubectl logs` sees them at once.
public struct ConsoleLog: Sendable {
    /// The environment variable ASP.NET reads for the default level (`Logging:LogLevel:Default`).
    public static let levelVariable = "Logging__LogLevel__Default"

    public let minimum: LogLevel
    private let sink: @Sendable (String) -> Void

    public init(minimum: LogLevel, sink: @escaping @Sendable (String) -> Void = ConsoleLog.writeToStandardOutput) {
        self.minimum = minimum
        self.sink = sink
    }

    /// The level from `Logging__LogLevel__Default`; Information (the images' appsettings default)
    /// when unset or unrecognised.
    public static func fromEnvironment() -> ConsoleLog {
        let level = Host.environment(levelVariable).flatMap(LogLevel.init(dotNetName:)) ?? .information
        return ConsoleLog(minimum: level)
    }

    public func isEnabled(_ level: LogLevel) -> Bool { level != .none && level >= minimum }

    public func log(_ level: LogLevel, _ category: String, event: Int = 0, _ message: @autoclosure () -> String) {
        guard isEnabled(level) else { return }
        sink("\(level.tag): \(category)[\(event)] \(message())\n")
    }

    /// Writes a whole line with one write(2), so lines from concurrent connections do not interleave.
    public static func writeToStandardOutput(_ line: String) { writeAll(line, to: STDOUT_FILENO) }

    public static func writeToStandardError(_ line: String) { writeAll(line, to: STDERR_FILENO) }

    private static func writeAll(_ text: String, to descriptor: Int32) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return }
                offset += written
            }
        }
    }
}

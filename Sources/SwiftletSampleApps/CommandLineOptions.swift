/// A command line the app cannot run with; `main` prints it with the usage and exits 2.
public struct UsageError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Collects "-flag value" and "-flag=value" options by canonical name. Bare words, such as the
/// "Pi.Web.dll" that pods pass to `dotnet`, are ignored: the binary stands in for `dotnet <app>.dll`.
struct FlagScanner {
    private(set) var values: [String: String] = [:]

    /// `aliases` maps each accepted spelling (with its dashes) to a canonical name.
    /// Flags not in it are an error unless `ignoringUnknown`.
    init(_ arguments: [String], aliases: [String: String], ignoringUnknown: Bool = false) throws(UsageError) {
        var remaining = arguments[...]
        while let word = remaining.popFirst() {
            guard word.hasPrefix("-"), word.count > 1 else { continue }
            let pieces = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let spelled = String(pieces[0])
            guard let name = aliases[spelled] ?? aliases[spelled.lowercased()] else {
                if ignoringUnknown { continue }
                throw UsageError(description: "unknown option \(spelled)")
            }
            if pieces.count == 2 {
                values[name] = String(pieces[1])
            } else if let value = remaining.popFirst() {
                values[name] = value
            } else {
                throw UsageError(description: "option \(spelled) needs a value")
            }
        }
    }
}

/// The port to listen on: the --port flag, else the PORT variable, else `fallback`.
func listeningPort(flag: String?, environment: (String) -> String?, fallback: UInt16) throws(UsageError) -> UInt16 {
    guard let text = flag ?? environment("PORT") else { return fallback }
    guard let port = UInt16(text) else { throw UsageError(description: "invalid port \(text)") }
    return port
}

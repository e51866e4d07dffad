import Foundation

/// Where the client machinery reports what it recovers from on its own (a sync that will be
/// retried, an event that could not be written): nothing here throws to its caller, so these
/// lines are the only trace. Injected so that tests and the binary choose the destination.
public typealias LogSink = @Sendable (String) -> Void

public enum ClientLog {
    /// One line per message on standard error.
    public static let standardError: LogSink = { message in
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    public static let discard: LogSink = { _ in }
}

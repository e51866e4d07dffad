/// Why a runtime operation failed. `message` is meant for people: for `createFailed` and
/// `startFailed` it carries runc's own error, which the agent shows in the container's waiting
/// state (CreateContainerError / RunContainerError).
public struct RuntimeError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The spec cannot be run as given (a bad id, an empty argv...).
        case invalidSpec
        case alreadyExists
        case notFound
        case notRunning
        /// `runc create` failed: nothing of the container ran.
        case createFailed
        /// `runc start` failed.
        case startFailed
        case execFailed
        /// An operation on the host failed: a mount, a file, a process could not be started.
        case system
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

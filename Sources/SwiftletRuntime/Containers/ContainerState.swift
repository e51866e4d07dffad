import Foundation

/// Where a container is in its life, as the runtime reads it from the bundle and /proc.
public enum ContainerState: Sendable, Equatable {
    /// The bundle exists but the container has not been started (or its start is in progress).
    case created
    case running(pid: Int32, startedAt: Date)
    /// `code` is the process's exit code, or 128 + the signal that killed it; 128 with no
    /// `startedAt` when the container could not be started.
    case exited(code: Int32, startedAt: Date?, finishedAt: Date, oomKilled: Bool)
    /// No such container, or its shim died without recording how the container ended.
    case unknown

    public var isRunning: Bool {
        if case .running = self { return true }
        return false
    }
}

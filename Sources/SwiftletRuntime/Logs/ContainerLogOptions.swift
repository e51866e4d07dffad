import Foundation

/// What `kubectl logs` asks for (the kubelet's `LogOptions`).
public struct ContainerLogOptions: Sendable, Equatable {
    /// Only the last this many lines; nil for all. A line split into partial records counts once.
    public var tailLines: Int?
    /// Only records written at or after this time.
    public var sinceTime: Date?
    /// Prefix each line with its RFC3339Nano time and a space.
    public var timestamps: Bool
    /// Stop after this many bytes of output (a line may be cut).
    public var limitBytes: Int?
    /// Only this stream's records; nil for both.
    public var stream: ContainerLogStream?

    public init(tailLines: Int? = nil, sinceTime: Date? = nil, timestamps: Bool = false, limitBytes: Int? = nil,
                stream: ContainerLogStream? = nil) {
        self.tailLines = tailLines
        self.sinceTime = sinceTime
        self.timestamps = timestamps
        self.limitBytes = limitBytes
        self.stream = stream
    }
}

/// Which of a container's output streams a record of its log came from.
public enum ContainerLogStream: Sendable, Equatable {
    case stdout, stderr
}

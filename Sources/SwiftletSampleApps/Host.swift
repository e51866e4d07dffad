import Glibc

/// Facts about the machine (inside a pod: the container's UTS namespace) that the sample apps report.
public enum Host {
    /// gethostname(2); in a pod this is the pod's name, like .NET's `Environment.MachineName`.
    public static func name() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// "<sysname> <release> <version>" from uname(2), which is what .NET's `RuntimeInformation.OSDescription`
    /// says on Linux, e.g. "Linux 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)".
    public static func operatingSystemDescription() -> String {
        var names = utsname()
        guard uname(&names) == 0 else { return "Linux" }
        let sysname = withUnsafeBytes(of: &names.sysname) { cString($0) }
        let release = withUnsafeBytes(of: &names.release) { cString($0) }
        let version = withUnsafeBytes(of: &names.version) { cString($0) }
        return "\(sysname) \(release) \(version)"
    }

    /// The value of an environment variable, or nil when unset.
    public static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    private static func cString(_ bytes: UnsafeRawBufferPointer) -> String {
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }
}

/// Milliseconds on the monotonic clock, for timing requests and computations.
func monotonicMilliseconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) * 1000 + Double(now.tv_nsec) / 1_000_000
}

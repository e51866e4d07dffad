import Foundation

/// Durations the way `kubectl get` prints them (the AGE column, "5m ago" restarts), matching
/// k8s.io/apimachinery/pkg/util/duration.HumanDuration digit for digit: whoever reads the table
/// compares it with what a real cluster shows.
public enum HumanDuration {
    /// About two or three significant figures: `59s`, `119s`, `2m`, `9m59s`, `10m`, `3h5m`,
    /// `8h`, `2d3h`, `8d`, `2y45d`, `8y`. Up to a second in the future still reads `0s`, to
    /// tolerate clock skew; anything later is `<invalid>`.
    public static func string(_ seconds: TimeInterval) -> String {
        guard !seconds.isNaN else { return "<invalid>" }
        return string(nanoseconds: nanoseconds(seconds))
    }

    /// Rounded to the microsecond: Kubernetes timestamps carry at most microseconds, and the
    /// difference of two `Date`s can land a few hundred nanoseconds short of a whole second,
    /// which would otherwise turn `10m` into `9m59s`. Clamped the way Go's `time.Since`
    /// saturates.
    private static func nanoseconds(_ seconds: TimeInterval) -> Int64 {
        let micros = (seconds * 1_000_000).rounded()
        if micros >= 9.2e15 { return .max }
        if micros <= -9.2e15 { return .min }
        return Int64(micros) * 1000
    }

    private static func string(nanoseconds d: Int64) -> String {
        let seconds = d / 1_000_000_000
        if seconds < -1 { return "<invalid>" }
        if seconds < 0 { return "0s" }
        if seconds < 60 * 2 { return "\(seconds)s" }

        let minutes = seconds / 60
        if minutes < 10 {
            let s = seconds % 60
            return s == 0 ? "\(minutes)m" : "\(minutes)m\(s)s"
        }
        if minutes < 60 * 3 { return "\(minutes)m" }

        let hours = minutes / 60
        if hours < 8 {
            let m = minutes % 60
            return m == 0 ? "\(hours)h" : "\(hours)h\(m)m"
        }
        if hours < 48 { return "\(hours)h" }
        if hours < 24 * 8 {
            let h = hours % 24
            return h == 0 ? "\(hours / 24)d" : "\(hours / 24)d\(h)h"
        }
        if hours < 24 * 365 * 2 { return "\(hours / 24)d" }
        if hours < 24 * 365 * 8 {
            let days = hours / 24 % 365
            return days == 0 ? "\(hours / 24 / 365)y" : "\(hours / 24 / 365)y\(days)d"
        }
        return "\(hours / 24 / 365)y"
    }
}

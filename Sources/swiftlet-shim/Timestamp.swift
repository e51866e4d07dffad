import Glibc

/// Wall-clock time as the CRI log format and Kubernetes' RFC3339NanoFixed write it:
/// `2026-11-24T17:22:01.123456789Z`, always nine fraction digits, always UTC.
enum Timestamp {
    static func now() -> [UInt8] {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        var seconds = time.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var out = [UInt8]()
        out.reserveCapacity(30)
        append(Int(parts.tm_year) + 1900, width: 4, to: &out)
        out.append(UInt8(ascii: "-"))
        append(Int(parts.tm_mon) + 1, width: 2, to: &out)
        out.append(UInt8(ascii: "-"))
        append(Int(parts.tm_mday), width: 2, to: &out)
        out.append(UInt8(ascii: "T"))
        append(Int(parts.tm_hour), width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        append(Int(parts.tm_min), width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        append(Int(parts.tm_sec), width: 2, to: &out)
        out.append(UInt8(ascii: "."))
        append(time.tv_nsec, width: 9, to: &out)
        out.append(UInt8(ascii: "Z"))
        return out
    }

    private static func append(_ value: Int, width: Int, to out: inout [UInt8]) {
        var digits = [UInt8](repeating: UInt8(ascii: "0"), count: width)
        var value = value
        var i = width - 1
        while i >= 0 {
            digits[i] = UInt8(ascii: "0") + UInt8(value % 10)
            value /= 10
            i -= 1
        }
        out += digits
    }
}

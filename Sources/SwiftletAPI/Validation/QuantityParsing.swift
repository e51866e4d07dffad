/// The pieces of a quantity's text, split exactly as upstream's parseQuantityString splits them
/// (which accepts oddities such as `.`, `1.` and `+0001`).
struct QuantityText {
    var negative = false
    /// Integer digits without leading zeros ("0" when there are none).
    var num: [UInt8] = []
    var denom: [UInt8] = []
    var suffix = ""

    init(_ text: String) throws(Quantity.ParseError) {
        let bytes = Array(text.utf8)
        var pos = 0
        if bytes.first == UInt8(ascii: "-") {
            negative = true
            pos = 1
        } else if bytes.first == UInt8(ascii: "+") {
            pos = 1
        }
        while pos < bytes.count, bytes[pos] == UInt8(ascii: "0") { pos += 1 }
        if pos == bytes.count {
            num = Array("0".utf8)
            return
        }
        let numStart = pos
        while pos < bytes.count, Self.isDigit(bytes[pos]) { pos += 1 }
        num = Array(bytes[numStart..<pos])
        if num.isEmpty { num = Array("0".utf8) }
        if pos == bytes.count { return }
        if bytes[pos] == UInt8(ascii: ".") {
            pos += 1
            let denomStart = pos
            while pos < bytes.count, Self.isDigit(bytes[pos]) { pos += 1 }
            denom = Array(bytes[denomStart..<pos])
            if pos == bytes.count { return }
        }
        let suffixStart = pos
        while pos < bytes.count, Array("eEinumkKMGTP".utf8).contains(bytes[pos]) { pos += 1 }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "-") || bytes[pos] == UInt8(ascii: "+") { pos += 1 }
        while pos < bytes.count, Self.isDigit(bytes[pos]) { pos += 1 }
        guard pos == bytes.count else { throw .format }
        suffix = String(decoding: bytes[suffixStart...], as: UTF8.self)
    }

    static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
}

/// A non-negative decimal amount being scaled to nanos: exact while it fits in 128 bits, with a
/// flag for discarded non-zero digits so the result can round up as upstream does.
struct QuantityMagnitude {
    private(set) var value: Int128 = 0
    private var overflow = false
    private var inexact = false
    /// Digits too many to hold, each a factor of ten still to apply.
    private var pendingPowerOfTen = 0

    init(digits: [UInt8]) {
        for byte in digits {
            let digit = Int128(byte - UInt8(ascii: "0"))
            if pendingPowerOfTen > 0 || value > (Int128.max - digit) / 10 {
                pendingPowerOfTen += 1
                if digit != 0 { inexact = true }
            } else {
                value = value * 10 + digit
            }
        }
    }

    mutating func multiply(byPowerOfTwo power: Int) {
        for _ in 0..<max(0, power) {
            if value > Int128.max / 2 { overflow = true; return }
            value *= 2
        }
    }

    mutating func shift(byPowerOfTen power: Int) {
        let total = power + pendingPowerOfTen
        pendingPowerOfTen = 0
        if total >= 0 {
            for _ in 0..<total {
                if value > Int128.max / 10 { overflow = true; return }
                value *= 10
            }
        } else {
            for _ in 0..<(-total) {
                if value == 0 { break }
                if value % 10 != 0 { inexact = true }
                value /= 10
            }
        }
    }

    /// The amount, one more when anything was cut off; nil when it does not fit.
    func roundedUp() -> Int128? {
        if overflow { return nil }
        return inexact ? value + 1 : value
    }
}

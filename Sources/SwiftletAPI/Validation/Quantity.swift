import SwiftletMachinery

/// A resource quantity (`100m`, `128Mi`, `1G`, `1e3`) with the semantics of
/// k8s.io/apimachinery/pkg/api/resource: nine decimal places kept (finer amounts round up, away
/// from zero), a cap at 2⁶³-1, and the canonical text kube-apiserver stores and prints.
///
/// Validation compares requests with limits in it; the node agent and scheduler add and compare
/// them too, so the amount is exact rather than floating point.
public struct Quantity: Sendable, Hashable, Comparable, CustomStringConvertible {
    public enum Format: Sendable, Hashable {
        /// `m`, `k`, `M`, `G`... and no suffix.
        case decimalSI
        /// `Ki`, `Mi`, `Gi`...
        case binarySI
        /// `e3`, `E-6`.
        case decimalExponent
    }

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public let message: String
        public var description: String { message }

        static let format = ParseError(message: "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
        static let numeric = ParseError(message: "unable to parse numeric part of quantity")
        static let suffix = ParseError(message: "unable to parse quantity's suffix")
    }

    /// The amount in billionths of a unit.
    public private(set) var nanos: Int128
    public private(set) var format: Format
    /// The text as the client wrote it, when upstream would serialize it unchanged.
    private var written: String?

    static let nanosPerUnit: Int128 = 1_000_000_000
    static let maxNanos = Int128(Int64.max) * nanosPerUnit

    public init(nanos: Int128, format: Format) {
        self.nanos = nanos
        self.format = format
    }

    public init(milliValue: Int64, format: Format = .decimalSI) {
        self.init(nanos: Int128(milliValue) * 1_000_000, format: format)
    }

    public init(value: Int64, format: Format = .decimalSI) {
        self.init(nanos: Int128(value) * Self.nanosPerUnit, format: format)
    }

    /// resource.ParseQuantity.
    public init(_ text: String) throws(ParseError) {
        if text.isEmpty { throw .format }
        if text == "0" {
            self.init(nanos: 0, format: .decimalSI)
            written = text
            return
        }
        let parts = try QuantityText(text)
        let (base, exponent, format) = try Self.interpret(parts.suffix)
        let amount = Self.amount(of: parts, base: base, exponent: exponent)
        self.init(nanos: parts.negative ? -amount.nanos : amount.nanos, format: format)
        if amount.fastPath {
            if Self.isCanonical(parts, base: base, exponent: exponent) { written = text }
        } else if format == .binarySI, amount.nanos > 0, amount.nanos < Self.nanosPerUnit {
            self.format = .decimalSI
        }
    }

    /// Quantity.UnmarshalJSON: a string (surrounding whitespace ignored) or a JSON number.
    public init?(json: JSONValue) {
        let text: String
        switch json {
        case .string(let s): text = String(s.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        case .int(let i): text = String(i)
        case .double(let d): text = d.rounded() == d && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        default: return nil
        }
        guard let parsed = try? Quantity(text) else { return nil }
        self = parsed
    }

    public var isZero: Bool { nanos == 0 }

    /// Value(): whole units, rounded up away from zero.
    public var value: Int64 { Self.scaled(nanos, by: Self.nanosPerUnit) }

    /// MilliValue(): thousandths, rounded up away from zero.
    public var milliValue: Int64 { Self.scaled(nanos, by: 1_000_000) }

    /// RoundUp(-3), which defaulting applies to every ResourceList.
    public func roundedUpToMilli() -> Quantity {
        let remainder = nanos % 1_000_000
        if remainder == 0 { return self }
        let step: Int128 = nanos > 0 ? 1_000_000 : -1_000_000
        return Quantity(nanos: nanos - remainder + step, format: format)
    }

    public static func + (lhs: Quantity, rhs: Quantity) -> Quantity {
        Quantity(nanos: lhs.nanos + rhs.nanos, format: lhs.isZero ? rhs.format : lhs.format)
    }

    public static func - (lhs: Quantity, rhs: Quantity) -> Quantity {
        Quantity(nanos: lhs.nanos - rhs.nanos, format: lhs.isZero ? rhs.format : lhs.format)
    }

    public static func < (lhs: Quantity, rhs: Quantity) -> Bool { lhs.nanos < rhs.nanos }

    /// Equal amounts are equal quantities, whatever their formats (Quantity.Cmp).
    public static func == (lhs: Quantity, rhs: Quantity) -> Bool { lhs.nanos == rhs.nanos }

    public func hash(into hasher: inout Hasher) { hasher.combine(nanos) }

    /// Quantity.String(): the canonical text, e.g. `500m` for `0.5`, `512Mi` for `0.5Gi`.
    public var description: String {
        if let written { return written }
        if nanos == 0 { return "0" }
        if format == .binarySI, nanos.magnitude >= 1024 * UInt128(Self.nanosPerUnit), nanos % Self.nanosPerUnit == 0 {
            var units = nanos / Self.nanosPerUnit
            var power = 0
            while units % 1024 == 0 {
                units /= 1024
                power += 1
            }
            let suffixes = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
            return "\(units)" + (power < suffixes.count ? suffixes[power] : "")
        }
        var mantissa = nanos
        var exponent = -9
        while mantissa % 10 == 0 {
            mantissa /= 10
            exponent += 1
        }
        switch exponent % 3 {
        case 1, -2:
            mantissa *= 10
            exponent -= 1
        case 2, -1:
            mantissa *= 100
            exponent -= 2
        default:
            break
        }
        if format == .decimalExponent { return exponent == 0 ? "\(mantissa)" : "\(mantissa)e\(exponent)" }
        return "\(mantissa)" + (Self.decimalSuffixes.first { $0.value == exponent }?.key ?? "")
    }

    // MARK: - Parsing

    static let decimalSuffixes: [String: Int] = ["n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18]
    static let binarySuffixes: [String: Int] = ["Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60]

    private static func interpret(_ suffix: String) throws(ParseError) -> (base: Int, exponent: Int, format: Format) {
        if let e = decimalSuffixes[suffix] { return (10, e, .decimalSI) }
        if let e = binarySuffixes[suffix] { return (2, e, .binarySI) }
        if suffix.utf8.count > 1, suffix.first == "e" || suffix.first == "E", let e = Int64(suffix.dropFirst()) {
            return (10, Int(Int32(truncatingIfNeeded: e)), .decimalExponent)
        }
        throw .suffix
    }

    /// The magnitude in nanos, rounded up when finer than that; `fastPath` when upstream keeps
    /// the amount as an exact int64 and scale (no rounding and no cap).
    private static func amount(of parts: QuantityText, base: Int, exponent: Int) -> (nanos: Int128, fastPath: Bool) {
        let numLength = parts.num.count, denomLength = parts.denom.count
        var precision = -1
        if base == 10 {
            precision = 18 - (numLength + denomLength)
        } else if exponent >= 0 && denomLength == 0 {
            precision = 15 - numLength - Int(Float(exponent) * 3 / 10) - 1
        }
        let scale = (base == 10 ? exponent : 0) - denomLength
        var magnitude = QuantityMagnitude(digits: parts.num + parts.denom)
        if base == 2 { magnitude.multiply(byPowerOfTwo: exponent) }
        let fitsInt64 = magnitude.roundedUp().map { $0 <= Int128(Int64.max) } ?? false
        magnitude.shift(byPowerOfTen: scale + 9)
        let nanos = magnitude.roundedUp() ?? maxNanos
        let fastPath = precision >= 0 && scale >= -9 && fitsInt64
        return (fastPath ? nanos : min(nanos, maxNanos), fastPath)
    }

    /// Whether upstream's parser keeps the written text as the serialized form.
    private static func isCanonical(_ parts: QuantityText, base: Int, exponent: Int) -> Bool {
        let shifted = parts.num + parts.denom
        if base == 2 {
            // value & 7 depends only on the last three decimal digits, as 1000 is a multiple of 8.
            let lastThree = shifted.suffix(3).reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
            return exponent % 10 == 0 && lastThree & 0x07 != 0
        }
        let scale = exponent - parts.denom.count
        return scale % 3 == 0 && !shifted.reversed().starts(with: Array("000".utf8)) && shifted.first != UInt8(ascii: "0")
    }

    private static func scaled(_ nanos: Int128, by unit: Int128) -> Int64 {
        var result = nanos / unit
        if nanos % unit != 0 { result += nanos > 0 ? 1 : -1 }
        return Int64(clamping: result)
    }
}

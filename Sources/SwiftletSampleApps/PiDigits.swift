/// Pi to a number of decimal places, by Machin's formula  pi = 16·atan(1/5) − 4·atan(1/239),
/// the same formula the kiamol/ch05-pi image uses, in fixed point with base-10⁹ limbs.
public enum PiDigits {
    /// Beyond this the limb arithmetic below could lose exactness (see `SmallDivisor`).
    public static let maximumDecimalPlaces = 1_000_000

    /// "3" followed by "." and exactly `decimalPlaces` digits, truncated (not rounded), e.g. "3.141592" for 6.
    public static func compute(decimalPlaces: Int) -> String {
        precondition((0...maximumDecimalPlaces).contains(decimalPlaces), "decimal places out of range")
        // Two guard limbs (18 digits) absorb the truncation error of every series term.
        let fractionLimbs = (decimalPlaces + 8) / limbDigits + 2
        var sum = [Int64](repeating: 0, count: fractionLimbs + 1)
        addArctangentOfReciprocal(5, times: 16, into: &sum)
        addArctangentOfReciprocal(239, times: -4, into: &sum)
        let limbs = normalised(sum)
        return render(limbs, decimalPlaces: decimalPlaces)
    }

    static let limbDigits = 9
    static let limbBase: UInt64 = 1_000_000_000

    /// Adds `times · atan(1/x)` = times · Σ (−1)ᵏ / ((2k+1)·x^(2k+1)) to `sum`, limb by limb without carrying:
    /// each limb stays far inside Int64 (terms × |times| × 10⁹), and one pass at the end carries.
    /// One sweep per term reads the power 1/x^(2k+1) once, dividing it by 2k+1 for the term
    /// and by x² for the next power.
    private static func addArctangentOfReciprocal(_ x: UInt64, times: Int64, into sum: inout [Int64]) {
        var power = [UInt64](repeating: 0, count: sum.count)
        power[0] = 1
        divide(&power, by: SmallDivisor(x))
        let xSquared = SmallDivisor(x * x)
        var first = 0
        var k: UInt64 = 0
        while first < power.count {
            let odd = SmallDivisor(2 * k + 1)
            let signedTimes = k % 2 == 0 ? times : -times
            var termRemainder: UInt64 = 0
            var powerRemainder: UInt64 = 0
            for i in first..<power.count {
                let limb = power[i]
                let term = odd.divide(termRemainder &* limbBase &+ limb)
                termRemainder = term.remainder
                sum[i] &+= signedTimes &* Int64(term.quotient)
                let next = xSquared.divide(powerRemainder &* limbBase &+ limb)
                powerRemainder = next.remainder
                power[i] = next.quotient
            }
            while first < power.count && power[first] == 0 { first += 1 }
            k += 1
        }
    }

    private static func divide(_ number: inout [UInt64], by divisor: SmallDivisor) {
        var remainder: UInt64 = 0
        for i in number.indices {
            let step = divisor.divide(remainder &* limbBase &+ number[i])
            number[i] = step.quotient
            remainder = step.remainder
        }
    }

    /// Carries from the least significant limb up, so every fraction limb ends in 0..<10⁹.
    private static func normalised(_ sum: [Int64]) -> [Int64] {
        var limbs = sum
        let base = Int64(limbBase)
        var carry: Int64 = 0
        for i in stride(from: limbs.count - 1, through: 1, by: -1) {
            let value = limbs[i] + carry
            var digit = value % base
            carry = value / base
            if digit < 0 { digit += base; carry -= 1 }
            limbs[i] = digit
        }
        limbs[0] += carry
        return limbs
    }

    private static func render(_ limbs: [Int64], decimalPlaces: Int) -> String {
        var text = String(limbs[0])
        guard decimalPlaces > 0 else { return text }
        var digits: [UInt8] = []
        digits.reserveCapacity(limbs.count * limbDigits)
        for limb in limbs.dropFirst() {
            var value = limb
            var group = [UInt8](repeating: UInt8(ascii: "0"), count: limbDigits)
            for position in stride(from: limbDigits - 1, through: 0, by: -1) {
                group[position] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
            digits += group
        }
        text += "."
        text += String(decoding: digits.prefix(decimalPlaces), as: UTF8.self)
        return text
    }
}

/// Division of values below 2⁵³ by a fixed small divisor through a floating-point reciprocal,
/// several times faster than a 64-bit hardware divide. The estimate is within one of the true
/// quotient (its relative error is ~2⁻⁵²), and one correction step makes it exact.
/// Dividends here are `remainder · 10⁹ + limb` < divisor · 10⁹, so divisors up to ~9·10⁶ qualify.
struct SmallDivisor {
    let divisor: UInt64
    private let reciprocal: Double

    init(_ divisor: UInt64) {
        precondition(divisor > 0 && divisor < 9_000_000)
        self.divisor = divisor
        self.reciprocal = 1.0 / Double(divisor)
    }

    @inline(__always)
    func divide(_ dividend: UInt64) -> (quotient: UInt64, remainder: UInt64) {
        var quotient = UInt64(Double(dividend) * reciprocal)
        var remainder = Int64(bitPattern: dividend &- quotient &* divisor)
        if remainder < 0 {
            quotient &-= 1
            remainder &+= Int64(divisor)
        } else if remainder >= Int64(divisor) {
            quotient &+= 1
            remainder &-= Int64(divisor)
        }
        return (quotient, UInt64(remainder))
    }
}

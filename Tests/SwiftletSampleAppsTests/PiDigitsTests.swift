import Testing
@testable import SwiftletSampleApps

@Suite struct PiDigitsTests {
    @Test func firstFiftyDecimalPlaces() {
        #expect(PiDigits.compute(decimalPlaces: 50) == "3.14159265358979323846264338327950288419716939937510")
    }

    @Test func truncatesRatherThanRounds() {
        #expect(PiDigits.compute(decimalPlaces: 0) == "3")
        #expect(PiDigits.compute(decimalPlaces: 1) == "3.1")
        #expect(PiDigits.compute(decimalPlaces: 6) == "3.141592")  // the 7th place is 6: rounding would say ...593
    }

    @Test func thousandPlacesMatchASpigotComputation() {
        let machin = PiDigits.compute(decimalPlaces: 1000)
        let spigot = Self.spigotDigits(1000)
        #expect(machin.count == 1002)
        #expect(machin == "3." + spigot.dropFirst())
        // The Feynman point: six nines starting at the 762nd decimal place.
        let decimals = Array(machin.dropFirst(2))
        #expect(String(decimals[761..<767]) == "999999")
    }

    @Test func everyLengthIsAPrefixOfTheLongerResult() {
        let long = PiDigits.compute(decimalPlaces: 120)
        // Lengths around the 9-digit limb boundaries, where truncation bugs would show.
        for places in [2, 8, 9, 10, 17, 18, 19, 26, 27, 28, 99, 119] {
            #expect(long.hasPrefix(PiDigits.compute(decimalPlaces: places)), "dp=\(places)")
        }
    }

    @Test func smallDivisorMatchesHardwareDivision() {
        var generator = SystemRandomNumberGenerator()
        for divisor: UInt64 in [1, 2, 3, 7, 25, 239, 57121, 143_001, 1_500_001] {
            let small = SmallDivisor(divisor)
            let edges: [UInt64] = [0, 1, divisor - 1, divisor, divisor * 1_000_000_000 - 1]
            let randoms = (0..<2000).map { _ in UInt64.random(in: 0..<(divisor * 1_000_000_000), using: &generator) }
            for dividend in edges + randoms {
                let result = small.divide(dividend)
                #expect(result.quotient == dividend / divisor && result.remainder == dividend % divisor,
                        "\(dividend) / \(divisor)")
            }
        }
    }

    /// Rabinowitz and Wagon's spigot, a different algorithm from Machin's: "3" then `places` decimals.
    static func spigotDigits(_ places: Int) -> String {
        let length = 10 * (places + 1) / 3 + 1
        var remainders = [Int](repeating: 2, count: length)
        var nines = 0
        var predigit = 0
        var output = ""
        for _ in 0..<(places + 2) {
            var carry = 0
            for i in stride(from: length, through: 1, by: -1) {
                let x = 10 * remainders[i - 1] + carry * i
                remainders[i - 1] = x % (2 * i - 1)
                carry = x / (2 * i - 1)
            }
            remainders[0] = carry % 10
            carry /= 10
            if carry == 9 {
                nines += 1
            } else if carry == 10 {
                output += String(predigit + 1) + String(repeating: "0", count: nines)
                predigit = 0
                nines = 0
            } else {
                output += String(predigit)
                predigit = carry
                output += String(repeating: "9", count: nines)
                nines = 0
            }
        }
        // The first digit out is a leading 0; the last held ones may still change, so they are left off.
        return String(output.dropFirst().prefix(places + 1))
    }
}

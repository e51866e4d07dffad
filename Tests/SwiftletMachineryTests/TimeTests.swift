import Foundation
import SwiftletMachinery
import Testing

@Suite struct RFC3339Tests {
    /// 2026-11-24T18:20:00Z, worked out by hand: 20,781 days after 1970-01-01.
    let instant = Date(timeIntervalSince1970: 1_795_544_400)

    @Test func formatsSecondsInUTC() {
        #expect(RFC3339.string(from: instant) == "2026-11-24T18:20:00Z")
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00Z")
        #expect(RFC3339.string(from: RFC3339.goZero) == "0001-01-01T00:00:00Z")
    }

    @Test func dropsTheFractionLikeGo() {
        #expect(RFC3339.string(from: instant.addingTimeInterval(0.999)) == "2026-11-24T18:20:00Z")
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59Z")
    }

    @Test func formatsMicroseconds() {
        #expect(RFC3339.microString(from: instant.addingTimeInterval(0.123456)) == "2026-11-24T18:20:00.123456Z")
        #expect(RFC3339.microString(from: instant) == "2026-11-24T18:20:00.000000Z")
        #expect(RFC3339.microString(from: Date(timeIntervalSince1970: 0.000001)) == "1970-01-01T00:00:00.000001Z")
    }

    @Test func parsesWhatItFormats() throws {
        #expect(RFC3339.date(from: "2026-11-24T18:20:00Z") == instant)
        let micro = try #require(RFC3339.date(from: "2026-11-24T18:20:00.123456Z"))
        #expect(RFC3339.microString(from: micro) == "2026-11-24T18:20:00.123456Z")
        #expect(RFC3339.string(from: micro) == "2026-11-24T18:20:00Z")
    }

    @Test func roundTripsAcrossCalendarEdges() throws {
        for text in [
            "2024-02-29T23:59:59Z", "2000-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "2100-03-01T12:00:00Z",
            "1969-07-20T20:17:40Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
        ] {
            let date = try #require(RFC3339.date(from: text), "\(text)")
            #expect(RFC3339.string(from: date) == text)
        }
    }

    @Test func parsesOffsetsIntoUTC() {
        #expect(RFC3339.date(from: "2026-11-25T03:20:00+09:00") == instant)
        #expect(RFC3339.date(from: "2026-11-24T13:50:00-04:30") == instant)
        #expect(RFC3339.date(from: "2026-11-24T18:20:00+00:00") == instant)
    }

    @Test func parsesAnyFractionLength() throws {
        #expect(RFC3339.date(from: "2026-11-24T18:20:00.5Z") == instant.addingTimeInterval(0.5))
        let nanos = try #require(RFC3339.date(from: "2026-11-24T18:20:00.123456789+01:00"))
        #expect(RFC3339.microString(from: nanos) == "2026-11-24T17:20:00.123457Z")
    }

    @Test func rejectsWhatGoRejects() {
        for text in [
            "", "2026-11-24", "2026-11-24T18:20:00", "2026-11-24 18:20:00Z", "2026-11-24T18:20Z",
            "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-24T24:00:00Z",
            "2026-11-24T18:60:00Z", "2026-11-24T18:20:60Z", "2026-11-24T18:20:00.Z", "2026-11-24T18:20:00+0900",
            "2026-11-24T18:20:00Zjunk", "2026-11-24t18:20:00z", "26-11-24T18:20:00Z",
        ] {
            #expect(RFC3339.date(from: text) == nil, "\(text)")
        }
    }
}

@Suite struct HumanDurationTests {
    @Test(
        arguments: [
            (0.0, "0s"), (-1.9, "0s"), (-2.0, "<invalid>"), (1, "1s"), (59, "59s"), (60, "60s"), (119, "119s"),
            (120, "2m"), (121, "2m1s"), (599, "9m59s"), (600, "10m"), (659, "10m"), (3600, "60m"), (10_799, "179m"),
            (10_800, "3h"), (11_100, "3h5m"), (28_799, "7h59m"), (28_800, "8h"), (172_799, "47h"), (172_800, "2d"),
            (183_600, "2d3h"), (691_200, "8d"), (63_071_999, "729d"), (63_072_000, "2y"), (66_960_000, "2y45d"),
            (252_288_000, "8y"), (5e9, "158y"), (1e12, "292y"),
        ] as [(Double, String)])
    func matchesUpstreamThresholds(seconds: Double, expected: String) {
        #expect(HumanDuration.string(seconds) == expected)
    }

    @Test func toleratesDateArithmeticNoise() {
        let created = Date(timeIntervalSince1970: 1_795_544_400)
        #expect(HumanDuration.string(created.addingTimeInterval(600).timeIntervalSince(created)) == "10m")
        #expect(HumanDuration.string(600 - 1e-7) == "10m")
    }

    @Test func saturatesAndRejectsNaN() {
        #expect(HumanDuration.string(.infinity) == "292y")
        #expect(HumanDuration.string(-.infinity) == "<invalid>")
        #expect(HumanDuration.string(.nan) == "<invalid>")
    }
}

import Testing
import SwiftletAPI
import SwiftletMachinery

/// Quantities: parsing, canonical text and arithmetic, as resource.Quantity behaves.
struct ValidationQuantityTests {
    @Test(arguments: [
        ("100m", "100m"), ("0.5", "500m"), ("1", "1"), ("1000m", "1"), ("1.5", "1500m"),
        ("128Mi", "128Mi"), ("1Gi", "1Gi"), ("0.5Gi", "512Mi"), ("1.5Ki", "1536"), ("1024", "1024"),
        ("1G", "1G"), ("1000M", "1G"), ("1e3", "1e3"), ("1E6", "1E6"), ("1500e-3", "1500e-3"),
        ("0", "0"), ("0Mi", "0"), ("-1", "-1"), ("-0.5", "-500m"), ("+1", "+1"), ("01", "01"),
        ("1.", "1."), ("2.50", "2500m"), (".5", "500m"), ("0.0000000001", "1n"), ("12e3", "12e3"), ("100Ki", "100Ki"),
        ("2048Ki", "2Mi"), ("100k", "100k"), ("10Ei", "9223372036854775807"), ("999999999999999999999", "9223372036854775807"),
    ])
    func canonicalText(input: String, canonical: String) throws {
        #expect(try Quantity(input).description == canonical)
    }

    @Test(arguments: [
        ("", "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
        ("1 Gi", "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
        ("12Gb", "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
        ("1Mb", "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
        ("1KiB", "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
        ("1mi", "unable to parse quantity's suffix"),
        ("1e", "unable to parse quantity's suffix"),
        ("5K", "unable to parse quantity's suffix"),
    ])
    func rejects(input: String, message: String) {
        #expect(throws: Quantity.ParseError.self) { try Quantity(input) }
        #expect((try? Quantity(input)) == nil)
        do { _ = try Quantity(input) } catch { #expect(error.message == message) }
    }

    @Test func valuesAndComparison() throws {
        #expect(try Quantity("1.5").value == 2)
        #expect(try Quantity("1.5").milliValue == 1500)
        #expect(try Quantity("1n").milliValue == 1)
        #expect(try Quantity("-1.5").value == -2)
        #expect(try Quantity("1Gi").value == 1_073_741_824)
        #expect(try Quantity("500m") < Quantity("1"))
        #expect(try Quantity("1000m") == Quantity("1"))
        #expect(try Quantity("1Gi") > Quantity("1G"))
        #expect(try (Quantity("100m") + Quantity("400m")).description == "500m")
        #expect(try (Quantity("1Gi") - Quantity("512Mi")).description == "512Mi")
        #expect(try (Quantity("0") + Quantity("1Ki")).description == "1Ki")
        #expect(Quantity(milliValue: 250).description == "250m")
        #expect(Quantity(value: 3).description == "3")
    }

    @Test func fromJSON() {
        #expect(Quantity(json: "  2Gi ")?.description == "2Gi")
        #expect(Quantity(json: 2)?.description == "2")
        #expect(Quantity(json: 0.25)?.description == "250m")
        #expect(Quantity(json: true) == nil)
        #expect(Quantity(json: "abc") == nil)
    }

    @Test func roundsToMilli() throws {
        #expect(try Quantity("0.0001").roundedUpToMilli().description == "1m")
        #expect(try Quantity("1500u").roundedUpToMilli().description == "2m")
        #expect(try Quantity("+1").roundedUpToMilli().description == "+1")
        #expect(try Quantity("-0.0001").roundedUpToMilli().description == "-1m")
    }
}

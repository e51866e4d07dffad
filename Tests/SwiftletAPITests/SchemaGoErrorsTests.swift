@testable import SwiftletAPI
import Testing
import SwiftletMachinery

/// The Go parser ports, against what Go itself prints for the same input (time.Parse as of
/// Go 1.24, encoding/base64, strconv.Quote, resource.ParseQuantity of apimachinery 1.34).
@Suite struct SchemaGoErrorsTests {
    static let layout = "2006-01-02T15:04:05Z07:00"
    static let microLayout = "2006-01-02T15:04:05.000000Z07:00"

    @Test(arguments: [
        ("2024-01-02T03:04:05Z", nil),
        ("2024-01-02T03:04:05.123Z", nil),
        ("2024-01-02T03:04:05,5Z", nil),
        ("2024-01-02T03:04:05+01:00", nil),
        ("2024-01-02T3:04:05Z", nil),
        ("2024-02-29T00:00:00Z", nil),
        ("2024", #"parsing time "2024" as "\#(layout)": cannot parse "" as "-""#),
        ("2024-13-01T00:00:00Z", #"parsing time "2024-13-01T00:00:00Z": month out of range"#),
        ("2024-00-01T00:00:00Z", #"parsing time "2024-00-01T00:00:00Z": month out of range"#),
        ("2024-02-30T00:00:00Z", #"parsing time "2024-02-30T00:00:00Z": day out of range"#),
        ("2023-02-29T00:00:00Z", #"parsing time "2023-02-29T00:00:00Z": day out of range"#),
        ("2024-01-00T00:00:00Z", #"parsing time "2024-01-00T00:00:00Z": day out of range"#),
        ("2024-01-02 03:04:05Z", #"parsing time "2024-01-02 03:04:05Z" as "\#(layout)": cannot parse " 03:04:05Z" as "T""#),
        ("2024-01-02T24:00:00Z", #"parsing time "2024-01-02T24:00:00Z": hour out of range"#),
        ("2024-01-02T03:60:00Z", #"parsing time "2024-01-02T03:60:00Z": minute out of range"#),
        ("2024-01-02T03:04:60Z", #"parsing time "2024-01-02T03:04:60Z": second out of range"#),
        ("2024-01-02T03:04:05", #"parsing time "2024-01-02T03:04:05" as "\#(layout)": cannot parse "" as "Z07:00""#),
        ("2024-01-02T03:04:05Zjunk", #"parsing time "2024-01-02T03:04:05Zjunk": extra text: "junk""#),
        ("2024-01-02T03:04:05+0100", #"parsing time "2024-01-02T03:04:05+0100" as "\#(layout)": cannot parse "+0100" as "Z07:00""#),
        ("2024-01-02T03:04:05*01:00", #"parsing time "2024-01-02T03:04:05*01:00" as "\#(layout)": cannot parse "*01:00" as "Z07:00""#),
        ("2024-01-02T03:04:05+25:00", #"parsing time "2024-01-02T03:04:05+25:00": time zone offset hour out of range"#),
        ("2024-01-02T03:04:05.Z", #"parsing time "2024-01-02T03:04:05.Z" as "\#(layout)": cannot parse ".Z" as "Z07:00""#),
        ("yesterday", #"parsing time "yesterday" as "\#(layout)": cannot parse "yesterday" as "2006""#),
        ("", #"parsing time "" as "\#(layout)": cannot parse "" as "2006""#),
        ("20x4-01-02T03:04:05Z", #"parsing time "20x4-01-02T03:04:05Z" as "\#(layout)": cannot parse "20x4-01-02T03:04:05Z" as "2006""#),
        ("2024-1-02T03:04:05Z", #"parsing time "2024-1-02T03:04:05Z" as "\#(layout)": cannot parse "1-02T03:04:05Z" as "01""#),
        ("é2024", #"parsing time "\xc3\xa92024" as "\#(layout)": cannot parse "\xc3\xa92024" as "2006""#),
        ("2024-01-02T03:04:05Zé", #"parsing time "2024-01-02T03:04:05Z\xc3\xa9": extra text: "\xc3\xa9""#),
    ] as [(String, String?)])
    func rfc3339(value: String, expected: String?) {
        #expect(GoDecodeErrors.timeError(value, micro: false) == expected)
    }

    @Test(arguments: [
        ("2024-01-02T03:04:05.123456Z", nil),
        ("2024-01-02T03:04:05,123456+01:00", nil),
        ("2024-01-02T03:04:05.+12345Z", nil),
        ("2024-01-02T03:04:05Z", #"parsing time "2024-01-02T03:04:05Z" as "\#(microLayout)": cannot parse "Z" as ".000000""#),
        ("2024-01-02T03:04:05.123Z", #"parsing time "2024-01-02T03:04:05.123Z" as "\#(microLayout)": cannot parse ".123Z" as ".000000""#),
        ("2024-01-02T03:04:05.1234567Z", #"parsing time "2024-01-02T03:04:05.1234567Z" as "\#(microLayout)": cannot parse "7Z" as "Z07:00""#),
        ("2024-01-02T03:04:05.12345Z", #"parsing time "2024-01-02T03:04:05.12345Z" as "\#(microLayout)": cannot parse ".12345Z" as ".000000""#),
        ("2024-01-02T03:04:05.-12345Z", #"parsing time "2024-01-02T03:04:05.-12345Z": fractional second out of range"#),
        ("2024-02-30T00:00:00.000000Z", #"parsing time "2024-02-30T00:00:00.000000Z": day out of range"#),
    ] as [(String, String?)])
    func rfc3339Micro(value: String, expected: String?) {
        #expect(GoDecodeErrors.timeError(value, micro: true) == expected)
    }

    @Test(arguments: [
        ("aGVsbG8=", nil), ("aGVsbA==", nil), ("aGVs\nbG8=", nil), ("abcd", nil), ("aGVsbG8=\n", nil),
        ("YQ==\r\n", nil), ("ab==", nil), ("ab=\n=", nil), ("", nil),
        ("aGVsbG8", 4), ("aGVs bG8=", 4), ("not base64!", 3), ("aGVsbG8==", 8), ("aG=sbG8=", 2), ("aGVsbA=", 7),
        ("aGVsbA", 4), ("aGVsbA==x", 8), ("a", 0), ("ab", 0), ("abc", 0), ("=", 0), ("ab=c", 2), ("aGVsbG8=\nx", 9),
    ] as [(String, Int?)])
    func base64(value: String, offset: Int?) {
        #expect(GoDecodeErrors.base64Error(value) == offset.map { "illegal base64 data at input byte \($0)" })
    }

    @Test(arguments: [
        ("spec.foo", #""spec.foo""#), ("metadata.labels.a\"b", #""metadata.labels.a\"b""#), ("x\ty", #""x\ty""#),
        ("é", #""é""#), ("\u{a0}", #""\u00a0""#), ("\u{200b}", #""\u200b""#), ("😀", #""😀""#), ("\u{7f}", #""\x7f""#),
        ("a\\b", #""a\\b""#), ("\u{2028}", #""\u2028""#),
    ])
    func quote(value: String, expected: String) {
        #expect(GoText.quote(value) == expected)
    }

    @Test(arguments: [
        ("100m", nil), ("128974848", nil), ("1Gi", nil), ("1.5", nil), (".5", nil), ("5.", nil), ("-1", nil), ("+1k", nil),
        ("1e3", nil), ("1E+5", nil), ("1E", nil), ("0", nil), (" 2Mi ", nil), ("Ki", nil), ("1.5Ei", nil),
        (".Ti", nil), ("e-9", nil), (".", nil), ("-", nil), ("1.e5", nil), ("1e-20", nil), ("99999999999999999999999", nil),
        ("", GoDecodeErrors.quantityFormatWrong), ("abc", GoDecodeErrors.quantityFormatWrong),
        ("1.2.3", GoDecodeErrors.quantityFormatWrong), ("1 Gi", GoDecodeErrors.quantityFormatWrong),
        ("1Kii", GoDecodeErrors.quantitySuffixWrong), ("1e", GoDecodeErrors.quantitySuffixWrong),
        ("1mm", GoDecodeErrors.quantitySuffixWrong), ("1E-", GoDecodeErrors.quantitySuffixWrong),
        ("1i", GoDecodeErrors.quantitySuffixWrong), ("Ei", GoDecodeErrors.quantityNumericWrong),
        ("-Pi", GoDecodeErrors.quantityNumericWrong), (".e-12", GoDecodeErrors.quantityNumericWrong),
        ("e-10", GoDecodeErrors.quantityNumericWrong), ("+.e-10", GoDecodeErrors.quantityNumericWrong),
    ] as [(String, String?)])
    func quantity(value: String, expected: String?) {
        #expect(GoDecodeErrors.quantityError(value) == expected)
    }

    @Test func jsonNumbersAsGoMarshalsThem() {
        #expect(FieldValidation.goJSONNumber(3) == "3")
        #expect(FieldValidation.goJSONNumber(1.5) == "1.5")
        #expect(FieldValidation.goJSONNumber(1e21) == "1e+21")
        #expect(FieldValidation.goJSONNumber(1e-7) == "1e-7")
        #expect(FieldValidation.goJSONNumber(0.00001) == "0.00001")
        #expect(FieldValidation.goJSONNumber(123456789.25) == "123456789.25")
        #expect(FieldValidation.goJSONNumber(-3) == "-3")
        #expect(FieldValidation.goJSONNumber(1e20) == "100000000000000000000")
    }
}

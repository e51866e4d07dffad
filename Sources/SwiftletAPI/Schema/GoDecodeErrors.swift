/// The error texts of the Go parsers kube-apiserver runs while decoding a body, ported closely
/// enough that the same bad value fails the same way with the same words. Each returns nil when
/// Go would accept the value.
enum GoDecodeErrors {
    // MARK: resource.Quantity

    static let quantityFormatWrong =
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    static let quantitySuffixWrong = "unable to parse quantity's suffix"
    static let quantityNumericWrong = "unable to parse numeric part of quantity"

    /// `resource.ParseQuantity` after `UnmarshalJSON`'s `strings.TrimSpace`.
    static func quantityError(_ text: String) -> String? {
        var text = text
        if let first = text.utf8.first, let last = text.utf8.last, first <= 0x20 || first >= 0x80 || last <= 0x20 || last >= 0x80 {
            text = String(trimmingGoSpace(text))
        }
        return text.withUTF8(quantityError(utf8:))
    }

    private static func quantityError(utf8 s: UnsafeBufferPointer<UInt8>) -> String? {
        if s.isEmpty { return quantityFormatWrong }
        var pos = 0
        var hasDigits = false
        func isDigit(_ i: Int) -> Bool { s[i] >= UInt8(ascii: "0") && s[i] <= UInt8(ascii: "9") }
        if s[0] == UInt8(ascii: "-") || s[0] == UInt8(ascii: "+") { pos = 1 }
        while pos < s.count, isDigit(pos) { pos += 1; hasDigits = true }
        if pos == s.count { return nil }
        if s[pos] == UInt8(ascii: ".") {
            pos += 1
            while pos < s.count, isDigit(pos) { pos += 1; hasDigits = true }
            if pos == s.count { return nil }
        }
        let suffixStart = pos
        while pos < s.count, isSuffixLetter(s[pos]) { pos += 1 }
        if pos < s.count, s[pos] == UInt8(ascii: "-") || s[pos] == UInt8(ascii: "+") { pos += 1 }
        while pos < s.count, isDigit(pos) { pos += 1 }
        if pos < s.count { return quantityFormatWrong }
        let suffix = String(decoding: UnsafeBufferPointer(rebasing: s[suffixStart...]), as: UTF8.self)
        // Go's exact int64 arithmetic cannot hold 2^50 and above, or a scale below 10^-9; its
        // fallback big-decimal parser then needs a digit, which "Pi" or ".e-12" lack.
        switch suffix {
        case "", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti": return nil
        case "Pi", "Ei": return hasDigits ? nil : quantityNumericWrong
        default:
            // A decimal exponent: e or E and an integer strconv.ParseInt accepts.
            guard suffix.count > 1, suffix.first == "e" || suffix.first == "E",
                  let exponent = Int64(suffix.dropFirst()) else { return quantitySuffixWrong }
            return !hasDigits && exponent < -9 ? quantityNumericWrong : nil
        }
    }

    private static func isSuffixLetter(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "i"), UInt8(ascii: "n"), UInt8(ascii: "u"),
             UInt8(ascii: "m"), UInt8(ascii: "k"), UInt8(ascii: "K"), UInt8(ascii: "M"), UInt8(ascii: "G"),
             UInt8(ascii: "T"), UInt8(ascii: "P"): return true
        default: return false
        }
    }

    /// Go's `strings.TrimSpace`: Unicode White_Space at both ends.
    private static func trimmingGoSpace(_ s: String) -> Substring {
        let scalars = s.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return Substring(scalars[first...last])
    }

    // MARK: time.Parse

    /// `time.Parse(time.RFC3339, s)` (metav1.Time) or `time.Parse(metav1.RFC3339Micro, s)`
    /// (metav1.MicroTime). Every update carries timestamps, so the usual form is checked
    /// without allocating; anything else goes through a port of Go's layout-driven parser,
    /// whose error names the layout element that failed (`cannot parse "x" as "2006"`).
    static func timeError(_ text: String, micro: Bool) -> String? {
        var text = text
        if text.withUTF8({ isPlainTimestamp($0, micro: micro) }) { return nil }
        return parseTimeError(text, micro: micro)
    }

    /// `2006-01-02T15:04:05[.999…]Z` or with a `±hh:mm` offset, two-digit fields in range:
    /// a subset of what the parser below accepts.
    private static func isPlainTimestamp(_ b: UnsafeBufferPointer<UInt8>, micro: Bool) -> Bool {
        func isDigit(_ i: Int) -> Bool { i < b.count && b[i] &- UInt8(ascii: "0") < 10 }
        func number(_ i: Int, _ n: Int) -> Int? {
            guard i + n <= b.count else { return nil }
            var x = 0
            for j in i..<(i + n) {
                guard isDigit(j) else { return nil }
                x = x * 10 + Int(b[j] - UInt8(ascii: "0"))
            }
            return x
        }
        func isFractionMark(_ i: Int) -> Bool { i < b.count && (b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: ",")) }
        guard b.count >= 20, let year = number(0, 4), b[4] == UInt8(ascii: "-"),
              let month = number(5, 2), month >= 1, month <= 12, b[7] == UInt8(ascii: "-"),
              let day = number(8, 2), day >= 1, day <= daysIn(month: month, year: year), b[10] == UInt8(ascii: "T"),
              let hour = number(11, 2), hour < 24, b[13] == UInt8(ascii: ":"),
              let minute = number(14, 2), minute < 60, b[16] == UInt8(ascii: ":"),
              let second = number(17, 2), second < 60
        else { return false }
        var i = 19
        if micro {
            guard isFractionMark(i), number(i + 1, 6) != nil else { return false }
            i += 7
        } else if isFractionMark(i), isDigit(i + 1) {
            i += 2
            while isDigit(i) { i += 1 }
        }
        if i + 1 == b.count, b[i] == UInt8(ascii: "Z") { return true }
        guard i + 6 == b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"),
              let h = number(i + 1, 2), h <= 24, b[i + 3] == UInt8(ascii: ":"), let m = number(i + 4, 2), m <= 60
        else { return false }
        return true
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private static func parseTimeError(_ text: String, micro: Bool) -> String? {
        enum Element { case year, month, day, hour, minute, second, micros, zone }
        let layout = micro ? "2006-01-02T15:04:05.000000Z07:00" : "2006-01-02T15:04:05Z07:00"
        var chunks: [(prefix: String, element: Element, std: String)] = [
            ("", .year, "2006"), ("-", .month, "01"), ("-", .day, "02"), ("T", .hour, "15"),
            (":", .minute, "04"), (":", .second, "05"),
        ]
        if micro { chunks.append(("", .micros, ".000000")) }
        chunks.append(("", .zone, "Z07:00"))

        let bytes = Array(text.utf8)
        var value = bytes[...]
        func parseError(_ elementValue: ArraySlice<UInt8>, _ std: String) -> String {
            "parsing time \(timeQuote(bytes[...])) as \(timeQuote(Array(layout.utf8)[...])): cannot parse "
                + "\(timeQuote(elementValue)) as \(timeQuote(Array(std.utf8)[...]))"
        }
        func isDigit(_ s: ArraySlice<UInt8>, _ i: Int) -> Bool {
            s.count > i && s[s.startIndex + i] >= UInt8(ascii: "0") && s[s.startIndex + i] <= UInt8(ascii: "9")
        }
        /// One digit, or two (`fixed` demands two).
        func number(_ s: inout ArraySlice<UInt8>, fixed: Bool) -> Int? {
            guard isDigit(s, 0) else { return nil }
            let first = Int(s[s.startIndex] - UInt8(ascii: "0"))
            guard isDigit(s, 1) else {
                if fixed { return nil }
                s = s.dropFirst()
                return first
            }
            let n = first * 10 + Int(s[s.startIndex + 1] - UInt8(ascii: "0"))
            s = s.dropFirst(2)
            return n
        }
        /// Go's atoi: an optional sign, then only digits (none at all reads as 0).
        func atoi(_ s: ArraySlice<UInt8>) -> Int? {
            var s = s
            var negative = false
            if let c = s.first, c == UInt8(ascii: "-") || c == UInt8(ascii: "+") {
                negative = c == UInt8(ascii: "-")
                s = s.dropFirst()
            }
            var x = 0
            for c in s {
                guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
                x = x &* 10 &+ Int(c - UInt8(ascii: "0"))
            }
            return negative ? -x : x
        }

        var year = 0, month = -1, day = -1
        for (index, chunk) in chunks.enumerated() {
            for p in chunk.prefix.utf8 {
                guard value.first == p else { return parseError(value, chunk.prefix) }
                value = value.dropFirst()
            }
            let hold = value
            var bad = false
            var outOfRange: String?
            switch chunk.element {
            case .year:
                if value.count < 4 || !isDigit(value, 0) {
                    bad = true
                } else if let y = atoi(value.prefix(4)) {
                    year = y
                    value = value.dropFirst(4)
                } else {
                    bad = true
                }
            case .month:
                if let m = number(&value, fixed: true) {
                    month = m
                    if m <= 0 || m > 12 { outOfRange = "month" }
                } else { bad = true }
            case .day:
                if let d = number(&value, fixed: true) { day = d } else { bad = true }
            case .hour:
                if let h = number(&value, fixed: false) {
                    if h >= 24 { outOfRange = "hour" }
                } else { bad = true }
            case .minute:
                if let m = number(&value, fixed: true) {
                    if m >= 60 { outOfRange = "minute" }
                } else { bad = true }
            case .second:
                guard let sec = number(&value, fixed: true) else { bad = true; break }
                if sec >= 60 { outOfRange = "second"; break }
                // A fraction the layout does not ask for is accepted and skipped.
                let nextIsFraction = index + 1 < chunks.count && chunks[index + 1].element == .micros
                if !nextIsFraction, value.count >= 2, value.first == UInt8(ascii: ".") || value.first == UInt8(ascii: ","),
                   isDigit(value, 1) {
                    var n = 2
                    while isDigit(value, n) { n += 1 }
                    value = value.dropFirst(n)
                }
            case .micros:
                guard value.count >= 7, value.first == UInt8(ascii: ".") || value.first == UInt8(ascii: ",") else {
                    bad = true
                    break
                }
                guard let fraction = atoi(value.dropFirst().prefix(6)) else { bad = true; break }
                if fraction < 0 { outOfRange = "fractional second" }
                value = value.dropFirst(7)
            case .zone:
                if value.first == UInt8(ascii: "Z") {
                    value = value.dropFirst()
                    break
                }
                guard value.count >= 6, value[value.startIndex + 3] == UInt8(ascii: ":") else { bad = true; break }
                let sign = value[value.startIndex]
                var hh = value.dropFirst().prefix(2), mm = value.dropFirst(4).prefix(2)
                value = value.dropFirst(6)
                guard let h = number(&hh, fixed: true), let m = number(&mm, fixed: true) else { bad = true; break }
                if h > 24 { outOfRange = "time zone offset hour" }
                if m > 60 { outOfRange = "time zone offset minute" }
                if sign != UInt8(ascii: "+") && sign != UInt8(ascii: "-") { bad = true }
            }
            if let outOfRange { return "parsing time \(timeQuote(bytes[...])): \(outOfRange) out of range" }
            if bad { return parseError(hold, chunk.std) }
        }
        if !value.isEmpty { return "parsing time \(timeQuote(bytes[...])): extra text: \(timeQuote(value))" }
        if day < 1 || day > daysIn(month: month, year: year) { return "parsing time \(timeQuote(bytes[...])): day out of range" }
        return nil
    }

    /// The time package's own quoting: every byte outside printable ASCII as \xNN.
    private static func timeQuote(_ s: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        let hex = Array("0123456789abcdef".utf8)
        for b in s {
            if b >= 0x80 || b < 0x20 {
                out += [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            } else {
                if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: encoding/base64

    /// `base64.StdEncoding.Decode`, which []byte fields (Secret data) go through: the offset in
    /// `illegal base64 data at input byte N` follows Go's quantum-by-quantum decoder, which
    /// skips line breaks and accepts padding only at the end.
    static func base64Error(_ text: String) -> String? {
        var text = text
        return text.withUTF8(base64Error(utf8:))
    }

    private static func base64Error(utf8 src: UnsafeBufferPointer<UInt8>) -> String? {
        func corrupt(_ offset: Int) -> String { "illegal base64 data at input byte \(offset)" }
        func isAlphabet(_ c: UInt8) -> Bool {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"): return true
            default: return false
            }
        }
        func isNewline(_ c: UInt8) -> Bool { c == 0x0A || c == 0x0D }
        var si = 0
        while si < src.count {
            var j = 0
            while j < 4 {
                if si == src.count {
                    if j == 0 { return nil }
                    return corrupt(si - j)  // padding is required
                }
                let c = src[si]
                si += 1
                if isAlphabet(c) { j += 1; continue }
                if isNewline(c) { continue }
                guard c == UInt8(ascii: "=") else { return corrupt(si - 1) }
                switch j {
                case 0, 1: return corrupt(si - 1)
                case 2:
                    while si < src.count, isNewline(src[si]) { si += 1 }
                    if si == src.count { return corrupt(src.count) }
                    if src[si] != UInt8(ascii: "=") { return corrupt(si - 1) }
                    si += 1
                default: break
                }
                while si < src.count, isNewline(src[si]) { si += 1 }
                return si < src.count ? corrupt(si) : nil
            }
        }
        return nil
    }
}

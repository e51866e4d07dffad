/// IP address and CIDR syntax as Go's net package parses it in kube-apiserver's legacy
/// ("sloppy") mode, which 1.34 still uses for Service addresses: IPv4 octets may have leading zeros.
enum IPAddressFormat {
    static let ipMessage = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
    static let cidrMessage = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"

    static func isIPv4(_ text: Substring) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCIIDigitCharacter) && Int(part)! <= 255
        }
    }

    static func isIPv6(_ text: Substring) -> Bool {
        guard text.contains(":") else { return false }
        var groups = 0
        var text = text
        // A trailing IPv4 part counts as two groups.
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard isIPv4(text[text.index(after: lastColon)...]) else { return false }
            groups += 2
            text = text[...lastColon]
            if text.hasSuffix(":") && !text.hasSuffix("::") { text = text.dropLast() }
        }
        let halves = text.components(separatedByDoubleColon: ())
        guard halves.count <= 2 else { return false }
        for half in halves where !half.isEmpty {
            for group in half.split(separator: ":", omittingEmptySubsequences: false) {
                guard (1...4).contains(group.count), group.allSatisfy(\.isHexDigit) else { return false }
                groups += 1
            }
        }
        return halves.count == 2 ? groups < 8 : groups == 8
    }

    static func isIP(_ text: String) -> Bool { isIPv4(Substring(text)) || isIPv6(Substring(text)) }

    static func isCIDR(_ text: String) -> Bool {
        guard let slash = text.firstIndex(of: "/") else { return false }
        let address = text[..<slash], bits = text[text.index(after: slash)...]
        guard !bits.isEmpty, bits.count <= 3, bits.allSatisfy(\.isASCIIDigitCharacter), let prefix = Int(bits) else { return false }
        if isIPv4(address) { return prefix <= 32 }
        return isIPv6(address) && prefix <= 128
    }
}

private extension Character {
    var isASCIIDigitCharacter: Bool { ("0"..."9").contains(self) }
}

private extension Substring {
    /// Splits at "::" only (a single ":" stays inside the halves).
    func components(separatedByDoubleColon _: Void) -> [Substring] {
        var halves: [Substring] = []
        var start = startIndex
        var i = startIndex
        while i < endIndex {
            let next = index(after: i)
            if self[i] == ":", next < endIndex, self[next] == ":" {
                halves.append(self[start..<i])
                i = index(after: next)
                start = i
            } else {
                i = next
            }
        }
        halves.append(self[start..<endIndex])
        return halves
    }
}

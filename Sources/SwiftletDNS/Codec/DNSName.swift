/// A domain name as its wire labels, kept byte for byte as received so that answers echo the asker's spelling
/// (DNS compares names case-insensitively, but clients such as those using 0x20 randomisation check the echo).
struct DNSName: Sendable, Hashable, CustomStringConvertible {
    static let maxWireLength = 255

    var labels: [[UInt8]]

    init(labels: [[UInt8]]) {
        self.labels = labels
    }

    /// A name we build ourselves (Service names, the cluster domain); a trailing dot is optional.
    init(_ text: String) {
        labels = text.split(separator: ".").map { Array($0.utf8) }
    }

    /// The lowercased dotted form without the final dot: how names are looked up. Dots and backslashes inside a
    /// label are escaped so a label can never pose as two.
    var key: String { Self.key(of: labels[...]) }

    var description: String { labels.isEmpty ? "." : Self.text(of: labels[...], lowercased: false) + "." }

    /// Whether the name can be written at all: not the root, labels of 1 to 63 bytes, at most 255 bytes in all.
    var isWritable: Bool {
        !labels.isEmpty && labels.allSatisfy { (1...63).contains($0.count) }
            && labels.reduce(1, { $0 + $1.count + 1 }) <= Self.maxWireLength
    }

    func hasSuffix(_ suffix: DNSName) -> Bool {
        guard suffix.labels.count <= labels.count else { return false }
        return zip(labels.suffix(suffix.labels.count), suffix.labels).allSatisfy(Self.labelsEqual)
    }

    /// The lowercased keys of the labels before `suffix` (which the caller knows this name ends with).
    func relativeKeys(above suffix: DNSName) -> [String] {
        labels.prefix(labels.count - suffix.labels.count).map { Self.key(of: [$0][...]) }
    }

    /// `name` with `prefix` (our own dotted text) put in front.
    func prepending(_ prefix: String) -> DNSName {
        DNSName(labels: DNSName(prefix).labels + labels)
    }

    static func == (lhs: DNSName, rhs: DNSName) -> Bool {
        lhs.labels.count == rhs.labels.count && zip(lhs.labels, rhs.labels).allSatisfy(labelsEqual)
    }

    func hash(into hasher: inout Hasher) {
        for label in labels {
            hasher.combine(label.count)
            for byte in label { hasher.combine(Self.lowercased(byte)) }
        }
    }

    static func key(of labels: ArraySlice<[UInt8]>) -> String { text(of: labels, lowercased: true) }

    private static func text(of labels: ArraySlice<[UInt8]>, lowercased: Bool) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(labels.reduce(0) { $0 + $1.count + 1 })
        for label in labels {
            if !bytes.isEmpty { bytes.append(UInt8(ascii: ".")) }
            for byte in label {
                switch byte {
                case UInt8(ascii: "."), UInt8(ascii: "\\"):
                    bytes.append(UInt8(ascii: "\\"))
                    bytes.append(byte)
                case 0x21...0x7E:
                    bytes.append(lowercased ? Self.lowercased(byte) : byte)
                default:
                    // RFC 4343 §2.1 escaping: \DDD, decimal.
                    bytes.append(UInt8(ascii: "\\"))
                    bytes.append(contentsOf: [byte / 100, byte / 10 % 10, byte % 10].map { $0 + UInt8(ascii: "0") })
                }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func labelsEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { lowercased($0) == lowercased($1) }
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        (0x41...0x5A).contains(byte) ? byte | 0x20 : byte
    }
}

import Crypto

/// A content digest, `sha256:` and 64 lowercase hex digits: the name of every blob and layer.
/// Other algorithms are refused (registries and image tools use sha256 throughout).
public struct Digest: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    /// The 64 hex digits.
    public let hex: String

    public init?(_ text: String) {
        guard text.hasPrefix("sha256:") else { return nil }
        let hex = text.dropFirst(7)
        guard hex.utf8.count == 64,
              hex.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) })
        else { return nil }
        self.hex = String(hex)
    }

    public init(hashing bytes: some Sequence<UInt8>) {
        var hasher = DigestHasher()
        hasher.update(Array(bytes))
        self = hasher.finalize()
    }

    init(hex: String) { self.hex = hex }

    public var description: String { "sha256:" + hex }

    /// The first 12 hex digits, as image tools show ids.
    public var short: String { String(hex.prefix(12)) }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let digest = Digest(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "invalid digest \"\(text)\""))
        }
        self = digest
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public static func < (a: Digest, b: Digest) -> Bool { a.hex < b.hex }
}

/// sha256 over a stream of chunks.
public struct DigestHasher: Sendable {
    private var hasher = SHA256()
    public private(set) var count: Int64 = 0

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
        count += Int64(bytes.count)
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public func finalize() -> Digest {
        var hex = ""
        hex.reserveCapacity(64)
        for byte in hasher.finalize() {
            hex.append(Self.digits[Int(byte >> 4)])
            hex.append(Self.digits[Int(byte & 0x0f)])
        }
        return Digest(hex: hex)
    }

    private static let digits = Array("0123456789abcdef")
}

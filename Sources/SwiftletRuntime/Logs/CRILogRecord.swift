/// One record of a CRI log file, `<time> <stdout|stderr> <tag> <content>`, where the tag is F
/// for a record that ends its line or P for one whose line continues in the next record.
struct CRILogRecord {
    /// The time as written (RFC3339Nano).
    let timestamp: ArraySlice<UInt8>
    let stream: ContainerLogStream
    let isPartial: Bool
    let content: ArraySlice<UInt8>

    private static let space = UInt8(ascii: " ")

    /// Parses a record without its trailing newline, as the kubelet's `parseCRILog` does;
    /// nil for anything else.
    init?(_ line: ArraySlice<UInt8>) {
        guard let timeEnd = line.firstIndex(of: Self.space) else { return nil }
        let afterTime = line[(timeEnd + 1)...]
        guard let streamEnd = afterTime.firstIndex(of: Self.space) else { return nil }
        let stream = afterTime[..<streamEnd]
        guard stream.elementsEqual("stdout".utf8) || stream.elementsEqual("stderr".utf8) else { return nil }
        let afterStream = afterTime[(streamEnd + 1)...]
        guard let tagEnd = afterStream.firstIndex(of: Self.space) else { return nil }
        // Tags are `:`-separated for forward compatibility; the first one says partial or full.
        let firstTag = afterStream[..<tagEnd].split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false).first ?? []
        timestamp = line[..<timeEnd]
        self.stream = stream.elementsEqual("stdout".utf8) ? .stdout : .stderr
        isPartial = firstTag.elementsEqual([UInt8(ascii: "P")])
        content = afterStream[(tagEnd + 1)...]
    }
}

import Foundation
import SwiftletMachinery

/// Turns CRI log records into what `kubectl logs` prints, as the kubelet's log writer does:
/// records older than `sinceTime` are skipped, partial records are joined into their line,
/// `timestamps` puts the time before each line (not before each continuation), and output
/// stops after `limitBytes`. stdout and stderr go to one stream, as the kubelet serves them.
struct LogRenderer {
    let options: ContainerLogOptions
    private var remaining: Int
    private var atLineStart = true

    init(_ options: ContainerLogOptions) {
        self.options = options
        remaining = options.limitBytes ?? .max
    }

    /// True once `limitBytes` have been produced: nothing more will be.
    var isFull: Bool { remaining <= 0 }

    /// Appends the rendering of one record (a line of the file without its newline).
    mutating func render(_ line: ArraySlice<UInt8>, into out: inout [UInt8]) {
        guard !isFull, let record = CRILogRecord(line) else { return }
        if let stream = options.stream, record.stream != stream { return }
        let startsLine = atLineStart
        atLineStart = !record.isPartial
        if let since = options.sinceTime {
            guard let time = RFC3339.date(from: String(decoding: record.timestamp, as: UTF8.self)), time >= since else { return }
        }
        var rendered = [UInt8]()
        if options.timestamps, startsLine {
            rendered += record.timestamp
            rendered.append(UInt8(ascii: " "))
        }
        rendered += record.content
        if !record.isPartial { rendered.append(UInt8(ascii: "\n")) }
        let count = min(rendered.count, remaining)
        out += rendered[0..<count]
        remaining -= count
    }
}

import Glibc

/// The container's log file in the CRI format the kubelet reads:
/// `<RFC3339Nano time> <stdout|stderr> <F|P> <text>\n`, with P marking a line that continues in
/// the next record. Rotated by size: the current file is renamed to `<path>.1` (replacing the
/// previous one) and a new file is started, so at most two files exist.
struct CRILogFile {
    let path: String
    let maxBytes: Int
    private var fd: Int32
    private var size: Int

    init?(path: String, maxBytes: Int) {
        self.path = path
        self.maxBytes = maxBytes
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else { return nil }
        var info = stat()
        size = fstat(fd, &info) == 0 ? Int(info.st_size) : 0
    }

    /// Writes one record with a single write(2), so a reader never sees half of it unless the
    /// disk is full.
    mutating func append(stream: OutputStream, partial: Bool, text: ArraySlice<UInt8>, time: [UInt8]) {
        var record = time
        record.reserveCapacity(time.count + 10 + text.count)
        record.append(UInt8(ascii: " "))
        record += stream.name
        record.append(UInt8(ascii: " "))
        record.append(partial ? UInt8(ascii: "P") : UInt8(ascii: "F"))
        record.append(UInt8(ascii: " "))
        record += text
        record.append(UInt8(ascii: "\n"))
        if size > 0, size + record.count > maxBytes { rotate() }
        Syscalls.writeAll(fd, record)
        size += record.count
    }

    private mutating func rotate() {
        rename(path, path + ".1")
        let fresh = open(path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0o640)
        // If the new file cannot be created, keep writing to the renamed one rather than dropping output.
        guard fresh >= 0 else { return }
        Glibc.close(fd)
        fd = fresh
        size = 0
    }

    func close() { Glibc.close(fd) }
}

/// Which of the container's output streams a record came from.
enum OutputStream {
    case stdout, stderr

    var name: [UInt8] { self == .stdout ? Array("stdout".utf8) : Array("stderr".utf8) }
}

/// Cuts one stream's bytes into log records: each complete line becomes an F record, and a line
/// longer than `maxLineBytes` is split into P records first, so memory stays bounded whatever
/// the container writes. Text without a newline waits for the rest of its line (or end of file),
/// as containerd does.
struct LineSplitter {
    static let maxLineBytes = 16 * 1024
    private(set) var pending = [UInt8]()

    mutating func feed(_ bytes: ArraySlice<UInt8>, emit: (_ text: ArraySlice<UInt8>, _ partial: Bool) -> Void) {
        var rest = bytes
        while let newline = rest.firstIndex(of: UInt8(ascii: "\n")) {
            let piece = rest[rest.startIndex..<newline]
            rest = rest[(newline + 1)...]
            if pending.isEmpty {
                emitBounded(piece, emit: emit)
            } else {
                pending += piece
                let line = pending
                pending.removeAll(keepingCapacity: true)
                emitBounded(line[...], emit: emit)
            }
        }
        pending += rest
        while pending.count >= Self.maxLineBytes {
            emit(pending[0..<Self.maxLineBytes], true)
            pending.removeFirst(Self.maxLineBytes)
        }
    }

    /// At end of file whatever is left is a last, unterminated line.
    mutating func finish(emit: (_ text: ArraySlice<UInt8>, _ partial: Bool) -> Void) {
        guard !pending.isEmpty else { return }
        emit(pending[...], false)
        pending.removeAll()
    }

    private func emitBounded(_ line: ArraySlice<UInt8>, emit: (ArraySlice<UInt8>, Bool) -> Void) {
        var start = line.startIndex
        while line.endIndex - start > Self.maxLineBytes {
            emit(line[start..<(start + Self.maxLineBytes)], true)
            start += Self.maxLineBytes
        }
        emit(line[start...], false)
    }
}

import Glibc

/// An open log file, read by offset so that the shim can keep appending (and rotating) while
/// it is read.
final class LogFile {
    let fd: Int32

    init?(path: String) {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
    }

    deinit { close(fd) }

    var size: Int {
        var info = stat()
        return fstat(fd, &info) == 0 ? Int(info.st_size) : 0
    }

    /// Whether `path` now names another file than this one (the shim rotated it).
    func isReplaced(at path: String) -> Bool {
        var own = stat()
        var named = stat()
        guard fstat(fd, &own) == 0 else { return true }
        guard stat(path, &named) == 0 else { return false }
        return own.st_ino != named.st_ino || own.st_dev != named.st_dev
    }

    func read(at offset: Int, count: Int) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
        return n > 0 ? Array(buffer[0..<n]) : []
    }

    /// Calls `body` with the offset of every record's start, last record first, until it
    /// returns false. A last record without its newline (still being written) counts too.
    func forEachRecordStartBackward(_ body: (Int) -> Bool) {
        let size = size
        guard size > 0 else { return }
        var chunkEnd = read(at: size - 1, count: 1) == [UInt8(ascii: "\n")] ? size - 1 : size
        while chunkEnd > 0 {
            let chunkStart = max(0, chunkEnd - 64 * 1024)
            let chunk = read(at: chunkStart, count: chunkEnd - chunkStart)
            guard chunk.count == chunkEnd - chunkStart else { return }
            for i in chunk.indices.reversed() where chunk[i] == UInt8(ascii: "\n") {
                guard body(chunkStart + i + 1) else { return }
            }
            chunkEnd = chunkStart
        }
        _ = body(0)
    }

    /// Whether the record starting at `offset` is a partial (P) one; its first bytes hold the
    /// time, stream and tag.
    func isPartialRecord(at offset: Int) -> Bool {
        CRILogRecord(read(at: offset, count: 96)[...])?.isPartial ?? false
    }
}

/// Reads a log file's complete records from an offset on, remembering where it stopped; an
/// unfinished last record waits until its newline has been written.
struct RecordCursor {
    let file: LogFile
    private(set) var offset: Int
    private var pending = [UInt8]()

    init(file: LogFile, offset: Int) {
        self.file = file
        self.offset = offset
    }

    /// Passes each complete record (without its newline) to `body`; returns whether anything
    /// new was read.
    @discardableResult
    mutating func readAvailable(_ body: (ArraySlice<UInt8>) -> Void) -> Bool {
        var readAny = false
        while true {
            let chunk = file.read(at: offset, count: 64 * 1024)
            guard !chunk.isEmpty else { return readAny }
            readAny = true
            offset += chunk.count
            var data = pending.isEmpty ? chunk[...] : (pending + chunk)[...]
            pending = []
            while let newline = data.firstIndex(of: UInt8(ascii: "\n")) {
                body(data[data.startIndex..<newline])
                data = data[(newline + 1)...]
            }
            pending = Array(data)
        }
    }

    /// Hands over an unfinished last record, for a file that will not grow any more.
    mutating func flushUnfinished(_ body: (ArraySlice<UInt8>) -> Void) {
        guard !pending.isEmpty else { return }
        body(pending[...])
        pending = []
    }
}

import Foundation

/// Reads a container's CRI log file, and the one rotated before it (`<path>.1`), into what
/// `kubectl logs` shows. Unlike the kubelet, which reads only the current file, lines from the
/// rotated file are included, so a rotation does not make recent lines vanish.
public struct ContainerLogReader: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public var rotatedPath: String { path + ".1" }

    /// Everything selected by `options`, read now.
    public func read(_ options: ContainerLogOptions = ContainerLogOptions()) -> [UInt8] {
        var renderer = LogRenderer(options)
        var out = [UInt8]()
        for var cursor in startCursors(tailLines: options.tailLines) {
            cursor.readAvailable { renderer.render($0, into: &out) }
            cursor.flushUnfinished { renderer.render($0, into: &out) }
            if renderer.isFull { break }
        }
        return out
    }

    /// What `read` returns, then whatever is appended as the container runs, across rotations.
    /// Ends once `isRunning` says the container has stopped and the file is drained, when
    /// `limitBytes` are reached, or when the consumer stops iterating.
    public func follow(_ options: ContainerLogOptions = ContainerLogOptions(), pollInterval: Duration = .milliseconds(100),
                       isRunning: @escaping @Sendable () -> Bool) -> AsyncStream<[UInt8]> {
        let (stream, continuation) = AsyncStream.makeStream(of: [UInt8].self)
        let task = Task {
            await followLoop(options, pollInterval: pollInterval, isRunning: isRunning) { continuation.yield($0) }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private func followLoop(_ options: ContainerLogOptions, pollInterval: Duration, isRunning: @Sendable () -> Bool,
                            emit: ([UInt8]) -> Void) async {
        var renderer = LogRenderer(options)
        var cursors = startCursors(tailLines: options.tailLines)
        // A rotated file no longer grows: read it whole, then follow the current one.
        while cursors.count > 1 {
            var out = [UInt8]()
            cursors[0].readAvailable { renderer.render($0, into: &out) }
            cursors[0].flushUnfinished { renderer.render($0, into: &out) }
            if !out.isEmpty { emit(out) }
            cursors.removeFirst()
        }
        var cursor = cursors.first
        while !renderer.isFull, !Task.isCancelled {
            if cursor == nil, let file = LogFile(path: path) { cursor = RecordCursor(file: file, offset: 0) }
            var out = [UInt8]()
            let grew = cursor?.readAvailable { renderer.render($0, into: &out) } ?? false
            if !out.isEmpty { emit(out) }
            if grew { continue }

            if let current = cursor, current.file.isReplaced(at: path) {
                // Rotated: take what was written to the old file after our last read, then switch.
                var old = current
                var rest = [UInt8]()
                old.readAvailable { renderer.render($0, into: &rest) }
                old.flushUnfinished { renderer.render($0, into: &rest) }
                if !rest.isEmpty { emit(rest) }
                cursor = LogFile(path: path).map { RecordCursor(file: $0, offset: 0) }
                continue
            }
            if !isRunning() {
                // The shim records the exit only after writing all output: one more read gets the rest.
                var last = [UInt8]()
                cursor?.readAvailable { renderer.render($0, into: &last) }
                cursor?.flushUnfinished { renderer.render($0, into: &last) }
                if !last.isEmpty { emit(last) }
                return
            }
            do { try await Task.sleep(for: pollInterval) } catch { return }
        }
    }

    /// Cursors over the files to read, oldest first, positioned at the first record of the
    /// last `tailLines` lines (a line's partial records and its final one count as one line).
    private func startCursors(tailLines: Int?) -> [RecordCursor] {
        let files = [LogFile(path: rotatedPath), LogFile(path: path)].compactMap { $0 }
        guard let tailLines else { return files.map { RecordCursor(file: $0, offset: 0) } }
        guard let last = files.last else { return [] }
        guard tailLines > 0 else { return [RecordCursor(file: last, offset: last.size)] }

        var lineEnds = 0
        var isLastRecord = true
        // Where the records seen so far (the newest ones) begin.
        var start: (file: Int, offset: Int) = (files.count - 1, last.size)
        var found = false
        for index in files.indices.reversed() where !found {
            files[index].forEachRecordStartBackward { offset in
                if isLastRecord || !files[index].isPartialRecord(at: offset) { lineEnds += 1 }
                isLastRecord = false
                // This record ends the line before the ones wanted: they start after it.
                if lineEnds > tailLines {
                    found = true
                    return false
                }
                start = (index, offset)
                return true
            }
        }
        return files.indices.filter { $0 >= start.file }.map {
            RecordCursor(file: files[$0], offset: $0 == start.file ? start.offset : 0)
        }
    }
}

import CZlib

/// One row of `SQLiteStore`'s log table, and its checksum.
///
/// The checksum is a CRC-32 over every column but itself, so a byte flipped anywhere in the
/// stored record (the value, the key, the revisions, the flags) is caught when the row is
/// read, instead of being served as an object or taken for another key's history.
struct LogRow {
    var id: Int64
    var key: String
    var created: Bool
    var deleted: Bool
    var createRevision: Int64
    var prevRevision: Int64
    var value: [UInt8]

    /// The column list every query that reads whole rows selects, in `init(reading:)`'s order.
    static let columns = "id, key, created, deleted, create_revision, prev_revision, value, crc"

    init(id: Int64, key: String, created: Bool, deleted: Bool, createRevision: Int64, prevRevision: Int64, value: [UInt8]) {
        self.id = id
        self.key = key
        self.created = created
        self.deleted = deleted
        self.createRevision = createRevision
        self.prevRevision = prevRevision
        self.value = value
    }

    /// The row `statement` is on, unchecked (for computing checksums of rows that have none).
    init(reading statement: SQLiteStatement) {
        self.init(id: statement.int64(0), key: statement.string(1), created: statement.bool(2), deleted: statement.bool(3),
                  createRevision: statement.int64(4), prevRevision: statement.int64(5), value: statement.bytes(6))
    }

    /// The row `statement` is on, if its stored checksum matches; `.corrupt` otherwise, naming
    /// `file` when given.
    init(checking statement: SQLiteStatement, in file: String?) throws(StoreError) {
        self.init(reading: statement)
        let stored = statement.optionalInt64(7)
        guard stored == checksum else {
            let problem = "the row of \(key) at revision \(id) fails its checksum (stored \(stored.map(String.init) ?? "none"), computed \(checksum))"
            throw .corrupt(file.map { "\($0) is damaged: \(problem)" } ?? problem)
        }
    }

    var keyValue: KeyValue {
        KeyValue(key: key, value: value, createRevision: createRevision, modRevision: id)
    }

    var checksum: Int64 {
        var crc = crc32(0, nil, 0)
        // zlib treats a null buffer as "give me the initial value" and returns 0, so empty
        // pieces (a delete marker's value) are skipped rather than passed.
        func add(_ bytes: UnsafeRawBufferPointer) {
            guard let base = bytes.baseAddress, bytes.count > 0 else { return }
            crc = crc32(crc, base.assumingMemoryBound(to: UInt8.self), UInt32(bytes.count))
        }
        var key = self.key
        for field in [id, createRevision, prevRevision, Int64(key.utf8.count)] {
            withUnsafeBytes(of: field.littleEndian, add)
        }
        withUnsafeBytes(of: (created ? 1 : 0, deleted ? 1 : 0) as (UInt8, UInt8), add)
        key.withUTF8 { add(UnsafeRawBufferPointer($0)) }
        value.withUnsafeBytes(add)
        return Int64(crc)
    }
}

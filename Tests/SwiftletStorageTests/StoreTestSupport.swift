import Foundation
import Synchronization
import Testing
@testable import SwiftletStorage

/// The drivers every behavioral test runs against.
enum Driver: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case memory, sqlite
    var testDescription: String { rawValue }
}

/// A store plus whatever it needs removed afterwards.
final class TestStore {
    let store: any Store
    let directory: URL?

    init(_ driver: Driver) throws {
        switch driver {
        case .memory:
            store = MemoryStore()
            directory = nil
        case .sqlite:
            let dir = makeTemporaryDirectory()
            directory = dir
            store = try SQLiteStore(path: dir.appendingPathComponent("state.db").path)
        }
    }

    deinit {
        store.close()
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }
}

func makeTemporaryDirectory() -> URL {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("swiftlet-storage-tests-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// An `encode` closure storing `text`.
func value(_ text: String) -> (Int64) throws -> [UInt8] {
    { _ in Array(text.utf8) }
}

func text(_ kv: KeyValue?) -> String? {
    kv.map { String(decoding: $0.value, as: UTF8.self) }
}

/// Collects watch events from any thread.
final class Collector: Sendable {
    private let events = Mutex<[StoreEvent]>([])

    var handler: @Sendable (StoreEvent) -> Void {
        { [self] event in events.withLock { $0.append(event) } }
    }

    var all: [StoreEvent] { events.withLock { $0 } }
    var revisions: [Int64] { all.map(\.revision) }
    var summary: [String] {
        all.map { e in "\(e.kind) \(e.kv.key)=\(text(e.kv) ?? "") @\(e.revision)" }
    }
}

struct EncodeFailure: Error {}

/// Runs `body` and returns the `StoreError` it threw (nil if it did not throw). The closure is
/// untyped because closures are inferred to throw `any Error`; anything but a `StoreError`
/// fails the test.
func storeError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> StoreError? {
    do {
        try body()
        return nil
    } catch let error as StoreError {
        return error
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

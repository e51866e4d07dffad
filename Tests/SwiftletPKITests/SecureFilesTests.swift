import Foundation
import SwiftletPKI
import Testing

@Suite struct SecureFilesTests {
    @Test func createDirectoryAppliesModeOnlyToWhatItCreates() async throws {
        try await withTemporaryDirectory { root in
            try SecureFiles.createDirectory(root + "/shared", mode: 0o755)
            try SecureFiles.createDirectory(root + "/shared/a/b", mode: 0o700)
            #expect(try SecureFiles.mode(of: root + "/shared") == 0o755)
            #expect(try SecureFiles.mode(of: root + "/shared/a") == 0o700)
            #expect(try SecureFiles.mode(of: root + "/shared/a/b") == 0o700)
            // Idempotent.
            try SecureFiles.createDirectory(root + "/shared/a/b", mode: 0o700)
        }
    }

    @Test func createDirectoryRefusesAFileInTheWay() async throws {
        try await withTemporaryDirectory { root in
            try SecureFiles.writeAtomically(root + "/file", contents: "x")
            #expect(throws: FileSystemError.self) { try SecureFiles.createDirectory(root + "/file/sub") }
        }
    }

    @Test func atomicWriteSetsExactModeDespiteUmask() async throws {
        try await withTemporaryDirectory { root in
            let path = root + "/secret"
            try SecureFiles.writeAtomically(path, contents: "one", mode: 0o600)
            #expect(try SecureFiles.mode(of: path) == 0o600)
            try SecureFiles.writeAtomically(path, contents: "two", mode: 0o640)
            #expect(try SecureFiles.mode(of: path) == 0o640)
            #expect(try SecureFiles.readIfExists(path) == "two")
        }
    }

    @Test func readIfExistsDistinguishesMissing() async throws {
        try await withTemporaryDirectory { root in
            let missing = try SecureFiles.readIfExists(root + "/nope")
            #expect(missing == nil)
            // A directory is not readable as a file: that must be an error, not "missing".
            #expect(throws: FileSystemError.self) { _ = try SecureFiles.readIfExists(root) }
        }
    }
}

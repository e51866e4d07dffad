import Crypto
import Foundation
import Synchronization
import Testing
@testable import SwiftletStorage

/// Secrets at rest: what the store below holds, what readers see, and rotation.
@Suite struct EncryptedStoreTests {
    static let key = EncryptionConfiguration.Key(name: "k1", secret: Array(repeating: 7, count: 32))
    static let gcm = EncryptionConfiguration(resources: [(["/secrets/"], [.aesgcm([key]), .identity])])
    static let secret = Array(#"{"kind":"Secret","data":{"password":"aHVudGVyMg=="}}"#.utf8)

    @Test func valuesAreEncryptedBelowAndPlainAbove() throws {
        let base = MemoryStore()
        let store = EncryptedStore(base: base, configuration: Self.gcm)
        let events = Mutex<[StoreEvent]>([])
        let watch = try store.watch(prefix: "/secrets/", fromRevision: 0) { event in events.withLock { $0.append(event) } }
        defer { watch.cancel() }

        let created = try store.create("/secrets/default/s") { _ in Self.secret }
        #expect(created.value == Self.secret)
        let stored = try #require(try base.get("/secrets/default/s")).value
        #expect(stored.starts(with: Array("k8s:enc:aesgcm:v1:k1:".utf8)))
        #expect(!String(decoding: stored, as: UTF8.self).contains("aHVudGVyMg=="))
        #expect(try store.get("/secrets/default/s")?.value == Self.secret)
        #expect(try store.list(prefix: "/secrets/", revision: 0, startAfter: nil, limit: 0).items.map(\.value) == [Self.secret])
        #expect(events.withLock { $0.map(\.kv.value) } == [Self.secret])
        // Other resources are left as they are.
        try store.create("/configmaps/default/c") { _ in Array("{}".utf8) }
        #expect(try base.get("/configmaps/default/c")?.value == Array("{}".utf8))

        // A value is bound to its key: moved under another name, it does not decrypt.
        try base.create("/secrets/default/moved") { _ in stored }
        #expect(throws: StoreError.self) { try store.get("/secrets/default/moved") }
    }

    /// The header is read as bytes: a nonce that begins with a combining mark (U+0301, CC 81)
    /// once made the last colon part of one character with it, and the value unreadable.
    @Test func aNonceThatDecodesAsACombiningMarkStillDecrypts() throws {
        let nonce: [UInt8] = [0xCC, 0x81] + Array(repeating: 1, count: 10)
        let sealed = try AES.GCM.seal(Self.secret, using: SymmetricKey(data: Self.key.secret), nonce: AES.GCM.Nonce(data: nonce),
                                      authenticating: Array("/secrets/default/s".utf8))
        let stored = Array("k8s:enc:aesgcm:v1:k1:".utf8) + nonce + Array(sealed.ciphertext) + Array(sealed.tag)
        #expect(try Self.gcm.decrypt(stored, key: "/secrets/default/s") == Self.secret)
        #expect(throws: EncryptionConfiguration.Failure.self) { try Self.gcm.decrypt(Array("k8s:enc:aesgcm:v1".utf8), key: "/secrets/default/s") }
    }

    @Test func plaintextWrittenBeforeStillReadsAndRotationReencryptsIt() throws {
        let base = MemoryStore()
        try base.create("/secrets/default/old") { _ in Self.secret }
        let store = EncryptedStore(base: base, configuration: Self.gcm)
        #expect(try store.get("/secrets/default/old")?.value == Self.secret)
        #expect(try store.reencryptAll() == 1)
        #expect(try base.get("/secrets/default/old")?.value.starts(with: Array("k8s:enc:aesgcm:v1:k1:".utf8)) == true)

        // A new key in front: everything moves to it, and the old key is no longer needed.
        let newKey = EncryptionConfiguration.Key(name: "k2", secret: Array(repeating: 9, count: 32))
        let rotating = EncryptedStore(base: base, configuration: EncryptionConfiguration(resources: [
            (["/secrets/"], [.aesgcm([newKey, Self.key]), .identity]),
        ]))
        #expect(try rotating.reencryptAll() == 1)
        #expect(try rotating.reencryptAll() == 0)
        let after = EncryptedStore(base: base, configuration: EncryptionConfiguration(resources: [(["/secrets/"], [.aesgcm([newKey])])]))
        #expect(try after.get("/secrets/default/old")?.value == Self.secret)
    }

    @Test func aesCBCAndTheConfigurationFileRoundTrip() throws {
        let cbc = EncryptionConfiguration(resources: [(["/secrets/"], [.aescbc([Self.key])])])
        let store = EncryptedStore(base: MemoryStore(), configuration: cbc)
        try store.create("/secrets/a/b") { _ in Self.secret }
        #expect(try store.get("/secrets/a/b")?.value == Self.secret)
        #expect(try store.base.get("/secrets/a/b")?.value.starts(with: Array("k8s:enc:aescbc:v1:k1:".utf8)) == true)

        #expect(try EncryptionConfiguration.parse(Self.gcm.render()) == Self.gcm)
        let upstream = #"{"apiVersion":"apiserver.config.k8s.io/v1","kind":"EncryptionConfiguration","resources":[{"resources":["secrets"],"providers":[{"aescbc":{"keys":[{"name":"key1","secret":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}]}},{"identity":{}}]}]}"#
        let parsed = try EncryptionConfiguration.parse(Data(upstream.utf8))
        #expect(parsed.resources.first?.prefixes == ["/secrets/"])
        #expect(throws: EncryptionConfiguration.Failure.self) {
            try EncryptionConfiguration.parse(Data(#"{"kind":"EncryptionConfiguration","resources":[{"resources":["secrets"],"providers":[{"kms":{}}]}]}"#.utf8))
        }
        #expect(throws: EncryptionConfiguration.Failure.self) {
            try EncryptionConfiguration.parse(Data(#"{"kind":"EncryptionConfiguration","resources":[{"resources":["secrets"],"providers":[{"aesgcm":{"keys":[{"name":"k","secret":"c2hvcnQ="}]}}]}]}"#.utf8))
        }
    }
}

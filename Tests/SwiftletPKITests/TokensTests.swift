import Foundation
import SwiftletPKI
import Testing

@Suite struct TokensTests {
    static let caPEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

    @Test func generatedTokensAre64HexCharactersAndDistinct() {
        let a = Tokens.generate()
        let b = Tokens.generate()
        #expect(a.count == 64)
        #expect(a.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(a != b)
    }

    @Test func tokensAreCreatedPrivatelyAndPersistAcrossLoads() async throws {
        try await withTemporaryDirectory { root in
            let first = try ClusterTokens.loadOrCreate(dataDirectory: root, caCertificatePEM: Self.caPEM)
            let layout = PKILayout(dataDirectory: root)
            #expect(first.adminToken != first.nodeToken)
            #expect(try SecureFiles.mode(of: layout.adminTokenPath) == 0o600)
            #expect(try SecureFiles.mode(of: layout.nodeTokenPath) == 0o600)
            #expect(try SecureFiles.readIfExists(layout.adminTokenPath) == first.adminToken + "\n")
            #expect(layout.nodeTokenPath == root + "/node-token")
            #expect(layout.adminTokenPath == root + "/tls/admin.token")

            let second = try ClusterTokens.loadOrCreate(dataDirectory: root, caCertificatePEM: Self.caPEM)
            #expect(second == first)
        }
    }

    @Test func operatorSeededTokenIsKept() async throws {
        try await withTemporaryDirectory { root in
            let layout = PKILayout(dataDirectory: root)
            try SecureFiles.writeAtomically(layout.nodeTokenPath, contents: "  my-join-secret \n", mode: 0o644)
            let tokens = try ClusterTokens.loadOrCreate(dataDirectory: root, caCertificatePEM: Self.caPEM)
            #expect(tokens.nodeToken == "my-join-secret")
            #expect(try SecureFiles.mode(of: layout.nodeTokenPath) == 0o600)
            // Rewritten in k3s's secure form, with the CA's hash and the same secret.
            let hash = JoinToken.hash(Array(Self.caPEM.utf8))
            #expect(try SecureFiles.readIfExists(layout.nodeTokenPath) == "K10\(hash)::node:my-join-secret\n")
            #expect(tokens.joinToken == JoinToken(caHash: hash, secret: "my-join-secret"))
        }
    }

    @Test func emptyTokenFileIsReplaced() async throws {
        try await withTemporaryDirectory { root in
            let path = root + "/token"
            try SecureFiles.writeAtomically(path, contents: "\n")
            let token = try Tokens.loadOrCreate(at: path)
            #expect(token.count == 64)
        }
    }

    @Test func matchingIsExact() {
        let token = Tokens.generate()
        #expect(Tokens.matches(token, token))
        #expect(!Tokens.matches(token + "0", token))
        #expect(!Tokens.matches(String(token.dropLast()), token))
        #expect(!Tokens.matches("", token))
        #expect(!Tokens.matches(token.uppercased(), token))
        // An unset expected token must never authenticate anyone.
        #expect(!Tokens.matches("", ""))
    }

    @Test func bearerHeaderParsing() {
        #expect(Tokens.bearerToken(fromAuthorization: "Bearer abc") == "abc")
        #expect(Tokens.bearerToken(fromAuthorization: "bearer  abc ") == "abc")
        #expect(Tokens.bearerToken(fromAuthorization: "Basic abc") == nil)
        #expect(Tokens.bearerToken(fromAuthorization: "Bearer ") == nil)
        #expect(Tokens.bearerToken(fromAuthorization: "Bearerabc") == nil)
    }

    @Test func joinTokensParseInBothForms() {
        let hash = String(repeating: "ab", count: 32)
        #expect(JoinToken("K10\(hash)::node:s3cret") == JoinToken(caHash: hash, secret: "s3cret"))
        #expect(JoinToken("K10\(hash.uppercased())::server:s3cret")?.caHash == hash)
        #expect(JoinToken(" bare-secret\n") == JoinToken(caHash: nil, secret: "bare-secret"))
        #expect(JoinToken("K10\(hash)") == nil)
        #expect(JoinToken("K10abc::node:s") == nil)
        #expect(JoinToken("K10\(hash)::node:") == nil)
        #expect(JoinToken("") == nil)
        #expect(JoinToken(caHash: hash, secret: "s").text == "K10\(hash)::node:s")
    }
}

import Foundation
import SwiftletPKI
import Testing

@Suite struct TokensTests {
    @Test func generatedTokensAre64HexCharactersAndDistinct() {
        let a = Tokens.generate()
        let b = Tokens.generate()
        #expect(a.count == 64)
        #expect(a.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(a != b)
    }

    @Test func tokensAreCreatedPrivatelyAndPersistAcrossLoads() async throws {
        try await withTemporaryDirectory { root in
            let first = try ClusterTokens.loadOrCreate(dataDirectory: root)
            let layout = PKILayout(dataDirectory: root)
            #expect(first.adminToken != first.nodeToken)
            #expect(try SecureFiles.mode(of: layout.adminTokenPath) == 0o600)
            #expect(try SecureFiles.mode(of: layout.nodeTokenPath) == 0o600)
            #expect(try SecureFiles.readIfExists(layout.adminTokenPath) == first.adminToken + "\n")
            #expect(layout.nodeTokenPath == root + "/node-token")
            #expect(layout.adminTokenPath == root + "/tls/admin.token")

            let second = try ClusterTokens.loadOrCreate(dataDirectory: root)
            #expect(second == first)
        }
    }

    @Test func operatorSeededTokenIsKept() async throws {
        try await withTemporaryDirectory { root in
            let layout = PKILayout(dataDirectory: root)
            try SecureFiles.writeAtomically(layout.nodeTokenPath, contents: "  my-join-secret \n", mode: 0o644)
            let tokens = try ClusterTokens.loadOrCreate(dataDirectory: root)
            #expect(tokens.nodeToken == "my-join-secret")
            #expect(try SecureFiles.mode(of: layout.nodeTokenPath) == 0o600)
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
}

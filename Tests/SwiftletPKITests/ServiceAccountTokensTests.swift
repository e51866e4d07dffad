import Crypto
import Foundation
import SwiftletPKI
import Testing

/// ServiceAccount JWTs: what a token carries, and everything that makes one invalid.
@Suite struct ServiceAccountTokensTests {
    let signer = ServiceAccountTokens(key: P256.Signing.PrivateKey())
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let subject = ServiceAccountTokens.Subject(namespace: "team", name: "app", uid: "u-1", pod: (name: "web-1", uid: "p-1"))

    @Test func aTokenNamesItsServiceAccountPodAndAudience() throws {
        let (token, expires) = try signer.issue(subject, audiences: [ServiceAccountTokens.issuer], now: now, expiration: 3600)
        #expect(expires == now.addingTimeInterval(3600))
        let claims = try #require(signer.verify(token, audiences: [ServiceAccountTokens.issuer], now: now.addingTimeInterval(10)))
        #expect(claims.subject == subject)
        #expect(claims.audiences == [ServiceAccountTokens.issuer])
        // The header names the key and algorithm; the payload upstream's subject.
        let parts = token.split(separator: ".")
        let header = String(decoding: Data(base64Encoded: String(parts[0]) + "==") ?? Data(), as: UTF8.self)
        #expect(header.contains(#""alg":"ES256""#) && header.contains(signer.keyID))
    }

    @Test func expiredTamperedForeignAndOtherAudienceTokensFail() throws {
        let (token, _) = try signer.issue(subject, audiences: ["vault"], now: now, expiration: 600)
        #expect(signer.verify(token, audiences: ["vault"], now: now) != nil)
        #expect(signer.verify(token, audiences: [ServiceAccountTokens.issuer], now: now) == nil)
        #expect(signer.verify(token, audiences: ["vault"], now: now.addingTimeInterval(601)) == nil)
        #expect(ServiceAccountTokens(key: P256.Signing.PrivateKey()).verify(token, audiences: ["vault"], now: now) == nil)
        var parts = token.split(separator: ".").map(String.init)
        let forged = #"{"aud":["vault"],"exp":1900000000,"iss":"https://kubernetes.default.svc.cluster.local","kubernetes.io":{"namespace":"kube-system","serviceaccount":{"name":"admin","uid":"x"}},"nbf":1,"sub":"system:serviceaccount:kube-system:admin"}"#
        parts[1] = Data(forged.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
        #expect(signer.verify(parts.joined(separator: "."), audiences: ["vault"], now: now) == nil)
        #expect(signer.verify("not.a.token", audiences: ["vault"], now: now) == nil)
        #expect(signer.verify("", audiences: ["vault"], now: now) == nil)
    }

    @Test func theKeyIsKeptOwnerOnlyAcrossRestarts() async throws {
        try await withTemporaryDirectory { root in
            try SecureFiles.createDirectory(root + "/tls")
            let first = try ServiceAccountTokens.loadOrCreate(dataDirectory: root)
            let again = try ServiceAccountTokens.loadOrCreate(dataDirectory: root)
            #expect(first.keyID == again.keyID)
            #expect(try SecureFiles.mode(of: root + "/tls/service-account.key") == 0o600)
            let (token, _) = try first.issue(subject, audiences: ["a"], now: now, expiration: 3600)
            #expect(again.verify(token, audiences: ["a"], now: now) != nil)
        }
    }
}

import Foundation
import SwiftletPKI
import Testing
import X509

/// Client certificates: what the cluster CA issues for `swiftlet kubeconfig`, and who the
/// API server reads from one (upstream's x509 authenticator: CN user, O groups, clientAuth only).
@Suite struct ClientCertificatesTests {
    @Test func aClientCertificateNamesItsUserAndGroups() async throws {
        try await withTemporaryDirectory { root in
            _ = try ClusterPKI.loadOrCreate(dataDirectory: root, servingNames: try testServingNames())
            let authority = try ClusterPKI.loadAuthority(dataDirectory: root)
            let client = try authority.issue(commonName: "alice", organizations: ["dev", "qa"], purposes: .client)
            let der = try Array(client.certificate.serializeAsPEM().derBytes)
            let user = try #require(ClientCertificates.user(fromDER: der))
            #expect(user.name == "alice")
            #expect(user.groups == ["dev", "qa"])

            // A serving certificate is not a client's, whatever its subject says.
            let serving = try authority.issue(commonName: "alice", names: try testServingNames(), purposes: .server)
            #expect(ClientCertificates.user(fromDER: try Array(serving.certificate.serializeAsPEM().derBytes)) == nil)
            #expect(ClientCertificates.user(fromDER: [0x30, 0x03, 0x02, 0x01, 0x01]) == nil)

            // Rendered into a kubeconfig as data, not files.
            let config = Kubeconfig(server: "https://127.0.0.1:6443", certificateAuthorityPEM: authority.certificatePEM,
                                    credential: .clientCertificate(certificatePEM: client.certificatePEM, keyPEM: client.privateKeyPEM))
            let text = config.render()
            #expect(text.contains("    client-certificate-data: \"\(Data(client.certificatePEM.utf8).base64EncodedString())\"\n"))
            #expect(text.contains("    client-key-data: \"\(Data(client.privateKeyPEM.utf8).base64EncodedString())\"\n"))
            #expect(!text.contains("token:"))
        }
    }

    @Test func aDataDirWithoutACAIssuesNothing() async throws {
        try await withTemporaryDirectory { root in
            #expect(throws: PKIError.self) { try ClusterPKI.loadAuthority(dataDirectory: root) }
        }
    }
}

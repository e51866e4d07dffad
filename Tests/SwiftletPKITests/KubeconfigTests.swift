import Foundation
import SwiftletPKI
import Testing

@Suite struct KubeconfigTests {
    @Test func serverURLForms() {
        #expect(Kubeconfig.serverURL(host: "10.0.0.5", port: 6443) == "https://10.0.0.5:6443")
        #expect(Kubeconfig.serverURL(host: "0.0.0.0", port: 6443) == "https://127.0.0.1:6443")
        #expect(Kubeconfig.serverURL(host: "::", port: 6443) == "https://127.0.0.1:6443")
        #expect(Kubeconfig.serverURL(host: "2001:db8::1", port: 443) == "https://[2001:db8::1]:443")
        #expect(Kubeconfig.serverURL(host: "example.test", port: 8443) == "https://example.test:8443")
    }

    @Test func renderedConfigHasServerTokenAndBase64CA() async throws {
        try await withTemporaryDirectory { root in
            let pki = try ClusterPKI.loadOrCreate(dataDirectory: root, servingNames: try testServingNames())
            let tokens = try ClusterTokens.loadOrCreate(dataDirectory: root, caCertificatePEM: pki.caCertificatePEM)
            let config = Kubeconfig(
                server: Kubeconfig.serverURL(host: "127.0.0.1", port: 6443),
                certificateAuthorityPEM: pki.caCertificatePEM, token: tokens.adminToken)
            let text = config.render()
            let caData = Data(pki.caCertificatePEM.utf8).base64EncodedString()

            #expect(text.contains("server: \"https://127.0.0.1:6443\""))
            #expect(text.contains("certificate-authority-data: \"\(caData)\""))
            #expect(text.contains("token: \"\(tokens.adminToken)\""))
            #expect(text.contains("current-context: \"swiftlet\""))
            #expect(text.contains("- name: \"swiftlet-admin\""))
            #expect(text.contains("namespace: \"default\""))
        }
    }

    @Test func writeIsPrivateAndCreatesParents() async throws {
        try await withTemporaryDirectory { root in
            let config = Kubeconfig(server: "https://127.0.0.1:6443", certificateAuthorityPEM: "x", token: "t")
            let path = root + "/home/.kube/config"
            try config.write(to: path)
            #expect(try SecureFiles.mode(of: path) == 0o600)
            #expect(try SecureFiles.mode(of: root + "/home/.kube") == 0o700)
            #expect(try SecureFiles.readIfExists(path) == config.render())

            // Overwriting replaces the content and leaves no temporary files.
            var changed = config
            changed.credential = .token("other")
            try changed.write(to: path)
            #expect(try SecureFiles.readIfExists(path) == changed.render())
            #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/home/.kube") == ["config"])
        }
    }

    @Test func valuesNeedingEscapesStayInsideTheirScalar() {
        var config = Kubeconfig(server: "https://h:1", certificateAuthorityPEM: "x", token: "a\"b\\c\nd")
        config.namespace = "ns: {x}"
        let text = config.render()
        #expect(text.contains(#"token: "a\"b\\c\nd""#))
        #expect(text.contains(#"namespace: "ns: {x}""#))
    }

    @Test(.enabled(if: executablePath("kubectl") != nil, "kubectl not installed"))
    func kubectlAcceptsTheConfig() async throws {
        try await withTemporaryDirectory { root in
            let pki = try ClusterPKI.loadOrCreate(dataDirectory: root, servingNames: try testServingNames())
            let tokens = try ClusterTokens.loadOrCreate(dataDirectory: root, caCertificatePEM: pki.caCertificatePEM)
            let path = root + "/kubeconfig.yaml"
            try Kubeconfig(
                server: "https://127.0.0.1:6443", certificateAuthorityPEM: pki.caCertificatePEM,
                token: tokens.adminToken
            ).write(to: path)

            let kubectl = try #require(executablePath("kubectl"))
            let view = try run(kubectl, ["--kubeconfig", path, "config", "view"])
            #expect(view.status == 0, "\(view.output)")

            func jsonpath(_ expression: String) throws -> String {
                let result = try run(kubectl, [
                    "--kubeconfig", path, "config", "view", "--raw", "-o", "jsonpath=\(expression)",
                ])
                #expect(result.status == 0, "\(result.output)")
                return result.output
            }
            #expect(try jsonpath("{.current-context}") == "swiftlet")
            #expect(try jsonpath("{.clusters[0].cluster.server}") == "https://127.0.0.1:6443")
            #expect(try jsonpath("{.users[0].user.token}") == tokens.adminToken)
            #expect(try jsonpath("{.contexts[0].context.namespace}") == "default")
            let caData = try jsonpath("{.clusters[0].cluster.certificate-authority-data}")
            #expect(Data(base64Encoded: caData).map { String(decoding: $0, as: UTF8.self) } == pki.caCertificatePEM)
        }
    }
}

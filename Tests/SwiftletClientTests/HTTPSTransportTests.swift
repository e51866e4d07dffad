import Foundation
import NIOPosix
import NIOSSL
import Testing
import SwiftletAPI
import SwiftletAPIServer
import SwiftletClient
import SwiftletMachinery
import SwiftletPKI
import SwiftletStorage

/// The API server behind a real TLS listener on loopback, with a fresh cluster PKI.
private struct TLSHarness {
    let directory: String
    let pki: ClusterPKI
    let port: Int
    let serving: Task<Void, Error>

    static func start(_ server: APIServer) async throws -> TLSHarness {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-https-\(UUID().uuidString)").path
        let pki = try ClusterPKI.loadOrCreate(dataDirectory: directory, servingNames: try CertificateNames.apiServer(serviceIP: "10.43.0.1"))
        let tls = try NIOSSLContext(configuration: .makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(pki.servingCertificatePEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(pki.servingKeyPEM.utf8), format: .pem))))
        let http = HTTPServer(host: "127.0.0.1", port: 0, tls: tls, group: .singletonMultiThreadedEventLoopGroup) { await server.handle($0) }
        let bound = try await http.bind()
        return TLSHarness(directory: directory, pki: pki, port: bound.port, serving: Task { try await http.serve(bound) })
    }

    func stop() {
        serving.cancel()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

@Suite struct HTTPSTransportTests {
    @Test func theClientWorksOverHTTPS() async throws {
        let server = try makeServer()
        let harness = try await TLSHarness.start(server)
        defer { harness.stop() }
        let client = APIClient(transport: try HTTPSTransport(host: "127.0.0.1", port: harness.port,
                                                             caCertificatePEM: harness.pki.caCertificatePEM, token: testToken))
        let created = try await client.create(Resources.configmaps, namespace: "default", configMap("over-tls"))
        #expect(created[path: "metadata", "uid"]?.stringValue != nil)
        let fetched = try await client.get(Resources.configmaps, namespace: "default", name: "over-tls")
        #expect(fetched[path: "data", "k"] == "v")
        // Keep-alive connections are reused across many calls.
        for i in 0..<20 { _ = try await client.create(Resources.configmaps, namespace: "default", configMap("cm-\(i)")) }
        let list = try await client.list(Resources.configmaps, namespace: "default")
        #expect(list.items.count == 21)

        // A watch streams over its own connection.
        let events = try await client.watch(Resources.configmaps, namespace: "default", resourceVersion: list.resourceVersion)
        _ = try await client.create(Resources.configmaps, namespace: "default", configMap("watched"))
        var iterator = events.makeAsyncIterator()
        let first = await iterator.next()
        #expect(first?.object[path: "metadata", "name"] == "watched")

        // Errors come back as the server's Status.
        await #expect(throws: APIError.self) { try await client.get(Resources.configmaps, namespace: "default", name: "missing") }
    }

    @Test func aWrongTokenOrCAIsRefused() async throws {
        let server = try makeServer()
        let harness = try await TLSHarness.start(server)
        defer { harness.stop() }
        let wrongToken = APIClient(transport: try HTTPSTransport(host: "127.0.0.1", port: harness.port,
                                                                 caCertificatePEM: harness.pki.caCertificatePEM, token: "nope"))
        do {
            _ = try await wrongToken.list(Resources.configmaps, namespace: "default")
            Issue.record("a wrong token was accepted")
        } catch {
            #expect(error.code == 401)
        }
        let otherCA = try CertificateAuthority.generate()
        let wrongCA = APIClient(transport: try HTTPSTransport(host: "127.0.0.1", port: harness.port,
                                                              caCertificatePEM: otherCA.certificatePEM, token: testToken))
        do {
            _ = try await wrongCA.list(Resources.configmaps, namespace: "default")
            Issue.record("a server with an untrusted certificate was accepted")
        } catch {
            #expect(error.code == 503)
        }
    }
}

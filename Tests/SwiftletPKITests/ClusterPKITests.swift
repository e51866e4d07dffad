import Foundation
import SwiftASN1
import SwiftletPKI
import Testing
import X509
import SwiftletTestSupport

@Suite(.blockingWork) struct ClusterPKITests {
    @Test func firstStartCreatesFilesWithPrivateModes() async throws {
        try await withTemporaryDirectory { root in
            let dataDir = root + "/data/nested"
            let pki = try ClusterPKI.loadOrCreate(dataDirectory: dataDir, servingNames: try testServingNames())
            let layout = pki.layout

            #expect(pki.caOutcome != .reused)
            #expect(pki.servingOutcome != .reused)
            for path in [layout.caCertificatePath, layout.caKeyPath, layout.servingCertificatePath, layout.servingKeyPath] {
                #expect(SecureFiles.fileExists(path), "\(path) missing")
            }
            #expect(try SecureFiles.mode(of: dataDir) == 0o700)
            #expect(try SecureFiles.mode(of: root + "/data") == 0o700)
            #expect(try SecureFiles.mode(of: layout.tlsDirectory) == 0o700)
            #expect(try SecureFiles.mode(of: layout.caKeyPath) == 0o600)
            #expect(try SecureFiles.mode(of: layout.servingKeyPath) == 0o600)

            #expect(try SecureFiles.readIfExists(layout.caCertificatePath) == pki.caCertificatePEM)
            #expect(try SecureFiles.readIfExists(layout.servingCertificatePath) == pki.servingCertificatePEM)
            #expect(try SecureFiles.readIfExists(layout.servingKeyPath) == pki.servingKeyPEM)
            #expect(pki.servingKeyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----"))
            // No temporary files left behind by the atomic writes.
            let entries = try FileManager.default.contentsOfDirectory(atPath: layout.tlsDirectory)
            #expect(Set(entries) == ["ca.crt", "ca.key", "server.crt", "server.key"])
        }
    }

    @Test func caHasCAExtensionsAndTenYearLifetime() async throws {
        try await withTemporaryDirectory { root in
            let now = Date()
            let pki = try ClusterPKI.loadOrCreate(dataDirectory: root, servingNames: try testServingNames(), now: now)
            let ca = try Certificate(pemEncoded: pki.caCertificatePEM)

            #expect(ca.subject == ca.issuer)
            #expect(ca.subject.description.hasPrefix("CN=swiftlet-ca@"))
            #expect(try ca.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: nil))
            #expect(try ca.extensions.keyUsage == KeyUsage(keyCertSign: true, cRLSign: true))
            #expect(ca.publicKey.isValidSignature(ca.signature, for: ca))
            let years = ca.notValidAfter.timeIntervalSince(now) / (365 * 24 * 3600)
            #expect(abs(years - 10) < 0.01)
            #expect(ca.notValidBefore <= now)
        }
    }

    @Test func servingCertificateChainsToCA() async throws {
        try await withTemporaryDirectory { root in
            let now = Date()
            let pki = try ClusterPKI.loadOrCreate(dataDirectory: root, servingNames: try testServingNames(), now: now)
            let ca = try Certificate(pemEncoded: pki.caCertificatePEM)
            let leaf = try Certificate(pemEncoded: pki.servingCertificatePEM)

            #expect(leaf.issuer == ca.subject)
            #expect(ca.publicKey.isValidSignature(leaf.signature, for: leaf))
            #expect(try leaf.extensions.basicConstraints == .notCertificateAuthority)
            #expect(try leaf.extensions.keyUsage == KeyUsage(digitalSignature: true))
            #expect(try leaf.extensions.extendedKeyUsage == ExtendedKeyUsage([.serverAuth]))
            // Certificate times have one-second resolution, hence the tolerance.
            let lifetime = leaf.notValidAfter.timeIntervalSince(now) - 365 * 24 * 3600
            #expect(abs(lifetime) <= 2)

            for (hostname, ip) in [("kubernetes.default.svc", nil), (nil, "10.43.0.1"), ("localhost", nil), (nil, "::1")] as [(String?, String?)] {
                var verifier = Verifier(rootCertificates: CertificateStore([ca])) {
                    RFC5280Policy()
                    ServerIdentityPolicy(serverHostname: hostname, serverIP: ip)
                }
                let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore())
                guard case .validCertificate(let chain) = result else {
                    Issue.record("verification for \(hostname ?? ip ?? "") failed: \(result)")
                    continue
                }
                #expect(chain.count == 2)
            }

            // The serving key really belongs to the certificate.
            let key = try Certificate.PrivateKey(pemEncoded: pki.servingKeyPEM)
            #expect(key.publicKey == leaf.publicKey)
        }
    }

    @Test func servingCertificateCarriesRequestedSANs() async throws {
        try await withTemporaryDirectory { root in
            let names = try testServingNames(extra: ["192.0.2.10", "2001:db8::5", "api.example.test"])
            let pki = try ClusterPKI.loadOrCreate(dataDirectory: root, servingNames: names)
            let leaf = try Certificate(pemEncoded: pki.servingCertificatePEM)
            let sans = try #require(try leaf.extensions.subjectAlternativeNames)

            var dns: Set<String> = []
            var ips: Set<[UInt8]> = []
            for name in sans {
                switch name {
                case .dnsName(let value): dns.insert(value)
                case .ipAddress(let octets): ips.insert(Array(octets.bytes))
                default: Issue.record("unexpected SAN \(name)")
                }
            }
            #expect(dns == [
                "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local", "node-a.example.test", "api.example.test",
            ])
            let v6Loopback: [UInt8] = Array(repeating: 0, count: 15) + [1]
            let v6Extra: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [5]
            #expect(ips == [[127, 0, 0, 1], v6Loopback, [10, 43, 0, 1], [192, 0, 2, 10], v6Extra])
        }
    }

    @Test func secondLoadReusesCAAndServingCertificate() async throws {
        try await withTemporaryDirectory { root in
            let first = try ClusterPKI.loadOrCreate(dataDirectory: root, servingNames: try testServingNames())
            let second = try ClusterPKI.loadOrCreate(dataDirectory: root, servingNames: try testServingNames())

            #expect(second.caOutcome == .reused)
            #expect(second.servingOutcome == .reused)
            #expect(second.caCertificatePEM == first.caCertificatePEM)
            #expect(second.servingCertificatePEM == first.servingCertificatePEM)
            #expect(second.servingKeyPEM == first.servingKeyPEM)

            // Asking for a subset of the names (or the same names spelled differently) is still covered.
            let subset = try CertificateNames(["LOCALHOST.", "0:0::1"])
            let third = try ClusterPKI.loadOrCreate(dataDirectory: root, servingNames: subset)
            #expect(third.servingOutcome == .reused)
        }
    }

    @Test func newSANRegeneratesServingCertificateButKeepsCA() async throws {
        try await withTemporaryDirectory { root in
            let first = try ClusterPKI.loadOrCreate(dataDirectory: root, servingNames: try testServingNames())
            let moved = try testServingNames(extra: ["198.51.100.7"])
            let second = try ClusterPKI.loadOrCreate(dataDirectory: root, servingNames: moved)

            #expect(second.caOutcome == .reused)
            #expect(second.caCertificatePEM == first.caCertificatePEM)
            guard case .generated(let reason) = second.servingOutcome else {
                Issue.record("serving certificate was not regenerated")
                return
            }
            #expect(reason.contains("198.51.100.7"))
            #expect(second.servingCertificatePEM != first.servingCertificatePEM)
            #expect(try SecureFiles.readIfExists(second.layout.servingCertificatePath) == second.servingCertificatePEM)
            #expect(try SecureFiles.readIfExists(second.layout.servingKeyPath) == second.servingKeyPEM)

            let leaf = try Certificate(pemEncoded: second.servingCertificatePEM)
            let present = try #require(try leaf.extensions.subjectAlternativeNames)
            #expect(present.contains(.ipAddress(ASN1OctetString(contentBytes: [198, 51, 100, 7]))))
        }
    }

    @Test func servingCertificateIsRenewedNearExpiry() async throws {
        try await withTemporaryDirectory { root in
            let now = Date()
            let first = try ClusterPKI.loadOrCreate(dataDirectory: root, servingNames: try testServingNames(), now: now)
            let day: TimeInterval = 24 * 3600

            let later = try ClusterPKI.loadOrCreate(
                dataDirectory: root, servingNames: try testServingNames(), now: now + 300 * day)
            #expect(later.servingOutcome == .reused)

            let nearExpiry = try ClusterPKI.loadOrCreate(
                dataDirectory: root, servingNames: try testServingNames(), now: now + 340 * day)
            #expect(nearExpiry.servingOutcome != .reused)
            #expect(nearExpiry.caCertificatePEM == first.caCertificatePEM)
            let leaf = try Certificate(pemEncoded: nearExpiry.servingCertificatePEM)
            #expect(leaf.notValidAfter > now + 700 * day)
        }
    }

    @Test func missingOrMismatchedServingFilesAreRepaired() async throws {
        try await withTemporaryDirectory { root in
            let first = try ClusterPKI.loadOrCreate(dataDirectory: root, servingNames: try testServingNames())
            try FileManager.default.removeItem(atPath: first.layout.servingCertificatePath)
            let second = try ClusterPKI.loadOrCreate(dataDirectory: root, servingNames: try testServingNames())
            #expect(second.servingOutcome == .generated(reason: "no serving certificate"))

            // A key from another certificate (e.g. a crash between the two writes).
            let stray = try second.issueCertificate(commonName: "stray", purposes: [.server])
            try SecureFiles.writeAtomically(second.layout.servingKeyPath, contents: stray.privateKeyPEM)
            let third = try ClusterPKI.loadOrCreate(dataDirectory: root, servingNames: try testServingNames())
            #expect(third.servingOutcome == .generated(reason: "serving key does not match the serving certificate"))
            #expect(third.caCertificatePEM == first.caCertificatePEM)
        }
    }

    @Test func servingCertificateFromAnotherCAIsReplaced() async throws {
        try await withTemporaryDirectory { root in
            let first = try ClusterPKI.loadOrCreate(dataDirectory: root, servingNames: try testServingNames())
            let foreign = try CertificateAuthority.generate()
                .issue(commonName: "x", names: try testServingNames(), purposes: [.server])
            try SecureFiles.writeAtomically(first.layout.servingKeyPath, contents: foreign.privateKeyPEM)
            try SecureFiles.writeAtomically(first.layout.servingCertificatePath, contents: foreign.certificatePEM)

            let second = try ClusterPKI.loadOrCreate(dataDirectory: root, servingNames: try testServingNames())
            #expect(second.servingOutcome != .reused)
            let leaf = try Certificate(pemEncoded: second.servingCertificatePEM)
            #expect(second.authority.signed(leaf))
        }
    }

    @Test func missingCAKeyIsAnErrorNotASilentNewCA() async throws {
        try await withTemporaryDirectory { root in
            let first = try ClusterPKI.loadOrCreate(dataDirectory: root, servingNames: try testServingNames())
            try FileManager.default.removeItem(atPath: first.layout.caKeyPath)
            #expect(throws: PKIError.missingCAKey(path: first.layout.caKeyPath)) {
                try ClusterPKI.loadOrCreate(dataDirectory: root, servingNames: try testServingNames())
            }
            #expect(try SecureFiles.readIfExists(first.layout.caCertificatePath) == first.caCertificatePEM)
        }
    }

    @Test func caKeyThatDoesNotMatchIsRejected() async throws {
        try await withTemporaryDirectory { root in
            let first = try ClusterPKI.loadOrCreate(dataDirectory: root, servingNames: try testServingNames())
            let other = try CertificateAuthority.generate()
            try SecureFiles.writeAtomically(first.layout.caKeyPath, contents: other.privateKeyPEM)
            #expect(throws: PKIError.keyMismatch(certificatePath: first.layout.caCertificatePath, keyPath: first.layout.caKeyPath)) {
                try ClusterPKI.loadOrCreate(dataDirectory: root, servingNames: try testServingNames())
            }
        }
    }

    @Test func strayCAKeyFromInterruptedFirstStartIsReplaced() async throws {
        try await withTemporaryDirectory { root in
            let layout = PKILayout(dataDirectory: root)
            try SecureFiles.writeAtomically(layout.caKeyPath, contents: "garbage")
            let pki = try ClusterPKI.loadOrCreate(dataDirectory: root, servingNames: try testServingNames())
            #expect(pki.caOutcome != .reused)
            #expect(try SecureFiles.readIfExists(layout.caKeyPath) == pki.authority.privateKeyPEM)
        }
    }

    @Test func loosenedModesAreTightenedOnLoad() async throws {
        try await withTemporaryDirectory { root in
            let first = try ClusterPKI.loadOrCreate(dataDirectory: root, servingNames: try testServingNames())
            try SecureFiles.setMode(first.layout.tlsDirectory, 0o755)
            try SecureFiles.setMode(first.layout.caKeyPath, 0o644)
            try SecureFiles.setMode(first.layout.servingKeyPath, 0o644)
            _ = try ClusterPKI.loadOrCreate(dataDirectory: root, servingNames: try testServingNames())
            #expect(try SecureFiles.mode(of: first.layout.tlsDirectory) == 0o700)
            #expect(try SecureFiles.mode(of: first.layout.caKeyPath) == 0o600)
            #expect(try SecureFiles.mode(of: first.layout.servingKeyPath) == 0o600)
        }
    }

    @Test func nodeClientCertificateChainsToCA() async throws {
        try await withTemporaryDirectory { root in
            let pki = try ClusterPKI.loadOrCreate(dataDirectory: root, servingNames: try testServingNames())
            let issued = try pki.issueCertificate(
                commonName: "system:node:worker-1", organizations: ["system:nodes"],
                names: try CertificateNames(["worker-1", "192.0.2.20"]), purposes: [.client, .server])
            let ca = try Certificate(pemEncoded: pki.caCertificatePEM)
            let leaf = try Certificate(pemEncoded: issued.certificatePEM)

            #expect(leaf.subject.description == "CN=system:node:worker-1,O=system:nodes")
            #expect(try leaf.extensions.extendedKeyUsage == ExtendedKeyUsage([.serverAuth, .clientAuth]))
            var verifier = Verifier(rootCertificates: CertificateStore([ca])) {
                RFC5280Policy()
            }
            let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore())
            guard case .validCertificate = result else {
                Issue.record("node certificate did not verify: \(result)")
                return
            }
        }
    }

    @Test(.enabled(if: executablePath("openssl") != nil, "openssl not installed"))
    func opensslVerifiesServingCertificate() async throws {
        try await withTemporaryDirectory { root in
            let pki = try ClusterPKI.loadOrCreate(dataDirectory: root, servingNames: try testServingNames())
            let openssl = try #require(executablePath("openssl"))
            let verify = try run(openssl, [
                "verify", "-CAfile", pki.layout.caCertificatePath,
                "-purpose", "sslserver", pki.layout.servingCertificatePath,
            ])
            #expect(verify.status == 0, "\(verify.output)")
            // OpenSSL must also accept the key file as the certificate's key.
            let check = try run(openssl, [
                "x509", "-in", pki.layout.servingCertificatePath, "-noout", "-checkhost", "kubernetes.default.svc",
                "-checkip", "10.43.0.1",
            ])
            #expect(check.status == 0)
            #expect(check.output.contains("does match certificate"))
            #expect(!check.output.contains("does NOT match"))
            let key = try run(openssl, ["pkey", "-in", pki.layout.servingKeyPath, "-noout"])
            #expect(key.status == 0, "\(key.output)")
        }
    }
}

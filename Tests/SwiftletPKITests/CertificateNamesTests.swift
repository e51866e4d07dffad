import SwiftletPKI
import Testing

@Suite struct CertificateNamesTests {
    @Test func classifiesAndNormalizes() throws {
        let names = try CertificateNames(["Example.TEST.", "10.0.0.1", "[::1]", "0:0::1", "", " 10.0.0.1 ", "example.test"])
        #expect(names.dnsNames == ["example.test"])
        #expect(names.ipAddresses == ["10.0.0.1", "::1"])
    }

    @Test func rejectsMalformedNames() {
        #expect(throws: PKIError.self) { try CertificateNames(["bad name"]) }
        #expect(throws: PKIError.self) { try CertificateNames(["10.0.0.1:6443"]) }
        #expect(throws: PKIError.self) { try CertificateNames(dnsNames: [], ipAddresses: ["not-an-ip"]) }
        #expect(throws: PKIError.self) { try CertificateNames(["a..b"]) }
    }

    @Test func subsetIgnoresOrderAndSpelling() throws {
        let wanted = try CertificateNames(["::1", "kubernetes"])
        let present = try CertificateNames(["kubernetes.default", "Kubernetes", "0:0:0:0:0:0:0:1"])
        #expect(wanted.isSubset(of: present))
        #expect(!present.isSubset(of: wanted))
    }

    @Test func apiServerDefaults() throws {
        let names = try CertificateNames.apiServer(serviceIP: "10.43.0.1", hostNames: ["box"], extra: ["fd00::2"])
        #expect(names.dnsNames == [
            "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local", "box",
        ])
        #expect(names.ipAddresses == ["127.0.0.1", "::1", "10.43.0.1", "fd00::2"])
    }

    @Test func hostDiscovery() throws {
        for address in hostAddresses() {
            let parsed = try CertificateNames([address])
            #expect(parsed.ipAddresses.count == 1, "\(address) is not an IP")
            #expect(address != "127.0.0.1" && address != "::1" && !address.hasPrefix("fe80:"))
        }
        for name in hostNames() {
            #expect(name == name.lowercased())
            _ = try CertificateNames([name])
        }
        // Discovered values must be acceptable as SANs as-is.
        _ = try CertificateNames.apiServer(serviceIP: "10.43.0.1", extra: hostAddresses())
    }
}

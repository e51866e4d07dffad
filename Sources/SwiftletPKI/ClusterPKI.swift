import Foundation
import X509

/// Where the server keeps its TLS material and secrets inside the data directory.
///
/// One place for the paths so the server, the `cleanup` command and tests cannot disagree.
public struct PKILayout: Sendable, Hashable {
    public let dataDirectory: String

    public init(dataDirectory: String) {
        var directory = dataDirectory
        while directory.count > 1 && directory.hasSuffix("/") { directory.removeLast() }
        self.dataDirectory = directory
    }

    public var tlsDirectory: String { dataDirectory + "/tls" }
    public var caCertificatePath: String { tlsDirectory + "/ca.crt" }
    public var caKeyPath: String { tlsDirectory + "/ca.key" }
    public var servingCertificatePath: String { tlsDirectory + "/server.crt" }
    public var servingKeyPath: String { tlsDirectory + "/server.key" }
    public var adminTokenPath: String { tlsDirectory + "/admin.token" }
    /// Outside `tls/` so operators find it where k3s users expect it.
    public var nodeTokenPath: String { dataDirectory + "/node-token" }
}

/// Whether a certificate was found usable on disk or had to be (re)made, and why — for the log.
public enum CertificateOutcome: Sendable, Equatable {
    case reused
    case generated(reason: String)
}

/// The cluster CA and the API server's serving certificate, loaded from or created in `DIR/tls/`.
///
/// The CA is created once and then never replaced automatically, because every kubeconfig and
/// node pins it. The serving certificate is cheap and is re-issued whenever it would not work:
/// missing, unreadable, not from this CA, close to expiry, or lacking a requested SAN (e.g. after
/// the server was bound to a new address).
public struct ClusterPKI: Sendable {
    public let layout: PKILayout
    public let authority: CertificateAuthority
    public let serving: IssuedCertificate
    public let caOutcome: CertificateOutcome
    public let servingOutcome: CertificateOutcome

    /// Re-issue the serving certificate when it has less than this left, so a server restarted
    /// now and then never runs into an expired certificate.
    public static let renewalWindow: TimeInterval = 30 * 24 * 60 * 60
    public static let servingValidity: TimeInterval = 365 * 24 * 60 * 60

    /// PEM of the CA certificate: the trust anchor for clients (`certificate-authority-data`).
    public var caCertificatePEM: String { authority.certificatePEM }
    /// PEM of the serving certificate (leaf only; clients already hold the CA).
    public var servingCertificatePEM: String { serving.certificatePEM }
    /// PKCS#8 PEM of the serving key.
    public var servingKeyPEM: String { serving.privateKeyPEM }

    /// Loads the PKI from `dataDirectory/tls`, creating what is missing.
    ///
    /// - Parameters:
    ///   - servingNames: SANs the serving certificate must cover, normally
    ///     `CertificateNames.apiServer(serviceIP:extra: hostAddresses())`.
    ///   - now: injectable so tests can simulate an approaching expiry.
    public static func loadOrCreate(
        dataDirectory: String,
        servingNames: CertificateNames,
        now: Date = Date()
    ) throws -> ClusterPKI {
        let layout = PKILayout(dataDirectory: dataDirectory)
        try SecureFiles.createDirectory(layout.dataDirectory, mode: 0o700)
        try SecureFiles.createDirectory(layout.tlsDirectory, mode: 0o700)
        // We own tls/: repair a mode loosened by hand or by an archive restore.
        try SecureFiles.setMode(layout.tlsDirectory, 0o700)

        let (authority, caOutcome) = try loadOrCreateAuthority(layout, now: now)
        let (serving, servingOutcome) = try loadOrIssueServing(
            layout, authority: authority, names: servingNames, now: now)
        return ClusterPKI(
            layout: layout, authority: authority, serving: serving,
            caOutcome: caOutcome, servingOutcome: servingOutcome)
    }

    /// Issues a certificate from the cluster CA, e.g. for a node agent joining the cluster.
    /// Nothing is written: the caller decides where the agent's files live.
    public func issueCertificate(
        commonName: String,
        organizations: [String] = [],
        names: CertificateNames = CertificateNames(),
        purposes: CertificatePurposes,
        validity: TimeInterval = ClusterPKI.servingValidity,
        now: Date = Date()
    ) throws -> IssuedCertificate {
        try authority.issue(
            commonName: commonName, organizations: organizations, names: names,
            purposes: purposes, validity: validity, now: now)
    }

    // MARK: - CA

    /// The cluster CA of an existing data dir, to issue certificates with (`swiftlet kubeconfig`);
    /// nothing is created.
    public static func loadAuthority(dataDirectory: String) throws -> CertificateAuthority {
        let layout = PKILayout(dataDirectory: dataDirectory)
        guard let certificatePEM = try SecureFiles.readIfExists(layout.caCertificatePath) else {
            throw PKIError.invalidFile(path: layout.caCertificatePath, reason: "no cluster CA: start `swiftlet server` with this data dir first")
        }
        guard let keyPEM = try SecureFiles.readIfExists(layout.caKeyPath) else { throw PKIError.missingCAKey(path: layout.caKeyPath) }
        return try CertificateAuthority(certificatePEM: certificatePEM, privateKeyPEM: keyPEM,
                                        certificateSource: layout.caCertificatePath, keySource: layout.caKeyPath)
    }

    /// `ca.crt` is written last and acts as the commit marker: without it any `ca.key` is the
    /// debris of an interrupted first start and is replaced. With it but without a key we stop,
    /// because making a new CA would silently cut off every client that trusts the old one.
    private static func loadOrCreateAuthority(
        _ layout: PKILayout, now: Date
    ) throws -> (CertificateAuthority, CertificateOutcome) {
        if let certificatePEM = try SecureFiles.readIfExists(layout.caCertificatePath) {
            guard let keyPEM = try SecureFiles.readIfExists(layout.caKeyPath) else {
                throw PKIError.missingCAKey(path: layout.caKeyPath)
            }
            let authority = try CertificateAuthority(
                certificatePEM: certificatePEM, privateKeyPEM: keyPEM,
                certificateSource: layout.caCertificatePath, keySource: layout.caKeyPath)
            try SecureFiles.setMode(layout.caKeyPath, 0o600)
            return (authority, .reused)
        }
        let authority = try CertificateAuthority.generate(now: now)
        try SecureFiles.writeAtomically(layout.caKeyPath, contents: authority.privateKeyPEM, mode: 0o600)
        try SecureFiles.writeAtomically(layout.caCertificatePath, contents: authority.certificatePEM, mode: 0o644)
        return (authority, .generated(reason: "no cluster CA in \(layout.tlsDirectory)"))
    }

    // MARK: - Serving certificate

    private static func loadOrIssueServing(
        _ layout: PKILayout, authority: CertificateAuthority, names: CertificateNames, now: Date
    ) throws -> (IssuedCertificate, CertificateOutcome) {
        let existing = try loadServing(layout)
        let reason: String
        switch existing {
        case .missing:
            reason = "no serving certificate"
        case .unusable(let why):
            reason = why
        case .loaded(let issued):
            if let why = renewalReason(issued.certificate, authority: authority, names: names, now: now) {
                reason = why
            } else {
                try SecureFiles.setMode(layout.servingKeyPath, 0o600)
                return (issued, .reused)
            }
        }
        let issued = try authority.issue(
            commonName: "swiftlet-apiserver", names: names, purposes: [.server],
            validity: servingValidity, now: now)
        // Key first: if we crash in between, the old certificate no longer matches the new key,
        // which the next start detects and repairs.
        try SecureFiles.writeAtomically(layout.servingKeyPath, contents: issued.privateKeyPEM, mode: 0o600)
        try SecureFiles.writeAtomically(layout.servingCertificatePath, contents: issued.certificatePEM, mode: 0o644)
        return (issued, .generated(reason: reason))
    }

    private enum ExistingServing {
        case missing
        case unusable(String)
        case loaded(IssuedCertificate)
    }

    /// A broken serving certificate is never fatal: it is derived data and is simply re-issued.
    private static func loadServing(_ layout: PKILayout) throws -> ExistingServing {
        guard let certificatePEM = try SecureFiles.readIfExists(layout.servingCertificatePath),
              let keyPEM = try SecureFiles.readIfExists(layout.servingKeyPath)
        else { return .missing }
        guard let certificate = try? Certificate(pemEncoded: certificatePEM) else {
            return .unusable("serving certificate cannot be parsed")
        }
        guard let key = try? Certificate.PrivateKey(pemEncoded: keyPEM) else {
            return .unusable("serving key cannot be parsed")
        }
        guard key.publicKey == certificate.publicKey else {
            return .unusable("serving key does not match the serving certificate")
        }
        return .loaded(IssuedCertificate(
            certificate: certificate, certificatePEM: certificatePEM, privateKeyPEM: keyPEM))
    }

    static func renewalReason(
        _ certificate: Certificate, authority: CertificateAuthority, names: CertificateNames, now: Date
    ) -> String? {
        guard authority.signed(certificate) else {
            return "serving certificate was not issued by the current cluster CA"
        }
        if certificate.notValidAfter < now + renewalWindow {
            return "serving certificate expires at \(certificate.notValidAfter)"
        }
        guard let present = try? CertificateNames(certificate: certificate) else {
            return "serving certificate has unreadable subject alternative names"
        }
        if !names.isSubset(of: present) {
            var missing = names.dnsNames.filter { !present.dnsNames.contains($0) }
            missing += names.ipAddresses.filter { !present.ipAddresses.contains($0) }
            return "serving certificate lacks \(missing.joined(separator: ", "))"
        }
        return nil
    }
}

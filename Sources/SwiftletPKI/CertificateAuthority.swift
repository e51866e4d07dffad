import Crypto
import Foundation
import SwiftASN1
import X509

/// What an issued certificate may be used for (its extendedKeyUsage).
public struct CertificatePurposes: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// TLS server (the API server, a kubelet's serving endpoint).
    public static let server = CertificatePurposes(rawValue: 1 << 0)
    /// TLS client (a node agent authenticating to the API server).
    public static let client = CertificatePurposes(rawValue: 1 << 1)
}

/// A certificate and its freshly generated key, ready to be written or handed to a TLS stack.
public struct IssuedCertificate: Sendable {
    public let certificate: Certificate
    public let certificatePEM: String
    /// PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), which NIOSSL, OpenSSL and Go all read.
    public let privateKeyPEM: String
}

/// The cluster's signing authority: a self-signed ECDSA P-256 CA certificate and its key.
///
/// One CA signs everything (API server, node agents) so that a single `certificate-authority-data`
/// in a kubeconfig, or one `ca.crt` on a node, is all any party needs to trust the cluster.
public struct CertificateAuthority: Sendable {
    public let certificate: Certificate
    public let certificatePEM: String
    let privateKey: P256.Signing.PrivateKey

    /// Certificates are back-dated by this much so that a node whose clock is a little behind
    /// the server's does not reject a certificate issued "in the future".
    static let clockSkewAllowance: TimeInterval = 60 * 60

    public static let defaultValidity: TimeInterval = 10 * 365 * 24 * 60 * 60

    /// Creates a new CA with subject `CN=swiftlet-ca@<unix time>`.
    ///
    /// The timestamp makes every cluster's CA name distinct, so a client holding an old cluster's
    /// CA gets a clear "unknown authority" rather than a confusing signature failure.
    public static func generate(
        commonName: String? = nil,
        validity: TimeInterval = defaultValidity,
        now: Date = Date()
    ) throws -> CertificateAuthority {
        let key = P256.Signing.PrivateKey()
        let signingKey = Certificate.PrivateKey(key)
        let name = try DistinguishedName {
            CommonName(commonName ?? "swiftlet-ca@\(Int(now.timeIntervalSince1970))")
        }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: signingKey.publicKey,
            notValidBefore: now - clockSkewAllowance,
            notValidAfter: now + validity,
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: signingKey.publicKey)
            },
            issuerPrivateKey: signingKey
        )
        return try CertificateAuthority(certificate: certificate, privateKey: key)
    }

    /// Loads a CA from PEM text, checking that the key matches and the certificate is a CA.
    ///
    /// - Parameters:
    ///   - certificateSource, keySource: used in error messages only (normally the file paths).
    public init(
        certificatePEM: String, privateKeyPEM: String,
        certificateSource: String = "CA certificate", keySource: String = "CA key"
    ) throws {
        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: certificatePEM)
        } catch {
            throw PKIError.invalidFile(path: certificateSource, reason: "cannot parse CA certificate: \(error)")
        }
        let key: P256.Signing.PrivateKey
        do {
            key = try P256.Signing.PrivateKey(pemRepresentation: privateKeyPEM)
        } catch {
            throw PKIError.invalidFile(path: keySource, reason: "not a PEM ECDSA P-256 private key: \(error)")
        }
        guard Certificate.PublicKey(key.publicKey) == certificate.publicKey else {
            throw PKIError.keyMismatch(certificatePath: certificateSource, keyPath: keySource)
        }
        guard case .isCertificateAuthority = try certificate.extensions.basicConstraints else {
            throw PKIError.invalidFile(path: certificateSource, reason: "certificate is not a CA (basicConstraints CA:FALSE or missing)")
        }
        self = try CertificateAuthority(certificate: certificate, privateKey: key)
    }

    private init(certificate: Certificate, privateKey: P256.Signing.PrivateKey) throws {
        self.certificate = certificate
        self.privateKey = privateKey
        self.certificatePEM = try certificate.serializeAsPEM().pemString
    }

    /// PKCS#8 PEM of the CA key, for writing `ca.key`.
    public var privateKeyPEM: String { privateKey.pemRepresentation }

    /// Issues a leaf certificate with a new P-256 key. Used for the API server's serving
    /// certificate and, later, for node agents' client/serving certificates.
    ///
    /// - Parameters:
    ///   - commonName: for client certificates this is the Kubernetes user name (e.g. `system:node:n1`).
    ///   - organizations: for client certificates these are the Kubernetes groups (e.g. `system:nodes`).
    ///   - names: SANs; required for server certificates, since clients verify SANs and ignore the CN.
    ///   - validity: clamped to the CA's own expiry, since a leaf outliving its issuer fails to verify anyway.
    public func issue(
        commonName: String,
        organizations: [String] = [],
        names: CertificateNames = CertificateNames(),
        purposes: CertificatePurposes,
        validity: TimeInterval = 365 * 24 * 60 * 60,
        now: Date = Date()
    ) throws -> IssuedCertificate {
        let key = P256.Signing.PrivateKey()
        let publicKey = Certificate.PublicKey(key.publicKey)
        let subject = try DistinguishedName {
            for organization in organizations { OrganizationName(organization) }
            CommonName(commonName)
        }
        var usages: [ExtendedKeyUsage.Usage] = []
        if purposes.contains(.server) { usages.append(.serverAuth) }
        if purposes.contains(.client) { usages.append(.clientAuth) }
        let authorityKeyID = try certificate.extensions.subjectKeyIdentifier?.keyIdentifier
            ?? SubjectKeyIdentifier(hash: certificate.publicKey).keyIdentifier

        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            if !usages.isEmpty {
                try ExtendedKeyUsage(usages)
            }
            if !names.isEmpty {
                SubjectAlternativeNames(names.generalNames)
            }
            SubjectKeyIdentifier(hash: publicKey)
            AuthorityKeyIdentifier(keyIdentifier: authorityKeyID)
        }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: publicKey,
            notValidBefore: now - Self.clockSkewAllowance,
            notValidAfter: min(now + validity, self.certificate.notValidAfter),
            issuer: self.certificate.subject,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions,
            issuerPrivateKey: Certificate.PrivateKey(privateKey)
        )
        return IssuedCertificate(
            certificate: certificate,
            certificatePEM: try certificate.serializeAsPEM().pemString,
            privateKeyPEM: key.pemRepresentation
        )
    }

    /// True if `certificate` names this CA as issuer and carries a valid signature from its key.
    /// Used to notice a serving certificate left over from a previous (replaced) CA.
    public func signed(_ certificate: Certificate) -> Bool {
        certificate.issuer == self.certificate.subject
            && self.certificate.publicKey.isValidSignature(certificate.signature, for: certificate)
    }
}

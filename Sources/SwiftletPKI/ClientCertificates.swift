import Foundation
import X509

/// Who a client certificate names, as upstream's x509 authenticator reads it: the subject's
/// common name is the user, each organization a group. Only certificates meant for client
/// authentication count (extended key usage `clientAuth`); the TLS layer has already checked
/// that the cluster CA signed it.
public enum ClientCertificates {
    public static func user(fromDER der: [UInt8]) -> (name: String, groups: [String])? {
        guard let certificate = try? Certificate(derEncoded: der),
              let usages = try? certificate.extensions.extendedKeyUsage, usages.contains(.clientAuth) else { return nil }
        var name: String?
        var groups: [String] = []
        for rdn in certificate.subject {
            for attribute in rdn {
                guard let value = String(attribute.value) else { continue }
                if attribute.type == .RDNAttributeType.commonName { name = value }
                if attribute.type == .RDNAttributeType.organizationName { groups.append(value) }
            }
        }
        guard let name, !name.isEmpty else { return nil }
        return (name, groups)
    }

    /// The user and expiry of a PEM client certificate (a node's stored credentials).
    public static func identity(pem: String) -> (name: String, groups: [String], notValidAfter: Date)? {
        guard let certificate = try? Certificate(pemEncoded: pem),
              let der = try? certificate.serializeAsPEM().derBytes, let user = user(fromDER: der) else { return nil }
        return (user.name, user.groups, certificate.notValidAfter)
    }
}

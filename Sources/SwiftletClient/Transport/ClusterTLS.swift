import NIOSSL

/// TLS between the cluster's own parts: peers are trusted because the cluster CA signed them,
/// not by name (servers and agents are dialled by address), and certificates name who is who.
extension TLSConfiguration {
    /// A client of the cluster, showing a client certificate when one is given.
    public static func clusterClient(caCertificatePEM: String, certificatePEM: String? = nil, keyPEM: String? = nil) throws -> TLSConfiguration {
        var config = TLSConfiguration.makeClientConfiguration()
        config.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caCertificatePEM.utf8)))
        config.certificateVerification = .noHostnameVerification
        if let certificatePEM, let keyPEM {
            config.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8)).map { .certificate($0) }
            config.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem))
        }
        return config
    }

    /// A server of the cluster that serves only clients with a certificate the cluster CA signed.
    public static func clusterServerRequiringClientCertificates(caCertificatePEM: String, certificatePEM: String,
                                                                keyPEM: String) throws -> TLSConfiguration {
        var config = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)))
        config.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caCertificatePEM.utf8)))
        config.certificateVerification = .noHostnameVerification
        return config
    }
}

import NIOCore
import NIOSSL
import SwiftletAPI
import SwiftletPKI

/// The user a connection's client certificate names. NIOSSL has verified the certificate
/// against the cluster CA during the handshake (a certificate is optional; one that does not
/// verify ends the handshake), so only the subject is read here.
enum ClientCertificateUser {
    static func user(_ certificate: NIOSSLCertificate?) -> UserInfo? {
        guard let der = try? certificate?.toDERBytes(), let user = ClientCertificates.user(fromDER: der) else { return nil }
        return UserInfo(name: user.name, groups: user.groups)
    }

    /// On the channel's event loop.
    static func user(onEventLoop channel: Channel) -> UserInfo? {
        user(try? channel.pipeline.syncOperations.nioSSL_peerCertificate())
    }

    static func user(of channel: Channel) async -> UserInfo? {
        user(try? await channel.nioSSL_peerCertificate().get())
    }
}

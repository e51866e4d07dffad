import Crypto
import Foundation

/// Service-account tokens as kube-apiserver issues them: JWTs signed by the cluster's
/// service-account key (ES256 here; upstream accepts RSA or EC keys), with upstream's claims
/// (`iss`, `sub` = `system:serviceaccount:NS:NAME`, `aud`, `exp`, `iat`, `nbf`, `jti`, and the
/// `kubernetes.io` object naming the namespace, the ServiceAccount and the pod it is bound to).
///
/// The key lives in `DATA_DIR/tls/service-account.key`, owner-only, and survives restarts, so
/// tokens stay valid until they expire.
public struct ServiceAccountTokens: Sendable {
    /// What kube-apiserver names itself by default (`--service-account-issuer`), and the
    /// audience a token gets when the request names none.
    public static let issuer = "https://kubernetes.default.svc.cluster.local"

    let key: P256.Signing.PrivateKey
    /// The JWT `kid`: base64url of the SHA-256 of the public key, as upstream derives it.
    public let keyID: String

    public init(key: P256.Signing.PrivateKey) {
        self.key = key
        keyID = Self.base64URL(Data(SHA256.hash(data: key.publicKey.derRepresentation)))
    }

    public static func loadOrCreate(dataDirectory: String) throws -> ServiceAccountTokens {
        let path = PKILayout(dataDirectory: dataDirectory).tlsDirectory + "/service-account.key"
        if let pem = try SecureFiles.readIfExists(path) {
            do { return ServiceAccountTokens(key: try P256.Signing.PrivateKey(pemRepresentation: pem)) } catch {
                throw PKIError.invalidFile(path: path, reason: "not an EC P-256 private key: \(error)")
            }
        }
        let key = P256.Signing.PrivateKey()
        try SecureFiles.writeAtomically(path, contents: key.pemRepresentation, mode: 0o600)
        return ServiceAccountTokens(key: key)
    }

    /// Who a token is for.
    public struct Subject: Sendable, Equatable {
        public var namespace: String
        public var name: String
        public var uid: String
        /// The pod it is bound to: it stops working when that pod goes.
        public var pod: (name: String, uid: String)?

        public init(namespace: String, name: String, uid: String, pod: (name: String, uid: String)? = nil) {
            self.namespace = namespace
            self.name = name
            self.uid = uid
            self.pod = pod
        }

        public static func == (a: Subject, b: Subject) -> Bool {
            a.namespace == b.namespace && a.name == b.name && a.uid == b.uid && a.pod?.name == b.pod?.name && a.pod?.uid == b.pod?.uid
        }
    }

    public struct Claims: Sendable, Equatable {
        public var subject: Subject
        public var audiences: [String]
        public var expires: Date
    }

    public func issue(_ subject: Subject, audiences: [String], now: Date, expiration: TimeInterval) throws -> (token: String, expires: Date) {
        let issued = Int(now.timeIntervalSince1970)
        let expires = issued + Int(expiration)
        var kubernetes: [String: Any] = [
            "namespace": subject.namespace,
            "serviceaccount": ["name": subject.name, "uid": subject.uid],
        ]
        if let pod = subject.pod { kubernetes["pod"] = ["name": pod.name, "uid": pod.uid] }
        let claims: [String: Any] = [
            "iss": Self.issuer, "sub": "system:serviceaccount:\(subject.namespace):\(subject.name)", "aud": audiences,
            "iat": issued, "nbf": issued, "exp": expires, "jti": UUID().uuidString.lowercased(), "kubernetes.io": kubernetes,
        ]
        let header = try JSONSerialization.data(withJSONObject: ["alg": "ES256", "kid": keyID], options: [.sortedKeys])
        let payload = try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys])
        let signingInput = Self.base64URL(header) + "." + Self.base64URL(payload)
        let signature = try key.signature(for: Data(signingInput.utf8))
        return (signingInput + "." + Self.base64URL(signature.rawRepresentation), Date(timeIntervalSince1970: TimeInterval(expires)))
    }

    /// The claims of a token this key signed, still within its lifetime and for one of
    /// `audiences`; nil for anything else (another issuer's token, a tampered or expired one).
    public func verify(_ token: String, audiences: [String], now: Date) -> Claims? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = Self.decodeBase64URL(parts[0]), let payloadData = Self.decodeBase64URL(parts[1]),
              let signatureData = Self.decodeBase64URL(parts[2]),
              let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any], header["alg"] as? String == "ES256",
              let signature = try? P256.Signing.ECDSASignature(rawRepresentation: signatureData),
              key.publicKey.isValidSignature(signature, for: Data((parts[0] + "." + parts[1]).utf8)),
              let claims = try? JSONSerialization.jsonObject(with: payloadData) as? [String: Any],
              claims["iss"] as? String == Self.issuer,
              let exp = (claims["exp"] as? NSNumber)?.doubleValue, let nbf = (claims["nbf"] as? NSNumber)?.doubleValue,
              now.timeIntervalSince1970 < exp, now.timeIntervalSince1970 + 60 >= nbf,
              let tokenAudiences = claims["aud"] as? [String], tokenAudiences.contains(where: audiences.contains),
              let kubernetes = claims["kubernetes.io"] as? [String: Any], let namespace = kubernetes["namespace"] as? String,
              let account = kubernetes["serviceaccount"] as? [String: Any], let name = account["name"] as? String,
              let uid = account["uid"] as? String,
              claims["sub"] as? String == "system:serviceaccount:\(namespace):\(name)" else { return nil }
        var pod: (name: String, uid: String)?
        if let boundPod = kubernetes["pod"] as? [String: Any], let podName = boundPod["name"] as? String, let podUID = boundPod["uid"] as? String {
            pod = (podName, podUID)
        }
        return Claims(subject: Subject(namespace: namespace, name: name, uid: uid, pod: pod), audiences: tokenAudiences,
                      expires: Date(timeIntervalSince1970: exp))
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decodeBase64URL(_ text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }
}

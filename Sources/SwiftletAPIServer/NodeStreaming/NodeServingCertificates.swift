import Foundation
import SwiftletAPI
import SwiftletMachinery
import SwiftletPKI

extension APIServer {
    /// Where a joining agent asks for the certificate its streaming port serves with.
    public static let nodeServingCertificatePath = "/v1-swiftlet/node-serving-certificate"
    /// Where an agent trades the join token for credentials of its own, or renews them.
    public static let nodeClientCertificatePath = "/v1-swiftlet/node-client-certificate"

    /// `POST /v1-swiftlet/node-client-certificate` with `{"nodeName": …, "nodePassword": …}`: a
    /// client certificate for `system:node:NAME` in `system:nodes`, as k3s's supervisor hands a
    /// kubelet its client certificate. The join token may ask for a node that has not joined, or
    /// one whose password it shows (`checkNodePassword`); a node's own credentials only renew
    /// themselves.
    func nodeClientCertificate(_ request: HTTPRequest, user: UserInfo) throws(APIError) -> HTTPResponse {
        guard let issue = config.issueNodeClientCertificate else { throw APIError.notFoundPath() }
        let (node, _, password) = try nodeCertificateRequest(request, kind: "NodeClientCertificateRequest", names: false)
        try Self.checkOwnNode(user, node)
        try checkNodePassword(node: node, password: password)
        do { return Self.issuedCertificate(try issue(node)) } catch {
            throw APIError.internalError("issuing the certificate: \(error)")
        }
    }

    /// `POST /v1-swiftlet/node-serving-certificate` with `{"nodeName": …, "nodePassword": …,
    /// "names": [addresses and host names]}`: a certificate and key for the node's streaming port, signed by the cluster
    /// CA, which the API server checks when it dials the node. Who may ask is RBAC's to say
    /// (`system:node` grants it to nodes).
    func nodeServingCertificate(_ request: HTTPRequest, user: UserInfo) throws(APIError) -> HTTPResponse {
        guard let issue = config.issueNodeServingCertificate else { throw APIError.notFoundPath() }
        let (node, names, password) = try nodeCertificateRequest(request, kind: "NodeServingCertificateRequest", names: true)
        try Self.checkOwnNode(user, node)
        try checkNodePassword(node: node, password: password)
        do { return Self.issuedCertificate(try issue(node, names)) } catch {
            throw APIError.invalid(group: "", kind: "NodeServingCertificateRequest", name: node,
                                   errors: [.invalid("names", .array(names.map { .string($0) }), "\(error)")])
        }
    }

    /// A node's own credentials ask only for that node's certificates.
    static func checkOwnNode(_ user: UserInfo, _ node: String) throws(APIError) {
        guard let own = user.nodeName, own != node else { return }
        throw APIError.forbidden(group: "", resource: "", name: nil,
                                 reason: "User \(GoText.quote(user.name)) cannot ask for the credentials of node \(GoText.quote(node))")
    }

    /// The node name (and, for a serving certificate, its addresses and names) a certificate
    /// request body asks for, validated.
    private func nodeCertificateRequest(_ request: HTTPRequest, kind: String, names wantsNames: Bool) throws(APIError)
        -> (node: String, names: [String], password: String) {
        guard request.method == .POST else { throw APIError.methodNotAllowed("only POST is served here") }
        let body: JSONValue
        do { body = try JSONParser.parse(request.body).value } catch {
            throw APIError.badRequest("the body is not JSON: \(error.message)")
        }
        let node = FieldRead.string(body["nodeName"])
        let names = FieldRead.strings(body["names"])
        let password = FieldRead.string(body["nodePassword"])
        var errors = NameFormat.dns1123Subdomain(node).map { FieldError.invalid("nodeName", .string(node), $0) }
        if password.isEmpty { errors.append(.required("nodePassword")) }
        if wantsNames, names.isEmpty || names.count > 32 {
            errors.append(.invalid("names", nil, "must name between 1 and 32 addresses or host names"))
        }
        guard errors.isEmpty else { throw APIError.invalid(group: "", kind: kind, name: node, errors: errors) }
        return (node, names, password)
    }

    /// k3s's node passwords: the first agent to ask for a node name leaves the hash of its
    /// password in the Secret `kube-system/NAME.node-password.swiftlet`; later requests for that
    /// name must show the same password while the Node exists (deleting the Node frees its name,
    /// as k3s removes the Secret with the Node).
    func checkNodePassword(node: String, password: String) throws(APIError) {
        guard let secrets = storage(for: Resources.secrets), let nodes = storage(for: Resources.nodes) else { return }
        let name = node + Self.nodePasswordSuffix
        let namespace = Self.nodePasswordNamespace
        let stored = secrets.cache.get(Resources.secrets.storageKey(namespace: namespace, name: name))?.object()
        let hash = stored.flatMap { Data(base64Encoded: FieldRead.string($0[path: "data", "hash"])) }.flatMap { $0.isEmpty ? nil : String(decoding: $0, as: UTF8.self) }
        if let hash, NodePasswords.verify(password, against: hash) { return }
        let nodeExists = nodes.cache.get(Resources.nodes.storageKey(namespace: nil, name: node)) != nil
        if hash != nil, nodeExists {
            throw APIError.forbidden(group: "", resource: "", name: nil, reason: """
                node password rejected: node \(GoText.quote(node)) joined with another password (its data dir's node-password); \
                a second machine needs a node name of its own (--node-name)
                """)
        }
        let data: JSONValue = ["hash": .string(Data(NodePasswords.hash(password).utf8).base64EncodedString())]
        if stored != nil {
            _ = try secrets.guaranteedUpdate(namespace: namespace, name: name, subresource: nil, dryRun: false, ownership: Self.bootstrapOwner) { current in
                var updated = current
                updated["data"] = data
                return updated
            }
        } else {
            _ = try secrets.create(namespace: namespace, object: [
                "apiVersion": "v1", "kind": "Secret", "type": .string(Self.nodePasswordSecretType),
                "metadata": ["name": .string(name), "namespace": .string(namespace)], "data": data,
            ], dryRun: false, ownership: Self.bootstrapOwner)
        }
    }

    static let nodePasswordNamespace = "kube-system"
    static let nodePasswordSuffix = ".node-password.swiftlet"
    static let nodePasswordSecretType = "swiftlet.io/node-password"

    private static func issuedCertificate(_ issued: (certificatePEM: String, keyPEM: String)) -> HTTPResponse {
        .json(["certificate": .string(issued.certificatePEM), "key": .string(issued.keyPEM)], status: .created)
    }
}

import SwiftletAPI
import SwiftletMachinery

extension APIServer {
    /// Where a joining agent asks for the certificate its streaming port serves with.
    public static let nodeServingCertificatePath = "/v1-swiftlet/node-serving-certificate"
    /// Where an agent trades the join token for credentials of its own, or renews them.
    public static let nodeClientCertificatePath = "/v1-swiftlet/node-client-certificate"

    /// `POST /v1-swiftlet/node-client-certificate` with `{"nodeName": …}`: a client certificate
    /// for `system:node:NAME` in `system:nodes`, as k3s's supervisor hands a kubelet its client
    /// certificate. The join token may ask for any node; a node's own credentials only renew
    /// themselves.
    func nodeClientCertificate(_ request: HTTPRequest, user: UserInfo) throws(APIError) -> HTTPResponse {
        guard let issue = config.issueNodeClientCertificate else { throw APIError.notFoundPath() }
        let (node, _) = try nodeCertificateRequest(request, kind: "NodeClientCertificateRequest", names: false)
        try Self.checkOwnNode(user, node)
        do { return Self.issuedCertificate(try issue(node)) } catch {
            throw APIError.internalError("issuing the certificate: \(error)")
        }
    }

    /// `POST /v1-swiftlet/node-serving-certificate` with `{"nodeName": …, "names": [addresses and
    /// host names]}`: a certificate and key for the node's streaming port, signed by the cluster
    /// CA, which the API server checks when it dials the node. Who may ask is RBAC's to say
    /// (`system:node` grants it to nodes).
    func nodeServingCertificate(_ request: HTTPRequest, user: UserInfo) throws(APIError) -> HTTPResponse {
        guard let issue = config.issueNodeServingCertificate else { throw APIError.notFoundPath() }
        let (node, names) = try nodeCertificateRequest(request, kind: "NodeServingCertificateRequest", names: true)
        try Self.checkOwnNode(user, node)
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
    private func nodeCertificateRequest(_ request: HTTPRequest, kind: String, names wantsNames: Bool) throws(APIError) -> (node: String, names: [String]) {
        guard request.method == .POST else { throw APIError.methodNotAllowed("only POST is served here") }
        let body: JSONValue
        do { body = try JSONParser.parse(request.body).value } catch {
            throw APIError.badRequest("the body is not JSON: \(error.message)")
        }
        let node = FieldRead.string(body["nodeName"])
        let names = FieldRead.strings(body["names"])
        var errors = NameFormat.dns1123Subdomain(node).map { FieldError.invalid("nodeName", .string(node), $0) }
        if wantsNames, names.isEmpty || names.count > 32 {
            errors.append(.invalid("names", nil, "must name between 1 and 32 addresses or host names"))
        }
        guard errors.isEmpty else { throw APIError.invalid(group: "", kind: kind, name: node, errors: errors) }
        return (node, names)
    }

    private static func issuedCertificate(_ issued: (certificatePEM: String, keyPEM: String)) -> HTTPResponse {
        .json(["certificate": .string(issued.certificatePEM), "key": .string(issued.keyPEM)], status: .created)
    }
}

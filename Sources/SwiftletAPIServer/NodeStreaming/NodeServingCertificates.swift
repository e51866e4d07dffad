import SwiftletAPI
import SwiftletMachinery

extension APIServer {
    /// Where a joining agent asks for the certificate its streaming port serves with.
    public static let nodeServingCertificatePath = "/v1-swiftlet/node-serving-certificate"

    /// `POST /v1-swiftlet/node-serving-certificate` with `{"nodeName": …, "names": [addresses and
    /// host names]}`: a certificate and key for the node's streaming port, signed by the cluster
    /// CA, which the API server checks when it dials the node. Who may ask is RBAC's to say
    /// (`system:node` grants it to nodes).
    func nodeServingCertificate(_ request: HTTPRequest) throws(APIError) -> HTTPResponse {
        guard request.method == .POST else { throw APIError.methodNotAllowed("only POST is served here") }
        guard let issue = config.issueNodeServingCertificate else { throw APIError.notFoundPath() }
        let body: JSONValue
        do { body = try JSONParser.parse(request.body).value } catch {
            throw APIError.badRequest("the body is not JSON: \(error.message)")
        }
        let node = FieldRead.string(body["nodeName"])
        let names = FieldRead.strings(body["names"])
        var errors = NameFormat.dns1123Subdomain(node).map { FieldError.invalid("nodeName", .string(node), $0) }
        if names.isEmpty || names.count > 32 { errors.append(.invalid("names", nil, "must name between 1 and 32 addresses or host names")) }
        guard errors.isEmpty else { throw APIError.invalid(group: "", kind: "NodeServingCertificateRequest", name: node, errors: errors) }
        do {
            let issued = try issue(node, names)
            return .json(["certificate": .string(issued.certificatePEM), "key": .string(issued.keyPEM)], status: .created)
        } catch {
            throw APIError.invalid(group: "", kind: "NodeServingCertificateRequest", name: node,
                                   errors: [.invalid("names", .array(names.map { .string($0) }), "\(error)")])
        }
    }
}

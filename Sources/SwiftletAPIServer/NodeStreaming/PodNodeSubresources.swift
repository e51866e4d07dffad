import SwiftletAPI
import NIOHTTP1
import SwiftletMachinery

/// The pod subresources that are served by the pod's node: `log`, and `exec`, `attach` and `portforward`
/// (WebSocket only).
extension APIServer {
    /// Serves `pods/{name}/{subresource}` when it is one of them; nil for the others.
    func podNodeSubresource(_ subresource: String, namespace: String, name: String, request: HTTPRequest) async throws(APIError) -> HTTPResponse? {
        if subresource == "log" {
            guard request.method == .GET else { throw Self.methodNotAllowed }
            return try await podLog(namespace: namespace, name: name, query: request.query)
        }
        if subresource == "portforward" {
            guard request.method == .GET || request.method == .POST else { throw Self.methodNotAllowed }
            _ = try portForwardTarget(namespace: namespace, name: name)
            throw APIError.badRequest("Upgrade request required")
        }
        guard let kind = RemoteCommandRequest.Kind(rawValue: subresource) else { return nil }
        guard request.method == .GET || request.method == .POST else { throw Self.methodNotAllowed }
        // Reached only without a WebSocket upgrade: the request is checked first, as upstream's connect handler does.
        _ = try remoteCommandTarget(kind, namespace: namespace, name: name, query: request.query)
        throw APIError.badRequest("Upgrade request required")
    }

    /// Takes the WebSocket upgrades of pods' exec and attach: authenticated and checked here, so that
    /// refusals are ordinary Status responses, then run by the pod's node agent. Other requests are
    /// not taken (nil) and are served as usual.
    public func webSocketUpgrade(_ request: HTTPRequest) async -> WebSocketUpgrade? {
        let path = request.path.hasSuffix("/") ? String(request.path.dropLast()) : request.path
        guard let target = APIRequestInfo(path: path), target.group == "", target.version == "v1", target.resource == "pods",
              let namespace = target.namespace, let name = target.name
        else { return nil }
        if target.subresource == "portforward" {
            guard authenticate(request) != nil else { return .refuse(.error(.unauthorized())) }
            return portForwardUpgrade(request, namespace: namespace, name: name)
        }
        guard let kind = target.subresource.flatMap(RemoteCommandRequest.Kind.init(rawValue:)) else { return nil }
        guard authenticate(request) != nil else { return .refuse(.error(.unauthorized())) }
        do throws(APIError) {
            let (command, location, backend) = try remoteCommandTarget(kind, namespace: namespace, name: name, query: request.query)
            let offered = RemoteCommandProtocol.offered(in: request.headers["sec-websocket-protocol"])
            guard let channelProtocol = RemoteCommandProtocol.negotiate(offered) else {
                let supported = RemoteCommandProtocol.allCases.map(\.rawValue).joined(separator: " ")
                throw APIError.badRequest("requested protocol(s) are not supported: [\(offered.joined(separator: " "))]; supports [\(supported)]")
            }
            let session = RemoteCommandSession(channelProtocol: channelProtocol, request: command) { streams throws(APIError) in
                switch command.kind {
                case .exec:
                    return try await backend.exec(pod: location.pod, container: location.container, command: command.command,
                                                  tty: command.tty, streams: streams)
                case .attach:
                    try await backend.attach(pod: location.pod, container: location.container, tty: command.tty, streams: streams)
                    return 0
                }
            }
            return .accept(subprotocol: offered.isEmpty ? nil : channelProtocol.rawValue, session: { await session.serve($0) })
        } catch {
            return .refuse(.error(error))
        }
    }

    /// `kubectl port-forward`: only its WebSocket tunnel for SPDY is taken. Anything else is refused without a 101,
    /// which is what makes client-go fall back to a plain SPDY upgrade, and that is refused in turn.
    private func portForwardUpgrade(_ request: HTTPRequest, namespace: String, name: String) -> WebSocketUpgrade {
        do throws(APIError) {
            let (pod, backend) = try portForwardTarget(namespace: namespace, name: name)
            let offered = RemoteCommandProtocol.offered(in: request.headers["sec-websocket-protocol"])
            guard offered.contains(PortForwardSession.subprotocol) else {
                throw APIError.badRequest("requested protocol(s) are not supported: [\(offered.joined(separator: " "))]; "
                    + "supports [\(PortForwardSession.subprotocol)]")
            }
            let session = PortForwardSession(pod: pod, backend: backend)
            return .accept(subprotocol: PortForwardSession.subprotocol, session: { await session.serve($0) })
        } catch {
            return .refuse(.error(error))
        }
    }

    /// The pod to forward to, and its node: it must be bound and running, as upstream's connect handler and
    /// kubectl check.
    private func portForwardTarget(namespace: String, name: String) throws(APIError) -> (PodReference, any NodeStreamingBackend) {
        let pod = try storage(for: Resources.pods)!.get(namespace: namespace, name: name).object()
        let node = pod[path: "spec", "nodeName"]?.stringValue ?? ""
        guard !node.isEmpty else { throw APIError.badRequest("pod \(name) does not have a host assigned") }
        let phase = pod[path: "status", "phase"]?.stringValue ?? ""
        guard phase == "Running" else {
            throw APIError.badRequest("unable to forward port because pod is not running. Current status=\(phase)")
        }
        let reference = PodReference(namespace: namespace, name: name, uid: pod[path: "metadata", "uid"]?.stringValue ?? "")
        return (reference, try streamingBackend(node: node))
    }

    /// The checks before an exec or attach, in upstream's order: options, pod and container, host, node.
    private func remoteCommandTarget(
        _ kind: RemoteCommandRequest.Kind, namespace: String, name: String, query: QueryParameters
    ) throws(APIError) -> (RemoteCommandRequest, PodContainerLocation, any NodeStreamingBackend) {
        let command = try RemoteCommandRequest(kind, query: query)
        let location = try locateContainer(namespace: namespace, name: name, container: command.container)
        guard !location.nodeName.isEmpty else { throw APIError.badRequest("pod \(name) does not have a host assigned") }
        // kubectl's own check, made here too for other clients: a finished pod has nothing to run in.
        if location.phase == "Succeeded" || location.phase == "Failed" {
            let action = kind == .exec ? "exec into" : "attach"
            throw APIError.badRequest("cannot \(action) a container in a completed pod; current phase is \(location.phase)")
        }
        return (command, location, try streamingBackend(node: location.nodeName))
    }

    private static let methodNotAllowed = APIError.methodNotAllowed("the server does not allow this method on the requested resource")
}

import SwiftletAPI
import SwiftletMachinery

/// Where a pod's container runs, found as upstream's `LogLocation` and `streamLocation` find it.
struct PodContainerLocation {
    var pod: PodReference
    var container: String
    /// Empty until the pod is scheduled.
    var nodeName: String
    var phase: String
}

extension APIServer {
    /// The pod, and the container named (or the only one): errors and wording as upstream's `validateContainer`.
    func locateContainer(namespace: String, name: String, container requested: String) throws(APIError) -> PodContainerLocation {
        let pod = try storage(for: Resources.pods)!.get(namespace: namespace, name: name).object()
        let spec = pod["spec"] ?? [:]
        let names = ["initContainers", "containers", "ephemeralContainers"].flatMap { list in
            (spec[list]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        }
        var container = requested
        if container.isEmpty {
            let regular = spec["containers"]?.arrayValue ?? []
            switch regular.count {
            case 1:
                container = regular[0]["name"]?.stringValue ?? ""
            case 0:
                throw APIError.badRequest("a container name must be specified for pod \(name)")
            default:
                throw APIError.badRequest("a container name must be specified for pod \(name), choose one of: [\(names.joined(separator: " "))]")
            }
        } else if !names.contains(container) {
            throw APIError.badRequest("container \(container) is not valid for pod \(name)")
        }
        return PodContainerLocation(
            pod: PodReference(namespace: namespace, name: name, uid: pod[path: "metadata", "uid"]?.stringValue ?? ""),
            container: container,
            nodeName: pod[path: "spec", "nodeName"]?.stringValue ?? "",
            phase: pod[path: "status", "phase"]?.stringValue ?? "")
    }

    /// The node agent of a node: a missing node is NotFound (as upstream's connection-info lookup); a node
    /// without an in-process agent is dialled at its InternalIP and advertised kubelet port, and one that
    /// advertises neither (or with no token to show) is the error of a backend that cannot be dialled.
    func streamingBackend(node: String) throws(APIError) -> any NodeStreamingBackend {
        if let backend = nodeStreaming.backend(for: node) { return backend }
        let object = try storage(for: Resources.nodes)!.get(namespace: nil, name: node).object()
        let addresses = object[path: "status", "addresses"]?.arrayValue ?? []
        let internalIP = addresses.first { $0["type"]?.stringValue == "InternalIP" }?["address"]?.stringValue
        let port = object[path: "status", "daemonEndpoints", "kubeletEndpoint", "Port"]?.intValue ?? 0
        guard let token = nodeStreaming.remoteToken, let tls = nodeStreaming.remoteTLS, let internalIP, !internalIP.isEmpty,
              port > 0, port <= 65535 else {
            throw APIError.internalError("error dialing backend: the node agent of node \"\(node)\" is not connected")
        }
        return RemoteNodeStreamingBackend(host: internalIP, port: Int(port), token: token, tls: tls)
    }
}

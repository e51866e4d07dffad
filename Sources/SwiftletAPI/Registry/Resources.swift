/// The names, scope and subresources of the resources Swiftlet knows. Clients and controllers
/// address resources through these; what the server does with each is its `ResourceType`
/// in `ResourceTypes`.
public enum Resources {
    static let allVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    static let statusVerbs = ["get", "patch", "update"]

    private static func make(
        _ group: String, _ version: String, _ resource: String, _ kind: String, namespaced: Bool = true,
        short: [String] = [], categories: [String] = [], verbs: [String] = allVerbs, status: Bool = false,
        scale: Bool = false, extra: [ResourceInfo.Subresource] = []
    ) -> ResourceInfo {
        var subs: [ResourceInfo.Subresource] = []
        if scale { subs.append(.init(name: "scale", group: "autoscaling", version: "v1", kind: "Scale", verbs: statusVerbs)) }
        if status { subs.append(.init(name: "status", group: group, version: version, kind: kind, verbs: statusVerbs)) }
        subs += extra
        return ResourceInfo(
            group: group, version: version, resource: resource, singular: kind.lowercased(), kind: kind,
            namespaced: namespaced, shortNames: short, categories: categories, verbs: verbs, subresources: subs)
    }

    public static let namespaces = make("", "v1", "namespaces", "Namespace", namespaced: false, short: ["ns"],
        verbs: ["create", "delete", "get", "list", "patch", "update", "watch"], status: true,
        extra: [.init(name: "finalize", group: "", version: "v1", kind: "Namespace", verbs: ["update"])])
    public static let nodes = make("", "v1", "nodes", "Node", namespaced: false, short: ["no"], status: true)
    public static let pods = make("", "v1", "pods", "Pod", short: ["po"], categories: ["all"], status: true, extra: [
        .init(name: "binding", group: "", version: "v1", kind: "Binding", verbs: ["create"]),
        .init(name: "log", group: "", version: "v1", kind: "Pod", verbs: ["get"]),
        .init(name: "exec", group: "", version: "v1", kind: "PodExecOptions", verbs: ["create", "get"]),
        .init(name: "attach", group: "", version: "v1", kind: "PodAttachOptions", verbs: ["create", "get"]),
        .init(name: "eviction", group: "policy", version: "v1", kind: "Eviction", verbs: ["create"]),
    ])
    public static let services = make("", "v1", "services", "Service", short: ["svc"], categories: ["all"],
        verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"], status: true)
    public static let endpoints = make("", "v1", "endpoints", "Endpoints", short: ["ep"])
    public static let configmaps = make("", "v1", "configmaps", "ConfigMap", short: ["cm"])
    public static let secrets = make("", "v1", "secrets", "Secret")
    public static let events = make("", "v1", "events", "Event", short: ["ev"])
    public static let serviceaccounts = make("", "v1", "serviceaccounts", "ServiceAccount", short: ["sa"], extra: [
        .init(name: "token", group: "authentication.k8s.io", version: "v1", kind: "TokenRequest", verbs: ["create"]),
    ])
    public static let replicationcontrollers = make("", "v1", "replicationcontrollers", "ReplicationController",
        short: ["rc"], categories: ["all"], status: true, scale: true)

    public static let deployments = make("apps", "v1", "deployments", "Deployment", short: ["deploy"], categories: ["all"], status: true, scale: true)
    public static let replicasets = make("apps", "v1", "replicasets", "ReplicaSet", short: ["rs"], categories: ["all"], status: true, scale: true)
    public static let daemonsets = make("apps", "v1", "daemonsets", "DaemonSet", short: ["ds"], categories: ["all"], status: true)
    public static let statefulsets = make("apps", "v1", "statefulsets", "StatefulSet", short: ["sts"], categories: ["all"], status: true, scale: true)
    public static let controllerrevisions = make("apps", "v1", "controllerrevisions", "ControllerRevision")

    public static let jobs = make("batch", "v1", "jobs", "Job", categories: ["all"], status: true)
    public static let cronjobs = make("batch", "v1", "cronjobs", "CronJob", short: ["cj"], categories: ["all"], status: true)
    public static let horizontalpodautoscalers = make("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler",
        short: ["hpa"], categories: ["all"], status: true)

    public static let endpointslices = make("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice")
    public static let leases = make("coordination.k8s.io", "v1", "leases", "Lease")
    public static let eventsAPI = make("events.k8s.io", "v1", "events", "Event", short: ["ev"])

    /// The resources the server serves, in the order discovery lists them.
    public static let all: [ResourceInfo] = ResourceTypes.builtIn.map(\.info)

    public static func lookup(apiVersion: String, kind: String) -> ResourceInfo? {
        all.first { $0.apiVersion == apiVersion && $0.kind == kind }
    }
}

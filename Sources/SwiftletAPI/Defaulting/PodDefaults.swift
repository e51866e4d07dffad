import SwiftletMachinery

/// Pod and pod-template defaulting: SetDefaults_PodSpec, _Container, _Probe, _Volume and the rest
/// that the generated SetObjectDefaults_* apply to everything inside a pod spec.
enum PodDefaults {
    typealias Edit = DefaultingEdit

    /// A Pod itself also gets SetDefaults_Pod, which templates do not (so that adding a field
    /// there does not change every workload's template and roll its pods).
    static func applyToPod(_ pod: inout JSONValue) {
        Edit.editObject(&pod, "spec", create: true) { spec in
            let hostNetwork = spec["hostNetwork"] == .bool(true)
            for key in ["containers", "initContainers"] {
                Edit.editEach(&spec, key) { container in
                    requestsFromLimits(&container)
                    if hostNetwork { hostPortsFromContainerPorts(&container) }
                }
            }
            Edit.setIfUnset(&spec, "enableServiceLinks", true)
            applyToSpec(&spec)
        }
    }

    /// The pod template of a workload (`spec.template`).
    static func applyToTemplate(_ template: inout JSONValue) {
        Edit.editObject(&template, "spec", create: true, applyToSpec)
    }

    static func applyToSpec(_ spec: inout JSONValue) {
        Edit.setIfEmpty(&spec, "dnsPolicy", "ClusterFirst")
        Edit.setIfEmpty(&spec, "restartPolicy", "Always")
        Edit.setIfUnset(&spec, "securityContext", .object(JSONObject()))
        Edit.setIfUnset(&spec, "terminationGracePeriodSeconds", 30)
        Edit.setIfEmpty(&spec, "schedulerName", "default-scheduler")
        Edit.editEach(&spec, "volumes", VolumeDefaults.apply)
        for key in ["initContainers", "containers", "ephemeralContainers"] {
            Edit.editEach(&spec, key, container)
        }
        roundResourceList(&spec, "overhead")
        Edit.editObject(&spec, "resources") { roundResourceList(&$0, "limits"); roundResourceList(&$0, "requests") }
    }

    static func container(_ container: inout JSONValue) {
        if Edit.isUnset(container["imagePullPolicy"]) || container["imagePullPolicy"] == .string("") {
            let image = container["image"]?.stringValue ?? ""
            container["imagePullPolicy"] = .string(ImageReference.tag(of: image) == "latest" ? "Always" : "IfNotPresent")
        }
        Edit.setIfEmpty(&container, "terminationMessagePath", "/dev/termination-log")
        Edit.setIfEmpty(&container, "terminationMessagePolicy", "File")
        Edit.editEach(&container, "ports") { Edit.setIfEmpty(&$0, "protocol", "TCP") }
        Edit.editEach(&container, "env") { env in
            Edit.editObject(&env, "valueFrom") { Edit.editObject(&$0, "fieldRef", fieldRef) }
        }
        // ResourceRequirements is a struct, not a pointer: Go always writes it, empty as `{}`.
        Edit.setIfUnset(&container, "resources", .object(JSONObject()))
        Edit.editObject(&container, "resources") { roundResourceList(&$0, "limits"); roundResourceList(&$0, "requests") }
        for key in ["livenessProbe", "readinessProbe", "startupProbe"] {
            Edit.editObject(&container, key, probe)
        }
        Edit.editObject(&container, "lifecycle") { lifecycle in
            Edit.editObject(&lifecycle, "postStart") { Edit.editObject(&$0, "httpGet", httpGet) }
            Edit.editObject(&lifecycle, "preStop") { Edit.editObject(&$0, "httpGet", httpGet) }
        }
    }

    static func probe(_ probe: inout JSONValue) {
        Edit.setIfZero(&probe, "timeoutSeconds", 1)
        Edit.setIfZero(&probe, "periodSeconds", 10)
        Edit.setIfZero(&probe, "successThreshold", 1)
        Edit.setIfZero(&probe, "failureThreshold", 3)
        Edit.editObject(&probe, "httpGet", httpGet)
        Edit.editObject(&probe, "grpc") { Edit.setIfUnset(&$0, "service", "") }
    }

    static func httpGet(_ action: inout JSONValue) {
        Edit.setIfEmpty(&action, "path", "/")
        Edit.setIfEmpty(&action, "scheme", "HTTP")
    }

    static func fieldRef(_ selector: inout JSONValue) {
        Edit.setIfEmpty(&selector, "apiVersion", "v1")
    }

    /// SetDefaults_ResourceList rounds each quantity up to thousandths; decoding and encoding
    /// also rewrites it in canonical form (`0.5` is stored as `500m`).
    static func roundResourceList(_ parent: inout JSONValue, _ key: String) {
        guard var list = parent[key]?.objectValue else { return }
        for (name, value) in list {
            if let quantity = Quantity(json: value) { list[name] = .string(quantity.roundedUpToMilli().description) }
        }
        parent[key] = .object(list)
    }

    /// Limits without requests become requests too, so a pod that sets only limits is Guaranteed.
    static func requestsFromLimits(_ container: inout JSONValue) {
        guard let limits = container[path: "resources", "limits"]?.objectValue else { return }
        var requests = container[path: "resources", "requests"]?.objectValue ?? JSONObject()
        for (name, value) in limits where requests[name] == nil { requests[name] = value }
        // An empty map is not serialized, so `limits: {}` adds no `requests`.
        if !requests.isEmpty { container[path: "resources", "requests"] = .object(requests) }
    }

    /// With host networking the container port is the host port.
    static func hostPortsFromContainerPorts(_ container: inout JSONValue) {
        Edit.editEach(&container, "ports") { port in
            if Edit.isUnset(port["hostPort"]) || port["hostPort"] == .int(0), let containerPort = port["containerPort"] {
                port["hostPort"] = containerPort
            }
        }
    }
}

import SwiftletMachinery

/// The `metav1.DeleteOptions` a controller sets.
public struct DeleteOptions: Sendable, Equatable {
    public enum PropagationPolicy: String, Sendable {
        case orphan = "Orphan", background = "Background", foreground = "Foreground"
    }

    public var gracePeriodSeconds: Int64?
    public var propagationPolicy: PropagationPolicy?
    /// Delete only if the object still has this uid: guards against deleting a recreated namesake.
    public var preconditionUID: String?
    /// Delete only if nobody has changed the object since it was read.
    public var preconditionResourceVersion: String?

    public init(gracePeriodSeconds: Int64? = nil, propagationPolicy: PropagationPolicy? = nil,
                preconditionUID: String? = nil, preconditionResourceVersion: String? = nil) {
        self.gracePeriodSeconds = gracePeriodSeconds
        self.propagationPolicy = propagationPolicy
        self.preconditionUID = preconditionUID
        self.preconditionResourceVersion = preconditionResourceVersion
    }

    var body: JSONValue {
        var body: JSONValue = ["kind": "DeleteOptions", "apiVersion": "v1"]
        if let gracePeriodSeconds { body["gracePeriodSeconds"] = .int(gracePeriodSeconds) }
        if let propagationPolicy { body["propagationPolicy"] = .string(propagationPolicy.rawValue) }
        if let preconditionUID { body[path: "preconditions", "uid"] = .string(preconditionUID) }
        if let preconditionResourceVersion { body[path: "preconditions", "resourceVersion"] = .string(preconditionResourceVersion) }
        return body
    }
}

import SwiftletAPI
import SwiftletMachinery

/// Upstream's ServiceAccount admission plugin (`plugin/pkg/admission/serviceaccount`), on pod
/// creation: the pod runs as a ServiceAccount that exists (`default` when it names none), gets
/// that account's image pull secrets when it names none of its own, and, unless the pod or the
/// account turns `automountServiceAccountToken` off, a projected `kube-api-access-*` volume (a
/// bound token the node requests and refreshes, the cluster CA, the namespace) mounted in every
/// container at `/var/run/secrets/kubernetes.io/serviceaccount`.
enum ServiceAccountAdmission {
    static let defaultName = "default"
    static let volumePrefix = "kube-api-access-"
    static let mountPath = "/var/run/secrets/kubernetes.io/serviceaccount"
    /// What upstream's admission asks for: one hour and seven seconds, which tells the
    /// API server the token came from admission rather than from a client.
    static let tokenExpirationSeconds: Int64 = 3607

    /// - Parameters:
    ///   - serviceAccount: looks a ServiceAccount up by namespace and name.
    ///   - volumeSuffix: the random end of the volume's name (`kube-api-access-xxxxx`).
    static func admit(_ pod: inout JSONValue, serviceAccount: (String, String) -> JSONValue?,
                      volumeSuffix: () -> String) throws(APIError) {
        let namespace = FieldRead.string(pod[path: "metadata", "namespace"])
        // `serviceAccount` is the deprecated spelling of `serviceAccountName`; the API keeps both.
        var name = FieldRead.string(pod[path: "spec", "serviceAccountName"])
        if name.isEmpty { name = FieldRead.string(pod[path: "spec", "serviceAccount"]) }
        if name.isEmpty { name = defaultName }
        pod[path: "spec", "serviceAccountName"] = .string(name)
        pod[path: "spec", "serviceAccount"] = .string(name)

        guard let account = serviceAccount(namespace, name) else {
            let podName = FieldRead.string(pod[path: "metadata", "name"])
            throw APIError.forbidden(group: "", resource: "pods", name: podName.isEmpty ? nil : podName,
                                     reason: "error looking up service account \(namespace)/\(name): serviceaccount \(GoText.quote(name)) not found")
        }
        if shouldMountToken(pod: pod, account: account) { mountToken(&pod, volumeSuffix: volumeSuffix) }
        copyImagePullSecrets(&pod, from: account)
    }

    /// The pod's own `automountServiceAccountToken` wins, then the account's; both unset mount.
    static func shouldMountToken(pod: JSONValue, account: JSONValue) -> Bool {
        if let own = pod[path: "spec", "automountServiceAccountToken"]?.boolValue { return own }
        return account["automountServiceAccountToken"]?.boolValue ?? true
    }

    /// Every container and init container without a mount at the path (or of the volume) gets
    /// one; the volume is added if some container needed it and the pod has none yet.
    private static func mountToken(_ pod: inout JSONValue, volumeSuffix: () -> String) {
        let volumes = pod[path: "spec", "volumes"]?.arrayValue ?? []
        let existing = volumes.compactMap { $0["name"]?.stringValue }.first { $0.hasPrefix(volumePrefix) }
        let volumeName = existing ?? volumePrefix + volumeSuffix()
        let mount: JSONValue = ["name": .string(volumeName), "readOnly": true, "mountPath": .string(mountPath)]
        var needed = false
        for list in ["initContainers", "containers"] {
            guard var containers = pod[path: "spec", list]?.arrayValue else { continue }
            for index in containers.indices {
                let mounts = containers[index]["volumeMounts"]?.arrayValue ?? []
                let present = mounts.contains { $0["name"]?.stringValue == volumeName || $0["mountPath"]?.stringValue == mountPath }
                guard !present else { continue }
                containers[index]["volumeMounts"] = .array(mounts + [mount])
                needed = true
            }
            pod[path: "spec", list] = .array(containers)
        }
        guard existing == nil, needed else { return }
        pod[path: "spec", "volumes"] = .array(volumes + [["name": .string(volumeName), "projected": tokenVolumeSource]])
    }

    /// Upstream's `TokenVolumeSource`, with its defaults written out as the API stores them.
    static let tokenVolumeSource: JSONValue = [
        "defaultMode": 420,
        "sources": [
            ["serviceAccountToken": ["expirationSeconds": .int(tokenExpirationSeconds), "path": "token"]],
            ["configMap": ["name": "kube-root-ca.crt", "items": [["key": "ca.crt", "path": "ca.crt"]]]],
            ["downwardAPI": ["items": [["path": "namespace", "fieldRef": ["apiVersion": "v1", "fieldPath": "metadata.namespace"]]]]],
        ],
    ]

    /// A pod that names no image pull secrets gets its ServiceAccount's, in their order.
    private static func copyImagePullSecrets(_ pod: inout JSONValue, from account: JSONValue) {
        guard (pod[path: "spec", "imagePullSecrets"]?.arrayValue ?? []).isEmpty else { return }
        let secrets = (account["imagePullSecrets"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }.filter { !$0.isEmpty }
        guard !secrets.isEmpty else { return }
        pod[path: "spec", "imagePullSecrets"] = .array(secrets.map { ["name": .string($0)] })
    }
}

extension APIServer {
    /// A namespace's `default` ServiceAccount is made by a controller just after the namespace,
    /// so a pod created right behind its namespace (one `kubectl apply` of both) would find
    /// none. As upstream's admission looks `default` up again for about a second, a pod create
    /// waits up to that long for it while the namespace exists and is not being deleted.
    func awaitDefaultServiceAccount(namespace: String) async {
        guard let accounts = storage(for: Resources.serviceaccounts), let namespaces = storage(for: Resources.namespaces) else { return }
        let key = Resources.serviceaccounts.storageKey(namespace: namespace, name: ServiceAccountAdmission.defaultName)
        let namespaceKey = Resources.namespaces.storageKey(namespace: nil, name: namespace)
        for _ in 0..<20 {
            if accounts.cache.get(key) != nil { return }
            guard let cached = namespaces.cache.get(namespaceKey), cached.object()[path: "metadata", "deletionTimestamp"] == nil
            else { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}

import Foundation
import SwiftletMachinery

/// The controllers that own pods: replication controllers, replica sets, deployments, daemon
/// sets, stateful sets, and the controller revisions the latter two keep.
enum WorkloadTables {
    static let replicationController = TablePrinter(
        columns: [
            TableFormat.name,
            TableFormat.column(
                "Desired", "integer",
                "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller"
            ),
            TableFormat.column(
                "Current", "integer",
                "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller"
            ),
            TableFormat.column("Ready", "integer", "The number of ready replicas for this replication controller."),
            TableFormat.age, TableFormat.containers, TableFormat.images,
            TableFormat.column(
                "Selector", "string",
                "Selector is a label query over pods that should match the Replicas count. If Selector is empty, it is defaulted to the labels present on the Pod template. Label keys and values that must match in order to be controlled by this replication controller, if empty defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
                priority: 1),
        ],
        cells: { rc, now in
            [
                TableFormat.objectName(rc), .int(TableFormat.int(rc[path: "spec", "replicas"])),
                .int(TableFormat.int(rc[path: "status", "replicas"])), .int(TableFormat.int(rc[path: "status", "readyReplicas"])),
                TableFormat.creationAge(rc, now: now),
            ] + TableFormat.containerCells(rc[path: "spec", "template", "spec"])
                + [.string(TableFormat.labels(rc[path: "spec", "selector"]))]
        })

    static let replicaSet = TablePrinter(
        columns: [
            TableFormat.name,
            TableFormat.column(
                "Desired", "integer",
                "Replicas is the number of desired pods. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset"
            ),
            TableFormat.column(
                "Current", "integer",
                "Replicas is the most recently observed number of non-terminating pods. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset"
            ),
            TableFormat.column(
                "Ready", "integer", "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition."),
            TableFormat.age, TableFormat.containers, TableFormat.images,
            TableFormat.column(
                "Selector", "string",
                "Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
                priority: 1),
        ],
        cells: { rs, now in
            [
                TableFormat.objectName(rs), .int(TableFormat.int(rs[path: "spec", "replicas"])),
                .int(TableFormat.int(rs[path: "status", "replicas"])), .int(TableFormat.int(rs[path: "status", "readyReplicas"])),
                TableFormat.creationAge(rs, now: now),
            ] + TableFormat.containerCells(rs[path: "spec", "template", "spec"])
                + [.string(TableFormat.labelSelector(rs[path: "spec", "selector"]))]
        })

    static let deployment = TablePrinter(
        columns: [
            TableFormat.name,
            TableFormat.column("Ready", "string", "Number of the pod with ready state"),
            TableFormat.column(
                "Up-to-date", "string",
                "Total number of non-terminating pods targeted by this deployment that have the desired template spec."),
            TableFormat.column(
                "Available", "string",
                "Total number of available non-terminating pods (ready for at least minReadySeconds) targeted by this deployment."
            ),
            TableFormat.age, TableFormat.containers, TableFormat.images,
            TableFormat.column(
                "Selector", "string",
                "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
                priority: 1),
        ],
        cells: { deployment, now in
            let ready = TableFormat.int(deployment[path: "status", "readyReplicas"])
            let desired = TableFormat.int(deployment[path: "spec", "replicas"])
            // Unlike the other printers, an absent selector prints empty rather than <none>.
            let selector = TableFormat.selectorString(deployment[path: "spec", "selector"]) ?? "<invalid>"
            return [
                TableFormat.objectName(deployment), .string("\(ready)/\(desired)"),
                .int(TableFormat.int(deployment[path: "status", "updatedReplicas"])),
                .int(TableFormat.int(deployment[path: "status", "availableReplicas"])),
                TableFormat.creationAge(deployment, now: now),
            ] + TableFormat.containerCells(deployment[path: "spec", "template", "spec"]) + [.string(selector)]
        })

    static let daemonSet = TablePrinter(
        columns: [
            TableFormat.name,
            TableFormat.column(
                "Desired", "integer",
                "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/"
            ),
            TableFormat.column(
                "Current", "integer",
                "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/"
            ),
            TableFormat.column(
                "Ready", "integer",
                "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready."
            ),
            TableFormat.column("Up-to-date", "integer", "The total number of nodes that are running updated daemon pod"),
            TableFormat.column(
                "Available", "integer",
                "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)"
            ),
            TableFormat.column(
                "Node Selector", "string",
                "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/"
            ),
            TableFormat.age, TableFormat.containers, TableFormat.images,
            TableFormat.column(
                "Selector", "string",
                "A label query over pods that are managed by the daemon set. Must match in order to be controlled. If empty, defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
                priority: 1),
        ],
        cells: { ds, now in
            let status = ds["status"]
            return [
                TableFormat.objectName(ds), .int(TableFormat.int(status?["desiredNumberScheduled"])),
                .int(TableFormat.int(status?["currentNumberScheduled"])), .int(TableFormat.int(status?["numberReady"])),
                .int(TableFormat.int(status?["updatedNumberScheduled"])), .int(TableFormat.int(status?["numberAvailable"])),
                .string(TableFormat.labels(ds[path: "spec", "template", "spec", "nodeSelector"])),
                TableFormat.creationAge(ds, now: now),
            ] + TableFormat.containerCells(ds[path: "spec", "template", "spec"])
                + [.string(TableFormat.labelSelector(ds[path: "spec", "selector"]))]
        })

    static let statefulSet = TablePrinter(
        columns: [
            TableFormat.name, TableFormat.column("Ready", "string", "Number of the pod with ready state"),
            TableFormat.age, TableFormat.containers, TableFormat.images,
        ],
        cells: { sts, now in
            let ready = TableFormat.int(sts[path: "status", "readyReplicas"])
            let desired = TableFormat.int(sts[path: "spec", "replicas"])
            return [TableFormat.objectName(sts), .string("\(ready)/\(desired)"), TableFormat.creationAge(sts, now: now)]
                + TableFormat.containerCells(sts[path: "spec", "template", "spec"])
        })

    static let controllerRevision = TablePrinter(
        columns: [
            TableFormat.name,
            TableFormat.column("Controller", "string", "Controller of the object"),
            TableFormat.column("Revision", "string", "revision indicates the revision of the state represented by Data."),
            TableFormat.age,
        ],
        cells: { revision, now in
            [
                TableFormat.objectName(revision), .string(controllerName(revision)),
                .int(TableFormat.int(revision["revision"])), TableFormat.creationAge(revision, now: now),
            ]
        })

    /// The controlling owner as `kind.group/name` in lower case (`statefulset.apps/web`), or
    /// `<none>`; formatResourceName over metav1.GetControllerOf.
    private static func controllerName(_ object: JSONValue) -> String {
        guard
            let owner = TableFormat.array(object[path: "metadata", "ownerReferences"]).first(where: {
                $0["controller"]?.boolValue == true
            })
        else { return "<none>" }
        let apiVersion = TableFormat.text(owner["apiVersion"])
        let group = apiVersion.contains("/") ? String(apiVersion.prefix { $0 != "/" }) : ""
        let kind = TableFormat.text(owner["kind"])
        let name = TableFormat.text(owner["name"])
        if group.isEmpty && kind.isEmpty { return name }
        return (group.isEmpty ? kind : "\(kind).\(group)").lowercased() + "/" + name
    }
}

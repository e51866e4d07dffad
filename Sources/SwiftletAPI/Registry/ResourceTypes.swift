import SwiftletMachinery

/// Every built-in resource, one entry each: what upstream's registry, defaulting, validation
/// and printers say about it. The API server serves `builtIn`; CustomResourceDefinitions add
/// entries of their own at run time.
public enum ResourceTypes {
    /// What the server serves, in discovery order.
    public static let builtIn: [ResourceType] = [
        namespaces, nodes, pods, services, endpoints, configMaps, secrets, events, serviceAccounts, replicationControllers,
        deployments, replicaSets, daemonSets, controllerRevisions, endpointSlices, leases, podDisruptionBudgets, customResourceDefinitions,
        roles, clusterRoles, roleBindings, clusterRoleBindings,
    ]

    /// Kinds whose defaulting, validation and printing are written but which are not served
    /// until their controllers exist: a Job that nothing runs would mislead.
    public static let awaitingControllers: [ResourceType] = [statefulSets, jobs, cronJobs, horizontalPodAutoscalers, eventsAPIEvents]

    // MARK: core/v1

    public static let namespaces = ResourceType(
        Resources.namespaces, defaults: CoreDefaults.namespace,
        validate: { o, _ in CoreValidation.namespace(o) + PodSecurity.validateLabels(o[path: "metadata", "labels"]?.objectValue) },
        table: ClusterTables.namespace, selectableFields: [SelectableField("status.phase")])

    public static let nodes = ResourceType(
        Resources.nodes, defaults: CoreDefaults.node, validate: { o, _ in CoreValidation.node(o) },
        table: ClusterTables.node, selectableFields: [SelectableField("spec.unschedulable", unset: "false")],
        keepsStatusOnCreate: true)

    public static let pods = ResourceType(
        Resources.pods, defaults: PodDefaults.applyToPod,
        validate: { o, old in
            PodSpecValidation.pod(o, creating: old == nil) + (old.map { PodUpdateValidation.validate(o, old: $0) } ?? [])
        },
        table: PodTable.printer,
        selectableFields: [
            SelectableField("spec.nodeName"), SelectableField("spec.restartPolicy"), SelectableField("spec.schedulerName"),
            SelectableField("spec.serviceAccountName"), SelectableField("spec.hostNetwork", unset: "false"),
            SelectableField("status.phase"), SelectableField("status.podIP"), SelectableField("status.nominatedNodeName"),
        ],
        tracksGeneration: true, returnsDeletedObject: true)

    public static let services = ResourceType(
        Resources.services, defaults: ServiceDefaults.apply,
        validate: { o, old in (old.map { ServiceAddressValidation.update(o, old: $0) } ?? []) + ServiceValidation.validate(o) },
        table: NetworkTables.service, returnsDeletedObject: true)

    public static let endpoints = ResourceType(Resources.endpoints, defaults: CoreDefaults.endpoints, table: NetworkTables.endpoints)

    public static let configMaps = ResourceType(
        Resources.configmaps, validate: { o, old in CoreValidation.configMap(o, old: old) }, table: ConfigTables.configMap)

    public static let secrets = ResourceType(
        Resources.secrets, defaults: CoreDefaults.secret, validate: { o, old in CoreValidation.secret(o, old: old) },
        table: ConfigTables.secret, selectableFields: [SelectableField("type")])

    public static let events = ResourceType(
        Resources.events, validate: { o, _ in CoreValidation.event(o) }, table: EventTable.core,
        selectableFields: [
            SelectableField("involvedObject.kind"), SelectableField("involvedObject.namespace"),
            SelectableField("involvedObject.name"), SelectableField("involvedObject.uid"),
            SelectableField("involvedObject.apiVersion"), SelectableField("involvedObject.resourceVersion"),
            SelectableField("involvedObject.fieldPath"), SelectableField("reason"), SelectableField("reportingComponent"),
            SelectableField("source", path: ["source", "component"]), SelectableField("type"),
        ])

    public static let serviceAccounts = ResourceType(Resources.serviceaccounts, table: ConfigTables.serviceAccount)

    public static let replicationControllers = ResourceType(
        Resources.replicationcontrollers, defaults: WorkloadDefaults.replicationController,
        validate: { o, _ in CoreValidation.replicationController(o) }, table: WorkloadTables.replicationController,
        selectableFields: [SelectableField("status.replicas")], tracksGeneration: true, scale: .replicationController)

    // MARK: apps/v1

    public static let deployments = ResourceType(
        Resources.deployments, defaults: WorkloadDefaults.deployment,
        validate: { o, old in AppsValidation.deployment(o) + immutableSelector(o, old) },
        table: WorkloadTables.deployment, tracksGeneration: true)

    public static let replicaSets = ResourceType(
        Resources.replicasets, defaults: WorkloadDefaults.replicaSet,
        validate: { o, old in AppsValidation.replicaSet(o) + immutableSelector(o, old) },
        table: WorkloadTables.replicaSet, selectableFields: [SelectableField("status.replicas")], tracksGeneration: true)

    public static let daemonSets = ResourceType(
        Resources.daemonsets, defaults: WorkloadDefaults.daemonSet,
        validate: { o, old in AppsValidation.daemonSet(o) + immutableSelector(o, old) },
        table: WorkloadTables.daemonSet, tracksGeneration: true)

    public static let statefulSets = ResourceType(
        Resources.statefulsets, defaults: WorkloadDefaults.statefulSet,
        validate: { o, old in AppsValidation.statefulSet(o) + (old.map { AppsValidation.statefulSetUpdate(o, old: $0) } ?? []) },
        table: WorkloadTables.statefulSet, tracksGeneration: true)

    public static let controllerRevisions = ResourceType(
        Resources.controllerrevisions,
        validate: { o, _ in
            var errors = ObjectMetaValidation.validate(o, rule: .subdomain)
            if !FieldRead.isSet(o["data"]) { errors.append(.required("data", "data is mandatory")) }
            return errors + CommonRules.nonNegative(o["revision"], ValidationPath("revision"))
        },
        table: WorkloadTables.controllerRevision)

    // MARK: batch/v1, autoscaling/v2

    public static let jobs = ResourceType(
        Resources.jobs, defaults: WorkloadDefaults.job, validate: { o, _ in BatchValidation.job(o) },
        table: BatchTables.job, tracksGeneration: true)

    public static let cronJobs = ResourceType(
        Resources.cronjobs, defaults: WorkloadDefaults.cronJob, validate: { o, _ in BatchValidation.cronJob(o) },
        table: BatchTables.cronJob, tracksGeneration: true)

    public static let horizontalPodAutoscalers = ResourceType(
        Resources.horizontalpodautoscalers, table: AutoscalingTables.horizontalPodAutoscaler)

    // MARK: other groups

    public static let endpointSlices = ResourceType(
        Resources.endpointslices, defaults: CoreDefaults.endpointSlice, table: NetworkTables.endpointSlice)

    public static let leases = ResourceType(Resources.leases, table: ClusterTables.lease)

    public static let eventsAPIEvents = ResourceType(Resources.eventsAPI, table: EventTable.eventsAPI)

    private static func immutableSelector(_ object: JSONValue, _ old: JSONValue?) -> [FieldError] {
        old.map { AppsValidation.immutableSelector(object, old: $0) } ?? []
    }
}

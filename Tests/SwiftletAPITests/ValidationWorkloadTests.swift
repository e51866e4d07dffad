import Testing
import SwiftletAPI
import SwiftletMachinery

/// Deployments, ReplicaSets, DaemonSets, StatefulSets, Jobs and ReplicationControllers.
struct ValidationWorkloadTests {
    static func deployment(selector: String? = #"{"matchLabels":{"app":"web"}}"#, labels: String = #"{"app":"web"}"#, spec: String = "") -> String {
        let selectorField = selector.map { #""selector":\#($0),"# } ?? ""
        return #"""
            {"metadata":{"name":"web"},"spec":{\#(selectorField)\#(spec)\#(spec.isEmpty ? "" : ",")
              "template":{"metadata":{"labels":\#(labels)},"spec":{"containers":[{"name":"web","image":"nginx"}]}}}}
            """#
    }

    @Test(arguments: [
        (deployment(selector: nil), ["spec.selector: Required value", #"spec.template.metadata.labels: Invalid value: {"app":"web"}: `selector` does not match template `labels`"#]),
        (deployment(labels: #"{"app":"api"}"#), [#"spec.template.metadata.labels: Invalid value: {"app":"api"}: `selector` does not match template `labels`"#]),
        (deployment(selector: "{}"), ["spec.selector: Invalid value: {}: empty selector is invalid for deployment"]),
        (deployment(selector: #"{"matchExpressions":[{"key":"app","operator":"In"}]}"#), [
            "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
            #"spec.selector: Invalid value: {"matchExpressions":[{"key":"app","operator":"In"}]}: invalid label selector"#,
        ]),
        (deployment(spec: #""replicas":-1"#), ["spec.replicas: Invalid value: -1: must be greater than or equal to 0"]),
        (deployment(spec: #""strategy":{"rollingUpdate":{"maxSurge":0,"maxUnavailable":0}}"#),
         ["spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"]),
        (deployment(spec: #""strategy":{"rollingUpdate":{"maxSurge":"25"}}"#), [#"spec.strategy.rollingUpdate.maxSurge: Invalid value: "25": "# + ValidationText.percent]),
        (deployment(spec: #""strategy":{"rollingUpdate":{"maxUnavailable":"120%"}}"#), [#"spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "120%": must not be greater than 100%"#]),
        (deployment(spec: #""strategy":{"type":"Blue"}"#), [#"spec.strategy: Unsupported value: {"Type":"Blue","RollingUpdate":null}: supported values: "Recreate", "RollingUpdate""#]),
        (deployment(spec: #""strategy":{"type":"Recreate","rollingUpdate":{"maxSurge":1}}"#), ["spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"]),
        (deployment(spec: #""progressDeadlineSeconds":10,"minReadySeconds":10"#), ["spec.progressDeadlineSeconds: Invalid value: 10: must be greater than minReadySeconds"]),
    ])
    func deployments(json: String, expected: [String]) throws {
        #expect(try validationMessages("apps", "Deployment", json) == expected)
    }

    @Test func templatesAreValidatedWithUpstreamPaths() throws {
        let json = #"""
            {"metadata":{"name":"web"},"spec":{"selector":{"matchLabels":{"app":"web"}},
              "template":{"metadata":{"labels":{"app":"web","bad":"a b"}},"spec":{"restartPolicy":"Never","activeDeadlineSeconds":5,"containers":[{"name":"web"}]}}}}
            """#
        #expect(try validationMessages("apps", "ReplicaSet", json) == [
            #"spec.template.labels: Invalid value: "a b": "# + ValidationText.labelValue,
            "spec.template.spec.containers[0].image: Required value",
            #"spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always""#,
            "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported",
        ])
    }

    @Test func selectorsCannotChange() throws {
        let old = Self.deployment()
        #expect(try validationMessages("apps", "Deployment", Self.deployment(spec: #""replicas":5"#), old: old) == [])
        #expect(try validationMessages("apps", "Deployment", Self.deployment(selector: #"{"matchLabels":{"app":"web","v":"2"}}"#, labels: #"{"app":"web","v":"2"}"#), old: old)
                == [#"spec.selector: Invalid value: {"matchLabels":{"app":"web","v":"2"}}: field is immutable"#])
        let rsOld = #"{"metadata":{"name":"rs"},"spec":{"selector":{"matchLabels":{"a":"1"},"matchExpressions":[]},"template":{"metadata":{"labels":{"a":"1"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}"#
        let rsNew = #"{"metadata":{"name":"rs"},"spec":{"selector":{"matchLabels":{"a":"1"}},"template":{"metadata":{"labels":{"a":"1"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}"#
        #expect(try validationMessages("apps", "ReplicaSet", rsNew, old: rsOld) == [])
    }

    @Test func daemonSets() throws {
        func daemonSet(_ strategy: String, selector: String = #""selector":{"matchLabels":{"app":"a"}},"#) -> String {
            #"{"metadata":{"name":"ds"},"spec":{\#(selector)"updateStrategy":\#(strategy),"template":{"metadata":{"labels":{"app":"a"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}"#
        }
        #expect(try validationMessages("apps", "DaemonSet", daemonSet(#"{"rollingUpdate":{"maxSurge":1,"maxUnavailable":1}}"#))
                == ["spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero"])
        #expect(try validationMessages("apps", "DaemonSet", daemonSet(#"{"rollingUpdate":{"maxSurge":0,"maxUnavailable":"0%"}}"#))
                == ["spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0"])
        #expect(try validationMessages("apps", "DaemonSet", daemonSet(#"{"type":"Surge"}"#))
                == [#"spec.updateStrategy: Unsupported value: {"Type":"Surge","RollingUpdate":null}: supported values: "RollingUpdate", "OnDelete""#])
        #expect(try validationMessages("apps", "DaemonSet", daemonSet(#"{"type":"OnDelete"}"#, selector: ""))
                == [#"spec.template.metadata.labels: Invalid value: {"app":"a"}: `selector` does not match template `labels`"#])
    }

    @Test func statefulSets() throws {
        let json = #"""
            {"metadata":{"name":"db"},"spec":{"replicas":-1,"podManagementPolicy":"Random","updateStrategy":{"type":"OnDelete","rollingUpdate":{"partition":1}},
              "template":{"metadata":{"labels":{"app":"db"}},"spec":{"containers":[]}}}}
            """#
        #expect(try validationMessages("apps", "StatefulSet", json) == [
            #"spec.podManagementPolicy: Invalid value: "Random": must be 'OrderedReady' or 'Parallel'"#,
            #"spec.updateStrategy.rollingUpdate: Invalid value: {"Partition":1,"MaxUnavailable":null}: only allowed for updateStrategy 'RollingUpdate'"#,
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
            "spec.selector: Required value",
            #"spec.template.metadata.labels: Invalid value: {"app":"db"}: `selector` does not match template `labels`"#,
        ])
        let old = #"{"metadata":{"name":"db"},"spec":{"serviceName":"db","selector":{"matchLabels":{"app":"db"}},"template":{"metadata":{"labels":{"app":"db"}}}}}"#
        let renamed = #"{"metadata":{"name":"db"},"spec":{"serviceName":"db2","replicas":3,"selector":{"matchLabels":{"app":"db"}},"template":{"metadata":{"labels":{"app":"db"}}}}}"#
        #expect(try validationMessages("apps", "StatefulSet", renamed, old: old) == [
            "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ])
    }

    @Test func jobsAndReplicationControllers() throws {
        #expect(try validationMessages("batch", "Job", #"{"metadata":{"name":"j"},"spec":{"template":{"spec":{"containers":[{"name":"c","image":"i"}]}}}}"#)
                == [#"spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never""#])
        #expect(try validationMessages("batch", "CronJob", #"{"metadata":{"name":"c"},"spec":{"jobTemplate":{"spec":{"template":{"spec":{"restartPolicy":"OnFailure","containers":[{"name":"c","image":"i"}]}}}}}}"#)
                == ["spec.schedule: Required value"])
        #expect(try validationMessages("", "ReplicationController", #"{"metadata":{"name":"rc"},"spec":{"selector":{"app":"a"},"template":{"metadata":{"labels":{"app":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}"#)
                == [#"spec.template.metadata.labels: Invalid value: {"app":"b"}: `selector` does not match template `labels`"#])
        #expect(try validationMessages("", "ReplicationController", #"{"metadata":{"name":"rc"},"spec":{}}"#)
                == ["spec.selector: Required value", "spec.template: Required value"])
    }
}

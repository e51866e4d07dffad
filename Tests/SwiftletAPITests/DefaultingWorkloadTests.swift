import Testing
import SwiftletAPI
import SwiftletMachinery

/// Minimal manifests, defaulted, against what kube-apiserver 1.34 stores for them (leaving out
/// what the server adds outside defaulting: uid, timestamps, status, admission fields).
struct DefaultingWorkloadTests {
    func defaulted(_ group: String, _ kind: String, _ json: String) throws -> JSONValue {
        var object = try JSONParser.parse(json)
        Catalogue.defaults(group: group, kind: kind, to: &object)
        return object
    }

    static let defaultedPodSpecFields = #""dnsPolicy":"ClusterFirst","restartPolicy":"Always","schedulerName":"default-scheduler","securityContext":{},"terminationGracePeriodSeconds":30"#

    @Test func deployment() throws {
        let object = try defaulted("apps", "Deployment", #"""
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"pi"},"spec":{
              "selector":{"matchLabels":{"app":"pi"}},
              "template":{"metadata":{"labels":{"app":"pi"}},"spec":{"containers":[{"name":"pi","image":"perl:5.34","ports":[{"containerPort":80}]}]}}}}
            """#)
        let expected = try JSONParser.parse(#"""
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"pi"},"spec":{
              "progressDeadlineSeconds":600,"replicas":1,"revisionHistoryLimit":10,
              "selector":{"matchLabels":{"app":"pi"}},
              "strategy":{"rollingUpdate":{"maxSurge":"25%","maxUnavailable":"25%"},"type":"RollingUpdate"},
              "template":{"metadata":{"labels":{"app":"pi"}},"spec":{
                "containers":[{"image":"perl:5.34","imagePullPolicy":"IfNotPresent","name":"pi","ports":[{"containerPort":80,"protocol":"TCP"}],
                  "resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File"}],
                \#(Self.defaultedPodSpecFields)}}}}
            """#)
        #expect(object == expected)
    }

    @Test func recreateDeploymentGetsNoRollingUpdate() throws {
        let object = try defaulted("apps", "Deployment", #"{"spec":{"replicas":0,"strategy":{"type":"Recreate"},"revisionHistoryLimit":2}}"#)
        #expect(object[path: "spec", "strategy"] == ["type": "Recreate"])
        #expect(object[path: "spec", "replicas"] == 0)
        #expect(object[path: "spec", "revisionHistoryLimit"] == 2)
    }

    @Test func partialRollingUpdateKeepsWhatWasGiven() throws {
        let object = try defaulted("apps", "Deployment", #"{"spec":{"strategy":{"rollingUpdate":{"maxSurge":1}}}}"#)
        #expect(object[path: "spec", "strategy"] == ["type": "RollingUpdate", "rollingUpdate": ["maxSurge": 1, "maxUnavailable": "25%"]])
    }

    @Test func daemonSetWithConfigMapAndHostPathVolumes() throws {
        let object = try defaulted("apps", "DaemonSet", #"""
            {"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"nginx"},"spec":{
              "selector":{"matchLabels":{"app":"nginx"}},
              "template":{"metadata":{"labels":{"app":"nginx"}},"spec":{
                "containers":[{"name":"nginx","image":"nginx:1.27","volumeMounts":[{"name":"conf","mountPath":"/etc/nginx/conf.d"},{"name":"logs","mountPath":"/var/log/nginx"}]}],
                "volumes":[{"name":"conf","configMap":{"name":"nginx-conf"}},{"name":"logs","hostPath":{"path":"/var/log/nginx"}},{"name":"scratch"}]}}}}
            """#)
        let expected = try JSONParser.parse(#"""
            {"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"nginx"},"spec":{
              "revisionHistoryLimit":10,
              "selector":{"matchLabels":{"app":"nginx"}},
              "updateStrategy":{"rollingUpdate":{"maxSurge":0,"maxUnavailable":1},"type":"RollingUpdate"},
              "template":{"metadata":{"labels":{"app":"nginx"}},"spec":{
                "containers":[{"image":"nginx:1.27","imagePullPolicy":"IfNotPresent","name":"nginx","resources":{},
                  "terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File",
                  "volumeMounts":[{"mountPath":"/etc/nginx/conf.d","name":"conf"},{"mountPath":"/var/log/nginx","name":"logs"}]}],
                \#(Self.defaultedPodSpecFields),
                "volumes":[{"configMap":{"defaultMode":420,"name":"nginx-conf"},"name":"conf"},
                           {"hostPath":{"path":"/var/log/nginx","type":""},"name":"logs"},
                           {"emptyDir":{},"name":"scratch"}]}}}}
            """#)
        #expect(object == expected)
    }

    @Test func replicaSetAndReplicationController() throws {
        let rs = try defaulted("apps", "ReplicaSet", #"{"spec":{"template":{"spec":{"containers":[]}}}}"#)
        #expect(rs[path: "spec", "replicas"] == 1)
        #expect(rs[path: "spec", "template", "spec", "dnsPolicy"] == "ClusterFirst")

        let rc = try defaulted("", "ReplicationController", #"{"metadata":{"name":"rc"},"spec":{"template":{"metadata":{"labels":{"app":"a"}},"spec":{"containers":[]}}}}"#)
        #expect(rc[path: "spec", "selector"] == ["app": "a"])
        #expect(rc[path: "metadata", "labels"] == ["app": "a"])
        #expect(rc[path: "spec", "replicas"] == 1)

        let rcWithSelector = try defaulted("", "ReplicationController", #"{"metadata":{"labels":{"x":"y"}},"spec":{"selector":{"app":"b"},"template":{"metadata":{"labels":{"app":"b","v":"1"}}}}}"#)
        #expect(rcWithSelector[path: "spec", "selector"] == ["app": "b"])
        #expect(rcWithSelector[path: "metadata", "labels"] == ["x": "y"])
    }

    @Test func statefulSet() throws {
        let object = try defaulted("apps", "StatefulSet", #"""
            {"spec":{"serviceName":"web","selector":{"matchLabels":{"app":"web"}},
              "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"nginx"}]}},
              "volumeClaimTemplates":[{"metadata":{"name":"www"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}]}}
            """#)
        let spec = try #require(object["spec"])
        #expect(spec["podManagementPolicy"] == "OrderedReady")
        #expect(spec["updateStrategy"] == ["type": "RollingUpdate", "rollingUpdate": ["partition": 0]])
        #expect(spec["persistentVolumeClaimRetentionPolicy"] == ["whenDeleted": "Retain", "whenScaled": "Retain"])
        #expect(spec["replicas"] == 1)
        #expect(spec["revisionHistoryLimit"] == 10)
        #expect(spec[path: "template", "spec", "containers"]?[0]?["imagePullPolicy"] == "Always")
        let claim = try JSONParser.parse(#"""
            {"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"www"},
             "spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}},"volumeMode":"Filesystem"},
             "status":{"phase":"Pending"}}
            """#)
        #expect(spec["volumeClaimTemplates"] == [claim])
    }

    @Test func onDeleteStatefulSetKeepsNoRollingUpdate() throws {
        let object = try defaulted("apps", "StatefulSet", #"{"spec":{"updateStrategy":{"type":"OnDelete"}}}"#)
        #expect(object[path: "spec", "updateStrategy"] == ["type": "OnDelete"])
    }

    @Test func jobAndCronJob() throws {
        let job = try defaulted("batch", "Job", #"""
            {"metadata":{"name":"pi"},"spec":{"template":{"metadata":{"labels":{"app":"pi"}},"spec":{"restartPolicy":"Never","containers":[{"name":"pi","image":"perl:5.34"}]}}}}
            """#)
        let spec = try #require(job["spec"])
        #expect(job[path: "metadata", "labels"] == ["app": "pi"])
        for (key, value) in [("completions", 1), ("parallelism", 1), ("backoffLimit", 6), ("completionMode", "NonIndexed"),
                             ("suspend", false), ("podReplacementPolicy", "TerminatingOrFailed"), ("manualSelector", false)] as [(String, JSONValue)] {
            #expect(spec[key] == value, "\(key)")
        }
        #expect(spec[path: "template", "spec", "restartPolicy"] == "Never")

        let parallel = try defaulted("batch", "Job", #"{"spec":{"parallelism":3,"backoffLimitPerIndex":1,"podFailurePolicy":{"rules":[]}}}"#)
        #expect(parallel[path: "spec", "completions"] == nil)
        #expect(parallel[path: "spec", "backoffLimit"] == 2_147_483_647)
        #expect(parallel[path: "spec", "podReplacementPolicy"] == "Failed")

        let cron = try defaulted("batch", "CronJob", #"""
            {"spec":{"schedule":"* * * * *","jobTemplate":{"spec":{"template":{"spec":{"restartPolicy":"OnFailure","containers":[{"name":"c","image":"busybox"}]}}}}}}
            """#)
        #expect(cron[path: "spec", "concurrencyPolicy"] == "Allow")
        #expect(cron[path: "spec", "suspend"] == false)
        #expect(cron[path: "spec", "successfulJobsHistoryLimit"] == 3)
        #expect(cron[path: "spec", "failedJobsHistoryLimit"] == 1)
        #expect(cron[path: "spec", "jobTemplate", "spec", "backoffLimit"] == nil)
        #expect(cron[path: "spec", "jobTemplate", "spec", "template", "spec", "dnsPolicy"] == "ClusterFirst")
    }
}

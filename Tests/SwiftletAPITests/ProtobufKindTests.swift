@testable import SwiftletAPI
import SwiftletMachinery
import SwiftletTestSupport
import Testing

/// Bodies as kubectl's typed commands send them. The hex vectors were made with `protoc --encode`
/// from the v0.34.0 generated.proto files and the text shown (writing every non-pointer field,
/// as Go's marshalers do), then wrapped in `k8s\0` + runtime.Unknown. The expected JSON is what
/// Go's encoder writes for the same object, member order included: no empty omitempty fields,
/// and since 1.34 (`omitzero`) no `creationTimestamp: null`.
@Suite struct ProtobufKindTests {
    @Test func namespaceAsKubectlCreateNamespaceSendsIt() throws {
        // metadata { name: "x" generateName: "" namespace: "" selfLink: "" uid: "" resourceVersion: ""
        //   generation: 0 creationTimestamp {} } spec {} status { phase: "" }
        let body = PB.hex("6b3873000a0f0a02763112094e616d65737061636512190a110a017812001a0022002a00320038004200"
            + "12001a020a001a002200")
        #expect(try PB.json(body)
            == #"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"},"spec":{},"status":{}}"#)
    }

    @Test func deploymentAsKubectlCreateDeploymentSendsIt() throws {
        // kubectl create deployment web --image=nginx --replicas=2: metadata with labels, spec
        // { replicas: 2 selector { matchLabels } template { metadata, spec { containers { name image
        // resources {} and the empty non-pointer fields } and PodSpec's } } strategy { type: "" }
        // minReadySeconds: 0 paused: false } status { six zero counters }.
        let body = PB.hex("6b3873000a150a07617070732f7631120a4465706c6f796d656e7412ab010a1f0a0377656212001a0022"
            + "002a003200380042005a0a0a036170701203776562127a0802120c0a0a0a0361707012037765621a600a1c0a0012"
            + "001a0022002a003200380042005a0a0a036170701203776562124012220a056e67696e7812056e67696e782a0042"
            + "006a007200800100880100900100a201001a00320042004a0052005800600068008201008a01009a0100c2010022"
            + "020a00280038001a0c0800100018002000280038001a002200")
        #expect(try PB.json(body) == #"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","#
            + #""labels":{"app":"web"}},"spec":{"replicas":2,"selector":{"matchLabels":"#
            + #"{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":"#
            + #"{"containers":[{"name":"nginx","image":"nginx","resources":{}}]}},"strategy":{}},"status":{}}"#)
    }

    @Test func serviceWithBothFormsOfTargetPort() throws {
        // spec { ports { name: "80-8080" protocol: "TCP" port: 80 targetPort { type: 0 intVal: 8080
        //   strVal: "" } nodePort: 0 } ports { name: "https" … port: 443 targetPort { type: 1 intVal: 0
        //   strVal: "https" } } selector { app: web } clusterIP: "" type: "ClusterIP" … }
        // status { loadBalancer {} }
        let body = PB.hex("6b3873000a0d0a0276311207536572766963651289010a1f0a0377656212001a0022002a00320038004200"
            + "5a0a0a03617070120377656212620a1b0a0738302d38303830120354435018502207080010903f1a0028000a1e0a"
            + "056874747073120354435018bb03220b080110001a0568747470732800120a0a0361707012037765621a00220943"
            + "6c757374657249503a00420052005a00600068001a020a001a002200")
        #expect(try PB.json(body) == #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","#
            + #""labels":{"app":"web"}},"spec":{"ports":[{"name":"80-8080","protocol":"#
            + #""TCP","port":80,"targetPort":8080},{"name":"https","protocol":"TCP","port":443,"targetPort":"#
            + #""https"}],"selector":{"app":"web"},"type":"ClusterIP"},"status":{"loadBalancer":{}}}"#)
    }

    @Test func podWithTimesInlinedMembersQuantitiesAndPointerZeros() throws {
        // creationTimestamp, status.startTime and a condition's lastTransitionTime at 1795544400
        // (2026-11-24T18:20:00Z), lastProbeTime {}; a volume { name volumeSource { emptyDir } }; an env
        // var from configMapKeyRef { localObjectReference { name } key }; resources with Quantities;
        // terminationGracePeriodSeconds: 0 and tolerationSeconds: 0, which are pointers in Go.
        let body = PB.hex("6b3873000a090a0276311203506f6412ea020a1e0a017012001a0764656661756c7422002a0032003800"
            + "420608d0aa97d806128b020a0f0a0773637261746368120412020a00129c010a0163120762757379626f781a0273"
            + "681a022d631a07736c65657020312a00320d0a001000185022035443502a003a1e0a044d4f444512001a141a120a"
            + "0a0a0873657474696e677312046d6f646542210a0d0a0363707512060a043530306d12100a066d656d6f72791206"
            + "0a0436344d694a190a077363726174636810001a082f73637261746368220032006a007200800100880100900100"
            + "a201001a054e657665722000320042004a0052005800600068008201008a01009a0100b201350a1c6e6f64652e6b"
            + "756265726e657465732e696f2f6e6f742d726561647912064578697374731a0022094e6f457865637574652800c2"
            + "01001a3a0a0752756e6e696e67121b0a0552656164791204547275651a00220608d0aa97d8062a0032001a002200"
            + "2a0032003a0608d0aa97d8064a005a001a002200")
        #expect(try PB.json(body) == #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"#
            + #""default","creationTimestamp":"2026-11-24T18:20:00Z"},"spec":{"volumes":[{"name":"scratch","#
            + #""emptyDir":{}}],"containers":[{"name":"c","image":"busybox","command":["sh","-c","sleep 1"],"#
            + #""ports":[{"containerPort":80,"protocol":"TCP"}],"env":[{"name":"MODE","valueFrom":{"#
            + #""configMapKeyRef":{"name":"settings","key":"mode"}}}],"resources":{"limits":{"cpu":"500m"},"#
            + #""requests":{"memory":"64Mi"}},"volumeMounts":[{"name":"scratch","mountPath":"/scratch"}]}],"#
            + #""restartPolicy":"Never","terminationGracePeriodSeconds":0,"tolerations":[{"key":"#
            + #""node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":0}]},"#
            + #""status":{"phase":"Running","conditions":[{"type":"Ready","status":"True","lastProbeTime":null,"#
            + #""lastTransitionTime":"2026-11-24T18:20:00Z"}],"startTime":"2026-11-24T18:20:00Z"}}"#)
    }

    @Test func evictionWithDeleteOptions() throws {
        // metadata { name: "web-1" namespace: "default" … } deleteOptions { gracePeriodSeconds: 30
        //   dryRun: "All" }
        let body = PB.hex("6b3873000a150a09706f6c6963792f763112084576696374696f6e12270a1c0a057765622d3112001a07"
            + "64656661756c7422002a003200380042001207081e2a03416c6c1a002200")
        #expect(try PB.json(body) == #"{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"web-1","#
            + #""namespace":"default"},"deleteOptions":{"gracePeriodSeconds":30,"#
            + #""dryRun":["All"]}}"#)
    }

    @Test func configMapWithDataBinaryDataAndLabels() throws {
        let body = PB.body("v1", "ConfigMap", [
            PB.objectMeta(name: "settings", namespace: "default", labels: [("app", "web"), ("tier", "db")]),
            .entry(2, "mode", "fast"), .entry(2, "level", ""),
            .message(3, [.string(1, "blob"), .bytes(2, [0xFF, 0x00, 0x10])]),
        ])
        #expect(try PB.json(body) == #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings","#
            + #""namespace":"default","labels":{"app":"web","tier":"db"}},"#
            + #""data":{"mode":"fast","level":""},"binaryData":{"blob":"/wAQ"}}"#)
    }

    @Test func secretDataIsBase64() throws {
        // kubectl create secret generic s --from-literal=k=v, plus a binary value and stringData.
        let body = PB.body("v1", "Secret", [
            PB.objectMeta(name: "s"),
            .message(2, [.string(1, "k"), .string(2, "v")]),
            .message(2, [.string(1, "bin"), .bytes(2, [0x00, 0xFF, 0xFE, 0x01])]),
            .message(2, [.string(1, "empty")]),
            .string(3, "Opaque"),
            .entry(4, "plain", "text"),
        ])
        #expect(try PB.json(body) == #"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"#
            + #""data":{"k":"dg==","bin":"AP/+AQ==","empty":""},"#
            + #""stringData":{"plain":"text"},"type":"Opaque"}"#)
    }

    @Test func deleteOptionsUnderEveryServedGroup() throws {
        for apiVersion in ["v1", "apps/v1", "batch/v1", "meta.k8s.io/v1"] {
            let body = PB.body(apiVersion, "DeleteOptions", [.int(1, 0), .string(4, "Foreground")])
            #expect(try KubernetesProtobuf.decode(body)
                == ["apiVersion": .string(apiVersion), "kind": "DeleteOptions", "gracePeriodSeconds": 0,
                    "propagationPolicy": "Foreground"])
        }
    }
}

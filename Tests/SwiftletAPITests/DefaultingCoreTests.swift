import Testing
import SwiftletAPI
import SwiftletMachinery

/// Pods, Services and the smaller core kinds, defaulted, against what kube-apiserver 1.34 stores.
struct DefaultingCoreTests {
    func defaulted(_ group: String, _ kind: String, _ json: String) throws -> JSONValue {
        var object = try JSONParser.parse(json)
        Catalogue.defaults(group: group, kind: kind, to: &object)
        return object
    }

    @Test func pod() throws {
        let object = try defaulted("", "Pod", #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"nginx"},"spec":{"containers":[{"name":"nginx","image":"nginx"}]}}"#)
        let expected = try JSONParser.parse(#"""
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"nginx"},"spec":{
              "containers":[{"image":"nginx","imagePullPolicy":"Always","name":"nginx","resources":{},
                "terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File"}],
              "dnsPolicy":"ClusterFirst","enableServiceLinks":true,"restartPolicy":"Always","schedulerName":"default-scheduler",
              "securityContext":{},"terminationGracePeriodSeconds":30}}
            """#)
        #expect(object == expected)
    }

    @Test func templatesGetNoPodOnlyDefaults() throws {
        let object = try defaulted("apps", "ReplicaSet", #"""
            {"spec":{"template":{"spec":{"hostNetwork":true,"containers":[{"name":"c","image":"x:1","ports":[{"containerPort":8080}],"resources":{"limits":{"cpu":"1"}}}]}}}}
            """#)
        let spec = try #require(object[path: "spec", "template", "spec"])
        #expect(spec["enableServiceLinks"] == nil)
        #expect(spec["containers"]?[0]?["ports"] == [["containerPort": 8080, "protocol": "TCP"]])
        #expect(spec["containers"]?[0]?["resources"] == ["limits": ["cpu": "1"]])
    }

    @Test func podOnlyDefaults() throws {
        let object = try defaulted("", "Pod", #"""
            {"spec":{"hostNetwork":true,"enableServiceLinks":false,"containers":[{"name":"c","image":"x:1","ports":[{"containerPort":8080}],
              "resources":{"limits":{"cpu":"0.5","memory":"128Mi"},"requests":{"memory":"64Mi"}}}],
              "initContainers":[{"name":"i","image":"x:1","resources":{"limits":{}}}]}}
            """#)
        let spec = try #require(object["spec"])
        #expect(spec["enableServiceLinks"] == false)
        #expect(spec["containers"]?[0]?["ports"] == [["containerPort": 8080, "hostPort": 8080, "protocol": "TCP"]])
        #expect(spec["containers"]?[0]?["resources"] == ["limits": ["cpu": "500m", "memory": "128Mi"], "requests": ["memory": "64Mi", "cpu": "500m"]])
        #expect(spec["initContainers"]?[0]?["resources"] == ["limits": [:]])
    }

    @Test(arguments: [
        ("nginx", "Always"), ("nginx:latest", "Always"), ("nginx:1.27", "IfNotPresent"),
        ("registry.local:5000/team/app", "Always"), ("registry.local:5000/team/app:v2", "IfNotPresent"),
        ("busybox@sha256:8c7a57e2c1d3c3fbf2d48dc1b3f3b6fa6cce1b0e1d8ce7ab5a5ee2b6c4cbd7a1", "IfNotPresent"),
        ("busybox:latest@sha256:8c7a57e2c1d3c3fbf2d48dc1b3f3b6fa6cce1b0e1d8ce7ab5a5ee2b6c4cbd7a1", "Always"),
        ("Nginx", "IfNotPresent"), ("", "IfNotPresent"),
    ])
    func imagePullPolicy(image: String, policy: String) throws {
        var pod: JSONValue = ["spec": ["containers": [["name": "c", "image": .string(image)]]]]
        Catalogue.defaults(group: "", kind: "Pod", to: &pod)
        #expect(pod[path: "spec", "containers"]?[0]?["imagePullPolicy"] == .string(policy))
    }

    @Test func probesEnvAndLifecycle() throws {
        let object = try defaulted("", "Pod", #"""
            {"spec":{"containers":[{"name":"c","image":"x:1",
              "livenessProbe":{"httpGet":{"port":8080}},
              "readinessProbe":{"tcpSocket":{"port":80},"periodSeconds":5,"timeoutSeconds":0},
              "startupProbe":{"grpc":{"port":9000}},
              "lifecycle":{"preStop":{"httpGet":{"port":80,"path":"/quit"}}},
              "env":[{"name":"NODE","valueFrom":{"fieldRef":{"fieldPath":"spec.nodeName"}}},{"name":"PLAIN","value":"x"}]}]}}
            """#)
        let container = try #require(object[path: "spec", "containers"]?[0])
        #expect(container["livenessProbe"] == ["httpGet": ["port": 8080, "path": "/", "scheme": "HTTP"],
                                               "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3])
        #expect(container["readinessProbe"] == ["tcpSocket": ["port": 80], "timeoutSeconds": 1, "periodSeconds": 5, "successThreshold": 1, "failureThreshold": 3])
        #expect(container[path: "startupProbe", "grpc"] == ["port": 9000, "service": ""])
        #expect(container[path: "lifecycle", "preStop", "httpGet"] == ["port": 80, "path": "/quit", "scheme": "HTTP"])
        #expect(container["env"]?[0]?[path: "valueFrom", "fieldRef"] == ["fieldPath": "spec.nodeName", "apiVersion": "v1"])
        #expect(container["env"]?[1] == ["name": "PLAIN", "value": "x"])
    }

    @Test func volumeSources() throws {
        let object = try defaulted("", "Pod", #"""
            {"spec":{"containers":[],"volumes":[
              {"name":"s","secret":{"secretName":"s"}},
              {"name":"d","downwardAPI":{"items":[{"path":"labels","fieldRef":{"fieldPath":"metadata.labels"}}]}},
              {"name":"p","projected":{"sources":[{"serviceAccountToken":{"path":"token"}},{"configMap":{"name":"c"}}]}},
              {"name":"m","configMap":{"name":"c","defaultMode":256}},
              {"name":"e","emptyDir":{"medium":"Memory"}}]}}
            """#)
        let volumes = try #require(object[path: "spec", "volumes"]?.arrayValue)
        #expect(volumes[0] == ["name": "s", "secret": ["secretName": "s", "defaultMode": 420]])
        #expect(volumes[1] == ["name": "d", "downwardAPI": ["defaultMode": 420, "items": [["path": "labels", "fieldRef": ["fieldPath": "metadata.labels", "apiVersion": "v1"]]]]])
        #expect(volumes[2] == ["name": "p", "projected": ["defaultMode": 420, "sources": [["serviceAccountToken": ["path": "token", "expirationSeconds": 3600]], ["configMap": ["name": "c"]]]]])
        #expect(volumes[3] == ["name": "m", "configMap": ["name": "c", "defaultMode": 256]])
        #expect(volumes[4] == ["name": "e", "emptyDir": ["medium": "Memory"]])
    }

    @Test func clusterIPService() throws {
        let object = try defaulted("", "Service", #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"selector":{"app":"web"},"ports":[{"port":80}]}}"#)
        let expected = try JSONParser.parse(#"""
            {"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{
              "internalTrafficPolicy":"Cluster","ports":[{"port":80,"protocol":"TCP","targetPort":80}],
              "selector":{"app":"web"},"sessionAffinity":"None","type":"ClusterIP"}}
            """#)
        #expect(object == expected)
    }

    @Test func loadBalancerService() throws {
        let object = try defaulted("", "Service", #"""
            {"spec":{"type":"LoadBalancer","selector":{"app":"web"},"ports":[{"name":"http","port":80,"targetPort":"web"},{"name":"dns","port":53,"protocol":"UDP"}]},
             "status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.10"},{"hostname":"lb.example"}]}}}
            """#)
        let expected = try JSONParser.parse(#"""
            {"spec":{"allocateLoadBalancerNodePorts":true,"externalTrafficPolicy":"Cluster","internalTrafficPolicy":"Cluster",
              "ports":[{"name":"http","port":80,"protocol":"TCP","targetPort":"web"},{"name":"dns","port":53,"protocol":"UDP","targetPort":53}],
              "selector":{"app":"web"},"sessionAffinity":"None","type":"LoadBalancer"},
             "status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.10","ipMode":"VIP"},{"hostname":"lb.example"}]}}}
            """#)
        #expect(object == expected)
    }

    @Test func serviceAffinityAndExternalName() throws {
        let clientIP = try defaulted("", "Service", #"{"spec":{"sessionAffinity":"ClientIP","ports":[{"port":80}]}}"#)
        #expect(clientIP[path: "spec", "sessionAffinityConfig"] == ["clientIP": ["timeoutSeconds": 10800]])
        let none = try defaulted("", "Service", #"{"spec":{"sessionAffinityConfig":{"clientIP":{"timeoutSeconds":5}}}}"#)
        #expect(none[path: "spec", "sessionAffinityConfig"] == nil)
        let external = try defaulted("", "Service", #"{"spec":{"type":"ExternalName","externalName":"db.example.com"}}"#)
        #expect(external[path: "spec", "internalTrafficPolicy"] == nil)
        #expect(external[path: "spec", "externalTrafficPolicy"] == nil)
        let externalIPs = try defaulted("", "Service", #"{"spec":{"externalIPs":["192.0.2.1"],"ports":[{"port":80}]}}"#)
        #expect(externalIPs[path: "spec", "externalTrafficPolicy"] == "Cluster")
    }

    @Test func assignClusterIP() {
        var service: JSONValue = ["spec": ["type": "ClusterIP"]]
        ServiceDefaults.assignClusterIP("10.43.0.10", to: &service)
        #expect(service["spec"] == ["type": "ClusterIP", "clusterIP": "10.43.0.10", "clusterIPs": ["10.43.0.10"], "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack"])
        var headless: JSONValue = ["spec": ["clusterIP": "None"]]
        ServiceDefaults.assignClusterIP("None", to: &headless)
        #expect(headless[path: "spec", "clusterIPs"] == ["None"])
        #expect(headless[path: "spec", "ipFamilies"] == ["IPv4"])
        var external: JSONValue = ["spec": ["type": "ExternalName"]]
        ServiceDefaults.assignClusterIP("10.43.0.11", to: &external)
        #expect(external["spec"] == ["type": "ExternalName"])
    }

    @Test func namespace() throws {
        let object = try defaulted("", "Namespace", #"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"dev"}}"#)
        let expected = try JSONParser.parse(#"""
            {"apiVersion":"v1","kind":"Namespace","metadata":{"name":"dev","labels":{"kubernetes.io/metadata.name":"dev"}},"status":{"phase":"Active"}}
            """#)
        #expect(object == expected)
        let labelled = try defaulted("", "Namespace", #"{"metadata":{"name":"dev","labels":{"team":"a","kubernetes.io/metadata.name":"other"}}}"#)
        #expect(labelled[path: "metadata", "labels"] == ["team": "a", "kubernetes.io/metadata.name": "dev"])
    }

    @Test func secret() throws {
        let object = try defaulted("", "Secret", #"{"metadata":{"name":"s"},"data":{"a":"YQ=="},"stringData":{"b":"hello","a":"xy"}}"#)
        #expect(object == ["metadata": ["name": "s"], "type": "Opaque", "data": ["a": "eHk=", "b": "aGVsbG8="]])
        let typed = try defaulted("", "Secret", #"{"type":"kubernetes.io/tls"}"#)
        #expect(typed["type"] == "kubernetes.io/tls")
    }

    @Test func nodeEndpointsAndSlices() throws {
        let node = try defaulted("", "Node", #"{"status":{"capacity":{"cpu":"4","memory":"8045524Ki","pods":"110"}}}"#)
        #expect(node[path: "status", "allocatable"] == ["cpu": "4", "memory": "8045524Ki", "pods": "110"])
        let endpoints = try defaulted("", "Endpoints", #"{"subsets":[{"ports":[{"port":80}]}]}"#)
        #expect(endpoints["subsets"]?[0]?["ports"] == [["port": 80, "protocol": "TCP"]])
        let slice = try defaulted("discovery.k8s.io", "EndpointSlice", #"{"ports":[{"port":80}]}"#)
        #expect(slice["ports"] == [["port": 80, "name": "", "protocol": "TCP"]])
    }

    @Test func unknownKindsAreUntouched() throws {
        let object = try defaulted("", "ConfigMap", #"{"metadata":{"name":"c"}}"#)
        #expect(object == ["metadata": ["name": "c"]])
    }
}

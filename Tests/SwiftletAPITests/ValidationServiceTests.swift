import Testing
import SwiftletAPI
import SwiftletMachinery

/// Services, ConfigMaps, Secrets, Nodes and Events.
struct ValidationServiceTests {
    static func service(_ spec: String) -> String { #"{"metadata":{"name":"web"},"spec":\#(spec)}"# }

    @Test(arguments: [
        (#"{"selector":{"app":"web"}}"#, ["spec.ports: Required value"]),
        (#"{"ports":[{"port":0}]}"#, ["spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                                      "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive"]),
        (#"{"ports":[{"port":80},{"port":443}]}"#, ["spec.ports[0].name: Required value", "spec.ports[1].name: Required value"]),
        (#"{"ports":[{"name":"http","port":80},{"name":"http","port":81}]}"#, [#"spec.ports[1].name: Duplicate value: "http""#]),
        (#"{"ports":[{"name":"Http","port":80}]}"#, [#"spec.ports[0].name: Invalid value: "Http": "# + ValidationText.label]),
        (#"{"ports":[{"port":80,"targetPort":"HTTP_port"}]}"#, [#"spec.ports[0].targetPort: Invalid value: "HTTP_port": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"#]),
        (#"{"ports":[{"port":80,"targetPort":70000}]}"#, ["spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive"]),
        (#"{"ports":[{"port":80,"protocol":"ICMP"}]}"#, [#"spec.ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP""#]),
        (#"{"type":"Internal","ports":[{"port":80}]}"#, [#"spec.type: Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort""#]),
        (#"{"ports":[{"port":80,"nodePort":30080}]}"#, ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"]),
        (#"{"ports":[{"name":"a","port":80},{"name":"b","port":80}]}"#,
         [#"spec.ports[1]: Duplicate value: {"Name":"","Protocol":"TCP","AppProtocol":null,"Port":80,"TargetPort":0,"NodePort":0}"#]),
        (#"{"type":"NodePort","ports":[{"name":"a","port":80,"nodePort":30080},{"name":"b","port":81,"nodePort":30080}]}"#,
         ["spec.ports[1].nodePort: Duplicate value: 30080"]),
        (#"{"type":"ExternalName"}"#, ["spec.externalName: Required value"]),
        (#"{"type":"ExternalName","externalName":"db.example.com."}"#, []),
        (#"{"type":"NodePort","clusterIP":"None","ports":[{"port":80}]}"#, [#"spec.clusterIPs[0]: Invalid value: "None": may not be set to 'None' for NodePort services"#]),
        (#"{"clusterIP":"10.43.0.999","ports":[{"port":80}]}"#, [#"spec.clusterIPs[0]: Invalid value: "10.43.0.999": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"#]),
        (#"{"clusterIP":"10.43.0.5","clusterIPs":["10.43.0.6"],"ports":[{"port":80}]}"#, [#"spec.clusterIPs: Invalid value: ["10.43.0.6"]: first value must match `clusterIP`"#]),
        (#"{"clusterIPs":["10.43.0.5","fd00::5"],"ipFamilies":["IPv4","IPv6"],"ipFamilyPolicy":"PreferDualStack","ports":[{"port":80}]}"#, []),
        (#"{"clusterIPs":["10.43.0.5","10.43.0.6"],"ports":[{"port":80}]}"#, [#"spec.clusterIPs: Invalid value: ["10.43.0.5","10.43.0.6"]: may specify no more than one IP for each IP family"#]),
        (#"{"sessionAffinity":"Sticky","ports":[{"port":80}]}"#, [#"spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None""#]),
        (#"{"externalTrafficPolicy":"Local","ports":[{"port":80}]}"#, [#"spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services"#]),
        (#"{"type":"NodePort","externalTrafficPolicy":"Nearest","ports":[{"port":80}]}"#, [#"spec.externalTrafficPolicy: Unsupported value: "Nearest": supported values: "Cluster", "Local""#]),
        (#"{"loadBalancerSourceRanges":["10.0.0.0/8"],"ports":[{"port":80}]}"#, ["spec.LoadBalancerSourceRanges: Forbidden: may only be used when `type` is 'LoadBalancer'"]),
        (#"{"type":"LoadBalancer","loadBalancerSourceRanges":["10.0.0.0/33"],"ports":[{"port":80}]}"#,
         [#"spec.LoadBalancerSourceRanges[0]: Invalid value: "10.0.0.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"#]),
    ])
    func services(spec: String, expected: [String]) throws {
        #expect(try validationMessages("", "Service", Self.service(spec)) == expected)
    }

    @Test func clusterIPUpdates() throws {
        let old = Self.service(#"{"clusterIP":"10.43.0.10","clusterIPs":["10.43.0.10"],"ipFamilies":["IPv4"],"ipFamilyPolicy":"SingleStack","ports":[{"port":80}]}"#)
        #expect(try validationMessages("", "Service", Self.service(#"{"ports":[{"port":8080}]}"#), old: old) == [])
        #expect(try validationMessages("", "Service", Self.service(#"{"clusterIP":"10.43.0.20","ports":[{"port":80}]}"#), old: old)
                == [#"spec.clusterIPs[0]: Invalid value: ["10.43.0.20"]: may not change once set"#])
        #expect(try validationMessages("", "Service", Self.service(#"{"type":"ExternalName","externalName":"example.com"}"#), old: old) == [])
        let lb = Self.service(#"{"type":"LoadBalancer","loadBalancerClass":"example.com/lb","ports":[{"port":80}]}"#)
        #expect(try validationMessages("", "Service", Self.service(#"{"type":"LoadBalancer","loadBalancerClass":"example.com/other","ports":[{"port":80}]}"#), old: lb)
                == [#"spec.loadBalancerClass: Invalid value: "example.com/other": may not change once set"#])
    }

    @Test func nodePortRangeHelper() {
        let error = Validator.nodePortOutOfRange(80, portIndex: 0, range: 30000...32767)
        #expect(error.message == "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767")
    }

    @Test func configMaps() throws {
        #expect(try validationMessages("", "ConfigMap", #"{"metadata":{"name":"c"},"data":{"bad key":"x","..":"y"},"binaryData":{"bad key":"eA=="}}"#) == [
            #"data[bad key]: Invalid value: "bad key": "# + ValidationText.configKey,
            #"data[bad key]: Invalid value: "bad key": duplicate of key present in binaryData"#,
            #"data[..]: Invalid value: "..": must not be '..'"#,
            #"binaryData[bad key]: Invalid value: "bad key": "# + ValidationText.configKey,
        ])
        let big = String(repeating: "x", count: 1024 * 1024 + 1)
        let object: JSONValue = ["metadata": ["name": "c"], "data": ["k": .string(big)]]
        #expect(Catalogue.validate(group: "", kind: "ConfigMap", object: object).map(\.message) == [": Too long: may not be more than 1048576 bytes"])
        let frozen = #"{"metadata":{"name":"c"},"immutable":true,"data":{"a":"1"}}"#
        #expect(try validationMessages("", "ConfigMap", #"{"metadata":{"name":"c"},"data":{"a":"2"}}"#, old: frozen) == [
            "immutable: Forbidden: field is immutable when `immutable` is set",
            "data: Forbidden: field is immutable when `immutable` is set",
        ])
    }

    @Test func secrets() throws {
        #expect(try validationMessages("", "Secret", #"{"metadata":{"name":"s"},"type":"kubernetes.io/tls","data":{}}"#)
                == ["data[tls.crt]: Required value", "data[tls.key]: Required value"])
        #expect(try validationMessages("", "Secret", #"{"metadata":{"name":"s"},"type":"kubernetes.io/service-account-token"}"#)
                == ["metadata.annotations[kubernetes.io/service-account.name]: Required value"])
        #expect(try validationMessages("", "Secret", #"{"metadata":{"name":"s"},"stringData":{"a b":"x"}}"#)
                == [#"data[a b]: Invalid value: "a b": "# + ValidationText.configKey])
        #expect(try validationMessages("", "Secret", #"{"metadata":{"name":"s"},"type":"kubernetes.io/tls","data":{"tls.crt":"","tls.key":""}}"#,
                                       old: #"{"metadata":{"name":"s"},"data":{}}"#)
                == [#"type: Invalid value: "kubernetes.io/tls": field is immutable"#])
    }

    @Test func nodesAndEvents() throws {
        #expect(try validationMessages("", "Node", #"{"metadata":{"name":"n"},"spec":{"taints":[{"key":"dedicated","value":"gpu","effect":"Sometimes"}]}}"#)
                == [#"spec.taints[0].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute""#])
        #expect(try validationMessages("", "Event", #"{"metadata":{"name":"e","namespace":"default"},"involvedObject":{"kind":"Pod","namespace":"default"}}"#) == [])
        #expect(try validationMessages("", "Event", #"{"metadata":{"name":"e","namespace":"default"},"involvedObject":{"kind":"Pod","namespace":"other"}}"#)
                == [#"involvedObject.namespace: Invalid value: "other": does not match event.namespace"#])
    }
}

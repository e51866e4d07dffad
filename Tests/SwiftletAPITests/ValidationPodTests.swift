import Testing
import SwiftletAPI
import SwiftletMachinery

/// Pod specs: containers, ports, volumes, mounts, resources, probes, env.
struct ValidationPodTests {
    typealias T = ValidationText

    @Test(arguments: [
        (T.podSpec(containers: "[]"), ["spec.containers: Required value"]),
        (T.podSpec(containers: #"[{"name":"Web","image":"a"}]"#), [#"spec.containers[0].name: Invalid value: "Web": "# + T.label]),
        (T.podSpec(containers: #"[{"image":"a"}]"#), ["spec.containers[0].name: Required value"]),
        (T.podSpec(containers: #"[{"name":"app","image":"a"},{"name":"app","image":"b"}]"#), [#"spec.containers[1].name: Duplicate value: "app""#]),
        (T.podSpec(containers: #"[{"name":"app"}]"#), ["spec.containers[0].image: Required value"]),
        (T.podSpec(containers: #"[{"name":"app","image":" nginx"}]"#), [#"spec.containers[0].image: Invalid value: " nginx": must not have leading or trailing whitespace"#]),
        (T.podSpec(containers: #"[{"name":"app","image":"a","ports":[{"containerPort":70000}]}]"#),
         ["spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"]),
        (T.podSpec(containers: #"[{"name":"app","image":"a","ports":[{"name":"web"}]}]"#), ["spec.containers[0].ports[0].containerPort: Required value"]),
        (T.podSpec(containers: #"[{"name":"app","image":"a","ports":[{"containerPort":80,"protocol":"HTTP"}]}]"#),
         [#"spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP""#]),
        (T.podSpec(containers: #"[{"name":"app","image":"a","ports":[{"containerPort":80,"name":"http_port"}]}]"#),
         [#"spec.containers[0].ports[0].name: Invalid value: "http_port": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"#]),
        (T.podSpec(containers: #"[{"name":"a","image":"a","ports":[{"containerPort":80,"hostPort":80}]},{"name":"b","image":"b","ports":[{"containerPort":81,"hostPort":80}]}]"#),
         [#"spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//80""#]),
        (T.podSpec(extra: #""restartPolicy":"Sometimes""#), [#"spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never""#]),
        (T.podSpec(extra: #""dnsPolicy":"Custom""#), [#"spec.dnsPolicy: Unsupported value: "Custom": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None""#]),
        (T.podSpec(containers: #"[{"name":"app","image":"a","imagePullPolicy":"Sometimes"}]"#),
         [#"spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never""#]),
        (T.podSpec(extra: #""activeDeadlineSeconds":0"#), ["spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"]),
        (T.podSpec(extra: #""hostNetwork":true,"containers":[{"name":"a","image":"a","ports":[{"containerPort":80,"hostPort":8080}]}]"#),
         ["spec.containers[0].ports[0].hostPort: Invalid value: 8080: must match `containerPort` when `hostNetwork` is true"]),
    ])
    func containers(spec: String, expected: [String]) throws {
        #expect(try validationMessages("", "Pod", T.pod(spec: spec)) == expected)
    }

    @Test(arguments: [
        (T.podSpec(extra: #""volumes":[{"name":"data","emptyDir":{}},{"name":"data","emptyDir":{}}]"#), [#"spec.volumes[1].name: Duplicate value: "data""#]),
        (T.podSpec(extra: #""volumes":[{"name":"Data"}]"#), [#"spec.volumes[0].name: Invalid value: "Data": "# + T.label]),
        (T.podSpec(extra: #""volumes":[{"name":"v","emptyDir":{},"hostPath":{"path":"/x"}}]"#),
         ["spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type"]),
        (T.podSpec(extra: #""volumes":[{"name":"v","hostPath":{"path":"/x","type":"Dir"}}]"#),
         [#"spec.volumes[0].hostPath.type: Unsupported value: "Dir": supported values: "", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket""#]),
        (T.podSpec(extra: #""volumes":[{"name":"v","hostPath":{"path":"/var/../etc"}}]"#), [#"spec.volumes[0].hostPath.path: Invalid value: "/var/../etc": must not contain '..'"#]),
        (T.podSpec(extra: #""volumes":[{"name":"v","configMap":{"defaultMode":512,"items":[{"key":"k","path":"/abs"}]}}]"#), [
            "spec.volumes[0].configMap.name: Required value",
            "spec.volumes[0].configMap.defaultMode: Invalid value: 512: must be a number between 0 and 0777 (octal), both inclusive",
            #"spec.volumes[0].configMap.items[0].path: Invalid value: "/abs": must be a relative path"#,
        ]),
        (T.podSpec(extra: #""volumes":[{"name":"v","secret":{}}]"#), ["spec.volumes[0].secret.secretName: Required value"]),
        (T.podSpec(containers: #"[{"name":"app","image":"a","volumeMounts":[{"name":"missing","mountPath":"/data"}]}]"#),
         [#"spec.containers[0].volumeMounts[0].name: Not found: "missing""#]),
        (T.podSpec(containers: #"[{"name":"app","image":"a","volumeMounts":[{"name":"v","mountPath":"/d"},{"name":"v","mountPath":"/d"}]}]"#, extra: #""volumes":[{"name":"v"}]"#),
         [#"spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/d": must be unique"#]),
        (T.podSpec(containers: #"[{"name":"app","image":"a","volumeMounts":[{"name":"v","mountPath":"/d"}]}]"#, extra: #""volumes":[{"name":"v","secret":{}}]"#),
         ["spec.volumes[0].secret.secretName: Required value", #"spec.containers[0].volumeMounts[0].name: Not found: "v""#]),
    ])
    func volumes(spec: String, expected: [String]) throws {
        #expect(try validationMessages("", "Pod", T.pod(spec: spec)) == expected)
    }

    @Test(arguments: [
        (#"{"requests":{"cpu":"2"},"limits":{"cpu":"1"}}"#, [#"spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1"#]),
        (#"{"requests":{"memory":"256Mi"},"limits":{"memory":"0.125Gi"}}"#, [#"spec.containers[0].resources.requests: Invalid value: "256Mi": must be less than or equal to memory limit of 128Mi"#]),
        (#"{"requests":{"cpu":"-1"}}"#, [#"spec.containers[0].resources.requests[cpu]: Invalid value: "-1": must be greater than or equal to 0"#]),
        (#"{"requests":{"gpu":"1"}}"#, [
            #"spec.containers[0].resources.requests[gpu]: Invalid value: "gpu": must be a standard resource type or fully qualified"#,
            #"spec.containers[0].resources.requests[gpu]: Invalid value: "gpu": must be a standard resource for containers"#,
        ]),
        (#"{"requests":{"example.com/gpu":"1"},"limits":{"example.com/gpu":"2"}}"#, [#"spec.containers[0].resources.requests: Invalid value: "1": must be equal to example.com/gpu limit of 2"#]),
        (#"{"limits":{"example.com/gpu":"0.5"}}"#, [
            #"spec.containers[0].resources.limits[example.com/gpu]: Invalid value: "500m": must be an integer"#,
            #"spec.containers[0].resources.requests[example.com/gpu]: Invalid value: "500m": must be an integer"#,
        ]),
        (#"{"limits":{"memory":"12Gb"}}"#, [
            #"spec.containers[0].resources.limits[memory]: Invalid value: "12Gb": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"#,
            #"spec.containers[0].resources.requests[memory]: Invalid value: "12Gb": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"#,
        ]),
    ])
    func resources(resources: String, expected: [String]) throws {
        let spec = T.podSpec(containers: #"[{"name":"app","image":"a","resources":\#(resources)}]"#)
        #expect(try validationMessages("", "Pod", T.pod(spec: spec)) == expected)
    }

    @Test(arguments: [
        (#""livenessProbe":{}"#, ["spec.containers[0].livenessProbe: Required value: must specify a handler type"]),
        (#""livenessProbe":{"exec":{"command":["true"]},"tcpSocket":{"port":80}}"#, ["spec.containers[0].livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type"]),
        (#""livenessProbe":{"exec":{"command":["true"]},"successThreshold":2}"#, ["spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"]),
        (#""readinessProbe":{"httpGet":{"port":0},"periodSeconds":-1}"#, [
            "spec.containers[0].readinessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive",
            "spec.containers[0].readinessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0",
        ]),
        (#""env":[{"name":"A=B","value":"x"}]"#, [#"spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='"#]),
        (#""env":[{"name":"P","valueFrom":{"fieldRef":{"fieldPath":"status.phase"}}}]"#, [
            #"spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "status.phase": supported values: "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs""#,
        ]),
        (#""env":[{"name":"P","valueFrom":{"fieldRef":{"fieldPath":"spec.node"}}}]"#, [
            #"spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Invalid value: "spec.node": error converting fieldPath: field label not supported: spec.node"#,
        ]),
        (#""env":[{"name":"P","value":"x","valueFrom":{"secretKeyRef":{"name":"s","key":"k"}}}]"#, [
            #"spec.containers[0].env[0].valueFrom: Invalid value: "": may not be specified when `value` is not empty"#,
        ]),
        (#""envFrom":[{"prefix":"X_"}]"#, [#"spec.containers[0].envFrom: Invalid value: "": must specify one of: `configMapRef` or `secretRef`"#]),
        (#""restartPolicy":"Always""#, ["spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers"]),
    ])
    func probesAndEnv(fields: String, expected: [String]) throws {
        let spec = T.podSpec(containers: #"[{"name":"app","image":"a",\#(fields)}]"#)
        #expect(try validationMessages("", "Pod", T.pod(spec: spec)) == expected)
    }

    @Test func initContainers() throws {
        let spec = T.podSpec(extra: #""initContainers":[{"name":"app","image":"a","readinessProbe":{"exec":{"command":["x"]}}},{"name":"side","image":"a","restartPolicy":"OnFailure"}]"#)
        #expect(try validationMessages("", "Pod", T.pod(spec: spec)) == [
            #"spec.initContainers[0].name: Duplicate value: "app""#,
            "spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
            #"spec.initContainers[1].restartPolicy: Unsupported value: "OnFailure": supported values: "Always""#,
        ])
    }

    @Test func podUpdates() throws {
        let old = T.pod(spec: T.podSpec(containers: #"[{"name":"app","image":"nginx:1.26"}]"#))
        #expect(try validationMessages("", "Pod", T.pod(spec: T.podSpec(containers: #"[{"name":"app","image":"nginx:1.27"}]"#)), old: old) == [])
        #expect(try validationMessages("", "Pod", T.pod(spec: T.podSpec(extra: #""nodeName":"node-1""#)), old: T.pod()) == [])
        let changed = try validationMessages("", "Pod", T.pod(spec: T.podSpec(extra: #""restartPolicy":"Never""#)), old: T.pod())
        #expect(changed.count == 1)
        #expect(changed.first?.hasPrefix("spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n") == true)
        let added = try validationMessages("", "Pod", T.pod(spec: T.podSpec(containers: #"[{"name":"app","image":"a"},{"name":"b","image":"b"}]"#)), old: T.pod())
        #expect(added == ["spec.containers: Forbidden: pod updates may not add or remove containers"])
    }
}

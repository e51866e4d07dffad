@testable import SwiftletAPI
import SwiftletMachinery
import Testing

/// Field validation against what kube-apiserver 1.34 answers. The expected texts were produced
/// by sigs.k8s.io/json (cfa47c3, the version 1.34 vendors) decoding the same bodies into
/// structs shaped like the Kubernetes types.
@Suite struct SchemaValidationTests {
    static func check(_ json: String, _ group: String = "apps", _ version: String = "v1", _ kind: String = "Deployment")
        throws -> FieldValidationResult
    {
        let parsed = try JSONParser.parse(Array(json.utf8))
        return try #require(KubernetesSchema.validate(object: parsed.value, duplicateKeys: parsed.duplicateKeys,
                                                      group: group, version: version, kind: kind))
    }

    static let deployment = #"""
        {"apiVersion":"apps/v1","kind":"Deployment",
         "metadata":{"name":"web","namespace":"default","labels":{"app.kubernetes.io/name":"web","tier":"front"},
           "annotations":{"deployment.kubernetes.io/revision":"1"},"finalizers":["example.com/x"],
           "creationTimestamp":"2024-05-01T10:00:00Z","uid":"8b7c","resourceVersion":"12","generation":3,
           "ownerReferences":[{"apiVersion":"v1","kind":"X","name":"o","uid":"u","controller":true}],
           "managedFields":[{"manager":"kubectl","operation":"Update","apiVersion":"apps/v1",
             "time":"2024-05-01T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:replicas":{}}}}]},
         "spec":{"replicas":3,"revisionHistoryLimit":10,"progressDeadlineSeconds":600,"paused":false,
           "selector":{"matchLabels":{"app":"web"},"matchExpressions":[{"key":"tier","operator":"In","values":["front"]}]},
           "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":"25%","maxSurge":1}},
           "template":{"metadata":{"labels":{"app":"web"}},"spec":{
             "containers":[{"name":"nginx","image":"nginx:1.27","imagePullPolicy":"IfNotPresent",
               "command":["nginx"],"args":["-g","daemon off;"],
               "ports":[{"name":"http","containerPort":80,"protocol":"TCP"}],
               "env":[{"name":"A","value":"1"},{"name":"POD","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}],
               "resources":{"requests":{"cpu":"100m","memory":128974848},"limits":{"cpu":0.5,"memory":"1Gi"}},
               "livenessProbe":{"httpGet":{"path":"/","port":"http"},"initialDelaySeconds":5},
               "readinessProbe":{"tcpSocket":{"port":80}},
               "volumeMounts":[{"name":"data","mountPath":"/data"}],
               "securityContext":{"runAsNonRoot":true,"capabilities":{"drop":["ALL"]}}}],
             "volumes":[{"name":"data","emptyDir":{"sizeLimit":"1Gi"}},{"name":"cfg","configMap":{"name":"cfg","defaultMode":420}}],
             "nodeSelector":{"kubernetes.io/os":"linux"},
             "tolerations":[{"key":"k","operator":"Exists","effect":"NoSchedule","tolerationSeconds":null}],
             "affinity":{"podAntiAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[{"weight":100,
               "podAffinityTerm":{"topologyKey":"kubernetes.io/hostname","labelSelector":{"matchLabels":{"app":"web"}}}}]}},
             "terminationGracePeriodSeconds":30,"restartPolicy":"Always","dnsPolicy":"ClusterFirst"}}},
         "status":{"replicas":3,"readyReplicas":3,"conditions":[{"type":"Available","status":"True",
           "lastUpdateTime":"2024-05-01T10:00:05Z","lastTransitionTime":"2024-05-01T10:00:05+02:00"}]}}
        """#

    // MARK: valid objects

    @Test func validObjectsHaveNoFindings() throws {
        let objects: [(String, String, String, String)] = [
            ("apps", "v1", "Deployment", Self.deployment),
            ("", "v1", "Service", #"""
                {"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"type":"ClusterIP",
                 "selector":{"app":"web"},"ipFamilies":["IPv4"],"clusterIPs":["10.0.0.1"],
                 "ports":[{"name":"http","port":80,"targetPort":"http","protocol":"TCP"},{"name":"m","port":81,"targetPort":8081}]}}
                """#),
            ("", "v1", "Pod", #"""
                {"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"busybox",
                 "resources":{"limits":{"nvidia.com/gpu":1}}}],"overhead":{"cpu":"10m"}},
                 "status":{"phase":"Running","startTime":"2024-05-01T10:00:00Z","podIP":"10.1.0.4",
                 "containerStatuses":[{"name":"c","ready":true,"restartCount":0,"image":"busybox","imageID":"sha256:1",
                 "state":{"running":{"startedAt":"2024-05-01T10:00:01Z"}}}]}}
                """#),
            ("apps", "v1", "DaemonSet", #"""
                {"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"d"},"spec":{"selector":{"matchLabels":{"a":"b"}},
                 "updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":1,"maxSurge":0}},
                 "template":{"metadata":{"labels":{"a":"b"}},"spec":{"hostNetwork":true,"containers":[{"name":"c","image":"i"}]}}}}
                """#),
            ("", "v1", "ConfigMap", #"""
                {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"app.properties":"a=b","key-2":""},
                 "binaryData":{"blob":"aGVsbG8="},"immutable":false}
                """#),
            ("", "v1", "Secret", #"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"type":"Opaque","data":{"password":"c2VjcmV0\n"},"stringData":{"user":"me"}}"#),
            ("coordination.k8s.io", "v1", "Lease", #"{"spec":{"holderIdentity":"n","leaseDurationSeconds":40,"renewTime":"2024-05-01T10:00:00.123456Z"}}"#),
            ("batch", "v1", "CronJob", #"{"spec":{"schedule":"*/1 * * * *","jobTemplate":{"spec":{"backoffLimit":2,"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"i"}]}}}}}}"#),
            ("autoscaling", "v2", "HorizontalPodAutoscaler", #"{"spec":{"scaleTargetRef":{"kind":"Deployment","name":"web","apiVersion":"apps/v1"},"minReplicas":1,"maxReplicas":5,"metrics":[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":50}}}]}}"#),
            ("apps", "v1", "ControllerRevision", #"{"revision":2,"data":{"spec":{"anything":[1,"goes"]},"x":1}}"#),
            ("", "v1", "Node", #"{"metadata":{"name":"n"},"status":{"capacity":{"cpu":"4","memory":"8Gi","pods":"110"},"addresses":[{"type":"InternalIP","address":"10.0.0.2"}]}}"#),
        ]
        for (group, version, kind, json) in objects {
            let result = try Self.check(json, group, version, kind)
            #expect(result == FieldValidationResult(), "\(kind)")
            #expect(result.isClean)
        }
    }

    @Test func nullIsAcceptedAnywhere() throws {
        let result = try Self.check(#"{"metadata":{"labels":null,"creationTimestamp":null},"spec":{"replicas":null,"strategy":null,"template":{"spec":{"containers":[{"name":"a","ports":null,"resources":{"limits":{"cpu":null}}}]}}}}"#)
        #expect(result.isClean)
    }

    @Test func mapsAcceptAnyKey() throws {
        #expect(try Self.check(#"{"metadata":{"labels":{"a.b/c-d":"1","":"x"},"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}"}},"spec":{"template":{"spec":{"nodeSelector":{"topology.kubernetes.io/zone":"a"}}}}}"#).isClean)
        #expect(try Self.check(#"{"data":{"any key at all":"v","a.b":"w"}}"#, "", "v1", "ConfigMap").isClean)
    }

    @Test func intOrStringTakesNumbersAndNames() throws {
        #expect(try Self.check(#"{"spec":{"ports":[{"port":80,"targetPort":80},{"port":81,"targetPort":"http"}]}}"#, "", "v1", "Service").isClean)
    }

    @Test func quantityTakesStringsAndNumbers() throws {
        let json = #"{"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"100m","memory":128974848},"limits":{"cpu":1.5,"memory":"1.5Gi","ephemeral-storage":"1e9"}}}]}}"#
        #expect(try Self.check(json, "", "v1", "Pod").isClean)
    }

    @Test func unknownKindHasNoSchema() {
        #expect(KubernetesSchema.validate(object: [:], duplicateKeys: [], group: "example.com", version: "v1", kind: "Widget") == nil)
        #expect(KubernetesSchema.version == "v1.34.0")
    }

    // MARK: unknown fields

    @Test func unknownFieldsAtEveryDepth() throws {
        let result = try Self.check(#"""
            {"spec":{"replica":3,"template":{"spec":{"containers":[{"name":"a","bar":1},
              {"name":"b","image":"x","ports":[{"containerPort":80,"hostPorts":1}]}]}}},"metadata":{"foo":1,"labels":{"a.b/c":"x"}}}
            """#)
        #expect(result.unknown == ["spec.replica", "spec.template.spec.containers[0].bar",
                                   "spec.template.spec.containers[1].ports[0].hostPorts", "metadata.foo"])
        #expect(result.strictErrors == [
            #"unknown field "spec.replica""#, #"unknown field "spec.template.spec.containers[0].bar""#,
            #"unknown field "spec.template.spec.containers[1].ports[0].hostPorts""#, #"unknown field "metadata.foo""#,
        ])
        #expect(result.typeErrors.isEmpty && result.decodeError == nil)
    }

    @Test func strictRejectsWarnWarnsIgnoreIgnores() throws {
        let result = try Self.check(#"{"apiVersion":"apps/v1","kind":"Deployment","spec":{"replica":1}}"#)
        let error = try #require(result.decodeFailure(kind: "Deployment", version: "v1", directive: .strict))
        #expect(error.code == 400)
        #expect(error.reason == "BadRequest")
        #expect(error.message == #"Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replica""#)
        #expect(result.decodeFailure(kind: "Deployment", version: "v1", directive: .warn) == nil)
        #expect(result.warnings(directive: .warn) == [#"unknown field "spec.replica""#])
        #expect(result.decodeFailure(kind: "Deployment", version: "v1", directive: .ignore) == nil)
        #expect(result.warnings(directive: .ignore).isEmpty)
    }

    @Test func fieldNamesAreCaseSensitive() throws {
        #expect(try Self.check(#"{"Spec":{},"metadata":{"Name":"x"}}"#).unknown == ["Spec", "metadata.Name"])
    }

    @Test func pathsAreQuotedLikeStrconvQuote() throws {
        let result = try Self.check(#"{"spec":{"f\"oo":1,"é":2,"a\tb":3}}"#)
        #expect(result.strictErrors == [#"unknown field "spec.f\"oo""#, #"unknown field "spec.é""#, #"unknown field "spec.a\tb""#])
    }

    @Test func nothingBelowAnUnknownFieldOrARawExtensionIsChecked() throws {
        #expect(try Self.check(#"{"spec":{"foo":{"bar":1,"bar":2}}}"#).strictErrors == [#"unknown field "spec.foo""#])
        #expect(try Self.check(#"{"data":{"x":1,"x":2,"foo":{}}}"#, "apps", "v1", "ControllerRevision").isClean)
    }

    // MARK: duplicate fields

    @Test func duplicateFields() throws {
        let result = try Self.check(#"{"metadata":{"labels":{"a":"1","a":"2"}},"spec":{"replicas":1,"replicas":2,"template":{"spec":{"containers":[{"name":"a"},{"name":"b","image":"x","image":"y"}]}}}}"#)
        #expect(result.duplicates == ["metadata.labels.a", "spec.replicas", "spec.template.spec.containers[1].image"])
        #expect(result.strictErrors == [#"duplicate field "metadata.labels.a""#, #"duplicate field "spec.replicas""#,
                                        #"duplicate field "spec.template.spec.containers[1].image""#])
        let error = try #require(result.decodeFailure(kind: "Deployment", version: "v1", directive: .strict))
        #expect(error.message.hasSuffix(#"strict decoding error: duplicate field "metadata.labels.a", duplicate field "spec.replicas", duplicate field "spec.template.spec.containers[1].image""#))
    }

    @Test func aRepeatedUnknownFieldIsReportedOnceAsUnknown() throws {
        let result = try Self.check(#"{"spec":{"foo":1,"foo":2}}"#)
        #expect(result.strictErrors == [#"unknown field "spec.foo""#])
        #expect(result.duplicates.isEmpty)
    }

    @Test func duplicatesTakeIndexedPathsToo() throws {
        // A parser that names duplicates with list indices gets them placed exactly.
        let object = try JSONParser.parse(#"{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"x"},{"name":"b","image":"y"}]}}}}"#)
        let schema = try #require(KubernetesSchema.schema(group: "apps", version: "v1", kind: "Deployment"))
        let result = FieldValidation.check(object, duplicateKeys: ["spec.template.spec.containers[1].image"], schema: schema)
        #expect(result.duplicates == ["spec.template.spec.containers[1].image"])
    }

    // MARK: type errors

    @Test(arguments: [
        (#"{"spec":{"replicas":"3"}}"#, "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"),
        (#"{"spec":{"replicas":1.5}}"#, "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32"),
        (#"{"spec":{"replicas":3000000000}}"#, "json: cannot unmarshal number 3000000000 into Go struct field DeploymentSpec.spec.replicas of type int32"),
        (#"{"spec":{"paused":1}}"#, "json: cannot unmarshal number into Go struct field DeploymentSpec.spec.paused of type bool"),
        (#"{"spec":"x"}"#, "json: cannot unmarshal string into Go struct field Deployment.spec of type v1.DeploymentSpec"),
        (#"{"spec":{"template":[1]}}"#, "json: cannot unmarshal array into Go struct field DeploymentSpec.spec.template of type v1.PodTemplateSpec"),
        (#""x""#, "json: cannot unmarshal string into Go value of type v1.Deployment"),
        (#"[]"#, "json: cannot unmarshal array into Go value of type v1.Deployment"),
        (#"{"spec":{"template":{"spec":{"containers":[{"name":"a","env":[{"name":"X","value":1}]}]}}}}"#,
         "json: cannot unmarshal number into Go struct field EnvVar.spec.template.spec.containers.env.value of type string"),
        (#"{"spec":{"template":{"spec":{"containers":{}}}}}"#,
         "json: cannot unmarshal object into Go struct field PodSpec.spec.template.spec.containers of type []v1.Container"),
        (#"{"spec":{"template":{"spec":{"containers":["x"]}}}}"#,
         "json: cannot unmarshal string into Go struct field PodSpec.spec.template.spec.containers of type v1.Container"),
        (#"{"spec":{"template":{"spec":{"containers":[{"name":"a","ports":[{"containerPort":80,"protocol":6}]}]}}}}"#,
         "json: cannot unmarshal number into Go struct field ContainerPort.spec.template.spec.containers.ports.protocol of type v1.Protocol"),
        (#"{"spec":{"template":{"spec":{"nodeSelector":{"a":true}}}}}"#,
         "json: cannot unmarshal bool into Go struct field PodSpec.spec.template.spec.nodeSelector of type string"),
        (#"{"metadata":{"labels":{"a":1}}}"#, "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"),
        (#"{"metadata":{"labels":"x"}}"#, "json: cannot unmarshal string into Go struct field ObjectMeta.metadata.labels of type map[string]string"),
        (#"{"metadata":{"finalizers":"x"}}"#, "json: cannot unmarshal string into Go struct field ObjectMeta.metadata.finalizers of type []string"),
        (#"{"metadata":{"uid":5}}"#, "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.uid of type types.UID"),
        (#"{"metadata":{"creationTimestamp":5}}"#, "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.creationTimestamp of type string"),
        (#"{"metadata":{"creationTimestamp":"yesterday"}}"#,
         #"parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006""#),
        (#"{"spec":{"template":{"spec":{"containers":[{"name":"a","resources":{"limits":{"cpu":"abc"}}}]}}}}"#,
         "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
    ])
    func deploymentTypeErrors(json: String, expected: String) throws {
        let result = try Self.check(json)
        #expect(result.decodeError == expected)
        let error = try #require(result.decodeFailure(kind: "Deployment", version: "v1", directive: .ignore))
        #expect(error.code == 400)
        #expect(error.message == #"Deployment in version "v1" cannot be handled as a Deployment: "# + expected)
    }

    @Test(arguments: [
        (#"{"spec":{"ports":[{"port":80,"targetPort":true}]}}"#, "json: cannot unmarshal bool into Go struct field ServicePort.spec.ports.targetPort of type int32"),
        (#"{"spec":{"ports":[{"port":80,"targetPort":1.5}]}}"#, "json: cannot unmarshal number 1.5 into Go struct field ServicePort.spec.ports.targetPort of type int32"),
        (#"{"spec":{"ports":[{"port":80,"targetPort":{}}]}}"#, "json: cannot unmarshal object into Go struct field ServicePort.spec.ports.targetPort of type int32"),
        (#"{"spec":{"ports":[{"port":"80","targetPort":"http"}]}}"#, "json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32"),
    ])
    func serviceTypeErrors(json: String, expected: String) throws {
        #expect(try Self.check(json, "", "v1", "Service").decodeError == expected)
    }

    @Test(arguments: [
        (#"{"data":{"a":"not base64!"}}"#, "illegal base64 data at input byte 3"),
        (#"{"data":{"a":[1,2,300]}}"#, "json: cannot unmarshal number 300 into Go struct field Secret.data of type uint8"),
        (#"{"data":{"a":[1,"x"]}}"#, "json: cannot unmarshal string into Go struct field Secret.data of type uint8"),
        (#"{"data":{"a":5}}"#, "json: cannot unmarshal number into Go struct field Secret.data of type []uint8"),
    ])
    func secretTypeErrors(json: String, expected: String) throws {
        #expect(try Self.check(json, "", "v1", "Secret").decodeError == expected)
    }

    @Test func typeErrorsWinOverStrictErrorsWhateverTheDirective() throws {
        let result = try Self.check(#"{"spec":{"foo":1,"replicas":"x"}}"#)
        #expect(result.unknown == ["spec.foo"])
        #expect(result.decodeFailure(kind: "Deployment", version: "v1", directive: .strict)?.message
            == #"Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"#)
        #expect(result.warnings(directive: .warn).isEmpty)
    }

    @Test func anUnmarshallerErrorStopsTheDecoderAndWins() throws {
        // Go keeps the first plain type error but returns at once from Quantity's UnmarshalJSON.
        let result = try Self.check(#"{"spec":{"replicas":"x","template":{"spec":{"containers":[{"name":"a","resources":{"limits":{"cpu":"abc"}}}]}}}}"#)
        #expect(result.typeErrors.count == 2)
        #expect(result.decodeError == GoDecodeErrors.quantityFormatWrong)
        #expect(try Self.check(#"{"spec":{"replicas":"x","paused":"y"}}"#).decodeError
            == "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32")
    }

    @Test func microTimeNeedsMicroseconds() throws {
        let result = try Self.check(#"{"spec":{"renewTime":"2024-05-01T10:00:00Z"}}"#, "coordination.k8s.io", "v1", "Lease")
        #expect(result.decodeError == #"parsing time "2024-05-01T10:00:00Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "Z" as ".000000""#)
    }

    // MARK: removing unknown fields

    @Test func removingUnknownFieldsKeepsKnownOnes() throws {
        let object = try JSONParser.parse(#"""
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"a","foo":1,"labels":{"x":"y"}},
             "spec":{"replica":1,"replicas":2,"template":{"spec":{"containers":[{"name":"c","bar":true,"image":"i"},{"name":"d"}]}}},
             "extra":{"nested":[1]}}
            """#)
        let schema = try #require(KubernetesSchema.schema(group: "apps", version: "v1", kind: "Deployment"))
        let pruned = FieldValidation.removingUnknownFields(object, schema: schema)
        let expected = try JSONParser.parse(#"""
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"a","labels":{"x":"y"}},
             "spec":{"replicas":2,"template":{"spec":{"containers":[{"name":"c","image":"i"},{"name":"d"}]}}}}
            """#)
        #expect(pruned == expected)
        #expect(pruned.objectValue?.keys == ["apiVersion", "kind", "metadata", "spec"])
        #expect(FieldValidation.check(pruned, duplicateKeys: [], schema: schema).isClean)
        let clean = try JSONParser.parse(Self.deployment)
        #expect(FieldValidation.removingUnknownFields(clean, schema: schema) == clean)
    }

    // MARK: patches

    @Test func strategicMergePatchUsesTheConvertersWords() throws {
        let schema = try #require(KubernetesSchema.schema(group: "apps", version: "v1", kind: "Deployment"))
        let patched = try JSONParser.parse(#"{"spec":{"zeta":1,"template":{"spec":{"containers":[{"name":"a","bar":1}]}},"alpha":2}}"#)
        let result = FieldValidation.check(patched, duplicateKeys: ["spec.x"], schema: schema, mode: .strategicMergePatch)
        #expect(result.strictErrors == [#"duplicate field "spec.x""#, #"unknown field "spec.alpha""#,
                                        #"unknown field "spec.template.spec.containers[0].bar""#, #"unknown field "spec.zeta""#])
        let patch = try JSONParser.parse(#"{"spec":{"zeta":1,"alpha":2}}"#)
        let error = try #require(result.patchFailure(patch: FieldValidation.goMapText(patch), directive: .strict))
        #expect(error.code == 422)
        #expect(error.reason == "Invalid")
        #expect(error.message == #" "" is invalid: patch: Invalid value: "map[spec:map[alpha:2 zeta:1]]": strict decoding error: duplicate field "spec.x", unknown field "spec.alpha", unknown field "spec.template.spec.containers[0].bar", unknown field "spec.zeta""#)
        #expect(error.details?["causes"]?[0]?["field"] == "patch")
        #expect(result.patchFailure(patch: "", directive: .warn) == nil)
    }

    @Test(arguments: [
        (#"{"spec":{"replicas":"3"}}"#, "unrecognized type: int32"),
        (#"{"spec":{"replicas":1.5}}"#, "cannot convert float64 to int32"),
        (#"{"spec":{"template":{"spec":{"containers":[{"name":7}]}}}}"#, "cannot convert int64 to string"),
        (#"{"spec":{"template":{"spec":{"containers":[{"name":true}]}}}}"#, "unrecognized type: string"),
        (#"{"spec":{"template":"x"}}"#, "cannot restore struct from: string"),
        (#"{"spec":{"template":{"spec":{"containers":{}}}}}"#, "cannot restore slice from map"),
        (#"{"metadata":{"labels":[1]}}"#, "cannot restore map from slice"),
        (#"{"spec":{"strategy":{"rollingUpdate":{"maxSurge":true}}}}"#, "json: cannot unmarshal bool into Go value of type int32"),
        (#"{"metadata":{"creationTimestamp":1}}"#, "json: cannot unmarshal number into Go value of type string"),
    ])
    func strategicMergePatchTypeErrors(json: String, expected: String) throws {
        let schema = try #require(KubernetesSchema.schema(group: "apps", version: "v1", kind: "Deployment"))
        let result = FieldValidation.check(try JSONParser.parse(json), duplicateKeys: [], schema: schema, mode: .strategicMergePatch)
        #expect(result.decodeError == expected)
    }

    @Test func theConverterTakesWholeFloatsForIntegers() throws {
        let schema = try #require(KubernetesSchema.schema(group: "apps", version: "v1", kind: "Deployment"))
        let result = FieldValidation.check(try JSONParser.parse(#"{"spec":{"replicas":3.0,"strategy":{"rollingUpdate":{"maxSurge":2.0}}}}"#),
                                           duplicateKeys: [], schema: schema, mode: .strategicMergePatch)
        #expect(result.isClean)
    }

    @Test func mergePatchListsThePatchDuplicatesFirst() throws {
        let schema = try #require(KubernetesSchema.schema(group: "apps", version: "v1", kind: "Deployment"))
        let patched = try JSONParser.parse(#"{"spec":{"zeta":1,"alpha":2}}"#)
        let result = FieldValidation.check(patched, duplicateKeys: ["spec.replicas"], schema: schema, mode: .mergePatch)
        #expect(result.strictErrors == [#"duplicate field "spec.replicas""#, #"unknown field "spec.zeta""#, #"unknown field "spec.alpha""#])
        let error = try #require(result.patchFailure(patch: #"{"spec":{"zeta":1}}"#, directive: .strict))
        #expect(error.message.hasPrefix(#" "" is invalid: patch: Invalid value: "{\"spec\":{\"zeta\":1}}": strict decoding error: "#))
    }

    @Test func goMapTextPrintsLikeFmt() throws {
        let value = try JSONParser.parse(#"{"spec":{"replicas":"abc","x":[1,"a",true,null,{"b":1.5}],"f":1234567.5,"g":0.00001,"h":1e21,"i":100000.5,"j":-2.5}}"#)
        #expect(FieldValidation.goMapText(value) == "map[spec:map[f:1.2345675e+06 g:1e-05 h:1e+21 i:100000.5 j:-2.5 replicas:abc x:[1 a true <nil> map[b:1.5]]]]")
    }
}

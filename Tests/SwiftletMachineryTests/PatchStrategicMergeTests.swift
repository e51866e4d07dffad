import SwiftletMachinery
import Testing

@Suite struct StrategicMergePatchTests {
    // MARK: - The patches kubectl 1.34 sends

    static let deployment = #"""
        {"apiVersion":"apps/v1","kind":"Deployment",
         "metadata":{"name":"web","namespace":"default","generation":1,
                     "annotations":{"deployment.kubernetes.io/revision":"1",
                                    "kubectl.kubernetes.io/last-applied-configuration":"{\"old\":true}\n"},
                     "labels":{"app":"web"}},
         "spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},
                 "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%","maxUnavailable":"25%"}},
                 "template":{"metadata":{"labels":{"app":"web"}},
                             "spec":{"containers":[{"name":"web","image":"nginx:1.27","imagePullPolicy":"IfNotPresent",
                                                    "ports":[{"containerPort":80,"name":"http","protocol":"TCP"}],
                                                    "resources":{},"terminationMessagePath":"/dev/termination-log"}],
                                     "restartPolicy":"Always","dnsPolicy":"ClusterFirst"}}},
         "status":{"replicas":2,"conditions":[{"type":"Available","status":"True"}]}}
        """#

    static let applyAddingEnvAndPort = #"""
        {"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"new\":true}\n"}},
         "spec":{"replicas":3,"template":{"spec":{"$setElementOrder/containers":[{"name":"web"}],
           "containers":[{"$setElementOrder/ports":[{"containerPort":8080},{"containerPort":80}],
                          "env":[{"name":"GREETING","value":"hello"}],"name":"web",
                          "ports":[{"containerPort":8080,"name":"alt"}]}]}}}}
        """#

    static let applyReverting = #"""
        {"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"old\":true}\n"}},
         "spec":{"replicas":2,"template":{"spec":{"$setElementOrder/containers":[{"name":"web"}],
           "containers":[{"$setElementOrder/ports":[{"containerPort":80}],"env":null,"name":"web",
                          "ports":[{"$patch":"delete","containerPort":8080}]}]}}}}
        """#

    @Test func kubectlApplyAddsEnvAndInsertsPort() throws {
        let result = try strategicMerge(Self.applyAddingEnvAndPort, into: Self.deployment, schema: PatchTestK8s.deployment)
        let expected = try jsonFixture(#"""
            {"apiVersion":"apps/v1","kind":"Deployment",
             "metadata":{"name":"web","namespace":"default","generation":1,
                         "annotations":{"deployment.kubernetes.io/revision":"1",
                                        "kubectl.kubernetes.io/last-applied-configuration":"{\"new\":true}\n"},
                         "labels":{"app":"web"}},
             "spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},
                     "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%","maxUnavailable":"25%"}},
                     "template":{"metadata":{"labels":{"app":"web"}},
                                 "spec":{"containers":[{"name":"web","image":"nginx:1.27","imagePullPolicy":"IfNotPresent",
                                                        "ports":[{"containerPort":8080,"name":"alt"},
                                                                 {"containerPort":80,"name":"http","protocol":"TCP"}],
                                                        "resources":{},"terminationMessagePath":"/dev/termination-log",
                                                        "env":[{"name":"GREETING","value":"hello"}]}],
                                         "restartPolicy":"Always","dnsPolicy":"ClusterFirst"}}},
             "status":{"replicas":2,"conditions":[{"type":"Available","status":"True"}]}}
            """#)
        #expect(result == expected)
    }

    @Test func kubectlApplyRevertsEnvAndPort() throws {
        let applied = try strategicMerge(Self.applyAddingEnvAndPort, into: Self.deployment, schema: PatchTestK8s.deployment)
        let reverted = try StrategicMergePatch.apply(jsonFixture(Self.applyReverting), to: applied, schema: PatchTestK8s.deployment)
        #expect(directiveKeys(in: reverted) == [])
        #expect(reverted == (try jsonFixture(Self.deployment)))
    }

    @Test func kubectlApplySwitchesUnionsWithRetainKeys() throws {
        let original = #"""
            {"metadata":{"name":"db"},
             "spec":{"replicas":1,
                     "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1,"maxUnavailable":0}},
                     "template":{"spec":{"containers":[{"name":"c","image":"busybox",
                                                        "volumeMounts":[{"name":"data","mountPath":"/data"}]}],
                                         "volumes":[{"name":"data","emptyDir":{}}]}}}}
            """#
        let patch = #"""
            {"spec":{"strategy":{"$retainKeys":["type"],"rollingUpdate":null,"type":"Recreate"},
                     "template":{"spec":{"$setElementOrder/containers":[{"name":"c"}],
                                         "$setElementOrder/volumes":[{"name":"data"}],
                                         "containers":[{"name":"c","volumeMounts":null}],
                                         "volumes":[{"$retainKeys":["hostPath","name"],"emptyDir":null,
                                                     "hostPath":{"path":"/tmp"},"name":"data"}]}}}}
            """#
        let result = try strategicMerge(patch, into: original, schema: PatchTestK8s.deployment)
        #expect(result == (try jsonFixture(#"""
            {"metadata":{"name":"db"},
             "spec":{"replicas":1,"strategy":{"type":"Recreate"},
                     "template":{"spec":{"containers":[{"name":"c","image":"busybox"}],
                                         "volumes":[{"name":"data","hostPath":{"path":"/tmp"}}]}}}}
            """#)))
    }

    // MARK: - Maps

    @Test func mapsMergeRecursivelyAndNullDeletes() throws {
        let result = try strategicMerge(
            #"{"metadata":{"labels":{"tier":"web","old":null},"annotations":{"a":"1"}},"spec":{"replicas":5}}"#,
            into: #"{"metadata":{"name":"x","labels":{"app":"web","old":"yes"}},"spec":{"replicas":1,"paused":true}}"#,
            schema: PatchTestK8s.deployment)
        #expect(result == (try jsonFixture(
            #"{"metadata":{"name":"x","labels":{"app":"web","tier":"web"},"annotations":{"a":"1"}},"spec":{"replicas":5,"paused":true}}"#)))
    }

    @Test func patchReplaceDirectiveReplacesAMap() throws {
        let result = try strategicMerge(
            #"{"metadata":{"labels":{"$patch":"replace","only":"this"}}}"#,
            into: #"{"metadata":{"name":"x","labels":{"app":"web","tier":"db"}}}"#, schema: PatchTestK8s.pod)
        #expect(result == (try jsonFixture(#"{"metadata":{"name":"x","labels":{"only":"this"}}}"#)))
    }

    @Test func patchDeleteDirectiveEmptiesAMap() throws {
        let result = try strategicMerge(
            #"{"spec":{"nodeSelector":{"$patch":"delete"}}}"#,
            into: #"{"spec":{"nodeSelector":{"disk":"ssd"},"restartPolicy":"Always"}}"#, schema: PatchTestK8s.pod)
        #expect(result == (try jsonFixture(#"{"spec":{"nodeSelector":{},"restartPolicy":"Always"}}"#)))
    }

    @Test func patchDirectivesOnMapsTheOriginalLacks() throws {
        let result = try strategicMerge(
            #"{"spec":{"nodeSelector":{"$patch":"delete"},"affinity":{"$patch":"replace","nodeAffinity":{"x":1,"y":null}}}}"#,
            into: #"{"spec":{"restartPolicy":"Always"}}"#, schema: PatchTestK8s.pod)
        #expect(result == (try jsonFixture(#"{"spec":{"restartPolicy":"Always","affinity":{"nodeAffinity":{"x":1}}}}"#)))
    }

    @Test func patchReplaceAtTheRootReplacesTheObject() throws {
        let result = try strategicMerge(#"{"$patch":"replace","kind":"Pod","spec":{}}"#,
                                        into: #"{"kind":"Pod","metadata":{"name":"x"}}"#, schema: PatchTestK8s.pod)
        #expect(result == (try jsonFixture(#"{"kind":"Pod","spec":{}}"#)))
    }

    @Test func replaceStrategyReplacesAMapWhole() throws {
        let schema = PatchTestSchema(["selector": PatchTestSchema(["a": PatchTestSchema()], strategies: ["replace"])])
        let result = try strategicMerge(#"{"selector":{"b":"2","c":null}}"#, into: #"{"selector":{"a":"1"}}"#, schema: schema)
        #expect(result == (try jsonFixture(#"{"selector":{"b":"2"}}"#)))
    }

    @Test func retainKeysClearsUnlistedMembers() throws {
        let result = try strategicMerge(
            #"{"spec":{"strategy":{"$retainKeys":["type","rollingUpdate"],"type":"RollingUpdate","rollingUpdate":{"maxSurge":2}}}}"#,
            into: #"{"spec":{"strategy":{"type":"Recreate","legacy":true}}}"#, schema: PatchTestK8s.deployment)
        #expect(result == (try jsonFixture(#"{"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":2}}}}"#)))
    }

    @Test func retainKeysActsWhereverItAppears() throws {
        // Upstream applies the directive regardless of the field's declared strategy.
        let result = try strategicMerge(#"{"spec":{"$retainKeys":["replicas"],"replicas":3}}"#,
                                        into: #"{"spec":{"replicas":1,"paused":true}}"#, schema: nil)
        #expect(result == (try jsonFixture(#"{"spec":{"replicas":3}}"#)))
    }

    @Test func retainKeysOnAnElementTheOriginalLacks() throws {
        let result = try strategicMerge(
            #"{"spec":{"volumes":[{"$retainKeys":["configMap","name"],"configMap":{"name":"cfg"},"name":"config"}]}}"#,
            into: #"{"spec":{"volumes":[{"name":"data","emptyDir":{}}]}}"#, schema: PatchTestK8s.pod)
        #expect(result == (try jsonFixture(
            #"{"spec":{"volumes":[{"configMap":{"name":"cfg"},"name":"config"},{"name":"data","emptyDir":{}}]}}"#)))
    }

    // MARK: - Lists merged by key

    @Test func mergeKeyedListUpdatesAddsAndDeletes() throws {
        let original = #"""
            {"spec":{"containers":[
              {"name":"web","image":"nginx:1.27","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]},
              {"name":"log","image":"fluentd"},
              {"name":"old","image":"busybox"}]}}
            """#
        let patch = #"""
            {"spec":{"containers":[
              {"name":"web","image":"nginx:1.28","env":[{"name":"B","value":"20"},{"name":"A","$patch":"delete"}]},
              {"name":"old","$patch":"delete"}]}}
            """#
        let result = try strategicMerge(patch, into: original, schema: PatchTestK8s.pod)
        #expect(result == (try jsonFixture(#"""
            {"spec":{"containers":[
              {"name":"web","image":"nginx:1.28","env":[{"name":"B","value":"20"}]},
              {"name":"log","image":"fluentd"}]}}
            """#)))
    }

    /// Upstream's mergeSortedSlice places an element new to the list before the server-only
    /// elements it is compared with, so kubectl patch adding a sidecar puts it first.
    @Test func newElementsComeBeforeServerOnlyOnes() throws {
        let result = try strategicMerge(
            #"{"spec":{"containers":[{"name":"sidecar","image":"envoy","args":["--x"],"ports":null}]}}"#,
            into: #"{"spec":{"containers":[{"name":"web","image":"nginx"},{"name":"log","image":"fluentd"}]}}"#,
            schema: PatchTestK8s.pod)
        #expect(result == (try jsonFixture(#"""
            {"spec":{"containers":[{"name":"sidecar","image":"envoy","args":["--x"]},
                                   {"name":"web","image":"nginx"},{"name":"log","image":"fluentd"}]}}
            """#)))
    }

    /// Patch elements keep patch order; a server-only element goes before a patch element
    /// the server had after it. (Upstream test "preserve the order from the patch in a merging list 2".)
    @Test func patchOrderInterleavesWithServerOrder() throws {
        let result = try strategicMerge(
            #"{"list":[{"name":3,"value":"c"},{"name":1,"value":"a"}]}"#,
            into: #"{"list":[{"name":1},{"name":2,"value":"b"},{"name":3}]}"#,
            schema: PatchTestSchema(["list": .mergeList("name")]))
        #expect(result == (try jsonFixture(#"{"list":[{"name":2,"value":"b"},{"name":3,"value":"c"},{"name":1,"value":"a"}]}"#)))
    }

    @Test func newElementLeavesNoNestedDirectives() throws {
        let result = try strategicMerge(
            #"""
            {"spec":{"$setElementOrder/initContainers":[{"name":"init"}],
                     "initContainers":[{"name":"init","image":"busybox","command":["sh","-c","true"],
                                        "$setElementOrder/ports":[{"containerPort":2},{"containerPort":1}],
                                        "ports":[{"containerPort":2},{"containerPort":1}],
                                        "env":[{"name":"X","value":null},{"name":"Y","$patch":"delete"}]}]}}
            """#,
            into: #"{"spec":{"containers":[{"name":"web"}]}}"#, schema: PatchTestK8s.pod)
        #expect(result == (try jsonFixture(#"""
            {"spec":{"containers":[{"name":"web"}],
                     "initContainers":[{"name":"init","image":"busybox","command":["sh","-c","true"],
                                        "ports":[{"containerPort":2},{"containerPort":1}],"env":[{"name":"X"}]}]}}
            """#)))
    }

    /// kubectl apply dropping a container; upstream test "delete an item in a list and preserve order".
    @Test func kubectlApplyRemovesAnElement() throws {
        let result = try strategicMerge(
            #"{"$setElementOrder/list":[{"name":2},{"name":1}],"list":[{"name":3,"$patch":"delete"}]}"#,
            into: #"{"list":[{"name":1,"other":"a"},{"name":2,"value":2,"other":"b"},{"name":3,"value":3}]}"#,
            schema: PatchTestSchema(["list": .mergeList("name")]))
        #expect(result == (try jsonFixture(#"{"list":[{"name":2,"value":2,"other":"b"},{"name":1,"other":"a"}]}"#)))
    }

    @Test func patchReplaceDirectiveReplacesAList() throws {
        let result = try strategicMerge(
            #"{"spec":{"containers":[{"name":"only","image":"x","env":[{"name":"A","value":null}]},{"$patch":"replace"}]}}"#,
            into: #"{"spec":{"containers":[{"name":"web"},{"name":"log"}]}}"#, schema: PatchTestK8s.pod)
        #expect(result == (try jsonFixture(#"{"spec":{"containers":[{"name":"only","image":"x","env":[{"name":"A"}]}]}}"#)))
    }

    @Test func patchReplaceDirectiveAloneEmptiesAList() throws {
        let result = try strategicMerge(#"{"spec":{"containers":[{"$patch":"replace"}]}}"#,
                                        into: #"{"spec":{"containers":[{"name":"web"}]}}"#, schema: PatchTestK8s.pod)
        #expect(result == (try jsonFixture(#"{"spec":{"containers":[]}}"#)))
    }

    @Test func nullDeletesAMergeKeyedField() throws {
        let result = try strategicMerge(#"{"spec":{"containers":[{"name":"web","volumeMounts":null,"env":null}]}}"#,
                                        into: #"{"spec":{"containers":[{"name":"web","volumeMounts":[{"mountPath":"/d","name":"d"}]}]}}"#,
                                        schema: PatchTestK8s.pod)
        #expect(result == (try jsonFixture(#"{"spec":{"containers":[{"name":"web"}]}}"#)))
    }

    @Test func deletingAnElementTheOriginalLacksIsANoOp() throws {
        let result = try strategicMerge(#"{"spec":{"ports":[{"port":9999,"$patch":"delete"}]}}"#,
                                        into: #"{"spec":{"ports":[{"port":80,"targetPort":8080}]}}"#, schema: PatchTestK8s.service)
        #expect(result == (try jsonFixture(#"{"spec":{"ports":[{"port":80,"targetPort":8080}]}}"#)))
    }

    @Test func deletionMarkersVanishFromAListTheOriginalLacks() throws {
        let result = try strategicMerge(#"{"spec":{"containers":[{"name":"web","ports":[{"$patch":"delete","containerPort":80}]}]}}"#,
                                        into: #"{"spec":{"containers":[{"name":"web"}]}}"#, schema: PatchTestK8s.pod)
        #expect(result == (try jsonFixture(#"{"spec":{"containers":[{"name":"web","ports":[]}]}}"#)))
    }

    @Test func servicePortsMergeByPort() throws {
        let result = try strategicMerge(
            #"{"spec":{"ports":[{"port":443,"targetPort":8443,"name":"https"},{"port":80,"targetPort":9090}]}}"#,
            into: #"{"spec":{"selector":{"app":"web"},"ports":[{"port":80,"targetPort":8080,"name":"http","protocol":"TCP"}]}}"#,
            schema: PatchTestK8s.service)
        #expect(result == (try jsonFixture(#"""
            {"spec":{"selector":{"app":"web"},"ports":[{"port":443,"targetPort":8443,"name":"https"},
                                                      {"port":80,"targetPort":9090,"name":"http","protocol":"TCP"}]}}
            """#)))
    }

    @Test func ownerReferencesMergeByUID() throws {
        let result = try strategicMerge(
            #"{"metadata":{"ownerReferences":[{"uid":"u1","controller":true},{"uid":"u2","kind":"ReplicaSet","name":"rs2"}]}}"#,
            into: #"{"metadata":{"name":"p","ownerReferences":[{"uid":"u1","kind":"ReplicaSet","name":"rs1"}]}}"#,
            schema: PatchTestK8s.pod)
        #expect(result == (try jsonFixture(#"""
            {"metadata":{"name":"p","ownerReferences":[{"uid":"u1","kind":"ReplicaSet","name":"rs1","controller":true},
                                                       {"uid":"u2","kind":"ReplicaSet","name":"rs2"}]}}
            """#)))
    }

    @Test func statusConditionsMergeByType() throws {
        let result = try strategicMerge(
            #"{"status":{"conditions":[{"type":"Ready","status":"True","reason":null}]}}"#,
            into: #"{"status":{"conditions":[{"type":"PodScheduled","status":"True"},{"type":"Ready","status":"False","reason":"ContainersNotReady"}]}}"#,
            schema: PatchTestK8s.pod)
        #expect(result == (try jsonFixture(
            #"{"status":{"conditions":[{"type":"PodScheduled","status":"True"},{"type":"Ready","status":"True"}]}}"#)))
    }

    // MARK: - Lists of scalars

    @Test func finalizersMergeAsASet() throws {
        let result = try strategicMerge(#"{"metadata":{"finalizers":["b","c"]}}"#,
                                        into: #"{"metadata":{"finalizers":["a","b"]}}"#, schema: PatchTestK8s.pod)
        #expect(result == (try jsonFixture(#"{"metadata":{"finalizers":["a","b","c"]}}"#)))
    }

    @Test func newFinalizerComesFirst() throws {
        let result = try strategicMerge(#"{"metadata":{"finalizers":["example.com/guard"]}}"#,
                                        into: #"{"metadata":{"finalizers":["kubernetes"]}}"#, schema: PatchTestK8s.pod)
        #expect(result == (try jsonFixture(#"{"metadata":{"finalizers":["example.com/guard","kubernetes"]}}"#)))
    }

    @Test func deleteFromPrimitiveListRemovesFinalizers() throws {
        let result = try strategicMerge(
            #"{"metadata":{"$deleteFromPrimitiveList/finalizers":["b","zzz"]}}"#,
            into: #"{"metadata":{"finalizers":["a","b","c"]}}"#, schema: PatchTestK8s.pod)
        #expect(result == (try jsonFixture(#"{"metadata":{"finalizers":["a","c"]}}"#)))
    }

    @Test func deleteFromPrimitiveListWithAdditionsAndOrder() throws {
        // kubectl apply swapping one finalizer for another.
        let result = try strategicMerge(
            #"{"metadata":{"$deleteFromPrimitiveList/finalizers":["old"],"$setElementOrder/finalizers":["new","keep"],"finalizers":["new"]}}"#,
            into: #"{"metadata":{"finalizers":["keep","old"]}}"#, schema: PatchTestK8s.pod)
        #expect(result == (try jsonFixture(#"{"metadata":{"finalizers":["new","keep"]}}"#)))
    }

    @Test func deleteFromPrimitiveListOnAMissingListIsANoOp() throws {
        let result = try strategicMerge(#"{"metadata":{"$deleteFromPrimitiveList/finalizers":["a"]}}"#,
                                        into: #"{"metadata":{"name":"x"}}"#, schema: PatchTestK8s.pod)
        #expect(result == (try jsonFixture(#"{"metadata":{"name":"x"}}"#)))
    }

    @Test func deleteFromPrimitiveListWorksWithoutSchema() throws {
        let result = try strategicMerge(#"{"$deleteFromPrimitiveList/tags":[2]}"#, into: #"{"tags":[1,2,3]}"#, schema: nil)
        #expect(result == (try jsonFixture(#"{"tags":[1,3]}"#)))
    }

    // MARK: - $setElementOrder

    @Test func setElementOrderReordersWithoutChanges() throws {
        let result = try strategicMerge(
            #"{"spec":{"$setElementOrder/containers":[{"name":"b"},{"name":"a"}]}}"#,
            into: #"{"spec":{"containers":[{"name":"a","image":"1"},{"name":"b","image":"2"}]}}"#, schema: PatchTestK8s.pod)
        #expect(result == (try jsonFixture(#"{"spec":{"containers":[{"name":"b","image":"2"},{"name":"a","image":"1"}]}}"#)))
    }

    /// Upstream test "set elements order in a list with server-only items 2".
    @Test func setElementOrderInterleavesServerOnlyElements() throws {
        let result = try strategicMerge(
            #"{"$setElementOrder/list":[{"name":2},{"name":1},{"name":4},{"name":3}]}"#,
            into: #"{"list":[{"name":1,"other":"a"},{"name":2,"value":2},{"name":9},{"name":3,"value":3},{"name":4,"value":4}]}"#,
            schema: PatchTestSchema(["list": .mergeList("name")]))
        #expect(result == (try jsonFixture(
            #"{"list":[{"name":2,"value":2},{"name":1,"other":"a"},{"name":9},{"name":4,"value":4},{"name":3,"value":3}]}"#)))
    }

    /// Upstream test "add an item in a list and preserve order" (three-way result).
    @Test func setElementOrderPlacesAnAddedElement() throws {
        let result = try strategicMerge(
            #"{"$setElementOrder/list":[{"name":3},{"name":1},{"name":2}],"list":[{"name":3,"value":3}]}"#,
            into: #"{"list":[{"name":1,"other":"a"},{"name":2,"value":2,"other":"b"}]}"#,
            schema: PatchTestSchema(["list": .mergeList("name")]))
        #expect(result == (try jsonFixture(
            #"{"list":[{"name":3,"value":3},{"name":1,"other":"a"},{"name":2,"value":2,"other":"b"}]}"#)))
    }

    /// Upstream test "add an item in a list of primitives and preserve order" (three-way result).
    @Test func setElementOrderOnScalars() throws {
        let result = try strategicMerge(#"{"$setElementOrder/ints":[3,1,2],"ints":[3]}"#, into: #"{"ints":[1,4,2]}"#,
                                        schema: PatchTestSchema(["ints": .mergeList(nil)]))
        #expect(result == (try jsonFixture(#"{"ints":[3,1,4,2]}"#)))
    }

    /// Upstream test "behavior of set element order for a merging list with duplicate".
    @Test func setElementOrderWithDuplicates() throws {
        let result = try strategicMerge(
            #"{"$setElementOrder/list":[{"name":2},{"name":1},{"name":4},{"name":3},{"name":2}]}"#,
            into: #"{"list":[{"name":1},{"name":2,"value":"dup1"},{"name":3},{"name":2,"value":"dup2"},{"name":4}]}"#,
            schema: PatchTestSchema(["list": .mergeList("name")]))
        #expect(result == (try jsonFixture(
            #"{"list":[{"name":2,"value":"dup1"},{"name":2,"value":"dup2"},{"name":1},{"name":4},{"name":3}]}"#)))
    }

    @Test func setElementOrderNamingMissingElementsIgnoresThem() throws {
        let result = try strategicMerge(
            #"{"$setElementOrder/list":[{"name":3},{"name":2},{"name":1}],"list":[{"name":3,"value":3},{"name":1,"value":1}]}"#,
            into: #"{"list":[{"name":1},{"name":3}]}"#, schema: PatchTestSchema(["list": .mergeList("name")]))
        #expect(result == (try jsonFixture(#"{"list":[{"name":3,"value":3},{"name":1,"value":1}]}"#)))
    }

    @Test func setElementOrderForAListTheOriginalLacks() throws {
        let result = try strategicMerge(
            #"{"spec":{"$setElementOrder/tolerations":[{"key":"b"}],"$setElementOrder/volumes":[{"name":"b"},{"name":"a"}],"volumes":[{"name":"b","emptyDir":{}},{"name":"a"}]}}"#,
            into: #"{"spec":{}}"#, schema: PatchTestK8s.pod)
        #expect(result == (try jsonFixture(#"{"spec":{"volumes":[{"name":"b","emptyDir":{}},{"name":"a"}]}}"#)))
    }

    // MARK: - Atomic lists and unknown fields

    @Test func atomicListsAreReplaced() throws {
        let result = try strategicMerge(
            #"{"spec":{"tolerations":[{"key":"b","operator":"Exists","value":null}],"containers":[{"name":"web","command":["b"],"args":[]}]}}"#,
            into: #"{"spec":{"tolerations":[{"key":"a","operator":"Exists"}],"containers":[{"name":"web","command":["a","x"],"args":["--v"]}]}}"#,
            schema: PatchTestK8s.pod)
        #expect(result == (try jsonFixture(
            #"{"spec":{"tolerations":[{"key":"b","operator":"Exists"}],"containers":[{"name":"web","command":["b"],"args":[]}]}}"#)))
    }

    @Test func withoutSchemaMapsMergeAndListsAreReplaced() throws {
        let result = try strategicMerge(
            #"{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"b"}]}},"extra":{"x":1,"gone":null}},"status":null}"#,
            into: #"{"spec":{"replicas":1,"template":{"spec":{"containers":[{"name":"web","image":"a","ports":[{"containerPort":80}]},{"name":"log"}]}},"extra":{"gone":true}},"status":{}}"#,
            schema: nil)
        #expect(result == (try jsonFixture(
            #"{"spec":{"replicas":1,"template":{"spec":{"containers":[{"name":"web","image":"b"}]}},"extra":{"x":1}}}"#)))
    }

    /// With nothing known, a directive-free object patch means what it means in RFC 7386.
    @Test(arguments: MergePatchTests.rfcExamples.filter { $0.1.hasPrefix("{") })
    func withoutSchemaObjectPatchesMatchMergePatch(original: String, patch: String, expected: String) throws {
        #expect(try strategicMerge(patch, into: original, schema: nil) == (try jsonFixture(expected)))
    }

    @Test func withoutSchemaKubectlPatchesStillLeaveNoDirectives() throws {
        let result = try strategicMerge(Self.applyAddingEnvAndPort, into: Self.deployment, schema: nil)
        #expect(result[path: "spec", "replicas"] == 3)
        #expect(result[path: "spec", "template", "spec", "containers"] == (try jsonFixture(
            #"[{"env":[{"name":"GREETING","value":"hello"}],"name":"web","ports":[{"containerPort":8080,"name":"alt"}]}]"#)))
    }

    @Test func unknownFieldsOfAKnownKindMerge() throws {
        let result = try strategicMerge(#"{"spec":{"custom":{"b":2},"list":[3]}}"#,
                                        into: #"{"spec":{"custom":{"a":1},"list":[1,2]}}"#, schema: PatchTestK8s.pod)
        #expect(result == (try jsonFixture(#"{"spec":{"custom":{"a":1,"b":2},"list":[3]}}"#)))
    }

    @Test func dollarKeysThatAreNotDirectivesAreData() throws {
        // A CustomResourceDefinition's OpenAPI schema has members like "$ref" and "$schema".
        let result = try strategicMerge(##"{"spec":{"schema":{"$ref":"#/x","$schema":"draft-04"}}}"##,
                                        into: #"{"spec":{"schema":{"type":"object"}}}"#, schema: nil)
        #expect(result == (try jsonFixture(##"{"spec":{"schema":{"type":"object","$ref":"#/x","$schema":"draft-04"}}}"##)))
    }

    @Test func typeChangesReplace() throws {
        let result = try strategicMerge(#"{"a":{"x":1,"y":null},"b":[1],"c":"s","d":{"k":1}}"#,
                                        into: #"{"a":[1],"b":{"k":1},"c":{"k":1},"d":null}"#, schema: nil)
        #expect(result == (try jsonFixture(#"{"a":{"x":1},"b":[1],"c":"s","d":{"k":1}}"#)))
    }

    @Test func keepsMemberOrder() throws {
        let result = try strategicMerge(#"{"spec":{"replicas":3},"status":null,"zeta":1}"#,
                                        into: #"{"apiVersion":"v1","kind":"X","spec":{"replicas":1},"status":{}}"#,
                                        schema: nil)
        #expect(JSONWriter.string(result) == #"{"apiVersion":"v1","kind":"X","spec":{"replicas":3},"zeta":1}"#)
    }

    @Test func nullAndEmptyPatches() throws {
        let original = try jsonFixture(#"{"a":1}"#)
        #expect(try StrategicMergePatch.apply(.null, to: original, schema: nil) == original)
        #expect(try StrategicMergePatch.apply(jsonFixture("{}"), to: original, schema: nil) == original)
    }

    // MARK: - Failures

    @Test(arguments: [
        ("[]", "json: cannot unmarshal array into Go value of type map[string]interface {}"),
        (#""x""#, "json: cannot unmarshal string into Go value of type map[string]interface {}"),
        (#"{"spec":{"strategy":{"$retainKeys":["type"],"rollingUpdate":{"maxSurge":1}}}}"#, "invalid patch format of retainKeys"),
        (#"{"spec":{"strategy":{"$retainKeys":"type"}}}"#, "invalid patch format of retainKeys"),
        (#"{"metadata":{"$setElementOrderfinalizers":["a"]}}"#, "invalid patch format of setElementOrder list"),
        (#"{"metadata":{"$deleteFromPrimitiveList":["a"]}}"#, "invalid patch format of primitive list"),
    ])
    func malformedPatches(patch: String, message: String) throws {
        let error = try strategicMergeError(patch, into: Self.deployment, schema: PatchTestK8s.deployment)
        #expect(error == .malformed(message))
        #expect(error?.apiError == APIError(code: 400, reason: "BadRequest", message: message))
    }

    @Test(arguments: [
        (#"{"spec":{"template":{"spec":{"containers":[{"image":"nginx"}]}}}}"#,
         "map: map[image:nginx] does not contain declared merge key: name"),
        (#"{"spec":{"template":{"spec":{"containers":[{"$patch":"delete"}]}}}}"#,
         "map: map[$patch:delete] does not contain declared merge key: name"),
        (#"{"spec":{"template":{"spec":{"containers":[{"name":"web","$patch":"merge"}]}}}}"#,
         "merging lists cannot yet be specified in the patch"),
        (#"{"spec":{"template":{"spec":{"containers":[{"name":"web","$patch":"shuffle"}]}}}}"#,
         "unknown patch type: shuffle in map: map[$patch:shuffle name:web]"),
        (#"{"spec":{"strategy":{"$patch":"merge","type":"Recreate"}}}"#,
         "unknown patch type: merge in map: map[$patch:merge type:Recreate]"),
        (#"{"metadata":{"finalizers":[1]}}"#, "list element types are not identical: [[a] [1]]"),
        (#"{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"a"}],"containers":[{"name":"web"}]}}}}"#,
         "The order in patch list:\n[map[name:web]]\n doesn't match $setElementOrder list:\n[map[name:a]]\n"),
        (#"{"spec":{"template":{"spec":{"$setElementOrder/containers":"web"}}}}"#,
         "expected a []interface {}, but received a string"),
    ])
    func unmergeablePatches(patch: String, message: String) throws {
        let original = #"{"metadata":{"finalizers":["a"]},"spec":{"strategy":{"type":"RollingUpdate"},"template":{"spec":{"containers":[{"name":"web"}]}}}}"#
        let error = try strategicMergeError(patch, into: original, schema: PatchTestK8s.deployment)
        #expect(error == .unmergeable(message))
        #expect(error?.apiError == APIError(code: 500, reason: "", message: message))
    }

    @Test func setElementOrderOutOfStepWithThePatch() throws {
        // Upstream test "should check if order in $setElementOrder and patch list match".
        let error = try strategicMergeError(
            #"{"$setElementOrder/list":[{"name":1},{"name":2},{"name":3}],"list":[{"name":3,"value":3},{"name":1,"value":1}]}"#,
            into: #"{"list":[{"name":1},{"name":3},{"name":2}]}"#, schema: PatchTestSchema(["list": .mergeList("name")]))
        #expect(error?.message.contains("doesn't match $setElementOrder list") == true)
    }

    @Test func originalElementsWithoutTheMergeKeyFail() throws {
        let error = try strategicMergeError(#"{"list":[{"name":"a"}]}"#, into: #"{"list":[{"value":1}]}"#,
                                            schema: PatchTestSchema(["list": .mergeList("name")]))
        #expect(error == .unmergeable("map: map[value:1] does not contain declared merge key: name"))
    }

    @Test func mergeListWithoutMergeKeyFails() throws {
        let error = try strategicMergeError(#"{"list":[{"a":1}]}"#, into: #"{"list":[{"a":2}]}"#,
                                            schema: PatchTestSchema(["list": .mergeList(nil)]))
        #expect(error == .unmergeable("cannot merge lists without merge key for list"))
    }

    @Test func listsOfListsAreUnprocessable() throws {
        let error = try strategicMergeError(#"{"metadata":{"finalizers":[["a"]]}}"#,
                                            into: #"{"metadata":{"finalizers":["b"]}}"#, schema: PatchTestK8s.pod)
        #expect(error == .inapplicable("lists of lists are not supported"))
        #expect(error?.apiError.code == 422)
        #expect(error?.apiError.reason == "Invalid")
    }

    @Test func conflictingStrategiesFail() throws {
        let schema = PatchTestSchema(["list": PatchTestSchema(strategies: ["merge", "replace"], mergeKey: "name")])
        let error = try strategicMergeError(#"{"list":[{"name":"a"}]}"#, into: #"{"list":[]}"#, schema: schema)
        #expect(error == .unmergeable("unexpected patch strategy: [merge replace]"))
    }
}

import Testing
import SwiftletAPI
import SwiftletMachinery

/// Object metadata: names per kind, generateName, labels, annotations, finalizers.
struct ValidationMetadataTests {
    @Test(arguments: [
        ("", "Pod", #"{"metadata":{"name":"Web_App"},"spec":{"containers":[{"name":"a","image":"a"}]}}"#,
         [#"metadata.name: Invalid value: "Web_App": "# + ValidationText.subdomain]),
        ("", "Pod", #"{"metadata":{},"spec":{"containers":[{"name":"a","image":"a"}]}}"#,
         ["metadata.name: Required value: name or generateName is required"]),
        ("", "Pod", #"{"metadata":{"generateName":"web-"},"spec":{"containers":[{"name":"a","image":"a"}]}}"#, []),
        ("", "Pod", #"{"metadata":{"generateName":"Web-"},"spec":{"containers":[{"name":"a","image":"a"}]}}"#,
         [#"metadata.generateName: Invalid value: "Web-": "# + ValidationText.subdomain]),
        ("", "Namespace", #"{"metadata":{"name":"my.ns"}}"#, [#"metadata.name: Invalid value: "my.ns": must not contain dots"#]),
        ("", "Namespace", #"{"metadata":{"name":"Dev"}}"#, [#"metadata.name: Invalid value: "Dev": "# + ValidationText.label]),
        ("", "Service", #"{"metadata":{"name":"1web"},"spec":{"ports":[{"port":80}]}}"#, [#"metadata.name: Invalid value: "1web": "# + ValidationText.rfc1035]),
        ("", "Node", #"{"metadata":{"name":"Node_1"}}"#, [#"metadata.name: Invalid value: "Node_1": "# + ValidationText.subdomain]),
        ("apps", "StatefulSet", #"{"metadata":{"name":"web.v1"},"spec":{"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}}}}}"#,
         [#"metadata.name: Invalid value: "web.v1": must not contain dots"#]),
        ("", "ConfigMap", #"{"metadata":{"name":"c","namespace":"Team"}}"#, [#"metadata.namespace: Invalid value: "Team": "# + ValidationText.label]),
        ("", "ConfigMap", #"{"metadata":{"name":"c","generation":-1}}"#, ["metadata.generation: Invalid value: -1: must be greater than or equal to 0"]),
    ])
    func names(group: String, kind: String, json: String, expected: [String]) throws {
        #expect(try validationMessages(group, kind, json) == expected)
    }

    @Test func labelsAndAnnotations() throws {
        let messages = try validationMessages("", "ConfigMap", #"""
            {"metadata":{"name":"c","labels":{"app":"a b","-bad":"ok"},"annotations":{"a/b/c":"x"}}}
            """#)
        #expect(messages == [
            #"metadata.labels: Invalid value: "a b": "# + ValidationText.labelValue,
            #"metadata.labels: Invalid value: "-bad": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"#,
            #"metadata.annotations: Invalid value: "a/b/c": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"#,
        ])
    }

    @Test func annotationSizeLimit() throws {
        var object: JSONValue = ["metadata": ["name": "c", "annotations": ["big": .string(String(repeating: "x", count: 262_141))]]]
        #expect(Catalogue.validate(group: "", kind: "ConfigMap", object: object).isEmpty)
        object[path: "metadata", "annotations", "big"] = .string(String(repeating: "x", count: 262_141))
        object[path: "metadata", "annotations", "b"] = "y"
        #expect(Catalogue.validate(group: "", kind: "ConfigMap", object: object).map(\.message) == ["metadata.annotations: Too long: may not be more than 262144 bytes"])
    }

    @Test func finalizers() throws {
        #expect(try validationMessages("", "ConfigMap", #"{"metadata":{"name":"c","finalizers":["example.com/cleanup","kubernetes"]}}"#) == [])
        #expect(try validationMessages("", "ConfigMap", #"{"metadata":{"name":"c","finalizers":["cleanup"]}}"#)
                == [#"metadata.finalizers[0]: Invalid value: "cleanup": name is neither a standard finalizer name nor is it fully qualified"#])
        #expect(try validationMessages("", "Namespace", #"{"metadata":{"name":"n"},"spec":{"finalizers":["cleanup"]}}"#)
                == [#"spec.finalizers: Invalid value: "cleanup": name is neither a standard finalizer name nor is it fully qualified"#])
    }

    @Test func ownerReferences() throws {
        #expect(try validationMessages("", "ConfigMap", #"{"metadata":{"name":"c","ownerReferences":[{"apiVersion":"apps/","kind":"ReplicaSet","name":"rs"}]}}"#) == [
            #"metadata.ownerReferences.apiVersion: Invalid value: "apps/": version must not be empty"#,
            #"metadata.ownerReferences.uid: Invalid value: "": must not be empty"#,
        ])
    }
}

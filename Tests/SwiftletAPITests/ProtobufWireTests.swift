@testable import SwiftletAPI
import SwiftletMachinery
import SwiftletTestSupport
import Testing

/// Wire-format rules the decoder must follow whoever wrote the body: merging, unknown fields,
/// packed lists, negative numbers, and the apimachinery types with a JSON form of their own.
@Suite struct ProtobufWireTests {
    @Test func microTimeKeepsMicrosecondsTruncated() throws {
        func renewTime(seconds: Int64, nanos: Int64) throws -> JSONValue? {
            let body = PB.body("coordination.k8s.io/v1", "Lease", [
                PB.objectMeta(name: "node-1"),
                .message(2, [.string(1, "node-1"), .int(2, 40), .message(4, [.int(1, seconds), .int(2, nanos)])]),
            ])
            return try KubernetesProtobuf.decode(body)[path: "spec", "renewTime"]
        }
        #expect(try renewTime(seconds: 1_795_544_400, nanos: 123_456_789) == "2026-11-24T18:20:00.123456Z")
        #expect(try renewTime(seconds: 1_795_544_400, nanos: 0) == "2026-11-24T18:20:00.000000Z")
        // Go normalizes negative nanos into the previous second.
        #expect(try renewTime(seconds: 1_795_544_400, nanos: -1_500) == "2026-11-24T18:19:59.999999Z")
        #expect(try renewTime(seconds: 0, nanos: 1_000) == "1970-01-01T00:00:00.000001Z")
    }

    @Test func timeDropsNanosecondsAsGoDoes() throws {
        let body = PB.body("v1", "Namespace", [.message(1, [.string(1, "x"), .message(9, [.int(1, 0), .int(2, 999)])])])
        #expect(try KubernetesProtobuf.decode(body)[path: "metadata", "deletionTimestamp"] == "1970-01-01T00:00:00Z")
    }

    @Test func rawExtensionAndFieldsV1CarryJSON() throws {
        let body = PB.body("apps/v1", "ControllerRevision", [
            .message(1, [
                .string(1, "web-5d4f"),
                .message(17, [.string(1, "kubectl"), .string(2, "Update"), .string(3, "apps/v1"),
                              .message(4, [.int(1, 1_795_544_400)]), .string(6, "FieldsV1"),
                              .message(7, [.string(1, #"{"f:data":{}}"#)]), .string(8, "")]),
            ]),
            .message(2, [.string(1, #"{"spec":{"replicas":1}}"#)]),
            .int(3, 2),
        ])
        #expect(try PB.json(body) == #"{"apiVersion":"apps/v1","kind":"ControllerRevision","metadata":{"name":"#
            + #""web-5d4f","managedFields":[{"manager":"kubectl","operation":"Update","apiVersion":"apps/v1","#
            + #""time":"2026-11-24T18:20:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{}}}]},"#
            + #""data":{"spec":{"replicas":1}},"revision":2}"#)
        let empty = PB.body("apps/v1", "ControllerRevision", [.message(2, []), .int(3, 1)])
        #expect(try KubernetesProtobuf.decode(empty)["data"] == .null)
    }

    @Test func repeatedOccurrencesOfAMessageMerge() throws {
        let body = PB.body("v1", "Namespace", [
            .message(1, [.string(1, "first"), .entry(11, "a", "1")]),
            .message(1, [.string(1, "second"), .string(3, "ns"), .entry(11, "b", "2")]),
        ])
        #expect(try PB.json(body) == #"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"second","#
            + #""namespace":"ns","labels":{"a":"1","b":"2"}}}"#)
    }

    @Test func unknownFieldsOfEveryWireTypeAreSkipped() throws {
        let unknown: [PB.Field] = [
            .varint(900, 7), .string(901, "future"), .raw(PB.varint(902 << 3 | 5) + [1, 2, 3, 4]),
            .raw(PB.varint(903 << 3 | 1) + [1, 2, 3, 4, 5, 6, 7, 8]),
            .raw(PB.varint(904 << 3 | 3) + PB.encode([.varint(1, 1), .string(2, "in a group")]) + PB.varint(904 << 3 | 4)),
        ]
        let body = PB.body("v1", "Namespace", unknown + [.message(1, unknown + [.string(1, "x")])] + unknown)
        #expect(try PB.json(body) == #"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}}"#)
    }

    @Test func numbersPackedOrNotNegativeAndBool() throws {
        let securityContext: PB.Field = .message(14, [
            .bytes(4, PB.varint(1000) + PB.varint(2000)),  // supplementalGroups, packed
            .int(4, 3000),  // and one more unpacked
            .bool(3, true),  // runAsNonRoot
        ])
        let body = PB.body("apps/v1", "Deployment", [
            .message(2, [
                .varint(1, UInt64(bitPattern: -1)),  // replicas, a 10-byte varint as Go writes negative int32
                .message(3, [.message(2, [securityContext])]),
            ]),
        ])
        let decoded = try KubernetesProtobuf.decode(body)
        #expect(decoded[path: "spec", "replicas"] == -1)
        #expect(decoded[path: "spec", "template", "spec", "securityContext"]
            == ["supplementalGroups": [1000, 2000, 3000], "runAsNonRoot": true])
    }

    @Test func missingTypeMetaComesFromTheRequestPath() throws {
        let body: [UInt8] = [0x6B, 0x38, 0x73, 0x00] + PB.encode([.bytes(2, PB.encode([.message(1, [.string(1, "x")])]))])
        #expect(try KubernetesProtobuf.decode(body, defaultAPIVersion: "v1", defaultKind: "Namespace")
            == ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "x"]])
    }

    @Test func mapEntriesWithoutValueReadAsZero() throws {
        let body = PB.body("v1", "Node", [
            .message(3, [.message(1, [.string(1, "cpu")]), .message(2, [.string(1, "pods"), .message(2, [])])]),
        ])
        #expect(try KubernetesProtobuf.decode(body)["status"] == ["capacity": ["cpu": "0"], "allocatable": ["pods": "0"]])
    }

    @Test func everyServedKindHasAMessage() {
        for kind in ["v1/Namespace", "v1/Node", "v1/Pod", "v1/Service", "v1/Endpoints", "v1/ConfigMap", "v1/Secret",
                     "v1/Event", "v1/ServiceAccount", "v1/ReplicationController", "v1/Binding", "apps/v1/Deployment",
                     "apps/v1/ReplicaSet", "apps/v1/DaemonSet", "apps/v1/StatefulSet", "apps/v1/ControllerRevision",
                     "discovery.k8s.io/v1/EndpointSlice", "coordination.k8s.io/v1/Lease", "autoscaling/v1/Scale",
                     "batch/v1/Job", "batch/v1/CronJob", "policy/v1/Eviction", "v1/DeleteOptions"] {
            #expect(KubernetesProtobuf.table.kinds[kind] != nil, "\(kind)")
        }
    }
}

@testable import SwiftletAPI
import SwiftletMachinery
import SwiftletTestSupport
import Testing

/// Malformed and hostile bodies: each is a 400 worded as kube-apiserver words it, and none may
/// crash the server.
@Suite struct ProtobufErrorTests {
    static let magic: [UInt8] = [0x6B, 0x38, 0x73, 0x00]

    func message(_ body: [UInt8], defaultKind: String? = nil) -> String? {
        do {
            _ = try KubernetesProtobuf.decode(body, defaultKind: defaultKind)
            return nil
        } catch {
            #expect(error.code == 400 && error.reason == "BadRequest")
            return error.message
        }
    }

    /// A Namespace whose `raw` is the given bytes.
    func namespace(_ raw: [UInt8]) -> [UInt8] {
        Self.magic + PB.encode([.message(1, [.string(1, "v1"), .string(2, "Namespace")]), .bytes(2, raw)])
    }

    @Test func envelopeProblems() {
        #expect(message([], defaultKind: "Namespace")
            == "the object provided is unrecognized (must be of type Namespace): empty data (<empty>)")
        #expect(message(Array(#"{"kind":"Namespace","apiVersion":"v1","metadata":{}}"#.utf8))
            == "the object provided is unrecognized: provided data does not appear to be a protobuf message, "
            + #"expected prefix [107 56 115 0] ({"kind":"Namespace","apiVersio ...)"#)
        #expect(message(Self.magic) == "the object provided is unrecognized: empty body (6b387300)")
        #expect(message(Self.magic + [0x0A, 0x05, 0x0A]) == "the object provided is unrecognized: unexpected EOF (6b3873000a050a)")
        #expect(message(Self.magic + [0x08, 0x01], defaultKind: "Pod")
            == "the object provided is unrecognized (must be of type Pod): proto: wrong wireType = 0 for field TypeMeta (6b3873000801)")
    }

    @Test func kindProblems() {
        #expect(message(PB.body("v1", "Foo", [])) == #"Foo in version "v1" cannot be handled as a Foo: no kind "Foo" is "#
            + #"registered for version "v1" in scheme "pkg/api/legacyscheme/scheme.go:30""#)
        #expect(message(PB.body("apps/v2", "Deployment", []), defaultKind: "Deployment")
            == #"Deployment in version "v2" cannot be handled as a Deployment: no kind "Deployment" is "#
            + #"registered for version "apps/v2" in scheme "pkg/api/legacyscheme/scheme.go:30""#)
        #expect(message(PB.body("v1", "", []))
            == #"the object provided is unrecognized: Object 'Kind' is missing in 'runtime.TypeMeta{APIVersion:"v1", Kind:""}' "#
            + "(6b3873000a060a027631120012001a002200)")
        #expect(message(PB.body("", "Namespace", []))?.contains("Object 'apiVersion' is missing") == true)
    }

    @Test func malformedObjects() {
        let prefix = #"Namespace in version "v1" cannot be handled as a Namespace: "#
        #expect(message(namespace([0x0A, 0x80])) == prefix + "unexpected EOF")  // truncated length varint
        #expect(message(namespace([0x0A, 0x05, 0x0A, 0x01])) == prefix + "unexpected EOF")  // length past the end
        #expect(message(namespace([0x0A, 0x02, 0x0A, 0x05])) == prefix + "unexpected EOF")  // name cut short in metadata
        #expect(message(namespace([0x78] + Array(repeating: 0xFF, count: 10) + [0x01])) == prefix + "proto: integer overflow")
        #expect(message(namespace([0x08, 0x01])) == prefix + "proto: wrong wireType = 0 for field metadata")
        #expect(message(namespace([0x0A, 0x02, 0x08, 0x01])) == prefix + "proto: wrong wireType = 0 for field name")
        #expect(message(namespace([0x0E])) == prefix + "proto: illegal wireType 6")
        #expect(message(namespace([0x00])) == prefix + "proto: illegal tag 0 (wire type 0)")
        #expect(message(namespace([0x7C])) == prefix + "proto: unexpected end group")
    }

    @Test func valuesGoCannotMarshal() {
        let prefix = #"Namespace in version "v1" cannot be handled as a Namespace: "#
        let farFuture = namespace(PB.encode([.message(1, [.message(8, [.int(1, .max)])])]))
        #expect(message(farFuture) == prefix + "Time.MarshalJSON: year outside of range [0,9999]")
        let badRaw = PB.body("apps/v1", "ControllerRevision", [.message(2, [.string(1, "{not json")])])
        #expect(message(badRaw)?.hasPrefix(#"ControllerRevision in version "v1" cannot be handled as a ControllerRevision: "#
            + "embedded object is not valid JSON") == true)
        let badIntOrString = PB.body("v1", "Service", [.message(2, [.message(1, [.message(4, [.int(1, 2)])])])])
        #expect(message(badIntOrString)?.hasSuffix("impossible IntOrString.Type") == true)
    }

    @Test func deepGroupNestingIsRefusedNotRecursed() {
        let open = PB.varint(5 << 3 | 3)
        let deep = namespace(Array((0..<100_000).map { _ in open }.joined()))
        #expect(message(deep)?.hasSuffix("proto: exceeded maximum recursion depth") == true)
    }

    /// Mutations of well-formed bodies: every one decodes or is refused with a 400.
    @Test func mutatedBodiesNeverCrash() {
        let seeds: [[UInt8]] = [
            PB.body("v1", "Pod", [
                PB.objectMeta(name: "p", namespace: "default", labels: [("app", "web")]),
                .message(2, [
                    .message(1, [.string(1, "v"), .message(2, [.message(2, [.string(1, "")])])]),
                    .message(2, [.string(1, "c"), .string(2, "nginx"), .string(3, "sh"),
                                 .message(8, [.message(1, [.string(1, "cpu"), .message(2, [.string(1, "1")])])])]),
                    .int(4, 30), .bytes(14, PB.encode([.bytes(4, PB.varint(1) + PB.varint(2))])),
                ]),
                .message(3, [.string(1, "Running"), .message(7, [.int(1, 1_795_544_400)])]),
            ]),
            PB.body("v1", "Service", [.message(2, [.message(1, [.int(3, 80), .message(4, [.int(1, 1), .string(3, "http")])])])]),
            PB.body("apps/v1", "ControllerRevision", [.message(2, [.string(1, #"{"a":[1,2,{"b":null}]}"#)])]),
            PB.body("coordination.k8s.io/v1", "Lease", [.message(2, [.message(4, [.int(1, 5), .int(2, 7_000)])])]),
        ]
        var random = SplitMix64(seed: 0x5EED)
        var outcomes = (decoded: 0, refused: 0)
        for seed in seeds {
            for _ in 0..<2_000 {
                var body = seed
                for _ in 0...random.below(3) {
                    let at = random.below(body.count)
                    switch random.below(4) {
                    case 0: body[at] = UInt8(truncatingIfNeeded: random.next())
                    case 1: body[at] ^= 1 << UInt8(random.below(8))
                    case 2: body.insert(UInt8(truncatingIfNeeded: random.next()), at: at)
                    default: body.removeSubrange(at...)
                    }
                    if body.isEmpty { break }
                }
                if message(body) == nil { outcomes.decoded += 1 } else { outcomes.refused += 1 }
            }
        }
        #expect(outcomes.decoded > 0 && outcomes.refused > 0)
    }
}

/// A small deterministic generator, so a failing mutation can be reproduced.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }
}

import SwiftletMachinery

/// Defaulting of the smaller core kinds, and of EndpointSlices.
enum CoreDefaults {
    typealias Edit = DefaultingEdit

    /// Every named namespace carries its name as a label, so selectors can pick namespaces by name.
    static func namespace(_ object: inout JSONValue) {
        if let name = object[path: "metadata", "name"]?.stringValue, !name.isEmpty {
            object[path: "metadata", "labels", "kubernetes.io/metadata.name"] = .string(name)
        }
        var status = object["status"]?.objectValue.map(JSONValue.object) ?? .object(JSONObject())
        Edit.setIfEmpty(&status, "phase", "Active")
        object["status"] = status
    }

    /// Type Opaque, and `stringData` folded into `data` as the v1 to internal conversion does:
    /// upstream never stores `stringData`.
    static func secret(_ object: inout JSONValue) {
        Edit.setIfEmpty(&object, "type", "Opaque")
        guard let stringData = object["stringData"]?.objectValue else { return }
        var data = object["data"]?.objectValue ?? JSONObject()
        for (key, value) in stringData {
            data[key] = .string(SecretDataEncoding.base64(Array((value.stringValue ?? "").utf8)))
        }
        object["stringData"] = nil
        if !data.isEmpty { object["data"] = .object(data) }
    }

    /// Allocatable defaults to capacity; both are resource lists, rounded like any other.
    static func node(_ object: inout JSONValue) {
        Edit.editObject(&object, "status") { status in
            if Edit.isUnset(status["allocatable"]), let capacity = status["capacity"], case .object = capacity {
                status["allocatable"] = capacity
            }
            PodDefaults.roundResourceList(&status, "capacity")
            PodDefaults.roundResourceList(&status, "allocatable")
        }
    }

    static func endpoints(_ object: inout JSONValue) {
        Edit.editEach(&object, "subsets") { subset in
            Edit.editEach(&subset, "ports") { Edit.setIfEmpty(&$0, "protocol", "TCP") }
        }
    }

    /// discovery/v1 SetDefaults_EndpointPort: unnamed ports get the name "".
    static func endpointSlice(_ object: inout JSONValue) {
        Edit.editEach(&object, "ports") { port in
            Edit.setIfUnset(&port, "name", "")
            Edit.setIfUnset(&port, "protocol", "TCP")
        }
    }
}

/// Standard base64 with padding, as Go's encoding/json writes []byte.
enum SecretDataEncoding {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func base64(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = bytes[i], b1 = i + 1 < bytes.count ? bytes[i + 1] : 0, b2 = i + 2 < bytes.count ? bytes[i + 2] : 0
            out.append(alphabet[Int(b0 >> 2)])
            out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(i + 1 < bytes.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

import SwiftletMachinery
import Yams

/// The body of a server-side apply: JSON (what kubectl and Helm send) or YAML. YAML is read
/// with the bounds the JSON parser has: nesting no deeper than 128 (checked before the YAML
/// parser, whose node building recurses, ever sees the text), and aliases expanded to at most
/// a million values, as go-yaml refuses "excessive aliasing" rather than expanding a bomb.
enum ApplyBody {
    static let maxDepth = 128
    static let maxValues = 1_000_000

    static func decode(_ body: [UInt8]) throws(APIError) -> JSONValue {
        let value: JSONValue
        if let parsed = try? JSONParser.parse(body).value {
            value = parsed
        } else {
            guard !nestsTooDeep(body) else {
                throw APIError.badRequest("error decoding YAML: the document nests more than \(maxDepth) levels deep")
            }
            let node: Yams.Node?
            do { node = try Yams.compose(yaml: String(decoding: body, as: UTF8.self)) } catch {
                throw APIError.badRequest("error decoding YAML: \(error)")
            }
            var budget = maxValues
            guard let converted = node.map({ json(from: $0, budget: &budget) }), budget >= 0 else {
                throw APIError.badRequest(node == nil ? "error decoding YAML: the document is empty"
                                                      : "error decoding YAML: yaml: document contains excessive aliasing")
            }
            value = converted
        }
        guard value.objectValue != nil else {
            throw APIError.badRequest("couldn't get version/kind; json parse error: the applied configuration must be an object")
        }
        return value
    }

    /// Whether the text may nest deeper than `maxDepth`: flow brackets outside quotes, and on
    /// each line the indentation and compact `- ` entries before its content. It overestimates
    /// (any indentation counts), so it refuses nothing a sane manifest holds.
    static func nestsTooDeep(_ body: [UInt8]) -> Bool {
        var flow = 0, lead = 0
        var atLineStart = true
        var quote: UInt8?
        for byte in body {
            if byte == UInt8(ascii: "\n") {
                atLineStart = true
                lead = 0
                continue
            }
            if atLineStart {
                if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "-") {
                    lead += 1
                    if lead > 2 * maxDepth { return true }
                    continue
                }
                atLineStart = false
            }
            if let open = quote {
                if byte == open { quote = nil }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "'"): quote = byte
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                flow += 1
                if flow > maxDepth { return true }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): flow = max(0, flow - 1)
            default: break
            }
        }
        return false
    }

    /// A YAML node as JSON, scalars typed by YAML's core schema; each value spends one of
    /// `budget`, which goes negative when aliases would expand beyond it.
    static func json(from node: Yams.Node, budget: inout Int) -> JSONValue {
        budget -= 1
        guard budget >= 0 else { return .null }
        switch node {
        case .scalar(let scalar):
            if scalar.style != .plain { return .string(scalar.string) }
            switch scalar.string {
            case "", "~", "null", "Null", "NULL": return .null
            case "true", "True", "TRUE": return .bool(true)
            case "false", "False", "FALSE": return .bool(false)
            default:
                if let i = Int64(scalar.string) { return .int(i) }
                if let d = Double(scalar.string), scalar.string.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) {
                    return .double(d)
                }
                return .string(scalar.string)
            }
        case .mapping(let mapping):
            var object = JSONObject()
            for (key, value) in mapping {
                guard budget >= 0 else { break }
                object[key.string ?? ""] = json(from: value, budget: &budget)
            }
            return .object(object)
        case .sequence(let sequence):
            var items: [JSONValue] = []
            for value in sequence {
                guard budget >= 0 else { break }
                items.append(json(from: value, budget: &budget))
            }
            return .array(items)
        }
    }
}

/// The lexer and recursive-descent parser of k8s.io/apimachinery/pkg/labels, kept token for
/// token so that malformed selectors fail with upstream's exact messages.
struct LabelSelectorParser {
    enum Token: Equatable {
        case endOfString, closedPar, comma, doesNotExist, doubleEquals, equals, greaterThan
        case identifier, `in`, lessThan, notEquals, notIn, openPar
    }

    /// Keywords and operators; anything else is an identifier.
    static let literals: [String: Token] = [
        ")": .closedPar, ",": .comma, "!": .doesNotExist, "==": .doubleEquals, "=": .equals,
        ">": .greaterThan, "in": .in, "<": .lessThan, "!=": .notEquals, "notin": .notIn, "(": .openPar,
    ]

    /// The binary operators, in the order upstream lists them when none was found.
    static let binaryOperators = "in, notin, =, ==, !=, gt, lt"

    private var items: [(token: Token, literal: String)] = []
    private var position = 0

    init(_ text: String) {
        var lexer = Lexer(bytes: Array(text.utf8))
        while true {
            let item = lexer.lex()
            items.append(item)
            if item.token == .endOfString { break }
        }
    }

    /// Parser.parse: the requirements in the order written.
    mutating func parse() throws(SelectorParseError) -> [LabelRequirement] {
        var requirements: [LabelRequirement] = []
        while true {
            let (token, literal) = lookahead(valuesContext: true)
            switch token {
            case .identifier, .doesNotExist:
                do {
                    requirements.append(try parseRequirement())
                } catch {
                    throw SelectorParseError("unable to parse requirement: \(error.message)")
                }
                let (next, nextLiteral) = consume(valuesContext: true)
                switch next {
                case .endOfString:
                    return requirements
                case .comma:
                    let (after, afterLiteral) = lookahead(valuesContext: true)
                    if after != .identifier && after != .doesNotExist {
                        throw SelectorParseError("found '\(afterLiteral)', expected: identifier after ','")
                    }
                default:
                    throw SelectorParseError("found '\(nextLiteral)', expected: ',' or 'end of string'")
                }
            case .endOfString:
                return requirements
            default:
                throw SelectorParseError("found '\(literal)', expected: !, identifier, or 'end of string'")
            }
        }
    }

    /// In a values context the keywords `in` and `notin` are plain identifiers (`a in (in)`).
    private func lookahead(valuesContext: Bool) -> (Token, String) {
        let item = items[position]
        if valuesContext, item.token == .in || item.token == .notIn { return (.identifier, item.literal) }
        return (item.token, item.literal)
    }

    private mutating func consume(valuesContext: Bool) -> (Token, String) {
        let item = lookahead(valuesContext: valuesContext)
        position += 1
        return item
    }

    private mutating func parseRequirement() throws(SelectorParseError) -> LabelRequirement {
        let (key, inferred) = try parseKeyAndInferOperator()
        if let inferred { return try LabelRequirement(key: key, op: inferred, values: []) }
        let op = try parseOperator()
        let values: Set<String>
        switch op {
        case .in, .notIn: values = try parseValues()
        default: values = try parseExactValue()
        }
        return try LabelRequirement(key: key, op: op, values: values.sorted { $0.goPrecedes($1) })
    }

    /// The key, and `exists` or `!` when no binary operator follows it.
    private mutating func parseKeyAndInferOperator() throws(SelectorParseError) -> (String, LabelRequirement.Operator?) {
        var op: LabelRequirement.Operator?
        var (token, literal) = consume(valuesContext: true)
        if token == .doesNotExist {
            op = .doesNotExist
            (token, literal) = consume(valuesContext: true)
        }
        guard token == .identifier else { throw SelectorParseError("found '\(literal)', expected: identifier") }
        let keyErrors = NameFormat.qualifiedName(literal)
        if !keyErrors.isEmpty {
            // Upstream validates the key against a nil field path, which prints as "<nil>".
            throw SelectorParseError(FieldError.invalid("<nil>", .string(literal), keyErrors.joined(separator: "; ")).message)
        }
        let (next, _) = lookahead(valuesContext: true)
        if next == .endOfString || next == .comma, op == nil { op = .exists }
        return (literal, op)
    }

    private mutating func parseOperator() throws(SelectorParseError) -> LabelRequirement.Operator {
        let (token, literal) = consume(valuesContext: false)
        switch token {
        case .in: return .in
        case .equals: return .equals
        case .doubleEquals: return .doubleEquals
        case .greaterThan: return .greaterThan
        case .lessThan: return .lessThan
        case .notIn: return .notIn
        case .notEquals: return .notEquals
        default: throw SelectorParseError("found '\(literal)', expected: \(Self.binaryOperators)")
        }
    }

    /// `(x,y,z)`, where empty entries stand for the empty value.
    private mutating func parseValues() throws(SelectorParseError) -> Set<String> {
        let (open, openLiteral) = consume(valuesContext: true)
        guard open == .openPar else { throw SelectorParseError("found '\(openLiteral)' expected: '('") }
        let (token, literal) = lookahead(valuesContext: true)
        switch token {
        case .identifier, .comma:
            let values = try parseIdentifiersList()
            if consume(valuesContext: true).0 != .closedPar { throw SelectorParseError("found '\(literal)', expected: ')'") }
            return values
        case .closedPar:
            _ = consume(valuesContext: true)
            return [""]
        default:
            throw SelectorParseError("found '\(literal)', expected: ',', ')' or identifier")
        }
    }

    private mutating func parseIdentifiersList() throws(SelectorParseError) -> Set<String> {
        var values: Set<String> = []
        while true {
            let (token, literal) = consume(valuesContext: true)
            switch token {
            case .identifier:
                values.insert(literal)
                let (next, nextLiteral) = lookahead(valuesContext: true)
                switch next {
                case .comma: continue
                case .closedPar: return values
                default: throw SelectorParseError("found '\(nextLiteral)', expected: ',' or ')'")
                }
            case .comma:
                if values.isEmpty { values.insert("") }
                let (next, _) = lookahead(valuesContext: true)
                if next == .closedPar {
                    values.insert("")
                    return values
                }
                if next == .comma {
                    _ = consume(valuesContext: true)
                    values.insert("")
                }
            default:
                throw SelectorParseError("found '\(literal)', expected: ',', or identifier")
            }
        }
    }

    private mutating func parseExactValue() throws(SelectorParseError) -> Set<String> {
        let (next, _) = lookahead(valuesContext: true)
        if next == .endOfString || next == .comma { return [""] }
        let (token, literal) = consume(valuesContext: true)
        guard token == .identifier else { throw SelectorParseError("found '\(literal)', expected: identifier") }
        return [literal]
    }
}

/// The byte lexer; a NUL byte ends the input, as upstream's `read` returns 0 at the end.
private struct Lexer {
    let bytes: [UInt8]
    var position = 0

    static func isWhitespace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }

    static func isSpecial(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "="), UInt8(ascii: "!"), UInt8(ascii: "("), UInt8(ascii: ")"),
             UInt8(ascii: ","), UInt8(ascii: ">"), UInt8(ascii: "<"): return true
        default: return false
        }
    }

    mutating func read() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func lex() -> (token: LabelSelectorParser.Token, literal: String) {
        var ch = read()
        while Self.isWhitespace(ch) { ch = read() }
        if ch == 0 { return (.endOfString, "") }
        position -= 1
        return Self.isSpecial(ch) ? scanSpecialSymbol() : scanIdentifierOrKeyword()
    }

    mutating func scanIdentifierOrKeyword() -> (token: LabelSelectorParser.Token, literal: String) {
        var buffer: [UInt8] = []
        while true {
            let ch = read()
            if ch == 0 { break }
            if Self.isSpecial(ch) || Self.isWhitespace(ch) {
                position -= 1
                break
            }
            buffer.append(ch)
        }
        let text = String(decoding: buffer, as: UTF8.self)
        return (LabelSelectorParser.literals[text] ?? .identifier, text)
    }

    /// The longest run of operator characters that still forms an operator (`!=`, `==`, ...).
    mutating func scanSpecialSymbol() -> (token: LabelSelectorParser.Token, literal: String) {
        var buffer: [UInt8] = []
        var last: (token: LabelSelectorParser.Token, literal: String)?
        while true {
            let ch = read()
            if ch == 0 { break }
            guard Self.isSpecial(ch) else {
                position -= 1
                break
            }
            buffer.append(ch)
            let text = String(decoding: buffer, as: UTF8.self)
            if let token = LabelSelectorParser.literals[text] {
                last = (token, text)
            } else if last != nil {
                position -= 1
                break
            }
        }
        // Every single operator character is itself a token, so `last` is always set here.
        return last ?? (.endOfString, "")
    }
}

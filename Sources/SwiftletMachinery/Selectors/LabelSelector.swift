/// A label selector: requirements that must all hold, as k8s.io/apimachinery/pkg/labels has it.
///
/// Requirements are kept sorted by key (stably, as upstream sorts them) so `description` prints
/// the same text kube-apiserver and kubectl print, e.g. in Scale `status.selector`.
public struct LabelSelector: Sendable, Hashable, CustomStringConvertible {
    public private(set) var requirements: [LabelRequirement]
    /// labels.Nothing(): what a missing `metav1.LabelSelector` converts to.
    public private(set) var selectsNothing: Bool

    public static let everything = LabelSelector(requirements: [])
    public static let nothing = LabelSelector(sorted: [], selectsNothing: true)

    public init(requirements: [LabelRequirement]) {
        self.init(sorted: Self.sortedByKey(requirements), selectsNothing: false)
    }

    private init(sorted: [LabelRequirement], selectsNothing: Bool) {
        self.requirements = sorted
        self.selectsNothing = selectsNothing
    }

    /// labels.SelectorFromSet: `key=value` for each pair (what Service and RC selectors mean).
    public init(matching set: [String: String]) {
        self.init(sorted: set.sorted { $0.key.goPrecedes($1.key) }.map { LabelRequirement(unchecked: $0.key, $0.value) }, selectsNothing: false)
    }

    /// labels.Parse: the string syntax of `?labelSelector=` and `kubectl -l`.
    public static func parse(_ text: String) throws(SelectorParseError) -> LabelSelector {
        var parser = LabelSelectorParser(text)
        return LabelSelector(requirements: try parser.parse())
    }

    /// labels.Empty(): true when every object matches.
    public var isEverything: Bool { !selectsNothing && requirements.isEmpty }

    public func matches(_ labels: [String: String]) -> Bool {
        !selectsNothing && requirements.allSatisfy { $0.matches(labels) }
    }

    /// Matches `metadata.labels` as stored; non-string values count as absent.
    public func matches(_ labels: JSONObject?) -> Bool {
        var map: [String: String] = [:]
        for (key, value) in labels ?? JSONObject() {
            if let text = value.stringValue { map[key] = text }
        }
        return matches(map)
    }

    /// The comma-separated requirements, e.g. `app=web,tier in (a,b)`; "" for everything and nothing.
    public var description: String { requirements.map(\.description).joined(separator: ",") }

    /// RequiresExactMatch: the single value a key must have, when the selector pins one.
    public func requiredValue(for key: String) -> String? {
        guard let requirement = requirements.first(where: { $0.key == key }) else { return nil }
        switch requirement.op {
        case .equals, .doubleEquals, .in: return requirement.values.count == 1 ? requirement.values[0] : nil
        default: return nil
        }
    }

    private static func sortedByKey(_ requirements: [LabelRequirement]) -> [LabelRequirement] {
        requirements.enumerated()
            .sorted { $0.element.key.goPrecedes($1.element.key) || ($0.element.key == $1.element.key && $0.offset < $1.offset) }
            .map(\.element)
    }
}

extension LabelRequirement {
    /// SelectorFromValidatedSet skips validation; so does this.
    init(unchecked key: String, _ value: String) {
        self.key = key
        self.op = .equals
        self.values = [value]
    }
}

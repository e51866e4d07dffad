/// An event as watchers see it, after selector filtering.
public struct WatchEvent: Sendable {
    public enum Kind: String, Sendable { case added = "ADDED", modified = "MODIFIED", deleted = "DELETED", bookmark = "BOOKMARK" }
    public var kind: Kind
    /// The object; for bookmarks, nil (the watcher writes one carrying only the revision).
    public var object: CachedObject?
    public var revision: Int64
    /// The bookmark that ends a watch's initial events (`sendInitialEvents=true`), annotated
    /// `k8s.io/initial-events-end` so that client-go's streaming lists know the state is complete.
    public var endsInitialEvents = false
}

/// What a watcher wants: a namespace, label and field selectors.
public struct WatchFilter: Sendable {
    public var namespace: String?
    public var labelSelector: LabelSelectorMatcher?
    public var fieldSelector: FieldSelectorMatcher?

    public init(namespace: String? = nil, labelSelector: LabelSelectorMatcher? = nil, fieldSelector: FieldSelectorMatcher? = nil) {
        self.namespace = namespace
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
    }

    public func matches(_ object: CachedObject) -> Bool {
        if let namespace, object.namespace != namespace { return false }
        if let labelSelector, !labelSelector(object.labels) { return false }
        if let fieldSelector, !fieldSelector(object.fields) { return false }
        return true
    }
}

public typealias LabelSelectorMatcher = @Sendable ([String: String]) -> Bool
public typealias FieldSelectorMatcher = @Sendable ([String: String]) -> Bool

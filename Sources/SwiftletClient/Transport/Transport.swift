import SwiftletAPIServer

/// How an `APIClient` reaches an API server.
///
/// Requests and responses are the server's own `HTTPRequest`/`HTTPResponse`, so the in-process
/// transport is a plain function call and a network transport only has to move those bytes.
/// A transport never throws: a network transport answers a failed connection with a
/// `metav1.Status` response (503 ServiceUnavailable), so callers see one error type.
/// Watch responses are `.stream` bodies whose chunks need not align with event lines.
public protocol Transport: Sendable {
    func send(_ request: HTTPRequest) async -> HTTPResponse
}

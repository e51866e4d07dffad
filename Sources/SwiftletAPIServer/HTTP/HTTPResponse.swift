import NIOHTTP1
import SwiftletMachinery

/// A response: a whole body, or a stream of chunks (watch events, followed logs).
public struct HTTPResponse: Sendable {
    public enum Body: Sendable {
        case bytes([UInt8])
        /// Chunks written and flushed as they come; the stream's end ends the response.
        case stream(AsyncStream<[UInt8]>)
    }

    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: Body
    /// The in-flight place the request took, held until the response is written.
    var inFlightPlace: InFlightPlace?

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: Body) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func json(_ value: JSONValue, status: HTTPResponseStatus = .ok, headers: HTTPHeaders = [:]) -> HTTPResponse {
        json(bytes: JSONWriter.write(value), status: status, headers: headers)
    }

    public static func json(bytes: [UInt8], status: HTTPResponseStatus = .ok, headers: HTTPHeaders = [:],
                            contentType: String = "application/json") -> HTTPResponse {
        var h = headers
        h.replaceOrAdd(name: "Content-Type", value: contentType)
        return HTTPResponse(status: status, headers: h, body: .bytes(bytes))
    }

    public static func text(_ text: String, status: HTTPResponseStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: .bytes(Array(text.utf8)))
    }

    public static func error(_ error: APIError) -> HTTPResponse {
        json(error.status, status: HTTPResponseStatus(statusCode: error.code))
    }
}

import Foundation
import SwiftletMachinery

/// `pods/exec` or `pods/attach`: the query decoded as upstream's `PodExecOptions` / `PodAttachOptions`.
struct RemoteCommandRequest: Sendable {
    enum Kind: String, Sendable {
        case exec, attach
    }

    var kind: Kind
    var container: String
    var command: [String]
    var stdin: Bool
    var stdout: Bool
    var stderr: Bool
    var tty: Bool

    init(_ kind: Kind, query: QueryParameters) throws(APIError) {
        self.kind = kind
        container = query["container"] ?? ""
        command = kind == .exec ? query.all("command") : []
        stdin = query.optionFlag("stdin")
        stdout = query.optionFlag("stdout")
        tty = query.optionFlag("tty")
        // As the kubelet: a terminal has one output stream, so stderr is dropped rather than refused.
        stderr = query.optionFlag("stderr") && !tty
        if !stdin && !stdout && !stderr {
            throw APIError.badRequest("you must specify at least 1 of stdin, stdout, stderr")
        }
        if kind == .exec && command.isEmpty {
            throw APIError.badRequest("you must specify at least one command for the container")
        }
    }
}

/// The WebSocket subprotocols of the remote command streams, as upstream's `wsstream` names them.
/// All are binary, one channel byte first: 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize.
enum RemoteCommandProtocol: String, Sendable, CaseIterable {
    /// v4 plus the client's `[255, channel]` message closing one of its streams (stdin EOF).
    case v5 = "v5.channel.k8s.io"
    /// The outcome as a JSON Status on the error channel.
    case v4 = "v4.channel.k8s.io"
    /// Before v4, and what a client offering no subprotocol gets: failures as plain text, success as nothing.
    case v1 = "channel.k8s.io"

    /// The first of the client's protocols that is supported, as `wsstream` picks; `.v1` when it offers
    /// none, and nil when it offers only unsupported ones.
    static func negotiate(_ offered: [String]) -> RemoteCommandProtocol? {
        if offered.isEmpty { return .v1 }
        return offered.lazy.compactMap { RemoteCommandProtocol(rawValue: $0) }.first
    }

    /// The subprotocols listed in `Sec-WebSocket-Protocol` headers, in order.
    static func offered(in values: [String]) -> [String] {
        values.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

/// The program behind kiamol/ch02-whoami: every request is answered with the serving host's name,
/// "I'm <hostname> running on <OS description>", so repeated calls through a Service show which pod answered.
public struct WhoamiApp: Sendable {
    public let hostName: String
    public let operatingSystem: String

    public init(hostName: String = Host.name(), operatingSystem: String = Host.operatingSystemDescription()) {
        self.hostName = hostName
        self.operatingSystem = operatingSystem
    }

    public var message: String { "I'm \(hostName) running on \(operatingSystem)" }

    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        HTTPResponse(status: 200, contentType: "text/plain; charset=utf-8", body: message)
    }
}

/// whoami's command line. The image runs `dotnet whoami.dll`, which takes no options of its own,
/// so anything but --port is ignored.
public struct WhoamiOptions: Sendable, Equatable {
    public var port: UInt16

    public init(arguments: [String], environment: (String) -> String?) throws(UsageError) {
        let flags = try FlagScanner(arguments, aliases: ["--port": "port", "-port": "port"], ignoringUnknown: true)
        port = try listeningPort(flag: flags.values["port"], environment: environment, fallback: 80)
    }
}

// kiamol/ch02-whoami: `dotnet whoami.dll` serving "I'm <hostname> running on <OS>" on port 80.
import Glibc
import SwiftletSampleApps

do {
    let options = try WhoamiOptions(arguments: Array(CommandLine.arguments.dropFirst()), environment: Host.environment)
    WebHost.run(port: options.port, log: ConsoleLog.fromEnvironment(), handler: WhoamiApp().handle)
} catch {
    ConsoleLog.writeToStandardError(
        "whoami: \(error)\nusage: whoami [--port <port>]  (or the PORT variable; default 80)\n")
    exit(2)
}

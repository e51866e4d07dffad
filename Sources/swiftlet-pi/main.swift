// kiamol/ch05-pi: stands in for `dotnet Pi.Web.dll -m web|console|file -dp N`.
import Glibc
import SwiftletSampleApps

let options: PiOptions
do {
    options = try PiOptions(arguments: Array(CommandLine.arguments.dropFirst()), environment: Host.environment)
} catch {
    ConsoleLog.writeToStandardError("pi: \(error)\n\(PiOptions.usage)\n")
    exit(2)
}

switch options.mode {
case .console:
    ConsoleLog.writeToStandardOutput(PiDigits.compute(decimalPlaces: options.decimalPlaces) + "\n")
case .file:
    let path = options.outputPath!
    guard let file = fopen(path, "w") else {
        ConsoleLog.writeToStandardError("pi: cannot write \(path): \(String(cString: strerror(errno)))\n")
        exit(1)
    }
    fputs(PiDigits.compute(decimalPlaces: options.decimalPlaces), file)
    guard fclose(file) == 0 else {
        ConsoleLog.writeToStandardError("pi: cannot write \(path): \(String(cString: strerror(errno)))\n")
        exit(1)
    }
    ConsoleLog.writeToStandardOutput("Wrote pi to: \(options.decimalPlaces) dp; at: \(path)\n")
case .web:
    ConsoleLog.writeToStandardOutput("Running in web mode...\n")
    WebHost.run(port: options.port, log: ConsoleLog.fromEnvironment(), handler: PiApp().handle)
}

/// The web side of kiamol/ch05-pi: `GET /?dp=N` computes pi to N decimal places and returns a page
/// with the digits, how long they took and which host computed them.
public struct PiApp: Sendable {
    public static let defaultDecimalPlaces = 6
    /// Requests beyond this are refused; 100,000 places take a few seconds.
    public static let maximumDecimalPlaces = 100_000

    public let hostName: String

    public init(hostName: String = Host.name()) {
        self.hostName = hostName
    }

    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        // The MVC route {controller=Pi}/{action=Index}/{id?} answers "/", "/Pi" and "/Pi/Index[/id]".
        guard Self.isPiIndex(request.path) else { return HTTPResponse(status: 404) }
        var decimalPlaces = Self.defaultDecimalPlaces
        if let text = request.queryParameter("dp"), !text.isEmpty {
            guard let value = Int(text), (0...Self.maximumDecimalPlaces).contains(value) else {
                return HTTPResponse(status: 400, contentType: "text/plain; charset=utf-8",
                                    body: "dp must be a whole number from 0 to \(Self.maximumDecimalPlaces)\n")
            }
            decimalPlaces = value
        }
        let started = monotonicMilliseconds()
        let value = PiDigits.compute(decimalPlaces: decimalPlaces)
        let milliseconds = Int(monotonicMilliseconds() - started)
        let page = Self.page(decimalPlaces: decimalPlaces, value: value, milliseconds: milliseconds, hostName: hostName)
        return HTTPResponse(status: 200, contentType: "text/html; charset=utf-8", body: page)
    }

    private static func isPiIndex(_ path: String) -> Bool {
        let segments = path.lowercased().split(separator: "/")
        switch segments.count {
        case 0: return true
        case 1: return segments[0] == "pi"
        case 2, 3: return segments[0] == "pi" && segments[1] == "index"
        default: return false
        }
    }

    /// The image's Pi/Index view: "To: N d.p.", "in: T ms.", "from: host", then the digits.
    public static func page(decimalPlaces: Int, value: String, milliseconds: Int, hostName: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1.0" />
          <title>Pi - Pi.Web</title>
          <style>
            body { font-family: sans-serif; margin: 2em; }
            .row { display: flex; flex-wrap: wrap; gap: 3em; }
            .text-break { word-break: break-all; font-family: monospace; }
          </style>
        </head>
        <body>
        <div class="container">
          <div class="row">
            <h3>To: \(groupingThousands(decimalPlaces)) d.p.</h3>
            <h3>in: \(groupingThousands(milliseconds)) ms.</h3>
            <h3>from: \(escapingHTML(hostName))</h3>
          </div>
          <hr/>
          <div class="row">
            <p class="text-break">\(value)</p>
          </div>
        </div>
        </body>
        </html>

        """
    }
}

/// What the image's entry point does with `dotnet Pi.Web.dll <options>`: "-m web" serves HTTP,
/// "-m console -dp N" prints pi and exits (the image's default command), "-m file -dp N -o path" writes it.
public struct PiOptions: Sendable, Equatable {
    public enum Mode: String, Sendable {
        case web, console, file
    }

    public var mode: Mode
    public var decimalPlaces: Int
    public var outputPath: String?
    public var port: UInt16

    public static let usage = """
        usage: dotnet Pi.Web.dll [-m console|web|file] [-dp <decimal places>] [-o <file>] [--port <port>]
          -m    console (default) prints pi; web serves it over HTTP (port 80, or PORT, or --port); file writes it to -o
          -dp   decimal places (default 6)
        """

    public init(arguments: [String], environment: (String) -> String?) throws(UsageError) {
        let flags = try FlagScanner(arguments, aliases: [
            "-m": "mode", "-mode": "mode", "--mode": "mode",
            "-dp": "dp", "-decimalplaces": "dp", "--dp": "dp",
            "-o": "output", "-outputpath": "output", "--output": "output",
            "-port": "port", "--port": "port",
        ])
        let modeName = flags.values["mode"] ?? Mode.console.rawValue
        guard let mode = Mode(rawValue: modeName.lowercased()) else {
            throw UsageError(description: "unknown mode \(modeName)")
        }
        self.mode = mode
        let places = flags.values["dp"] ?? String(PiApp.defaultDecimalPlaces)
        guard let decimalPlaces = Int(places), (0...PiDigits.maximumDecimalPlaces).contains(decimalPlaces) else {
            throw UsageError(description: "invalid decimal places \(places)")
        }
        self.decimalPlaces = decimalPlaces
        outputPath = flags.values["output"]
        if mode == .file && outputPath == nil { throw UsageError(description: "file mode needs -o <file>") }
        port = try listeningPort(flag: flags.values["port"], environment: environment, fallback: 80)
    }
}

/// .NET's "N0" format: 12345 → "12,345".
func groupingThousands(_ number: Int) -> String {
    let digits = String(number.magnitude)
    var grouped = ""
    for (offset, digit) in digits.enumerated() {
        if offset > 0 && (digits.count - offset) % 3 == 0 { grouped += "," }
        grouped.append(digit)
    }
    return number < 0 ? "-" + grouped : grouped
}

func escapingHTML(_ text: String) -> String {
    var escaped = ""
    for character in text {
        switch character {
        case "&": escaped += "&amp;"
        case "<": escaped += "&lt;"
        case ">": escaped += "&gt;"
        case "\"": escaped += "&quot;"
        default: escaped.append(character)
        }
    }
    return escaped
}

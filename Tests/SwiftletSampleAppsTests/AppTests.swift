import Testing
@testable import SwiftletSampleApps

@Suite struct WhoamiAppTests {
    @Test func answersWithTheHostName() {
        let app = WhoamiApp(hostName: "whoami-web-x7k2p", operatingSystem: "Linux 6.1.0 #1 SMP")
        let response = app.handle(HTTPRequest(method: "GET", target: "/anything"))
        #expect(response.status == 200)
        #expect(response.contentType == "text/plain; charset=utf-8")
        #expect(response.bodyText == "I'm whoami-web-x7k2p running on Linux 6.1.0 #1 SMP")
    }

    @Test func describesThisMachineLikeDotNet() {
        let app = WhoamiApp()
        #expect(!app.hostName.isEmpty)
        #expect(app.operatingSystem.hasPrefix("Linux "))
        #expect(app.message.hasPrefix("I'm \(app.hostName) running on Linux "))
    }

    @Test func portComesFromFlagThenEnvironmentThenDefault() throws {
        let none: (String) -> String? = { _ in nil }
        let port8080: (String) -> String? = { $0 == "PORT" ? "8080" : nil }
        #expect(try WhoamiOptions(arguments: ["whoami.dll"], environment: none).port == 80)
        #expect(try WhoamiOptions(arguments: [], environment: port8080).port == 8080)
        #expect(try WhoamiOptions(arguments: ["--port", "9090", "--urls=x"], environment: port8080).port == 9090)
        #expect(try WhoamiOptions(arguments: ["--port=9091"], environment: none).port == 9091)
        #expect(throws: UsageError.self) { try WhoamiOptions(arguments: ["--port", "http"], environment: none) }
    }

    @Test func servesOverLoopback() throws {
        let app = WhoamiApp(hostName: "whoami-web-abcde", operatingSystem: "Linux test")
        let server = try startLoopbackServer(handler: app.handle)
        defer { server.stop() }
        let client = try LoopbackClient(port: server.port)
        client.send("GET / HTTP/1.1\r\nHost: whoami\r\nConnection: close\r\n\r\n")
        let response = client.readToEnd()
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(response.hasSuffix("\r\n\r\nI'm whoami-web-abcde running on Linux test"))
    }
}

@Suite struct PiAppTests {
    let app = PiApp(hostName: "pi-web-7d9f8")

    private func get(_ target: String) -> HTTPResponse {
        app.handle(HTTPRequest(method: "GET", target: target))
    }

    @Test func computesTheRequestedPlaces() {
        let response = get("/?dp=10")
        #expect(response.status == 200)
        #expect(response.contentType == "text/html; charset=utf-8")
        let page = response.bodyText
        #expect(page.contains("<p class=\"text-break\">3.1415926535</p>"))
        #expect(page.contains("<h3>To: 10 d.p.</h3>"))
        #expect(page.contains("<h3>from: pi-web-7d9f8</h3>"))
        #expect(page.contains(" ms.</h3>"))
    }

    @Test func defaultsToSixPlaces() {
        #expect(get("/").bodyText.contains(">3.141592</p>"))
        #expect(get("/?dp=").bodyText.contains(">3.141592</p>"))
        #expect(get("/Pi/Index").bodyText.contains(">3.141592</p>"))
    }

    @Test func thousandsAreGroupedLikeDotNet() {
        let page = get("/pi?dp=1000").bodyText
        #expect(page.contains("<h3>To: 1,000 d.p.</h3>"))
        #expect(page.contains(PiDigits.compute(decimalPlaces: 1000)))
        #expect(groupingThousands(0) == "0")
        #expect(groupingThousands(999) == "999")
        #expect(groupingThousands(1_234_567) == "1,234,567")
    }

    @Test func refusesBadPlacesAndUnknownPaths() {
        for target in ["/?dp=abc", "/?dp=-1", "/?dp=100001"] {
            #expect(get(target).status == 400, "\(target)")
        }
        #expect(get("/favicon.ico").status == 404)
        #expect(get("/pi/other").status == 404)
    }

    @Test func servesOverLoopback() throws {
        let server = try startLoopbackServer(handler: app.handle)
        defer { server.stop() }
        let client = try LoopbackClient(port: server.port)
        client.send("GET /?dp=20 HTTP/1.1\r\nHost: pi\r\nConnection: close\r\n\r\n")
        let response = client.readToEnd()
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(response.contains("3.14159265358979323846</p>"))
        #expect(response.contains("from: pi-web-7d9f8"))
    }
}

@Suite struct PiOptionsTests {
    let none: (String) -> String? = { _ in nil }

    @Test func webModeAsThePodsRunIt() throws {
        let options = try PiOptions(arguments: ["Pi.Web.dll", "-m", "web"], environment: none)
        #expect(options.mode == .web)
        #expect(options.port == 80)
    }

    @Test func consoleModeIsTheImageDefault() throws {
        let options = try PiOptions(arguments: ["Pi.Web.dll"], environment: none)
        #expect(options.mode == .console)
        #expect(options.decimalPlaces == 6)
        let explicit = try PiOptions(arguments: ["Pi.Web.dll", "-m", "console", "-dp", "1000"], environment: none)
        #expect(explicit.mode == .console && explicit.decimalPlaces == 1000)
    }

    @Test func fileModeAndPortOverrides() throws {
        let file = try PiOptions(arguments: ["-m", "file", "-dp", "50", "-o", "/tmp/pi.txt"], environment: none)
        #expect(file.mode == .file && file.outputPath == "/tmp/pi.txt")
        let flagged = try PiOptions(arguments: ["-m", "web", "--port=8080"], environment: { $0 == "PORT" ? "81" : nil })
        #expect(flagged.port == 8080)
        #expect(try PiOptions(arguments: ["-m", "web"], environment: { $0 == "PORT" ? "81" : nil }).port == 81)
    }

    @Test func refusesWhatItCannotRun() {
        let bad: [[String]] = [["-m"], ["-m", "gui"], ["-dp", "many"], ["-dp", "-3"], ["-m", "file"], ["--verbose"]]
        for arguments in bad {
            #expect(throws: UsageError.self, "\(arguments)") { try PiOptions(arguments: arguments, environment: none) }
        }
    }
}

@Suite struct ConsoleLogTests {
    @Test func parsesDotNetLevelNames() {
        #expect(LogLevel(dotNetName: "Debug") == .debug)
        #expect(LogLevel(dotNetName: "information") == .information)
        #expect(LogLevel(dotNetName: "WARNING") == .warning)
        #expect(LogLevel(dotNetName: "None") == LogLevel.none)
        #expect(LogLevel(dotNetName: "loud") == nil)
    }

    @Test func filtersByMinimumLevel() {
        let captured = CapturedLog()
        let log = captured.log(minimum: .information)
        log.log(.debug, "C", "hidden")
        log.log(.information, "C", event: 3, "shown")
        log.log(.error, "C", "also shown")
        #expect(captured.all == ["info: C[3] shown\n", "fail: C[0] also shown\n"])
        #expect(!ConsoleLog(minimum: .none).isEnabled(.critical))
    }
}

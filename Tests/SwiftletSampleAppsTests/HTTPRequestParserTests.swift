import Testing
@testable import SwiftletSampleApps

@Suite struct HTTPRequestParserTests {
    private func parse(_ text: String) throws(HTTPRequestError) -> HTTPRequestHead? {
        try HTTPRequestParser.parseHead(Array(text.utf8)[...])
    }

    private func failure(_ text: String) -> HTTPRequestError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func requestLineAndHeaders() throws {
        let text = "GET /pi/index?dp=1%2C0&x=a+b HTTP/1.1\r\nHost: pi-web\r\nUser-Agent:  curl/7.88.1 \r\n\r\nNEXT"
        let head = try #require(try parse(text))
        #expect(head.request.method == "GET")
        #expect(head.request.target == "/pi/index?dp=1%2C0&x=a+b")
        #expect(head.request.version == (1, 1))
        #expect(head.request.headers == [
            HTTPHeaderField("Host", "pi-web"), HTTPHeaderField("User-Agent", "curl/7.88.1"),
        ])
        #expect(head.request.header("host") == "pi-web")
        #expect(head.request.path == "/pi/index")
        #expect(head.request.queryParameter("dp") == "1,0")
        #expect(head.request.queryParameter("x") == "a b")
        #expect(head.request.queryParameter("missing") == nil)
        #expect(head.headLength == text.utf8.count - 4)
        #expect(head.contentLength == 0)
    }

    @Test func bareLineFeedsAndLeadingBlankLines() throws {
        let head = try #require(try parse("\r\n\nHEAD / HTTP/1.0\nHost: x\n\n"))
        #expect(head.request.method == "HEAD")
        #expect(head.request.version == (1, 0))
        #expect(head.request.header("Host") == "x")
        #expect(head.headLength == "\r\n\nHEAD / HTTP/1.0\nHost: x\n\n".utf8.count)
    }

    @Test func incompleteHeadNeedsMoreBytes() throws {
        #expect(try parse("") == nil)
        #expect(try parse("GET / HTTP/1.1\r\nHost: x\r\n") == nil)
        #expect(try parse("GET / HTTP/1.1\r\nHost: x\r\n\r") == nil)
    }

    @Test func contentLengthIsReported() throws {
        let head = try #require(try parse("POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"))
        #expect(head.contentLength == 5)
    }

    @Test func keepAliveFollowsVersionAndConnectionHeader() {
        #expect(HTTPRequest(method: "GET", target: "/").wantsKeepAlive)
        let close = [HTTPHeaderField("Connection", "Close")]
        #expect(!HTTPRequest(method: "GET", target: "/", headers: close).wantsKeepAlive)
        #expect(!HTTPRequest(method: "GET", target: "/", version: (1, 0)).wantsKeepAlive)
        #expect(HTTPRequest(method: "GET", target: "/", version: (1, 0),
                            headers: [HTTPHeaderField("connection", "Keep-Alive")]).wantsKeepAlive)
    }

    @Test func malformedRequestsAreRefusedWithTheRightStatus() {
        let cases: [(String, Int)] = [
            ("GARBAGE\r\n\r\n", 400),
            ("GET /\r\n\r\n", 400),
            ("GET  / HTTP/1.1\r\n\r\n", 400),
            ("GET / HTTP/1.1 extra\r\n\r\n", 400),
            ("G(T / HTTP/1.1\r\n\r\n", 400),
            ("GET / HTTX/1.1\r\n\r\n", 400),
            ("GET / HTTP/11\r\n\r\n", 400),
            ("GET / HTTP/2.0\r\n\r\n", 505),
            ("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nX: a\u{1}b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", 413),
            ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
            ("GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 20_000) + "\r\n\r\n", 431),
            ("GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 20_000), 431),
        ]
        for (text, status) in cases {
            #expect(failure(text)?.status == status, "\(text.prefix(60).debugDescription)")
        }
    }
}

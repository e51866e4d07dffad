import Glibc

/// Starts a sample app's HTTP server and logs the start-up lines ASP.NET's host logs.
public enum WebHost {
    /// Serves `handler` on every address at `port` until the process is killed.
    public static func run(port: UInt16, log: ConsoleLog, handler: @escaping HTTPHandler) -> Never {
        let server: HTTPServer
        do {
            server = try HTTPServer(port: port, log: log, handler: handler)
        } catch {
            log.log(.critical, "Microsoft.AspNetCore.Server.Kestrel", "Unable to start Kestrel. \(error)")
            exit(1)
        }
        // As ASP.NET's host does: SIGTERM and SIGINT end the app. Running as a container's PID 1,
        // a signal without a handler would be ignored and every pod deletion would wait out its grace period.
        signal(SIGTERM) { _ in _exit(0) }
        signal(SIGINT) { _ in _exit(0) }
        log.log(.information, "Microsoft.Hosting.Lifetime", "Now listening on: \(server.url)")
        log.log(.information, "Microsoft.Hosting.Lifetime", "Application started. Press Ctrl+C to shut down.")
        server.serve()
        exit(1)
    }
}

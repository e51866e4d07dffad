import Foundation
import Glibc
import SwiftletAPIServer
import SwiftletMachinery
import SwiftletRuntime
import SwiftletSpawn
import SwiftletOffload

/// The node side of `kubectl logs`, `exec` and `attach` (the kubelet's streaming server):
/// reads the containers' log files and runs commands in them with `runc exec`.
struct AgentStreaming: NodeStreamingBackend {
    let agent: NodeAgent

    func containerLogs(pod: PodReference, options: PodLogOptions) async throws(APIError) -> AsyncStream<[UInt8]> {
        let name = options.container
        guard let c = agent.containerRecord(uid: pod.uid, name: name), c.everStarted else {
            let reason = agent.containerRecord(uid: pod.uid, name: name)?.waiting?.reason ?? "ContainerCreating"
            throw .badRequest("container \"\(name)\" in pod \"\(pod.name)\" is waiting to start: \(reason)")
        }
        let attempt = options.previous ? c.restartCount - 1 : c.restartCount
        let path = PodDirectory(podsDirectory: agent.podsDirectory, uid: pod.uid).logFile(container: name, attempt: attempt)
        if options.previous, attempt < 0 || !FileManager.default.fileExists(atPath: path) {
            throw .badRequest("previous terminated container \"\(name)\" in pod \"\(pod.name)\" not found")
        }
        let reader = ContainerLogReader(path: path)
        let logOptions = ContainerLogOptions(tailLines: options.tailLines, sinceTime: options.since, timestamps: options.timestamps)
        if options.follow && !options.previous {
            let runtimeID = c.runtimeID
            return reader.follow(logOptions) { [agent] in
                runtimeID.map { agent.runtime.state(id: $0).isRunning } ?? false
            }
        }
        let bytes = reader.read(logOptions)
        return AsyncStream { continuation in
            if !bytes.isEmpty { continuation.yield(bytes) }
            continuation.finish()
        }
    }

    func exec(pod: PodReference, container: String, command: [String], tty: Bool,
              streams: ContainerStreams) async throws(APIError) -> Int32 {
        guard let id = agent.containerRecord(uid: pod.uid, name: container)?.runtimeID,
              agent.runtime.state(id: id).isRunning else {
            throw .internalError("container not found (\"\(container)\")")
        }
        let process: ExecProcess
        do {
            process = try agent.runtime.exec(id: id, command: command, tty: tty, environment: [])
        } catch {
            throw .internalError("failed to exec in container: \(error.description)")
        }
        return await Self.pump(process, streams)
    }

    /// The container's output from now on, each stream to its own channel, until the container stops or the
    /// client goes. The output comes from the container's log file (what the shim copies there is all there is),
    /// so nothing the container printed before the attach is repeated. Containers get no stdin of their own here:
    /// a client's input for one that asks for it (`stdin: true`) is refused, and otherwise read and dropped, as
    /// there is nobody to read it.
    func attach(pod: PodReference, container: String, tty: Bool, streams: ContainerStreams) async throws(APIError) {
        guard let c = agent.containerRecord(uid: pod.uid, name: container), let id = c.runtimeID,
              agent.runtime.state(id: id).isRunning else {
            throw .internalError("container not found (\"\(container)\")")
        }
        if streams.stdin != nil, agent.containerSpec(uid: pod.uid, name: container)?["stdin"]?.boolValue == true {
            throw .badRequest("attaching to the stdin of container \"\(container)\" is not supported by this node")
        }
        let reader = ContainerLogReader(path: PodDirectory(podsDirectory: agent.podsDirectory, uid: pod.uid)
            .logFile(container: container, attempt: c.restartCount))
        let isRunning: @Sendable () -> Bool = { [agent] in agent.runtime.state(id: id).isRunning }
        let drain = Task { if let stdin = streams.stdin { for await _ in stdin {} } }
        defer { drain.cancel() }
        await withDiscardingTaskGroup { group in
            for (stream, send) in [(ContainerLogStream.stdout, streams.stdout), (.stderr, streams.stderr)] {
                guard let send else { continue }
                let output = reader.follow(ContainerLogOptions(tailLines: 0, stream: stream), isRunning: isRunning)
                group.addTask { for await chunk in output { await send(chunk) } }
            }
        }
    }

    /// A connection to 127.0.0.1:`port` made inside the pod's network namespace (the node's own for a pod on the
    /// host network), so servers that listen on the pod's loopback only are reached too, as with the kubelet.
    func portForward(pod: PodReference, port: Int, input: AsyncStream<[UInt8]>,
                     output: @escaping @Sendable ([UInt8]) async -> Void) async throws(APIError) {
        let descriptor = try await connectInPod(pod, port: port)
        do {
            try await SocketPump.run(descriptor: descriptor, input: input, output: output)
        } catch {
            throw .internalError("error forwarding to localhost:\(port) inside the pod's network namespace: \(error)")
        }
    }

    private func connectInPod(_ pod: PodReference, port: Int) async throws(APIError) -> Int32 {
        guard let record = agent.records.withLock({ $0[pod.uid] }), record.hasNetwork else {
            throw .internalError("pod \(pod.name) has no network on this node")
        }
        let namespacePath = record.hostNetworkIP == nil ? record.sandbox?.netnsPath : nil
        let outcome: Result<Int32, ConnectFailure> = await Offload.run {
            guard let namespacePath else { return Self.connectToLoopback(port: port) }
            switch NetworkNamespaceThread.run(inNamespaceAt: namespacePath, { () throws(Never) in Self.connectToLoopback(port: port) }) {
            case .success(let connected): return connected
            case .failure(.entering(let operation, let code)):
                return .failure(ConnectFailure(reason: "cannot \(operation): \(String(cString: strerror(code)))"))
            }
        }
        switch outcome {
        case .success(let descriptor): return descriptor
        case .failure(let failure):
            throw .internalError("failed to connect to localhost:\(port) inside the pod's network namespace: \(failure.reason)")
        }
    }

    struct ConnectFailure: Error {
        var reason: String
    }

    private static func connectToLoopback(port: Int) -> Result<Int32, ConnectFailure> {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return .failure(ConnectFailure(reason: String(cString: strerror(errno)))) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr = in_addr(s_addr: UInt32(0x7F00_0001).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let reason = "dial tcp4 127.0.0.1:\(port): connect: \(String(cString: strerror(errno)).lowercased())"
            close(descriptor)
            return .failure(ConnectFailure(reason: reason))
        }
        return .success(descriptor)
    }

    /// Connects the process to the client's streams until it exits and its output is passed on.
    static func pump(_ process: ExecProcess, _ streams: ContainerStreams) async -> Int32 {
        let input = Task {
            if let stdin = streams.stdin {
                for await chunk in stdin { do { try process.write(chunk) } catch { break } }
            }
            process.closeStdin()
        }
        let resizing = Task {
            guard let resize = streams.resize else { return }
            for await size in resize { process.resize(width: size.width, height: size.height) }
        }
        let stdout = Task { for await chunk in process.stdout { await streams.stdout?(chunk) } }
        let stderr = Task { for await chunk in process.stderr { await streams.stderr?(chunk) } }
        let code = await withTaskCancellationHandler {
            await process.wait()
        } onCancel: {
            process.kill()
        }
        await stdout.value
        await stderr.value
        input.cancel()
        resizing.cancel()
        return code
    }
}

extension NodeAgent {
    /// The registry entry that lets the API server reach this node's containers in-process.
    public var streaming: any NodeStreamingBackend { AgentStreaming(agent: self) }

    func containerSpec(uid: String, name: String) -> JSONValue? {
        records.withLock { $0[uid]?.pod }.flatMap { Self.containerSpec(named: name, in: $0) }
    }

    func containerRecord(uid: String, name: String) -> ContainerRecord? {
        records.withLock { $0[uid].flatMap { $0.containers[name] ?? $0.initContainers[name] } }
    }
}

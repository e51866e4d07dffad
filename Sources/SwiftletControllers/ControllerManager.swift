import SwiftletClient

/// One control loop. It registers its informer handlers when it is made, and `run` works its
/// queue until the task is cancelled. The manager starts and syncs the informers in between,
/// so a controller never acts on a cache that is still filling.
public protocol Controller: Sendable {
    var name: String { get }
    func run(workers: Int) async
}

/// What every controller is made from: the shared informers, each controller's own client, the
/// clock, and event recorders.
public struct ControllerContext: Sendable {
    /// The controller manager's own client, which the shared informers list and watch with.
    public let client: APIClient
    public let informers: SharedInformerFactory
    public let clock: any Clock
    public let log: LogSink
    private let controllerClient: @Sendable (String) -> APIClient

    /// - Parameter controllerClient: the client a controller writes with, by the name of its
    ///   ServiceAccount; nil gives every controller `client`.
    public init(client: APIClient, informers: SharedInformerFactory, controllerClient: (@Sendable (String) -> APIClient)? = nil,
                clock: any Clock = SystemClock(), log: @escaping LogSink = ClientLog.standardError) {
        self.client = client
        self.informers = informers
        self.clock = clock
        self.log = log
        self.controllerClient = controllerClient ?? { _ in client }
    }

    /// The client a controller writes and reads with: in `swiftlet server`, its own identity,
    /// `system:serviceaccount:kube-system:NAME`, whom the bootstrap policy binds to
    /// `system:controller:NAME`, as kube-controller-manager's `--use-service-account-credentials`.
    public func client(for serviceAccount: String) -> APIClient {
        controllerClient(serviceAccount)
    }

    public func recorder(component: String, client: APIClient) -> EventRecorder {
        EventRecorder(client: client, component: component, clock: clock, log: log)
    }
}

/// Runs a set of controllers over shared informers, as kube-controller-manager does.
public final class ControllerManager: Sendable {
    public let context: ControllerContext
    public let controllers: [any Controller]
    public let workers: Int

    public init(context: ControllerContext, controllers: [any Controller], workers: Int = 2) {
        self.context = context
        self.controllers = controllers
        self.workers = workers
    }

    /// Starts the informers, waits for them to sync, then runs every controller until cancelled.
    public func run() async {
        context.informers.start()
        guard await context.informers.waitForSync() else { return }
        await withDiscardingTaskGroup { group in
            for controller in controllers {
                let workers = self.workers
                group.addTask { await controller.run(workers: workers) }
            }
        }
        context.informers.shutDown()
    }
}

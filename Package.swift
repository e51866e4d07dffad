// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "swiftlet",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "swiftlet", targets: ["swiftlet"]),
        // Installed beside `swiftlet`: the per-container shim and the built-in images' programs.
        .executable(name: "swiftlet-shim", targets: ["swiftlet-shim"]),
        .executable(name: "swiftlet-whoami", targets: ["swiftlet-whoami"]),
        .executable(name: "swiftlet-pi", targets: ["swiftlet-pi"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.30.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.25.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.0"),
    ],
    targets: [
        // SQLite from the system (Debian's libsqlite3-dev): the embedded datastore's engine.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),

        // Generic API machinery: JSON values, selectors, patches, schema checks, Status errors. No I/O.
        .target(name: "SwiftletMachinery"),

        // The Kubernetes resources Swiftlet serves: registry, schema data, defaulting, validation, tables.
        .target(name: "SwiftletAPI", dependencies: ["SwiftletMachinery"]),

        // Revisioned key-value storage (kine-like) with sqlite:// and memory:// drivers.
        .target(name: "SwiftletStorage", dependencies: [
            "CSQLite", "CZlib", .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto"),
        ]),

        // Cluster CA, serving certificates, tokens and kubeconfig files.
        .target(name: "SwiftletPKI", dependencies: [
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
        ]),

        // The HTTPS API server: routing, handlers, watch cache, discovery, OpenAPI, allocators.
        .target(name: "SwiftletAPIServer", dependencies: [
            "SwiftletMachinery", "SwiftletAPI", "SwiftletStorage", "SwiftletPKI", "CZlib",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Yams", package: "Yams"),
        ]),

        // Clients of the API: in-process and HTTPS transports, typed calls, shared informers,
        // rate-limited work queues and the event recorder that controllers are built from.
        .target(name: "SwiftletClient", dependencies: [
            "SwiftletMachinery", "SwiftletAPI", "SwiftletAPIServer",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),

        // The control loops: ReplicaSet, Deployment, garbage collector, namespaces... one folder each.
        .target(name: "SwiftletControllers", dependencies: ["SwiftletClient", "SwiftletAPI", "SwiftletMachinery"]),

        // Assigns pending pods to nodes through the binding subresource.
        .target(name: "SwiftletScheduler", dependencies: ["SwiftletClient", "SwiftletAPI", "SwiftletMachinery"]),

        // Simulated nodes (as KWOK does): nodes that heartbeat and "run" bound pods at once.
        .target(name: "SwiftletSimulation", dependencies: ["SwiftletClient", "SwiftletAPI", "SwiftletMachinery"]),

        // Containers: OCI bundles run by runc through swiftlet-shim, overlay root filesystems on the
        // host's root, cgroups, container log files, and the image store with its built-in catalog.
        .target(name: "SwiftletRuntime", dependencies: ["SwiftletMachinery", "SwiftletSpawn"]),

        // Blocking work moved off Swift concurrency's cooperative threads, onto Dispatch's.
        .target(name: "SwiftletOffload"),

        // posix_spawn and waitpid for the runtime, the pod network and the shim. Glibc only.
        .target(name: "SwiftletSpawn"),

        // One per running container, as conmon does: holds its stdio, writes the CRI log file, reaps it and
        // records how it ended, so that containers outlive a restart of the agent. Glibc only, to stay small.
        .executableTarget(name: "swiftlet-shim", dependencies: ["SwiftletSpawn"]),

        // Pod sandboxes' networking: the node bridge, a network namespace and veth per pod, pod IPs from the podCIDR.
        .target(name: "SwiftletPodNetwork", dependencies: ["SwiftletSpawn"]),
        // The system zlib, for the SPDY header blocks of `kubectl port-forward`.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // The system libzstd (Debian's libzstd-dev), for zstd-compressed image layers.
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),

        // Container images, as containerd's image service: a content-addressed blob store, image
        // records, one unpacked snapshot per layer, hostile-proof layer extraction, the OCI
        // distribution client with registries.yaml and pull secrets, airgap archives, and the
        // built-in images assembled offline.
        .target(name: "SwiftletImages", dependencies: [
            "SwiftletSpawn", "SwiftletOffload", "CZlib", "CZstd",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Yams", package: "Yams"),
        ]),

        // The programs behind the built-in images kiamol/ch02-whoami and kiamol/ch05-pi. Glibc only.
        .target(name: "SwiftletSampleApps"),
        .executableTarget(name: "swiftlet-whoami", dependencies: ["SwiftletSampleApps"]),
        .executableTarget(name: "swiftlet-pi", dependencies: ["SwiftletSampleApps"]),

        // Services on a node, as kube-proxy's nftables mode does it: ClusterIP, NodePort and host
        // LoadBalancer ports translated to ready endpoints in one nft table per node.
        .target(name: "SwiftletProxy", dependencies: ["SwiftletSpawn"]),

        // Cluster DNS (UDP and TCP on swift-nio): Service and pod names under cluster.local, PTR, SRV,
        // and everything else forwarded to the host's resolvers.
        .target(name: "SwiftletDNS", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),

        // The node agent (a kubelet): registers the node, runs its pods' containers, probes, restarts, status.
        .target(name: "SwiftletNodeAgent", dependencies: [
            "SwiftletClient", "SwiftletAPIServer", "SwiftletAPI", "SwiftletMachinery", "SwiftletRuntime", "SwiftletPodNetwork",
            "SwiftletProxy", "SwiftletDNS", "SwiftletSpawn", "SwiftletOffload", "SwiftletImages", "SwiftletPKI",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),

        // The one binary: `swiftlet server`, `agent`, `images`, `cleanup`, `bench`.
        .executableTarget(name: "swiftlet", dependencies: [
            "SwiftletMachinery", "SwiftletAPI", "SwiftletAPIServer", "SwiftletStorage", "SwiftletPKI", "SwiftletClient",
            "SwiftletControllers", "SwiftletScheduler", "SwiftletSimulation",
            "SwiftletNodeAgent", "SwiftletRuntime", "SwiftletPodNetwork", "SwiftletImages", "SwiftletOffload",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),

        // What several test targets share: the trait for tests that block their thread, one polling
        // helper, and an API server on a memory store with an in-process client.
        .target(name: "SwiftletTestSupport", dependencies: ["SwiftletAPI", "SwiftletAPIServer", "SwiftletClient", "SwiftletStorage"]),

        .testTarget(name: "SwiftletMachineryTests", dependencies: ["SwiftletMachinery"]),
        .testTarget(name: "SwiftletAPITests", dependencies: ["SwiftletAPI", "SwiftletMachinery", "SwiftletTestSupport"]),
        .testTarget(name: "SwiftletStorageTests", dependencies: ["SwiftletStorage"]),
        .testTarget(name: "SwiftletPKITests", dependencies: [
            "SwiftletTestSupport", "SwiftletPKI", .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .testTarget(name: "SwiftletClientTests", dependencies: [
            "SwiftletClient", "SwiftletTestSupport", "SwiftletAPIServer", "SwiftletStorage", "SwiftletMachinery", "SwiftletAPI", "SwiftletPKI",
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        .testTarget(name: "SwiftletControllersTests", dependencies: ["SwiftletControllers", "SwiftletTestSupport", "SwiftletClient", "SwiftletAPIServer", "SwiftletStorage", "SwiftletMachinery", "SwiftletAPI"]),
        .testTarget(name: "SwiftletSchedulerTests", dependencies: ["SwiftletScheduler", "SwiftletTestSupport", "SwiftletClient", "SwiftletAPIServer", "SwiftletStorage", "SwiftletMachinery", "SwiftletAPI"]),
        .testTarget(name: "SwiftletSimulationTests", dependencies: ["SwiftletSimulation", "SwiftletTestSupport", "SwiftletClient", "SwiftletAPIServer", "SwiftletStorage", "SwiftletMachinery", "SwiftletAPI"]),
        .testTarget(name: "SwiftletRuntimeTests", dependencies: ["SwiftletTestSupport", "SwiftletRuntime", "SwiftletSpawn", "SwiftletMachinery"]),
        .testTarget(name: "SwiftletPodNetworkTests", dependencies: ["SwiftletTestSupport", "SwiftletPodNetwork", "SwiftletSpawn"]),
        .testTarget(name: "SwiftletProxyTests", dependencies: ["SwiftletTestSupport", "SwiftletProxy", "SwiftletSpawn", "SwiftletPodNetwork"]),
        .testTarget(name: "SwiftletDNSTests", dependencies: [
            "SwiftletDNS",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "SwiftletImagesTests", dependencies: [
            "SwiftletImages", "SwiftletTestSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .testTarget(name: "SwiftletSampleAppsTests", dependencies: ["SwiftletTestSupport", "SwiftletSampleApps"]),
        .testTarget(name: "SwiftletNodeAgentTests", dependencies: [
            "SwiftletNodeAgent", "SwiftletRuntime", "SwiftletPodNetwork", "SwiftletClient", "SwiftletAPIServer",
            "SwiftletStorage", "SwiftletMachinery", "SwiftletAPI", "SwiftletImages", "SwiftletTestSupport", "SwiftletPKI",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        .testTarget(name: "SwiftletAPIServerTests", dependencies: [
            "SwiftletAPIServer", "SwiftletMachinery", "SwiftletAPI", "SwiftletStorage", "SwiftletPKI", "SwiftletTestSupport",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
    ]
)

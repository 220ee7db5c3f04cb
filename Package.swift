// swift-tools-version:6.1
import PackageDescription

// Module layout (see docs/architecture.md):
//   AgentProtocol  – wire types and JSON-lines framing, no I/O
//   AgentCore      – the agent's request handlers (FoundationEssentials + Glibc only,
//                    so that the static agent stays small)
//   Scheduling     – test queue, duration store, reports (pure logic)
//   SSH            – owning Swift layer over libssh2
//   AWS            – SigV4 (libcrypto), HTTP (libcurl), EC2/IAM/SSM/STS
//   AutomationKit  – the controller: CLI commands, targets, agent client
//   TestSupport    – helpers shared by the test targets (not shipped)
let package = Package(
    name: "automation",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "automation", targets: ["automation"]),
        .executable(name: "automation-agent", targets: ["automation-agent"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // C libraries.
        .systemLibrary(name: "CLibSSH2", path: "Sources/CLibSSH2", pkgConfig: "libssh2"),
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl"),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "libcrypto"),

        // GNU libc extensions the agent needs (posix_spawn chdir, pipe2, accept4).
        .target(name: "CAgentSupport", path: "Sources/CAgentSupport"),

        // One owner per file descriptor, shared by the agent and the controller.
        .target(name: "Descriptors", dependencies: ["CAgentSupport"], path: "Sources/Descriptors"),

        // Wire protocol.
        .target(name: "AgentProtocol", path: "Sources/Protocol"),

        // Source sync logic shared by the agent and the controller (Glibc only),
        // with a C SHA-256 block function for CPUs with the SHA extensions.
        .target(name: "CSyncSupport", path: "Sources/CSyncSupport"),
        .target(name: "SyncCore", dependencies: ["CSyncSupport"], path: "Sources/Sync"),

        // Agent.
        .target(name: "AgentCore", dependencies: ["AgentProtocol", "CAgentSupport", "Descriptors", "SyncCore"], path: "Sources/Agent/Core"),
        .executableTarget(name: "automation-agent", dependencies: ["AgentCore"], path: "Sources/Agent/Main"),

        // Controller building blocks.
        .target(name: "Scheduling", path: "Sources/Scheduling"),
        .target(
            name: "SSH",
            dependencies: ["CLibSSH2", "COpenSSL", "Descriptors", .product(name: "Logging", package: "swift-log")],
            path: "Sources/SSH"
        ),
        .target(
            name: "AWS",
            dependencies: ["CCurl", "COpenSSL", .product(name: "Logging", package: "swift-log")],
            path: "Sources/AWS"
        ),
        .target(
            name: "AutomationKit",
            dependencies: [
                "AgentProtocol", "CAgentSupport", "Descriptors", "Scheduling", "SSH", "AWS", "SyncCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Controller/Core"
        ),
        .executableTarget(name: "automation", dependencies: ["AutomationKit"], path: "Sources/Controller/Main"),

        // Benchmarks (docs/benchmarks.md).
        .executableTarget(name: "automation-bench", dependencies: ["AutomationKit", "AgentProtocol"], path: "Benchmarks/Agent"),
        .executableTarget(
            name: "automation-sync-bench",
            dependencies: ["AutomationKit", "SyncCore", .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/sync/Bench"
        ),

        // Shared test helpers (the CI/fixture gate, SplitMix64, the built binaries,
        // bounded waits): one copy that every test target uses, not a product.
        .target(name: "TestSupport", path: "Sources/TestSupport"),

        // Tests. Integration tests run the built executables and real sshd / moto.
        .testTarget(name: "ProtocolTests", dependencies: ["TestSupport", "AgentProtocol"]),
        .testTarget(name: "AgentTests", dependencies: ["TestSupport", "AgentCore", "AgentProtocol", "AutomationKit"]),
        .testTarget(name: "ControllerTests", dependencies: ["TestSupport", "AutomationKit", "AgentProtocol"]),
        .testTarget(name: "SchedulingTests", dependencies: ["TestSupport", "Scheduling"]),
        .testTarget(name: "SyncTests", dependencies: ["TestSupport", "SyncCore", "AutomationKit", "AgentProtocol", "SSH", .product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "SSHTests", dependencies: ["TestSupport", "SSH", "AutomationKit", "SyncCore"]),
        .testTarget(name: "AWSTests", dependencies: ["TestSupport", "AWS", "AutomationKit"]),
        .testTarget(name: "TestSupportTests", dependencies: ["TestSupport"]),
    ]
)

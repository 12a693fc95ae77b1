// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "agentq",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "agentq", targets: ["agentq"]),
        .library(name: "JobQueue", targets: ["JobQueue"]),
        .library(name: "AgentQ", targets: ["AgentQ"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client", exact: "1.37.0"),
    ],
    targets: [
        // The durable queue engine: jobs, leases, retries, cancellation, the worker pool.
        // It knows nothing about agents, models or providers.
        .target(
            name: "JobQueue",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                // The hottest statements bind and step through the C API directly.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        // The product: agents, providers, turns, bulk submission and result files.
        .target(
            name: "AgentQ",
            dependencies: [
                "JobQueue",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // The command-line tool: parses arguments, calls AgentQ, prints.
        .executableTarget(
            name: "agentq",
            dependencies: [
                "AgentQ",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // `make bench`: prints throughput figures; never a pass/fail test.
        .executableTarget(
            name: "agentq-bench",
            dependencies: ["AgentQ", "JobQueue"]
        ),
        // `make fuzz`: the bulk-line reader against JSONSerialization on a million generated lines.
        .executableTarget(
            name: "agentq-fuzz",
            dependencies: ["AgentQTesting"]
        ),
        // Helpers shared by the test targets: temporary homes, a manual clock, a binary runner.
        .target(
            name: "AgentQTesting",
            dependencies: ["AgentQ", "JobQueue"]
        ),
        .testTarget(
            name: "JobQueueTests",
            dependencies: ["JobQueue", "AgentQTesting"]
        ),
        .testTarget(
            name: "AgentQTests",
            dependencies: ["AgentQ", "AgentQTesting"]
        ),
        .testTarget(
            name: "AgentQCLITests",
            dependencies: ["agentq", "AgentQTesting"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

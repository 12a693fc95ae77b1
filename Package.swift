// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "agentq",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "agentq", targets: ["agentq"]),
        .library(name: "JobQueue", targets: ["JobQueue"]),
        .library(name: "AgentQ", targets: ["AgentQ"]),
        .library(name: "AgentQServer", targets: ["AgentQServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client", exact: "1.37.0"),
        // `agentq serve`. swift-configuration support is left out: agentq reads its own flags.
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", "2.101.2"..<"2.102.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        // The PostgreSQL driver, for many hosts on one queue (`AGENTQ_DATABASE_URL`).
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
        // TLS to a PostgreSQL server on another host (`sslmode=prefer`, the default, or `require`).
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
    ],
    targets: [
        // The one variadic SQLite call the engine makes (switching triggers off while a bulk
        // submission's chunks go live), wrapped in C because Swift cannot call it.
        .target(name: "CSQLiteConfig", linkerSettings: [.linkedLibrary("sqlite3")]),
        // The durable queue engine: jobs, leases, retries, cancellation, the worker pool.
        // It knows nothing about agents, models or providers.
        .target(
            name: "JobQueue",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                // The hottest statements bind and step through the C API directly.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                "CSQLiteConfig",
                // Claims, run times, retries: the API only; `agentq serve` picks the backend.
                .product(name: "CoreMetrics", package: "swift-metrics"),
                // The second driver: one queue in PostgreSQL shared by many hosts.
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The product: agents, providers, turns, bulk submission and result files.
        .target(
            name: "AgentQ",
            dependencies: [
                "JobQueue",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        // The HTTP API of `agentq serve`: thin routes over AgentQ, Prometheus metrics.
        .target(
            name: "AgentQServer",
            dependencies: [
                "AgentQ",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The command-line tool: parses arguments, calls AgentQ, prints.
        .executableTarget(
            name: "agentq",
            dependencies: [
                "AgentQ",
                "AgentQServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // `make bench`: prints throughput figures; never a pass/fail test.
        .executableTarget(
            name: "agentq-bench",
            // AgentQTesting: the throwaway PostgreSQL server of section 6.
            dependencies: [
                "AgentQ", "JobQueue", "AgentQTesting", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // SQLiteFloorBench: SQLite alone, through the same SQLiteDatabase.
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // `make fuzz`: the bulk-line reader against JSONSerialization on a million generated lines.
        .executableTarget(
            name: "agentq-fuzz",
            dependencies: ["AgentQTesting"]
        ),
        // Helpers shared by the test targets: temporary homes, a manual clock, a binary runner.
        .target(
            name: "AgentQTesting",
            dependencies: [
                "AgentQ", "JobQueue", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // StubModelServer: a model's latency on an event loop.
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "JobQueueTests",
            dependencies: ["JobQueue", "AgentQTesting"]
        ),
        .testTarget(
            name: "AgentQTests",
            dependencies: ["AgentQ", "AgentQTesting"]
        ),
        // `agentq serve` over real HTTP: the built binary on a free loopback port.
        .testTarget(
            name: "AgentQServerTests",
            dependencies: ["AgentQTesting", .product(name: "AsyncHTTPClient", package: "async-http-client")]
        ),
        .testTarget(
            name: "AgentQCLITests",
            dependencies: ["agentq", "AgentQTesting"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

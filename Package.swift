// swift-tools-version:6.0
// O2O: the backend core of an online-to-offline retail platform.
// Layers (a module imports only modules on lower rows):
//  10  executables          o2o-server · o2o · o2o-bench · protoc-gen-o2o (Tools/)
//   9  O2OPlatform          every domain wired together (the server's and the tests')
//   8  O2OOrders · O2OClient · O2OShell · O2ODemo   carts, checkout and the order life · the client · the shell · the sample shop
//   8½ O2OCare              tickets, SLA and after-sales (over orders, inventory and the CRM, through their ports)
//   8¾ O2OStats             daily figures kept from the order and care event streams
//   7  O2OInventory · O2OPromotions   (read the catalog and the CRM only through their ports)
//   6  O2OCatalog · O2OCRM · O2OBuiltinServices  one module per domain · health, reflection, admin, echo
//   5  O2OServiceKit · O2OPricing   how every service method is written · the pure pricing engine
//   4  O2OMessages · O2OStorage · O2ONIOTransport   domains' messages · records over engines · the wire
//   3  O2OProtobuf · O2ORPCMessages   the message runtime · wire, common and built-in messages
//   2  O2ORPC · O2OCodeGen  the transport-independent RPC core · the generator
//   1  CProtos · CRPCProtos · CProtobufC · CZstd · CRocksDB · CProtocPlugin
// The transport and the store know no domain: a domain .proto change rebuilds neither.
import PackageDescription

/// protoc-c's generated C is full of asserts; SwiftPM does not define NDEBUG in release.
let releaseC: [CSetting] = [.define("NDEBUG", .when(configuration: .release))]

let package = Package(
    name: "o2o",
    products: [
        .library(name: "O2OProtobuf", targets: ["O2OProtobuf"]),
        .library(name: "O2ORPCMessages", targets: ["O2ORPCMessages"]),
        .library(name: "O2OMessages", targets: ["O2OMessages"]),
        .library(name: "O2ORPC", targets: ["O2ORPC"]),
        .library(name: "O2ONIOTransport", targets: ["O2ONIOTransport"]),
        .library(name: "O2OStorage", targets: ["O2OStorage"]),
        .executable(name: "protoc-gen-o2o", targets: ["protoc-gen-o2o"]),
        .executable(name: "o2o-bench", targets: ["o2o-bench"]),
        .executable(name: "o2o-fuzz", targets: ["o2o-fuzz"]),
        .library(name: "O2OWireFuzzing", targets: ["O2OWireFuzzing"]),
        .executable(name: "o2o-server", targets: ["o2o-server"]),
        .library(name: "O2OClient", targets: ["O2OClient"]),
        .executable(name: "o2o", targets: ["o2o"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // Row 1: C.
        .target(name: "CZstd", linkerSettings: [.linkedLibrary("zstd")]),
        .target(name: "CRocksDB", linkerSettings: [.linkedLibrary("rocksdb")]),
        .target(name: "CProtobufC", cSettings: releaseC, linkerSettings: [.linkedLibrary("protobuf-c")]),
        .target(
            name: "CRPCProtos",
            dependencies: ["CProtobufC"],
            path: "Sources/CRPCProtos/Generated",
            sources: ["src"],
            publicHeadersPath: "include",
            cSettings: releaseC
        ),
        .target(
            name: "CProtos",
            dependencies: ["CProtobufC", "CRPCProtos"],
            path: "Sources/CProtos/Generated",
            sources: ["src"],
            publicHeadersPath: "include",
            cSettings: releaseC
        ),
        .target(
            name: "CProtocPlugin",
            dependencies: ["CProtobufC"],
            path: "Sources/CProtocPlugin/Generated",
            sources: ["src"],
            publicHeadersPath: "include",
            cSettings: releaseC
        ),

        // Row 2.
        .target(
            name: "O2ORPC",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .target(name: "O2OCodeGen", dependencies: ["CProtocPlugin", "CProtobufC"]),

        // Row 3: the message runtime, then the wire and common messages.
        .target(
            name: "O2OProtobuf",
            dependencies: ["O2ORPC", "CProtobufC", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .target(name: "O2ORPCMessages", dependencies: ["O2OProtobuf", "O2ORPC", "CRPCProtos", "CProtobufC"]),

        // Row 4.
        .target(
            name: "O2OMessages",
            dependencies: ["O2OProtobuf", "O2ORPCMessages", "O2ORPC", "CProtos", "CProtobufC"]
        ),
        .target(
            name: "O2OStorage",
            dependencies: [
                "CRocksDB", "O2OProtobuf",
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(
            name: "O2ONIOTransport",
            dependencies: [
                "O2ORPC", "O2OProtobuf", "O2ORPCMessages", "CZstd",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // Row 5: how every service method is written; it knows the common messages and
        // the store, no domain.
        .target(
            name: "O2OServiceKit",
            dependencies: [
                "O2ORPCMessages", "O2ORPC", "O2OStorage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // Row 5 too: the pricing engine, a pure function of the domain's messages (no
        // storage, no clock), so quote and checkout price alike and tests need no server.
        .target(name: "O2OPricing", dependencies: ["O2OMessages"]),

        // Rows 6 and 7: the built-in services and one module per domain, over the kit. A
        // domain reaches another only through a port the other defines (CatalogReading).
        .target(name: "O2OBuiltinServices", dependencies: ["O2OServiceKit", "O2ORPCMessages", "O2ORPC"]),
        .target(
            name: "O2OCatalog",
            dependencies: [
                "O2OServiceKit", "O2OMessages", "O2ORPC", "O2OStorage", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "O2OInventory",
            dependencies: [
                "O2OServiceKit", "O2OCatalog", "O2OMessages", "O2ORPC", "O2OStorage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        .target(
            name: "O2OCRM",
            dependencies: [
                "O2OServiceKit", "O2OMessages", "O2ORPC", "O2OStorage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        .target(
            name: "O2OPromotions",
            dependencies: [
                "O2OServiceKit", "O2OCatalog", "O2OCRM", "O2OPricing", "O2OMessages", "O2ORPC", "O2OStorage",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        .target(
            name: "O2OOrders",
            dependencies: [
                "O2OServiceKit", "O2OCatalog", "O2OInventory", "O2OCRM", "O2OPromotions", "O2OPricing", "O2OMessages",
                "O2ORPC", "O2OStorage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        .target(
            name: "O2OCare",
            dependencies: [
                "O2OServiceKit", "O2OCatalog", "O2OInventory", "O2OCRM", "O2OOrders", "O2OPricing", "O2OMessages",
                "O2ORPC", "O2OStorage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        .target(
            name: "O2OStats",
            dependencies: [
                "O2OServiceKit", "O2OInventory", "O2OOrders", "O2OCare", "O2OMessages", "O2ORPC", "O2OStorage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // Row 8: the sample shop (loaded through the domains' services), the client and
        // the shell.
        .target(
            name: "O2ODemo",
            dependencies: [
                "O2OCatalog", "O2OInventory", "O2OServiceKit", "O2OMessages", "O2ORPC", "O2OStorage",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Row 9: every domain wired together, for the server and the tests (row 8's
        // client and shell do not need it).
        .target(
            name: "O2OPlatform",
            dependencies: [
                "O2OCatalog", "O2OInventory", "O2OCRM", "O2OPromotions", "O2OOrders", "O2OCare", "O2OStats",
                "O2ODemo", "O2OServiceKit", "O2ORPC", "O2OStorage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "O2OClient",
            dependencies: ["O2OMessages", "O2ORPC", "O2ONIOTransport"]
        ),
        // The ops shell as a library (schema, dynamic JSON, commands, output, line
        // editing), so that it can be tested without a terminal; `o2o` is a thin main.
        .target(name: "O2OShell", dependencies: ["O2OClient", "O2OMessages", "O2ORPC", "O2ONIOTransport"]),
        .executableTarget(
            name: "o2o",
            dependencies: ["O2OShell", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        // Row 9½: the wire fuzzers' entry points (driven by libFuzzer from `Fuzz/`), and
        // the request fuzzer over the whole platform, in-process.
        .target(
            name: "O2OWireFuzzing",
            dependencies: [
                "O2OMessages", "O2OShell", "O2ONIOTransport", .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(
            name: "O2OFuzzing",
            dependencies: [
                "O2OWireFuzzing", "O2ONIOTransport", "O2OPlatform", "O2OBuiltinServices", "O2OServiceKit",
                "O2OMessages", "O2ORPC", "O2OStorage",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Row 10.
        .executableTarget(name: "protoc-gen-o2o", dependencies: ["O2OCodeGen"], path: "Tools/protoc-gen-o2o"),
        .executableTarget(
            name: "o2o-server",
            dependencies: [
                "O2ONIOTransport", "O2OServiceKit", "O2OBuiltinServices", "O2OPlatform", "O2ODemo", "O2OMessages",
                "O2ORPC", "O2OStorage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "o2o-fuzz",
            dependencies: [
                "O2OFuzzing", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "o2o-bench",
            dependencies: [
                "O2ONIOTransport", "O2OBuiltinServices", "O2OMessages", "O2OPricing", "O2ORPC", "O2OStorage",
                "O2OPlatform", "O2OServiceKit", "CRocksDB",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Tests, and the test-only schema of Tests/Protos (generated like the real one).
        .target(
            name: "CTestProtos",
            dependencies: ["CProtobufC"],
            path: "Tests/CTestProtos/Generated",
            sources: ["src"],
            publicHeadersPath: "include",
            cSettings: releaseC
        ),
        .target(
            name: "O2OTestProtos",
            dependencies: ["O2OProtobuf", "O2ORPCMessages", "O2ORPC", "CTestProtos", "CProtobufC"],
            path: "Tests/O2OTestProtos"
        ),
        .testTarget(name: "O2OCodeGenTests", dependencies: ["O2OCodeGen"]),
        .executableTarget(name: "o2o-storage-torture", dependencies: ["O2OStorage"], path: "Tests/StorageTorture"),
        .testTarget(
            name: "O2OStorageTests",
            dependencies: ["O2OStorage", "O2OMessages", "O2OTestProtos", "O2OTestSupport", "o2o-storage-torture"]
        ),
        .testTarget(name: "O2OBuiltinServicesTests", dependencies: ["O2OBuiltinServices", "O2OMessages", "O2ORPC"]),
        .testTarget(
            name: "O2OServiceKitTests",
            dependencies: [
                "O2OServiceKit", "O2OCatalog", "O2OInventory", "O2ODemo", "O2OMessages", "O2ORPC", "O2OStorage",
                "O2OServiceTestSupport", "O2OTestSupport",
            ]
        ),
        // Every domain over one store behind a real server (or in-process) with a test
        // clock: the one harness of the domains' tests.
        .target(
            name: "O2OServiceTestSupport",
            dependencies: [
                "O2OClient", "O2OServiceKit", "O2OPlatform", "O2OStorage", "O2OTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/O2OServiceTestSupport"
        ),
        .testTarget(
            name: "O2OCatalogTests",
            dependencies: [
                "O2OClient", "O2OServiceKit", "O2OCatalog", "O2OStorage", "O2OTestSupport", "O2OServiceTestSupport",
                "o2o-server",
            ]
        ),
        // What several test targets share: running the package's executables as child
        // processes, expecting a status, request ids.
        .target(name: "O2OTestSupport", dependencies: ["O2ORPC"], path: "Tests/O2OTestSupport"),
        .testTarget(
            name: "O2OShellTests",
            dependencies: ["O2OShell", "O2OMessages", "O2OTestSupport", "o2o", "o2o-server"]
        ),
        .testTarget(
            name: "O2OFuzzingTests",
            dependencies: ["O2OFuzzing", "O2OWireFuzzing", "O2OMessages", "O2ORPC", "O2OTestSupport", "o2o-fuzz"]
        ),
        .testTarget(name: "O2OBenchTests", dependencies: ["O2OTestSupport", "o2o-bench", "o2o-server"]),
        .testTarget(
            name: "O2OInventoryTests",
            dependencies: [
                "O2OClient", "O2OServiceKit", "O2OCatalog", "O2OInventory", "O2OStorage", "O2OTestSupport",
                "O2OServiceTestSupport",
            ]
        ),
        .testTarget(
            name: "O2OPromotionsTests",
            dependencies: [
                "O2OClient", "O2OServiceKit", "O2OPromotions", "O2OStorage", "O2OTestSupport", "O2OServiceTestSupport",
            ]
        ),
        .testTarget(
            name: "O2OOrdersTests",
            dependencies: [
                "O2OClient", "O2OServiceKit", "O2OStorage", "O2OTestSupport", "O2OServiceTestSupport",
            ]
        ),
        .testTarget(
            name: "O2OCareTests",
            dependencies: [
                "O2OClient", "O2OServiceKit", "O2OStorage", "O2OTestSupport", "O2OServiceTestSupport",
            ]
        ),
        .testTarget(
            name: "O2OStatsTests",
            dependencies: [
                "O2OClient", "O2OServiceKit", "O2OStorage", "O2OTestSupport", "O2OServiceTestSupport",
            ]
        ),
        .testTarget(name: "O2OPricingTests", dependencies: ["O2OPricing", "O2OMessages", "O2OTestSupport"]),
        .testTarget(
            name: "O2OCRMTests",
            dependencies: [
                "O2OClient", "O2OServiceKit", "O2OCRM", "O2ODemo", "O2OStorage", "O2OTestSupport",
                "O2OServiceTestSupport",
            ]
        ),
        .testTarget(
            name: "O2ONIOTransportTests",
            dependencies: [
                "O2ONIOTransport", "O2OBuiltinServices", "O2OProtobuf", "O2ORPCMessages", "O2ORPC", "CZstd",
                "O2OTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "O2OMessagesTests",
            dependencies: [
                "O2OMessages", "O2ORPC", "O2OTestProtos", "O2OTestSupport", "O2OShell",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ]
)

// swift-tools-version:6.0
// O2O: the backend core of an online-to-offline retail platform.
// Layers (a module imports only modules on lower rows; see docs/ARCHITECTURE.md):
//   7  executables          o2o-server · o2o · o2o-bench · protoc-gen-o2o (Tools/)
//   6  O2OClient
//   5  O2OServices
//   4  O2OStorage · O2ONIOTransport
//   3  O2OMessages          generated Swift types, protobuf-c bridge, JSON, stubs
//   2  O2ORPC · O2OCodeGen
//   1  CProtos · CProtobufC · CZstd · CRocksDB · CProtocPlugin
import PackageDescription

/// protoc-c's generated C is full of asserts; SwiftPM does not define NDEBUG in release.
let releaseC: [CSetting] = [.define("NDEBUG", .when(configuration: .release))]

let package = Package(
    name: "o2o",
    products: [
        .library(name: "O2OMessages", targets: ["O2OMessages"]),
        .library(name: "O2ORPC", targets: ["O2ORPC"]),
        .executable(name: "protoc-gen-o2o", targets: ["protoc-gen-o2o"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // Row 1: C.
        .target(name: "CZstd", linkerSettings: [.linkedLibrary("zstd")]),
        .target(name: "CRocksDB", linkerSettings: [.linkedLibrary("rocksdb")]),
        .target(name: "CProtobufC", cSettings: releaseC, linkerSettings: [.linkedLibrary("protobuf-c")]),
        .target(
            name: "CProtos",
            dependencies: ["CProtobufC"],
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
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        .target(name: "O2OCodeGen", dependencies: ["CProtocPlugin", "CProtobufC"]),

        // Row 3.
        .target(
            name: "O2OMessages",
            dependencies: [
                "O2ORPC", "CProtos", "CProtobufC",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),

        // Row 7.
        .executableTarget(name: "protoc-gen-o2o", dependencies: ["O2OCodeGen"], path: "Tools/protoc-gen-o2o"),

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
            dependencies: ["O2OMessages", "O2ORPC", "CTestProtos", "CProtobufC"],
            path: "Tests/O2OTestProtos"
        ),
        .testTarget(name: "O2OCodeGenTests", dependencies: ["O2OCodeGen"]),
        .testTarget(
            name: "O2OMessagesTests",
            dependencies: [
                "O2OMessages", "O2ORPC", "O2OTestProtos", .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ]
)

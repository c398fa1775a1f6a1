// swift-tools-version:6.1
// Benchmarks of O2O's hot paths, kept out of the main package so that its build and
// CI do not pay for the benchmark framework. Run from this folder:
//   swift package benchmark
import PackageDescription

let package = Package(
    name: "o2o-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "o2o", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "MessageCodec",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "O2OMessages", package: "o2o"),
            ],
            path: "Benchmarks/MessageCodec",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "RPCHotPath",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "O2OMessages", package: "o2o"),
                .product(name: "O2ORPC", package: "o2o"),
                .product(name: "O2ONIOTransport", package: "o2o"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/RPCHotPath",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)

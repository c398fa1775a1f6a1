// swift-tools-version:6.0
// The wire fuzzers: one libFuzzer executable per target of `WireFuzzTargets`, in a
// package of their own because they link libFuzzer's main. Build and run them with
// `Tools/fuzz-wire` (which passes -sanitize=fuzzer,address to every module, so the
// whole decoding stack is instrumented).
import PackageDescription

let targets = ["frames", "messages", "json", "shell-codec"]

let package = Package(
    name: "o2o-fuzz-wire",
    dependencies: [.package(name: "o2o", path: "..")],
    targets: targets.map { name in
        .executableTarget(
            name: "fuzz-\(name)",
            dependencies: [.product(name: "O2OWireFuzzing", package: "o2o")],
            path: "Targets/\(name)"
        )
    }
)

// swift-tools-version:6.1
import PackageDescription

let package = Package(
  name: "o2o-peers",
  platforms: [.macOS(.v15)],
  dependencies: [
    .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
    .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
    .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
    .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
  ],
  targets: [
    .target(name: "EchoGen", dependencies: [
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
      .product(name: "SwiftProtobuf", package: "swift-protobuf"),
    ]),
    .target(name: "BenchCommon", dependencies: [
      .product(name: "Histogram", package: "hdrhistogram-swift"),
    ]),
    .executableTarget(name: "GrpcServer", dependencies: [
      "EchoGen",
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
    ]),
    .executableTarget(name: "GrpcClient", dependencies: [
      "EchoGen", "BenchCommon",
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
      .product(name: "Histogram", package: "hdrhistogram-swift"),
    ]),
    .executableTarget(name: "NioServer", dependencies: [
      .product(name: "NIOCore", package: "swift-nio"),
      .product(name: "NIOPosix", package: "swift-nio"),
    ]),
    .executableTarget(name: "NioClient", dependencies: [
      "BenchCommon",
      .product(name: "NIOCore", package: "swift-nio"),
      .product(name: "NIOPosix", package: "swift-nio"),
      .product(name: "Histogram", package: "hdrhistogram-swift"),
    ]),
  ]
)

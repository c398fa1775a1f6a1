import ArgumentParser
import Foundation

/// Ours, grpc-swift-2 and the raw SwiftNIO floor, side by side in one run with the same
/// client shape, each against a fresh server process; then zstd off and on by size.
struct Compare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "O2O against grpc-swift-2 and the raw NIO echo floor in one run, printed with ratios.",
        discussion: """
            Runs, each with a fresh server process and the same client shape:
              unary echo at --sizes for the first --configs entry, and at the first size for every config:
                the floor (NioServer/NioClient), grpc-swift-2 with flush coalescing as shipped and
                (first size only) without it, and o2o (o2o-server, zstd off like the others);
              o2o with zstd on at every --zstd-sizes, compared with zstd off.
            The peers come from Benchmarks/Peers (build them once: cd Benchmarks/Peers && swift build -c
            release, about 10 minutes); --peers points at their build directory.
            """
    )

    @Option(help: "Directory holding NioServer, NioClient, GrpcServer and GrpcClient. [O2O_PEERS]")
    var peers: String = ProcessInfo.processInfo.environment["O2O_PEERS"] ?? "Benchmarks/Peers/.build/release"

    @Option(help: "Client shapes, CONNSxINFLIGHT, comma-separated.") var configs: String = "1x64,1x1,4x16"
    @Option(help: "Message sizes for the three-way comparison, comma-separated.") var sizes: String = "200,4096,65536"
    @Option(help: "Message sizes for zstd off/on, comma-separated; empty for none.") var zstdSizes: String =
        "200,4096,65536"
    @Option(help: "Seconds of warm-up per run.") var warmup: Double = 3
    @Option(help: "Seconds measured per run.") var duration: Double = 15
    @Option(help: "Runs per measurement; the median (by calls/s) is reported.") var repeats: Int = 1
    @Option(help: "Where o2o-server runs calls: event-loop or global (its --handlers).") var handlers: String =
        "event-loop"
    @Flag(help: "Leave grpc-swift-2 out (when its peer is not built).") var noGrpc = false
    @Flag(help: "Print one JSON document instead of tables.") var json = false

    struct Shape: Hashable {
        var conns: Int
        var inflight: Int
        var name: String { "\(conns)×\(inflight)" }
    }

    func parsedShapes() throws -> [Shape] {
        try configs.split(separator: ",").map { text in
            let parts = text.lowercased().split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2, (1...64).contains(parts[0]), (1...10_000).contains(parts[1]) else {
                throw BenchError("--configs: '\(text)' is not CONNSxINFLIGHT (like 1x64)")
            }
            return Shape(conns: parts[0], inflight: parts[1])
        }
    }

    static func parsedSizes(_ text: String, option: String) throws -> [Int] {
        try text.split(separator: ",").map { item in
            guard let size = Int(item), (0...4_194_304).contains(size) else {
                throw BenchError("\(option): '\(item)' is not a size from 0 to 4194304")
            }
            return size
        }
    }

    func validate() throws {
        let shapes = try parsedShapes()
        guard !shapes.isEmpty else { throw ValidationError("--configs: none given") }
        guard try !Self.parsedSizes(sizes, option: "--sizes").isEmpty else {
            throw ValidationError("--sizes: none given")
        }
        _ = try Self.parsedSizes(zstdSizes, option: "--zstd-sizes")
        guard ["global", "event-loop"].contains(handlers) else {
            throw ValidationError("--handlers: '\(handlers)' is not global or event-loop")
        }
        guard (1...9).contains(repeats) else { throw ValidationError("--repeats: \(repeats) is not from 1 to 9") }
        guard duration > 0, warmup >= 0 else {
            throw ValidationError("--duration must be more than 0 and --warmup 0 or more")
        }
        var needed = ["NioServer", "NioClient"]
        if !noGrpc { needed += ["GrpcServer", "GrpcClient"] }
        for name in needed where !FileManager.default.isExecutableFile(atPath: peers + "/" + name) {
            throw ValidationError(
                "--peers: no \(name) in \(peers); build the peers (cd Benchmarks/Peers && swift build -c release) or pass --no-grpc"
            )
        }
    }

    /// One measurement: what ran, with which shape, size and setting.
    struct Entry {
        var system: String  // o2o, grpc, grpc-no-coalesce, nio
        var shape: Shape
        var size: Int
        var compression: Compression
        var result: BenchResult
    }

    func run() async throws {
        let shapes = try parsedShapes()
        let sizes = try Self.parsedSizes(sizes, option: "--sizes")
        let zstdSizes = try Self.parsedSizes(zstdSizes, option: "--zstd-sizes")
        var plan: [(system: String, shape: Shape, size: Int, compression: Compression)] = []
        for (index, shape) in shapes.enumerated() {
            for size in index == 0 ? sizes : [sizes[0]] {
                plan.append(("nio", shape, size, .off))
                if !noGrpc {
                    plan.append(("grpc", shape, size, .off))
                    if size == sizes[0] { plan.append(("grpc-no-coalesce", shape, size, .off)) }
                }
                plan.append(("o2o", shape, size, .off))
            }
        }
        for size in zstdSizes {
            if !plan.contains(where: { $0.system == "o2o" && $0.shape == shapes[0] && $0.size == size }) {
                plan.append(("o2o", shapes[0], size, .off))
            }
            plan.append(("o2o", shapes[0], size, .on))
        }
        let seconds = Double(plan.count * repeats) * (warmup + duration + 2)
        if !json {
            printLine(
                "\(plan.count * repeats) runs of \(format(warmup, 0)) s warm-up + \(format(duration, 0)) s, about \(format(seconds / 60, 0)) minutes"
            )
        }
        var entries: [Entry] = []
        for step in plan {
            var runs: [BenchResult] = []
            for repeatNumber in 1...repeats {
                let label =
                    "\(step.system)-\(step.shape.conns)x\(step.shape.inflight)-\(step.size)-\(step.compression.rawValue)-r\(repeatNumber)"
                let result = try await measure(step.system, step.shape, step.size, step.compression, label: label)
                if !json { printLine(result.line) }
                runs.append(result)
            }
            let median = runs.sorted { ($0.number("calls_per_s") ?? 0) < ($1.number("calls_per_s") ?? 0) }[
                runs.count / 2
            ]
            entries.append(
                Entry(
                    system: step.system,
                    shape: step.shape,
                    size: step.size,
                    compression: step.compression,
                    result: median
                )
            )
        }
        if json {
            printLine(jsonReport(entries, shapes: shapes, sizes: sizes, zstdSizes: zstdSizes))
        } else {
            printLine("")
            printLine(tables(entries, shapes: shapes, sizes: sizes, zstdSizes: zstdSizes))
        }
    }

    /// One run against a fresh server.
    func measure(
        _ system: String,
        _ shape: Shape,
        _ size: Int,
        _ compression: Compression,
        label: String
    ) async throws -> BenchResult {
        var load = try LoadOptions.parse([
            "--conns", String(shape.conns), "--inflight", String(shape.inflight),
            "--warmup", String(warmup), "--duration", String(duration), "--label", label,
        ])
        load.json = true
        if system == "o2o" {
            return try await EchoLoad.workload(size).run(
                load: load,
                server: ServerOptions.parse(["--handlers", handlers]),
                compression: compression
            )
        }
        let peer = system == "nio" ? "Nio" : "Grpc"
        let extra = system == "grpc-no-coalesce" ? ["--no-coalesce"] : []
        let server = try await ChildServer(peers + "/\(peer)Server", ["0"] + extra, ready: #"listening on \S*:(\d+)"#)
        let data: Data
        let client = Process()
        do {
            data = try runPeerClient(client, peer: peer, server: server, shape, size, label: label, extra: extra)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
        let text = String(decoding: data, as: UTF8.self)
        guard var result = text.split(separator: "\n").lazy.compactMap(BenchResult.parse).first else {
            throw BenchError(
                "\(peer)Client printed no RESULT line (exit \(client.terminationStatus)): \(text.suffix(300))"
            )
        }
        result.set("kind", system)
        result.set("workload", "echo")
        result.set("compression", "off")
        return result
    }

    /// Runs a peer's client against its server to the end; its standard output.
    func runPeerClient(
        _ client: Process,
        peer: String,
        server: ChildServer,
        _ shape: Shape,
        _ size: Int,
        label: String,
        extra: [String]
    ) throws -> Data {
        guard let port = server.port else { throw BenchError("\(peer)Server printed no port") }
        client.executableURL = URL(fileURLWithPath: peers + "/\(peer)Client")
        client.arguments =
            [
                "--port", String(port), "--conns", String(shape.conns), "--inflight", String(shape.inflight),
                "--warmup", String(warmup), "--duration", String(duration), "--server-pid", String(server.pid),
                "--label", label, "--payload", String(size),
            ] + extra
        let output = Pipe()
        client.standardOutput = output
        client.standardError = FileHandle.nullDevice
        try client.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        client.waitUntilExit()
        return data
    }

    // MARK: - Report

    func find(
        _ entries: [Entry],
        _ system: String,
        _ shape: Shape,
        _ size: Int,
        _ compression: Compression = .off
    ) -> BenchResult? {
        entries.first { $0.system == system && $0.shape == shape && $0.size == size && $0.compression == compression }?
            .result
    }

    static func ratio(_ numerator: BenchResult?, _ denominator: BenchResult?, _ key: String = "calls_per_s") -> Double?
    {
        guard let top = numerator?.number(key), let bottom = denominator?.number(key), bottom > 0 else { return nil }
        return top / bottom
    }

    func tables(_ entries: [Entry], shapes: [Shape], sizes: [Int], zstdSizes: [Int]) -> String {
        var lines = [
            Self.machine(),
            "unary echo, \(format(warmup, 0)) s warm-up, \(format(duration, 0)) s measured\(repeats > 1 ? ", median of \(repeats)" : ""); calls/s (p50 µs) [server CPU ms per 1,000 calls]",
            "",
        ]
        var rows: [[String]] = [
            [
                "shape", "size", "o2o", "grpc-swift-2", "grpc, no coalescing", "NIO floor", "o2o / grpc", "o2o / floor",
                "p50 o2o / floor",
            ]
        ]
        func cell(_ result: BenchResult?) -> String {
            guard let result else { return "-" }
            return
                "\(thousands(result.number("calls_per_s") ?? 0)) (\(result["p50_us"] ?? "-")) [\(result["server_cpu_ms_per_1k"] ?? "-")]"
        }
        func times(_ value: Double?) -> String { value.map { format($0, $0 < 10 ? 2 : 1) + "×" } ?? "-" }
        for (index, shape) in shapes.enumerated() {
            for size in index == 0 ? sizes : [sizes[0]] {
                let ours = find(entries, "o2o", shape, size)
                let grpc = find(entries, "grpc", shape, size)
                let floor = find(entries, "nio", shape, size)
                rows.append([
                    shape.name, "\(size) B", cell(ours), cell(grpc),
                    cell(find(entries, "grpc-no-coalesce", shape, size)), cell(floor),
                    times(Self.ratio(ours, grpc)), percent(Self.ratio(ours, floor)),
                    times(Self.ratio(ours, floor, "p50_us")),
                ])
            }
        }
        lines += Self.align(rows)
        if !zstdSizes.isEmpty {
            lines += [
                "",
                "o2o with zstd, \(shapes[0].name): calls/s, MB/s of payload, bytes on the wire per call (both ways, frames included)",
                "",
            ]
            var zstdRows: [[String]] = [
                ["size", "off: calls/s", "MB/s", "wire B/call", "on: calls/s", "MB/s", "wire B/call", "wire on / off"]
            ]
            for size in zstdSizes {
                let off = find(entries, "o2o", shapes[0], size, .off)
                let on = find(entries, "o2o", shapes[0], size, .on)
                zstdRows.append([
                    "\(size) B", thousands(off?.number("calls_per_s") ?? 0), off?["mb_per_s"] ?? "-",
                    off?["wire_bytes_per_call"] ?? "-",
                    thousands(on?.number("calls_per_s") ?? 0), on?["mb_per_s"] ?? "-",
                    on?["wire_bytes_per_call"] ?? "-",
                    percent(Self.ratio(on, off, "wire_bytes_per_call")),
                ])
            }
            lines += Self.align(zstdRows)
        }
        return lines.joined(separator: "\n")
    }

    func jsonReport(_ entries: [Entry], shapes: [Shape], sizes: [Int], zstdSizes: [Int]) -> String {
        var ratios: [BenchResult] = []
        for (index, shape) in shapes.enumerated() {
            for size in index == 0 ? sizes : [sizes[0]] {
                let ours = find(entries, "o2o", shape, size)
                var ratio = BenchResult([
                    ("conns", String(shape.conns)), ("inflight_per_conn", String(shape.inflight)),
                    ("payload_bytes", String(size)),
                ])
                for (key, other, field) in [
                    ("o2o_over_grpc", "grpc", "calls_per_s"),
                    ("o2o_over_grpc_no_coalesce", "grpc-no-coalesce", "calls_per_s"),
                    ("o2o_over_floor", "nio", "calls_per_s"), ("p50_o2o_over_floor", "nio", "p50_us"),
                ] {
                    if let value = Self.ratio(ours, find(entries, other, shape, size), field) {
                        ratio.set(key, format(value, 3))
                    }
                }
                ratios.append(ratio)
            }
        }
        for size in zstdSizes {
            let off = find(entries, "o2o", shapes[0], size, .off)
            let on = find(entries, "o2o", shapes[0], size, .on)
            var ratio = BenchResult([
                ("zstd", "true"), ("conns", String(shapes[0].conns)), ("inflight_per_conn", String(shapes[0].inflight)),
                ("payload_bytes", String(size)),
            ])
            if let value = Self.ratio(on, off) { ratio.set("calls_on_over_off", format(value, 3)) }
            if let value = Self.ratio(on, off, "wire_bytes_per_call") {
                ratio.set("wire_on_over_off", format(value, 3))
            }
            ratios.append(ratio)
        }
        var report = BenchResult([
            ("machine", Self.machine()), ("warmup_s", format(warmup, 1)), ("duration_s", format(duration, 1)),
            ("repeats", String(repeats)),
        ])
        .jsonValue
        if case .object(var members) = report {
            members.append(.init(key: "results", value: .array(entries.map(\.result.jsonValue))))
            members.append(.init(key: "ratios", value: .array(ratios.map(\.jsonValue))))
            report = .object(members)
        }
        return renderJSON(report)
    }

    static func align(_ rows: [[String]]) -> [String] {
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, text in text + String(repeating: " ", count: widths[column] - text.count) }
                .joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }
    }

    /// Cores, CPU model, kernel and date: what a reader needs to weigh the numbers.
    static func machine() -> String {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model =
            cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":", maxSplits: 1)
            .last?
            .trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let date = ISO8601DateFormatter().string(from: Date())
        return "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(model), Linux \(release), \(date)"
    }
}

import ArgumentParser
import O2OMessages
import O2ONIOTransport
import O2ORPC

/// What one workload calls, prepared against the server before timing starts.
struct PreparedWorkload: Sendable {
    var call: ClosedLoop.Call
    /// Payload bytes one call moves, both ways (for MB/s).
    var bytesPerCall: Int
    /// Messages one call receives (streams receive many).
    var messagesPerCall: Int = 1
}

/// A workload: its name in results, whether it needs the demo shop, and how to prepare
/// its calls given the first connection and the number of callers.
struct Workload: Sendable {
    var name: String
    var payloadBytes: Int = 0
    var needsDemoData = false
    var extraFields: [(String, String)] = []
    var prepare: @Sendable (_ channel: O2OClientChannel, _ callers: Int) async throws -> PreparedWorkload

    /// Runs the workload: starts or finds the server, opens the connections, runs the
    /// closed loop and returns the result in the peers' fields plus ours.
    func run(
        load: LoadOptions,
        server serverOptions: ServerOptions,
        compression: Compression = .default
    ) async throws -> BenchResult {
        let server = try await BenchServer.start(serverOptions, demoData: needsDemoData)
        do {
            let result = try await run(load: load, on: server, compression: compression)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    func run(load: LoadOptions, on server: BenchServer, compression: Compression) async throws -> BenchResult {
        let channels = try server.channels(load.conns, compression: compression)
        let probe = try O2OClientChannel(
            configuration: O2OClientConfiguration(target: .tcp(host: server.host, port: server.port))
        )
        do {
            let result = try await measure(
                load: load,
                on: server,
                channels: channels,
                probe: probe,
                compression: compression
            )
            for channel in channels + [probe] { await channel.close() }
            return result
        } catch {
            for channel in channels + [probe] { await channel.close() }
            throw error
        }
    }

    private func measure(
        load: LoadOptions,
        on server: BenchServer,
        channels: [O2OClientChannel],
        probe: O2OClientChannel,
        compression: Compression
    ) async throws -> BenchResult {
        let prepared = try await prepare(channels[0], load.conns * load.inflight)
        // Every connection up (and warm) before timing starts.
        for (index, channel) in channels.enumerated() {
            _ = try await prepared.call(channel, index, 0)
        }
        var loop = ClosedLoop(
            channels: channels,
            inflightPerChannel: load.inflight,
            warmupSeconds: load.warmup,
            durationSeconds: load.duration,
            serverPID: server.pid,
            onEventLoop: load.executor == "loop"
        )
        loop.windowProbe = { await server.wireBytes(probe) }
        let report = try await loop.run(prepared.call)
        var fields: [(String, String)] = [
            ("kind", "o2o"), ("label", load.label), ("workload", name), ("coalesce", "n/a"),
            ("executor", load.executor),
            ("conns", String(load.conns)), ("inflight_per_conn", String(load.inflight)),
        ]
        fields += report.fields
        fields += [
            ("payload_bytes", String(payloadBytes)),
            ("compression", compression.rawValue),
            ("mb_per_s", format(report.callsPerSecond * Double(prepared.bytesPerCall) / 1e6, 1)),
        ]
        if prepared.messagesPerCall != 1 {
            fields.append(("messages_per_s", format(report.callsPerSecond * Double(prepared.messagesPerCall), 0)))
        }
        if let wire = report.probed {
            fields.append(("wire_bytes_per_call", format(Double(wire.count) / wire.calls, 0)))
        }
        if report.errors > 0 {
            fields.append(
                (
                    "errors_by_status",
                    report.errorsByStatus.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(
                        separator: ","
                    )
                )
            )
        }
        if server.pid == 0 { fields.append(("server_cpu", "unknown")) }
        return BenchResult(fields + extraFields)
    }
}

/// Prints a result as the options ask: a summary, or one JSON object.
func emit(_ result: BenchResult, json: Bool) {
    printLine(json ? result.json : result.summary)
}

/// A payload that compresses as real messages do (words, numbers, repeats), not as a
/// repeating byte pattern (which zstd shrinks to almost nothing) or random bytes
/// (which it cannot shrink at all): about 3:1 with zstd's default level.
func realisticPayload(_ size: Int) -> [UInt8] {
    let words = [
        "牛奶", "面包", "鸡蛋", "苹果", "大米", "酸奶", "organic", "whole", "milk", "bread", "fresh", "imported", "store",
        "warehouse", "order", "sku", "PD1147", "CNY", "packed", "shelf", "1L", "500g", "6-pack", "delivery", "pickup",
        "杭州",
        "北京", "上海", "促销", "会员", "积分", "库存",
    ]
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    var bytes: [UInt8] = []
    bytes.reserveCapacity(size + 16)
    while bytes.count < size {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let pick = Int(truncatingIfNeeded: (state >> 33) % UInt64(words.count))
        bytes += Array(words[pick].utf8)
        bytes.append(pick % 5 == 0 ? UInt8(ascii: ",") : UInt8(ascii: " "))
        if pick % 7 == 0 { bytes += Array(String(state % 100_000).utf8) }
    }
    return Array(bytes.prefix(size))
}

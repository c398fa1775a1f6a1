import BenchCommon
import EchoGen
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Histogram

let args = Args()
let payloadSize = args.payload
var payload = Data(count: payloadSize)
for i in 0..<payloadSize { payload[i] = UInt8(truncatingIfNeeded: i &* 31 &+ 7) }
var req = Bench_EchoRequest()
req.payload = payload
let request = req

let clients = try (0..<args.conns).map { _ in
  try GRPCClient(transport: .http2NIOPosix(
    target: .ipv4(address: "127.0.0.1", port: args.port),
    transportSecurity: .plaintext,
    config: .defaults { if args.noCoalesce { $0.connection.flushCoalescing = nil } }))
}

struct WorkerResult: Sendable { var hist: Histogram<UInt64>; var calls: UInt64; var errors: Int }

try await withThrowingTaskGroup(of: Void.self) { group in
  for c in clients { group.addTask { try await c.runConnections() } }
  // establish each connection with one call before timing starts
  for c in clients {
    let r = try await Bench_Echo.Client(wrapping: c).echo(request)
    precondition(r.payload.count == payloadSize)
  }
  let t0 = nowNs()
  let measureStart = t0 + UInt64(args.warmup * 1e9)
  let end = measureStart + UInt64(args.duration * 1e9)
  let sampler = CpuSampler(serverPid: args.serverPid, startNs: measureStart, endNs: end)

  let results = try await withThrowingTaskGroup(of: WorkerResult.self) { g in
    for c in clients {
      let echo = Bench_Echo.Client(wrapping: c)
      for _ in 0..<args.inflight {
        g.addTask {
          var h = makeHistogram()
          var n: UInt64 = 0
          var errors = 0
          while true {
            let s = nowNs()
            if s >= end { break }
            do {
              let resp = try await echo.echo(request)
              let e = nowNs()
              if resp.payload.count != payloadSize { errors += 1 }
              if e >= measureStart && e <= end { _ = h.record(e - s); n += 1 }
            } catch {
              errors += 1
            }
          }
          return WorkerResult(hist: h, calls: n, errors: errors)
        }
      }
    }
    var all = [WorkerResult]()
    for try await r in g { all.append(r) }
    return all
  }
  let cpu = sampler.wait()
  var hist = makeHistogram()
  var calls: UInt64 = 0
  var errors = 0
  for r in results { hist.add(r.hist); calls += r.calls; errors += r.errors }
  report(kind: "grpc", args: args, hist: hist, calls: calls, windowNs: end - measureStart, cpu: cpu, errors: errors)
  for c in clients { c.beginGracefulShutdown() }
  try await group.waitForAll()
}

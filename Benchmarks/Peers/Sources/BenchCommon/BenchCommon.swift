import Foundation
import Histogram
#if canImport(Glibc)
import Glibc
#endif

@inline(__always)
public func nowNs() -> UInt64 {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

public func makeHistogram() -> Histogram<UInt64> {
  Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
}

public struct Args {
  public var port = 50051
  public var conns = 1
  public var inflight = 64  // per connection
  public var warmup = 3.0
  public var duration = 15.0
  public var serverPid: Int32 = 0
  public var label = "run"
  public var noCoalesce = false
  /// Payload bytes per message.
  public var payload = 200
  public init() {
    var it = CommandLine.arguments.dropFirst().makeIterator()
    while let a = it.next() {
      switch a {
      case "--port": port = Int(it.next()!)!
      case "--conns": conns = Int(it.next()!)!
      case "--inflight": inflight = Int(it.next()!)!
      case "--warmup": warmup = Double(it.next()!)!
      case "--duration": duration = Double(it.next()!)!
      case "--server-pid": serverPid = Int32(it.next()!)!
      case "--label": label = it.next()!
      case "--no-coalesce": noCoalesce = true
      case "--payload": payload = Int(it.next()!)!
      default: fatalError("unknown arg \(a)")
      }
    }
  }
}

/// utime+stime in clock ticks for a pid (0 = self)
public func procTicks(_ pid: Int32) -> UInt64 {
  let path = pid == 0 ? "/proc/self/stat" : "/proc/\(pid)/stat"
  guard let s = try? String(contentsOfFile: path, encoding: .utf8),
        let close = s.lastIndex(of: ")") else { return 0 }
  let fields = s[s.index(after: close)...].split(separator: " ")
  // after ")": fields[0]=state(3) ... utime is field 14 -> index 11, stime 15 -> index 12
  return UInt64(fields[11])! + UInt64(fields[12])!
}

/// (busy, total) jiffies for whole machine from /proc/stat
public func machineTicks() -> (UInt64, UInt64) {
  guard let s = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
        let line = s.split(separator: "\n").first else { return (0, 0) }
  let v = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
  let total = v.prefix(8).reduce(0, +)
  let idle = v[3] + v[4]
  return (total - idle, total)
}

public struct CpuSample {
  public var t: UInt64
  public var server: UInt64
  public var client: UInt64
  public var machineBusy: UInt64
  public var machineTotal: UInt64
  public static func take(serverPid: Int32) -> CpuSample {
    let m = machineTicks()
    return CpuSample(t: nowNs(), server: procTicks(serverPid), client: procTicks(0), machineBusy: m.0, machineTotal: m.1)
  }
}

/// Samples CPU at measureStart and measureEnd on a dedicated OS thread.
public final class CpuSampler: @unchecked Sendable {
  private let lock = NSLock()
  private var samples: [CpuSample] = []
  private let done = DispatchSemaphore(value: 0)
  public init(serverPid: Int32, startNs: UInt64, endNs: UInt64) {
    let t = Thread { [self] in
      func sleepUntil(_ target: UInt64) {
        while true {
          let n = nowNs()
          if n >= target { return }
          usleep(useconds_t(min(100_000, max(1, (target - n) / 1000))))
        }
      }
      sleepUntil(startNs)
      let a = CpuSample.take(serverPid: serverPid)
      sleepUntil(endNs)
      let b = CpuSample.take(serverPid: serverPid)
      lock.lock(); samples = [a, b]; lock.unlock()
      done.signal()
    }
    t.start()
  }
  public func wait() -> (CpuSample, CpuSample) {
    done.wait()
    lock.lock(); defer { lock.unlock() }
    return (samples[0], samples[1])
  }
}

public func report(kind: String, args: Args, hist: Histogram<UInt64>, calls: UInt64, windowNs: UInt64, cpu: (CpuSample, CpuSample), errors: Int) {
  let tck = Double(sysconf(Int32(_SC_CLK_TCK)))
  let dt = Double(cpu.1.t - cpu.0.t) / 1e9
  let srvCpu = Double(cpu.1.server - cpu.0.server) / tck / dt   // cores
  let cliCpu = Double(cpu.1.client - cpu.0.client) / tck / dt
  let mach = Double(cpu.1.machineBusy - cpu.0.machineBusy) / Double(max(1, cpu.1.machineTotal - cpu.0.machineTotal))
  let rate = Double(calls) / (Double(windowNs) / 1e9)
  let srvMsPer1k = srvCpu * 1000.0 / rate * 1000.0
  let cliMsPer1k = cliCpu * 1000.0 / rate * 1000.0
  func us(_ p: Double) -> String { String(format: "%.1f", Double(hist.valueAtPercentile(p)) / 1000.0) }
  let line = String(format: "RESULT kind=%@ label=%@ coalesce=%@ conns=%d inflight_per_conn=%d calls=%llu calls_per_s=%.0f p50_us=%@ p90_us=%@ p99_us=%@ p999_us=%@ max_us=%.1f server_cpu_cores=%.3f client_cpu_cores=%.3f machine_busy_frac=%.3f server_cpu_ms_per_1k=%.2f client_cpu_ms_per_1k=%.2f errors=%d payload_bytes=%d",
    kind, args.label, kind == "nio" ? "n/a" : (args.noCoalesce ? "off" : "default"), args.conns, args.inflight, calls, rate, us(50), us(90), us(99), us(99.9), Double(hist.max) / 1000.0, srvCpu, cliCpu, mach, srvMsPer1k, cliMsPer1k, errors, args.payload)
  print(line)
}

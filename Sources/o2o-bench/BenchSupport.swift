import Histogram

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Monotonic nanoseconds.
@inline(__always)
func nowNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

func makeLatencyHistogram() -> Histogram<UInt64> {
    Histogram<UInt64>(
        lowestDiscernibleValue: 1,
        highestTrackableValue: 60_000_000_000,
        numberOfSignificantValueDigits: .three
    )
}

/// utime + stime of a process in clock ticks (0 for this process), from /proc.
func processCPUTicks(_ pid: Int32) -> UInt64 {
    let path = pid == 0 ? "/proc/self/stat" : "/proc/\(pid)/stat"
    guard let file = fopen(path, "r") else { return 0 }
    defer { fclose(file) }
    var buffer = [CChar](repeating: 0, count: 1024)
    guard fgets(&buffer, Int32(buffer.count), file) != nil else { return 0 }
    let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    guard let close = line.lastIndex(of: ")") else { return 0 }
    let fields = line[line.index(after: close)...].split(separator: " ")
    guard fields.count > 12 else { return 0 }
    return (UInt64(fields[11]) ?? 0) + (UInt64(fields[12]) ?? 0)
}

/// (busy, total) jiffies of the whole machine, from /proc/stat.
func machineCPUTicks() -> (busy: UInt64, total: UInt64) {
    guard let file = fopen("/proc/stat", "r") else { return (0, 0) }
    defer { fclose(file) }
    var buffer = [CChar](repeating: 0, count: 512)
    guard fgets(&buffer, Int32(buffer.count), file) != nil else { return (0, 0) }
    let values = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(
        separator: " "
    ).dropFirst().compactMap { UInt64($0.trimmingCharacters()) }
    guard values.count >= 5 else { return (0, 0) }
    let total = values.prefix(8).reduce(0, +)
    let idle = values[3] + values[4]
    return (total - idle, total)
}

extension Substring {
    func trimmingCharacters() -> Substring {
        var result = self
        while let last = result.last, last == "\n" || last == " " { result = result.dropLast() }
        return result
    }
}

/// CPU figures taken at the start and the end of the measured window.
struct CPUSample {
    var time: UInt64
    var server: UInt64
    var client: UInt64
    var machineBusy: UInt64
    var machineTotal: UInt64

    static func take(serverPID: Int32) -> CPUSample {
        let machine = machineCPUTicks()
        return CPUSample(
            time: nowNanoseconds(),
            server: serverPID == 0 ? 0 : processCPUTicks(serverPID),
            client: processCPUTicks(0),
            machineBusy: machine.busy,
            machineTotal: machine.total
        )
    }
}

/// Prints a line straight to standard output, unbuffered: scripts wait for lines such
/// as "listening on ..." while the process keeps running.
func printLine(_ line: String) {
    let text = line + "\n"
    _ = text.utf8CString.withUnsafeBufferPointer { write(1, $0.baseAddress, $0.count - 1) }
}

import O2OStorage

// A child process for the durability test: writes atomic batches with sync policy
// `always` and prints "ack <run> <n>" after each write returns, until it is killed.
// Each batch writes rec/<run>/<n>, idx/<run>/<n> and last/<run> = n together.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    let usage = "usage: o2o-storage-torture DIRECTORY RUN\n"
    _ = usage.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
    exit(2)
}
let directory = arguments[1]
let run = arguments[2]

func say(_ line: String) {
    let text = line + "\n"
    _ = text.utf8CString.withUnsafeBufferPointer { write(1, $0.baseAddress, $0.count - 1) }
}

let engine = try RocksDBEngine(path: directory, syncPolicy: .always)
say("ready")
var n = 0
while true {
    n += 1
    var batch = WriteBatch()
    let value = Array("value \(run) \(n) ".utf8) + [UInt8](repeating: UInt8(n % 251), count: 200)
    batch.put(Array("rec/\(run)/\(n)".utf8), value)
    batch.put(Array("idx/\(run)/\(n)".utf8), Array("\(n)".utf8))
    batch.put(Array("last/\(run)".utf8), Array("\(n)".utf8))
    try await engine.write(batch)
    say("ack \(run) \(n)")
}

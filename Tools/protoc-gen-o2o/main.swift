import O2OCodeGen

// protoc-gen-o2o: protoc's plugin for O2O's Swift code. protoc runs it with a
// CodeGeneratorRequest on stdin and reads the CodeGeneratorResponse from stdout; the
// generator itself is the O2OCodeGen library. Use it through Tools/generate.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

if CommandLine.arguments.count > 1 {
    let usage = """
        protoc-gen-o2o \(O2OCodeGenerator.version): protoc's plugin for O2O's Swift code.
        Run it through protoc (Tools/generate does):
          protoc --plugin=protoc-gen-o2o=PATH --o2o_out=DIR [--o2o_opt=c_module=M,import=M,registry=NAME] FILES
        It reads a CodeGeneratorRequest on stdin and writes a CodeGeneratorResponse on stdout.

        """
    let text = CommandLine.arguments[1] == "--version" ? "protoc-gen-o2o \(O2OCodeGenerator.version)\n" : usage
    _ = text.utf8CString.withUnsafeBufferPointer { write(1, $0.baseAddress, $0.count - 1) }
    exit(CommandLine.arguments[1] == "--version" || CommandLine.arguments[1] == "--help" ? 0 : 2)
}

var input: [UInt8] = []
var chunk = [UInt8](repeating: 0, count: 65536)
while true {
    let count = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
    if count < 0 {
        if errno == EINTR { continue }
        let message = "protoc-gen-o2o: cannot read stdin; run it through protoc (see Tools/generate)\n"
        _ = message.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
        exit(1)
    }
    if count == 0 { break }
    input += chunk[0..<count]
}
var output = O2OCodeGenerator.runPlugin(request: input)
var written = 0
while written < output.count {
    let count = output.withUnsafeBytes { write(1, $0.baseAddress! + written, $0.count - written) }
    if count < 0 {
        if errno == EINTR { continue }
        exit(1)
    }
    written += count
}
exit(0)

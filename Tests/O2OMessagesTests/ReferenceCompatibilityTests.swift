import Foundation
import O2OMessages
import Testing

/// Compares our encoding with the reference implementation: Python's `protobuf`
/// package (Debian python3-protobuf) over `protoc --python_out` code for the same
/// .proto files.
@Suite("Reference implementation (Python protobuf)")
struct ReferenceCompatibilityTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The interpreter that has `google.protobuf` (Debian's, not a virtualenv's).
    static var python: String {
        ProcessInfo.processInfo.environment["O2O_TEST_PYTHON"] ?? "/usr/bin/python3"
    }

    struct Sample {
        let name: String
        let message: any O2OMessage
    }

    @Test("Python decodes our bytes to our JSON, and we decode Python's bytes to equal values")
    func compatibility() async throws {
        var samples: [Sample] = []
        for name in AllTypes.messages.keys.sorted() {
            for variant in 0..<4 {
                let seed = name.hashValueStable &+ 1000 &+ UInt64(variant)
                samples.append(Sample(name: name, message: try randomMessage(name, seed: seed, variant: variant)))
            }
        }
        let results = try await runPython(samples)
        #expect(results.count == samples.count)
        var mismatches: [String] = []
        for (sample, result) in zip(samples, results) {
            if let error = result["error"] as? String {
                mismatches.append("\(sample.name): \(error)")
                continue
            }
            let type = AllTypes.messages[sample.name]!
            // Python re-encoded what it decoded from our bytes, and encoded what it
            // parsed from our JSON: both must decode to our value.
            for key in ["from_bytes", "from_json"] {
                let bytes = Array(Data(base64Encoded: result[key] as! String)!)
                let decoded = try type.init(serializedBytes: bytes)
                if !equal(decoded, sample.message) {
                    mismatches.append(
                        "\(sample.name) [\(key)]: \(decoded.jsonString()) != \(sample.message.jsonString())"
                    )
                }
            }
            // Byte-for-byte equality holds except for maps: Python writes a map entry's
            // key and value even when they are defaults, protobuf-c leaves them out;
            // both are valid and decode to the same value (checked above).
            if result["same_bytes"] as? Bool != true, !Self.reachesMap(sample.name) {
                mismatches.append("\(sample.name): our bytes differ from Python's deterministic encoding")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches:\n\(mismatches.prefix(20).joined(separator: "\n"))")
    }

    /// Whether the message type has a map field, directly or through its fields.
    static func reachesMap(_ name: String, seen: Set<String> = []) -> Bool {
        let schema = AllTypes.schema(name)
        if schema.fields.contains(where: \.map) { return true }
        return schema.fields.contains { field in
            field.type == .message && !seen.contains(field.typeName)
                && reachesMap(field.typeName, seen: seen.union([name]))
        }
    }

    private func equal(_ lhs: any O2OMessage, _ rhs: any O2OMessage) -> Bool {
        func open<M: O2OMessage>(_ lhs: M) -> Bool { (rhs as? M) == lhs }
        return open(lhs)
    }

    /// Runs the Python side over every sample and returns one result object each.
    private func runPython(_ samples: [Sample]) async throws -> [[String: Any]] {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("o2o-python-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }

        // Python modules for both schemas.
        for (root, sub) in [("Protos", "Protos"), ("Tests/Protos", "Tests/Protos")] {
            let protoRoot = Self.repositoryRoot.appendingPathComponent(root)
            let files = FileManager.default.enumerator(atPath: protoRoot.path)!.compactMap { $0 as? String }
                .filter { $0.hasSuffix(".proto") }.sorted()
            try await run(
                "/usr/bin/env",
                ["protoc", "--proto_path=\(protoRoot.path)", "--python_out=\(scratch.path)"] + files,
                what: "protoc --python_out for \(sub)"
            )
        }

        var input = ""
        for sample in samples {
            let record: [String: Any] = [
                "type": sample.name,
                "bytes": Data(sample.message.serializedBytes()).base64EncodedString(),
                "json": sample.message.jsonString(),
            ]
            input += String(decoding: try JSONSerialization.data(withJSONObject: record), as: UTF8.self) + "\n"
        }
        let inputFile = scratch.appendingPathComponent("samples.jsonl")
        try input.write(to: inputFile, atomically: true, encoding: .utf8)
        let script = scratch.appendingPathComponent("check.py")
        try Self.checker.write(to: script, atomically: true, encoding: .utf8)

        let output = try await run(
            Self.python,
            [script.path, scratch.path, inputFile.path],
            what: "the Python checker"
        )
        return try output.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    /// Runs a program to its end on a thread of its own: waiting for it on one of the
    /// few threads that run every test's tasks would stall the other tests meanwhile.
    @discardableResult
    private func run(_ executable: String, _ arguments: [String], what: String) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try Self.runBlocking(executable, arguments, what: what) })
            }
        }
    }

    private static func runBlocking(_ executable: String, _ arguments: [String], what: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ReferenceError(
                "\(what) failed (exit \(process.terminationStatus)); is Debian's python3-protobuf installed? "
                    + String(decoding: errors.suffix(2000), as: UTF8.self)
            )
        }
        return String(decoding: output, as: UTF8.self)
    }

    struct ReferenceError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// For each sample: decode our bytes, compare MessageToDict with our JSON, parse our
    /// JSON, and report both re-encodings.
    static let checker = #"""
        import base64, json, sys, importlib, pathlib
        sys.path.insert(0, sys.argv[1])
        for path in sorted(pathlib.Path(sys.argv[1]).rglob("*_pb2.py")):
            module = ".".join(path.relative_to(sys.argv[1]).with_suffix("").parts)
            importlib.import_module(module)
        from google.protobuf import json_format, symbol_database
        database = symbol_database.Default()
        for line in open(sys.argv[2]):
            sample = json.loads(line)
            result = {}
            try:
                cls = database.GetSymbol(sample["type"])
                ours = base64.b64decode(sample["bytes"])
                message = cls.FromString(ours)
                expected = json_format.MessageToDict(message)
                actual = json.loads(sample["json"])
                if expected != actual:
                    result["error"] = "JSON differs: python %s, ours %s" % (json.dumps(expected, ensure_ascii=False)[:600], sample["json"][:600])
                result["from_bytes"] = base64.b64encode(message.SerializeToString(deterministic=True)).decode()
                result["same_bytes"] = message.SerializeToString(deterministic=True) == ours
                parsed = json_format.Parse(sample["json"], cls())
                result["from_json"] = base64.b64encode(parsed.SerializeToString(deterministic=True)).decode()
            except Exception as error:
                result["error"] = "%s: %s" % (type(error).__name__, error)
            print(json.dumps(result))
        """#
}

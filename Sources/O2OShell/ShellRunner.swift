import O2OClient

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where the shell's text goes and where `-` input comes from.
public struct ShellIO: Sendable {
    public var write: @Sendable (String) -> Void
    public var writeError: @Sendable (String) -> Void
    public var readStandardInput: @Sendable () -> [UInt8]

    public init(
        write: @escaping @Sendable (String) -> Void,
        writeError: @escaping @Sendable (String) -> Void,
        readStandardInput: @escaping @Sendable () -> [UInt8]
    ) {
        self.write = write
        self.writeError = writeError
        self.readStandardInput = readStandardInput
    }

    /// Standard output, standard error and standard input.
    public static let standard = ShellIO(
        write: { text in writeAll(1, text + "\n") },
        writeError: { text in writeAll(2, text + "\n") },
        readStandardInput: {
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = read(0, &buffer, buffer.count)
                if count <= 0 { break }
                bytes += buffer[0..<count]
            }
            return bytes
        }
    )
}

/// Writes all of `text` to a file descriptor, unbuffered (no C stdio state shared
/// between tasks).
func writeAll(_ descriptor: Int32, _ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if written <= 0 {
            if errno == EINTR { continue }
            return
        }
        bytes = bytes.dropFirst(written)
    }
}

/// Runs shell commands against a session.
public struct ShellRunner: Sendable {
    public let session: ShellSession
    public let io: ShellIO
    /// Output settings before a command's own options.
    public var output: ShellOutput

    public init(session: ShellSession, io: ShellIO, output: ShellOutput) {
        self.session = session
        self.io = io
        self.output = output
    }

    /// Runs one command; RPC failures become `ShellError.rpc`.
    public func run(_ command: ShellCommand) async throws(ShellError) {
        var output = self.output
        if let format = command.format { output.format = format }
        if command.compactJSON { output.compactJSON = true }
        if command.showPersonalData { output.showPersonalData = true }
        do {
            if output.showPersonalData, command.verb == .call {
                try await requireAdmin(for: "--show-pii")
            }
            switch command.verb {
            case .ls: try await list(command, output)
            case .describe: try await describe(command.arguments[0], output)
            case .call: try await call(command, output)
            case .health: try await health(command, output)
            case .stats: try await stats(command, output)
            case .dashboard: try await dashboard(command, output)
            case .ping: try await ping(command, output)
            case .info: try await info(output)
            case .connections: try await connections(output)
            case .backup: try await backup(command.arguments[0], output)
            case .help: help(command.arguments.first)
            case .exit: break
            }
        } catch let error as ShellError {
            throw error
        } catch let error as RPCError {
            throw ShellError.rpc(error)
        } catch is CancellationError {
            throw ShellError.rpc(RPCError(code: .cancelled, message: "cancelled"))
        } catch {
            throw ShellError.local("\(error)")
        }
    }

    /// Personal data is for administrators: the server is asked whether this caller
    /// is one (an admin-only call) before anything is shown unmasked.
    private func requireAdmin(for option: String) async throws {
        do {
            _ = try await session.services.admin.getServerInfo(GetServerInfoRequest())
        } catch let error as RPCError where error.code == .permissionDenied || error.code == .unauthenticated {
            throw ShellError.rpc(
                RPCError(
                    code: .permissionDenied,
                    message: "\(option): showing personal data needs an admin token (\(error.message))"
                )
            )
        }
    }

    private func schema(_ output: inout ShellOutput) async throws -> ShellSchema {
        let schema = try await session.schema()
        output.schema = schema
        return schema
    }

    // MARK: - Discovery

    private func list(_ command: ShellCommand, _ output: ShellOutput) async throws {
        var output = output
        let schema = try await schema(&output)
        if let name = command.arguments.first {
            let service = try schema.service(name)
            let rows: [O2OJSONValue] = service.methods.map { method in
                .object([
                    .init(key: "method", value: .string(method.name)),
                    .init(key: "kind", value: .string(Self.kindName(method.kind))),
                    .init(key: "role", value: .string(Self.roleName(method.requiredRole))),
                    .init(key: "served", value: .string(schema.isServed(method) ? "yes" : "no")),
                    .init(key: "summary", value: .string(Self.summary(method.doc))),
                ])
            }
            io.write(output.render(.object([.init(key: "methods", value: .array(rows))])))
        } else {
            let rows: [O2OJSONValue] = schema.services.map { service in
                let served = service.methods.filter { schema.isServed($0) }.count
                let servedText =
                    served == service.methods.count ? "all" : served == 0 ? "none (schema only)" : "\(served)"
                return .object([
                    .init(key: "service", value: .string(service.name)),
                    .init(key: "methods", value: .number(String(service.methods.count))),
                    .init(key: "served", value: .string(servedText)),
                    .init(key: "summary", value: .string(Self.summary(service.doc))),
                ])
            }
            io.write(output.render(.object([.init(key: "services", value: .array(rows))])))
        }
    }

    private func describe(_ name: String, _ output: ShellOutput) async throws {
        var output = output
        let schema = try await schema(&output)
        if let service = try? schema.service(name), !name.contains("/") {
            var lines = [output.bold(service.name), Self.indent(service.doc), ""]
            for method in service.methods {
                lines.append(
                    "  \(output.bold(method.name))  \(Self.kindName(method.kind)), role \(Self.roleName(method.requiredRole))"
                )
                lines.append("    " + Self.summary(method.doc))
            }
            let methods: [O2OJSONValue] = service.methods.map { method in
                .object([
                    .init(key: "method", value: .string(method.name)),
                    .init(key: "kind", value: .string(Self.kindName(method.kind))),
                    .init(key: "role", value: .string(Self.roleName(method.requiredRole))),
                    .init(key: "doc", value: .string(method.doc)),
                ])
            }
            return emit(
                lines,
                json: .object([
                    .init(key: "service", value: .string(service.name)),
                    .init(key: "doc", value: .string(service.doc)),
                    .init(key: "methods", value: .array(methods)),
                ]),
                output
            )
        }
        if let (service, method) = try? schema.method(name) {
            var lines = [
                output.bold("\(ShellSchema.shortName(service.name))/\(method.name)")
                    + "  (\(Self.kindName(method.kind)), role \(Self.roleName(method.requiredRole)), \(Self.idempotencyName(method.idempotency)))"
                    + (schema.isServed(method) ? "" : "  not served by this server"),
                Self.indent(method.doc), "",
                "request  \(method.requestType)", "response \(method.responseType)", "",
            ]
            lines += fieldLines(method.requestType, schema: schema, output: output)
            let example = Self.example(method.requestType, schema: schema, depth: 0)
            lines += ["", output.bold("example request:"), ShellOutput.json(example, pretty: true)]
            return emit(
                lines,
                json: .object([
                    .init(key: "method", value: .string("\(service.name)/\(method.name)")),
                    .init(key: "kind", value: .string(Self.kindName(method.kind))),
                    .init(key: "role", value: .string(Self.roleName(method.requiredRole))),
                    .init(key: "idempotency", value: .string(Self.idempotencyName(method.idempotency))),
                    .init(key: "doc", value: .string(method.doc)),
                    .init(key: "requestType", value: .string(method.requestType)),
                    .init(key: "responseType", value: .string(method.responseType)),
                    .init(key: "fields", value: fieldsJSON(method.requestType, schema: schema)),
                    .init(key: "example", value: example),
                ]),
                output
            )
        }
        let (message, enumeration) = try schema.type(name)
        if let message {
            var lines = [output.bold(message.name), Self.indent(message.doc), ""]
            lines += fieldLines(message.name, schema: schema, output: output)
            let example = Self.example(message.name, schema: schema, depth: 0)
            lines += ["", output.bold("example:"), ShellOutput.json(example, pretty: true)]
            return emit(
                lines,
                json: .object([
                    .init(key: "message", value: .string(message.name)),
                    .init(key: "doc", value: .string(message.doc)),
                    .init(key: "fields", value: fieldsJSON(message.name, schema: schema)),
                    .init(key: "example", value: example),
                ]),
                output
            )
        }
        if let enumeration {
            var lines = [output.bold(enumeration.name), Self.indent(enumeration.doc), ""]
            let rows = enumeration.values.map { [$0.name, String($0.number), Self.summary($0.doc)] }
            lines += output.table(header: ["value", "number", "meaning"], rows: rows)
            let values: [O2OJSONValue] = enumeration.values.map { value in
                .object([
                    .init(key: "name", value: .string(value.name)),
                    .init(key: "number", value: .number(String(value.number))),
                    .init(key: "doc", value: .string(value.doc)),
                ])
            }
            return emit(
                lines,
                json: .object([
                    .init(key: "enum", value: .string(enumeration.name)),
                    .init(key: "doc", value: .string(enumeration.doc)),
                    .init(key: "values", value: .array(values)),
                ]),
                output
            )
        }
    }

    /// Text for people; with --json the reflected schema instead.
    private func emit(_ lines: [String], json: O2OJSONValue, _ output: ShellOutput) {
        if output.compactJSON || output.format == .json {
            io.write(output.render(json))
        } else {
            io.write(lines.joined(separator: "\n"))
        }
    }

    private func fieldLines(_ type: String, schema: ShellSchema, output: ShellOutput) -> [String] {
        guard let message = schema.message(type) else { return [] }
        if message.fields.isEmpty { return ["(no fields)"] }
        return output.table(header: ["field", "type", "meaning"], rows: fieldRows(message))
    }

    private func fieldsJSON(_ type: String, schema: ShellSchema) -> O2OJSONValue {
        guard let message = schema.message(type) else { return .array([]) }
        return .array(
            zip(message.fields, fieldRows(message)).map { field, row in
                .object([
                    .init(key: "name", value: .string(field.jsonName)),
                    .init(key: "number", value: .number(String(field.number))),
                    .init(key: "type", value: .string(row[1])),
                    .init(key: "doc", value: .string(field.doc)),
                ])
            }
        )
    }

    /// Name, type as people write it ("[string]", "map<string, int64>", "int32?") and
    /// the first line of the doc comment, per field.
    private func fieldRows(_ message: MessageSchema) -> [[String]] {
        message.fields.map { field -> [String] in
            var kind =
                field.type == .message || field.type == .enum
                ? ShellSchema.shortName(field.typeName)
                : (field.type.protoValueName ?? "").replacingAll("FIELD_TYPE_", with: "").lowercased()
            if field.map {
                kind =
                    "map<\((field.keyType.protoValueName ?? "").replacingAll("FIELD_TYPE_", with: "").lowercased()), \(kind)>"
            }
            if field.repeated, !field.map { kind = "[\(kind)]" }
            if field.hasPresence, field.type != .message { kind += "?" }
            return [field.jsonName, kind, Self.summary(field.doc)]
        }
    }

    /// An example request a person can edit: every field with a plausible value.
    static func example(_ type: String, schema: ShellSchema, depth: Int) -> O2OJSONValue {
        guard let message = schema.message(type), depth < 3 else { return .object([]) }
        var members: [O2OJSONValue.Member] = []
        var seenOneofs: Set<String> = []
        for field in message.fields {
            if !field.oneof.isEmpty, !field.oneof.hasPrefix("_") {
                guard seenOneofs.insert(field.oneof).inserted else { continue }
            }
            var value: O2OJSONValue
            switch field.type {
            case .message: value = example(field.typeName, schema: schema, depth: depth + 1)
            case .enum:
                let values = schema.enumeration(field.typeName)?.values ?? []
                value = .string(values.first(where: { $0.number != 0 })?.name ?? values.first?.name ?? "")
            case .string: value = .string(field.name.hasSuffix("_id") || field.name == "id" ? "…" : "")
            case .bytes: value = .string("")
            case .bool: value = .bool(false)
            case .int64, .uint64, .fixed64, .sfixed64, .sint64: value = .string("0")
            case .double, .float: value = .number("0.0")
            default: value = .number("0")
            }
            if field.map {
                value = .object([.init(key: "key", value: value)])
            } else if field.repeated {
                value = .array([value])
            }
            members.append(.init(key: field.jsonName, value: value))
        }
        return .object(members)
    }

    // MARK: - Calls

    /// A streaming call without --timeout runs until stopped; a year stands for "no
    /// deadline" (the wire carries a deadline as a number of milliseconds).
    static let longestDeadline: Int64 = 365 * 86_400

    private func call(_ command: ShellCommand, _ output: ShellOutput) async throws {
        var output = output
        let schema = try await schema(&output)
        let (service, method) = try schema.method(command.arguments[0])
        guard schema.isServed(method) else {
            throw ShellError.usage(
                "\(ShellSchema.shortName(service.name))/\(method.name) is in the schema but not served by this server"
            )
        }
        let descriptor = ShellSchema.descriptor(service, method)
        let codec = DynamicCodec(schema: schema)
        let input = try requestText(command.arguments.count > 1 ? command.arguments[1] : nil)
        var options = RPCCallOptions()
        for (key, value) in command.metadata { options.metadata.add(key, value) }
        if method.kind == .serverStreaming || method.kind == .bidirectionalStreaming {
            options.timeout = session.options.streamTimeout ?? .seconds(Self.longestDeadline)
        }

        let streamsRequests = method.kind == .clientStreaming || method.kind == .bidirectionalStreaming
        let documents = streamsRequests ? Self.jsonLines(input) : [input.isEmpty ? "{}" : input]
        var requests: [[UInt8]] = []
        for (index, document) in documents.enumerated() {
            let where_ = documents.count > 1 ? "request \(index + 1)" : "request"
            let json: O2OJSONValue
            do {
                json = try O2OJSONValue(parsing: document)
            } catch {
                throw ShellError.usage("\(where_): not JSON: \(error)")
            }
            do {
                requests.append(try codec.encode(json, as: method.requestType))
            } catch let error as O2OJSONError {
                throw ShellError.usage("\(where_): \(error)")
            }
        }
        if method.kind == .unary {
            let response = try await session.unary(descriptor, request: requests[0], options: options)
            io.write(output.render(try decode(response, method.responseType, codec)))
            return
        }
        let printer = output
        let io = self.io
        let responseType = method.responseType
        try await session.streaming(descriptor, requests: requests, options: options) { bytes in
            let value: O2OJSONValue
            do {
                value = try codec.decode(bytes, as: responseType)
            } catch {
                throw RPCError(
                    code: .internalError,
                    message: "the server's response does not decode as \(responseType): \(error)"
                )
            }
            io.write(printer.render(value))
        }
    }

    private func decode(_ bytes: [UInt8], _ type: String, _ codec: DynamicCodec) throws -> O2OJSONValue {
        do {
            return try codec.decode(bytes, as: type)
        } catch {
            throw ShellError.local("the server's response does not decode as \(type): \(error)")
        }
    }

    /// The request text: inline, `@file`, or `-` for standard input.
    private func requestText(_ argument: String?) throws -> String {
        guard let argument else { return "" }
        if argument == "-" { return String(decoding: io.readStandardInput(), as: UTF8.self) }
        if argument.hasPrefix("@") {
            let path = String(argument.dropFirst())
            guard let file = fopen(path, "r") else {
                throw ShellError.local("\(path): \(String(cString: strerror(errno)))")
            }
            defer { fclose(file) }
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = fread(&buffer, 1, buffer.count, file)
                if count == 0 { break }
                bytes += buffer[0..<count]
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        return argument
    }

    /// One JSON document per non-empty line.
    static func jsonLines(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters() }.filter { !$0.isEmpty }
    }

    // MARK: - Operations

    private func health(_ command: ShellCommand, _ output: ShellOutput) async throws {
        var output = output
        var names = [""]
        if let name = command.arguments.first {
            names = [try await schema(&output).service(name).name]
        } else if let schema = try? await schema(&output) {
            // The services the server hosts, not those only in its schema.
            names += schema.services.filter { $0.methods.contains(where: schema.isServed) }.map(\.name)
        }
        var rows: [O2OJSONValue] = []
        var unhealthy = false
        for name in names {
            let response = try await session.services.health.checkHealth(HealthCheckRequest(service: name))
            let status = output.shortEnum(response.status.protoValueName ?? "UNKNOWN")
            if response.status != .serving { unhealthy = true }
            rows.append(
                .object([
                    .init(key: "service", value: .string(name.isEmpty ? "(server)" : name)),
                    .init(key: "status", value: .string(status)),
                    .init(key: "detail", value: .string(response.detail)),
                ])
            )
        }
        io.write(output.render(.object([.init(key: "health", value: .array(rows))])))
        if unhealthy { throw ShellError.rpc(RPCError(code: .unavailable, message: "not every service is serving")) }
    }

    private func stats(_ command: ShellCommand, _ output: ShellOutput) async throws {
        let request = GetMethodStatsRequest(filter: command.arguments.first ?? "", includeIdle: command.all)
        let machine = output.compactJSON || output.format == .json || output.format == .csv
        var previous: [String: UInt64] = [:]
        var previousTime = ContinuousClock.now
        while true {
            let response = try await session.services.admin.getMethodStats(request)
            let now = ContinuousClock.now
            let elapsed =
                Double((now - previousTime).components.seconds) + Double((now - previousTime).components.attoseconds)
                / 1e18
            var rows: [O2OJSONValue] = []
            for method in response.methods {
                var members: [O2OJSONValue.Member] = [
                    .init(key: "method", value: .string(Self.shortPath(method.path))),
                    .init(key: "calls", value: .number(String(method.calls))),
                    .init(key: "errors", value: .number(String(method.errors))),
                ]
                if command.watch != nil {
                    let rate = previous[method.path].map {
                        Double(method.calls - min($0, method.calls)) / max(elapsed, 0.001)
                    }
                    let shown: O2OJSONValue =
                        rate.map { .number(String(Int($0.rounded()))) } ?? (machine ? .null : .string("-"))
                    members.append(.init(key: "callsPerSecond", value: shown))
                }
                members.append(.init(key: "inFlight", value: .number(String(method.inFlight))))
                // People read "1.2 ms"; programs get whole microseconds.
                if machine {
                    members += [
                        .init(key: "p50Micros", value: .number(String(method.p50Micros))),
                        .init(key: "p99Micros", value: .number(String(method.p99Micros))),
                        .init(key: "maxMicros", value: .number(String(method.maxMicros))),
                    ]
                } else {
                    members += [
                        .init(key: "p50", value: .string(Self.micros(method.p50Micros))),
                        .init(key: "p99", value: .string(Self.micros(method.p99Micros))),
                        .init(key: "max", value: .string(Self.micros(method.maxMicros))),
                    ]
                }
                rows.append(.object(members))
                previous[method.path] = method.calls
            }
            previousTime = now
            if command.watch != nil, output.color { io.write("\u{1B}[H\u{1B}[2J") }
            io.write(output.render(.object([.init(key: "methods", value: .array(rows))])))
            guard let interval = command.watch else { return }
            try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
        }
    }

    private func ping(_ command: ShellCommand, _ output: ShellOutput) async throws {
        let count = command.count ?? (command.latency ? 100 : 4)
        var samples: [Double] = []
        let target = "\(session.options.target)"
        for sequence in 1...count {
            let start = ContinuousClock.now
            _ = try await session.services.health.checkHealth(HealthCheckRequest())
            let duration = ContinuousClock.now - start
            let millis = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
            samples.append(millis)
            if !command.latency {
                if output.compactJSON {
                    io.write("{\"seq\":\(sequence),\"ms\":\(Self.format(millis))}")
                } else {
                    io.write("reply from \(target): seq=\(sequence) time=\(Self.format(millis)) ms")
                }
                if sequence < count { try await Task.sleep(for: .milliseconds(200)) }
            }
        }
        let sorted = samples.sorted()
        func percentile(_ p: Double) -> Double {
            sorted[min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1)]
        }
        let average = samples.reduce(0, +) / Double(samples.count)
        if output.compactJSON {
            io.write(
                "{\"count\":\(count),\"minMs\":\(Self.format(sorted[0])),\"avgMs\":\(Self.format(average)),\"p50Ms\":\(Self.format(percentile(0.5))),\"p99Ms\":\(Self.format(percentile(0.99))),\"maxMs\":\(Self.format(sorted[sorted.count - 1]))}"
            )
        } else {
            io.write(
                "\(count) pings to \(target): min \(Self.format(sorted[0])) / avg \(Self.format(average)) / p50 \(Self.format(percentile(0.5))) / p99 \(Self.format(percentile(0.99))) / max \(Self.format(sorted[sorted.count - 1])) ms"
            )
        }
    }

    private func info(_ output: ShellOutput) async throws {
        let info = try await session.services.admin.getServerInfo(GetServerInfoRequest())
        if output.compactJSON || output.format == .json {
            return io.write(output.render(try await serverInfoJSON(info)))
        }
        let rows: [[String]] = [
            ["version", info.version],
            ["uptime", Self.duration(Int(info.uptimeSeconds))],
            [
                "store",
                info.store + (info.dataDirectory.isEmpty ? "" : " in \(info.dataDirectory) (sync \(info.syncPolicy))"),
            ],
            ["data size", Self.bytes(info.dataSizeBytes)],
            ["listening", info.listenAddresses.joined(separator: ", ")],
            ["tokens", info.authenticationEnabled ? "required" : "not required (open, loopback only)"],
            ["TLS", info.tlsEnabled ? "on" : "off"],
            ["connections", String(info.openConnections)],
            ["calls in flight", String(info.callsInFlight)],
            ["host", "\(info.hostname) (pid \(info.pid))"],
        ]
        io.write(output.table(header: ["", ""], rows: rows).dropFirst().joined(separator: "\n"))
    }

    private func serverInfoJSON(_ info: ServerInfo) async throws -> O2OJSONValue {
        try O2OJSONValue(parsing: info.jsonString())
    }

    private func connections(_ output: ShellOutput) async throws {
        var output = output
        _ = try? await schema(&output)
        let response = try await session.services.admin.listConnections(
            ListConnectionsRequest(page: PageRequest(pageSize: 500))
        )
        io.write(output.render(try O2OJSONValue(parsing: response.jsonString())))
    }

    private func backup(_ directory: String, _ output: ShellOutput) async throws {
        let response = try await session.services.admin.createBackup(
            CreateBackupRequest(requestID: "shell-backup-\(getpid())-\(time(nil))", directory: directory)
        )
        if output.compactJSON {
            io.write(output.render(try O2OJSONValue(parsing: response.jsonString())))
        } else {
            io.write("backup written to \(response.directory) (\(Self.bytes(response.sizeBytes)))")
        }
    }

    private func help(_ topic: String?) {
        if let topic {
            guard let verb = ShellCommand.Verb(rawValue: topic.lowercased()),
                let line = ShellCommand.summaries.first(where: { $0.0 == verb })
            else {
                return io.write("no command '\(topic)'; 'help' lists the commands")
            }
            io.write("\(line.1)\n  \(line.2)" + (ShellCommand.details[verb].map { "\n\n" + $0 } ?? ""))
            return
        }
        let width = ShellCommand.summaries.map { $0.1.count }.max() ?? 0
        var lines = ShellCommand.summaries.map {
            "  \($0.1)\(String(repeating: " ", count: width - $0.1.count + 2))\($0.2)"
        }
        lines.insert("Commands:", at: 0)
        lines.append("")
        lines.append(
            "Options anywhere on a command: --json (compact, one JSON per line), --format table|json|csv, --show-pii."
        )
        lines.append(
            "Tab completes commands, services, methods and JSON field names; Up and Ctrl-R recall history; "
                + "Ctrl-C stops a running command."
        )
        io.write(lines.joined(separator: "\n"))
    }

    // MARK: - Text

    static func summary(_ doc: String) -> String {
        let flat = doc.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters() }.joined(separator: " ")
        // The first sentence: up to ". " (a full stop before a space).
        var previous: Character = " "
        for index in flat.indices {
            if flat[index] == " ", previous == "." { return String(flat[..<index]) }
            previous = flat[index]
        }
        return flat
    }

    static func indent(_ doc: String) -> String {
        doc.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
    }

    static func kindName(_ kind: CallKind) -> String {
        switch kind {
        case .serverStreaming: "server-streaming"
        case .clientStreaming: "client-streaming"
        case .bidirectionalStreaming: "bidirectional"
        default: "unary"
        }
    }

    static func roleName(_ role: Role) -> String {
        switch role {
        case .readonly: "readonly"
        case .service: "service"
        case .admin: "admin"
        default: "open"
        }
    }

    static func idempotencyName(_ idempotency: Idempotency) -> String {
        switch idempotency {
        case .noSideEffects: "read-only, retried"
        case .idempotent: "idempotent, retried"
        default: "not retried"
        }
    }

    /// "/o2o.catalog.v1.CatalogService/GetProduct" → "CatalogService/GetProduct".
    static func shortPath(_ path: String) -> String {
        let parts = path.split(separator: "/")
        guard parts.count == 2 else { return path }
        return "\(ShellSchema.shortName(String(parts[0])))/\(parts[1])"
    }

    static func micros(_ value: UInt64) -> String {
        if value == 0 { return "-" }
        if value < 1000 { return "\(value) µs" }
        if value < 1_000_000 { return format(Double(value) / 1000) + " ms" }
        return format(Double(value) / 1_000_000) + " s"
    }

    static func format(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        var text = String(rounded)
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }

    static func duration(_ seconds: Int) -> String {
        let days = seconds / 86_400
        let hours = seconds / 3600 % 24
        let minutes = seconds / 60 % 60
        if days > 0 { return "\(days)d \(hours)h \(minutes)m" }
        if hours > 0 { return "\(hours)h \(minutes)m \(seconds % 60)s" }
        return "\(minutes)m \(seconds % 60)s"
    }

    static func bytes(_ count: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : "\(format(value)) \(units[unit])"
    }
}

extension Substring {
    func trimmingCharacters() -> String {
        var text = self
        while let first = text.first, first.isWhitespace { text = text.dropFirst() }
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        return String(text)
    }
}

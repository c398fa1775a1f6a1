import O2OMessages

/// One measured run — ours or a baseline peer's — as ordered `key=value` fields: the
/// peers print `RESULT key=value …` lines, and ours carry the same keys (plus a few of
/// our own), so every run can stand in one table and be compared field by field.
struct BenchResult: Sendable {
    var fields: [(key: String, value: String)]

    init(_ fields: [(String, String)]) {
        self.fields = fields.map { (key: $0.0, value: $0.1) }
    }

    subscript(_ key: String) -> String? {
        fields.first { $0.key == key }?.value
    }

    func number(_ key: String) -> Double? {
        self[key].flatMap(Double.init)
    }

    mutating func set(_ key: String, _ value: String) {
        if let index = fields.firstIndex(where: { $0.key == key }) {
            fields[index].value = value
        } else {
            fields.append((key: key, value: value))
        }
    }

    /// A `RESULT key=value …` line as the peers print it; nil for other lines.
    static func parse(line: Substring) -> BenchResult? {
        guard line.hasPrefix("RESULT ") else { return nil }
        var fields: [(String, String)] = []
        for pair in line.dropFirst("RESULT ".count).split(separator: " ") {
            guard let equals = pair.firstIndex(of: "=") else { continue }
            fields.append((String(pair[..<equals]), String(pair[pair.index(after: equals)...])))
        }
        return BenchResult(fields)
    }

    /// The same line this program and the peers print.
    var line: String {
        "RESULT " + fields.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }

    /// The fields as one JSON object: numbers and booleans as such, the rest as strings.
    var jsonValue: O2OJSONValue {
        .object(
            fields.map { field in
                let value: O2OJSONValue =
                    if field.value == "true" || field.value == "false" {
                        .bool(field.value == "true")
                    } else if let number = Double(field.value), number.isFinite {
                        .number(field.value)
                    } else {
                        .string(field.value)
                    }
                return O2OJSONValue.Member(key: field.key, value: value)
            }
        )
    }

    var json: String { renderJSON(jsonValue) }

    /// For people: the workload, then throughput, latency, CPU and errors.
    var summary: String {
        func value(_ key: String) -> String { self[key] ?? "-" }
        func grouped(_ key: String) -> String { number(key).map { thousands($0) } ?? "-" }
        var lines: [String] = []
        var title = "\(value("kind")) \(value("workload"))"
        if let payload = self["payload_bytes"], payload != "0" { title += " · \(payload) B" }
        if let compression = self["compression"] { title += " · zstd \(compression)" }
        title += " · \(value("conns")) × \(value("inflight_per_conn")) in flight"
        lines.append(title)
        var throughput = "  calls/s       \(grouped("calls_per_s"))"
        if self["messages_per_s"] != nil { throughput += "   messages/s \(grouped("messages_per_s"))" }
        if self["mb_per_s"] != nil { throughput += "   MB/s \(value("mb_per_s"))" }
        lines.append(throughput)
        lines.append(
            "  latency µs    p50 \(value("p50_us"))   p90 \(value("p90_us"))   p99 \(value("p99_us"))   p99.9 \(value("p999_us"))   max \(value("max_us"))"
        )
        lines.append(
            "  server CPU    \(value("server_cpu_cores")) cores, \(value("server_cpu_ms_per_1k")) ms per 1,000 calls   (client \(value("client_cpu_cores")) cores; machine \(percent(number("machine_busy_frac"))) busy)"
        )
        if let wire = self["wire_bytes_per_call"] {
            lines.append("  on the wire   \(wire) bytes per call, both ways, frames included")
        }
        let errors = value("errors")
        lines.append("  errors        " + (errors == "0" ? "none" : "\(errors) (\(value("errors_by_status")))"))
        return lines.joined(separator: "\n")
    }
}

/// Compact JSON text, written by the same writer as every other JSON of the project.
func renderJSON(_ value: O2OJSONValue) -> String {
    var writer = O2OJSONWriter()
    writer.value(value)
    return writer.string
}

/// 158234 → "158,234".
func thousands(_ value: Double) -> String {
    guard value.isFinite else { return "nan" }
    let digits = String(Int64(value.rounded()).magnitude)
    var grouped = ""
    for (index, digit) in digits.enumerated() {
        if index > 0, (digits.count - index) % 3 == 0 { grouped += "," }
        grouped.append(digit)
    }
    return (value < 0 ? "-" : "") + grouped
}

func percent(_ fraction: Double?) -> String {
    fraction.map { format($0 * 100, 0) + "%" } ?? "-"
}

/// Fixed-point formatting without Foundation.
func format(_ value: Double, _ decimals: Int) -> String {
    guard value.isFinite else { return "nan" }
    if decimals == 0 { return String(Int64(value.rounded())) }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = Int64((abs(value) * scale).rounded())
    let whole = scaled / Int64(scale)
    var fraction = String(scaled % Int64(scale))
    while fraction.count < decimals { fraction = "0" + fraction }
    return (value < 0 ? "-" : "") + "\(whole).\(fraction)"
}

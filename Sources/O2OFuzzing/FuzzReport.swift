public import O2ORPC

/// Something a fuzzed request made the server do that it must never do.
public struct FuzzFinding: Sendable, CustomStringConvertible {
    /// The method path.
    public let method: String
    /// What was wrong: the status and its message, or the check that failed.
    public let problem: String
    /// The request's bytes, to replay it.
    public let request: [UInt8]

    public var description: String {
        let hex = request.prefix(512).map {
            String($0, radix: 16).count == 1 ? "0\(String($0, radix: 16))" : String($0, radix: 16)
        }
        let more = request.count > 512 ? " … (\(request.count) bytes)" : ""
        return "\(method): \(problem)\n    request: \(hex.joined())\(more)"
    }
}

/// What a fuzz run did and found.
public struct FuzzReport: Sendable, CustomStringConvertible {
    public let seed: UInt64
    /// Requests sent (a streaming call counts once).
    public internal(set) var requests = 0
    /// Statuses answered, per method path.
    public internal(set) var statuses: [String: [RPCStatusCode: Int]] = [:]
    /// Answers outside the allowed set, bad responses, hangs.
    public internal(set) var findings: [FuzzFinding] = []
    /// The store's consistency checks that failed afterwards, with what they said.
    public internal(set) var failedChecks: [String] = []
    /// The checks that ran afterwards.
    public internal(set) var checks: [String] = []
    /// Per method path, the most frequent refusal texts (field and reason, values cut
    /// off): what keeps requests from getting further.
    public internal(set) var refusals: [String: [String: Int]] = [:]
    /// Distinct values the server answered with that later requests reused.
    public internal(set) var poolKeys = 0

    /// Methods that received requests.
    public var methodsFuzzed: Int { statuses.count }
    /// Methods that answered OK at least once: the fuzzer got past their validation.
    public var methodsAnsweredOK: Int { statuses.values.filter { ($0[.ok] ?? 0) > 0 }.count }

    /// One line per method: requests, OKs and the most frequent refusal.
    public var methodTable: String {
        statuses.keys.sorted().map { path in
            let codes = statuses[path] ?? [:]
            let total = codes.values.reduce(0, +)
            let top = refusals[path]?.max { $0.value < $1.value }.map { " — \($0.value)× \($0.key)" } ?? ""
            return "\(path): \(total) requests, \(codes[.ok] ?? 0) OK\(top)"
        }.joined(separator: "\n")
    }

    /// Adds another worker's requests and findings to these.
    mutating func merge(_ other: FuzzReport) {
        requests += other.requests
        statuses.merge(other.statuses) { $0.merging($1, uniquingKeysWith: +) }
        refusals.merge(other.refusals) { $0.merging($1, uniquingKeysWith: +) }
        findings += other.findings
        poolKeys = max(poolKeys, other.poolKeys)
    }

    mutating func refused(_ path: String, _ error: RPCError) {
        let text = "\(error.code.name) \(error.message.prefix(70))"
        var texts = refusals[path, default: [:]]
        if texts[text] != nil || texts.count < 20 { texts[text, default: 0] += 1 }
        refusals[path] = texts
    }

    public var clean: Bool { findings.isEmpty && failedChecks.isEmpty }

    public var description: String {
        var totals: [RPCStatusCode: Int] = [:]
        for codes in statuses.values { totals.merge(codes, uniquingKeysWith: +) }
        let codes = totals.sorted { $0.value > $1.value }.map { "\($0.key.name) \($0.value)" }.joined(separator: ", ")
        var lines = [
            "seed \(seed): \(requests) requests over \(methodsFuzzed) methods, \(methodsAnsweredOK) of them answered OK at least once",
            "statuses: \(codes)",
            "values reused from answers: \(poolKeys) kinds",
            "checks afterwards: \(checks.joined(separator: ", "))",
        ]
        if findings.isEmpty && failedChecks.isEmpty { lines.append("no findings") }
        for finding in findings.prefix(50) { lines.append("FINDING \(finding)") }
        if findings.count > 50 { lines.append("… \(findings.count - 50) more findings") }
        for check in failedChecks { lines.append("CHECK FAILED \(check)") }
        return lines.joined(separator: "\n")
    }
}

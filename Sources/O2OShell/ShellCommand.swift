/// One command of the shell, parsed from words: the same grammar for `o2o --server …
/// COMMAND` and for lines typed in the interactive shell.
public struct ShellCommand: Sendable, Equatable {
    public enum Verb: String, Sendable, CaseIterable {
        case ls, describe, call, dashboard, health, stats, ping, info, connections, backup, help, exit
    }

    public var verb: Verb
    /// Words after the verb that are not options.
    public var arguments: [String] = []
    /// `-H key=value`, in order.
    public var metadata: [(key: String, value: String)] = []
    public var format: OutputFormat?
    public var compactJSON = false
    public var showPersonalData = false
    /// `stats --watch SECONDS`, `dashboard --watch SECONDS`.
    public var watch: Double?
    /// `ping --count N`.
    public var count: Int?
    /// `ping --latency`.
    public var latency = false
    /// `stats --all`: methods never called too.
    public var all = false

    public static func == (lhs: ShellCommand, rhs: ShellCommand) -> Bool {
        lhs.verb == rhs.verb && lhs.arguments == rhs.arguments
            && lhs.metadata.map { "\($0.key)=\($0.value)" } == rhs.metadata.map { "\($0.key)=\($0.value)" }
            && lhs.format == rhs.format && lhs.compactJSON == rhs.compactJSON && lhs.watch == rhs.watch
            && lhs.count == rhs.count
            && lhs.latency == rhs.latency && lhs.all == rhs.all && lhs.showPersonalData == rhs.showPersonalData
    }

    /// One line per command, for `help`.
    public static let summaries: [(Verb, String, String)] = [
        (.ls, "ls [SERVICE]", "list the services, or one service's methods"),
        (.describe, "describe NAME", "a service, method, message or enum: fields, docs, an example request"),
        (
            .call, "call METHOD [JSON | @FILE | -] [-H KEY=VALUE]…",
            "call a method; JSON inline, from a file or from standard input"
        ),
        (
            .dashboard, "dashboard [--watch SECONDS]",
            "the shop today: sales vs yesterday, 14 days, top products, tickets, low stock"
        ),
        (.health, "health [SERVICE]", "whether the server and its services are serving"),
        (.stats, "stats [FILTER] [--watch SECONDS] [--all]", "calls, errors and latency per method"),
        (.ping, "ping [--count N] [--latency]", "round trips to the server"),
        (.info, "info", "version, uptime, store and data size"),
        (.connections, "connections", "open client connections"),
        (.backup, "backup DIRECTORY", "an online backup of the store (admin)"),
        (.help, "help [COMMAND]", "this list, or one command in detail"),
        (.exit, "exit", "leave the interactive shell (also Ctrl-D)"),
    ]

    /// Longer help per command.
    public static let details: [Verb: String] = [
        .ls:
            "ls                 services with their number of methods\nls CatalogService  its methods: call kind, least role, summary",
        .describe: """
        describe CatalogService            the service and its methods
        describe GetProduct                the method, its request fields and an example request
        describe o2o.catalog.v1.Product    a message's fields; enums list their values
        Names may be short when they are unambiguous.
        """,
        .call: """
        call GetProduct '{"productId":"prd_…"}'      JSON inline
        call ImportProducts @rows.jsonl              a file: one JSON request per line for client streams
        echo '{}' | o2o call ListStockLocations -    standard input
        Fields take their JSON names (productId) or .proto names (product_id); enum values take
        their full or short names (ON_SHELF). Streaming responses print as they arrive.
        -H key=value adds call metadata; --timeout on the command line sets the deadline.
        """,
        .dashboard: """
        dashboard              today's orders and sales against yesterday, the last 14 days as bars,
                               the week's top products, open tickets and SLA breaches, low stock
        dashboard --watch 10   the same, redrawn every 10 s (Ctrl-C stops)
        dashboard --json       one JSON object (money in minor units), for scripts
        Days are calendar days in Asia/Shanghai; figures lag the shop by seconds (at most a minute).
        """,
        .stats:
            "stats                     every method called so far\nstats Catalog --watch 2   refresh every 2 s with calls per second (Ctrl-C stops)",
        .ping:
            "ping                  4 round trips, each printed\nping --latency         100 round trips: min / avg / p50 / p99 / max",
        .backup: "backup /var/backups/o2o-2026-11-25   a RocksDB checkpoint; the directory must not exist (admin role)",
    ]

    /// Parses words: the verb and its arguments, with options anywhere (before the
    /// verb too: `o2o -H k=v call …`).
    public static func parse(_ words: [String]) throws(ShellError) -> ShellCommand {
        var command = ShellCommand(verb: .help)
        var positional: [String] = []
        var helpWanted = false
        var index = 0
        func value(_ option: String) throws(ShellError) -> String {
            guard index + 1 < words.count else { throw ShellError.usage("\(option) needs a value") }
            index += 1
            return words[index]
        }
        while index < words.count {
            let word = words[index]
            switch word {
            case "--json": command.compactJSON = true
            case "--show-pii": command.showPersonalData = true
            case "--latency": command.latency = true
            case "--all": command.all = true
            case "--help", "-h": helpWanted = true
            case "--format", "-o":
                let name = try value(word)
                guard let format = OutputFormat(rawValue: name.lowercased()) else {
                    throw ShellError.usage("--format: '\(name)' is not table, json or csv")
                }
                command.format = format
            case "-H", "--header":
                let pair = try value(word)
                guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                    throw ShellError.usage("-H: '\(pair)' is not KEY=VALUE")
                }
                command.metadata.append(
                    (String(pair[..<equals]).lowercased(), String(pair[pair.index(after: equals)...]))
                )
            case "--watch":
                let text = try value(word)
                guard let seconds = Double(text), seconds >= 0.2, seconds <= 3600 else {
                    throw ShellError.usage("--watch: '\(text)' is not a number of seconds from 0.2 to 3600")
                }
                command.watch = seconds
            case "--count", "-c":
                let text = try value(word)
                guard let count = Int(text), (1...100_000).contains(count) else {
                    throw ShellError.usage("--count: '\(text)' is not a number from 1 to 100000")
                }
                command.count = count
            default:
                // "-" alone is standard input; other dashed words are options we lack.
                if word.hasPrefix("-"), word != "-" {
                    throw ShellError.usage(
                        "unknown option '\(word)'\(positional.first.map { "; 'help \($0)' shows its use" } ?? "")"
                    )
                }
                positional.append(word)
            }
            index += 1
        }
        if helpWanted, positional.isEmpty { return ShellCommand(verb: .help) }
        guard let first = positional.first else { throw ShellError.usage("no command; 'help' lists the commands") }
        switch first.lowercased() {
        case "quit": command.verb = .exit
        case "?": command.verb = .help
        case "list": command.verb = .ls
        default:
            guard let known = Verb(rawValue: first.lowercased()) else {
                throw ShellError.usage("unknown command '\(first)'; 'help' lists the commands")
            }
            command.verb = known
        }
        command.arguments = Array(positional.dropFirst())
        if helpWanted { return ShellCommand(verb: .help, arguments: [command.verb.rawValue]) }
        let verb = command.verb
        let most: Int
        switch verb {
        case .ls, .health, .stats, .help, .describe, .backup: most = 1
        case .call: most = 2
        default: most = 0
        }
        if command.arguments.count > most {
            throw ShellError.usage(
                "\(verb.rawValue): unexpected '\(command.arguments[most])'; 'help \(verb.rawValue)' shows its use"
            )
        }
        if verb == .describe, command.arguments.isEmpty {
            throw ShellError.usage("describe: what? (a service, method, message or enum)")
        }
        if verb == .call, command.arguments.isEmpty {
            throw ShellError.usage("call: which method? 'ls SERVICE' lists them")
        }
        if verb == .backup, command.arguments.isEmpty { throw ShellError.usage("backup: which directory?") }
        return command
    }

    /// Splits a typed line into words: spaces separate, single and double quotes group,
    /// a backslash escapes the next character outside single quotes. JSON may also be
    /// typed bare: from an opening brace or bracket to its match, everything is one
    /// word, quotes included. Returns nil while a quote or a brace is still open (the
    /// line continues).
    public static func words(_ line: String) -> [String]? {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        // Bare JSON: nesting depth, and whether inside one of its strings.
        var depth = 0
        var jsonString = false
        for character in line {
            if escaped {
                current.append(character)
                escaped = false
                continue
            }
            if depth > 0 {
                current.append(character)
                if jsonString {
                    if character == "\\" { escaped = true } else if character == "\"" { jsonString = false }
                } else if character == "\"" {
                    jsonString = true
                } else if character == "{" || character == "[" {
                    depth += 1
                } else if character == "}" || character == "]" {
                    depth -= 1
                }
                continue
            }
            if let open = quote {
                if character == open {
                    quote = nil
                } else if character == "\\" && open == "\"" {
                    escaped = true
                } else {
                    current.append(character)
                }
                continue
            }
            switch character {
            case " ", "\t", "\n":
                if inWord {
                    words.append(current)
                    current = ""
                    inWord = false
                }
            case "'", "\"":
                quote = character
                inWord = true
            case "\\":
                escaped = true
                inWord = true
            case "{" where !inWord, "[" where !inWord:
                depth = 1
                current.append(character)
                inWord = true
            default:
                current.append(character)
                inWord = true
            }
        }
        if quote != nil || escaped || depth > 0 || jsonString { return nil }
        if inWord { words.append(current) }
        return words
    }
}

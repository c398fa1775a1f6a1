import Foundation
import O2OTestSupport
import Testing

/// The interactive shell driven through a pseudo-terminal, keystroke by keystroke, as
/// a person at a terminal drives it. `script` (util-linux, in every Debian) gives the
/// shell a terminal of its own that is also its controlling terminal, so Ctrl-C
/// reaches it as SIGINT while a call runs, exactly as over ssh.
@Suite("o2o interactive shell")
struct ShellTerminalTests {
    static let script = "/usr/bin/script"

    /// The shell in a pseudo-terminal, with its own home directory (for the history).
    static func terminal(_ address: String, home: String) throws -> ChildProcess {
        let command = "exec '\(ChildProcess.executable("o2o"))' --server \(address)"
        return try ChildProcess(
            script,
            ["-qfec", command, "/dev/null"],
            environment: ["HOME": home, "TERM": "xterm", "NO_COLOR": "1"],
            input: nil
        )
    }

    @Test(
        "completion, multi-line JSON, history across runs, Ctrl-C cancelling a call, Ctrl-D leaving",
        .enabled(if: FileManager.default.isExecutableFile(atPath: script))
    )
    func session() async throws {
        try await withServer { address in
            let home = temporaryPath("home")
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: home) }
            let prompt = "o2o \(address)> "
            let shell = try Self.terminal(address, home: home)
            var seen = try #require(try await shell.waitForOutput(prompt), "no prompt: \(shell.standardOutput)")

            // Tab completes a service name; the command runs on Enter.
            try shell.send("ls Catal\t")
            seen = try #require(
                try await shell.waitForOutput("ls CatalogService", after: seen),
                "no completion: \(shell.standardOutput)"
            )
            try shell.send("\r")
            seen = try #require(try await shell.waitForOutput("GetProduct", after: seen))
            seen = try #require(try await shell.waitForOutput(prompt, after: seen))

            // Two Tabs list the candidates when they share no longer prefix.
            try shell.send("describe GetSk\t\t")
            seen = try #require(
                try await shell.waitForOutput("GetSkuByBarcode", after: seen),
                "no candidates: \(shell.standardOutput)"
            )
            try shell.send("\u{03}")
            seen = try #require(try await shell.waitForOutput(prompt, after: seen))

            // A method name (GetProduct and GetProductReview share the completed prefix),
            // then a JSON field name, then the JSON finished on a second line.
            try shell.send("call GetProd\t")
            seen = try #require(try await shell.waitForOutput("call GetProduct", after: seen))
            try shell.send(" {\"pro\t")
            seen = try #require(
                try await shell.waitForOutput("{\"productId\":", after: seen),
                "no field completion: \(shell.standardOutput)"
            )
            try shell.send("\r")
            seen = try #require(
                try await shell.waitForOutput("... ", after: seen),
                "no continuation prompt: \(shell.standardOutput)"
            )
            try shell.send("\"prd_missing\"}\r")
            seen = try #require(
                try await shell.waitForOutput("NOT_FOUND: product_id", after: seen),
                "\(shell.standardOutput)"
            )
            seen = try #require(try await shell.waitForOutput(prompt, after: seen))

            // Up recalls the call as one line; Enter runs it again.
            try shell.send("\u{1B}[A")
            seen = try #require(
                try await shell.waitForOutput(#"call GetProduct {"productId": "prd_missing"}"#, after: seen),
                "\(shell.standardOutput)"
            )
            try shell.send("\r")
            seen = try #require(try await shell.waitForOutput("NOT_FOUND: product_id", after: seen))
            seen = try #require(try await shell.waitForOutput(prompt, after: seen))

            // The dashboard draws the shop (an empty one here) and redraws it until Ctrl-C.
            try shell.send("dashboard --watch 0.5\r")
            seen = try #require(
                try await shell.waitForOutput("O2O shop", after: seen),
                "no dashboard: \(shell.standardOutput)"
            )
            seen = try #require(try await shell.waitForOutput("low stock", after: seen))
            seen = try #require(
                try await shell.waitForOutput("O2O shop", after: seen),
                "the dashboard did not redraw: \(shell.standardOutput)"
            )
            try shell.send("\u{03}")
            seen = try #require(try await shell.waitForOutput(prompt, after: seen))

            // Ctrl-C stops a call that would run forever and keeps the shell.
            try shell.send("call WatchStockAlerts {}\r")
            // The watch's first message, a heartbeat, shows that the call is running.
            seen = try #require(
                try await shell.waitForOutput("cursor", after: seen),
                "the watch did not start: \(shell.standardOutput)"
            )
            try shell.send("\u{03}")
            seen = try #require(
                try await shell.waitForOutput("cancelled", after: seen),
                "Ctrl-C did not cancel: \(shell.standardOutput)"
            )
            seen = try #require(try await shell.waitForOutput(prompt, after: seen))
            try shell.send("help call\r")
            seen = try #require(try await shell.waitForOutput("call METHOD", after: seen))
            seen = try #require(try await shell.waitForOutput(prompt, after: seen))

            // Ctrl-D leaves, with the status of the last command.
            try shell.send("\u{04}")
            #expect(try await shell.exitStatus() == 0)
            let history = try String(contentsOfFile: home + "/.o2o_history", encoding: .utf8)
            #expect(
                history.split(separator: "\n").suffix(4) == [
                    #"call GetProduct {"productId": "prd_missing"}"#, "dashboard --watch 0.5",
                    "call WatchStockAlerts {}",
                    "help call",
                ]
            )

            // The next run recalls the last command.
            let again = try Self.terminal(address, home: home)
            var next = try #require(try await again.waitForOutput(prompt))
            try again.send("\u{1B}[A\r")
            next = try #require(
                try await again.waitForOutput("call METHOD", after: next),
                "history not restored: \(again.standardOutput)"
            )
            // Ctrl-R finds an older command by a piece of it; Enter runs it.
            try again.send("\u{12}Catal")
            next = try #require(
                try await again.waitForOutput("(reverse-i-search)'Catal': ls CatalogService", after: next),
                "no history search: \(again.standardOutput)"
            )
            try again.send("\r")
            next = try #require(try await again.waitForOutput("GetProduct", after: next))
            next = try #require(try await again.waitForOutput(prompt, after: next))
            // A search that finds nothing says so; Ctrl-G leaves the line as it was.
            try again.send("\u{12}zzz")
            next = try #require(try await again.waitForOutput("(failed reverse-i-search)'zzz'", after: next))
            try again.send("\u{07}exit\r")
            #expect(try await again.exitStatus() == 0)
        }
    }
}

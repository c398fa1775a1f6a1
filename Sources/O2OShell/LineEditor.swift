#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A small line editor for the interactive shell: works over ssh in any VT100-like
/// terminal with no library. Emacs keys (Ctrl-A/E/B/F/K/U/W/L), arrows, Home/End,
/// Delete, history (Up/Down, Ctrl-R to search it, saved between runs), Tab completion,
/// Ctrl-C to drop the line, Ctrl-D to leave. When standard input is not a terminal it
/// reads plain lines.
public final class LineEditor {
    /// Candidates for the word before the cursor: what replaces it, and what to show.
    public typealias Completer = (_ line: String) -> (replaceFrom: Int, candidates: [String])

    public enum Input: Equatable {
        case line(String)
        /// Ctrl-C: the line was dropped.
        case interrupted
        /// Ctrl-D on an empty line, or the end of input.
        case end
    }

    private let historyPath: String?
    private let maximumHistory = 1000
    public private(set) var history: [String] = []
    private let completer: Completer?
    private let interactive: Bool
    private var original = termios()
    private var pending: [UInt8] = []

    public init(historyPath: String?, completer: Completer?) {
        self.historyPath = historyPath
        self.completer = completer
        interactive = isatty(0) == 1 && isatty(1) == 1
        if let historyPath, let file = fopen(historyPath, "r") {
            defer { fclose(file) }
            var line: UnsafeMutablePointer<CChar>?
            var capacity = 0
            while getline(&line, &capacity, file) > 0, let line {
                let text = String(cString: line).trimmingTrailingNewline()
                if !text.isEmpty { history.append(text) }
            }
            free(line)
            history = Array(history.suffix(maximumHistory))
        }
    }

    /// Remembers a line (not repeated, not blank) and saves the history. A command
    /// typed over several lines is kept as one line, which recalls and edits well.
    public func remember(_ line: String) {
        var trimmed = line.trimmingTrailingNewline().replacingNewlines()
        while trimmed.last == " " { trimmed.removeLast() }
        guard !trimmed.allSatisfy(\.isWhitespace), history.last != trimmed else { return }
        history.append(trimmed)
        if history.count > maximumHistory { history.removeFirst(history.count - maximumHistory) }
        guard let historyPath, let file = fopen(historyPath, "w") else { return }
        defer { fclose(file) }
        chmod(historyPath, 0o600)
        for entry in history { fputs(entry + "\n", file) }
    }

    /// Reads one line after showing `prompt`.
    public func read(prompt: String) -> Input {
        guard interactive else { return readPlain(prompt: prompt) }
        enableRawMode()
        defer { disableRawMode() }
        return edit(prompt: prompt)
    }

    // MARK: - Plain input

    private func readPlain(prompt: String) -> Input {
        var bytes: [UInt8] = []
        while true {
            guard let byte = readByte() else {
                return bytes.isEmpty ? .end : .line(String(decoding: bytes, as: UTF8.self))
            }
            if byte == 0x0A { return .line(String(decoding: bytes, as: UTF8.self)) }
            bytes.append(byte)
        }
    }

    private func readByte() -> UInt8? {
        if !pending.isEmpty { return pending.removeFirst() }
        var byte: UInt8 = 0
        while true {
            let count = Glibc.read(0, &byte, 1)
            if count == 1 { return byte }
            if count < 0, errno == EINTR { continue }
            return nil
        }
    }

    // MARK: - Terminal

    private func enableRawMode() {
        tcgetattr(0, &original)
        var raw = original
        raw.c_iflag &= ~tcflag_t(BRKINT | ICRNL | INPCK | ISTRIP | IXON)
        raw.c_lflag &= ~tcflag_t(ECHO | ICANON | IEXTEN | ISIG)
        raw.c_cflag |= tcflag_t(CS8)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        tcsetattr(0, TCSADRAIN, &raw)
    }

    private func disableRawMode() {
        tcsetattr(0, TCSADRAIN, &original)
    }

    private func output(_ text: String) {
        writeAll(1, text)
    }

    private static func columns() -> Int {
        var size = winsize()
        return ioctl(1, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : 80
    }

    // MARK: - Editing

    private func edit(prompt: String) -> Input {
        var buffer: [Character] = []
        var cursor = 0
        var historyIndex = history.count
        var saved: [Character] = []
        var lastWasTab = false
        let promptWidth = ShellOutput.displayWidth(prompt.strippingEscapes())

        func redraw() {
            let text = String(buffer)
            let before = String(buffer[..<cursor])
            var line = "\r" + prompt + text + "\u{1B}[K"
            let back = ShellOutput.displayWidth(text) - ShellOutput.displayWidth(before)
            if back > 0 { line += "\u{1B}[\(back)D" }
            output(line)
            _ = promptWidth
        }
        output(prompt)
        while true {
            guard let byte = readByte() else { return buffer.isEmpty ? .end : .line(String(buffer)) }
            let tab = byte == 0x09
            defer { lastWasTab = tab }
            switch byte {
            case 0x0D, 0x0A:
                output("\r\n")
                return .line(String(buffer))
            case 0x03:
                output("^C\r\n")
                return .interrupted
            case 0x04:
                if buffer.isEmpty {
                    output("\r\n")
                    return .end
                }
                if cursor < buffer.count { buffer.remove(at: cursor) }
            case 0x7F, 0x08:
                if cursor > 0 {
                    buffer.remove(at: cursor - 1)
                    cursor -= 1
                }
            case 0x01: cursor = 0
            case 0x05: cursor = buffer.count
            case 0x02: cursor = max(0, cursor - 1)
            case 0x06: cursor = min(buffer.count, cursor + 1)
            case 0x0B: buffer.removeSubrange(cursor...)
            case 0x15:
                buffer.removeSubrange(..<cursor)
                cursor = 0
            case 0x17:
                var start = cursor
                while start > 0, buffer[start - 1] == " " { start -= 1 }
                while start > 0, buffer[start - 1] != " " { start -= 1 }
                buffer.removeSubrange(start..<cursor)
                cursor = start
            case 0x0C:
                output("\u{1B}[H\u{1B}[2J")
            case 0x10, 0x0E:
                moveInHistory(up: byte == 0x10, &buffer, &cursor, &historyIndex, &saved)
            case 0x12:
                switch reverseSearch(prompt: prompt) {
                case .run(let line):
                    output("\r\u{1B}[K" + prompt + line + "\r\n")
                    return .line(line)
                case .edit(let found):
                    buffer = found
                    cursor = buffer.count
                case .cancel:
                    break
                }
            case 0x09:
                complete(&buffer, &cursor, listing: lastWasTab, prompt: prompt)
            case 0x1B:
                guard let next = readByte() else { break }
                if next == 0x5B || next == 0x4F {
                    guard let code = readByte() else { break }
                    switch code {
                    case 0x41: moveInHistory(up: true, &buffer, &cursor, &historyIndex, &saved)
                    case 0x42: moveInHistory(up: false, &buffer, &cursor, &historyIndex, &saved)
                    case 0x43: cursor = min(buffer.count, cursor + 1)
                    case 0x44: cursor = max(0, cursor - 1)
                    case 0x48: cursor = 0
                    case 0x46: cursor = buffer.count
                    case 0x31...0x36:
                        // ESC [ n ~ : Home (1, 7), Delete (3), End (4, 8).
                        var digits = [code]
                        while let more = readByte(), more != 0x7E { digits.append(more) }
                        switch digits {
                        case [0x31], [0x37]: cursor = 0
                        case [0x34], [0x38]: cursor = buffer.count
                        case [0x33]: if cursor < buffer.count { buffer.remove(at: cursor) }
                        default: break
                        }
                    default: break
                    }
                } else if next == 0x62 || next == 0x66 {
                    // Alt-B / Alt-F: a word back or forward.
                    if next == 0x62 {
                        while cursor > 0, buffer[cursor - 1] == " " { cursor -= 1 }
                        while cursor > 0, buffer[cursor - 1] != " " { cursor -= 1 }
                    } else {
                        while cursor < buffer.count, buffer[cursor] == " " { cursor += 1 }
                        while cursor < buffer.count, buffer[cursor] != " " { cursor += 1 }
                    }
                }
            default:
                guard byte >= 0x20 else { break }
                // A whole UTF-8 sequence makes one character.
                var bytes = [byte]
                let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
                while bytes.count < length, let more = readByte() { bytes.append(more) }
                for character in String(decoding: bytes, as: UTF8.self) {
                    buffer.insert(character, at: cursor)
                    cursor += 1
                }
            }
            redraw()
        }
    }

    private enum SearchOutcome {
        /// Enter: run the line found.
        case run(String)
        /// Another key: edit the line found.
        case edit([Character])
        /// Ctrl-G or Ctrl-C: back to the line as it was.
        case cancel
    }

    /// Ctrl-R: incremental search back through the history, as in bash — typing
    /// narrows, Ctrl-R again finds the next older match, Backspace widens.
    private func reverseSearch(prompt: String) -> SearchOutcome {
        var query: [Character] = []
        var match: Int? = nil
        func find(from start: Int) -> Int? {
            guard !query.isEmpty else { return nil }
            let text = String(query)
            var index = min(start, history.count - 1)
            while index >= 0 {
                if history[index].contains(text) { return index }
                index -= 1
            }
            return nil
        }
        func show() {
            let failed = !query.isEmpty && match == nil
            let found = match.map { history[$0] } ?? ""
            output("\r\u{1B}[K(\(failed ? "failed " : "")reverse-i-search)'\(String(query))': \(found)")
        }
        show()
        while let byte = readByte() {
            switch byte {
            case 0x0D, 0x0A:
                return match.map { .run(history[$0]) } ?? .cancel
            case 0x07, 0x03:
                return .cancel
            case 0x12:
                if let current = match, let older = find(from: current - 1) { match = older }
            case 0x7F, 0x08:
                if !query.isEmpty { query.removeLast() }
                match = find(from: history.count - 1)
            default:
                guard byte >= 0x20 else {
                    // Any other key (an arrow, Ctrl-A…) keeps the line found for editing.
                    if byte == 0x1B { _ = readByte().flatMap { $0 == 0x5B || $0 == 0x4F ? readByte() : nil } }
                    return match.map { .edit(Array(history[$0])) } ?? .cancel
                }
                var bytes = [byte]
                let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
                while bytes.count < length, let more = readByte() { bytes.append(more) }
                query += Array(String(decoding: bytes, as: UTF8.self))
                match = find(from: match ?? history.count - 1)
            }
            show()
        }
        return .cancel
    }

    private func moveInHistory(
        up: Bool,
        _ buffer: inout [Character],
        _ cursor: inout Int,
        _ index: inout Int,
        _ saved: inout [Character]
    ) {
        if up {
            guard index > 0 else { return }
            if index == history.count { saved = buffer }
            index -= 1
            buffer = Array(history[index])
        } else {
            guard index < history.count else { return }
            index += 1
            buffer = index == history.count ? saved : Array(history[index])
        }
        cursor = buffer.count
    }

    private func complete(_ buffer: inout [Character], _ cursor: inout Int, listing: Bool, prompt: String) {
        guard let completer else { return }
        let before = String(buffer[..<cursor])
        let (from, candidates) = completer(before)
        guard !candidates.isEmpty else { return output("\u{07}") }
        let typed = Array(before)[min(from, before.count)...]
        if candidates.count == 1 {
            let replacement = Array(candidates[0])
            buffer.replaceSubrange(from..<cursor, with: replacement)
            cursor = from + replacement.count
            if replacement.last.map({ $0 != " " && $0 != "/" && $0 != "\"" && $0 != ":" }) ?? false,
                cursor == buffer.count
            {
                buffer.append(" ")
                cursor += 1
            }
            return
        }
        let common = candidates.dropFirst().reduce(Array(candidates[0])) { prefix, candidate in
            Array(zip(prefix, candidate).prefix { $0 == $1 }.map(\.0))
        }
        if common.count > typed.count {
            buffer.replaceSubrange(from..<cursor, with: common)
            cursor = from + common.count
        } else if listing {
            // Second Tab: show the choices in columns, then the line again.
            let width = (candidates.map { ShellOutput.displayWidth($0) }.max() ?? 0) + 2
            let perLine = max(1, Self.columns() / width)
            var text = "\r\n"
            for (index, candidate) in candidates.prefix(200).enumerated() {
                text += candidate + String(repeating: " ", count: width - ShellOutput.displayWidth(candidate))
                if index % perLine == perLine - 1 { text += "\r\n" }
            }
            if candidates.count % perLine != 0 { text += "\r\n" }
            if candidates.count > 200 { text += "(\(candidates.count - 200) more)\r\n" }
            output(text + prompt)
        } else {
            output("\u{07}")
        }
    }
}

extension String {
    func trimmingTrailingNewline() -> String {
        var text = self
        while text.last == "\n" || text.last == "\r" { text.removeLast() }
        return text
    }

    /// History keeps one line per entry: a multi-line entry is joined with spaces.
    func replacingNewlines() -> String {
        split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    /// Without terminal escape sequences, for measuring a coloured prompt.
    func strippingEscapes() -> String {
        var result = ""
        var inEscape = false
        for character in self {
            if character == "\u{1B}" {
                inEscape = true
            } else if inEscape {
                if character.isLetter { inEscape = false }
            } else {
                result.append(character)
            }
        }
        return result
    }
}

/// Accumulates generated source with indentation.
struct CodeWriter {
    private(set) var text = ""
    private var indentation = ""

    /// Appends one line at the current indentation (an empty line stays empty).
    mutating func line(_ line: String = "") {
        if line.isEmpty {
            text += "\n"
        } else {
            text += indentation + line + "\n"
        }
    }

    /// Appends `opening {`, the body one level deeper, then `}` (plus `closingSuffix`).
    mutating func block(_ opening: String, closingSuffix: String = "", _ body: (inout CodeWriter) -> Void) {
        line(opening + " {")
        indent(body)
        line("}" + closingSuffix)
    }

    /// Like `block`, for `switch`: case labels stay at the switch's indentation.
    mutating func switchBlock(_ opening: String, _ body: (inout CodeWriter) -> Void) {
        line(opening + " {")
        body(&self)
        line("}")
    }

    mutating func indent(_ body: (inout CodeWriter) -> Void) {
        indentation += "    "
        body(&self)
        indentation.removeLast(4)
    }

    /// A `///` doc comment, one line per line of `doc`; nothing when empty.
    mutating func doc(_ doc: String) {
        guard !doc.isEmpty else { return }
        for docLine in doc.split(separator: "\n", omittingEmptySubsequences: false) {
            line(docLine.isEmpty ? "///" : "/// " + docLine)
        }
    }
}

/// A Swift string literal for arbitrary text.
func swiftStringLiteral(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\\": result += "\\\\"
        case "\"": result += "\\\""
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        default:
            if scalar.value < 0x20 {
                result += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
    }
    return result + "\""
}

import O2OMessages
import O2OTestProtos
import O2OTestSupport
import Testing

/// Bad bytes and bad JSON give an error that says what is wrong, never a crash.
@Suite("Malformed input")
struct MalformedInputTests {
    private func decodingError<M: O2OMessage>(_ type: M.Type, _ bytes: [UInt8]) -> O2ODecodingError? {
        do {
            _ = try M(serializedBytes: bytes)
            return nil
        } catch let error as O2ODecodingError {
            return error
        } catch {
            Issue.record("unexpected error type \(error)")
            return nil
        }
    }

    private func jsonError<M: O2OMessage>(_ type: M.Type, _ json: String) -> String? {
        do {
            _ = try M(jsonString: json)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test("truncated bytes")
    func truncated() throws {
        let bytes = Money(minorUnits: 1234, currency: "CNY").serializedBytes()
        #expect(bytes == [0x08, 0xd2, 0x09, 0x12, 0x03, 0x43, 0x4e, 0x59])
        // Three bytes end exactly after the first field: a valid message.
        #expect(try Money(serializedBytes: Array(bytes.prefix(3))) == Money(minorUnits: 1234))
        for length in [1, 2, 4, 5, 6, 7] {
            let error = try #require(decodingError(Money.self, Array(bytes.prefix(length))), "prefix \(length)")
            #expect(error.messageType == "o2o.common.v1.Money")
            #expect(error.reason.contains("truncated") || error.reason.contains("overruns"), "\(error)")
        }
    }

    @Test("wrong wire type for a known field")
    func wrongWireType() throws {
        // Field 1 (minor_units, int64) sent as a length-delimited field.
        let error = try #require(decodingError(Money.self, [0x0a, 0x01, 0x41]))
        #expect(
            error.description
                == "o2o.common.v1.Money.minor_units: wire type 2 does not match the field's type (expected 0)"
        )
    }

    @Test("a length that overruns the buffer")
    func overrun() throws {
        let error = try #require(decodingError(Money.self, [0x12, 0x64, 0x43, 0x4e, 0x59]))
        #expect(error.description == "o2o.common.v1.Money.currency: length 100 overruns the buffer (3 bytes left)")
    }

    @Test("a 10 MB string declared in a 100-byte buffer")
    func hugeDeclaredLength() throws {
        // Tag for field 2, varint 10,000,000, then 96 bytes.
        var bytes: [UInt8] = [0x12, 0x80, 0xad, 0xe2, 0x04]
        bytes += [UInt8](repeating: 0x41, count: 95)
        #expect(bytes.count == 100)
        let error = try #require(decodingError(Money.self, bytes))
        #expect(error.reason == "length 10000000 overruns the buffer (95 bytes left)")
        #expect(error.fieldPath == "currency")
    }

    @Test("U+0000 inside a string is refused, naming the field, in bytes and in JSON")
    func nulInString() throws {
        var leaf = ConformanceLeaf()
        leaf.text = "fresh-id"
        var message = ConformanceEverything()
        message.rMessage = [leaf, leaf]
        var bytes = message.serializedBytes()
        // Turn the second leaf's "-" into U+0000: protobuf-c would cut the text there.
        bytes[bytes.lastIndex(of: UInt8(ascii: "-"))!] = 0
        let error = try #require(decodingError(ConformanceEverything.self, bytes))
        #expect(
            error.description
                == "o2o.testing.v1.Everything.r_message[1].text: string contains U+0000, which this protocol cannot carry"
        )
        // A zero byte elsewhere (an explicit 0) is fine.
        let zero: [UInt8] = [0x08, 0x00, 0x12, 0x03] + Array("CNY".utf8)
        #expect(decodingError(Money.self, zero) == nil)
        #expect(try Money(serializedBytes: zero) == Money(minorUnits: 0, currency: "CNY"))
        #expect(throws: O2OJSONError.self) {
            _ = try ConformanceLeaf(jsonString: #"{"text": "fresh\u0000id"}"#)
        }
    }

    @Test("invalid UTF-8 in a string field, nested in a list")
    func invalidUTF8() throws {
        var leaf = ConformanceLeaf()
        leaf.text = "ok"
        var message = ConformanceEverything()
        message.rMessage = [leaf, leaf]
        var bytes = message.serializedBytes()
        // Corrupt the second leaf's "ok" into an invalid sequence.
        let index = bytes.lastIndex(of: UInt8(ascii: "o"))!
        bytes[index] = 0xc3
        bytes[index + 1] = 0x28
        let error = try #require(decodingError(ConformanceEverything.self, bytes))
        #expect(error.description == "o2o.testing.v1.Everything.r_message[1].text: string is not valid UTF-8")
    }

    @Test("invalid field number and wire type")
    func invalidTags() throws {
        #expect(decodingError(Money.self, [0x00, 0x01])?.reason.contains("invalid field number 0") == true)
        #expect(decodingError(Money.self, [0x0f, 0x01])?.reason.contains("invalid wire type 7") == true)
        #expect(
            decodingError(Money.self, [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]) != nil
        )
    }

    @Test("unknown fields in bytes are skipped (forward compatibility)")
    func unknownFieldsSkipped() throws {
        // Field 15 (unknown to Money) as a varint, then the currency.
        let bytes: [UInt8] = [0x78, 0x05, 0x12, 0x03, 0x43, 0x4e, 0x59]
        #expect(try Money(serializedBytes: bytes) == Money(currency: "CNY"))
    }

    @Test("deeply nested garbage and random bytes never crash")
    func fuzzLike() throws {
        var random = SeededRandom(seed: 7)
        let valid = try randomMessage("o2o.testing.v1.Everything", seed: 3, variant: 1).serializedBytes()
        for _ in 0..<2000 {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...8, using: &random) where !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
            if Bool.random(using: &random) {
                bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random)))
            }
            _ = try? ConformanceEverything(serializedBytes: bytes)
        }
    }

    @Test("bad JSON names the position")
    func badJSON() {
        #expect(
            jsonError(Money.self, #"{"currency": }"#) == "invalid JSON at line 1, column 14: unexpected character '}'"
        )
        #expect(
            jsonError(Money.self, "{\"currency\":\"CNY\"\n,}")
                == "invalid JSON at line 2, column 2: expected a string key"
        )
        #expect(
            jsonError(Money.self, #"{"currency":"CNY"} x"#)?.contains("unexpected text after the JSON value") == true
        )
        #expect(
            jsonError(Money.self, #"{"currency":"a","currency":"b"}"#)?.contains("duplicate key \"currency\"") == true
        )
        #expect(jsonError(Money.self, "[") == "invalid JSON at line 1, column 2: unexpected end of input")
        #expect(jsonError(Money.self, String(repeating: "[", count: 500))?.contains("nested deeper than 100") == true)
    }

    @Test("an unknown JSON field is named")
    func unknownJSONField() {
        #expect(
            jsonError(Money.self, #"{"currency":"CNY","colour":1}"#)
                == #"colour: unknown field "colour" in o2o.common.v1.Money"#
        )
        #expect(
            jsonError(ConformanceEverything.self, #"{"rMessage":[{},{"txt":"x"}]}"#)
                == #"rMessage[1].txt: unknown field "txt" in o2o.testing.v1.Leaf"#
        )
    }

    @Test("enums: unknown names and out-of-range numbers are errors")
    func badEnums() {
        #expect(
            jsonError(ConformanceLeaf.self, #"{"colour":"COLOUR_BLUE"}"#)
                == #"colour: "COLOUR_BLUE" is not a value of o2o.testing.v1.Colour (COLOUR_UNSPECIFIED, COLOUR_RED, COLOUR_GREEN, COLOUR_INFRARED)"#
        )
        #expect(
            jsonError(ConformanceLeaf.self, #"{"colour":4294967296}"#) == "colour: 4294967296 is out of range for int32"
        )
        #expect(
            jsonError(ConformanceLeaf.self, #"{"colour":true}"#)
                == "colour: expected an enum name or number, got a boolean"
        )
    }

    @Test("type mismatches and ranges in JSON")
    func jsonTypes() {
        #expect(jsonError(Money.self, #"{"minorUnits":"12x"}"#) == #"minorUnits: "12x" is not an integer"#)
        #expect(jsonError(Money.self, #"{"minorUnits":1.5}"#) == "minorUnits: 1.5 is not a whole number")
        #expect(
            jsonError(Money.self, #"{"minorUnits":"9223372036854775808"}"#)
                == "minorUnits: 9223372036854775808 is out of range for int64"
        )
        #expect(jsonError(Money.self, #"{"currency":5}"#) == "currency: expected a string, got a number")
        #expect(jsonError(Money.self, #"[]"#) == "expected an object, got an array")
        #expect(jsonError(ConformanceEverything.self, #"{"fBytes":"***"}"#) == #"fBytes: "***" is not valid base64"#)
        #expect(jsonError(ConformanceEverything.self, #"{"fFloat":1e39}"#) == "fFloat: 1e+39 is out of range for float")
        #expect(
            jsonError(ConformanceEverything.self, #"{"choiceString":"a","choiceInt64":"1"}"#)
                == "more than one field of oneof 'choice' is set"
        )
        #expect(
            jsonError(ConformanceEverything.self, #"{"rInt32":[1,null]}"#) == "rInt32[1]: null is not allowed in a list"
        )
    }

    @Test("JSON accepts what proto3 allows")
    func jsonLeniency() throws {
        let money = try Money(jsonString: #"{"minor_units":12, "currency":"CNY"}"#)
        #expect(money == Money(minorUnits: 12, currency: "CNY"))
        #expect(try Money(jsonString: #"{"minorUnits":"-7"}"#).minorUnits == -7)
        #expect(try Money(jsonString: #"{"minorUnits":1e3}"#).minorUnits == 1000)
        #expect(try Money(jsonString: #"{"minorUnits":null,"currency":null}"#) == Money())
        #expect(try ConformanceLeaf(jsonString: #"{"colour":5}"#).colour == .green)
        #expect(try ConformanceEverything(jsonString: #"{"fBytes":"-_8"}"#).fBytes == [0xfb, 0xff])
        #expect(try ConformanceEverything(jsonString: #"{"fDouble":"NaN"}"#).fDouble.isNaN)
        #expect(try ConformanceEverything(jsonString: #"{"mBoolInt32":{"true":1}}"#).mBoolInt32 == [true: 1])
    }
}

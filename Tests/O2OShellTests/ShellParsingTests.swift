import O2OMessages
import Testing

@testable import O2OShell

/// The grammar shared by the command line and the interactive shell, and the tables.
@Suite("o2o command grammar and tables")
struct ShellParsingTests {
    @Test("words: quotes, escapes, bare JSON as one word, and open input asking for more")
    func words() {
        #expect(
            ShellCommand.words(#"call GetProduct '{"productId": "a b"}'"#) == [
                "call", "GetProduct", #"{"productId": "a b"}"#,
            ]
        )
        #expect(
            ShellCommand.words(#"call GetProduct {"productId": "a b", "x": [1, {"y": "}"}]}"#) == [
                "call", "GetProduct", #"{"productId": "a b", "x": [1, {"y": "}"}]}"#,
            ]
        )
        #expect(
            ShellCommand.words(#"call X "a \"quoted\" word" back\ slash"#) == [
                "call", "X", #"a "quoted" word"#, "back slash",
            ]
        )
        #expect(ShellCommand.words(#"call X {"a": "\"}"}"#) == ["call", "X", #"{"a": "\"}"}"#])
        #expect(ShellCommand.words("  ls   ") == ["ls"])
        #expect(ShellCommand.words(#"call X {"a":"#) == nil)
        #expect(ShellCommand.words("call X 'open") == nil)
        #expect(ShellCommand.words("call X {\"a\":\n1}") == ["call", "X", "{\"a\":\n1}"])
    }

    @Test("options anywhere, before the verb too; each bad option named")
    func parse() throws {
        let command = try ShellCommand.parse(["-H", "k=v=w", "call", "GetProduct", "{}", "--json", "-o", "csv"])
        #expect(command.verb == .call)
        #expect(command.arguments == ["GetProduct", "{}"])
        #expect(command.metadata.map { "\($0.key)|\($0.value)" } == ["k|v=w"])
        #expect(command.compactJSON && command.format == .csv)
        #expect(try ShellCommand.parse(["call", "-", "--help"]) == ShellCommand.parse(["help", "call"]))
        #expect(try ShellCommand.parse(["LIST"]).verb == .ls)
        #expect(try ShellCommand.parse(["stats", "--watch", "2"]).watch == 2)
        for (words, message) in [
            (["stats", "--watch", "0"], "--watch"), (["ping", "--count", "x"], "--count"), (["call"], "which method"),
            (["describe"], "what?"), (["ls", "a", "b"], "unexpected 'b'"),
            (["ls", "--frob"], "unknown option '--frob'"),
            (["call", "X", "{}", "-H"], "-H needs a value"), (["-H", "novalue", "ls"], "KEY=VALUE"), ([], "no command"),
        ] {
            #expect {
                try ShellCommand.parse(words)
            } throws: { error in
                guard let error = error as? ShellError else { return false }
                return error.exitCode == 2 && error.description.contains(message)
            }
        }
    }

    @Test("tables fit the width: identifiers whole, other cells cut with …, the rest named; CJK counts double")
    func tables() {
        let output = ShellOutput(width: 60)
        let lines = output.table(
            header: ["id", "name", "description", "extra"],
            rows: [
                ["sku_01M89SX2VB3QQWVG144GZHAGW3", "光明 进口纯牛奶 1 升装", String(repeating: "long text ", count: 10), "x"]
            ],
            keyColumns: [0]
        )
        #expect(lines.count == 3)
        #expect(lines[1].hasPrefix("sku_01M89SX2VB3QQWVG144GZHAGW3  "))
        #expect(lines.prefix(2).allSatisfy { ShellOutput.displayWidth($0) <= 60 })
        #expect(lines[1].contains("…"))
        #expect(lines[2].contains("more column"))
        #expect(ShellOutput.displayWidth("光明") == 4)
        #expect(ShellOutput.fit("光明牛奶", 5) == "光明…")
        #expect(
            ShellOutput.money([
                .init(key: "minorUnits", value: .string("-1234")), .init(key: "currency", value: .string("CNY")),
            ]) == "-12.34 CNY"
        )
        #expect(
            ShellOutput.money([
                .init(key: "minorUnits", value: .string("500")), .init(key: "currency", value: .string("JPY")),
            ]) == "500 JPY"
        )
        #expect(ShellOutput.mask("+8613812345678") == "+86138****5678")
        #expect(ShellOutput.mask("li.wei@example.cn") == "l***@example.cn")
        #expect(ShellOutput.mask("李伟") == "李*")
        // An order: the shipping address's street, the note and the pickup code are
        // masked; a store's street is not.
        let order = O2OJSONValue.object([
            .init(
                key: "shippingAddress",
                value: .object([
                    .init(key: "street", value: .string("示例路 1 号")), .init(key: "city", value: .string("上海市")),
                ])
            ),
            .init(key: "customerNote", value: .string("请放门口")),
            .init(key: "pickupCode", value: .string("123456")),
            .init(key: "address", value: .object([.init(key: "street", value: .string("南京东路 800 号"))])),
        ])
        #expect(
            ShellOutput.masked(order)
                == .object([
                    .init(
                        key: "shippingAddress",
                        value: .object([
                            .init(key: "street", value: .string("示******")), .init(key: "city", value: .string("上海市")),
                        ])
                    ),
                    .init(key: "customerNote", value: .string("请***")),
                    .init(key: "pickupCode", value: .string("1*****")),
                    .init(key: "address", value: .object([.init(key: "street", value: .string("南京东路 800 号"))])),
                ])
        )
        // A ticket's description and resolution and a note's text are the customer's; a
        // product's description is not.
        let ticket = O2OJSONValue.object([
            .init(key: "subject", value: .string("配送超时")),
            .init(key: "channel", value: .string("TICKET_CHANNEL_PHONE")),
            .init(key: "description", value: .string("电话 13912345678")),
        ])
        #expect(
            ShellOutput.masked(ticket)
                == .object([
                    .init(key: "subject", value: .string("配送超时")),
                    .init(key: "channel", value: .string("TICKET_CHANNEL_PHONE")),
                    .init(key: "description", value: .string("电*************")),
                ])
        )
        let note = O2OJSONValue.object([
            .init(key: "ticketId", value: .string("tkt_1")), .init(key: "text", value: .string("住幸福路")),
        ])
        #expect(ShellOutput.masked(note) != note)
        let product = O2OJSONValue.object([
            .init(key: "name", value: .string("龙井")), .init(key: "description", value: .string("明前茶")),
        ])
        #expect(ShellOutput.masked(product) == product)
    }

    @Test("completion: commands, methods, JSON field names, then enum values and booleans for a field's value")
    func completion() {
        let schema = ShellSchema(
            GetSchemaResponse(
                services: [
                    ServiceSchema(
                        name: CatalogService.descriptor.name,
                        methods: CatalogService.descriptor.methods.map {
                            MethodSchema(
                                name: $0.method,
                                path: $0.path,
                                requestType: $0.requestType,
                                responseType: $0.responseType
                            )
                        }
                    )
                ],
                messages: O2OSchemaRegistry.messageTypes.values.map { $0._messageSchema },
                enums: O2OSchemaRegistry.enumTypes.values.map { $0._enumSchema }
            )
        )
        let completion = ShellCompletion(schema: schema)
        func candidates(_ line: String) -> [String] { completion.complete(line).candidates }
        #expect(candidates("de") == ["describe"])
        #expect(candidates("call ChangeProductSt") == ["ChangeProductStatus"])
        #expect(candidates(#"call ChangeProductStatus {"pro"#) == [#""productId":"#])
        #expect(candidates(#"call ChangeProductStatus {"productId": "p1", "status": "#).contains(#""ON_SHELF""#))
        #expect(candidates(#"call ChangeProductStatus {"productId": "p1", "status": "on"#) == [#""ON_SHELF""#])
        #expect(candidates(#"call ChangeProductStatus {"productId": "p"#).isEmpty)
        #expect(candidates(#"call ImportProducts {"dryRun": "#) == ["true", "false"])
        let replaced = completion.complete(#"call ChangeProductStatus {"status": "ON_S"#)
        #expect(replaced.replaceFrom == #"call ChangeProductStatus {"status": "#.count)
    }
}

import Testing

@testable import O2OCodeGen

private func field(
    _ name: String,
    _ number: Int32,
    _ type: ProtoFieldType,
    typeName: String = "",
    label: ProtoLabel = .optional,
    oneof: Int? = nil
) -> ProtoField {
    ProtoField(
        name: name,
        number: number,
        label: label,
        type: type,
        typeName: typeName,
        jsonName: name,
        oneofIndex: oneof,
        proto3Optional: false,
        doc: "Doc of \(name)."
    )
}

private func message(
    _ name: String,
    package: String = "demo.v1",
    fields: [ProtoField],
    oneofs: [String] = []
) -> ProtoMessage {
    ProtoMessage(
        name: name,
        fullName: "\(package).\(name)",
        doc: "Doc of \(name).",
        fields: fields,
        oneofs: oneofs.map { ProtoOneof(name: $0, doc: "") },
        messages: [],
        enums: [],
        isMapEntry: false
    )
}

private func file(
    _ name: String,
    package: String = "demo.v1",
    prefix: String? = "",
    messages: [ProtoMessage] = [],
    enums: [ProtoEnum] = [],
    services: [ProtoService] = []
) -> ProtoFile {
    ProtoFile(
        name: name,
        package: package,
        syntax: "proto3",
        swiftPrefix: prefix,
        dependencies: [],
        messages: messages,
        enums: enums,
        services: services,
        doc: ""
    )
}

private func generate(_ files: [ProtoFile], parameter: String = "") throws -> [GeneratedFile] {
    try O2OCodeGenerator.generate(
        ProtoGenerationRequest(filesToGenerate: files.map(\.name), parameter: parameter, files: files)
    )
}

@Suite("Code generator")
struct GeneratorTests {
    @Test("Swift names: lower camel case with capitalised acronyms, keywords escaped")
    func swiftNames() {
        #expect(Naming.lowerCamel("sku_id") == "skuID")
        #expect(Naming.lowerCamel("image_urls") == "imageURLs")
        #expect(Naming.lowerCamel("id") == "id")
        #expect(Naming.lowerCamel("points_balance") == "pointsBalance")
        #expect(Naming.upperCamel("target_kind") == "TargetKind")
        #expect(Naming.escaped("default") == "`default`")
        #expect(Naming.escaped("name") == "name")
    }

    @Test("C names follow protoc-c's mangling")
    func cNames() {
        #expect(Naming.cTypeName(fullName: "o2o.catalog.v1.Product") == "O2o__Catalog__V1__Product")
        #expect(Naming.cTypeName(fullName: "o2o.x_y.v1.GetSKURequest") == "O2o__XY__V1__GetSKURequest")
        #expect(Naming.cLowerName(fullName: "o2o.x_y.v1.GetSKURequest") == "o2o__x_y__v1__get_skurequest")
        #expect(Naming.cLowerName(fullName: "o2o.rpc.v1.RPCCallHeader") == "o2o__rpc__v1__rpccall_header")
        #expect(Naming.cLowerName(fullName: "o2o.x.v1.Thing.CountsEntry") == "o2o__x__v1__thing__counts_entry")
        #expect(Naming.cFieldName("default") == "default_")
        #expect(Naming.cFieldName("register") == "register_")
        #expect(Naming.cOneofCaseName("_note") == "_note_case")
    }

    @Test("enum cases drop the enum's prefix; .none is refused")
    func enumCases() throws {
        let status = ProtoEnum(
            name: "ProductStatus",
            fullName: "demo.v1.ProductStatus",
            doc: "",
            values: [
                ProtoEnumValue(name: "PRODUCT_STATUS_UNSPECIFIED", number: 0, doc: ""),
                ProtoEnumValue(name: "PRODUCT_STATUS_ON_SHELF", number: 1, doc: ""),
                ProtoEnumValue(name: "PRODUCT_STATUS_3D", number: 2, doc: ""),
            ]
        )
        #expect(try EnumEmitter.caseNames(status) == ["unspecified", "onShelf", "_3d"])
        let bad = ProtoEnum(
            name: "Mode",
            fullName: "demo.v1.Mode",
            doc: "",
            values: [ProtoEnumValue(name: "MODE_NONE", number: 0, doc: "")]
        )
        #expect(throws: GeneratorError.self) { try EnumEmitter.caseNames(bad) }
    }

    @Test("a recursive message type is refused with the cycle named")
    func recursion() throws {
        let node = message("Node", fields: [field("children", 1, .message, typeName: "demo.v1.Node", label: .repeated)])
        do {
            _ = try generate([file("demo.proto", messages: [node])])
            Issue.record("expected an error")
        } catch let error as GeneratorError {
            #expect(error.description.contains("recursive message type: demo.v1.Node → demo.v1.Node"))
        }
    }

    @Test("two types that would share a Swift name are refused")
    func clash() throws {
        let a = file("a.proto", package: "a.v1", messages: [message("Item", package: "a.v1", fields: [])])
        let b = file("b.proto", package: "b.v1", messages: [message("Item", package: "b.v1", fields: [])])
        #expect(throws: GeneratorError.self) { try generate([a, b]) }
        // Different prefixes keep them apart.
        var c = b
        c.swiftPrefix = "B"
        #expect(try generate([a, c]).count == 3)
    }

    @Test("field names must be lower_snake_case")
    func fieldNames() throws {
        let bad = message("Thing", fields: [field("fooBar", 1, .string)])
        #expect(throws: GeneratorError.self) { try generate([file("t.proto", messages: [bad])]) }
    }

    @Test("a single-field oneof named _x becomes an optional; doc comments carry over")
    func presenceAndDocs() throws {
        let thing = message(
            "Thing",
            fields: [field("note", 1, .string, oneof: 0), field("count", 2, .int32)],
            oneofs: ["_note"]
        )
        let output = try generate([file("t.proto", messages: [thing])])
        let source = try #require(output.first { $0.name == "t.o2o.swift" }).content
        #expect(source.hasPrefix("// DO NOT EDIT.\n"))
        #expect(source.contains("public var note: String? = nil"))
        #expect(source.contains("/// Doc of note."))
        #expect(source.contains("c.pointee._note_case = .init(rawValue: 1)"))
        #expect(source.contains("public var count: Int32 = 0"))
    }

    @Test("options: C module, imports and registry name")
    func options() throws {
        let thing = message("Thing", fields: [])
        let output = try generate(
            [file("t.proto", messages: [thing])],
            parameter: "c_module=CMine,import=O2OMessages,registry=MyRegistry"
        )
        #expect(output.map(\.name).sorted() == ["MyRegistry.o2o.swift", "t.o2o.swift"])
        #expect(output[0].content.contains("internal import CMine"))
        #expect(output[0].content.contains("public import O2OMessages"))
        #expect(throws: GeneratorError.self) {
            try generate([file("t.proto", messages: [thing])], parameter: "colour=red")
        }
    }

    @Test("services: descriptors with kind and idempotency, protocol and client")
    func services() throws {
        let request = message("PingRequest", fields: [])
        let service = ProtoService(
            name: "PingService",
            fullName: "demo.v1.PingService",
            doc: "Pings.",
            methods: [
                ProtoMethod(
                    name: "Ping",
                    inputType: "demo.v1.PingRequest",
                    outputType: "demo.v1.PingRequest",
                    clientStreaming: false,
                    serverStreaming: false,
                    idempotency: .noSideEffects,
                    doc: "One ping."
                ),
                ProtoMethod(
                    name: "PingMany",
                    inputType: "demo.v1.PingRequest",
                    outputType: "demo.v1.PingRequest",
                    clientStreaming: true,
                    serverStreaming: true,
                    idempotency: .unknown,
                    doc: "Many."
                ),
            ]
        )
        let source = try generate([file("p.proto", messages: [request], services: [service])])[0].content
        #expect(source.contains("kind: .unary,"))
        #expect(source.contains("idempotency: .noSideEffects,"))
        #expect(source.contains("kind: .bidirectionalStreaming,"))
        #expect(source.contains("public protocol PingServiceProtocol: RPCService"))
        #expect(
            source.contains("func ping(request: PingRequest, context: RPCServerContext) async throws -> PingRequest")
        )
        #expect(source.contains("public struct PingServiceClient: Sendable"))
        #expect(source.contains("router.registerBidirectionalStreaming(PingService.Method.pingMany)"))
    }

    @Test("output file names are unique per path")
    func outputNames() {
        #expect(O2OCodeGenerator.outputName(for: "o2o/catalog/v1/catalog.proto") == "o2o_catalog_v1_catalog.o2o.swift")
    }
}

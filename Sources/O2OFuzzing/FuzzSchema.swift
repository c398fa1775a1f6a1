public import O2OMessages
public import O2ORPC

/// The reflected schema the fuzzer generates requests from: every message and enum
/// of the platform, and every method of every service, built-in ones included. A
/// domain that lands later is covered because it is in the registry.
public struct FuzzSchema: Sendable {
    public let methods: [RPCMethodDescriptor]
    let messages: [String: MessageSchema]
    let enums: [String: [Int32]]

    public init(services: [RPCServiceDescriptor] = O2OSchemaRegistry.services) {
        methods = services.flatMap(\.methods)
        messages = O2OSchemaRegistry.messageTypes.mapValues { $0._messageSchema }
        enums = O2OSchemaRegistry.enumTypes.mapValues { $0._enumSchema.values.map(\.number) }
    }

    func message(_ name: String) -> MessageSchema? { messages[name] }
}

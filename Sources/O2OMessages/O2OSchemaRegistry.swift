public import O2ORPC

/// Every message, enum and service of the platform's schema: the wire and common ones
/// (`O2ORPCRegistry`) and the domains' (`O2OGeneratedRegistry`).
public enum O2OSchemaRegistry {
    /// Message types by full protobuf name.
    public static let messageTypes: [String: any O2ODescribedMessage.Type] = O2ORPCRegistry.messageTypes.merging(
        O2OGeneratedRegistry.messageTypes
    ) { first, _ in first }

    /// Enum types by full protobuf name.
    public static let enumTypes: [String: any O2ODescribedEnum.Type] = O2ORPCRegistry.enumTypes.merging(
        O2OGeneratedRegistry.enumTypes
    ) { first, _ in first }

    /// Every service, the built-in ones first.
    public static let services: [RPCServiceDescriptor] = O2ORPCRegistry.services + O2OGeneratedRegistry.services
}

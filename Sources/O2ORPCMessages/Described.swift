// The schema of a generated type, for reflection. The schema itself is made of the
// reflection service's messages (MessageSchema, EnumSchema), generated into this
// module, so these protocols live here rather than in the message runtime.
public import O2OProtobuf

/// A generated message that carries its own schema.
public protocol O2ODescribedMessage: O2OMessage {
    /// The message's fields and docs, for reflection.
    static var _messageSchema: MessageSchema { get }
}

/// A generated enum that carries its own schema.
public protocol O2ODescribedEnum: O2OEnum {
    /// The enum's values and docs, for reflection.
    static var _enumSchema: EnumSchema { get }
}

import O2OProtobuf
import O2ORPCMessages

/// What one side of a connection is willing to receive: the contents of its SETTINGS
/// frame with the protocol's defaults and ranges applied (docs/PROTOCOL.md, 4.1).
public struct O2OConnectionSettings: Sendable, Hashable {
    /// Largest frame payload accepted, 16,384 to 16,777,215.
    public var maximumFrameSize: Int
    /// Largest message after decompression.
    public var maximumMessageSize: Int
    /// Streams the peer may have open at once.
    public var maximumConcurrentStreams: Int
    /// Flow-control window of each new stream.
    public var initialStreamWindow: Int
    /// Flow-control window of the connection.
    public var initialConnectionWindow: Int
    /// Whether zstd-compressed messages are accepted.
    public var acceptsZstd: Bool
    /// Shortest tolerated interval between pings without data.
    public var minimumPingInterval: Duration
    /// Software name and version.
    public var agent: String

    public init(
        maximumFrameSize: Int = 4_194_304,
        maximumMessageSize: Int? = nil,
        maximumConcurrentStreams: Int = 100,
        initialStreamWindow: Int = 262_144,
        initialConnectionWindow: Int = 4_194_304,
        acceptsZstd: Bool = true,
        minimumPingInterval: Duration = .seconds(10),
        agent: String = ""
    ) {
        self.maximumFrameSize = min(max(maximumFrameSize, Wire.minimumFrameSize), Wire.maximumFrameSizeLimit)
        self.maximumMessageSize = min(maximumMessageSize ?? self.maximumFrameSize, 67_108_864)
        self.maximumConcurrentStreams = min(max(maximumConcurrentStreams, 1), 1_000_000)
        self.initialStreamWindow = min(max(initialStreamWindow, 1), Wire.maximumWindow)
        self.initialConnectionWindow = min(max(initialConnectionWindow, 1), Wire.maximumWindow)
        self.acceptsZstd = acceptsZstd
        self.minimumPingInterval = minimumPingInterval
        self.agent = agent
    }

    /// The protocol's defaults: what a peer's zero fields mean.
    static let protocolDefaults = O2OConnectionSettings(acceptsZstd: false, minimumPingInterval: .seconds(10))

    /// Reads a peer's SETTINGS, applying defaults to zero fields.
    init(wire: WireSettings) throws(ConnectionError) {
        guard wire.protocolVersion <= 1 else {
            throw ConnectionError(.protocolError, "unsupported protocol version \(wire.protocolVersion)")
        }
        let defaults = Self.protocolDefaults
        let frameSize = wire.maxFrameSize == 0 ? defaults.maximumFrameSize : Int(wire.maxFrameSize)
        self.init(
            maximumFrameSize: frameSize,
            maximumMessageSize: wire.maxMessageSize == 0 ? nil : Int(wire.maxMessageSize),
            maximumConcurrentStreams: wire.maxConcurrentStreams == 0
                ? defaults.maximumConcurrentStreams : Int(wire.maxConcurrentStreams),
            initialStreamWindow: wire.initialStreamWindow == 0
                ? defaults.initialStreamWindow : Int(wire.initialStreamWindow),
            initialConnectionWindow: wire.initialConnectionWindow == 0
                ? defaults.initialConnectionWindow : Int(wire.initialConnectionWindow),
            acceptsZstd: wire.acceptedCompression.contains("zstd"),
            minimumPingInterval: wire.minPingIntervalMs == 0
                ? .seconds(10) : .milliseconds(Int64(wire.minPingIntervalMs)),
            agent: String(wire.agent.prefix(128))
        )
    }

    /// The SETTINGS payload announcing these settings.
    var wire: WireSettings {
        WireSettings(
            protocolVersion: 1,
            maxFrameSize: UInt32(maximumFrameSize),
            maxMessageSize: UInt32(maximumMessageSize),
            maxConcurrentStreams: UInt32(maximumConcurrentStreams),
            initialStreamWindow: UInt32(initialStreamWindow),
            initialConnectionWindow: UInt32(initialConnectionWindow),
            acceptedCompression: acceptsZstd ? ["zstd"] : [],
            minPingIntervalMs: UInt32(
                min(
                    minimumPingInterval.components.seconds * 1000
                        + minimumPingInterval.components.attoseconds / 1_000_000_000_000_000,
                    Int64(UInt32.max)
                )
            ),
            agent: agent
        )
    }
}

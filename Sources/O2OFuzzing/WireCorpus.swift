import NIOCore
import O2OMessages
@_spi(Benchmarking) @_spi(Fuzzing) import O2ONIOTransport
import O2OWireFuzzing

/// The seed corpus of the wire fuzzers (`WireFuzzTargets`): a connection's worth of
/// valid frames, and plausible messages of the wire, the common types and each
/// domain's main records and requests, generated from the schema. `o2o-fuzz
/// --write-wire-corpus` writes it; libFuzzer starts from it.
public enum WireCorpus {
    /// The types whose messages seed the message, JSON and shell-codec targets.
    static let seedTypes = [
        "o2o.rpc.v1.WireSettings", "o2o.rpc.v1.WireCallHeader", "o2o.rpc.v1.WireTrailers", "o2o.rpc.v1.WireGoAway",
        "o2o.rpc.v1.GetSchemaResponse", "o2o.common.v1.Money", "o2o.common.v1.Timestamp", "o2o.catalog.v1.Product",
        "o2o.catalog.v1.CreateProductRequest", "o2o.catalog.v1.SearchProductsRequest", "o2o.inventory.v1.StockLevel",
        "o2o.inventory.v1.CreatePurchaseOrderRequest", "o2o.inventory.v1.AdjustStockRequest", "o2o.crm.v1.Customer",
        "o2o.crm.v1.CreateCustomerRequest", "o2o.crm.v1.RedeemPointsRequest", "o2o.order.v1.Order",
        "o2o.order.v1.CreateOrderRequest", "o2o.order.v1.Promotion", "o2o.order.v1.OrderQuote",
        "o2o.order.v1.RecordPaymentCallbackRequest", "o2o.care.v1.Ticket", "o2o.care.v1.CreateTicketRequest",
        "o2o.stats.v1.GetSalesStatisticsResponse",
    ]

    /// Seed inputs by target name.
    public static func seeds(schema: FuzzSchema = FuzzSchema()) -> [String: [[UInt8]]] {
        var generator = RequestGenerator(schema: schema, seed: 1)
        var messages: [[UInt8]] = []
        var json: [[UInt8]] = []
        for name in seedTypes where O2OSchemaRegistry.messageTypes[name] != nil {
            // Plausible ones first: the hostile ones rarely decode.
            for _ in 0..<3 {
                let bytes = generator.request(name)
                guard let type = O2OSchemaRegistry.messageTypes[name],
                    let message = try? type.init(serializedBytes: ByteBuffer(bytes: bytes))
                else { continue }
                messages.append(Array("\(name)\n".utf8) + bytes)
                json.append(Array("\(name)\n\(message.jsonString())".utf8))
                break
            }
        }
        return ["frames": frameSeeds(), "messages": messages, "json": json, "shell-codec": messages]
    }

    /// A server's view of a connection: the preface and SETTINGS, a unary echo call
    /// (HEADERS, MESSAGE, HALF_CLOSE), a compressed message, PING, WINDOW_UPDATE,
    /// CANCEL and GOAWAY; and the same frames without the preface.
    static func frameSeeds() -> [[UInt8]] {
        var frames = ByteBuffer()
        func frame(_ type: FrameType, _ flags: FrameFlags = [], stream: UInt32, _ payload: some O2OMessage) {
            var body = ByteBuffer()
            payload.serialize(into: &body)
            frames.writeFrame(type: type, flags: flags, streamID: stream, payload: body)
        }
        frame(
            .settings,
            stream: 0,
            WireSettings(protocolVersion: 1, maxFrameSize: 16_384, acceptedCompression: ["zstd"], agent: "fuzz")
        )
        frame(
            .headers,
            stream: 1,
            WireCallHeader(
                method: "/o2o.rpc.v1.EchoService/Echo",
                timeoutMicros: 1_000_000,
                metadata: [WireMetadataEntry(key: "o2o-request-id", value: .text("fuzz-1"))]
            )
        )
        frame(.message, stream: 1, EchoMessage(payload: Array("hello".utf8), sequence: 1))
        frames.writeFrame(type: .halfClose, streamID: 1, payload: ByteBuffer())
        var plain = ByteBuffer()
        EchoMessage(payload: Array(String(repeating: "o2o ", count: 64).utf8)).serialize(into: &plain)
        var compressed = ByteBuffer()
        ZstdCodec(level: 1).compress(plain, into: &compressed)
        frame(.headers, stream: 3, WireCallHeader(method: "/o2o.rpc.v1.EchoService/EchoCollect"))
        frames.writeFrame(type: .message, flags: .compressed, streamID: 3, payload: compressed)
        frames.writeFrame(type: .ping, streamID: 0, payload: ByteBuffer(bytes: [1, 2, 3, 4, 5, 6, 7, 8]))
        var window = ByteBuffer()
        window.writeInteger(UInt32(65_536))
        frames.writeFrame(type: .windowUpdate, streamID: 0, payload: window)
        frame(.cancel, stream: 3, WireCancel(reason: "fuzz"))
        frame(.goAway, stream: 0, WireGoAway(lastStreamID: 3, message: "bye"))
        let bytes = Array(frames.readableBytesView)
        return [[1] + Array("O2ORPC/1".utf8) + bytes, [0] + bytes]
    }
}

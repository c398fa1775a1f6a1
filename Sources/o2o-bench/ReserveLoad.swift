import ArgumentParser
import O2OMessages
import O2ONIOTransport
import O2ORPC

/// ReserveStock calls against a server started with --demo-data: every caller on its
/// own SKU, or all callers on one hot SKU.
struct ReserveLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reserve",
        abstract: "Stock reservations (one unit each) against a server started with --demo-data.",
        discussion: "The bench first receives a million units of each SKU it uses at the first warehouse, so stock never runs out."
    )

    @Option(help: "distinct (each caller its own SKU) or hot (every caller the same SKU).") var mode: String = "distinct"
    @OptionGroup var load: LoadOptions

    func validate() throws {
        guard ["distinct", "hot"].contains(mode) else { throw ValidationError("--mode: '\(mode)' is not distinct or hot") }
    }

    func run() async throws {
        var channels: [O2OClientChannel] = []
        for _ in 0..<load.conns {
            channels.append(try O2OClientChannel(configuration: O2OClientConfiguration(target: .tcp(host: "127.0.0.1", port: load.port))))
        }
        let inventory = InventoryServiceClient(transport: channels[0])
        guard let warehouse = try await inventory.listStockLocations(ListStockLocationsRequest(kind: .warehouse, status: .open)).stockLocations.first else {
            throw ValidationError("the server has no open warehouse; start it with --demo-data")
        }
        let callers = load.conns * load.inflight
        let products = try await CatalogServiceClient(transport: channels[0]).searchProducts(
            SearchProductsRequest(page: PageRequest(pageSize: Int32(min(500, callers))))
        )
        let skus = Array(products.hits.compactMap { $0.product?.skus.first?.id }.prefix(mode == "hot" ? 1 : callers))
        guard skus.count == (mode == "hot" ? 1 : callers) else {
            throw ValidationError("need \(callers) SKUs, the catalog has \(skus.count); start the server with --demo-data")
        }
        for sku in skus {
            _ = try await inventory.adjustStock(
                AdjustStockRequest(
                    requestID: "bench-stock-\(sku)-\(nowNanoseconds())", locationID: warehouse.id, reason: .return,
                    lines: [StockAdjustmentLine(skuID: sku, quantityDelta: 1_000_000)], note: "o2o-bench"
                )
            )
        }
        let loop = ClosedLoop(
            channels: channels, inflightPerChannel: load.inflight, warmupSeconds: load.warmup, durationSeconds: load.duration,
            serverPID: load.serverPid, onEventLoop: true
        )
        let location = warehouse.id
        let run = nowNanoseconds()
        let report = try await loop.run { channel, worker, number in
            let sku = skus[worker % skus.count]
            let response = try await InventoryServiceClient(transport: channel).reserveStock(
                ReserveStockRequest(
                    requestID: "bench-\(run)-\(worker)-\(number)", orderID: "bench-\(worker)-\(number)", lines: [StockBasketLine(skuID: sku, quantity: 1)],
                    placement: .locationID(location)
                )
            )
            return response.reservations.count == 1
        }
        for channel in channels { await channel.close() }
        printLine("RESULT kind=o2o-reserve label=\(load.label) mode=\(mode) conns=\(load.conns) inflight_per_conn=\(load.inflight) " + report.fields)
    }
}

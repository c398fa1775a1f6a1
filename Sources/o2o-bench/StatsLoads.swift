import ArgumentParser
import Foundation
import Logging
import O2OMessages
import O2OPlatform
import O2ORPC
import O2OServiceKit
import O2OStorage
import Synchronization

/// GetSalesStatistics over a range of days, on a store holding many orders spread
/// over those days; and the cost of keeping the figures on checkout.
struct SalesStatisticsLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sales-stats",
        abstract: "GetSalesStatistics over --days days, on a RocksDB store of --orders paid orders spread over them.",
        discussion: """
            First fills a scratch RocksDB store in-process: a warehouse, 20 SKUs, 64 customers, \
            and --orders checkouts (CreateOrder, CreatePayment, the success callback) whose \
            times are spread evenly over the last --days days. After a tenth to warm up, the \
            checkouts run in four blocks, without, with, with and without the statistics \
            projector catching up every 5 s (as the server's job does): the checkouts/s of \
            both are printed side by side, the write overhead of keeping the figures. Then o2o-server is started on that store and GetSalesStatistics for the \
            whole range (the platform, Asia/Shanghai) is called in a closed loop.
            """
    )

    @Option(help: "Scratch directory (created; removed afterwards).") var dir: String = "/tmp/o2o-bench-stats"
    @Option(help: "Paid orders placed before the calls.") var orders: Int = 10_000
    @Option(help: "Days the orders are spread over, and the range asked for.") var days: Int = 90
    @Option(help: "Checkouts at once while filling the store.") var concurrency: Int = 64
    @OptionGroup var load: LoadOptions

    func validate() throws {
        guard orders >= 4, (1...366).contains(days), concurrency > 0 else {
            throw ValidationError("--orders must be at least 4, --days 1 to 366, --concurrency positive")
        }
    }

    func run() async throws {
        system("rm -rf '\(dir)' && mkdir -p '\(dir)'")
        defer { system("rm -rf '\(dir)'") }
        let end = Int64(Date().timeIntervalSince1970)
        let start = end - Int64(days) * 86_400
        try await fill(from: start, to: end)

        let child = try await ChildServer(
            ChildServer.sibling("o2o-server"),
            ["--port", "0", "--store", "rocksdb", "--data", dir, "--sync", "group"],
            ready: #"listening on 127\.0\.0\.1:(\d+)"#
        )
        guard let port = child.port else { throw BenchError("o2o-server printed no port") }
        let server = BenchServer(host: "127.0.0.1", port: port, pid: child.pid, child: child)
        // RocksDB compacts what the fill wrote once the server opens it: measure after.
        var quiet = 0
        var waited = 0
        var ticks = processCPUTicks(child.pid)
        while quiet < 3, waited < 300 {
            try await Task.sleep(for: .seconds(1))
            let now = processCPUTicks(child.pid)
            quiet = now - ticks <= 5 ? quiet + 1 : 0
            ticks = now
            waited += 1
        }
        printLine("the server was idle after \(waited) s")
        let shanghai = 8 * 3_600
        let range = StatisticsDayRange(
            firstDay: CalendarDates.date(of: Timestamp(seconds: start + Int64(shanghai) + 86_400, nanos: 0)),
            lastDay: CalendarDates.date(of: Timestamp(seconds: end + Int64(shanghai), nanos: 0))
        )
        // The range leaves out the first (partial) day or two of the orders.
        let expected = Int64(orders) * Int64(max(1, days - 2)) / Int64(days)
        let workload = Workload(
            name: "sales-stats-\(days)d-\(orders)",
            extraFields: [("orders", "\(orders)"), ("days", "\(days)")]
        ) { _, _ in
            PreparedWorkload(
                call: { channel, _, _ in
                    let figures = try await StatisticsServiceClient(transport: channel).getSalesStatistics(
                        GetSalesStatisticsRequest(days: range)
                    )
                    let paid = figures.totals?.ordersPaid ?? 0
                    return paid >= expected && figures.days.count >= days - 1
                },
                bytesPerCall: 0
            )
        }
        do {
            let result = try await workload.run(load: load, on: server, compression: .default)
            await server.stop()
            emit(result, json: load.json)
        } catch {
            await server.stop()
            throw error
        }
    }

    /// Places the orders in-process under a clock that walks from `start` to `end`.
    private func fill(from start: Int64, to end: Int64) async throws {
        var logger = Logger(label: "o2o.bench")
        logger.logLevel = .critical
        let engine = try RocksDBEngine(path: dir, syncPolicy: .none)
        let now = WalkingClock(start)
        let clock = ServiceClock { now.read() }
        let store = ServiceStore(records: RecordStore(engine: engine), clock: clock)
        let platform = try await O2OPlatform.open(store: store, logger: logger)
        let transport = RPCInProcessTransport(
            services: platform.services,
            interceptors: [],
            errorMapping: ServiceErrorMapping(logger: logger)
        )
        let shop = try await BenchShop.open(transport, customers: concurrency)
        let total = orders
        let step = max(1, (end - start) / Int64(total))
        let workers = concurrency
        var rates: [(projector: Bool, perSecond: Double)] = []
        // A tenth to warm up, then four blocks without, with, with, without the
        // projector: the store's growth slows later blocks alike on both sides.
        let warmup = total / 10
        let blocks: [(range: Range<Int>, projecting: Bool?)] =
            [(0..<warmup, nil)]
            + [false, true, true, false].enumerated().map { index, projecting in
                let from = warmup + index * (total - warmup) / 4
                let to = warmup + (index + 1) * (total - warmup) / 4
                return (from..<to, projecting)
            }
        for (range, mode) in blocks {
            let projecting = mode ?? false
            let began = nowNanoseconds()
            try await withThrowingTaskGroup(of: Void.self) { group in
                // The event sequencers run every second in every block, as in the
                // server (the watch streams need them); only the projector differs.
                group.addTask {
                    while !Task.isCancelled {
                        while try await platform.orders.figures.events.sequence() > 0 {}
                        while try await platform.care.figures.events.sequence() > 0 {}
                        try? await Task.sleep(for: .seconds(1))
                    }
                }
                if projecting {
                    group.addTask {
                        while !Task.isCancelled {
                            try await platform.stats.catchUp()
                            try? await Task.sleep(for: .seconds(5))
                        }
                    }
                }
                try await withThrowingTaskGroup(of: Void.self) { checkouts in
                    for worker in 0..<workers {
                        checkouts.addTask {
                            var index = range.lowerBound + worker
                            while index < range.upperBound {
                                let time = start + Int64(index) * step
                                now.seconds.withLock { $0 = max($0, time) }
                                // The checkout's own time, whatever the others' is.
                                try await WalkingClock.$checkoutSeconds.withValue(time) {
                                    try await shop.checkout(worker: worker, number: index)
                                }
                                index += workers
                            }
                        }
                    }
                    try await checkouts.waitForAll()
                }
                group.cancelAll()
            }
            let seconds = Double(nowNanoseconds() - began) / 1e9
            if mode != nil { rates.append((projecting, Double(range.count) / seconds)) }
            printLine(
                "checkouts \(range.lowerBound)..<\(range.upperBound): \(format(Double(range.count) / seconds, 0))/s"
                    + (mode == nil
                        ? " (warm-up)" : projecting ? " (statistics kept up every 5 s)" : " (statistics not kept)")
            )
        }
        now.seconds.withLock { $0 = end }
        let began = nowNanoseconds()
        try await platform.stats.catchUp()
        printLine("statistics caught up in \(format(Double(nowNanoseconds() - began) / 1e9, 1)) s")
        let without = rates.filter { !$0.projector }.map(\.perSecond).reduce(0, +) / 2
        let with = rates.filter(\.projector).map(\.perSecond).reduce(0, +) / 2
        printLine(
            "checkouts/s without the projector \(format(without, 0)), with it \(format(with, 0)) "
                + "(\(format(with / without * 100, 0))%)"
        )
        try await engine.close()
    }
}

/// The fill's clock: a checkout reads its own second (the task-local one), the
/// projector the latest any checkout reached; every read is a microsecond later
/// than the one before, as a real clock's would be (order numbers carry it).
private final class WalkingClock: Sendable {
    @TaskLocal static var checkoutSeconds: Int64?

    let seconds: Mutex<Int64>
    private let reads = Mutex<Int64>(0)

    init(_ seconds: Int64) {
        self.seconds = Mutex(seconds)
    }

    func read() -> Timestamp {
        let micro = reads.withLock { value -> Int64 in
            value = (value + 1) % 1_000_000
            return value
        }
        return Timestamp(seconds: Self.checkoutSeconds ?? seconds.withLock { $0 }, nanos: Int32(micro * 1_000))
    }
}

/// A small shop for the statistics bench: one warehouse, 20 SKUs with plenty of
/// stock, customers, all through the services.
private struct BenchShop: Sendable {
    let transport: any RPCClientTransport
    let skus: [String]
    let customers: [String]
    let address: PostalAddress

    static func open(_ transport: any RPCClientTransport, customers count: Int) async throws -> BenchShop {
        let catalog = CatalogServiceClient(transport: transport)
        let category = try await catalog.createCategory(
            CreateCategoryRequest(requestID: "bench-category", name: "茶 Tea")
        )
        let product = try await catalog.createProduct(
            CreateProductRequest(
                requestID: "bench-product",
                product: ProductSpec(
                    productCode: "BENCH-TEA",
                    name: "龙井 Longjing",
                    categoryID: category.id,
                    skus: (0..<20).map { index in
                        SkuSpec(
                            skuCode: "BENCH-TEA-\(index)",
                            attributes: [SkuAttribute(name: "grade", value: "\(index)")],
                            price: Money(minorUnits: 1_000 + Int64(index) * 250, currency: "CNY")
                        )
                    }
                ),
                status: .onShelf
            )
        )
        let point = GeoPoint(latitude: 31.23, longitude: 121.47)
        let inventory = InventoryServiceClient(transport: transport)
        let warehouse = try await inventory.createStockLocation(
            CreateStockLocationRequest(
                requestID: "bench-warehouse",
                stockLocation: StockLocation(
                    code: "WH-BENCH",
                    name: "压测仓 Bench",
                    kind: .warehouse,
                    coordinates: point,
                    ships: true
                )
            )
        )
        _ = try await inventory.adjustStock(
            AdjustStockRequest(
                requestID: "bench-stock",
                locationID: warehouse.id,
                reason: .return,
                lines: product.skus.map { StockAdjustmentLine(skuID: $0.id, quantityDelta: 1_000_000) }
            )
        )
        let crm = CrmServiceClient(transport: transport)
        var customers: [String] = []
        for index in 0..<count {
            customers.append(
                try await crm.createCustomer(
                    CreateCustomerRequest(
                        requestID: "bench-customer-\(index)",
                        displayName: "压测顾客 \(index)",
                        email: "bench-\(index)@example.com"
                    )
                ).id
            )
        }
        return BenchShop(
            transport: transport,
            skus: product.skus.map(\.id),
            customers: customers,
            address: PostalAddress(
                countryCode: "CN",
                province: "上海市",
                city: "上海市",
                street: "示例路 8 号",
                recipientName: "压测 Bench",
                recipientPhone: "+8619900000001",
                location: point
            )
        )
    }

    /// One paid order of one or two SKUs.
    func checkout(worker: Int, number: Int) async throws {
        let orders = OrderServiceClient(transport: transport)
        var lines = [CheckoutLine(skuID: skus[number % skus.count], quantity: Int64(1 + number % 3))]
        if number % 2 == 0 {
            lines.append(
                CheckoutLine(skuID: skus[(number + 1 + (number / 2) % (skus.count - 1)) % skus.count], quantity: 1)
            )
        }
        let order = try await orders.createOrder(
            CreateOrderRequest(
                requestID: "bench-order-\(number)",
                checkout: CheckoutSpec(
                    customerID: customers[worker % customers.count],
                    source: .lines(CheckoutLineList(lines: lines)),
                    fulfillment: CheckoutFulfillment(mode: .delivery, shippingAddress: address)
                )
            )
        )
        let payment = try await orders.createPayment(
            CreatePaymentRequest(requestID: "bench-pay-\(number)", orderID: order.id, channel: .wechatPay)
        )
        _ = try await orders.recordPaymentCallback(
            RecordPaymentCallbackRequest(
                requestID: "bench-paid-\(number)",
                paymentID: payment.id,
                channel: .wechatPay,
                channelTransactionID: "bench-\(number)",
                outcome: .succeeded,
                amount: payment.amount
            )
        )
    }
}

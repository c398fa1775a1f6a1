import ArgumentParser
import O2OMessages

/// Customer registrations, each a new customer with its own email.
struct CreateCustomerLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create-customer",
        abstract: "CreateCustomer calls, each registering a new customer (a unique email, no phone).",
        discussion: "Every call writes the customer, its contact index and its request id in one change."
    )

    @OptionGroup var load: LoadOptions
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let workload = Workload(name: "create-customer") { _, _ in
            let run = nowNanoseconds()
            return PreparedWorkload(
                call: { channel, worker, number in
                    let customer = try await CrmServiceClient(transport: channel).createCustomer(
                        CreateCustomerRequest(
                            requestID: "bench-\(run)-\(worker)-\(number)",
                            displayName: "压测顾客 Bench customer",
                            email: "bench-\(run)-\(worker)-\(number)@example.com",
                            tags: ["bench"]
                        )
                    )
                    return !customer.id.isEmpty
                },
                bytesPerCall: 0
            )
        }
        emit(try await workload.run(load: load, server: server), json: load.json)
    }
}

/// The customer-360 view over every demo customer in turn.
struct Customer360Load: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "customer-360",
        abstract:
            "GetCustomer360 over every customer (a server with --demo-data; one is started with it when --server is not given).",
        discussion:
            "Each call reads the customer, its tier, points and upcoming expiries, addresses, recent notes and segments."
    )

    @OptionGroup var load: LoadOptions
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let workload = Workload(name: "customer-360", needsDemoData: true) { channel, _ in
            let crm = CrmServiceClient(transport: channel)
            var ids: [String] = []
            var token = ""
            repeat {
                let page = try await crm.listCustomers(
                    ListCustomersRequest(page: PageRequest(pageSize: 500, pageToken: token))
                )
                ids += page.customers.map(\.id)
                token = page.nextPageToken
            } while !token.isEmpty
            guard !ids.isEmpty else { throw BenchError("the server has no customers; start it with --demo-data") }
            let customers = ids
            return PreparedWorkload(
                call: { channel, worker, number in
                    let view = try await CrmServiceClient(transport: channel).getCustomer360(
                        GetCustomer360Request(customerID: customers[(worker &* 7919 &+ number) % customers.count])
                    )
                    return view.customer != nil
                },
                bytesPerCall: 0
            )
        }
        emit(try await workload.run(load: load, server: server), json: load.json)
    }
}

/// Points redemptions of 100 points, each caller on its own customer or all on one.
struct RedeemLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redeem",
        abstract: "RedeemPoints calls of 100 points each, for a new order every time.",
        discussion: """
            --mode distinct gives every caller its own customer; --mode hot makes every caller \
            redeem from one customer, whose changes run one after the other. The bench first \
            creates the customers and credits each with 30,000,000 points, so points never run out.
            """
    )

    @Option(help: "distinct (each caller its own customer) or hot (every caller the same customer).")
    var mode: String = "distinct"
    @OptionGroup var load: LoadOptions
    @OptionGroup var server: ServerOptions

    func validate() throws {
        guard ["distinct", "hot"].contains(mode) else {
            throw ValidationError("--mode: '\(mode)' is not distinct or hot")
        }
    }

    func run() async throws {
        let hot = mode == "hot"
        let workload = Workload(name: "redeem-\(mode)") { channel, callers in
            let crm = CrmServiceClient(transport: channel)
            let run = nowNanoseconds()
            var customers: [String] = []
            for index in 0..<(hot ? 1 : callers) {
                let customer = try await crm.createCustomer(
                    CreateCustomerRequest(
                        requestID: "bench-redeemer-\(run)-\(index)",
                        displayName: "压测顾客 Bench customer",
                        email: "bench-redeemer-\(run)-\(index)@example.com"
                    )
                )
                for credit in 0..<3 {
                    _ = try await crm.adjustPoints(
                        AdjustPointsRequest(
                            requestID: "bench-credit-\(run)-\(index)-\(credit)",
                            customerID: customer.id,
                            points: 10_000_000,
                            note: "o2o-bench"
                        )
                    )
                }
                customers.append(customer.id)
            }
            let redeemers = customers
            return PreparedWorkload(
                call: { channel, worker, number in
                    let response = try await CrmServiceClient(transport: channel).redeemPoints(
                        RedeemPointsRequest(
                            requestID: "bench-\(run)-\(worker)-\(number)",
                            customerID: redeemers[worker % redeemers.count],
                            orderID: "bench-\(run)-\(worker)-\(number)",
                            points: 100,
                            orderAmount: Money(minorUnits: 10_000, currency: "CNY")
                        )
                    )
                    return response.entry?.points == -100
                },
                bytesPerCall: 0
            )
        }
        emit(try await workload.run(load: load, server: server), json: load.json)
    }
}

/// Price quotes of a 10-line basket over the demo shop's promotions.
struct QuoteLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quote",
        abstract:
            "QuoteOrder calls for a 10-line delivery basket (a server with --demo-data; one is started with it when --server is not given).",
        discussion: """
            The lines are items of the demo's flash sale, a member with a welcome coupon \
            buys, the coupon and the shared code WELCOME2027 are given: every pricing stage \
            and the stock placement run on each call.
            """
    )

    @OptionGroup var load: LoadOptions
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let workload = Workload(name: "quote-order", needsDemoData: true) { channel, _ in
            let promotion = PromotionServiceClient(transport: channel)
            let running = try await promotion.listPromotions(ListPromotionsRequest(statuses: [.running])).promotions
            guard let flash = running.first(where: { $0.kind == .timeLimitedDiscount }),
                let welcome = running.first(where: { $0.kind == .coupon && $0.sharedCode.isEmpty }),
                let coupon = try await promotion.listCoupons(ListCouponsRequest(promotionID: welcome.id)).coupons.first
            else { throw BenchError("the server has no demo promotions; start it with --demo-data") }
            // Items on the flash sale are on sale: the demo picked them among those on shelf.
            let skus = Array(flash.scope?.skuIDs.prefix(10) ?? [])
            guard skus.count == 10 else { throw BenchError("need 10 SKUs, found \(skus.count)") }
            let request = QuoteOrderRequest(
                checkout: CheckoutSpec(
                    customerID: coupon.customerID,
                    source: .lines(CheckoutLineList(lines: skus.map { CheckoutLine(skuID: $0, quantity: 1) })),
                    fulfillment: CheckoutFulfillment(
                        mode: .delivery,
                        shippingAddress: PostalAddress(
                            countryCode: "CN",
                            province: "上海市",
                            city: "上海市",
                            street: "示例路 8 号",
                            recipientName: "压测 Bench",
                            recipientPhone: "+8619900000001",
                            location: GeoPoint(latitude: 31.23, longitude: 121.47)
                        )
                    ),
                    couponCodes: [coupon.code, "WELCOME2027"]
                )
            )
            return PreparedWorkload(
                call: { channel, _, _ in
                    let quote = try await OrderServiceClient(transport: channel).quoteOrder(request)
                    return (quote.amounts?.payableTotal?.minorUnits ?? 0) > 0
                },
                bytesPerCall: 0
            )
        }
        emit(try await workload.run(load: load, server: server), json: load.json)
    }
}

/// Checkouts: CreateOrder, then the payment and its success callback.
struct CheckoutLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkout",
        abstract:
            "Checkouts of one unit, each paid (a server with --demo-data; one is started with it when --server is not given).",
        discussion: """
            A checkout is CreateOrder (price, stock placement, the reservation and the order in \
            one change) followed by CreatePayment and the channel's success callback, so one \
            checkout is three calls. --mode distinct gives every caller its own SKU, --mode hot \
            makes every caller buy the same SKU. Every caller is its own new customer. The SKUs \
            are outside the demo's flash sale and priced under its 满减 threshold, so no \
            promotion use is taken; the bench first receives a million units of each at the \
            first warehouse and delivers next to it. --no-payment measures CreateOrder alone.
            """
    )

    @Option(help: "distinct (each caller its own SKU) or hot (every caller the same SKU).") var mode: String =
        "distinct"
    @Flag(name: .customLong("no-payment"), help: "Only CreateOrder, without the payment and its callback.")
    var noPayment = false
    @OptionGroup var load: LoadOptions
    @OptionGroup var server: ServerOptions

    func validate() throws {
        guard ["distinct", "hot"].contains(mode) else {
            throw ValidationError("--mode: '\(mode)' is not distinct or hot")
        }
    }

    func run() async throws {
        let hot = mode == "hot"
        let pay = !noPayment
        let workload = Workload(name: "checkout-\(mode)\(pay ? "" : "-unpaid")", needsDemoData: true) {
            channel,
            callers in
            let inventory = InventoryServiceClient(transport: channel)
            guard
                let warehouse = try await inventory.listStockLocations(
                    ListStockLocationsRequest(kind: .warehouse, status: .open)
                ).stockLocations.first
            else { throw BenchError("the server has no open warehouse; start it with --demo-data") }
            let flash = try await PromotionServiceClient(transport: channel).listPromotions(
                ListPromotionsRequest(statuses: [.running])
            ).promotions.filter { $0.kind == .timeLimitedDiscount }.flatMap { $0.scope?.skuIDs ?? [] }
            let excluded = Set(flash)
            var skus: [String] = []
            var token = ""
            let wanted = hot ? 1 : callers
            repeat {
                let page = try await CatalogServiceClient(transport: channel).searchProducts(
                    SearchProductsRequest(statuses: [.onShelf], page: PageRequest(pageSize: 500, pageToken: token))
                )
                for hit in page.hits {
                    for sku in hit.product?.skus ?? []
                    where sku.status == .active && !excluded.contains(sku.id)
                        && (sku.price?.minorUnits ?? .max) < 19_900
                    {
                        skus.append(sku.id)
                    }
                }
                token = skus.count >= wanted ? "" : page.nextPageToken
            } while !token.isEmpty
            skus = Array(skus.prefix(wanted))
            guard skus.count == wanted else {
                throw BenchError("need \(wanted) SKUs outside the flash sale, the catalog has \(skus.count)")
            }
            for sku in skus {
                _ = try await inventory.adjustStock(
                    AdjustStockRequest(
                        requestID: "bench-stock-\(sku)-\(nowNanoseconds())",
                        locationID: warehouse.id,
                        reason: .return,
                        lines: [StockAdjustmentLine(skuID: sku, quantityDelta: 1_000_000)],
                        note: "o2o-bench"
                    )
                )
            }
            let run = nowNanoseconds()
            let crm = CrmServiceClient(transport: channel)
            var buyers: [String] = []
            for index in 0..<callers {
                buyers.append(
                    try await crm.createCustomer(
                        CreateCustomerRequest(
                            requestID: "bench-buyer-\(run)-\(index)",
                            displayName: "压测顾客 Bench buyer",
                            email: "bench-buyer-\(run)-\(index)@example.com"
                        )
                    ).id
                )
            }
            let address = PostalAddress(
                countryCode: "CN",
                province: "上海市",
                city: "上海市",
                street: "示例路 8 号",
                recipientName: "压测 Bench",
                recipientPhone: "+8619900000001",
                location: warehouse.coordinates
            )
            let (customers, items) = (buyers, skus)
            return PreparedWorkload(
                call: { channel, worker, number in
                    let orders = OrderServiceClient(transport: channel)
                    let order = try await orders.createOrder(
                        CreateOrderRequest(
                            requestID: "bench-\(run)-\(worker)-\(number)",
                            checkout: CheckoutSpec(
                                customerID: customers[worker % customers.count],
                                source: .lines(
                                    CheckoutLineList(lines: [
                                        CheckoutLine(skuID: items[worker % items.count], quantity: 1)
                                    ])
                                ),
                                fulfillment: CheckoutFulfillment(mode: .delivery, shippingAddress: address)
                            )
                        )
                    )
                    guard pay else { return order.status == .pendingPayment }
                    let payment = try await orders.createPayment(
                        CreatePaymentRequest(
                            requestID: "bench-pay-\(run)-\(worker)-\(number)",
                            orderID: order.id,
                            channel: .wechatPay
                        )
                    )
                    let paid = try await orders.recordPaymentCallback(
                        RecordPaymentCallbackRequest(
                            requestID: "bench-paid-\(run)-\(worker)-\(number)",
                            paymentID: payment.id,
                            channel: .wechatPay,
                            channelTransactionID: "bench-\(run)-\(worker)-\(number)",
                            outcome: .succeeded,
                            amount: payment.amount
                        )
                    )
                    return paid.status == .succeeded
                },
                bytesPerCall: 0
            )
        }
        emit(try await workload.run(load: load, server: server), json: load.json)
    }
}

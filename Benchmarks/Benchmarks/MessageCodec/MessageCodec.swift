// Encode and decode cost of the protobuf-c bridge for a typical order: 10 lines with
// discounts, an address, amounts and history fields, plus its 2 payments.
import Benchmark
import O2OMessages

/// An order as GetOrder returns it for a ten-line basket.
func typicalOrder() -> Order {
    func cny(_ fen: Int64) -> Money { Money(minorUnits: fen, currency: "CNY") }
    let now = Timestamp(seconds: 1_764_000_000, nanos: 123_000_000)
    var lines: [OrderLine] = []
    for index in 0..<10 {
        let quantity = Int64(index % 3 + 1)
        var line = OrderLine()
        line.lineID = "ln_\(index)"
        line.skuID = "sku_01JD3Q8ZK5X\(index)"
        line.productID = "prd_01JD3Q8ZK5\(index)"
        line.productName = "有机纯牛奶 Organic whole milk \(index)"
        line.skuName = "1L × 12 盒"
        line.quantity = quantity
        line.listUnitPrice = cny(6990)
        line.saleUnitPrice = cny(5990)
        line.subtotal = cny(5990 * quantity)
        line.discounts = [LineDiscount()]
        line.discountTotal = cny(500)
        line.total = cny(5490 * quantity)
        line.fulfillmentLocationID = "loc_store_shanghai_001"
        lines.append(line)
    }
    return Order(
        id: "ord_01JD3Q8ZK5XQ7W1",
        orderNumber: "SO20261125000123",
        customerID: "cus_01JD3Q8ZK5",
        status: .paid,
        fulfillmentMode: .delivery,
        shippingAddress: PostalAddress(
            countryCode: "CN",
            province: "上海市",
            city: "上海市",
            district: "浦东新区",
            street: "世纪大道 100 号 20 楼",
            postalCode: "200120",
            recipientName: "张伟",
            recipientPhone: "+8613800138000",
            location: GeoPoint(latitude: 31.2304, longitude: 121.4737)
        ),
        reservationIDs: ["res_01JD3Q8ZK5"],
        lines: lines,
        couponCodes: ["SAVE20"],
        amounts: OrderAmounts(),
        createdAt: now,
        updatedAt: now,
        paidAt: now,
        version: 3
    )
}

func typicalPayments() -> ListPaymentsResponse {
    let now = Timestamp(seconds: 1_764_000_000)
    return ListPaymentsResponse(
        payments: [
            Payment(
                id: "pay_1",
                orderID: "ord_01JD3Q8ZK5XQ7W1",
                customerID: "cus_01JD3Q8ZK5",
                channel: .wechatPay,
                amount: Money(minorUnits: 100_000, currency: "CNY"),
                status: .succeeded,
                channelTransactionID: "4200001234202611250000000001",
                createdAt: now,
                succeededAt: now
            ),
            Payment(
                id: "pay_2",
                orderID: "ord_01JD3Q8ZK5XQ7W1",
                customerID: "cus_01JD3Q8ZK5",
                channel: .alipay,
                amount: Money(minorUnits: 9_800, currency: "CNY"),
                status: .succeeded,
                channelTransactionID: "2026112522001400000000000002",
                createdAt: now,
                succeededAt: now
            ),
        ]
    )
}

let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal, .instructions]
    let configuration = Benchmark.Configuration(metrics: metrics, scalingFactor: .kilo, maxDuration: .seconds(5))
    let order = typicalOrder()
    let payments = typicalPayments()
    let orderBytes = order.serializedBytes()
    let paymentBytes = payments.serializedBytes()

    Benchmark("Order (10 lines) + 2 payments: encode", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(order.serializedBytes())
            blackHole(payments.serializedBytes())
        }
    }
    Benchmark("Order (10 lines) + 2 payments: decode", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try Order(serializedBytes: orderBytes))
            blackHole(try ListPaymentsResponse(serializedBytes: paymentBytes))
        }
    }
    Benchmark("Order (10 lines) + 2 payments: JSON encode", configuration: configuration) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(order.jsonUTF8())
            blackHole(payments.jsonUTF8())
        }
    }
    Benchmark("Money: encode + decode", configuration: configuration) { benchmark in
        let money = Money(minorUnits: 1250, currency: "CNY")
        for _ in benchmark.scaledIterations {
            blackHole(try Money(serializedBytes: money.serializedBytes()))
        }
    }
}

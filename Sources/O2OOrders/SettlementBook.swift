import O2OMessages
import O2OPricing
import O2ORPC
import O2OServiceKit
import O2OStorage

extension OrderSettlement: VersionedRecord, Identified {}
extension SettlementStatement: VersionedRecord, Identified {}
extension SettlementFeeRate: VersionedRecord {}

/// The settlement tables. Table ids are part of every stored key: never reuse one.
enum SettlementTables {
    /// One fee rate per channel.
    static let feeRates = RecordTable<SettlementFeeRate>(
        id: 514,
        name: "settlement_fee_rates",
        noun: "fee rate",
        primaryKey: { [.int(Int64($0.channel.rawValue))] }
    )
    static let settlementOrder = RecordIndex<OrderSettlement>(id: 1, name: "order", unique: false) {
        [[.string($0.orderID), .string($0.id)]]
    }
    static let settlementPayment = RecordIndex<OrderSettlement>(id: 2, name: "payment", unique: false) {
        [[.string($0.paymentID), .string($0.id)]]
    }
    /// READY settlements by the time they became ready: what a statement takes.
    static let settlementReady = RecordIndex<OrderSettlement>(id: 3, name: "ready", unique: false) {
        $0.status == .ready ? [[.int(Timestamps.nanos($0.readyAt)), .string($0.id)]] : []
    }
    static let settlementStatement = RecordIndex<OrderSettlement>(id: 4, name: "statement", unique: false) {
        $0.statementID.isEmpty ? [] : [[.string($0.statementID), .string($0.id)]]
    }
    static let settlements = RecordTable<OrderSettlement>(
        id: 515,
        name: "order_settlements",
        noun: "order settlement",
        primaryKey: { .string($0.id) },
        indexes: [settlementOrder, settlementPayment, settlementReady, settlementStatement]
    )
    /// Statements by the start of their period.
    static let statementPeriod = RecordIndex<SettlementStatement>(id: 1, name: "period", unique: false) {
        [[.int(Timestamps.nanos($0.period?.start)), .string($0.id)]]
    }
    static let statements = RecordTable<SettlementStatement>(
        id: 516,
        name: "settlement_statements",
        noun: "settlement statement",
        primaryKey: { .string($0.id) },
        indexes: [statementPeriod]
    )

    static let keyspace: [KeyspaceEntry] =
        KeyspaceEntry.table(feeRates, owner: "orders") + KeyspaceEntry.table(settlements, owner: "orders")
        + KeyspaceEntry.table(statements, owner: "orders")
}

/// Money arithmetic of settlements.
enum SettlementMath {
    /// The fee a channel keeps of a payment of `gross` with fee `fee` once
    /// `refunded` of it went back: the fee reduced in proportion, half up.
    static func fee(_ fee: Int64, gross: Int64, refunded: Int64) -> Int64 {
        PriceMath.scaledHalfUp(fee, by: max(0, gross - refunded), over: gross)
    }
}

/// The one place order settlements change, inside the payment, refund and order
/// changes that cause them: a SALE per successful payment, refunds taken off it
/// while it is not in a statement (an adjustment once it is), READY when the order
/// is final.
struct SettlementBook {
    let transaction: ServiceTransaction
    let currency: String

    var now: Timestamp { transaction.now }

    private func money(_ minorUnits: Int64) -> Money { Money(minorUnits: minorUnits, currency: currency) }

    /// The fee of a successful payment of `amount` over `channel` by its rate.
    func fee(of amount: Int64, channel: PaymentChannel) async throws -> Int64 {
        let rate = try await transaction.get(SettlementTables.feeRates, [.int(Int64(channel.rawValue))])
        return PriceMath.scaledHalfUp(amount, by: Int64(rate?.feeBps ?? 0), over: 10_000)
    }

    /// Records the SALE of a payment that just succeeded.
    func recordSale(_ payment: Payment, of order: Order) async throws {
        let gross = payment.amount?.minorUnits ?? 0
        let fee = payment.channelFee?.minorUnits ?? 0
        try await transaction.insert(
            SettlementTables.settlements,
            OrderSettlement(
                id: RecordIDs.make(prefix: "stl"),
                kind: .sale,
                orderID: order.id,
                paymentID: payment.id,
                channel: payment.channel,
                status: .pending,
                grossAmount: money(gross),
                refundedAmount: money(0),
                channelFee: money(fee),
                netAmount: money(try Checked.add(gross, -fee, field: "amount")),
                fulfillmentLocationIDs: Array(Set(order.fulfillmentParts.map(\.locationID))).sorted(),
                createdAt: now,
                updatedAt: now,
                version: 1
            )
        )
    }

    /// Takes a refund that succeeded off its payment's SALE, or, when the SALE is in
    /// a statement already, records a READY adjustment. A surplus payment's refund
    /// makes its SALE READY.
    func recordRefund(_ refund: Refund, payment: Payment, surplus: Bool) async throws {
        let records = try await transaction.all(
            SettlementTables.settlements,
            RecordQuery(index: SettlementTables.settlementPayment, prefix: [.string(payment.id)], pageSize: 100),
            limit: 10_000
        )
        guard var sale = records.first(where: { $0.kind == .sale }) else { return }
        let amount = refund.amount?.minorUnits ?? 0
        let gross = sale.grossAmount?.minorUnits ?? 0
        let paymentFee = payment.channelFee?.minorUnits ?? 0
        // Everything refunded of the payment so far, and the fee kept so far.
        var refunded = amount
        var kept: Int64 = 0
        for record in records {
            refunded = try Checked.add(refunded, record.refundedAmount?.minorUnits ?? 0, field: "amount")
            kept = try Checked.add(kept, record.channelFee?.minorUnits ?? 0, field: "amount")
        }
        let fee = SettlementMath.fee(paymentFee, gross: gross, refunded: refunded)
        if sale.status == .pending || sale.status == .ready {
            let saleRefunded = try Checked.add(sale.refundedAmount?.minorUnits ?? 0, amount, field: "amount")
            // The sale carries the fee still kept, less what adjustments gave back.
            let saleFee = try Checked.add(fee, -(kept - (sale.channelFee?.minorUnits ?? 0)), field: "amount")
            sale.refundedAmount = money(saleRefunded)
            sale.channelFee = money(saleFee)
            sale.netAmount = money(
                try Checked.add(gross, -(try Checked.add(saleRefunded, saleFee, field: "amount")), field: "amount")
            )
            if surplus, sale.status == .pending {
                sale.status = .ready
                sale.readyAt = now
            }
            try await transaction.updateVersioned(SettlementTables.settlements, &sale)
            return
        }
        let feeBack = try Checked.add(fee, -kept, field: "amount")
        try await transaction.insert(
            SettlementTables.settlements,
            OrderSettlement(
                id: RecordIDs.make(prefix: "stl"),
                kind: .refundAdjustment,
                orderID: sale.orderID,
                paymentID: payment.id,
                channel: payment.channel,
                status: .ready,
                grossAmount: money(0),
                refundedAmount: money(amount),
                channelFee: money(feeBack),
                netAmount: money(try Checked.add(-amount, -feeBack, field: "amount")),
                refundID: refund.id,
                adjustsSettlementID: sale.id,
                fulfillmentLocationIDs: sale.fulfillmentLocationIDs,
                createdAt: now,
                readyAt: now,
                updatedAt: now,
                version: 1
            )
        )
    }

    /// The order is final (COMPLETED or REFUNDED): its PENDING sales become READY.
    func orderFinal(_ order: Order) async throws {
        let records = try await transaction.all(
            SettlementTables.settlements,
            RecordQuery(index: SettlementTables.settlementOrder, prefix: [.string(order.id)], pageSize: 100),
            limit: 10_000
        )
        for var record in records where record.status == .pending {
            record.status = .ready
            record.readyAt = now
            try await transaction.updateVersioned(SettlementTables.settlements, &record)
        }
    }
}

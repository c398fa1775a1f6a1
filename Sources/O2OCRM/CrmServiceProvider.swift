import Logging
public import O2OMessages
public import O2ORPC
import O2OServiceKit
import O2OStorage
import Synchronization

/// Which stores exist: the inventory's locations, read through a port the server
/// fills (the CRM does not know the inventory).
package protocol CustomerStores: Sendable {
    /// Whether `id` is a location of the inventory.
    func isStore(_ id: String, in reader: some RecordReading) async throws -> Bool
}

/// A customer's order figures for the 360 view, from the orders domain.
package struct CustomerOrderFigures: Sendable {
    package var orderCount: Int64 = 0
    /// Paid minus refunded, in minor units of the loyalty currency.
    package var totalSpend: Int64 = 0
    package var paidOrderCount: Int64 = 0
    package var lastOrderAt: Timestamp?
    package var openOrderCount: Int64 = 0
    /// Newest first.
    package var recentOrderIDs: [String] = []

    package init() {}
}

/// A customer's ticket figures for the 360 view, from the care domain.
package struct CustomerTicketFigures: Sendable {
    package var openTicketCount: Int64 = 0
    package var totalTicketCount: Int64 = 0
    package var openAfterSalesCount: Int64 = 0
    /// Newest first.
    package var recentTicketIDs: [String] = []

    package init() {}
}

/// Where the 360 view's order figures come from; the server fills it once the
/// orders domain is served.
package protocol CustomerOrderSource: Sendable {
    func figures(customerID: String, recentLimit: Int) async throws -> CustomerOrderFigures
}

/// Where the 360 view's ticket figures come from; the server fills it once the care
/// domain is served.
package protocol CustomerTicketSource: Sendable {
    func figures(customerID: String, recentLimit: Int) async throws -> CustomerTicketFigures
}

/// The CRM service: customers with contact data, consent and erasure, addresses,
/// membership tiers from spend, the points ledger, segments, interaction notes and
/// the customer-360 view.
///
/// Every change of points goes through `PointsBook` inside one transaction that
/// reads the customer record (so concurrent changes of one customer's points run one
/// after the other, and a balance can never go below zero), with in-process locks per
/// customer so that a hot customer queues instead of retrying.
public final class CrmServiceProvider: CrmServiceProtocol {
    let store: ServiceStore
    let logger: Logger
    let stores: (any CustomerStores)?
    let orderSource: (any CustomerOrderSource)?
    let ticketSource: (any CustomerTicketSource)?
    /// Segments whose refresh is running (a second one gives ABORTED).
    let refreshing = Mutex<Set<String>>([])

    package init(
        store: ServiceStore,
        stores: (any CustomerStores)?,
        orders: (any CustomerOrderSource)? = nil,
        tickets: (any CustomerTicketSource)? = nil,
        logger: Logger
    ) {
        self.store = store
        self.stores = stores
        self.orderSource = orders
        self.ticketSource = tickets
        self.logger = logger
    }

    /// The lock of one customer's record: points, stats, tags and contact changes of
    /// the same customer queue on it.
    static func customerLock(_ id: String) -> String { "crm/customer/\(id)" }

    /// The settings as stored, or the defaults before anyone changed them.
    func settings(_ reader: some RecordReading) async throws -> LoyaltySettings {
        try await reader.get(CRMTables.settings, .string("settings")) ?? Self.defaultSettings
    }

    /// 1 point per yuan paid, valid a year; 100 points are worth 1 yuan, paying at most
    /// half an order, at least 100 at a time; tiers from the last 365 days of spend.
    static let defaultSettings = LoyaltySettings(
        currency: "CNY",
        earnPointsPerUnit: 1,
        earnUnit: Money(minorUnits: 100, currency: "CNY"),
        pointsValidityDays: 365,
        redeemPointsPerUnit: 100,
        redeemUnitValue: Money(minorUnits: 100, currency: "CNY"),
        maxRedeemBps: 5000,
        minRedeemPoints: 100,
        tierWindowDays: 365,
        version: 0
    )

    /// A customer that may still change: NOT_FOUND, or FAILED_PRECONDITION when erased.
    func changeableCustomer(
        _ reader: some RecordReading,
        _ id: String,
        field: String = "customer_id"
    ) async throws
        -> Customer
    {
        let customer = try await reader.require(CRMTables.customers, id, field: field)
        guard customer.status != .erased else {
            throw RPCError(code: .failedPrecondition, message: "\(field): customer '\(customer.id)' is erased")
        }
        return customer
    }

    /// A home store the inventory knows; NOT_FOUND otherwise.
    func checkStore(_ id: String, in reader: some RecordReading, field: String) async throws {
        guard !id.isEmpty else { return }
        _ = try Validate.id(id, field: field)
        if let stores, try await !stores.isStore(id, in: reader) {
            throw RPCError(code: .notFound, message: "\(field): no stock location '\(id)'")
        }
    }

    /// Who acts, for histories and ledgers.
    func actor(_ context: RPCServerContext) -> ChangeActor { context.actor }
}

/// CRM maintenance for operators.
public final class CrmAdminServiceProvider: CrmAdminServiceProtocol {
    let crm: CrmServiceProvider

    public init(crm: CrmServiceProvider) {
        self.crm = crm
    }

    public func checkPointsLedger(
        request: CheckPointsLedgerRequest,
        context: RPCServerContext
    ) async throws -> CheckPointsLedgerResponse {
        try await crm.checkPointsLedger(request)
    }

    public func sweepExpiredPoints(
        request: SweepExpiredPointsRequest,
        context: RPCServerContext
    ) async throws -> SweepExpiredPointsResponse {
        try await crm.sweepExpiredPoints(request, context)
    }
}

import Logging
import O2OMessages
public import O2ORPC
public import O2OServiceKit
import O2OStorage
public import ServiceLifecycle

/// The CRM as the server composes it: the service, its admin service, the points
/// expiry sweeper and the daily tier and segment sweep.
public struct CRMDomain: ServiceDomain {
    public let name = "crm"
    public let provider: CrmServiceProvider
    private let logger: Logger

    /// - Parameters:
    ///   - stores: Which home stores exist (the inventory's locations).
    ///   - orders: The order figures of the 360 view, once orders are served.
    ///   - tickets: The ticket figures of the 360 view, once care is served.
    package init(
        store: ServiceStore,
        stores: (any CustomerStores)?,
        orders: (any CustomerOrderSource)? = nil,
        tickets: (any CustomerTicketSource)? = nil,
        logger: Logger
    ) {
        provider = CrmServiceProvider(store: store, stores: stores, orders: orders, tickets: tickets, logger: logger)
        self.logger = logger
    }

    public var services: [any RPCService] { [provider, CrmAdminServiceProvider(crm: provider)] }
    /// What other domains may read of the CRM.
    package var reading: any CustomerReading { CustomerReader() }
    public var adminServices: [String] { [CrmAdminService.name] }
    public var keyspace: [KeyspaceEntry] { CRMTables.keyspace }

    public var jobs: [any Service] {
        let provider = self.provider
        return [
            PeriodicJob(name: "points expiry", every: .seconds(300), firstRunAfter: .seconds(30), logger: logger) {
                var more = true
                while more, !Task.isCancelled { more = try await provider.sweepExpired(limit: 1000).moreRemaining }
            },
            // A minute after start, so tier counts are current after a restart or a bulk
            // load (the demo's), then daily.
            PeriodicJob(
                name: "tier and segment sweep",
                every: .seconds(86_400),
                firstRunAfter: .seconds(60),
                logger: logger
            ) {
                try await provider.sweepTiersAndSegments()
            },
        ]
    }
}

extension CrmServiceProvider {
    /// Re-evaluates every customer's tier (a window moves on even without orders),
    /// counts each tier's members, and refreshes every segment.
    func sweepTiersAndSegments() async throws {
        var token: String?
        repeat {
            let page = try await store.latest.page(CRMTables.customers, RecordQuery(pageSize: 200, pageToken: token))
            for candidate in page.records where candidate.status != .erased {
                try await store.transaction(locking: [Self.customerLock(candidate.id)]) { transaction in
                    guard var customer = try await transaction.get(CRMTables.customers, .string(candidate.id)),
                        customer.status != .erased
                    else { return }
                    let before = customer
                    try await evaluateTier(&customer, in: transaction)
                    if customer != before { try await transaction.updateVersioned(CRMTables.customers, &customer) }
                }
            }
            token = page.nextPageToken
        } while !(token ?? "").isEmpty && !Task.isCancelled
        for tier in try await allTiers(store.latest) {
            var count: Int64 = 0
            try await store.latest.forEachPage(
                CRMTables.customers,
                RecordQuery(index: CRMTables.customerTier, prefix: [.string(tier.id)], pageSize: 500)
            ) { count += Int64($0.count) }
            try await store.transaction { transaction in
                guard var current = try await transaction.get(CRMTables.tiers, .string(tier.id)) else { return }
                current.memberCount = count
                try await transaction.update(CRMTables.tiers, current)
            }
        }
        for segment in try await store.latest.all(CRMTables.segments) where !Task.isCancelled {
            do {
                _ = try await refresh(segment.id, context: nil, requestID: nil)
            } catch let error as RPCError where error.code == .aborted {
                continue  // Someone is refreshing it right now.
            }
        }
    }
}

/// What other domains read of the CRM, inside their own transactions. The only way
/// in: no other domain knows the CRM's tables.
package protocol CustomerReading: Sendable {
    /// The customer, or nil (an erased customer is returned, with status ERASED).
    func customer(_ id: String, in reader: some RecordReading) async throws -> Customer?
    /// The membership tier, or nil.
    func tier(_ id: String, in reader: some RecordReading) async throws -> MembershipTier?
    /// The loyalty settings (the defaults until someone changed them).
    func loyaltySettings(in reader: some RecordReading) async throws -> LoyaltySettings
    /// The points the customer may spend at `time`: the balance without points past
    /// their expiry (as QuotePointsRedemption counts them).
    func spendablePoints(
        _ customer: Customer,
        at time: Timestamp,
        in reader: some RecordReading
    ) async throws
        -> Int64
}

struct CustomerReader: CustomerReading {
    func customer(_ id: String, in reader: some RecordReading) async throws -> Customer? {
        try await reader.get(CRMTables.customers, .string(id))
    }

    func tier(_ id: String, in reader: some RecordReading) async throws -> MembershipTier? {
        try await reader.get(CRMTables.tiers, .string(id))
    }

    func loyaltySettings(in reader: some RecordReading) async throws -> LoyaltySettings {
        try await reader.get(CRMTables.settings, .string("settings")) ?? CrmServiceProvider.defaultSettings
    }

    func spendablePoints(
        _ customer: Customer,
        at time: Timestamp,
        in reader: some RecordReading
    ) async throws
        -> Int64
    {
        try await CrmServiceProvider.spendable(customer, at: time, in: reader)
    }
}

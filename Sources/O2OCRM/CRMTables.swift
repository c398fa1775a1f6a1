import O2OMessages
import O2OServiceKit
import O2OStorage

/// The CRM's tables and their indexes. Table ids are part of every stored key: never
/// reuse one (the keyspace check refuses a clash at start).
enum CRMTables {
    /// Contact indexes hold only customers that are not erased, so that erasing frees
    /// the phone and the email for a new registration.
    static let customerPhone = RecordIndex<Customer>(id: 1, name: "phone", unique: true) { customer in
        customer.status == .erased || customer.phone.isEmpty ? [] : [[.string(customer.phone)]]
    }
    static let customerEmail = RecordIndex<Customer>(id: 2, name: "email", unique: true) { customer in
        customer.status == .erased || customer.email.isEmpty ? [] : [[.string(customer.email)]]
    }
    static let customerTier = RecordIndex<Customer>(id: 3, name: "tier", unique: false) {
        [[.string($0.tierID), .string($0.id)]]
    }
    static let customerTag = RecordIndex<Customer>(id: 4, name: "tag", unique: false) { customer in
        customer.tags.map { [.string($0), .string(customer.id)] }
    }
    static let customerHomeStore = RecordIndex<Customer>(id: 5, name: "home_store", unique: false) { customer in
        customer.homeStoreID.isEmpty ? [] : [[.string(customer.homeStoreID), .string(customer.id)]]
    }
    static let customerName = RecordIndex<Customer>(id: 6, name: "name", unique: false) { customer in
        customer.status == .erased ? [] : [[.string(customer.displayName.lowercased()), .string(customer.id)]]
    }
    /// Customers; ids sort by registration time, so the primary key lists them in
    /// that order.
    static let customers = RecordTable<Customer>(
        id: 300,
        name: "customers",
        noun: "customer",
        primaryKey: { .string($0.id) },
        indexes: [customerPhone, customerEmail, customerTier, customerTag, customerHomeStore, customerName]
    )

    static let addressCustomer = RecordIndex<CustomerAddress>(id: 1, name: "customer", unique: false) {
        [[.string($0.customerID), .string($0.id)]]
    }
    static let addresses = RecordTable<CustomerAddress>(
        id: 301,
        name: "customer_addresses",
        noun: "address",
        primaryKey: { .string($0.id) },
        indexes: [addressCustomer]
    )

    static let tierCode = RecordIndex<MembershipTier>(id: 1, name: "code", unique: true) { [[.string($0.code)]] }
    static let tierRank = RecordIndex<MembershipTier>(id: 2, name: "rank", unique: true) {
        [[.int(Int64($0.rank))]]
    }
    static let tiers = RecordTable<MembershipTier>(
        id: 302,
        name: "membership_tiers",
        noun: "membership tier",
        primaryKey: { .string($0.id) },
        indexes: [tierCode, tierRank]
    )

    /// The one settings record, under the key "settings".
    static let settings = RecordTable<LoyaltySettings>(
        id: 303,
        name: "loyalty_settings",
        noun: "loyalty settings",
        primaryKey: { _ in .string("settings") }
    )

    static let entryOrder = RecordIndex<PointsEntry>(id: 1, name: "order", unique: false) { entry in
        entry.orderID.isEmpty ? [] : [[.string(entry.customerID), .string(entry.orderID), .string(entry.id)]]
    }
    /// The points ledger, append-only. Keyed by customer and entry id (ids sort by
    /// creation), so one customer's entries are contiguous and in order.
    static let entries = RecordTable<PointsEntry>(
        id: 304,
        name: "points_entries",
        noun: "points entry",
        primaryKey: { [.string($0.customerID), .string($0.id)] },
        indexes: [entryOrder]
    )

    /// Soonest expiry first; points that never expire sort last.
    static func expiryKey(_ lot: PointsLot) -> Int64 {
        lot.expiresAt.map { Timestamps.nanos($0) } ?? .max
    }
    /// Lots in the order redemptions spend them: by customer, soonest expiry first,
    /// then oldest.
    static let lots = RecordTable<PointsLot>(
        id: 305,
        name: "points_lots",
        noun: "points lot",
        primaryKey: { lot in
            [
                .string(lot.customerID), .int(expiryKey(lot)), .int(Timestamps.nanos(lot.createdAt)),
                .string(lot.entryID),
            ]
        },
        indexes: [lotExpiry]
    )
    /// Lots that expire, by expiry, for the sweeper.
    static let lotExpiry = RecordIndex<PointsLot>(id: 1, name: "expiry", unique: false) { lot in
        lot.expiresAt == nil
            ? []
            : [
                [
                    .int(expiryKey(lot)), .string(lot.customerID), .int(Timestamps.nanos(lot.createdAt)),
                    .string(lot.entryID),
                ]
            ]
    }

    static let orderCompleted = RecordIndex<OrderLoyaltyRecord>(id: 1, name: "customer_completed", unique: false) {
        record in
        record.completedAt == nil
            ? [] : [[.string(record.customerID), .int(Timestamps.nanos(record.completedAt)), .string(record.orderID)]]
    }
    /// What crm knows of each order, by order id; completed ones by customer and time,
    /// for the qualifying spend of a tier window.
    static let orders = RecordTable<OrderLoyaltyRecord>(
        id: 306,
        name: "order_loyalty",
        noun: "order",
        primaryKey: { .string($0.orderID) },
        indexes: [orderCompleted]
    )

    /// Notes by customer and when the contact happened, which a backdated note makes
    /// differ from the order they were written in.
    static let noteOccurred = RecordIndex<InteractionNote>(id: 1, name: "customer_occurred", unique: false) { note in
        [[.string(note.customerID), .int(Timestamps.nanos(note.occurredAt)), .string(note.id)]]
    }
    /// Notes, by customer and id (newest last).
    static let notes = RecordTable<InteractionNote>(
        id: 307,
        name: "interaction_notes",
        noun: "interaction note",
        primaryKey: { [.string($0.customerID), .string($0.id)] },
        indexes: [noteOccurred]
    )

    static let segmentName = RecordIndex<CustomerSegment>(id: 1, name: "name", unique: true) {
        [[.string($0.name.lowercased())]]
    }
    static let segments = RecordTable<CustomerSegment>(
        id: 308,
        name: "customer_segments",
        noun: "segment",
        primaryKey: { .string($0.id) },
        indexes: [segmentName]
    )

    static let memberCustomer = RecordIndex<SegmentMember>(id: 1, name: "customer", unique: false) {
        [[.string($0.customerID), .string($0.segmentID), .int($0.generation)]]
    }
    /// Member snapshots: segment, snapshot generation, customer.
    static let members = RecordTable<SegmentMember>(
        id: 309,
        name: "segment_members",
        noun: "segment member",
        primaryKey: { [.string($0.segmentID), .int($0.generation), .string($0.customerID)] },
        indexes: [memberCustomer]
    )

    /// Every key prefix the CRM writes.
    static let keyspace: [KeyspaceEntry] = [
        KeyspaceEntry.table(customers, owner: "crm"), KeyspaceEntry.table(addresses, owner: "crm"),
        KeyspaceEntry.table(tiers, owner: "crm"), KeyspaceEntry.table(settings, owner: "crm"),
        KeyspaceEntry.table(entries, owner: "crm"), KeyspaceEntry.table(lots, owner: "crm"),
        KeyspaceEntry.table(orders, owner: "crm"), KeyspaceEntry.table(notes, owner: "crm"),
        KeyspaceEntry.table(segments, owner: "crm"), KeyspaceEntry.table(members, owner: "crm"),
    ].flatMap { $0 }
}

extension Customer: VersionedRecord, Identified {}
extension MembershipTier: VersionedRecord, Identified {}
extension CustomerSegment: VersionedRecord, Identified {}

import Foundation
import O2OClient
import O2OServiceKit
import O2OServiceTestSupport
import O2OTestSupport
import Testing

/// Random sequences of points operations (earning, redeeming, refunds, adjustments,
/// clock jumps across expiry dates, sweeps, retried requests), checked after every
/// step against a plain model of each customer's lots.
@Suite("CRM points against a model")
struct PointsModelTests {
    /// Points that expire together, in the order the server spends them.
    struct Lot {
        var expiry: Int64  // seconds; .max for never
        var created: Int64  // nanoseconds
        var entry: String
        var points: Int64

        var key: (Int64, Int64, String) { (expiry, created, entry) }
    }

    struct Account {
        var id: String
        var balance: Int64 = 0
        var lots: [Lot] = []
        var earned: Int64 = 0
        var redeemed: Int64 = 0
        var expired: Int64 = 0

        mutating func sortLots() { lots.sort { $0.key < $1.key } }

        func due(at now: Int64) -> [Lot] { lots.filter { $0.expiry <= now } }

        /// Points usable now: the balance without lots past their expiry.
        func spendable(at now: Int64) -> Int64 { balance - due(at: now).reduce(0) { $0 + $1.points } }

        mutating func expireDue(at now: Int64) {
            let gone = due(at: now).reduce(0) { $0 + $1.points }
            lots.removeAll { $0.expiry <= now }
            balance -= gone
            expired += gone
        }

        /// New points pay back a negative balance first.
        mutating func add(_ new: [Lot]) {
            var debt = max(0, -balance)
            for var lot in new {
                balance += lot.points
                let covered = min(debt, lot.points)
                debt -= covered
                lot.points -= covered
                if lot.points > 0 { lots.append(lot) }
            }
            sortLots()
        }

        /// Takes points soonest-expiring first (`preferred`'s lot before all others).
        mutating func remove(_ points: Int64, preferred: String = "") -> [Lot] {
            if let index = lots.firstIndex(where: { $0.entry == preferred }) {
                lots.insert(lots.remove(at: index), at: 0)
            }
            var left = points
            var taken: [Lot] = []
            for index in lots.indices where left > 0 {
                let part = min(left, lots[index].points)
                left -= part
                lots[index].points -= part
                taken.append(Lot(expiry: lots[index].expiry, created: 0, entry: lots[index].entry, points: part))
            }
            lots.removeAll { $0.points == 0 }
            sortLots()
            balance -= points
            return taken
        }
    }

    struct Order {
        var account: Int
        var paid: Int64 = 0
        var completed = false
        var earned: Int64 = 0
        var earnEntry = ""
        var reversed: Int64 = 0
        var refunded: Int64 = 0
        var refundIDs: Set<String> = []
        var redeemedLots: [Lot]? = nil
        var returned = false
    }

    static func seconds(_ timestamp: Timestamp?) -> Int64 { timestamp?.seconds ?? .max }

    /// The default settings: 1 point per yuan, points valid to the end of the 365th
    /// day, 100 points a yuan, at most half an order, at least 100 at a time.
    static func expiry(earnedAt created: Timestamp?) -> Int64 {
        ((created?.seconds ?? 0) / 86_400 + 366) * 86_400
    }

    @Test("random earn, redeem, refund, adjust, expiry and retries match the model", arguments: StoreKind.allCases)
    func randomSequences(kind: StoreKind) async throws {
        let seed = UInt64.random(in: 1...UInt64.max)
        var random = SeededRandom(seed: seed)
        try await ServiceHarness.run(kind) { harness in
            // Noon, so that no step is near a midnight, where points expire.
            let start = harness.clock.clock.now().seconds
            harness.clock.advance(seconds: (86_400 + 43_200 - start % 86_400) % 86_400)
            var accounts = [
                Account(id: try await harness.customer("甲").id), Account(id: try await harness.customer("乙").id),
            ]
            var orders: [String: Order] = [:]
            var retries: [(what: String, call: @Sendable () async throws -> String, answer: String)] = []
            let steps = kind == .memory ? 300 : 150

            func outcome<T>(_ body: () async throws -> T) async throws -> Result<T, RPCError> {
                do { return .success(try await body()) } catch let error as RPCError { return .failure(error) }
            }
            func expectCode<T>(_ result: Result<T, RPCError>, _ code: RPCStatusCode?, _ context: String) -> T? {
                switch result {
                case .success(let value):
                    #expect(code == nil, "seed \(seed) \(context): succeeded, expected \(code.map { "\($0)" } ?? "")")
                    return value
                case .failure(let error):
                    #expect(error.code == code, "seed \(seed) \(context): \(error)")
                    return nil
                }
            }
            func remember<T: Sendable>(_ what: String, _ answer: T, _ call: @escaping @Sendable () async throws -> T) {
                retries.append((what, { "\(try await call())" }, "\(answer)"))
            }

            func expectMatches(_ step: Int, _ what: String) async throws {
                let now = harness.clock.clock.now().seconds
                for account in accounts {
                    let context = "seed \(seed) step \(step) (\(what)) \(account.id)"
                    let balance = try await harness.crm.getPointsBalance(
                        GetPointsBalanceRequest(customerID: account.id)
                    )
                    #expect(balance.balance == account.balance, "\(context): balance")
                    #expect(balance.lifetimeEarned == account.earned, "\(context): earned")
                    #expect(balance.lifetimeRedeemed == account.redeemed, "\(context): redeemed")
                    #expect(balance.lifetimeExpired == account.expired, "\(context): expired")
                    var buckets: [(Int64, Int64)] = []
                    for lot in account.lots where lot.expiry != .max {
                        if buckets.last?.0 == lot.expiry {
                            buckets[buckets.count - 1].1 += lot.points
                        } else {
                            buckets.append((lot.expiry, lot.points))
                        }
                    }
                    let server = balance.upcomingExpiries.map { (Self.seconds($0.expiresAt), $0.points) }
                    #expect(
                        server.elementsEqual(buckets.prefix(12), by: ==),
                        "\(context): expiries \(server), model \(buckets)"
                    )
                    let quote = try await harness.crm.quotePointsRedemption(
                        QuotePointsRedemptionRequest(customerID: account.id, orderAmount: cny(100_000_000_000))
                    )
                    let usable = max(0, account.spendable(at: now)) / 100 * 100
                    #expect(quote.maxPoints == (usable < 100 ? 0 : usable), "\(context): spendable")
                }
            }

            for step in 0..<steps {
                let now = harness.clock.clock.now().seconds
                let which = Int.random(in: 0..<accounts.count, using: &random)
                let customer = accounts[which].id
                var what = ""
                switch Int.random(in: 0..<20, using: &random) {
                case 0...3:
                    // Completes an order: a new one, or one that redeemed points first.
                    let open = orders.filter { !$0.value.completed && $0.value.account == which }.keys.sorted()
                    let orderID = open.randomElement(using: &random) ?? "ord-\(step)"
                    let paid = Int64.random(in: 0...300_000, using: &random)
                    what = "complete \(orderID) paying \(paid)"
                    let request = RecordCompletedOrderRequest(
                        requestID: rid(),
                        customerID: customer,
                        orderID: orderID,
                        paidAmount: cny(paid)
                    )
                    guard
                        let response = expectCode(
                            try await outcome { try await harness.crm.recordCompletedOrder(request) },
                            nil,
                            what
                        )
                    else { break }
                    remember(what, response) { try await harness.crm.recordCompletedOrder(request) }
                    var order = orders[orderID] ?? Order(account: which)
                    order.completed = true
                    order.paid = paid
                    order.earned = paid / 100
                    if let entry = response.earned {
                        #expect(entry.points == paid / 100, "seed \(seed) \(what): earned \(entry.points)")
                        #expect(
                            Self.seconds(entry.expiresAt) == Self.expiry(earnedAt: entry.createdAt),
                            "seed \(seed) \(what): expires \(entry.expiresAt.map { "\($0)" } ?? "never")"
                        )
                        order.earnEntry = entry.id
                        accounts[which].earned += entry.points
                        accounts[which].add([
                            Lot(
                                expiry: Self.expiry(earnedAt: entry.createdAt),
                                created: Timestamps.nanos(entry.createdAt),
                                entry: entry.id,
                                points: entry.points
                            )
                        ])
                    } else {
                        #expect(paid < 100, "seed \(seed) \(what): nothing earned")
                    }
                    orders[orderID] = order
                    let again = expectCode(
                        try await outcome {
                            try await harness.crm.recordCompletedOrder(
                                RecordCompletedOrderRequest(
                                    requestID: rid(),
                                    customerID: customer,
                                    orderID: orderID,
                                    paidAmount: cny(paid)
                                )
                            )
                        },
                        .alreadyExists,
                        "\(what), again under another request id"
                    )
                    _ = again
                case 4...7:
                    // Redeems at checkout of a new order.
                    let orderID = "ord-\(step)"
                    let points = Int64.random(in: 0...30, using: &random) * 100 + (random.next() % 8 == 0 ? 50 : 0)
                    let amount = Int64.random(in: 1...400_000, using: &random)
                    what = "redeem \(points) on \(orderID) of \(amount)"
                    let request = RedeemPointsRequest(
                        requestID: rid(),
                        customerID: customer,
                        orderID: orderID,
                        points: points,
                        orderAmount: cny(amount)
                    )
                    var account = accounts[which]
                    account.expireDue(at: now)
                    let expected: RPCStatusCode? =
                        points == 0 || points % 100 != 0
                        ? .invalidArgument
                        : points > amount / 2 || points > account.balance ? .failedPrecondition : nil
                    guard
                        let response = expectCode(
                            try await outcome { try await harness.crm.redeemPoints(request) },
                            expected,
                            what
                        )
                    else { break }
                    remember(what, response) { try await harness.crm.redeemPoints(request) }
                    #expect(response.value?.minorUnits == points, "seed \(seed) \(what): worth")
                    let taken = account.remove(points)
                    account.redeemed += points
                    accounts[which] = account
                    orders[orderID] = Order(account: which, redeemedLots: taken)
                case 8...10:
                    // A refund or a cancellation of a known order.
                    guard
                        let orderID = orders.filter({ $0.value.account == which }).keys.sorted().randomElement(
                            using: &random
                        ), var order = orders[orderID]
                    else { break }
                    let whole = Int.random(in: 0..<3, using: &random) == 0
                    let left = order.paid - order.refunded
                    let refund =
                        Int.random(in: 0..<6, using: &random) == 0
                        ? left + 1 : Int64.random(in: 0...max(0, left), using: &random)
                    let reuse = Int.random(in: 0..<8, using: &random) == 0
                    let refundID =
                        reuse ? (order.refundIDs.sorted().randomElement(using: &random) ?? "") : "rf-\(step)"
                    what = "reverse \(orderID) refund \(refund) of \(left) left as \(refundID)\(whole ? ", whole" : "")"
                    let request = ReverseOrderPointsRequest(
                        requestID: rid(),
                        customerID: customer,
                        orderID: orderID,
                        refundID: refundID,
                        refundAmount: cny(refund),
                        wholeOrder: whole
                    )
                    let expected: RPCStatusCode? =
                        order.refundIDs.contains(refundID)
                        ? .alreadyExists
                        : refund > 0 && order.refunded + refund > order.paid ? .failedPrecondition : nil
                    guard
                        let response = expectCode(
                            try await outcome { try await harness.crm.reverseOrderPoints(request) },
                            expected,
                            what
                        )
                    else { break }
                    remember(what, response) { try await harness.crm.reverseOrderPoints(request) }
                    var account = accounts[which]
                    var entries = response.entries[...]
                    if order.earned > 0 {
                        let share =
                            whole || order.paid == 0
                            ? order.earned : (order.earned * refund + order.paid - 1) / order.paid
                        let takeBack = min(share, order.earned - order.reversed)
                        if takeBack > 0 {
                            #expect(entries.first?.points == -takeBack, "seed \(seed) \(what): taken back")
                            entries = entries.dropFirst()
                            account.expireDue(at: now)
                            _ = account.remove(takeBack, preferred: order.earnEntry)
                            order.reversed += takeBack
                        }
                    }
                    if whole, let lots = order.redeemedLots, !order.returned {
                        let back = lots.filter { $0.expiry > now }
                        if !back.isEmpty {
                            let entry = entries.first
                            let total = back.reduce(0) { $0 + $1.points }
                            #expect(entry?.points == total, "seed \(seed) \(what): returned")
                            entries = entries.dropFirst()
                            account.redeemed -= total
                            account.add(
                                back.map {
                                    Lot(
                                        expiry: $0.expiry,
                                        created: Timestamps.nanos(entry?.createdAt),
                                        entry: entry?.id ?? "",
                                        points: $0.points
                                    )
                                }
                            )
                        }
                        order.returned = true
                    }
                    #expect(entries.isEmpty, "seed \(seed) \(what): unexpected entries \(entries)")
                    order.refundIDs.insert(refundID)
                    order.refunded += refund
                    accounts[which] = account
                    orders[orderID] = order
                case 11...12:
                    // Goodwill or a correction; sometimes with its own expiry.
                    let points = Int64.random(in: -2_000...2_000, using: &random)
                    let days = Int64.random(in: 1...400, using: &random)
                    let own = points > 0 && Bool.random(using: &random)
                    let expiresAt = own ? Timestamp(seconds: (now / 86_400 + days) * 86_400) : nil
                    what = "adjust \(points)\(own ? " until day +\(days)" : "")"
                    let request = AdjustPointsRequest(
                        requestID: rid(),
                        customerID: customer,
                        points: points,
                        note: "model",
                        expiresAt: expiresAt
                    )
                    var account = accounts[which]
                    if points < 0 { account.expireDue(at: now) }
                    let expected: RPCStatusCode? =
                        points == 0
                        ? .invalidArgument : points < 0 && -points > account.balance ? .failedPrecondition : nil
                    guard
                        let entry = expectCode(
                            try await outcome { try await harness.crm.adjustPoints(request) },
                            expected,
                            what
                        )
                    else { break }
                    remember(what, entry) { try await harness.crm.adjustPoints(request) }
                    if points > 0 {
                        let expiry = own ? Self.seconds(expiresAt) : Self.expiry(earnedAt: entry.createdAt)
                        #expect(Self.seconds(entry.expiresAt) == expiry, "seed \(seed) \(what): expiry")
                        account.add([
                            Lot(
                                expiry: expiry,
                                created: Timestamps.nanos(entry.createdAt),
                                entry: entry.id,
                                points: points
                            )
                        ])
                    } else {
                        _ = account.remove(-points)
                    }
                    accounts[which] = account
                case 13...14:
                    let days = Int64.random(in: 1...150, using: &random)
                    what = "clock +\(days) days"
                    harness.clock.advance(seconds: days * 86_400)
                case 15:
                    what = "sweep"
                    let swept = try await harness.crmAdmin.sweepExpiredPoints(
                        SweepExpiredPointsRequest(requestID: rid())
                    )
                    let before = accounts.reduce(0) { $0 + $1.expired }
                    for index in accounts.indices { accounts[index].expireDue(at: now) }
                    let after = accounts.reduce(0) { $0 + $1.expired }
                    #expect(swept.expiredPoints == after - before, "seed \(seed) step \(step): swept \(swept)")
                default:
                    // A retried request answers as it did the first time and changes
                    // nothing.
                    guard let retry = retries.randomElement(using: &random) else { break }
                    what = "retry of \(retry.what)"
                    let answer = try await retry.call()
                    #expect(answer == retry.answer, "seed \(seed) step \(step) \(what)")
                }
                try await expectMatches(step, what)
                if step % 25 == 24 { try await harness.expectPointsConsistent() }
            }
            try await harness.expectPointsConsistent()
        }
    }
}

import O2OMessages
import O2OPricing
import O2ORPC
import O2OServiceKit
import O2OStorage

extension PromotionServiceProvider {
    /// The alphabet of coupon codes: A–Z and 2–9 without the look-alikes O, I (and 0,
    /// 1), 32 symbols, so each character is 5 random bits and a code 60.
    static let codeAlphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZ23456789".utf8)

    /// A fresh, unguessable code from the system's secure random source.
    static func newCode() -> String {
        var generator = SystemRandomNumberGenerator()
        let bits = generator.next() as UInt64
        return String(decoding: (0..<12).map { codeAlphabet[Int((bits >> (5 * UInt64($0))) & 31)] }, as: UTF8.self)
    }

    /// A code not yet taken by a coupon or a shared code.
    private func freeCode(in transaction: ServiceTransaction, taken: inout Set<String>) async throws -> String {
        for _ in 0..<8 {
            let code = Self.newCode()
            guard !taken.contains(code),
                try await transaction.lookup(PromotionTables.coupons, PromotionTables.couponCode, .string(code)) == nil,
                try await transaction.lookup(PromotionTables.promotions, PromotionTables.promotionCode, .string(code))
                    == nil
            else { continue }
            taken.insert(code)
            return code
        }
        throw RPCError(code: .unavailable, message: "could not find a free coupon code; try again")
    }

    public func issueCoupons(
        request: IssueCouponsRequest,
        context: RPCServerContext
    ) async throws -> IssueCouponsResponse {
        let customers: [String]
        let bearerCount: Int
        switch request.recipients {
        case .customers(let list)?:
            guard (1...1000).contains(list.customerIDs.count) else {
                throw RPCError.invalidArgument(
                    field: "customers.customer_ids",
                    "must be 1 to 1000 customers, got \(list.customerIDs.count)"
                )
            }
            var seen = Set<String>()
            for (index, id) in list.customerIDs.enumerated() {
                _ = try Validate.id(id, field: "customers.customer_ids[\(index)]")
                guard seen.insert(id).inserted else {
                    throw RPCError.invalidArgument(field: "customers.customer_ids[\(index)]", "'\(id)' is listed twice")
                }
            }
            customers = list.customerIDs
            bearerCount = 0
        case .bearerCount(let count)?:
            guard (1...1000).contains(count) else {
                throw RPCError.invalidArgument(field: "bearer_count", "must be 1 to 1000, got \(count)")
            }
            customers = []
            bearerCount = Int(count)
        case nil:
            throw RPCError.invalidArgument(field: "customers", "give customers or bearer_count")
        }
        let expiresAt = try request.expiresAt.map { try Validate.timestamp($0, field: "expires_at") }
        let actor = try actor(context, request.actor)
        let promotionID = try Validate.id(request.promotionID, field: "promotion_id")
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: [Self.promotionLock(promotionID)]
        ) { transaction in
            var promotion = try await transaction.require(
                PromotionTables.promotions,
                promotionID,
                field: "promotion_id"
            )
            guard promotion.kind == .coupon else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "promotion_id: promotion '\(promotion.id)' is a \(promotion.kind.displayName), "
                        + "not a COUPON campaign"
                )
            }
            let status = Self.status(of: promotion, at: transaction.now)
            guard status == .scheduled || status == .running else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "promotion_id: promotion '\(promotion.id)' is \(status.displayName): no more coupons"
                )
            }
            for (index, id) in customers.enumerated() {
                guard let customer = try await self.customers.customer(id, in: transaction), customer.status != .erased
                else {
                    throw RPCError(code: .notFound, message: "customers.customer_ids[\(index)]: no customer '\(id)'")
                }
            }
            let count = customers.isEmpty ? bearerCount : customers.count
            let issued = try Checked.add(promotion.issuedCouponCount, Int64(count), field: "bearer_count")
            if promotion.totalUsageLimit > 0, issued > promotion.totalUsageLimit {
                throw RPCError(
                    code: .resourceExhausted,
                    message: "promotion '\(promotion.id)' may have \(promotion.totalUsageLimit) coupons; "
                        + "\(promotion.issuedCouponCount) are issued, \(count) more asked for"
                )
            }
            // The rule: coupon_validity_days after issue or the end, whichever is first.
            var expiry = promotion.endsAt ?? transaction.now
            if promotion.couponValidityDays > 0 {
                let byDays = Timestamps.adding(
                    seconds: Int64(promotion.couponValidityDays) * 86_400,
                    to: transaction.now
                )
                if Timestamps.nanos(byDays) < Timestamps.nanos(expiry) { expiry = byDays }
            }
            if let expiresAt {
                guard Timestamps.nanos(expiresAt) <= Timestamps.nanos(promotion.endsAt) else {
                    throw RPCError.invalidArgument(field: "expires_at", "must not be after the promotion's ends_at")
                }
                guard !Timestamps.isPast(expiresAt, now: transaction.now) else {
                    throw RPCError.invalidArgument(field: "expires_at", "must be in the future")
                }
                if Timestamps.nanos(expiresAt) < Timestamps.nanos(expiry) { expiry = expiresAt }
            }
            var taken = Set<String>()
            var coupons: [Coupon] = []
            for index in 0..<count {
                let coupon = Coupon(
                    id: RecordIDs.make(prefix: "cpn"),
                    code: try await freeCode(in: transaction, taken: &taken),
                    promotionID: promotion.id,
                    customerID: customers.isEmpty ? "" : customers[index],
                    status: .available,
                    issuedAt: transaction.now,
                    expiresAt: expiry,
                    requestID: request.requestID,
                    issuedBy: actor,
                    updatedAt: transaction.now,
                    version: 1
                )
                try await transaction.insert(PromotionTables.coupons, coupon)
                coupons.append(coupon)
            }
            promotion.issuedCouponCount = issued
            try await transaction.updateVersioned(PromotionTables.promotions, &promotion)
            return IssueCouponsResponse(coupons: coupons)
        }
    }

    /// The coupon of an id or a code (any case).
    private func coupon(_ key: GetCouponRequest.Key?, in reader: some RecordReading) async throws -> Coupon {
        switch key {
        case .id(let id)?:
            return try await reader.require(PromotionTables.coupons, id, field: "id")
        case .code(let code)?:
            let normal = PricingEngine.normalCode(code)
            guard !normal.isEmpty, normal.utf8.count <= 32 else {
                throw RPCError.invalidArgument(field: "code", "must be 1 to 32 characters")
            }
            guard
                let found = try await reader.lookup(
                    PromotionTables.coupons,
                    PromotionTables.couponCode,
                    .string(normal)
                )
            else { throw RPCError(code: .notFound, message: "code: no coupon has this code") }
            return found
        case nil:
            throw RPCError.invalidArgument(field: "id", "give an id or a code")
        }
    }

    public func getCoupon(request: GetCouponRequest, context: RPCServerContext) async throws -> Coupon {
        try await store.read { reader in
            let coupon = try await coupon(request.key, in: reader)
            let promotion = try await reader.get(PromotionTables.promotions, .string(coupon.promotionID))
            return Self.shown(coupon, promotion: promotion, at: store.now())
        }
    }

    public func listCoupons(request: ListCouponsRequest, context: RPCServerContext) async throws -> ListCouponsResponse
    {
        let customer = request.customerID.isEmpty ? nil : try Validate.id(request.customerID, field: "customer_id")
        let promotion = request.promotionID.isEmpty ? nil : try Validate.id(request.promotionID, field: "promotion_id")
        guard customer != nil || promotion != nil else {
            throw RPCError.invalidArgument(field: "customer_id", "give customer_id or promotion_id (or both)")
        }
        let status = try Validate.known(request.status, field: "status", noun: "coupon status")
        let now = store.now()
        // Statuses shown depend on the promotion (deactivated) and the time (expired).
        let deactivated = try await store.read { reader in
            var ids: Set<String> = []
            if let promotion, let found = try await reader.get(PromotionTables.promotions, .string(promotion)),
                found.status == .deactivated
            {
                ids.insert(promotion)
            }
            return ids
        }
        let page = try await store.newestFirst(
            PromotionTables.coupons,
            by: [(PromotionTables.couponCustomer, customer), (PromotionTables.couponPromotion, promotion)],
            page: request.page,
            filters: ["customer=\(customer ?? "")", "promotion=\(promotion ?? "")", "status=\(status.rawValue)"],
            predicate: { coupon in
                if let promotion, coupon.promotionID != promotion { return false }
                guard status != .unspecified else { return true }
                var shown = coupon.status
                if shown == .available,
                    Timestamps.isPast(coupon.expiresAt, now: now) || deactivated.contains(coupon.promotionID)
                {
                    shown = .expired
                }
                return shown == status
            }
        )
        // The promotions of the page, once each, for the statuses shown.
        let promotions = try await store.read { reader in
            var found: [String: Promotion] = [:]
            for id in Set(page.records.map(\.promotionID)) {
                found[id] = try await reader.get(PromotionTables.promotions, .string(id))
            }
            return found
        }
        var shown = page.records.map { Self.shown($0, promotion: promotions[$0.promotionID], at: now) }
        // A customer's list filtered by status may show a coupon whose promotion was
        // deactivated as AVAILABLE in the predicate; the page shows the truth.
        if status != .unspecified { shown.removeAll { $0.status != status } }
        return ListCouponsResponse(coupons: shown, nextPageToken: page.nextPageToken)
    }

    public func voidCoupon(request: VoidCouponRequest, context: RPCServerContext) async throws -> Coupon {
        let reason = try Validate.text(request.reason, field: "reason", min: 1, max: 256)
        _ = try actor(context, request.actor)
        let id = try Validate.id(request.id, field: "id")
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: [Self.couponLock(id)]
        ) { transaction in
            var coupon = try await transaction.require(PromotionTables.coupons, id, field: "id")
            let promotion = try await transaction.get(PromotionTables.promotions, .string(coupon.promotionID))
            let shown = Self.shown(coupon, promotion: promotion, at: transaction.now)
            switch shown.status {
            case .voided:
                return shown
            case .available:
                coupon.status = .voided
                coupon.voidedAt = transaction.now
                coupon.voidReason = reason
                try await transaction.updateVersioned(PromotionTables.coupons, &coupon)
                return coupon
            default:
                throw RPCError(
                    code: .failedPrecondition,
                    message:
                        "id: coupon '\(coupon.id)' is \(shown.status.displayName); only an AVAILABLE coupon can be voided"
                )
            }
        }
    }
}

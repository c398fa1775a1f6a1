import O2OCRM
import O2OCatalog
import O2OInventory
public import O2OMessages
import O2OPricing
import O2OPromotions
public import O2ORPC
import O2OServiceKit
import O2OStorage

/// A checkout spec with every field checked.
struct CheckedCheckout: Sendable {
    var customerID: String
    /// The lines given, or (for a cart) filled from its selected items.
    var lines: [CheckoutLine]
    var cartID: String?
    var fulfillment: CheckoutFulfillment
    var couponCodes: [String]
    var points: Int64
    var deviceID: String
    var customerNote: String
}

extension OrderServiceProvider {
    /// The checks of a checkout spec that need no storage, naming the field.
    func check(_ spec: CheckoutSpec?, field: String) throws -> CheckedCheckout {
        guard let spec else { throw RPCError.invalidArgument(field: field, "is required") }
        let customerID = try Validate.id(spec.customerID, field: "\(field).customer_id")
        var lines: [CheckoutLine] = []
        var cartID: String?
        switch spec.source {
        case .lines(let list)?:
            guard (1...100).contains(list.lines.count) else {
                throw RPCError.invalidArgument(
                    field: "\(field).lines.lines",
                    "must be 1 to 100 lines, got \(list.lines.count)"
                )
            }
            var seen = Set<String>()
            for (index, line) in list.lines.enumerated() {
                let path = "\(field).lines.lines[\(index)]"
                _ = try Validate.id(line.skuID, field: "\(path).sku_id")
                guard seen.insert(line.skuID).inserted else {
                    throw RPCError.invalidArgument(field: "\(path).sku_id", "'\(line.skuID)' is there twice")
                }
                guard (1...999).contains(line.quantity) else {
                    throw RPCError.invalidArgument(field: "\(path).quantity", "must be 1 to 999, got \(line.quantity)")
                }
            }
            lines = list.lines
        case .cartID(let id)?:
            cartID = try Validate.id(id, field: "\(field).cart_id")
        case nil:
            throw RPCError.invalidArgument(field: "\(field).lines", "give lines or a cart_id")
        }
        guard let fulfillment = spec.fulfillment else {
            throw RPCError.invalidArgument(field: "\(field).fulfillment", "is required")
        }
        let mode = try Validate.known(fulfillment.mode, field: "\(field).fulfillment.mode", noun: "fulfilment mode")
        switch mode {
        case .unspecified:
            throw RPCError.invalidArgument(field: "\(field).fulfillment.mode", "is required")
        case .delivery, .storeDelivery:
            let path = "\(field).fulfillment.shipping_address"
            guard let address = try Validate.address(fulfillment.shippingAddress, field: path) else {
                throw RPCError.invalidArgument(field: path, "is required for \(mode.displayName)")
            }
            _ = try Validate.text(address.recipientName, field: "\(path).recipient_name", min: 1, max: 64)
            guard !address.recipientPhone.isEmpty else {
                throw RPCError.invalidArgument(field: "\(path).recipient_phone", "is required")
            }
            _ = try Validate.phone(address.recipientPhone, field: "\(path).recipient_phone")
            if mode == .storeDelivery {
                _ = try Validate.point(address.location, field: "\(path).location")
            } else if address.location != nil {
                _ = try Validate.point(address.location, field: "\(path).location")
            }
        case .storePickup:
            if fulfillment.pickupLocationID.isEmpty {
                _ = try Validate.point(fulfillment.customerLocation, field: "\(field).fulfillment.customer_location")
            } else {
                _ = try Validate.id(fulfillment.pickupLocationID, field: "\(field).fulfillment.pickup_location_id")
            }
        default:
            break
        }
        guard spec.couponCodes.count <= 5 else {
            throw RPCError.invalidArgument(field: "\(field).coupon_codes", "at most 5, got \(spec.couponCodes.count)")
        }
        for (index, code) in spec.couponCodes.enumerated() {
            guard (4...32).contains(code.utf8.count),
                code.utf8.allSatisfy({ ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) })
            else {
                throw RPCError.invalidArgument(
                    field: "\(field).coupon_codes[\(index)]",
                    "must be 4 to 32 letters and digits"
                )
            }
        }
        guard spec.pointsToRedeem >= 0 else {
            throw RPCError.invalidArgument(field: "\(field).points_to_redeem", "must be 0 or more")
        }
        let device = try Validate.text(spec.deviceID, field: "\(field).device_id", max: 128)
        let note = try Validate.text(spec.customerNote, field: "\(field).customer_note", max: 500)
        return CheckedCheckout(
            customerID: customerID,
            lines: lines,
            cartID: cartID,
            fulfillment: fulfillment,
            couponCodes: spec.couponCodes,
            points: spec.pointsToRedeem,
            deviceID: device,
            customerNote: note
        )
    }

    public func quoteOrder(request: QuoteOrderRequest, context: RPCServerContext) async throws -> OrderQuote {
        var checkout = try check(request.checkout, field: "checkout")
        if let cartID = checkout.cartID {
            checkout.lines = try await cartLines(cartID, customerID: checkout.customerID, field: "checkout.cart_id")
        }
        let now = store.now()
        let automatic = try await promotions.automatic(now: now)
        let (input, settings) = try await store.read { reader in
            try await pricingInput(checkout, automatic: automatic, now: now, in: reader)
        }
        let priced: PricedOrder
        do {
            priced = try PricingEngine.price(input)
        } catch {
            throw RPCError.invalidArgument(field: "checkout.\(error.field)", error.reason)
        }
        var quote = OrderQuote(
            currency: currency,
            lines: priced.lines,
            appliedPromotions: priced.appliedPromotions,
            rejectedCoupons: priced.rejectedCoupons,
            memberTierID: priced.memberTierID,
            memberDiscountBps: priced.memberDiscountBps,
            pointsBalance: priced.pointsBalance,
            maxRedeemablePoints: priced.maxRedeemablePoints,
            pointsRedeemed: priced.pointsRedeemed,
            pointsCapped: priced.pointsCapped,
            amounts: priced.amounts,
            quotedAt: now
        )
        let plan = try await placeStock(checkout, settings: settings)
        quote.fulfillmentParts = plan.parts
        for index in quote.lines.indices { quote.lines[index].fulfillmentLocationID = plan.lineLocations[index] }
        quote.fullyAvailable = plan.fullyAvailable
        quote.shortages = plan.shortages
        return quote
    }

    /// Everything the price depends on, read in one snapshot: the SKUs with their
    /// products and categories, the customer's tier and points, the coupons and the
    /// delivery fee of the mode.
    func pricingInput(
        _ checkout: CheckedCheckout,
        automatic: PromotionIndex,
        now: Timestamp,
        in reader: some RecordReading
    ) async throws -> (PricingInput, OrderSettings) {
        guard let customer = try await customers.customer(checkout.customerID, in: reader), customer.status != .erased
        else {
            throw RPCError(code: .notFound, message: "checkout.customer_id: no customer '\(checkout.customerID)'")
        }
        var lines: [PricingLine] = []
        for (index, line) in checkout.lines.enumerated() {
            let path = "checkout.lines.lines[\(index)].sku_id"
            guard let sku = try await catalog.sku(line.skuID, in: reader),
                let product = try await catalog.product(sku.productID, in: reader)
            else { throw RPCError(code: .notFound, message: "\(path): no SKU '\(line.skuID)'") }
            guard product.status == .onShelf, sku.status == .active else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "\(path): SKU '\(sku.id)' is not on sale (product \(product.status.displayName), "
                        + "SKU \(sku.status.displayName))"
                )
            }
            guard let price = sku.price, price.currency == currency else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "\(path): SKU '\(sku.id)' has no price in \(currency)"
                )
            }
            var categories: [String] = []
            var next = product.categoryID
            while !next.isEmpty, categories.count < 16, !categories.contains(next) {
                categories.append(next)
                next = try await catalog.category(next, in: reader)?.parentID ?? ""
            }
            let attributes = sku.attributes.map(\.value).joined(separator: ", ")
            lines.append(
                PricingLine(
                    lineID: String(index + 1),
                    skuID: sku.id,
                    productID: product.id,
                    productName: product.name,
                    skuName: attributes.isEmpty ? product.name : "\(product.name), \(attributes)",
                    categoryIDs: categories,
                    quantity: line.quantity,
                    listUnitPrice: price.minorUnits
                )
            )
        }
        var tier: PricingTier?
        if !customer.tierID.isEmpty, let found = try await customers.tier(customer.tierID, in: reader) {
            tier = PricingTier(id: found.id, name: found.name, discountBps: found.discountBps)
        }
        let loyalty = try await customers.loyaltySettings(in: reader)
        // Points pay only in the loyalty currency, and only for an ACTIVE customer.
        let usable = customer.status == .active && loyalty.currency == currency
        let points = PricingPoints(
            requested: checkout.points,
            spendable: usable ? try await customers.spendablePoints(customer, at: now, in: reader) : 0,
            balance: customer.pointsBalance,
            pointsPerUnit: loyalty.redeemPointsPerUnit,
            unitValue: loyalty.redeemUnitValue?.minorUnits ?? 0,
            maxRedeemBps: usable ? loyalty.maxRedeemBps : 0,
            minRedeemPoints: loyalty.minRedeemPoints
        )
        let coupons = try await promotions.coupons(checkout.couponCodes, in: reader)
        let candidates = automatic.all + coupons.compactMap(\.promotion)
        let usage = try await promotions.customerUsage(customerID: customer.id, promotions: candidates, in: reader)
        let settings = try await settings(reader)
        let delivery: PricingDelivery =
            switch checkout.fulfillment.mode {
            case .delivery:
                PricingDelivery(
                    fee: settings.deliveryFee?.minorUnits ?? 0,
                    freeThreshold: settings.freeDeliveryThreshold?.minorUnits ?? 0
                )
            case .storeDelivery:
                PricingDelivery(
                    fee: settings.storeDeliveryFee?.minorUnits ?? 0,
                    freeThreshold: settings.freeStoreDeliveryThreshold?.minorUnits ?? 0
                )
            default: .free
            }
        let input = PricingInput(
            currency: currency,
            now: now,
            customerID: customer.id,
            tier: tier,
            lines: lines,
            promotions: automatic,
            coupons: coupons,
            customerUsage: usage,
            points: points,
            delivery: delivery
        )
        return (input, settings)
    }

    /// Where the stock would come from under the fulfilment mode (OrderFulfillmentMode),
    /// nearest first; what cannot be served, when nothing can serve it all.
    func placeStock(_ checkout: CheckedCheckout, settings: OrderSettings) async throws -> StockPlan {
        let chosen = checkout.fulfillment.pickupLocationID
        if checkout.fulfillment.mode == .storePickup, !chosen.isEmpty {
            let field = "checkout.fulfillment.pickup_location_id"
            guard let store = try await locations.location(chosen, in: self.store.latest) else {
                throw RPCError(code: .notFound, message: "\(field): no location '\(chosen)'")
            }
            guard store.kind == .store, store.offersPickup else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "\(field): '\(store.code)' is not a store that offers pickup"
                )
            }
        }
        var plan = StockPlan(lineLocations: checkout.lines.map { _ in "" })
        let lines = checkout.lines.enumerated().map { index, line in
            OrderFulfillmentPartLine(lineID: String(index + 1), skuID: line.skuID, quantity: line.quantity)
        }
        let basket = checkout.lines.map { StockBasketLine(skuID: $0.skuID, quantity: $0.quantity) }
        let fulfillment = checkout.fulfillment
        var criteria = StockSourcingCriteria()
        var storeDelivery = false
        switch fulfillment.mode {
        case .delivery:
            criteria.near = fulfillment.shippingAddress?.location
            criteria.fulfillmentMode = .ship
            criteria.locationKinds = [.warehouse]
            criteria.allowSplit = settings.allowSplitDelivery
        case .storePickup:
            criteria.fulfillmentMode = .pickup
            criteria.locationKinds = [.store]
            if fulfillment.pickupLocationID.isEmpty {
                criteria.near = fulfillment.customerLocation
                criteria.radiusMeters = settings.storeSearchRadiusMeters
            } else {
                criteria.locationIDs = [fulfillment.pickupLocationID]
            }
        default:
            criteria.near = fulfillment.shippingAddress?.location
            criteria.fulfillmentMode = .ship
            criteria.locationKinds = [.store]
            criteria.radiusMeters = settings.storeSearchRadiusMeters
            storeDelivery = true
        }
        // Without coordinates for a delivery, distance means nothing: any warehouse.
        let near = criteria.near ?? GeoPoint(latitude: 0, longitude: 0)
        criteria.near = near
        if fulfillment.mode == .delivery, fulfillment.shippingAddress?.location == nil { criteria.radiusMeters = 0 }
        let available = try await availability.basketAvailability(
            CheckBasketAvailabilityRequest(lines: basket, criteria: criteria, maxCandidates: 50)
        )
        let known = fulfillment.mode != .delivery || fulfillment.shippingAddress?.location != nil
        // A store delivers only within its own delivery radius.
        let candidates = available.candidates.filter {
            !storeDelivery || $0.distanceMeters <= ($0.stockLocation?.deliveryRadiusMeters ?? 0)
        }
        if let whole = candidates.first(where: \.fillsAll), let location = whole.stockLocation {
            plan.parts = [
                OrderFulfillmentPart(
                    locationID: location.id,
                    distanceMeters: known ? whole.distanceMeters : 0,
                    lines: lines
                )
            ]
            plan.lineLocations = lines.map { _ in location.id }
            plan.fullyAvailable = true
            return plan
        }
        if fulfillment.mode == .delivery, let split = available.bestSplit, split.unfilledLines.isEmpty,
            !split.parts.isEmpty
        {
            plan.parts = split.parts.map { part in
                OrderFulfillmentPart(
                    locationID: part.locationID,
                    distanceMeters: known ? part.distanceMeters : 0,
                    lines: part.lines.compactMap { line in
                        lines.first { $0.skuID == line.skuID }.map {
                            OrderFulfillmentPartLine(lineID: $0.lineID, skuID: line.skuID, quantity: line.quantity)
                        }
                    }
                )
            }
            plan.lineLocations = lines.map { line in
                let parts = split.parts.filter { $0.lines.contains { $0.skuID == line.skuID } }
                return parts.count == 1 ? parts[0].locationID : ""
            }
            plan.fullyAvailable = true
            return plan
        }
        // The best candidate (the nearest that fills most) says what is short.
        let best = candidates.max { a, b in
            a.lines.filter { $0.availableQuantity >= $0.requestedQuantity }.count
                < b.lines.filter { $0.availableQuantity >= $0.requestedQuantity }.count
        }
        plan.shortages = basket.enumerated().compactMap { index, line in
            let available = best.map { min($0.lines[index].availableQuantity, line.quantity) } ?? 0
            guard available < line.quantity else { return nil }
            return OrderStockShortage(skuID: line.skuID, requestedQuantity: line.quantity, availableQuantity: available)
        }
        return plan
    }
}

/// Where a basket's stock comes from under its fulfilment mode.
struct StockPlan: Sendable {
    var parts: [OrderFulfillmentPart] = []
    /// Per checkout line: its one location, or empty (unavailable, or split).
    var lineLocations: [String]
    var fullyAvailable = false
    var shortages: [OrderStockShortage] = []
}

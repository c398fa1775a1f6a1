import Foundation
import O2OClient
import O2OServiceTestSupport
import O2OTestSupport
import Testing

func cny(_ fen: Int64) -> Money { Money(minorUnits: fen, currency: "CNY") }

@Suite("Order quotes")
struct QuoteTests {
    @Test(
        "a quote prices every stage, names the promotions, and says where the stock comes from",
        arguments: StoreKind.allCases
    )
    func quote(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let shop = try await QuoteShop.open(harness)
            let client = harness.client
            let now = harness.clock.clock.now().seconds
            func promotion(
                _ kind: PromotionKind,
                _ benefit: PromotionBenefit.Benefit,
                _ configure: (inout Promotion) -> Void = { _ in }
            )
                async throws -> Promotion
            {
                var promotion = Promotion(
                    name: "\(kind.displayName) \(UUID().uuidString.prefix(4))",
                    kind: kind,
                    benefit: PromotionBenefit(benefit: benefit),
                    scope: PromotionScope(allItems: true),
                    startsAt: Timestamp(seconds: now - 60),
                    endsAt: Timestamp(seconds: now + 86_400)
                )
                configure(&promotion)
                return try await client.promotion.createPromotion(
                    CreatePromotionRequest(requestID: rid(), promotion: promotion)
                )
            }
            // 8折 on the 250 g tin, 满200减20, and a 5.00 coupon.
            let flash = try await promotion(.timeLimitedDiscount, .percentOffBps(2000)) {
                $0.scope = PromotionScope(skuIDs: [shop.skus[0]])
                $0.combinesWithMemberDiscount = true
                $0.combinesWithSpendAndSave = true
                $0.combinesWithCoupons = true
            }
            let save = try await promotion(
                .spendAndSave,
                .spendAndSave(SpendAndSaveRule(tiers: [SpendAndSaveTier(threshold: cny(20_000), saving: cny(2_000))]))
            ) { $0.combinesWithCoupons = true }
            let fiveOff = try await promotion(.coupon, .orderAmountOff(cny(500)))
            let coupon = try await client.promotion.issueCoupons(
                IssueCouponsRequest(
                    requestID: rid(),
                    promotionID: fiveOff.id,
                    recipients: .customers(CouponRecipientList(customerIDs: [shop.customer.id]))
                )
            ).coupons[0]
            _ = try await client.order.updateOrderSettings(
                UpdateOrderSettingsRequest(
                    requestID: rid(),
                    settings: OrderSettings(deliveryFee: cny(800), freeDeliveryThreshold: cny(50_000))
                )
            )

            let quote = try await client.order.quoteOrder(
                QuoteOrderRequest(
                    checkout: shop.spec(
                        [2, 1],
                        fulfillment: shop.delivery(),
                        coupons: [coupon.code.lowercased(), "NOSUCHCODE"],
                        points: 1_000
                    )
                )
            )
            // 2 × 100.00 → 2 × 80.00 = 160.00; 50.00. Gold 10%: 16.00 and 5.00 → 144.00 + 45.00 = 189.00.
            // 189.00 is below 200.00: no 满减. Coupon 5.00 over 144 : 45 → 3.81 + 1.19 (3.809… and
            // 1.190…, the extra fen to the larger line) → 140.19 + 43.81 = 184.00. Points: 1,000 = 10.00
            // → 7.62 + 2.38 (7.619… and 2.380…, extra fen to the larger) → 132.57 + 41.43 = 174.00.
            // Delivery 8.00 (184.00 is below the 500.00 threshold). Payable 182.00.
            #expect(quote.lines.map { $0.saleUnitPrice?.minorUnits } == [8000, 5000])
            #expect(quote.lines.map { $0.total?.minorUnits } == [13_257, 4_143])
            #expect(quote.amounts?.timeLimitedDiscount?.minorUnits == 4000)
            #expect(quote.amounts?.memberDiscount?.minorUnits == 2100)
            #expect(quote.amounts?.spendAndSaveDiscount?.minorUnits == 0)
            #expect(quote.amounts?.couponDiscount?.minorUnits == 500)
            #expect(quote.amounts?.pointsDiscount?.minorUnits == 1000)
            #expect(quote.amounts?.deliveryFee?.minorUnits == 800)
            #expect(quote.amounts?.payableTotal?.minorUnits == 18_200)
            #expect(quote.appliedPromotions.map(\.stage) == [.timeLimited, .memberTier, .coupon, .points])
            #expect(quote.appliedPromotions.first?.promotionID == flash.id)
            #expect(quote.appliedPromotions.first { $0.stage == .coupon }?.couponID == coupon.id)
            #expect(quote.rejectedCoupons.map(\.reason) == [.unknownCode])
            #expect(quote.memberTierID == shop.gold.id && quote.memberDiscountBps == 1000)
            #expect(quote.pointsRedeemed == 1000 && !quote.pointsCapped && quote.pointsBalance == 1000)
            #expect(quote.lines.map(\.skuName) == ["龙井 Longjing, 250g", "龙井 Longjing, 100g"])
            // From the warehouse, the only location that ships to a delivery.
            #expect(quote.fullyAvailable && quote.fulfillmentParts.map(\.locationID) == [shop.warehouse.id])
            #expect(quote.lines.allSatisfy { $0.fulfillmentLocationID == shop.warehouse.id })

            // 3 tins reach 满200减20 (3 × 72.00 = 216.00 after tier) and the warehouse still has them.
            let more = try await client.order.quoteOrder(
                QuoteOrderRequest(checkout: shop.spec([3, 0].filter { $0 > 0 }, fulfillment: shop.delivery()))
            )
            #expect(more.appliedPromotions.map(\.promotionID).contains(save.id))
            #expect(more.amounts?.payableTotal?.minorUnits == 20_400, "216.00 − 20.00 + 8.00 delivery")

            // Pickup at the nearest store: it has 2 of each; 3 are short.
            let pickup = CheckoutFulfillment(
                mode: .storePickup,
                customerLocation: GeoPoint(latitude: 31.231, longitude: 121.47)
            )
            let atStore = try await client.order.quoteOrder(
                QuoteOrderRequest(checkout: shop.spec([2, 2], fulfillment: pickup))
            )
            #expect(atStore.fullyAvailable && atStore.fulfillmentParts.map(\.locationID) == [shop.store.id])
            #expect(atStore.amounts?.deliveryFee?.minorUnits == 0)
            let short = try await client.order.quoteOrder(
                QuoteOrderRequest(checkout: shop.spec([3, 1], fulfillment: pickup))
            )
            #expect(!short.fullyAvailable)
            #expect(short.shortages.map { [$0.requestedQuantity, $0.availableQuantity] } == [[3, 2]])
        }
    }

    @Test("bad checkouts name the field", arguments: StoreKind.allCases)
    func badInput(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let shop = try await QuoteShop.open(harness)
            let order = harness.client.order
            func refused(_ code: RPCStatusCode, _ text: String, _ change: (inout CheckoutSpec) -> Void) async {
                var spec = shop.spec([1, 1], fulfillment: shop.delivery())
                change(&spec)
                await expectStatus(code, containing: text) {
                    _ = try await order.quoteOrder(QuoteOrderRequest(checkout: spec))
                }
            }
            await refused(.notFound, "checkout.customer_id") { $0.customerID = "cus_missing" }
            await refused(.notFound, "lines[0].sku_id") {
                $0.source = .lines(CheckoutLineList(lines: [CheckoutLine(skuID: "sku_x", quantity: 1)]))
            }
            await refused(.invalidArgument, "lines[0].quantity") {
                $0.source = .lines(CheckoutLineList(lines: [CheckoutLine(skuID: shop.skus[0], quantity: 0)]))
            }
            await refused(.invalidArgument, "lines[1].sku_id") {
                $0.source = .lines(
                    CheckoutLineList(lines: [
                        CheckoutLine(skuID: shop.skus[0], quantity: 1), CheckoutLine(skuID: shop.skus[0], quantity: 2),
                    ])
                )
            }
            await refused(.notFound, "checkout.cart_id") { $0.source = .cartID("crt_1") }
            await refused(.invalidArgument, "fulfillment.mode") { $0.fulfillment?.mode = .unspecified }
            await refused(.invalidArgument, "recipient_phone") { $0.fulfillment?.shippingAddress?.recipientPhone = "" }
            await refused(.invalidArgument, "customer_location") {
                $0.fulfillment = CheckoutFulfillment(mode: .storePickup)
            }
            await refused(.invalidArgument, "coupon_codes[0]") { $0.couponCodes = ["ab!"] }
            await refused(.invalidArgument, "points_to_redeem") { $0.pointsToRedeem = -1 }
            await expectStatus(.failedPrecondition, containing: "settings.currency") {
                _ = try await order.updateOrderSettings(
                    UpdateOrderSettingsRequest(requestID: rid(), settings: OrderSettings(currency: "USD"))
                )
            }
            await expectStatus(.invalidArgument, containing: "payment_timeout_seconds") {
                _ = try await order.updateOrderSettings(
                    UpdateOrderSettingsRequest(requestID: rid(), settings: OrderSettings(paymentTimeoutSeconds: 5))
                )
            }
            let settings = try await order.getOrderSettings(GetOrderSettingsRequest())
            #expect(settings.version == 0 && settings.paymentTimeoutSeconds == 1800 && settings.currency == "CNY")
        }
    }
}

@Suite("Order quotes over the demo shop")
struct DemoQuoteTests {
    @Test("the demo's flash sale, 满减 and coupons price a basket of flash items")
    func demoQuote() async throws {
        try await ServiceHarness.run(.memory, demo: true) { harness in
            let client = harness.client
            let promotions = try await client.promotion.listPromotions(ListPromotionsRequest(statuses: [.running]))
            #expect(promotions.promotions.count == 5)
            let flash = try #require(promotions.promotions.first { $0.kind == .timeLimitedDiscount })
            let welcome = try #require(promotions.promotions.first { $0.kind == .coupon && $0.sharedCode.isEmpty })
            let coupon = try #require(
                try await client.promotion.listCoupons(ListCouponsRequest(promotionID: welcome.id)).coupons.first
            )
            let skus = Array(flash.scope?.skuIDs.prefix(3) ?? [])
            let quote = try await client.order.quoteOrder(
                QuoteOrderRequest(
                    checkout: CheckoutSpec(
                        customerID: coupon.customerID,
                        source: .lines(CheckoutLineList(lines: skus.map { CheckoutLine(skuID: $0, quantity: 2) })),
                        fulfillment: CheckoutFulfillment(
                            mode: .delivery,
                            shippingAddress: PostalAddress(
                                countryCode: "CN",
                                province: "上海市",
                                city: "上海市",
                                street: "示例路 8 号",
                                recipientName: "演示",
                                recipientPhone: "+8619900000001",
                                location: GeoPoint(latitude: 31.23, longitude: 121.47)
                            )
                        ),
                        couponCodes: [coupon.code, "welcome2027"]
                    )
                )
            )
            let stages = Set(quote.appliedPromotions.map(\.stage))
            #expect(stages.contains(.timeLimited) && stages.contains(.coupon), "\(quote.appliedPromotions)")
            #expect(quote.rejectedCoupons.isEmpty || quote.rejectedCoupons.allSatisfy { $0.reason == .minSpendNotMet })
            let amounts = try #require(quote.amounts)
            #expect((amounts.payableTotal?.minorUnits ?? -1) > 0 && quote.fullyAvailable)
            #expect(
                amounts.subtotal!.minorUnits - amounts.discountTotal!.minorUnits + amounts.deliveryFee!.minorUnits
                    == amounts.payableTotal!.minorUnits
            )
        }
    }
}

@Suite("Carts")
struct CartTests {
    @Test(
        "carts hold SKUs and selections, at most 20 per customer and 100 items; quotes take the selected items",
        arguments: StoreKind.allCases
    )
    func carts(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let shop = try await QuoteShop.open(harness)
            let order = harness.client.order
            let cart = try await order.createCart(CreateCartRequest(requestID: rid(), customerID: shop.customer.id))
            #expect(cart.items.isEmpty && cart.version == 1)
            var filled = try await order.setCartItems(
                SetCartItemsRequest(
                    requestID: rid(),
                    cartID: cart.id,
                    items: [
                        CartItemChange(skuID: shop.skus[0], quantity: 2),
                        CartItemChange(skuID: shop.skus[1], quantity: 1),
                    ],
                    expectedVersion: 1
                )
            )
            #expect(
                filled.items.map(\.quantity) == [2, 1] && filled.items.allSatisfy(\.selected) && filled.version == 2
            )
            filled = try await order.setCartItems(
                SetCartItemsRequest(
                    requestID: rid(),
                    cartID: cart.id,
                    items: [CartItemChange(skuID: shop.skus[1], quantity: 3, selected: false)]
                )
            )
            #expect(filled.items.map(\.quantity) == [2, 3] && filled.items.map(\.selected) == [true, false])
            await expectStatus(.failedPrecondition, containing: "expected_version") {
                _ = try await order.setCartItems(
                    SetCartItemsRequest(
                        requestID: rid(),
                        cartID: cart.id,
                        items: [CartItemChange(skuID: shop.skus[0], quantity: 1)],
                        expectedVersion: 1
                    )
                )
            }
            await expectStatus(.notFound, containing: "items[0].sku_id") {
                _ = try await order.setCartItems(
                    SetCartItemsRequest(
                        requestID: rid(),
                        cartID: cart.id,
                        items: [CartItemChange(skuID: "sku_x", quantity: 1)]
                    )
                )
            }
            await expectStatus(.invalidArgument, containing: "items[0].quantity") {
                _ = try await order.setCartItems(
                    SetCartItemsRequest(
                        requestID: rid(),
                        cartID: cart.id,
                        items: [CartItemChange(skuID: shop.skus[0], quantity: 1000)]
                    )
                )
            }

            // A quote of the cart prices only the selected item.
            var spec = shop.spec([], fulfillment: shop.delivery())
            spec.source = .cartID(cart.id)
            let quote = try await order.quoteOrder(QuoteOrderRequest(checkout: spec))
            #expect(quote.lines.map(\.skuID) == [shop.skus[0]] && quote.lines.map(\.quantity) == [2])
            let other = try await harness.client.crm.createCustomer(
                CreateCustomerRequest(
                    requestID: rid(),
                    displayName: "别人",
                    email: "other-\(UUID().uuidString.prefix(8))@example.com"
                )
            )
            var theirs = spec
            theirs.customerID = other.id
            await expectStatus(.invalidArgument, containing: "belongs to another customer") {
                _ = try await order.quoteOrder(QuoteOrderRequest(checkout: theirs))
            }

            // Removing the selected item leaves nothing selected.
            _ = try await order.setCartItems(
                SetCartItemsRequest(
                    requestID: rid(),
                    cartID: cart.id,
                    items: [CartItemChange(skuID: shop.skus[0], quantity: 0)]
                )
            )
            await expectStatus(.failedPrecondition, containing: "no selected item") {
                _ = try await order.quoteOrder(QuoteOrderRequest(checkout: spec))
            }
            let cleared = try await order.clearCart(ClearCartRequest(requestID: rid(), cartID: cart.id))
            #expect(cleared.items.isEmpty)

            // Twenty carts at most; the list shows the most recently changed first.
            var ids = [cart.id]
            for _ in 1..<20 {
                ids.append(
                    try await order.createCart(CreateCartRequest(requestID: rid(), customerID: shop.customer.id)).id
                )
            }
            await expectStatus(.resourceExhausted, containing: "20 carts") {
                _ = try await order.createCart(CreateCartRequest(requestID: rid(), customerID: shop.customer.id))
            }
            let listed = try await order.listCarts(
                ListCartsRequest(page: PageRequest(pageSize: 50), customerID: shop.customer.id)
            )
            #expect(listed.carts.map(\.id) == ids.reversed(), "most recently changed first")
            await expectStatus(.notFound, containing: "customer_id") {
                _ = try await order.createCart(CreateCartRequest(requestID: rid(), customerID: "cus_missing"))
            }

            // Deleting twice succeeds; an id that never existed is NOT_FOUND.
            _ = try await order.deleteCart(DeleteCartRequest(requestID: rid(), id: cart.id))
            _ = try await order.deleteCart(DeleteCartRequest(requestID: rid(), id: cart.id))
            await expectStatus(.notFound, containing: "id") {
                _ = try await order.deleteCart(DeleteCartRequest(requestID: rid(), id: "crt_never"))
            }
            await expectStatus(.notFound, containing: "id") { _ = try await order.getCart(GetCartRequest(id: cart.id)) }
        }
    }
}

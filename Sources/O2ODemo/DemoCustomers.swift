public import Logging
import O2OMessages
public import O2ORPC
public import O2OServiceKit
import O2OStorage

/// Members for the demo shop: 2,000 customers of the demo cities with Chinese names,
/// a home store, addresses near it, consents and tags; a tier ladder they climb by
/// spending; a year and a half of completed orders with the points they earned,
/// redemptions, partial refunds, goodwill adjustments and service notes; and segments
/// (RFM champions, lapsed buyers, gold members in Shanghai, SMS-reachable) refreshed
/// over them. Every contact is obviously fake: phones are +86 199 0000 xxxx, emails
/// are at example.com, streets are on 示例路 ("Example Road"). Orders are dated back
/// from the moment the load started, so recency means something whenever it is
/// loaded. Loaded through the CRM service, as a client would; every call carries a
/// request id derived from the customer's number and the same start time, so an
/// interrupted load resumes without duplicates.
public enum DemoCustomers {
    static let markerKey: [UInt8] = [0x30] + Array("demo-customers/v1".utf8)
    /// When the first attempt started, in seconds: a resumed load dates the orders the
    /// same way, so their retried requests are the same requests.
    static let startKey: [UInt8] = [0x30] + Array("demo-customers/started".utf8)

    /// How many customers the demo has.
    public static let count = 2000

    /// Loads the customers once the demo shop is there; does nothing when they were
    /// loaded before or the store holds no demo shop. Returns the customers written.
    @discardableResult
    public static func load(
        into store: ServiceStore,
        services: [any RPCService],
        currency: String = "CNY",
        logger: Logger
    ) async throws -> Int {
        if try await store.records.engine.get(markerKey) != nil { return 0 }
        guard try await store.records.engine.get(DemoData.markerKey) != nil else { return 0 }
        let shop = DemoShop(services: services, logger: logger)
        let crm = shop.crm

        var settings = try await crm.getLoyaltySettings(GetLoyaltySettingsRequest())
        if settings.currency != currency {
            settings.currency = currency
            settings.earnUnit?.currency = currency
            settings.redeemUnitValue?.currency = currency
            _ = try await crm.updateLoyaltySettings(
                UpdateLoyaltySettingsRequest(requestID: "demo-loyalty-settings", settings: settings)
            )
        }
        var tiers: [String: String] = [:]
        for (rank, tier) in tierLadder.enumerated() {
            tiers[tier.code] =
                try await crm.createMembershipTier(
                    CreateMembershipTierRequest(
                        requestID: "demo-tier-\(tier.code)",
                        code: tier.code,
                        name: tier.name,
                        rank: Int32(rank),
                        minQualifyingSpend: Money(minorUnits: tier.spend, currency: currency),
                        discountBps: tier.discountBps,
                        pointsMultiplierBps: tier.multiplierBps,
                        description: tier.benefits
                    )
                ).id
        }

        let stores = try await shop.allLocations().filter { $0.kind == .store }.sorted { $0.code < $1.code }
        guard !stores.isEmpty else { return 0 }
        let now = Timestamp(seconds: try await firstStart(under: startKey, in: store))
        // A few customers at a time: each one's calls run in order, customers side by side.
        let width = 8
        try await withThrowingTaskGroup(of: Void.self) { group in
            for number in 0..<count {
                if number >= width { try await group.next() }
                group.addTask {
                    try await loadCustomer(number, crm: crm, stores: stores, now: now, currency: currency)
                }
            }
            try await group.waitForAll()
        }

        for segment in segments(tiers: tiers, currency: currency) {
            _ = try await crm.createCustomerSegment(segment)
        }
        try await store.transaction { $0.putRaw(markerKey, Array("loaded".utf8)) }
        logger.info("demo customers loaded", metadata: ["customers": "\(count)", "tiers": "\(tiers.count)"])
        return count
    }

    /// One customer with their history, from a seed of their own.
    private static func loadCustomer(
        _ number: Int,
        crm: CrmServiceClient,
        stores: [StockLocation],
        now: Timestamp,
        currency: String
    ) async throws {
        var random = DemoRandom(seed: 7_000_000 + UInt64(number))
        let request = "demo-cust-\(number)"
        let home = stores[random.next(below: stores.count)]
        let name = surnames[random.next(below: surnames.count)] + givenNames[random.next(below: givenNames.count)]
        let phone = "+86199" + String(100_000_000 + number).dropFirst()  // +86 199 0000 xxxx
        let email = random.next(below: 5) < 2 ? "member\(number + 1)@example.com" : ""
        let source = ["app", "mini-program", "pos:\(home.code)", "call-center"][random.next(below: 4)]
        var consents = [ConsentGrant(purpose: .personalization, granted: random.next(below: 10) < 7, source: source)]
        consents.append(ConsentGrant(purpose: .marketingSms, granted: random.next(below: 10) < 6, source: source))
        consents.append(ConsentGrant(purpose: .marketingPush, granted: random.next(below: 2) == 0, source: source))
        if !email.isEmpty {
            consents.append(ConsentGrant(purpose: .marketingEmail, granted: random.next(below: 10) < 3, source: source))
        }
        var tags = Set<String>()
        for _ in 0..<random.next(below: 3) { tags.insert(customerTags[random.next(below: customerTags.count)]) }
        let customer = try await crm.createCustomer(
            CreateCustomerRequest(
                requestID: request,
                displayName: name,
                phone: phone,
                email: email,
                birthday: random.next(below: 5) < 3
                    ? CalendarDate(
                        year: Int32(1960 + random.next(below: 46)),
                        month: Int32(1 + random.next(below: 12)),
                        day: Int32(1 + random.next(below: 28))
                    ) : nil,
                consents: consents,
                tags: tags.sorted(),
                homeStoreID: home.id
            )
        )

        // Addresses near the home store: home, and for some an office.
        let addressCount = random.next(below: 10) < 3 ? 2 : 1
        for index in 0..<addressCount {
            let latitude = (home.coordinates?.latitude ?? 31.23) + Double(random.next(below: 601) - 300) / 10_000
            let longitude = (home.coordinates?.longitude ?? 121.47) + Double(random.next(below: 601) - 300) / 10_000
            _ = try await crm.createCustomerAddress(
                CreateCustomerAddressRequest(
                    requestID: "\(request)-addr-\(index)",
                    customerID: customer.id,
                    label: index == 0 ? "家 home" : "公司 office",
                    address: PostalAddress(
                        countryCode: "CN",
                        province: home.address?.province ?? "",
                        city: home.address?.city ?? "",
                        district: home.address?.district ?? "",
                        street:
                            "示例路 \(1 + random.next(below: 999)) 号 \(1 + random.next(below: 30))0\(1 + random.next(below: 4)) 室",
                        recipientName: name,
                        recipientPhone: phone,
                        location: GeoPoint(latitude: latitude, longitude: longitude)
                    )
                )
            )
        }

        // Orders over the last 540 days, oldest first: a few loyal big spenders, many
        // regulars, one-off buyers, and some who registered and never bought.
        let persona = random.next(below: 100)
        let orderCount: Int
        let spendScale: Int64
        switch persona {
        case 0..<5: (orderCount, spendScale) = (15 + random.next(below: 16), 4)
        case 5..<25: (orderCount, spendScale) = (8 + random.next(below: 12), 1)
        case 25..<65: (orderCount, spendScale) = (2 + random.next(below: 6), 1)
        case 65..<85: (orderCount, spendScale) = (1, 1)
        default: (orderCount, spendScale) = (0, 1)
        }
        // Lapsed buyers stopped a while ago.
        let lastDay = random.next(below: 4) == 0 ? 180 + random.next(below: 300) : random.next(below: 120)
        var days = (0..<orderCount).map { _ in lastDay + random.next(below: max(1, 540 - lastDay)) }.sorted(by: >)
        if !days.isEmpty { days[days.count - 1] = lastDay }
        var balance: Int64 = 0
        for (index, daysAgo) in days.enumerated() {
            let orderID = "DEMO-\(number + 1)-\(index + 1)"
            let seconds = Int64(daysAgo) * 86_400 + Int64(random.next(below: 36_000))
            var amount = Int64(1_990 + random.next(below: 28_000)) * spendScale
            if random.next(below: 15) == 0 { amount *= 6 }  // a big basket now and then
            // Points pay part of some orders: whole yuan, at most a third.
            var points: Int64 = 0
            if balance >= 500, random.next(below: 3) == 0 { points = min(balance, amount / 3) / 100 * 100 }
            if points >= 100 {
                _ = try await crm.redeemPoints(
                    RedeemPointsRequest(
                        requestID: "\(request)-redeem-\(index)",
                        customerID: customer.id,
                        orderID: orderID,
                        points: points,
                        orderAmount: Money(minorUnits: amount, currency: currency)
                    )
                )
                balance -= points
            }
            let paid = amount - points  // 100 points are worth 1 yuan = 100 fen
            let completed = try await crm.recordCompletedOrder(
                RecordCompletedOrderRequest(
                    requestID: "\(request)-order-\(index)",
                    customerID: customer.id,
                    orderID: orderID,
                    paidAmount: Money(minorUnits: paid, currency: currency),
                    completedAt: Timestamp(seconds: max(0, now.seconds - seconds))
                )
            )
            balance = completed.customer?.pointsBalance ?? balance
            // One order in twelve is partly refunded: a returned item.
            if random.next(below: 12) == 0 {
                let reversed = try await crm.reverseOrderPoints(
                    ReverseOrderPointsRequest(
                        requestID: "\(request)-refund-\(index)",
                        customerID: customer.id,
                        orderID: orderID,
                        refundID: "DEMO-RF-\(number + 1)-\(index + 1)",
                        refundAmount: Money(minorUnits: paid / 4, currency: currency)
                    )
                )
                balance = reversed.customer?.pointsBalance ?? balance
            }
        }

        // Goodwill points and service notes for some.
        if random.next(below: 10) == 0 {
            let gift = random.next(below: 2) == 0
            let entry = try await crm.adjustPoints(
                AdjustPointsRequest(
                    requestID: "\(request)-adjust",
                    customerID: customer.id,
                    points: gift ? 200 : 500,
                    note: gift ? "生日礼 birthday gift" : "配送延误补偿 compensation for a late delivery"
                )
            )
            balance = entry.balanceAfter
        }
        for index in 0..<(random.next(below: 6) == 0 ? 1 + random.next(below: 3) : 0) {
            let note = serviceNotes[random.next(below: serviceNotes.count)]
            _ = try await crm.addInteractionNote(
                AddInteractionNoteRequest(
                    requestID: "\(request)-note-\(index)",
                    customerID: customer.id,
                    channel: note.channel,
                    text: note.text,
                    occurredAt: Timestamp(seconds: max(0, now.seconds - Int64(random.next(below: 200 * 86_400))))
                )
            )
        }
    }

    /// The segments a marketing team would start with, each refreshed right away.
    private static func segments(tiers: [String: String], currency: String) -> [CreateCustomerSegmentRequest] {
        [
            CreateCustomerSegmentRequest(
                requestID: "demo-segment-champions",
                name: "高价值客户 Champions",
                description: "Bought recently, often and much: RFM scores of 4 or 5 on every axis, last 365 days.",
                rule: SegmentRule(
                    rfmScores: RfmScoreCriteria(
                        windowDays: 365,
                        minRecencyScore: 4,
                        minFrequencyScore: 4,
                        minMonetaryScore: 4
                    )
                ),
                refreshNow: true
            ),
            CreateCustomerSegmentRequest(
                requestID: "demo-segment-lapsed",
                name: "沉睡客户 Lapsed buyers",
                description: "Bought before, but not in the last 180 days: a win-back campaign.",
                rule: SegmentRule(rfm: RfmCriteria(minRecencyDays: 180, minFrequency: 1)),
                refreshNow: true
            ),
            CreateCustomerSegmentRequest(
                requestID: "demo-segment-shanghai-gold",
                name: "上海金卡及以上 Shanghai gold and up",
                description: "Gold and diamond members whose default address is in Shanghai.",
                rule: SegmentRule(
                    tierIDs: ["gold", "diamond"].compactMap { tiers[$0] },
                    cities: ["上海市"]
                ),
                refreshNow: true
            ),
            CreateCustomerSegmentRequest(
                requestID: "demo-segment-sms",
                name: "短信营销可达 SMS-reachable",
                description: "Customers who agreed to marketing text messages.",
                rule: SegmentRule(requiredConsents: [.marketingSms]),
                refreshNow: true
            ),
            CreateCustomerSegmentRequest(
                requestID: "demo-segment-big-baskets",
                name: "大额客户 Big spenders",
                description: "At least 5,000 yuan in the last 365 days.",
                rule: SegmentRule(
                    rfm: RfmCriteria(windowDays: 365, minMonetary: Money(minorUnits: 500_000, currency: currency))
                ),
                refreshNow: true
            ),
        ]
    }

    // MARK: - The members

    struct Tier {
        var code: String
        var name: String
        var spend: Int64  // fen of qualifying spend
        var multiplierBps: Int32
        var discountBps: Int32
        var benefits: String
    }

    static let tierLadder = [
        Tier(code: "member", name: "普通会员 Member", spend: 0, multiplierBps: 10_000, discountBps: 0, benefits: "1 积分/元"),
        Tier(
            code: "silver",
            name: "银卡会员 Silver",
            spend: 100_000,
            multiplierBps: 12_000,
            discountBps: 0,
            benefits: "年消费满 1,000 元；积分 1.2 倍"
        ),
        Tier(
            code: "gold",
            name: "金卡会员 Gold",
            spend: 500_000,
            multiplierBps: 15_000,
            discountBps: 200,
            benefits: "年消费满 5,000 元；积分 1.5 倍，会员价 9.8 折"
        ),
        Tier(
            code: "diamond",
            name: "钻石会员 Diamond",
            spend: 2_000_000,
            multiplierBps: 20_000,
            discountBps: 500,
            benefits: "年消费满 20,000 元；积分 2 倍，会员价 9.5 折，专属客服"
        ),
    ]

    static let surnames = [
        "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗",
        "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "萧", "田", "董", "潘", "袁", "蔡", "蒋", "余",
        "欧阳", "司马",
    ]

    static let givenNames = [
        "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞",
        "平", "刚", "桂英", "子涵", "梓萱", "浩然", "一诺", "欣怡", "宇轩", "雨桐", "思远", "佳怡", "俊杰", "晓燕", "志强", "文博",
        "嘉怡", "天佑", "若汐", "明轩",
    ]

    static let customerTags = [
        "student", "young-parent", "office-worker", "foodie", "night-owl", "pet-owner", "fitness", "coffee-lover",
        "wholesale",
    ]

    static let serviceNotes: [(channel: InteractionChannel, text: String)] = [
        (.phone, "来电咨询积分规则，已说明积分有效期一年。 Asked how long points last; explained."),
        (.onlineChat, "询问配送时间，已告知当日达范围。 Asked about same-day delivery coverage."),
        (.inStore, "门店自提时反馈包装破损，已现场更换。 Damaged packaging at pickup; replaced in store."),
        (.social, "在公众号留言表扬店员服务。 Praised the store staff on the official account."),
        (.phone, "要求开具增值税发票，已转财务处理。 Asked for a VAT invoice; passed to finance."),
        (.email, "反馈优惠券无法叠加使用，已解释规则。 Coupons would not stack; explained the rules."),
    ]
}

/// The seconds of the first attempt of a load, kept under `key`: a resumed load dates
/// its requests the same way, so their retries are the same requests.
func firstStart(under key: [UInt8], in store: ServiceStore) async throws -> Int64 {
    if let saved = try await store.records.engine.get(key), let seconds = Int64(String(decoding: saved, as: UTF8.self))
    {
        return seconds
    }
    let start = store.now().seconds
    try await store.transaction { $0.putRaw(key, Array(String(start).utf8)) }
    return start
}

public import Logging
import O2OMessages
public import O2ORPC
public import O2OServiceKit
import O2OStorage

/// A realistic sample shop for trying O2O out: a three-level category tree, 20
/// suppliers with evaluations, 1,000 products with 3,000 SKUs (Chinese and English
/// names, valid EAN-13 barcodes), and warehouses and stores with coordinates.
/// Generated from a fixed seed, so every load is the same shop. Loaded through the
/// domains' own services, as a client would, so it passes their validation and
/// keeps their indexes (search among them) current.
public enum DemoData {
    /// Marks a store the demo data was loaded into.
    static let markerKey: [UInt8] = [0x30] + Array("demo-data/v1".utf8)

    /// The raw keys the demo writes: its markers.
    public static let keyspace = [
        KeyspaceEntry(prefix: [0x30] + Array("demo-".utf8), owner: "demo", what: "demo data markers")
    ]

    /// What `load` did.
    public enum Outcome: Sendable, Equatable {
        case loaded(categories: Int, products: Int, skus: Int, suppliers: Int, locations: Int)
        /// The demo data was there already.
        case alreadyLoaded
        /// The store holds other data: the demo data is not mixed into it.
        case storeNotEmpty
    }

    /// Loads the demo shop into an empty store; does nothing when it is already there
    /// or the store holds other data.
    /// - Parameters:
    ///   - services: The domains' services (the catalog's and the inventory's), which
    ///     the demo calls in-process.
    ///   - currency: The catalog's currency.
    public static func load(
        into store: ServiceStore,
        services: [any RPCService],
        currency: String = "CNY",
        logger: Logger
    ) async throws -> Outcome {
        if try await store.records.engine.get(markerKey) != nil { return .alreadyLoaded }
        if !(try await store.records.engine.scan(.all, direction: .forward, limit: 1).isEmpty) { return .storeNotEmpty }
        let shop = DemoShop(services: services, logger: logger)
        var random = DemoRandom(seed: 20_261_125)

        // Categories: roots, then their children, then grandchildren.
        var leaves: [(id: String, family: Family)] = []
        var categoryCount = 0
        for (rootIndex, root) in taxonomy.enumerated() {
            let rootID = try await shop.category(root.name, root.english, parent: "", order: (rootIndex + 1) * 10)
            categoryCount += 1
            for (middleIndex, middle) in root.children.enumerated() {
                let middleID = try await shop.category(
                    middle.name,
                    middle.english,
                    parent: rootID,
                    order: (middleIndex + 1) * 10
                )
                categoryCount += 1
                for (leafIndex, leaf) in middle.leaves.enumerated() {
                    let leafID = try await shop.category(leaf.0, leaf.1, parent: middleID, order: (leafIndex + 1) * 10)
                    categoryCount += 1
                    leaves.append((leafID, root.family))
                }
            }
        }

        // Suppliers with evaluations.
        var supplierIDs: [String] = []
        for (index, company) in supplierNames.enumerated() {
            var localRandom = DemoRandom(seed: UInt64(index) + 1)
            let id = try await shop.supplier(
                CreateSupplierRequest(
                    requestID: "demo-supplier-\(index)",
                    name: company.0,
                    registrationNumber: "91310000MA1K\(String(100_000 + index * 37))",
                    contactName: contactNames[index % contactNames.count],
                    contactPhone: "+86139\(String(10_000_000 + index * 7919))",
                    contactEmail: "sales\(index + 1)@\(company.1)",
                    address: PostalAddress(
                        countryCode: "CN",
                        province: "上海市",
                        city: "上海市",
                        district: "浦东新区",
                        street: "张江路 \(100 + index) 号"
                    ),
                    notes: "Demo supplier (\(company.1))",
                    status: index < 17 ? .active : .candidate
                ),
                suspended: index >= 19 ? "交付延迟 (late deliveries)" : nil
            )
            let evaluations = 3 + localRandom.next(below: 4)
            for month in 0..<evaluations {
                let score = 2 + localRandom.next(below: 4)
                let date = CalendarDate(
                    year: 2026,
                    month: Int32(1 + month * 2),
                    day: Int32(5 + localRandom.next(below: 20))
                )
                try await shop.evaluate(
                    RecordSupplierEvaluationRequest(
                        requestID: "demo-evaluation-\(index)-\(month)",
                        supplierID: id,
                        evaluatedOn: date,
                        score: Int32(score),
                        notes: ["准时交付 on time", "质量稳定 steady quality", "包装破损 damaged packaging", "价格有竞争力 good prices"][
                            localRandom.next(below: 4)
                        ]
                    )
                )
            }
            supplierIDs.append(id)
        }

        // Products, imported in one stream; those meant to be off shelf go on shelf
        // first (a new product cannot start off shelf), then off.
        var barcodeSerial = 10_000
        let perLeaf = (1000 + leaves.count - 1) / leaves.count
        var plans: [(leaf: String, family: Family, index: Int)] = []
        for leaf in leaves {
            for index in 0..<perLeaf where plans.count < 1000 { plans.append((leaf.id, leaf.family, index)) }
        }
        var rows: [ProductImportRow] = []
        var offShelf: Set<Int64> = []
        for (number, plan) in plans.enumerated() {
            let (spec, status) = makeProduct(
                plan.family,
                categoryID: plan.leaf,
                index: plan.index,
                suppliers: supplierIDs,
                random: &random,
                serial: &barcodeSerial,
                currency: currency
            )
            let row = Int64(number + 1)
            if status == .offShelf { offShelf.insert(row) }
            rows.append(
                ProductImportRow(rowNumber: row, product: spec, status: status == .offShelf ? .onShelf : status)
            )
        }
        let products = try await shop.importProducts(rows, offShelf: offShelf)
        let skuCount = products.reduce(0) { $0 + $1.skus.count }

        // Warehouses and stores with coordinates, for the inventory.
        var locations: [StockLocation] = []
        for (index, site) in sites.enumerated() {
            locations.append(
                try await shop.location(
                    StockLocation(
                        code: site.code,
                        name: site.name,
                        kind: site.warehouse ? .warehouse : .store,
                        status: .open,
                        address: PostalAddress(
                            countryCode: "CN",
                            province: site.province,
                            city: site.city,
                            district: site.district,
                            street: site.street
                        ),
                        coordinates: GeoPoint(latitude: site.latitude, longitude: site.longitude),
                        ships: site.warehouse || index % 3 == 0,
                        offersPickup: !site.warehouse,
                        deliveryRadiusMeters: site.warehouse ? 0 : 5000,
                        phone: "+86215555\(String(1000 + index))",
                        timeZone: "Asia/Shanghai"
                    )
                )
            )
        }
        try await store.transaction { $0.putRaw(markerKey, Array("loaded".utf8)) }
        logger.info(
            "demo data loaded",
            metadata: [
                "categories": "\(categoryCount)", "products": "\(products.count)", "skus": "\(skuCount)",
                "suppliers": "\(supplierIDs.count)", "locations": "\(locations.count)",
            ]
        )
        return .loaded(
            categories: categoryCount,
            products: products.count,
            skus: skuCount,
            suppliers: supplierIDs.count,
            locations: locations.count
        )
    }

    /// One demo product: its spec with three SKUs, and its status.
    private static func makeProduct(
        _ family: Family,
        categoryID: String,
        index: Int,
        suppliers: [String],
        random: inout DemoRandom,
        serial: inout Int,
        currency: String
    ) -> (ProductSpec, ProductStatus) {
        let base = family.items[random.next(below: family.items.count)]
        let brand = family.brands[random.next(below: family.brands.count)]
        let adjective = adjectives[random.next(below: adjectives.count)]
        let name = "\(brand.0) \(adjective.0)\(base.0)"
        let english = "\(brand.1) \(adjective.1) \(base.1)"
        let code = "P\(family.code)\(String(format5(serial)))"
        let basePrice = Int64(base.2) * Int64(80 + random.next(below: 60)) / 100
        var specs: [SkuSpec] = []
        for (offset, variant) in family.variants.enumerated() {
            serial += 1
            let price = basePrice * Int64(offset + 2) / 2
            specs.append(
                SkuSpec(
                    skuCode: "\(code)-\(offset + 1)",
                    attributes: [SkuAttribute(name: family.attribute, value: variant)],
                    price: Money(minorUnits: price, currency: currency),
                    listPrice: offset == 0 && random.next(below: 3) == 0
                        ? Money(minorUnits: price * 12 / 10, currency: currency) : nil,
                    barcode: ean13(serial),
                    weightGrams: Int64(100 * (offset + 1) + random.next(below: 200)),
                    status: .active
                )
            )
        }
        let statusRoll = random.next(below: 20)
        let status: ProductStatus = statusRoll == 0 ? .draft : (statusRoll == 1 ? .offShelf : .onShelf)
        let spec = ProductSpec(
            productCode: code,
            name: name,
            nameEn: english,
            brand: brand.0,
            description: "\(adjective.0)\(base.0)，\(brand.0)出品。\(english) by \(brand.1).",
            categoryID: categoryID,
            tags: Array(Set([adjective.2, family.tags[random.next(below: family.tags.count)]])).sorted(),
            imageURLs: ["https://img.o2o.example/\(code.lowercased()).jpg"],
            supplierID: suppliers[random.next(below: 17)],
            skus: specs
        )
        return (spec, status)
    }

    /// An EAN-13 in the 69 (China) range with its check digit.
    static func ean13(_ serial: Int) -> String {
        let body = "6901234" + format5(serial % 100_000)
        let digits = body.utf8.map { Int($0) - 48 }
        var sum = 0
        for (offset, digit) in digits.reversed().enumerated() { sum += digit * (offset % 2 == 0 ? 3 : 1) }
        return body + String((10 - sum % 10) % 10)
    }

    private static func format5(_ value: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, 5 - text.count)) + text
    }

    // MARK: - The shop

    struct Family: Sendable {
        var code: String
        var items: [(String, String, Int)]  // Chinese, English, typical price in fen
        var brands: [(String, String)]
        var attribute: String
        var variants: [String]
        var tags: [String]
    }

    struct Root: Sendable {
        var name: String
        var english: String
        var family: Family
        var children: [(name: String, english: String, leaves: [(String, String)])]
    }

    static let adjectives: [(String, String, String)] = [
        ("有机", "Organic", "有机"), ("经典", "Classic", "经典"), ("进口", "Imported", "进口"), ("新品", "New", "新品"),
        ("低脂", "Low-fat", "健康"), ("家庭装", "Family-size", "家庭装"), ("精选", "Select", "精选"), ("原味", "Original", "经典"),
    ]

    static let food = Family(
        code: "F",
        items: [
            ("绿茶", "green tea", 450), ("橙汁", "orange juice", 890), ("苏打饼干", "soda crackers", 1290),
            ("混合坚果", "mixed nuts", 3990), ("五常大米", "Wuchang rice", 5990), ("花生油", "peanut oil", 6990),
        ],
        brands: [
            ("康师傅", "Master Kong"), ("统一", "Uni-President"), ("良品铺子", "Bestore"), ("福临门", "Fortune"),
            ("三只松鼠", "Three Squirrels"),
        ],
        attribute: "规格",
        variants: ["小包装", "标准装", "大包装"],
        tags: ["零食", "饮料", "粮油", "促销"]
    )
    static let fresh = Family(
        code: "R",
        items: [
            ("车厘子", "cherries", 9990), ("苹果", "apples", 1990), ("菠菜", "spinach", 590), ("土豆", "potatoes", 390),
            ("五花肉", "pork belly", 3290), ("土鸡蛋", "free-range eggs", 2490),
        ],
        brands: [("盒马", "Freshippo"), ("百果园", "Pagoda"), ("每日优鲜", "Missfresh"), ("本来生活", "Benlai")],
        attribute: "重量",
        variants: ["500g", "1kg", "2kg"],
        tags: ["生鲜", "当季", "冷链"]
    )
    static let dairy = Family(
        code: "D",
        items: [
            ("纯牛奶", "whole milk", 6990), ("酸奶", "yogurt", 1590), ("全麦吐司", "whole-wheat toast", 1290),
            ("芝士蛋糕", "cheesecake", 4990), ("马苏里拉奶酪", "mozzarella", 3590),
        ],
        brands: [("蒙牛", "Mengniu"), ("伊利", "Yili"), ("光明", "Bright Dairy"), ("桃李", "Taoli")],
        attribute: "规格",
        variants: ["单盒", "6盒装", "12盒装"],
        tags: ["乳品", "早餐", "冷藏"]
    )
    static let care = Family(
        code: "C",
        items: [
            ("洗发水", "shampoo", 5990), ("护发素", "conditioner", 4990), ("牙膏", "toothpaste", 1990),
            ("电动牙刷", "electric toothbrush", 19_900), ("洗衣液", "laundry detergent", 3990), ("抽纸", "facial tissues", 2990),
        ],
        brands: [
            ("海飞丝", "Head & Shoulders"), ("云南白药", "Yunnan Baiyao"), ("蓝月亮", "Blue Moon"), ("维达", "Vinda"),
            ("舒肤佳", "Safeguard"),
        ],
        attribute: "容量",
        variants: ["200ml", "400ml", "750ml"],
        tags: ["个护", "清洁", "家庭装"]
    )
    static let baby = Family(
        code: "B",
        items: [
            ("婴儿奶粉", "infant formula", 29_800), ("纸尿裤", "diapers", 12_900), ("米粉", "rice cereal", 6900),
            ("果泥", "fruit puree", 1990),
        ],
        brands: [("飞鹤", "Feihe"), ("帮宝适", "Pampers"), ("嘉宝", "Gerber"), ("贝因美", "Beingmate")],
        attribute: "段数",
        variants: ["1段", "2段", "3段"],
        tags: ["母婴", "进口", "安心"]
    )
    static let home = Family(
        code: "H",
        items: [
            ("不粘锅", "non-stick pan", 19_900), ("保鲜盒", "food containers", 4990), ("收纳箱", "storage box", 5990),
            ("四件套", "bedding set", 29_900), ("枕头", "pillow", 8990),
        ],
        brands: [("苏泊尔", "Supor"), ("乐扣乐扣", "Lock&Lock"), ("网易严选", "Yanxuan"), ("罗莱", "Luolai")],
        attribute: "颜色",
        variants: ["白色", "灰色", "蓝色"],
        tags: ["家居", "厨房", "日用"]
    )

    static let taxonomy: [Root] = [
        Root(
            name: "食品饮料",
            english: "Food & Beverages",
            family: food,
            children: [
                ("饮料", "Drinks", [("茶饮料", "Tea drinks"), ("果汁", "Juice")]),
                ("休闲零食", "Snacks", [("饼干", "Biscuits"), ("坚果炒货", "Nuts")]),
                ("粮油调味", "Grains & Oils", [("大米", "Rice"), ("食用油", "Cooking oil")]),
            ]
        ),
        Root(
            name: "生鲜",
            english: "Fresh Food",
            family: fresh,
            children: [
                ("水果", "Fruit", [("进口水果", "Imported fruit"), ("国产水果", "Domestic fruit")]),
                ("蔬菜", "Vegetables", [("叶菜", "Leafy greens"), ("根茎类", "Root vegetables")]),
                ("肉禽蛋", "Meat & Eggs", [("猪肉", "Pork"), ("鸡蛋", "Eggs")]),
            ]
        ),
        Root(
            name: "乳品烘焙",
            english: "Dairy & Bakery",
            family: dairy,
            children: [
                ("牛奶", "Milk", [("纯牛奶", "Whole milk"), ("酸奶", "Yogurt")]),
                ("面包", "Bread", [("吐司", "Toast"), ("蛋糕", "Cakes")]),
                ("奶酪黄油", "Cheese & Butter", [("奶酪", "Cheese"), ("黄油", "Butter")]),
            ]
        ),
        Root(
            name: "个护清洁",
            english: "Personal Care & Cleaning",
            family: care,
            children: [
                ("洗发护发", "Hair care", [("洗发水", "Shampoo"), ("护发素", "Conditioner")]),
                ("口腔护理", "Oral care", [("牙膏", "Toothpaste"), ("牙刷", "Toothbrushes")]),
                ("家庭清洁", "Household cleaning", [("洗衣液", "Laundry detergent"), ("纸品", "Paper products")]),
            ]
        ),
        Root(
            name: "母婴",
            english: "Mother & Baby",
            family: baby,
            children: [
                ("奶粉", "Formula", [("婴儿奶粉", "Infant formula"), ("成长奶粉", "Growing-up formula")]),
                ("尿裤湿巾", "Diapers & Wipes", [("纸尿裤", "Diapers"), ("湿巾", "Wipes")]),
                ("辅食", "Baby food", [("米粉", "Rice cereal"), ("果泥", "Purees")]),
            ]
        ),
        Root(
            name: "家居日用",
            english: "Home",
            family: home,
            children: [
                ("厨具", "Kitchenware", [("锅具", "Pots & pans"), ("保鲜用品", "Food storage")]),
                ("收纳整理", "Storage", [("收纳箱", "Storage boxes"), ("衣架", "Hangers")]),
                ("床上用品", "Bedding", [("四件套", "Bedding sets"), ("枕头", "Pillows")]),
            ]
        ),
    ]

    static let supplierNames: [(String, String)] = [
        ("上海鲜达食品有限公司", "xianda.example"), ("杭州绿源农业发展有限公司", "lvyuan.example"), ("北京京味食品有限公司", "jingwei.example"),
        ("广州粤港贸易有限公司", "yuegang.example"), ("深圳优选供应链有限公司", "youxuan.example"), ("苏州乳业有限公司", "szdairy.example"),
        ("南京日化用品有限公司", "njdaily.example"), ("成都天府粮油有限公司", "tianfu.example"), ("青岛海洋食品有限公司", "haiyang.example"),
        ("宁波家居制品有限公司", "nbhome.example"), ("武汉长江物流有限公司", "changjiang.example"), ("厦门进口贸易有限公司", "xmimport.example"),
        ("天津母婴用品有限公司", "tjbaby.example"), ("重庆山城食品有限公司", "shancheng.example"), ("西安秦川农产品有限公司", "qinchuan.example"),
        ("合肥徽商供应链有限公司", "huishang.example"), ("长沙湘味食品有限公司", "xiangwei.example"), ("昆明云岭果蔬有限公司", "yunling.example"),
        ("大连海鲜冷链有限公司", "dlcold.example"), ("郑州中原面粉有限公司", "zhongyuan.example"),
    ]

    static let contactNames = ["王芳", "李娜", "张伟", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周杰", "吴婷"]

    struct Site: Sendable {
        var code: String
        var name: String
        var warehouse: Bool
        var province: String
        var city: String
        var district: String
        var street: String
        var latitude: Double
        var longitude: Double
    }

    static let sites: [Site] = [
        Site(
            code: "WH-SH-01",
            name: "上海嘉定仓 Shanghai Jiading DC",
            warehouse: true,
            province: "上海市",
            city: "上海市",
            district: "嘉定区",
            street: "兴贤路 1388 号",
            latitude: 31.3836,
            longitude: 121.2507
        ),
        Site(
            code: "WH-BJ-01",
            name: "北京顺义仓 Beijing Shunyi DC",
            warehouse: true,
            province: "北京市",
            city: "北京市",
            district: "顺义区",
            street: "空港工业区 A 区",
            latitude: 40.1289,
            longitude: 116.6547
        ),
        Site(
            code: "WH-HZ-01",
            name: "杭州萧山仓 Hangzhou Xiaoshan DC",
            warehouse: true,
            province: "浙江省",
            city: "杭州市",
            district: "萧山区",
            street: "红十五线 99 号",
            latitude: 30.1830,
            longitude: 120.2642
        ),
        Site(
            code: "ST-SH-001",
            name: "人民广场店 People's Square",
            warehouse: false,
            province: "上海市",
            city: "上海市",
            district: "黄浦区",
            street: "南京东路 800 号",
            latitude: 31.2336,
            longitude: 121.4752
        ),
        Site(
            code: "ST-SH-002",
            name: "陆家嘴店 Lujiazui",
            warehouse: false,
            province: "上海市",
            city: "上海市",
            district: "浦东新区",
            street: "世纪大道 100 号",
            latitude: 31.2397,
            longitude: 121.4998
        ),
        Site(
            code: "ST-SH-003",
            name: "徐家汇店 Xujiahui",
            warehouse: false,
            province: "上海市",
            city: "上海市",
            district: "徐汇区",
            street: "虹桥路 1 号",
            latitude: 31.1955,
            longitude: 121.4373
        ),
        Site(
            code: "ST-SH-004",
            name: "静安寺店 Jing'an Temple",
            warehouse: false,
            province: "上海市",
            city: "上海市",
            district: "静安区",
            street: "南京西路 1618 号",
            latitude: 31.2243,
            longitude: 121.4466
        ),
        Site(
            code: "ST-SH-005",
            name: "五角场店 Wujiaochang",
            warehouse: false,
            province: "上海市",
            city: "上海市",
            district: "杨浦区",
            street: "淞沪路 8 号",
            latitude: 31.3019,
            longitude: 121.5139
        ),
        Site(
            code: "ST-BJ-001",
            name: "国贸店 Guomao",
            warehouse: false,
            province: "北京市",
            city: "北京市",
            district: "朝阳区",
            street: "建国门外大街 1 号",
            latitude: 39.9087,
            longitude: 116.4599
        ),
        Site(
            code: "ST-BJ-002",
            name: "中关村店 Zhongguancun",
            warehouse: false,
            province: "北京市",
            city: "北京市",
            district: "海淀区",
            street: "中关村大街 27 号",
            latitude: 39.9834,
            longitude: 116.3162
        ),
        Site(
            code: "ST-BJ-003",
            name: "三里屯店 Sanlitun",
            warehouse: false,
            province: "北京市",
            city: "北京市",
            district: "朝阳区",
            street: "三里屯路 19 号",
            latitude: 39.9360,
            longitude: 116.4551
        ),
        Site(
            code: "ST-HZ-001",
            name: "西湖店 West Lake",
            warehouse: false,
            province: "浙江省",
            city: "杭州市",
            district: "上城区",
            street: "湖滨路 1 号",
            latitude: 30.2590,
            longitude: 120.1640
        ),
        Site(
            code: "ST-HZ-002",
            name: "滨江店 Binjiang",
            warehouse: false,
            province: "浙江省",
            city: "杭州市",
            district: "滨江区",
            street: "江南大道 588 号",
            latitude: 30.2084,
            longitude: 120.2110
        ),
        Site(
            code: "ST-HZ-003",
            name: "未来科技城店 Future Sci-Tech City",
            warehouse: false,
            province: "浙江省",
            city: "杭州市",
            district: "余杭区",
            street: "文一西路 998 号",
            latitude: 30.2920,
            longitude: 120.0120
        ),
    ]
}

/// A small deterministic generator (SplitMix64) for the demo shop.
struct DemoRandom: Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

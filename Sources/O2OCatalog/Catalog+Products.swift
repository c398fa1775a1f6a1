import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

extension CatalogServiceProvider {
    static let maximumSkusPerProduct = 200

    /// A product's descriptive fields, validated.
    struct ProductFields {
        var productCode: String
        var name: String
        var nameEn: String
        var brand: String
        var description: String
        var categoryID: String
        var tags: [String]
        var imageURLs: [String]
        var labels: [Label]
        var supplierID: String
    }

    func validateProductSpec(_ spec: ProductSpec?, field: String) throws -> (ProductFields, [Sku]) {
        guard let spec else { throw RPCError.invalidArgument(field: field, "is required") }
        let fields = ProductFields(
            productCode: spec.productCode.isEmpty
                ? "" : try Validate.code(spec.productCode, field: "\(field).product_code", min: 1, max: 64),
            name: try Validate.text(spec.name, field: "\(field).name", min: 1, max: 200),
            nameEn: try Validate.text(spec.nameEn, field: "\(field).name_en", max: 200),
            brand: try Validate.text(spec.brand, field: "\(field).brand", max: 100),
            description: try Validate.text(spec.description, field: "\(field).description", max: 20_000),
            categoryID: try Validate.id(spec.categoryID, field: "\(field).category_id"),
            tags: try Validate.tags(spec.tags, field: "\(field).tags", maxCount: 32),
            imageURLs: try validateImageURLs(spec.imageURLs, field: "\(field).image_urls", maxCount: 20),
            labels: try Validate.labels(spec.labels, field: "\(field).labels"),
            supplierID: spec.supplierID.isEmpty ? "" : try Validate.id(spec.supplierID, field: "\(field).supplier_id")
        )
        guard !spec.skus.isEmpty else {
            throw RPCError.invalidArgument(field: "\(field).skus", "at least one SKU is required")
        }
        guard spec.skus.count <= Self.maximumSkusPerProduct else {
            throw RPCError.invalidArgument(
                field: "\(field).skus",
                "at most \(Self.maximumSkusPerProduct) SKUs, got \(spec.skus.count)"
            )
        }
        let skus = try spec.skus.enumerated().map { index, sku in
            try validateSkuSpec(sku, field: "\(field).skus[\(index)]")
        }
        try checkDistinct(skus, field: "\(field).skus")
        return (fields, skus)
    }

    func validateImageURLs(_ values: [String], field: String, maxCount: Int) throws -> [String] {
        guard values.count <= maxCount else {
            throw RPCError.invalidArgument(field: field, "at most \(maxCount) images, got \(values.count)")
        }
        return try values.enumerated().map { index, url in
            try Validate.url(url, field: "\(field)[\(index)]", optional: false)
        }
    }

    func validateAttributes(_ attributes: [SkuAttribute], field: String) throws -> [SkuAttribute] {
        guard attributes.count <= 10 else {
            throw RPCError.invalidArgument(field: field, "at most 10 attributes, got \(attributes.count)")
        }
        var names = Set<String>()
        return try attributes.enumerated().map { index, attribute in
            let name = try Validate.text(attribute.name, field: "\(field)[\(index)].name", min: 1, max: 32)
            let value = try Validate.text(attribute.value, field: "\(field)[\(index)].value", min: 1, max: 64)
            guard names.insert(name.lowercased()).inserted else {
                throw RPCError.invalidArgument(field: "\(field)[\(index)].name", "'\(name)' is listed twice")
            }
            return SkuAttribute(name: name, value: value)
        }
    }

    /// A SKU from its spec, without id, product or timestamps.
    func validateSkuSpec(_ spec: SkuSpec, field: String) throws -> Sku {
        let price = try Validate.money(spec.price, field: "\(field).price", currency: currency)!
        let listPrice = try Validate.money(
            spec.listPrice,
            field: "\(field).list_price",
            currency: currency,
            required: false
        )
        if let listPrice, listPrice.minorUnits < price.minorUnits {
            throw RPCError.invalidArgument(
                field: "\(field).list_price",
                "must be at least the price (\(price.minorUnits))"
            )
        }
        guard spec.weightGrams >= 0 else {
            throw RPCError.invalidArgument(field: "\(field).weight_grams", "must be 0 or more")
        }
        let status: SkuStatus =
            try Validate.known(spec.status, field: "\(field).status", noun: "status") == .disabled
            ? .disabled : .active
        return Sku(
            skuCode: try Validate.code(spec.skuCode, field: "\(field).sku_code", min: 1, max: 64),
            attributes: try validateAttributes(spec.attributes, field: "\(field).attributes"),
            price: price,
            listPrice: listPrice,
            barcode: spec.barcode.isEmpty ? "" : try Validate.barcode(spec.barcode, field: "\(field).barcode"),
            weightGrams: spec.weightGrams,
            imageURL: try Validate.url(spec.imageURL, field: "\(field).image_url"),
            status: status
        )
    }

    /// SKU codes, barcodes and attribute sets must differ within one product.
    func checkDistinct(_ skus: [Sku], field: String) throws {
        var codes: [String: Int] = [:]
        var barcodes: [String: Int] = [:]
        var attributeSets: [[String]: Int] = [:]
        for (index, sku) in skus.enumerated() {
            if let other = codes.updateValue(index, forKey: sku.skuCode.lowercased()) {
                throw RPCError.invalidArgument(
                    field: "\(field)[\(index)].sku_code",
                    "'\(sku.skuCode)' is also used by \(field)[\(other)]"
                )
            }
            if !sku.barcode.isEmpty, let other = barcodes.updateValue(index, forKey: sku.barcode) {
                throw RPCError.invalidArgument(
                    field: "\(field)[\(index)].barcode",
                    "'\(sku.barcode)' is also used by \(field)[\(other)]"
                )
            }
            let set = Self.attributeKey(sku.attributes)
            if let other = attributeSets.updateValue(index, forKey: set) {
                throw RPCError(
                    code: .alreadyExists,
                    message: "\(field)[\(index)].attributes: the same attributes as \(field)[\(other)]",
                    fieldViolations: [
                        .init(field: "\(field)[\(index)].attributes", description: "duplicate attribute set")
                    ]
                )
            }
        }
    }

    static func attributeKey(_ attributes: [SkuAttribute]) -> [String] {
        attributes.map { "\($0.name.lowercased())=\($0.value.lowercased())" }.sorted()
    }

    /// ALREADY_EXISTS when another SKU holds the code or barcode.
    func checkSkuUnique(_ transaction: ServiceTransaction, _ sku: Sku, field: String) async throws {
        if let holder = try await transaction.lookup(
            CatalogTables.skus,
            CatalogTables.skuCode,
            .string(sku.skuCode.lowercased())
        ),
            holder.id != sku.id
        {
            throw RPCError(
                code: .alreadyExists,
                message: "\(field).sku_code: '\(sku.skuCode)' is already used by SKU '\(holder.id)'",
                fieldViolations: [.init(field: "\(field).sku_code", description: "taken")]
            )
        }
        if !sku.barcode.isEmpty,
            let holder = try await transaction.lookup(
                CatalogTables.skus,
                CatalogTables.skuBarcode,
                .string(sku.barcode)
            ),
            holder.id != sku.id
        {
            throw RPCError(
                code: .alreadyExists,
                message: "\(field).barcode: '\(sku.barcode)' is already used by SKU '\(holder.id)'",
                fieldViolations: [.init(field: "\(field).barcode", description: "taken")]
            )
        }
    }

    func checkProductCodeUnique(
        _ transaction: ServiceTransaction,
        _ code: String,
        productID: String,
        field: String
    ) async throws {
        guard !code.isEmpty else { return }
        if let holder = try await transaction.lookup(
            CatalogTables.products,
            CatalogTables.productCode,
            .string(code.lowercased())
        ),
            holder.id != productID
        {
            throw RPCError(
                code: .alreadyExists,
                message: "\(field): '\(code)' is already used by product '\(holder.id)'",
                fieldViolations: [.init(field: field, description: "taken")]
            )
        }
    }

    func checkSupplierUsable(_ transaction: ServiceTransaction, _ id: String, field: String) async throws {
        guard !id.isEmpty else { return }
        let supplier = try await transaction.require(CatalogTables.suppliers, id, field: field)
        guard supplier.status != .terminated else {
            throw RPCError(code: .failedPrecondition, message: "\(field): supplier '\(supplier.name)' is terminated")
        }
    }

    func adjustProductCount(_ transaction: ServiceTransaction, _ categoryID: String, by delta: Int64) async throws {
        guard var category = try await transaction.get(CatalogTables.categories, .string(categoryID)) else { return }
        category.productCount += delta
        try await transaction.update(CatalogTables.categories, category)
    }

    /// Inserts a new product and its SKUs (the fields already validated); counts it in
    /// its category. Used by CreateProduct and bulk import.
    func insertProduct(
        _ transaction: ServiceTransaction,
        fields: ProductFields,
        skus: [Sku],
        status: ProductStatus,
        field: String
    ) async throws -> Product {
        _ = try await transaction.require(CatalogTables.categories, fields.categoryID, field: "\(field).category_id")
        try await checkSupplierUsable(transaction, fields.supplierID, field: "\(field).supplier_id")
        try await checkProductCodeUnique(transaction, fields.productCode, productID: "", field: "\(field).product_code")
        if status == .onShelf, !skus.contains(where: { $0.status == .active }) {
            throw RPCError(code: .failedPrecondition, message: "status: a product needs an ACTIVE SKU to go on shelf")
        }
        let now = transaction.now
        let productID = RecordIDs.make(prefix: "prd")
        var stored: [Sku] = []
        for (index, var sku) in skus.enumerated() {
            sku.id = RecordIDs.make(prefix: "sku")
            sku.productID = productID
            sku.createdAt = now
            sku.updatedAt = now
            sku.version = 1
            try await checkSkuUnique(transaction, sku, field: "\(field).skus[\(index)]")
            try await transaction.insert(CatalogTables.skus, sku)
            stored.append(sku)
        }
        let product = Product(
            id: productID,
            productCode: fields.productCode,
            name: fields.name,
            nameEn: fields.nameEn,
            brand: fields.brand,
            description: fields.description,
            categoryID: fields.categoryID,
            tags: fields.tags,
            imageURLs: fields.imageURLs,
            labels: fields.labels,
            supplierID: fields.supplierID,
            status: status,
            skus: stored,
            ratingSummary: ProductRatingSummary(ratingCounts: [0, 0, 0, 0, 0]),
            statusChangedAt: now,
            createdAt: now,
            updatedAt: now,
            version: 1
        )
        try await transaction.insert(CatalogTables.products, product)
        try await adjustProductCount(transaction, fields.categoryID, by: 1)
        index(product, after: transaction)
        return product
    }

    public func createProduct(request: CreateProductRequest, context: RPCServerContext) async throws -> Product {
        let (fields, skus) = try validateProductSpec(request.product, field: "product")
        let status: ProductStatus
        switch try Validate.known(request.status, field: "status", noun: "status") {
        case .onShelf: status = .onShelf
        case .offShelf: throw RPCError.invalidArgument(field: "status", "a new product cannot start OFF_SHELF")
        default: status = .draft
        }
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            try await insertProduct(transaction, fields: fields, skus: skus, status: status, field: "product")
        }
    }

    public func batchGetProducts(
        request: BatchGetProductsRequest,
        context: RPCServerContext
    ) async throws -> BatchGetProductsResponse {
        guard (1...100).contains(request.productIDs.count) else {
            throw RPCError.invalidArgument(
                field: "product_ids",
                "must list 1 to 100 ids, got \(request.productIDs.count)"
            )
        }
        var seen = Set<String>()
        let ids = request.productIDs.filter { seen.insert($0).inserted }
        for (index, id) in ids.enumerated() { _ = try Validate.id(id, field: "product_ids[\(index)]") }
        let found = try await store.latest.get(CatalogTables.products, ids.map { .string($0) })
        var response = BatchGetProductsResponse()
        for (id, product) in zip(ids, found) {
            if let product { response.products.append(product) } else { response.missingProductIDs.append(id) }
        }
        return response
    }

    public func batchGetSkus(
        request: BatchGetSkusRequest,
        context: RPCServerContext
    ) async throws -> BatchGetSkusResponse {
        guard (1...500).contains(request.skuIDs.count) else {
            throw RPCError.invalidArgument(field: "sku_ids", "must list 1 to 500 ids, got \(request.skuIDs.count)")
        }
        var seen = Set<String>()
        let ids = request.skuIDs.filter { seen.insert($0).inserted }
        for (index, id) in ids.enumerated() { _ = try Validate.id(id, field: "sku_ids[\(index)]") }
        let found = try await store.latest.get(CatalogTables.skus, ids.map { .string($0) })
        var response = BatchGetSkusResponse()
        for (id, sku) in zip(ids, found) {
            if let sku { response.skus.append(sku) } else { response.missingSkuIDs.append(id) }
        }
        return response
    }

    public func updateProduct(request: UpdateProductRequest, context: RPCServerContext) async throws -> Product {
        let productCode = try request.productCode.map {
            $0.isEmpty ? "" : try Validate.code($0, field: "product_code", min: 1, max: 64)
        }
        let name = try request.name.map { try Validate.text($0, field: "name", min: 1, max: 200) }
        let nameEn = try request.nameEn.map { try Validate.text($0, field: "name_en", max: 200) }
        let brand = try request.brand.map { try Validate.text($0, field: "brand", max: 100) }
        let description = try request.description.map { try Validate.text($0, field: "description", max: 20_000) }
        let categoryID = try request.categoryID.map { try Validate.id($0, field: "category_id") }
        let tags = try request.tags.map { try Validate.tags($0.values, field: "tags.values", maxCount: 32) }
        let imageURLs = try request.imageURLs.map {
            try validateImageURLs($0.values, field: "image_urls.values", maxCount: 20)
        }
        let labels = try request.labels.map { try Validate.labels($0.labels, field: "labels.labels") }
        let supplierID = try request.supplierID.map { $0.isEmpty ? "" : try Validate.id($0, field: "supplier_id") }
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            let product = try await transaction.modify(
                CatalogTables.products,
                request.productID,
                field: "product_id",
                expectedVersion: request.expectedVersion
            ) { product in
                if let productCode {
                    try await checkProductCodeUnique(
                        transaction,
                        productCode,
                        productID: product.id,
                        field: "product_code"
                    )
                    product.productCode = productCode
                }
                if let name { product.name = name }
                if let nameEn { product.nameEn = nameEn }
                if let brand { product.brand = brand }
                if let description { product.description = description }
                if let categoryID, categoryID != product.categoryID {
                    _ = try await transaction.require(CatalogTables.categories, categoryID, field: "category_id")
                    try await adjustProductCount(transaction, product.categoryID, by: -1)
                    try await adjustProductCount(transaction, categoryID, by: 1)
                    product.categoryID = categoryID
                }
                if let tags { product.tags = tags }
                if let imageURLs { product.imageURLs = imageURLs }
                if let labels { product.labels = labels }
                if let supplierID {
                    try await checkSupplierUsable(transaction, supplierID, field: "supplier_id")
                    product.supplierID = supplierID
                }
            }
            index(product, after: transaction)
            return product
        }
    }

    /// Which product statuses may follow which: a draft goes on shelf once, then the
    /// product moves between on and off shelf (a draft is deleted rather than shelved
    /// off).
    static let productStatuses = StatusMachine<ProductStatus>(
        "product",
        [.draft: [.onShelf], .onShelf: [.offShelf], .offShelf: [.onShelf]]
    )

    public func changeProductStatus(
        request: ChangeProductStatusRequest,
        context: RPCServerContext
    ) async throws -> Product {
        switch try Validate.known(request.status, field: "status", noun: "status") {
        case .onShelf, .offShelf: break
        default: throw RPCError.invalidArgument(field: "status", "must be ON_SHELF or OFF_SHELF")
        }
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            var product = try await transaction.require(
                CatalogTables.products,
                request.productID,
                field: "product_id",
                expectedVersion: request.expectedVersion
            )
            guard product.status != request.status else { return product }
            try Self.productStatuses.move(
                &product,
                to: request.status,
                field: "status",
                at: transaction.now,
                actor: context.actor
            )
            if request.status == .onShelf, !product.skus.contains(where: { $0.status == .active }) {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "status: the product has no ACTIVE SKU to go on shelf"
                )
            }
            product.statusChangedAt = transaction.now
            try await transaction.updateVersioned(CatalogTables.products, &product)
            index(product, after: transaction)
            return product
        }
    }

    public func deleteProduct(request: DeleteProductRequest, context: RPCServerContext) async throws -> Empty {
        try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            let product = try await transaction.require(
                CatalogTables.products,
                request.productID,
                field: "product_id",
                expectedVersion: request.expectedVersion
            )
            guard product.status == .draft else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "product_id: only DRAFT products can be deleted; take '\(product.name)' off shelf instead"
                )
            }
            for sku in product.skus { try await transaction.delete(CatalogTables.skus, .string(sku.id)) }
            try await transaction.delete(CatalogTables.products, .string(product.id))
            try await adjustProductCount(transaction, product.categoryID, by: -1)
            let searchIndex = self.searchIndex
            transaction.afterCommit { searchIndex.removeProduct(product.id) }
            return Empty()
        }
    }

    public func createSku(request: CreateSkuRequest, context: RPCServerContext) async throws -> Sku {
        guard let spec = request.sku else { throw RPCError.invalidArgument(field: "sku", "is required") }
        var sku = try validateSkuSpec(spec, field: "sku")
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            var product = try await transaction.require(CatalogTables.products, request.productID, field: "product_id")
            guard product.skus.count < Self.maximumSkusPerProduct else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "product_id: the product already has \(Self.maximumSkusPerProduct) SKUs"
                )
            }
            let key = Self.attributeKey(sku.attributes)
            if let twin = product.skus.first(where: { Self.attributeKey($0.attributes) == key }) {
                throw RPCError(
                    code: .alreadyExists,
                    message: "sku.attributes: SKU '\(twin.id)' has the same attributes"
                )
            }
            sku.id = RecordIDs.make(prefix: "sku")
            sku.productID = product.id
            sku.createdAt = transaction.now
            sku.updatedAt = transaction.now
            sku.version = 1
            try await checkSkuUnique(transaction, sku, field: "sku")
            try await transaction.insert(CatalogTables.skus, sku)
            product.skus.append(sku)
            product.updatedAt = transaction.now
            try await transaction.update(CatalogTables.products, product)
            index(product, after: transaction)
            return sku
        }
    }

    public func updateSku(request: UpdateSkuRequest, context: RPCServerContext) async throws -> Sku {
        let skuCode = try request.skuCode.map { try Validate.code($0, field: "sku_code", min: 1, max: 64) }
        let attributes = try request.attributes.map {
            try validateAttributes($0.attributes, field: "attributes.attributes")
        }
        let price = try Validate.money(request.price, field: "price", currency: currency, required: false)
        let listPrice = try Validate.money(request.listPrice, field: "list_price", currency: currency, required: false)
        if listPrice != nil, request.clearListPrice {
            throw RPCError.invalidArgument(field: "clear_list_price", "cannot be set together with list_price")
        }
        let barcode = try request.barcode.map { $0.isEmpty ? "" : try Validate.barcode($0, field: "barcode") }
        if let weight = request.weightGrams, weight < 0 {
            throw RPCError.invalidArgument(field: "weight_grams", "must be 0 or more")
        }
        let imageURL = try request.imageURL.map { try Validate.url($0, field: "image_url") }
        if let status = request.status { try Validate.known(status, field: "status", noun: "status") }
        if request.status == .unspecified {
            throw RPCError.invalidArgument(field: "status", "must be ACTIVE or DISABLED")
        }
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            var product: Product?
            let sku = try await transaction.modify(
                CatalogTables.skus,
                request.skuID,
                field: "sku_id",
                expectedVersion: request.expectedVersion
            ) { sku in
                let owner = try await transaction.require(
                    CatalogTables.products,
                    sku.productID,
                    field: "sku.product_id"
                )
                product = owner
                if let skuCode { sku.skuCode = skuCode }
                if let attributes {
                    let key = Self.attributeKey(attributes)
                    if let twin = owner.skus.first(where: {
                        $0.id != sku.id && Self.attributeKey($0.attributes) == key
                    }) {
                        throw RPCError(
                            code: .alreadyExists,
                            message: "attributes: SKU '\(twin.id)' has the same attributes"
                        )
                    }
                    sku.attributes = attributes
                }
                if let price { sku.price = price }
                if let listPrice { sku.listPrice = listPrice }
                if request.clearListPrice { sku.listPrice = nil }
                if let listPrice = sku.listPrice, let price = sku.price, listPrice.minorUnits < price.minorUnits {
                    throw RPCError.invalidArgument(
                        field: "list_price",
                        "must be at least the price (\(price.minorUnits))"
                    )
                }
                if let barcode { sku.barcode = barcode }
                if let weight = request.weightGrams { sku.weightGrams = weight }
                if let imageURL { sku.imageURL = imageURL }
                if let status = request.status {
                    if status == .disabled, owner.status == .onShelf,
                        !owner.skus.contains(where: { $0.id != sku.id && $0.status == .active })
                    {
                        throw RPCError(
                            code: .failedPrecondition,
                            message:
                                "status: this is the last ACTIVE SKU of an ON_SHELF product; take the product off shelf first"
                        )
                    }
                    sku.status = status
                }
                try await checkSkuUnique(transaction, sku, field: "sku")
            }
            // The product holds a copy of each SKU: the same change, the same commit.
            if var product {
                if let index = product.skus.firstIndex(where: { $0.id == sku.id }) { product.skus[index] = sku }
                product.updatedAt = transaction.now
                try await transaction.update(CatalogTables.products, product)
                index(product, after: transaction)
            }
            return sku
        }
    }

    public func deleteSku(request: DeleteSkuRequest, context: RPCServerContext) async throws -> Empty {
        try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            let sku = try await transaction.require(
                CatalogTables.skus,
                request.skuID,
                field: "sku_id",
                expectedVersion: request.expectedVersion
            )
            var product = try await transaction.require(CatalogTables.products, sku.productID, field: "sku.product_id")
            guard product.status == .draft else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "sku_id: only SKUs of a DRAFT product can be deleted; disable it instead"
                )
            }
            guard product.skus.count > 1 else {
                throw RPCError(code: .failedPrecondition, message: "sku_id: the product's last SKU cannot be deleted")
            }
            try await transaction.delete(CatalogTables.skus, .string(sku.id))
            product.skus.removeAll { $0.id == sku.id }
            product.updatedAt = transaction.now
            try await transaction.update(CatalogTables.products, product)
            index(product, after: transaction)
            return Empty()
        }
    }
}

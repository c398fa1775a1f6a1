public import Logging
public import O2OMessages
public import O2ORPC
public import O2OStorage

/// The catalog service: categories, products and SKUs, search, bulk import,
/// suppliers with evaluations, product reviews. Records live in the record store;
/// search runs on an in-memory index of the products, rebuilt from the store at start
/// and kept current after every commit.
public final class CatalogServiceProvider: CatalogServiceProtocol {
    let store: RecordStore
    let searchIndex: CatalogSearchIndex
    /// Prices must be in this currency (ISO 4217).
    let currency: String
    let logger: Logger

    /// Opens the catalog over a store, building the search index from what it holds.
    public static func open(
        store: RecordStore,
        currency: String = "CNY",
        logger: Logger
    ) async throws -> CatalogServiceProvider {
        let provider = CatalogServiceProvider(store: store, currency: currency, logger: logger)
        try await provider.rebuildSearchIndex()
        return provider
    }

    private init(store: RecordStore, currency: String, logger: Logger) {
        self.store = store
        self.currency = currency
        self.logger = logger
        self.searchIndex = CatalogSearchIndex()
    }

    /// Reads every category and product into the search index.
    func rebuildSearchIndex() async throws {
        var token: String?
        repeat {
            let page = try await store.read {
                try await $0.page(CatalogTables.categories, RecordQuery(pageSize: 500, pageToken: token))
            }
            for category in page.records { searchIndex.upsert(category) }
            token = page.nextPageToken
        } while !(token ?? "").isEmpty
        token = nil
        repeat {
            let page = try await store.read {
                try await $0.page(CatalogTables.products, RecordQuery(pageSize: 500, pageToken: token))
            }
            for product in page.records { searchIndex.upsert(product) }
            token = page.nextPageToken
        } while !(token ?? "").isEmpty
    }

    /// Runs a method body with error mapping.
    func run<Result>(_ context: RPCServerContext, _ body: () async throws -> Result) async throws -> Result {
        try await serve(context, logger: logger, body)
    }

    // MARK: - Shared lookups

    func requireCategory(_ reader: some RecordReading, _ id: String, field: String) async throws -> Category {
        let id = try Validate.id(id, field: field)
        guard let category = try await reader.get(CatalogTables.categories, .string(id)) else {
            throw RPCError(code: .notFound, message: "\(field): no category '\(id)'")
        }
        return category
    }

    func requireProduct(
        _ reader: some RecordReading,
        _ id: String,
        field: String = "product_id"
    ) async throws -> Product {
        let id = try Validate.id(id, field: field)
        guard let product = try await reader.get(CatalogTables.products, .string(id)) else {
            throw RPCError(code: .notFound, message: "\(field): no product '\(id)'")
        }
        return product
    }

    func requireSku(_ reader: some RecordReading, _ id: String, field: String = "sku_id") async throws -> Sku {
        let id = try Validate.id(id, field: field)
        guard let sku = try await reader.get(CatalogTables.skus, .string(id)) else {
            throw RPCError(code: .notFound, message: "\(field): no SKU '\(id)'")
        }
        return sku
    }

    func requireSupplier(
        _ reader: some RecordReading,
        _ id: String,
        field: String = "supplier_id"
    ) async throws -> Supplier {
        let id = try Validate.id(id, field: field)
        guard let supplier = try await reader.get(CatalogTables.suppliers, .string(id)) else {
            throw RPCError(code: .notFound, message: "\(field): no supplier '\(id)'")
        }
        return supplier
    }

    // MARK: - CatalogServiceProtocol

    public func createCategory(request: CreateCategoryRequest, context: RPCServerContext) async throws -> Category {
        try await run(context) { try await createCategoryImpl(request, context) }
    }

    public func getCategory(request: GetCategoryRequest, context: RPCServerContext) async throws -> Category {
        try await run(context) {
            try await store.read { try await requireCategory($0, request.categoryID, field: "category_id") }
        }
    }

    public func updateCategory(request: UpdateCategoryRequest, context: RPCServerContext) async throws -> Category {
        try await run(context) { try await updateCategoryImpl(request, context) }
    }

    public func moveCategory(request: MoveCategoryRequest, context: RPCServerContext) async throws -> Category {
        try await run(context) { try await moveCategoryImpl(request, context) }
    }

    public func reorderCategories(
        request: ReorderCategoriesRequest,
        context: RPCServerContext
    ) async throws -> ReorderCategoriesResponse {
        try await run(context) { try await reorderCategoriesImpl(request, context) }
    }

    public func deleteCategory(request: DeleteCategoryRequest, context: RPCServerContext) async throws -> Empty {
        try await run(context) { try await deleteCategoryImpl(request, context) }
    }

    public func listCategoryChildren(
        request: ListCategoryChildrenRequest,
        context: RPCServerContext
    ) async throws -> ListCategoryChildrenResponse {
        try await run(context) { try await listCategoryChildrenImpl(request) }
    }

    public func getCategoryPath(
        request: GetCategoryPathRequest,
        context: RPCServerContext
    ) async throws -> GetCategoryPathResponse {
        try await run(context) { try await getCategoryPathImpl(request) }
    }

    public func createProduct(request: CreateProductRequest, context: RPCServerContext) async throws -> Product {
        try await run(context) { try await createProductImpl(request, context) }
    }

    public func getProduct(request: GetProductRequest, context: RPCServerContext) async throws -> Product {
        try await run(context) { try await requireProduct(store.latest, request.productID) }
    }

    public func batchGetProducts(
        request: BatchGetProductsRequest,
        context: RPCServerContext
    ) async throws -> BatchGetProductsResponse {
        try await run(context) { try await batchGetProductsImpl(request) }
    }

    public func updateProduct(request: UpdateProductRequest, context: RPCServerContext) async throws -> Product {
        try await run(context) { try await updateProductImpl(request, context) }
    }

    public func changeProductStatus(
        request: ChangeProductStatusRequest,
        context: RPCServerContext
    ) async throws -> Product {
        try await run(context) { try await changeProductStatusImpl(request, context) }
    }

    public func deleteProduct(request: DeleteProductRequest, context: RPCServerContext) async throws -> Empty {
        try await run(context) { try await deleteProductImpl(request, context) }
    }

    public func createSku(request: CreateSkuRequest, context: RPCServerContext) async throws -> Sku {
        try await run(context) { try await createSkuImpl(request, context) }
    }

    public func getSku(request: GetSkuRequest, context: RPCServerContext) async throws -> Sku {
        try await run(context) { try await requireSku(store.latest, request.skuID) }
    }

    public func getSkuByBarcode(request: GetSkuByBarcodeRequest, context: RPCServerContext) async throws -> Sku {
        try await run(context) {
            let barcode = request.barcode.trimmingWhitespace()
            guard !barcode.isEmpty else { throw RPCError.invalidArgument(field: "barcode", "must not be empty") }
            let reader = store.latest
            guard let sku = try await reader.lookup(CatalogTables.skus, CatalogTables.skus.indexes[0], .string(barcode))
            else {
                throw RPCError(code: .notFound, message: "barcode: no SKU has barcode '\(barcode)'")
            }
            return sku
        }
    }

    public func batchGetSkus(
        request: BatchGetSkusRequest,
        context: RPCServerContext
    ) async throws -> BatchGetSkusResponse {
        try await run(context) { try await batchGetSkusImpl(request) }
    }

    public func updateSku(request: UpdateSkuRequest, context: RPCServerContext) async throws -> Sku {
        try await run(context) { try await updateSkuImpl(request, context) }
    }

    public func deleteSku(request: DeleteSkuRequest, context: RPCServerContext) async throws -> Empty {
        try await run(context) { try await deleteSkuImpl(request, context) }
    }

    public func searchProducts(
        request: SearchProductsRequest,
        context: RPCServerContext
    ) async throws -> SearchProductsResponse {
        try await run(context) { try await searchProductsImpl(request) }
    }

    public func listProductTags(
        request: ListProductTagsRequest,
        context: RPCServerContext
    ) async throws -> ListProductTagsResponse {
        try await run(context) { try listProductTagsImpl(request) }
    }

    public func importProducts(
        requests: RPCRequestStream<ImportProductsRequest>,
        context: RPCServerContext
    ) async throws -> ImportProductsResponse {
        try await run(context) { try await importProductsImpl(requests, context) }
    }

    public func createSupplier(request: CreateSupplierRequest, context: RPCServerContext) async throws -> Supplier {
        try await run(context) { try await createSupplierImpl(request, context) }
    }

    public func getSupplier(request: GetSupplierRequest, context: RPCServerContext) async throws -> Supplier {
        try await run(context) { try await store.read { try await requireSupplier($0, request.supplierID) } }
    }

    public func updateSupplier(request: UpdateSupplierRequest, context: RPCServerContext) async throws -> Supplier {
        try await run(context) { try await updateSupplierImpl(request, context) }
    }

    public func changeSupplierStatus(
        request: ChangeSupplierStatusRequest,
        context: RPCServerContext
    ) async throws -> Supplier {
        try await run(context) { try await changeSupplierStatusImpl(request, context) }
    }

    public func listSuppliers(
        request: ListSuppliersRequest,
        context: RPCServerContext
    ) async throws -> ListSuppliersResponse {
        try await run(context) { try await listSuppliersImpl(request) }
    }

    public func recordSupplierEvaluation(
        request: RecordSupplierEvaluationRequest,
        context: RPCServerContext
    ) async throws -> SupplierEvaluation {
        try await run(context) { try await recordSupplierEvaluationImpl(request, context) }
    }

    public func listSupplierEvaluations(
        request: ListSupplierEvaluationsRequest,
        context: RPCServerContext
    ) async throws -> ListSupplierEvaluationsResponse {
        try await run(context) { try await listSupplierEvaluationsImpl(request) }
    }

    public func createProductReview(
        request: CreateProductReviewRequest,
        context: RPCServerContext
    ) async throws -> ProductReview {
        try await run(context) { try await createProductReviewImpl(request, context) }
    }

    public func getProductReview(
        request: GetProductReviewRequest,
        context: RPCServerContext
    ) async throws -> ProductReview {
        try await run(context) {
            let id = try Validate.id(request.reviewID, field: "review_id")
            guard let review = try await store.read({ try await $0.get(CatalogTables.reviews, .string(id)) }) else {
                throw RPCError(code: .notFound, message: "review_id: no review '\(id)'")
            }
            return review
        }
    }

    public func listProductReviews(
        request: ListProductReviewsRequest,
        context: RPCServerContext
    ) async throws -> ListProductReviewsResponse {
        try await run(context) { try await listProductReviewsImpl(request) }
    }

    public func moderateProductReview(
        request: ModerateProductReviewRequest,
        context: RPCServerContext
    ) async throws -> ProductReview {
        try await run(context) { try await moderateProductReviewImpl(request, context) }
    }

    public func replyToProductReview(
        request: ReplyToProductReviewRequest,
        context: RPCServerContext
    ) async throws -> ProductReview {
        try await run(context) { try await replyToProductReviewImpl(request, context) }
    }
}

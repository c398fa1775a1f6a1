public import Logging
public import O2OMessages
public import O2ORPC
public import O2OServiceKit
import O2OStorage

/// The catalog service: categories, products and SKUs, search, bulk import,
/// suppliers with evaluations, product reviews. Records live in the record store;
/// search runs on an in-memory index of the products, rebuilt from the store at start
/// and kept current after every commit.
public final class CatalogServiceProvider: CatalogServiceProtocol {
    let store: ServiceStore
    let searchIndex: CatalogSearchIndex
    /// Prices must be in this currency (ISO 4217).
    let currency: String
    let logger: Logger

    /// Opens the catalog over a store, building the search index from what it holds.
    public static func open(
        store: ServiceStore,
        currency: String = "CNY",
        logger: Logger
    ) async throws -> CatalogServiceProvider {
        let provider = CatalogServiceProvider(store: store, currency: currency, logger: logger)
        try await provider.rebuildSearchIndex()
        return provider
    }

    private init(store: ServiceStore, currency: String, logger: Logger) {
        self.store = store
        self.currency = currency
        self.logger = logger
        self.searchIndex = CatalogSearchIndex()
    }

    /// Reads every category and product into the search index.
    func rebuildSearchIndex() async throws {
        let (categories, products) = try await store.read { reader in
            (
                try await reader.all(CatalogTables.categories, limit: .max),
                try await reader.all(CatalogTables.products, limit: .max)
            )
        }
        for category in categories { searchIndex.upsert(category) }
        for product in products { searchIndex.upsert(product) }
    }

    /// The search index learns about `product` once the change commits.
    func index(_ product: Product, after transaction: ServiceTransaction) {
        let searchIndex = self.searchIndex
        transaction.afterCommit { searchIndex.upsert(product) }
    }

    /// The search index learns about `category` once the change commits.
    func index(_ category: Category, after transaction: ServiceTransaction) {
        let searchIndex = self.searchIndex
        transaction.afterCommit { searchIndex.upsert(category) }
    }

    // MARK: - CatalogServiceProtocol: the lookups

    public func getCategory(request: GetCategoryRequest, context: RPCServerContext) async throws -> Category {
        try await store.latest.require(CatalogTables.categories, request.categoryID, field: "category_id")
    }

    public func getProduct(request: GetProductRequest, context: RPCServerContext) async throws -> Product {
        try await store.latest.require(CatalogTables.products, request.productID, field: "product_id")
    }

    public func getSku(request: GetSkuRequest, context: RPCServerContext) async throws -> Sku {
        try await store.latest.require(CatalogTables.skus, request.skuID, field: "sku_id")
    }

    public func getSkuByBarcode(request: GetSkuByBarcodeRequest, context: RPCServerContext) async throws -> Sku {
        let barcode = request.barcode.trimmingWhitespace()
        guard !barcode.isEmpty else { throw RPCError.invalidArgument(field: "barcode", "must not be empty") }
        guard let sku = try await store.latest.lookup(CatalogTables.skus, CatalogTables.skuBarcode, .string(barcode))
        else {
            throw RPCError(code: .notFound, message: "barcode: no SKU has barcode '\(barcode)'")
        }
        return sku
    }

    public func getSupplier(request: GetSupplierRequest, context: RPCServerContext) async throws -> Supplier {
        try await store.latest.require(CatalogTables.suppliers, request.supplierID, field: "supplier_id")
    }

    public func getProductReview(
        request: GetProductReviewRequest,
        context: RPCServerContext
    ) async throws -> ProductReview {
        try await store.latest.require(CatalogTables.reviews, request.reviewID, field: "review_id")
    }
}

import Logging
import O2OMessages
import O2ORPC
import O2OServiceKit

/// The domains' services as the demo calls them: in-process, through the same call
/// path and error mapping a network client goes through, as the system principal.
struct DemoShop {
    let catalog: CatalogServiceClient
    let inventory: InventoryServiceClient
    let crm: CrmServiceClient
    let promotion: PromotionServiceClient
    let order: OrderServiceClient
    let care: CareServiceClient
    let risk: OrderRiskServiceClient
    let settlement: SettlementServiceClient

    init(services: [any RPCService], logger: Logger) {
        let transport = RPCInProcessTransport(
            services: services,
            interceptors: [AsPrincipal(RPCPrincipal(name: "demo-data", role: .admin))],
            errorMapping: ServiceErrorMapping(logger: logger)
        )
        catalog = CatalogServiceClient(transport: transport)
        inventory = InventoryServiceClient(transport: transport)
        crm = CrmServiceClient(transport: transport)
        promotion = PromotionServiceClient(transport: transport)
        order = OrderServiceClient(transport: transport)
        care = CareServiceClient(transport: transport)
        risk = OrderRiskServiceClient(transport: transport)
        settlement = SettlementServiceClient(transport: transport)
    }

    /// Calls made on the server's own behalf.
    private struct AsPrincipal: RPCServerInterceptor {
        let principal: RPCPrincipal
        init(_ principal: RPCPrincipal) { self.principal = principal }

        func intercept(
            context: RPCServerContext,
            next: (RPCServerContext) async throws -> RPCServerResponse
        ) async throws -> RPCServerResponse {
            var context = context
            context.principal = principal
            return try await next(context)
        }
    }

    func category(_ name: String, _ english: String, parent: String, order: Int) async throws -> String {
        try await catalog.createCategory(
            CreateCategoryRequest(
                requestID: "demo-category-\(parent)-\(order)",
                parentID: parent,
                name: name,
                nameEn: english,
                sortOrder: Int32(order)
            )
        ).id
    }

    /// Creates a supplier; suspends it when given a reason.
    func supplier(_ request: CreateSupplierRequest, suspended reason: String?) async throws -> String {
        let supplier = try await catalog.createSupplier(request)
        if let reason {
            _ = try await catalog.changeSupplierStatus(
                ChangeSupplierStatusRequest(
                    requestID: request.requestID + "-suspend",
                    supplierID: supplier.id,
                    status: .suspended,
                    reason: reason
                )
            )
        }
        return supplier.id
    }

    func evaluate(_ request: RecordSupplierEvaluationRequest) async throws {
        _ = try await catalog.recordSupplierEvaluation(request)
    }

    /// Imports the rows in one stream, takes the `offShelf` rows off shelf, and
    /// returns the products as stored.
    func importProducts(_ rows: [ProductImportRow], offShelf: Set<Int64>) async throws -> [Product] {
        let report = try await catalog.importProducts { writer in
            try await writer.write(ImportProductsRequest(requestID: "demo-products", mode: .createOnly))
            for row in rows { try await writer.write(ImportProductsRequest(row: row)) }
        }
        guard report.errors.isEmpty else {
            let first = report.errors[0]
            throw RPCError(
                code: .internalError,
                message: "demo product row \(first.rowNumber): \(first.field): \(first.reason)"
            )
        }
        var products: [Product] = []
        let ids = report.results.sorted { $0.rowNumber < $1.rowNumber }.map(\.productID)
        for start in stride(from: 0, to: ids.count, by: 100) {
            let batch = Array(ids[start..<min(start + 100, ids.count)])
            products += try await catalog.batchGetProducts(BatchGetProductsRequest(productIDs: batch)).products
        }
        for result in report.results where offShelf.contains(result.rowNumber) {
            let product = try await catalog.changeProductStatus(
                ChangeProductStatusRequest(
                    requestID: "demo-off-shelf-\(result.rowNumber)",
                    productID: result.productID,
                    status: .offShelf
                )
            )
            if let index = products.firstIndex(where: { $0.id == product.id }) { products[index] = product }
        }
        return products
    }

    func location(_ location: StockLocation) async throws -> StockLocation {
        try await inventory.createStockLocation(
            CreateStockLocationRequest(requestID: "demo-location-\(location.code)", stockLocation: location)
        )
    }
}

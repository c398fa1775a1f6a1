import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

extension CatalogServiceProvider {
    static let maximumImportRows = 10_000
    static let maximumImportErrors = 1000

    /// A row that passed validation, ready to be checked against the catalog.
    private struct ValidRow {
        var rowNumber: Int64
        var fields: ProductFields
        var skus: [Sku]
        var status: ProductStatus
    }

    public func importProducts(
        requests: RPCRequestStream<ImportProductsRequest>,
        context: RPCServerContext
    ) async throws -> ImportProductsResponse {
        var requestID: String?
        var mode = ProductImportMode.createOnly
        var dryRun = false
        var rows: [ProductImportRow] = []
        var first = true
        for try await message in requests {
            if first {
                first = false
                requestID = message.requestID
                mode = message.mode == .unspecified ? .createOnly : message.mode
                dryRun = message.dryRun
                try Validate.known(mode, field: "mode", noun: "mode")
            } else if !message.requestID.isEmpty, message.requestID != requestID {
                throw RPCError.invalidArgument(field: "request_id", "differs from the first message's")
            }
            if let row = message.row {
                rows.append(row)
                guard rows.count <= Self.maximumImportRows else {
                    throw RPCError(
                        code: .resourceExhausted,
                        message: "more than \(Self.maximumImportRows) rows; nothing was imported"
                    )
                }
            }
        }
        guard let requestID else { throw RPCError.invalidArgument(field: "request_id", "the import sent no messages") }
        try RequestIDs.validate(requestID)

        var response = ImportProductsResponse(receivedRows: Int64(rows.count), dryRun: dryRun)
        var failed = Set<Int64>()
        func reject(_ row: Int64, _ field: String, _ code: RPCStatusCode, _ reason: String) {
            failed.insert(row)
            if response.errors.count < Self.maximumImportErrors {
                response.errors.append(
                    ProductImportRowError(rowNumber: row, field: field, code: code.name, reason: reason)
                )
            } else {
                response.errorsTruncated = true
            }
        }
        func reject(_ row: Int64, _ error: RPCError) {
            let field = error.fieldViolations.first?.field ?? Self.fieldOf(error.message)
            let reason = error.fieldViolations.first?.description ?? Self.reasonOf(error.message)
            reject(row, field, error.code, reason)
        }

        // Validation that needs no catalog: every row on its own.
        var valid: [ValidRow] = []
        var rowNumbers = Set<Int64>()
        for row in rows {
            guard row.rowNumber >= 1 else {
                reject(row.rowNumber, "row_number", .invalidArgument, "must be 1 or more")
                continue
            }
            guard rowNumbers.insert(row.rowNumber).inserted else {
                reject(row.rowNumber, "row_number", .invalidArgument, "row \(row.rowNumber) appears twice")
                continue
            }
            do {
                let (fields, skus) = try validateProductSpec(row.product, field: "product")
                if mode == .upsert, fields.productCode.isEmpty {
                    throw RPCError.invalidArgument(field: "product.product_code", "is required in UPSERT mode")
                }
                let status = try Validate.known(row.status, field: "status", noun: "status")
                valid.append(ValidRow(rowNumber: row.rowNumber, fields: fields, skus: skus, status: status))
            } catch let error as RPCError {
                reject(row.rowNumber, error)
            }
        }

        // Against the catalog and the rows before: checks first, then writes, so a row
        // that fails leaves nothing behind in the commit.
        let fingerprint = ImportProductsRequest(requestID: requestID, mode: mode, dryRun: dryRun)
        let apply: (ServiceTransaction) async throws -> ImportProductsResponse = { transaction in
            var outcome = response
            var localFailed = failed
            for row in valid {
                do {
                    let (product, created, newSkus, updatedSkus) = try await self.importRow(
                        row,
                        mode: mode,
                        transaction
                    )
                    outcome.results.append(
                        ProductImportRowResult(rowNumber: row.rowNumber, productID: product.id, created: created)
                    )
                    if created { outcome.createdProducts += 1 } else { outcome.updatedProducts += 1 }
                    outcome.createdSkus += Int64(newSkus)
                    outcome.updatedSkus += Int64(updatedSkus)
                } catch let error as RPCError {
                    localFailed.insert(row.rowNumber)
                    let field = error.fieldViolations.first?.field ?? Self.fieldOf(error.message)
                    let reason = error.fieldViolations.first?.description ?? Self.reasonOf(error.message)
                    if outcome.errors.count < Self.maximumImportErrors {
                        outcome.errors.append(
                            ProductImportRowError(
                                rowNumber: row.rowNumber,
                                field: field,
                                code: error.code.name,
                                reason: reason
                            )
                        )
                    } else {
                        outcome.errorsTruncated = true
                    }
                }
            }
            outcome.errors.sort { $0.rowNumber < $1.rowNumber }
            outcome.results.sort { $0.rowNumber < $1.rowNumber }
            outcome.failedRows = Int64(localFailed.count)
            outcome.importedRows = Int64(outcome.results.count)
            return outcome
        }
        if dryRun {
            var outcome = try await store.dryRun(apply)
            for index in outcome.results.indices where outcome.results[index].created {
                outcome.results[index].productID = ""
            }
            return outcome
        }
        return try await store.mutation(context, requestID: requestID, request: fingerprint, apply)
    }

    /// Creates or (UPSERT) updates one row's product, checking everything before it
    /// writes anything. Returns the product, whether it is new, and SKU counts.
    private func importRow(
        _ row: ValidRow,
        mode: ProductImportMode,
        _ transaction: ServiceTransaction
    ) async throws -> (Product, Bool, Int, Int) {
        let existing: Product? =
            row.fields.productCode.isEmpty
            ? nil
            : try await transaction.lookup(
                CatalogTables.products,
                CatalogTables.productCode,
                .string(row.fields.productCode.lowercased())
            )
        if mode == .createOnly || existing == nil {
            if existing != nil {
                throw RPCError.invalidArgument(field: "product.product_code", "'\(row.fields.productCode)' is taken")
                    .with(code: .alreadyExists)
            }
            let status: ProductStatus = row.status == .unspecified ? .draft : row.status
            if status == .offShelf {
                throw RPCError.invalidArgument(field: "status", "a new product cannot start OFF_SHELF")
            }
            // Checks, so that insertProduct cannot fail halfway.
            _ = try await transaction.require(
                CatalogTables.categories,
                row.fields.categoryID,
                field: "product.category_id"
            )
            try await checkSupplierUsable(transaction, row.fields.supplierID, field: "product.supplier_id")
            for (index, sku) in row.skus.enumerated() {
                try await checkSkuUnique(transaction, sku, field: "product.skus[\(index)]")
            }
            let product = try await insertProduct(
                transaction,
                fields: row.fields,
                skus: row.skus,
                status: status,
                field: "product"
            )
            return (product, true, row.skus.count, 0)
        }
        var product = existing!
        let byCode = Dictionary(
            product.skus.map { ($0.skuCode.lowercased(), $0) },
            uniquingKeysWith: { first, _ in first }
        )
        // Checks.
        _ = try await transaction.require(CatalogTables.categories, row.fields.categoryID, field: "product.category_id")
        try await checkSupplierUsable(transaction, row.fields.supplierID, field: "product.supplier_id")
        var merged = product.skus
        var planned: [(Sku, isNew: Bool)] = []
        for (index, var sku) in row.skus.enumerated() {
            if let current = byCode[sku.skuCode.lowercased()] {
                sku.id = current.id
                sku.productID = product.id
                sku.createdAt = current.createdAt
                sku.version = current.version + 1
                merged[merged.firstIndex { $0.id == current.id }!] = sku
                planned.append((sku, false))
            } else {
                sku.id = RecordIDs.make(prefix: "sku")
                sku.productID = product.id
                sku.version = 1
                merged.append(sku)
                planned.append((sku, true))
            }
            try await checkSkuUnique(transaction, sku, field: "product.skus[\(index)]")
        }
        guard merged.count <= Self.maximumSkusPerProduct else {
            throw RPCError.invalidArgument(
                field: "product.skus",
                "the product would have more than \(Self.maximumSkusPerProduct) SKUs"
            )
        }
        try checkDistinct(merged, field: "product.skus")
        let status = row.status == .unspecified ? product.status : row.status
        if status != product.status {
            try Self.productStatuses.check(product.status, status, field: "status", id: product.id)
        }
        if status == .onShelf, !merged.contains(where: { $0.status == .active }) {
            throw RPCError(code: .failedPrecondition, message: "status: a product needs an ACTIVE SKU to go on shelf")
        }
        try await checkProductCodeUnique(
            transaction,
            row.fields.productCode,
            productID: product.id,
            field: "product.product_code"
        )
        // Writes.
        let now = transaction.now
        for (var sku, isNew) in planned {
            sku.updatedAt = now
            if isNew {
                sku.createdAt = now
                try await transaction.insert(CatalogTables.skus, sku)
            } else {
                try await transaction.update(CatalogTables.skus, sku)
            }
            merged[merged.firstIndex { $0.id == sku.id }!] = sku
        }
        if row.fields.categoryID != product.categoryID {
            try await adjustProductCount(transaction, product.categoryID, by: -1)
            try await adjustProductCount(transaction, row.fields.categoryID, by: 1)
        }
        product.productCode = row.fields.productCode
        product.name = row.fields.name
        product.nameEn = row.fields.nameEn
        product.brand = row.fields.brand
        product.description = row.fields.description
        product.categoryID = row.fields.categoryID
        product.tags = row.fields.tags
        product.imageURLs = row.fields.imageURLs
        product.labels = row.fields.labels
        product.supplierID = row.fields.supplierID
        if status != product.status {
            product.status = status
            product.statusChangedAt = now
        }
        product.skus = merged
        try await transaction.updateVersioned(CatalogTables.products, &product)
        index(product, after: transaction)
        return (product, false, planned.filter(\.isNew).count, planned.filter { !$0.isNew }.count)
    }

    /// "product.skus[0].barcode: reason" → "product.skus[0].barcode".
    static func fieldOf(_ message: String) -> String {
        guard let colon = message.firstIndex(of: ":") else { return "" }
        let field = String(message[..<colon])
        return field.contains(" ") ? "" : field
    }

    static func reasonOf(_ message: String) -> String {
        let field = fieldOf(message)
        return field.isEmpty ? message : String(message.dropFirst(field.count + 2))
    }
}

extension RPCError {
    func with(code: RPCStatusCode) -> RPCError {
        var copy = self
        copy.code = code
        return copy
    }
}

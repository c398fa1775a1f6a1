import Foundation
import O2OCatalog
import O2OClient
import O2ODemo
import O2OServiceKit
import O2OServiceTestSupport
import O2OStorage
import O2OTestSupport
import Testing

@Suite("Catalog service end to end")
struct CatalogTests {
    @Test("categories: tree, sibling names, depth, move, reorder, delete", arguments: StoreKind.allCases)
    func categories(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let catalog = harness.client.catalog
            let food = try await catalog.createCategory(
                CreateCategoryRequest(requestID: rid(), name: "食品", nameEn: "Food")
            )
            #expect(food.depth == 0 && food.sortOrder == 10 && food.version == 1)
            let drinks = try await catalog.createCategory(
                CreateCategoryRequest(requestID: rid(), parentID: food.id, name: "饮料")
            )
            let snacks = try await catalog.createCategory(
                CreateCategoryRequest(requestID: rid(), parentID: food.id, name: "零食")
            )
            #expect(drinks.depth == 1 && drinks.sortOrder == 10 && snacks.sortOrder == 20)
            #expect(try await catalog.getCategory(GetCategoryRequest(categoryID: food.id)).childCount == 2)

            await expectStatus(.alreadyExists, "name: a sibling category is already called '饮料'") {
                _ = try await catalog.createCategory(
                    CreateCategoryRequest(requestID: rid(), parentID: food.id, name: " 饮料 ")
                )
            }
            await expectStatus(.notFound, "parent_id: no category 'cat_nope'") {
                _ = try await catalog.createCategory(
                    CreateCategoryRequest(requestID: rid(), parentID: "cat_nope", name: "x")
                )
            }
            // Five levels are allowed, a sixth is not.
            var parent = drinks.id
            for level in 2...4 {
                parent = try await catalog.createCategory(
                    CreateCategoryRequest(requestID: rid(), parentID: parent, name: "L\(level)")
                ).id
            }
            await expectStatus(.failedPrecondition) {
                _ = try await catalog.createCategory(
                    CreateCategoryRequest(requestID: rid(), parentID: parent, name: "too deep")
                )
            }
            // Moving a category under its own descendant is refused; so is a move that goes too deep.
            await expectStatus(.failedPrecondition) {
                _ = try await catalog.moveCategory(
                    MoveCategoryRequest(requestID: rid(), categoryID: food.id, newParentID: parent)
                )
            }
            await expectStatus(.failedPrecondition) {
                _ = try await catalog.moveCategory(
                    MoveCategoryRequest(requestID: rid(), categoryID: drinks.id, newParentID: snacks.id)
                )
            }
            let moved = try await catalog.moveCategory(
                MoveCategoryRequest(requestID: rid(), categoryID: snacks.id, newParentID: "")
            )
            #expect(moved.depth == 0 && moved.parentID.isEmpty)
            #expect(try await catalog.getCategory(GetCategoryRequest(categoryID: food.id)).childCount == 1)

            let renamed = try await catalog.updateCategory(
                UpdateCategoryRequest(
                    requestID: rid(),
                    categoryID: food.id,
                    name: "食品饮料",
                    tags: CatalogStringList(values: ["新品"])
                )
            )
            #expect(renamed.name == "食品饮料" && renamed.tags == ["新品"] && renamed.version == 2)
            await expectStatus(.failedPrecondition) {
                _ = try await catalog.updateCategory(
                    UpdateCategoryRequest(requestID: rid(), categoryID: food.id, name: "x", expectedVersion: 1)
                )
            }

            let roots = try await catalog.listCategoryChildren(ListCategoryChildrenRequest())
            #expect(roots.categories.map(\.name) == ["食品饮料", "零食"])
            await expectStatus(.failedPrecondition) {
                _ = try await catalog.reorderCategories(
                    ReorderCategoriesRequest(requestID: rid(), categoryIDs: [snacks.id])
                )
            }
            await expectStatus(.invalidArgument) {
                _ = try await catalog.reorderCategories(
                    ReorderCategoriesRequest(requestID: rid(), categoryIDs: [snacks.id, snacks.id])
                )
            }
            let reordered = try await catalog.reorderCategories(
                ReorderCategoriesRequest(requestID: rid(), categoryIDs: [snacks.id, food.id])
            )
            #expect(reordered.categories.map(\.sortOrder) == [10, 20])
            #expect(
                try await catalog.listCategoryChildren(ListCategoryChildrenRequest()).categories.map(\.name) == [
                    "零食", "食品饮料",
                ]
            )

            let subtree = try await catalog.listCategoryChildren(
                ListCategoryChildrenRequest(parentID: food.id, includeDescendants: true)
            )
            #expect(subtree.categories.map(\.name) == ["饮料", "L2", "L3", "L4"])
            let path = try await catalog.getCategoryPath(GetCategoryPathRequest(categoryID: parent))
            #expect(path.displayPath == "食品饮料 > 饮料 > L2 > L3 > L4")

            await expectStatus(.failedPrecondition) {
                _ = try await catalog.deleteCategory(DeleteCategoryRequest(requestID: rid(), categoryID: food.id))
            }
            _ = try await catalog.deleteCategory(DeleteCategoryRequest(requestID: rid(), categoryID: snacks.id))
            await expectStatus(.notFound) {
                _ = try await catalog.getCategory(GetCategoryRequest(categoryID: snacks.id))
            }
        }
    }

    @Test("products and SKUs: create, barcodes, statuses, updates, deletes", arguments: StoreKind.allCases)
    func products(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let catalog = harness.client.catalog
            let category = try await catalog.createCategory(CreateCategoryRequest(requestID: rid(), name: "饮料"))
            let product = try await catalog.createProduct(
                CreateProductRequest(
                    requestID: rid(),
                    product: productSpec("绿茶", category: category.id, seed: 1, skus: 3),
                    status: .onShelf
                )
            )
            #expect(product.skus.count == 3 && product.status == .onShelf && product.version == 1)
            #expect(try await catalog.getCategory(GetCategoryRequest(categoryID: category.id)).productCount == 1)
            #expect(try await catalog.getProduct(GetProductRequest(productID: product.id)) == product)
            let sku = product.skus[1]
            #expect(try await catalog.getSku(GetSkuRequest(skuID: sku.id)) == sku)
            #expect(try await catalog.getSkuByBarcode(GetSkuByBarcodeRequest(barcode: sku.barcode)).id == sku.id)

            // The same barcode on another product is taken.
            var clash = productSpec("红茶", category: category.id, seed: 2)
            clash.skus[0].barcode = sku.barcode
            let taken = await expectStatus(.alreadyExists) {
                _ = try await catalog.createProduct(CreateProductRequest(requestID: rid(), product: clash))
            }
            #expect(taken?.message == "product.skus[0].barcode: '\(sku.barcode)' is already used by SKU '\(sku.id)'")
            // Nothing of the failed product was written.
            #expect(try await catalog.getCategory(GetCategoryRequest(categoryID: category.id)).productCount == 1)
            await expectStatus(.notFound) {
                _ = try await catalog.getSkuByBarcode(GetSkuByBarcodeRequest(barcode: clash.skus[1].barcode))
            }

            // Status transitions.
            let off = try await catalog.changeProductStatus(
                ChangeProductStatusRequest(requestID: rid(), productID: product.id, status: .offShelf)
            )
            #expect(off.status == .offShelf && off.version == 2)
            await expectStatus(.invalidArgument) {
                _ = try await catalog.changeProductStatus(
                    ChangeProductStatusRequest(requestID: rid(), productID: product.id, status: .draft)
                )
            }
            await expectStatus(.failedPrecondition) {
                _ = try await catalog.deleteProduct(DeleteProductRequest(requestID: rid(), productID: product.id))
            }

            // SKUs.
            let added = try await catalog.createSku(
                CreateSkuRequest(
                    requestID: rid(),
                    productID: product.id,
                    sku: SkuSpec(
                        skuCode: "SKU-1-9",
                        attributes: [SkuAttribute(name: "size", value: "XXL")],
                        price: cny(2000)
                    )
                )
            )
            #expect(try await catalog.getProduct(GetProductRequest(productID: product.id)).skus.count == 4)
            await expectStatus(.alreadyExists) {
                _ = try await catalog.createSku(
                    CreateSkuRequest(
                        requestID: rid(),
                        productID: product.id,
                        sku: SkuSpec(
                            skuCode: "SKU-1-10",
                            attributes: [SkuAttribute(name: "SIZE", value: "xxl")],
                            price: cny(1)
                        )
                    )
                )
            }
            let updated = try await catalog.updateSku(
                UpdateSkuRequest(
                    requestID: rid(),
                    skuID: added.id,
                    price: cny(1500),
                    listPrice: cny(1800),
                    barcode: DemoDataEAN.make(999)
                )
            )
            #expect(updated.price == cny(1500) && updated.version == 2)
            #expect(try await catalog.getProduct(GetProductRequest(productID: product.id)).skus.last == updated)
            await expectStatus(.invalidArgument, "list_price: must be at least the price (1500)") {
                _ = try await catalog.updateSku(
                    UpdateSkuRequest(requestID: rid(), skuID: added.id, listPrice: cny(100))
                )
            }

            let batch = try await catalog.batchGetSkus(BatchGetSkusRequest(skuIDs: [sku.id, "sku_missing", sku.id]))
            #expect(batch.skus.map(\.id) == [sku.id] && batch.missingSkuIDs == ["sku_missing"])
            let products = try await catalog.batchGetProducts(
                BatchGetProductsRequest(productIDs: [product.id, "prd_missing"])
            )
            #expect(products.products.count == 1 && products.missingProductIDs == ["prd_missing"])

            // A draft product can be deleted, with its SKUs.
            let draft = try await catalog.createProduct(
                CreateProductRequest(requestID: rid(), product: productSpec("草稿", category: category.id, seed: 3))
            )
            await expectStatus(.failedPrecondition) {
                _ = try await catalog.deleteSku(DeleteSkuRequest(requestID: rid(), skuID: product.skus[0].id))
            }
            _ = try await catalog.deleteSku(DeleteSkuRequest(requestID: rid(), skuID: draft.skus[0].id))
            await expectStatus(.failedPrecondition, "sku_id: the product's last SKU cannot be deleted") {
                _ = try await catalog.deleteSku(DeleteSkuRequest(requestID: rid(), skuID: draft.skus[1].id))
            }
            _ = try await catalog.deleteProduct(DeleteProductRequest(requestID: rid(), productID: draft.id))
            await expectStatus(.notFound) { _ = try await catalog.getSku(GetSkuRequest(skuID: draft.skus[1].id)) }
            #expect(try await catalog.getCategory(GetCategoryRequest(categoryID: category.id)).productCount == 1)
        }
    }

    @Test("validation: each rule answers with the right status and names the field")
    func validation() async throws {
        try await ServiceHarness.run(.memory) { harness in
            let catalog = harness.client.catalog
            let category = try await catalog.createCategory(CreateCategoryRequest(requestID: rid(), name: "C"))
            func spec(_ change: (inout ProductSpec) -> Void) -> CreateProductRequest {
                var spec = productSpec("P", category: category.id, seed: 50)
                change(&spec)
                return CreateProductRequest(requestID: rid(), product: spec)
            }
            let cases: [(String, CreateProductRequest, RPCStatusCode, String)] = [
                ("empty name", spec { $0.name = "  " }, .invalidArgument, "product.name: must not be empty"),
                (
                    "long name", spec { $0.name = String(repeating: "长", count: 201) }, .invalidArgument,
                    "product.name: must be at most 200 characters, got 201"
                ),
                ("no SKUs", spec { $0.skus = [] }, .invalidArgument, "product.skus: at least one SKU is required"),
                (
                    "bad check digit", spec { $0.skus[0].barcode = "6901234567891" }, .invalidArgument,
                    "product.skus[0].barcode: '6901234567891' has a wrong check digit (expected 2)"
                ),
                (
                    "bad sku code", spec { $0.skus[1].skuCode = "has space" }, .invalidArgument,
                    "product.skus[1].sku_code: may only contain letters, digits and '.' '_' '-'"
                ),
                (
                    "negative price", spec { $0.skus[0].price = cny(-1) }, .invalidArgument,
                    "product.skus[0].price.minor_units: must be 0 or more, got -1"
                ),
                (
                    "wrong currency", spec { $0.skus[0].price = Money(minorUnits: 1, currency: "USD") },
                    .invalidArgument, "product.skus[0].price.currency: must be CNY, got 'USD'"
                ),
                ("no price", spec { $0.skus[0].price = nil }, .invalidArgument, "product.skus[0].price: is required"),
                (
                    "list below price", spec { $0.skus[0].listPrice = cny(1) }, .invalidArgument,
                    "product.skus[0].list_price: must be at least the price (1000)"
                ),
                (
                    "duplicate sku codes", spec { $0.skus[1].skuCode = $0.skus[0].skuCode }, .invalidArgument,
                    "product.skus[1].sku_code: 'SKU-50-0' is also used by product.skus[0]"
                ),
                (
                    "duplicate tags", spec { $0.tags = ["a", "A"] }, .invalidArgument,
                    "product.tags[1]: 'A' is listed twice"
                ),
                (
                    "bad image", spec { $0.imageURLs = ["ftp://x"] }, .invalidArgument,
                    "product.image_urls[0]: must be an http(s) URL"
                ),
                (
                    "missing category", spec { $0.categoryID = "cat_none" }, .notFound,
                    "product.category_id: no category 'cat_none'"
                ),
                (
                    "empty category", spec { $0.categoryID = "" }, .invalidArgument,
                    "product.category_id: must not be empty"
                ),
                (
                    "missing supplier", spec { $0.supplierID = "sup_none" }, .notFound,
                    "product.supplier_id: no supplier 'sup_none'"
                ),
                (
                    "bad label key", spec { $0.labels = [Label(key: "Bad Key", value: "v")] }, .invalidArgument,
                    "product.labels[0].key: must be 1 to 64 characters of [a-z0-9_.-]"
                ),
            ]
            for (name, request, code, message) in cases {
                let error = await expectStatus(code) { _ = try await catalog.createProduct(request) }
                #expect(error?.message == message, "\(name)")
            }
            await expectStatus(.invalidArgument, "request_id: must not be empty (an idempotency key)") {
                _ = try await catalog.createCategory(CreateCategoryRequest(name: "x"))
            }
            await expectStatus(.invalidArgument, "status: a new product cannot start OFF_SHELF") {
                _ = try await catalog.createProduct(
                    CreateProductRequest(
                        requestID: rid(),
                        product: productSpec("P", category: category.id, seed: 51),
                        status: .offShelf
                    )
                )
            }
            await expectStatus(.invalidArgument, "product_ids: must list 1 to 100 ids, got 0") {
                _ = try await catalog.batchGetProducts(BatchGetProductsRequest())
            }
            await expectStatus(.invalidArgument, "page.page_size: must be 0 to 500, got 501") {
                _ = try await catalog.searchProducts(SearchProductsRequest(page: PageRequest(pageSize: 501)))
            }
            await expectStatus(.invalidArgument, "max_price: must be at least min_price (500)") {
                _ = try await catalog.searchProducts(SearchProductsRequest(minPrice: cny(500), maxPrice: cny(100)))
            }
            await expectStatus(.invalidArgument, "score: must be 1 to 5, got 6") {
                _ = try await catalog.recordSupplierEvaluation(
                    RecordSupplierEvaluationRequest(
                        requestID: rid(),
                        supplierID: "x",
                        evaluatedOn: CalendarDate(year: 2026, month: 1, day: 1),
                        score: 6
                    )
                )
            }
            await expectStatus(.invalidArgument, "evaluated_on: 2026-2-30 is not a date") {
                _ = try await catalog.recordSupplierEvaluation(
                    RecordSupplierEvaluationRequest(
                        requestID: rid(),
                        supplierID: "x",
                        evaluatedOn: CalendarDate(year: 2026, month: 2, day: 30),
                        score: 3
                    )
                )
            }
            await expectStatus(.invalidArgument, containing: "contact_phone: must be an E.164 number") {
                _ = try await catalog.createSupplier(
                    CreateSupplierRequest(requestID: rid(), name: "S", contactPhone: "12345")
                )
            }
            await expectStatus(.invalidArgument, "rating: must be 1 to 5, got 0") {
                _ = try await catalog.createProductReview(
                    CreateProductReviewRequest(requestID: rid(), productID: "p", customerID: "c")
                )
            }
        }
    }

    @Test("request ids: a retry returns the first result and writes nothing twice", arguments: StoreKind.allCases)
    func requestIDs(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let catalog = harness.client.catalog
            let request = CreateCategoryRequest(requestID: "create-once", name: "Once")
            let first = try await catalog.createCategory(request)
            let again = try await catalog.createCategory(request)
            #expect(first == again)
            #expect(try await catalog.listCategoryChildren(ListCategoryChildrenRequest()).categories.count == 1)
            await expectStatus(.alreadyExists, "request_id 'create-once' was already used for a different request") {
                _ = try await catalog.createCategory(CreateCategoryRequest(requestID: "create-once", name: "Other"))
            }
            let productRequest = CreateProductRequest(
                requestID: "product-once",
                product: productSpec("P", category: first.id, seed: 7)
            )
            let product = try await catalog.createProduct(productRequest)
            #expect(try await catalog.createProduct(productRequest) == product)
            #expect(try await catalog.getCategory(GetCategoryRequest(categoryID: first.id)).productCount == 1)
            // Concurrent retries of one request: one effect.
            let concurrent = CreateProductRequest(
                requestID: "product-race",
                product: productSpec("Q", category: first.id, seed: 8)
            )
            let results = try await withThrowingTaskGroup(of: Product.self, returning: [Product].self) { group in
                for _ in 0..<8 { group.addTask { try await catalog.createProduct(concurrent) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(Set(results.map(\.id)).count == 1)
            #expect(try await catalog.getCategory(GetCategoryRequest(categoryID: first.id)).productCount == 2)
        }
    }

    @Test("suppliers: unique names, statuses, evaluations and averages", arguments: StoreKind.allCases)
    func suppliers(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let catalog = harness.client.catalog
            let supplier = try await catalog.createSupplier(
                CreateSupplierRequest(
                    requestID: rid(),
                    name: "鲜达食品",
                    registrationNumber: "913100001",
                    contactPhone: "+8613800138000",
                    contactEmail: "a@b.example"
                )
            )
            #expect(supplier.status == .candidate)
            await expectStatus(.alreadyExists) {
                _ = try await catalog.createSupplier(CreateSupplierRequest(requestID: rid(), name: "鲜达食品"))
            }
            for (day, score) in [(1, 3), (10, 5), (5, 4)] {
                _ = try await catalog.recordSupplierEvaluation(
                    RecordSupplierEvaluationRequest(
                        requestID: rid(),
                        supplierID: supplier.id,
                        evaluatedOn: CalendarDate(year: 2026, month: 3, day: Int32(day)),
                        score: Int32(score),
                        notes: "n"
                    )
                )
            }
            let stored = try await catalog.getSupplier(GetSupplierRequest(supplierID: supplier.id))
            #expect(stored.evaluationSummary?.evaluationCount == 3)
            #expect(stored.evaluationSummary?.averageScore == 4)
            #expect(stored.evaluationSummary?.lastScore == 5)
            let listed = try await catalog.listSupplierEvaluations(
                ListSupplierEvaluationsRequest(
                    supplierID: supplier.id,
                    fromDate: CalendarDate(year: 2026, month: 3, day: 2)
                )
            )
            #expect(listed.evaluations.map(\.score) == [5, 4])
            #expect(listed.summary?.averageScore == 4.5)
            await expectStatus(.invalidArgument, "reason: is required when suspending or terminating") {
                _ = try await catalog.changeSupplierStatus(
                    ChangeSupplierStatusRequest(requestID: rid(), supplierID: supplier.id, status: .terminated)
                )
            }
            _ = try await catalog.changeSupplierStatus(
                ChangeSupplierStatusRequest(requestID: rid(), supplierID: supplier.id, status: .active)
            )
            await expectStatus(.failedPrecondition) {
                _ = try await catalog.changeSupplierStatus(
                    ChangeSupplierStatusRequest(requestID: rid(), supplierID: supplier.id, status: .candidate)
                )
            }
            let list = try await catalog.listSuppliers(ListSuppliersRequest(keyword: "鲜达"))
            #expect(list.suppliers.map(\.id) == [supplier.id])
        }
    }

    @Test("reviews: moderation transitions and the product's rating", arguments: StoreKind.allCases)
    func reviews(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let catalog = harness.client.catalog
            let category = try await catalog.createCategory(CreateCategoryRequest(requestID: rid(), name: "C"))
            let product = try await catalog.createProduct(
                CreateProductRequest(requestID: rid(), product: productSpec("P", category: category.id, seed: 60))
            )
            var reviews: [ProductReview] = []
            for (customer, rating) in [("c1", 5), ("c2", 4), ("c3", 1)] {
                reviews.append(
                    try await catalog.createProductReview(
                        CreateProductReviewRequest(
                            requestID: rid(),
                            productID: product.id,
                            customerID: customer,
                            orderID: "o-\(customer)",
                            rating: Int32(rating),
                            text: "ok"
                        )
                    )
                )
            }
            await expectStatus(.alreadyExists) {
                _ = try await catalog.createProductReview(
                    CreateProductReviewRequest(
                        requestID: rid(),
                        productID: product.id,
                        customerID: "c1",
                        orderID: "o-c1",
                        rating: 3
                    )
                )
            }
            for review in reviews.prefix(2) {
                _ = try await catalog.moderateProductReview(
                    ModerateProductReviewRequest(requestID: rid(), reviewID: review.id, status: .approved)
                )
            }
            _ = try await catalog.moderateProductReview(
                ModerateProductReviewRequest(
                    requestID: rid(),
                    reviewID: reviews[2].id,
                    status: .rejected,
                    reason: "spam"
                )
            )
            await expectStatus(.failedPrecondition) {
                _ = try await catalog.moderateProductReview(
                    ModerateProductReviewRequest(
                        requestID: rid(),
                        reviewID: reviews[2].id,
                        status: .hidden,
                        reason: "x"
                    )
                )
            }
            var summary = try await catalog.getProduct(GetProductRequest(productID: product.id)).ratingSummary
            #expect(
                summary?.reviewCount == 2 && summary?.averageRating == 4.5 && summary?.ratingCounts == [0, 0, 0, 1, 1]
            )
            _ = try await catalog.moderateProductReview(
                ModerateProductReviewRequest(
                    requestID: rid(),
                    reviewID: reviews[0].id,
                    status: .hidden,
                    reason: "off topic"
                )
            )
            summary = try await catalog.getProduct(GetProductRequest(productID: product.id)).ratingSummary
            #expect(summary?.reviewCount == 1 && summary?.averageRating == 4)
            let replied = try await catalog.replyToProductReview(
                ReplyToProductReviewRequest(requestID: rid(), reviewID: reviews[1].id, text: "谢谢")
            )
            #expect(replied.reply?.text == "谢谢")
            let approved = try await catalog.listProductReviews(
                ListProductReviewsRequest(productID: product.id, statuses: [.approved])
            )
            #expect(approved.reviews.map(\.id) == [reviews[1].id])
            let byRating = try await catalog.listProductReviews(
                ListProductReviewsRequest(productID: product.id, sort: .rating)
            )
            #expect(byRating.reviews.map(\.rating) == [5, 4, 1])
        }
    }

    @Test(
        "bulk import: valid rows committed in one write, invalid rows reported, dry run, upsert",
        arguments: StoreKind.allCases
    )
    func bulkImport(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let catalog = harness.client.catalog
            let category = try await catalog.createCategory(CreateCategoryRequest(requestID: rid(), name: "C"))
            func rows(_ count: Int) -> [ProductImportRow] {
                (1...count).map {
                    ProductImportRow(
                        rowNumber: Int64($0),
                        product: productSpec("Row \($0)", category: category.id, seed: 100 + $0)
                    )
                }
            }
            var sent = rows(6)
            sent[1].product?.name = ""  // invalid field
            sent[3].product?.categoryID = "cat_missing"  // not found
            let firstBarcode = sent[0].product!.skus[0].barcode
            sent[4].product?.skus[0].barcode = firstBarcode  // taken by an earlier row
            let importRows = sent
            let dryRun = try await catalog.importProducts { writer in
                try await writer.write(ImportProductsRequest(requestID: "import-dry", dryRun: true))
                for row in importRows { try await writer.write(ImportProductsRequest(row: row)) }
            }
            #expect(dryRun.dryRun && dryRun.importedRows == 3 && dryRun.failedRows == 3)
            #expect(try await catalog.searchProducts(SearchProductsRequest()).hits.isEmpty, "a dry run writes nothing")

            let response = try await catalog.importProducts { writer in
                try await writer.write(ImportProductsRequest(requestID: "import-1", mode: .createOnly))
                for row in importRows { try await writer.write(ImportProductsRequest(row: row)) }
            }
            #expect(response.receivedRows == 6 && response.importedRows == 3 && response.failedRows == 3)
            #expect(response.createdProducts == 3 && response.createdSkus == 6)
            #expect(response.errors.map(\.rowNumber) == [2, 4, 5])
            #expect(response.errors[0].field == "product.name" && response.errors[0].code == "INVALID_ARGUMENT")
            #expect(response.errors[1].field == "product.category_id" && response.errors[1].code == "NOT_FOUND")
            #expect(
                response.errors[2].field == "product.skus[0].barcode" && response.errors[2].code == "ALREADY_EXISTS"
            )
            #expect(try await catalog.getCategory(GetCategoryRequest(categoryID: category.id)).productCount == 3)
            // The same import again returns the first response and writes nothing.
            let again = try await catalog.importProducts { writer in
                try await writer.write(ImportProductsRequest(requestID: "import-1", mode: .createOnly))
            }
            #expect(again == response)

            var upsert = rows(1)
            upsert[0].product?.name = "Row 1 renamed"
            upsert[0].product?.skus.append(
                SkuSpec(skuCode: "SKU-NEW", attributes: [SkuAttribute(name: "size", value: "XS")], price: cny(10))
            )
            let upsertRow = upsert[0]
            let upserted = try await catalog.importProducts { writer in
                try await writer.write(ImportProductsRequest(requestID: "import-2", mode: .upsert, row: upsertRow))
            }
            #expect(upserted.updatedProducts == 1 && upserted.createdSkus == 1 && upserted.updatedSkus == 2)
            let product = try await catalog.getProduct(GetProductRequest(productID: upserted.results[0].productID))
            #expect(product.name == "Row 1 renamed" && product.skus.count == 3)
        }
    }
}

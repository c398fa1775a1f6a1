import O2OMessages
import O2OServiceKit
import O2OStorage

/// The catalog's tables and their indexes. Table ids are part of every stored key:
/// never reuse one (the keyspace check refuses a clash at start).
enum CatalogTables {
    // Children of a parent in sibling order: sort_order, then name.
    static let categorySiblings = RecordIndex<Category>(id: 1, name: "siblings", unique: false) { category in
        [[.string(category.parentID), .int(Int64(category.sortOrder)), .string(category.name.lowercased())]]
    }
    static let categorySiblingName = RecordIndex<Category>(id: 2, name: "sibling_name", unique: true) { category in
        [[.string(category.parentID), .string(category.name.lowercased())]]
    }
    static let categories = RecordTable<Category>(
        id: 100,
        name: "categories",
        noun: "category",
        primaryKey: { .string($0.id) },
        indexes: [categorySiblings, categorySiblingName]
    )

    static let productCode = RecordIndex<Product>(id: 1, name: "product_code", unique: true) { product in
        product.productCode.isEmpty ? [] : [[.string(product.productCode.lowercased())]]
    }
    static let productCategory = RecordIndex<Product>(id: 2, name: "category", unique: false) {
        [[.string($0.categoryID)]]
    }
    static let productSupplier = RecordIndex<Product>(id: 3, name: "supplier", unique: false) { product in
        product.supplierID.isEmpty ? [] : [[.string(product.supplierID)]]
    }
    static let products = RecordTable<Product>(
        id: 101,
        name: "products",
        noun: "product",
        primaryKey: { .string($0.id) },
        indexes: [productCode, productCategory, productSupplier]
    )

    static let skuBarcode = RecordIndex<Sku>(id: 1, name: "barcode", unique: true) { sku in
        sku.barcode.isEmpty ? [] : [[.string(sku.barcode)]]
    }
    static let skuCode = RecordIndex<Sku>(id: 2, name: "sku_code", unique: true) {
        [[.string($0.skuCode.lowercased())]]
    }
    static let skuProduct = RecordIndex<Sku>(id: 3, name: "product", unique: false) { [[.string($0.productID)]] }
    /// SKUs are kept inside their product (one read serves GetProduct) and here as
    /// well, for lookups by id, barcode and code; both copies change in one commit.
    static let skus = RecordTable<Sku>(
        id: 102,
        name: "skus",
        noun: "SKU",
        primaryKey: { .string($0.id) },
        indexes: [skuBarcode, skuCode, skuProduct]
    )

    static let supplierName = RecordIndex<Supplier>(id: 1, name: "name", unique: true) {
        [[.string($0.name.lowercased())]]
    }
    static let supplierRegistration = RecordIndex<Supplier>(id: 2, name: "registration_number", unique: true) {
        supplier in
        supplier.registrationNumber.isEmpty ? [] : [[.string(supplier.registrationNumber.lowercased())]]
    }
    static let suppliers = RecordTable<Supplier>(
        id: 103,
        name: "suppliers",
        noun: "supplier",
        primaryKey: { .string($0.id) },
        indexes: [supplierName, supplierRegistration]
    )

    /// Evaluations keyed by supplier and day, so a supplier's history is one range
    /// scan, newest first when read backwards.
    static let evaluations = RecordTable<SupplierEvaluation>(
        id: 104,
        name: "supplier_evaluations",
        noun: "supplier evaluation",
        primaryKey: { evaluation in
            [
                .string(evaluation.supplierID),
                .int(Int64(CalendarDates.dayNumber(evaluation.evaluatedOn ?? CalendarDate()))),
                .string(evaluation.id),
            ]
        }
    )

    static let reviewProduct = RecordIndex<ProductReview>(id: 1, name: "product", unique: false) {
        [[.string($0.productID)]]
    }
    static let reviewCustomer = RecordIndex<ProductReview>(id: 2, name: "customer", unique: false) {
        [[.string($0.customerID)]]
    }
    // One review per customer, order, product and SKU.
    static let reviewOrderItem = RecordIndex<ProductReview>(id: 3, name: "order_item", unique: true) { review in
        review.orderID.isEmpty
            ? []
            : [[.string(review.customerID), .string(review.orderID), .string(review.productID), .string(review.skuID)]]
    }
    static let reviews = RecordTable<ProductReview>(
        id: 105,
        name: "product_reviews",
        noun: "review",
        primaryKey: { .string($0.id) },
        indexes: [reviewProduct, reviewCustomer, reviewOrderItem]
    )

    /// Every key prefix the catalog writes.
    static let keyspace: [KeyspaceEntry] =
        KeyspaceEntry.table(categories, owner: "catalog") + KeyspaceEntry.table(products, owner: "catalog")
        + KeyspaceEntry.table(skus, owner: "catalog") + KeyspaceEntry.table(suppliers, owner: "catalog")
        + KeyspaceEntry.table(evaluations, owner: "catalog") + KeyspaceEntry.table(reviews, owner: "catalog")
}

extension Category: VersionedRecord, Identified {}
extension Product: StatusRecord {}
extension Sku: VersionedRecord, Identified {}
extension Supplier: StatusRecord {}
extension ProductReview: StatusRecord {}

import O2OMessages
import O2OStorage

/// The catalog's tables. Table ids are part of every stored key: never reuse one.
enum CatalogTables {
    static let categories = RecordTable<Category>(
        id: 100,
        name: "categories",
        primaryKey: { .string($0.id) },
        indexes: [
            // Children of a parent in sibling order: sort_order, then name.
            RecordIndex(id: 1, name: "siblings", unique: false) { category in
                [[.string(category.parentID), .int(Int64(category.sortOrder)), .string(category.name.lowercased())]]
            },
            RecordIndex(id: 2, name: "sibling_name", unique: true) { category in
                [[.string(category.parentID), .string(category.name.lowercased())]]
            },
        ]
    )

    static let products = RecordTable<Product>(
        id: 101,
        name: "products",
        primaryKey: { .string($0.id) },
        indexes: [
            RecordIndex(id: 1, name: "product_code", unique: true) { product in
                product.productCode.isEmpty ? [] : [[.string(product.productCode.lowercased())]]
            },
            RecordIndex(id: 2, name: "category", unique: false) { [[.string($0.categoryID)]] },
            RecordIndex(id: 3, name: "supplier", unique: false) { product in
                product.supplierID.isEmpty ? [] : [[.string(product.supplierID)]]
            },
        ]
    )

    /// SKUs are kept inside their product (one read serves GetProduct) and here as
    /// well, for lookups by id, barcode and code; both copies change in one commit.
    static let skus = RecordTable<Sku>(
        id: 102,
        name: "skus",
        primaryKey: { .string($0.id) },
        indexes: [
            RecordIndex(id: 1, name: "barcode", unique: true) { sku in
                sku.barcode.isEmpty ? [] : [[.string(sku.barcode)]]
            },
            RecordIndex(id: 2, name: "sku_code", unique: true) { [[.string($0.skuCode.lowercased())]] },
            RecordIndex(id: 3, name: "product", unique: false) { [[.string($0.productID)]] },
        ]
    )

    static let suppliers = RecordTable<Supplier>(
        id: 103,
        name: "suppliers",
        primaryKey: { .string($0.id) },
        indexes: [
            RecordIndex(id: 1, name: "name", unique: true) { [[.string($0.name.lowercased())]] },
            RecordIndex(id: 2, name: "registration_number", unique: true) { supplier in
                supplier.registrationNumber.isEmpty ? [] : [[.string(supplier.registrationNumber.lowercased())]]
            },
        ]
    )

    /// Evaluations keyed by supplier and day, so a supplier's history is one range
    /// scan, newest first when read backwards.
    static let evaluations = RecordTable<SupplierEvaluation>(
        id: 104,
        name: "supplier_evaluations",
        primaryKey: { evaluation in
            [
                .string(evaluation.supplierID),
                .int(Int64(CalendarDates.dayNumber(evaluation.evaluatedOn ?? CalendarDate()))),
                .string(evaluation.id),
            ]
        }
    )

    static let reviews = RecordTable<ProductReview>(
        id: 105,
        name: "product_reviews",
        primaryKey: { .string($0.id) },
        indexes: [
            RecordIndex(id: 1, name: "product", unique: false) { [[.string($0.productID)]] },
            RecordIndex(id: 2, name: "customer", unique: false) { [[.string($0.customerID)]] },
            // One review per customer, order, product and SKU.
            RecordIndex(id: 3, name: "order_item", unique: true) { review in
                review.orderID.isEmpty
                    ? []
                    : [
                        [
                            .string(review.customerID), .string(review.orderID), .string(review.productID),
                            .string(review.skuID),
                        ]
                    ]
            },
        ]
    )
}

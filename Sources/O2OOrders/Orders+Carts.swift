import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

extension Cart: VersionedRecord, Identified {}

/// The cart tables (ids next to the settings').
enum CartTables {
    /// A customer's carts, most recently changed last.
    static let cartCustomer = RecordIndex<Cart>(id: 1, name: "customer", unique: false) {
        [[.string($0.customerID), .int(Timestamps.nanos($0.updatedAt)), .string($0.id)]]
    }
    static let carts = RecordTable<Cart>(
        id: 501,
        name: "carts",
        noun: "cart",
        primaryKey: { .string($0.id) },
        indexes: [cartCustomer]
    )
    /// Carts that were deleted (their id and owner), so that deleting again succeeds
    /// while an id that never existed is NOT_FOUND.
    static let deletedCarts = RecordTable<Cart>(
        id: 502,
        name: "deleted_carts",
        noun: "deleted cart",
        primaryKey: { .string($0.id) }
    )

    static let keyspace: [KeyspaceEntry] =
        KeyspaceEntry.table(carts, owner: "orders") + KeyspaceEntry.table(deletedCarts, owner: "orders")
}

extension OrderServiceProvider {
    static let maximumCartsPerCustomer = 20
    static let maximumCartItems = 100

    static func cartLock(_ id: String) -> String { "cart/\(id)" }
    static func customerCartsLock(_ id: String) -> String { "carts-of/\(id)" }

    public func createCart(request: CreateCartRequest, context: RPCServerContext) async throws -> Cart {
        let customerID = try Validate.id(request.customerID, field: "customer_id")
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: [Self.customerCartsLock(customerID)]
        ) { transaction in
            guard let customer = try await customers.customer(customerID, in: transaction), customer.status != .erased
            else { throw RPCError(code: .notFound, message: "customer_id: no customer '\(customerID)'") }
            let existing = try await transaction.all(
                CartTables.carts,
                RecordQuery(index: CartTables.cartCustomer, prefix: [.string(customer.id)], pageSize: 50),
                limit: Self.maximumCartsPerCustomer + 1
            )
            guard existing.count < Self.maximumCartsPerCustomer else {
                throw RPCError(
                    code: .resourceExhausted,
                    message: "customer_id: customer '\(customer.id)' has \(Self.maximumCartsPerCustomer) carts already"
                )
            }
            let cart = Cart(
                id: RecordIDs.make(prefix: "crt"),
                customerID: customer.id,
                createdAt: transaction.now,
                updatedAt: transaction.now,
                version: 1
            )
            try await transaction.insert(CartTables.carts, cart)
            return cart
        }
    }

    public func getCart(request: GetCartRequest, context: RPCServerContext) async throws -> Cart {
        try await store.latest.require(CartTables.carts, request.id, field: "id")
    }

    public func listCarts(request: ListCartsRequest, context: RPCServerContext) async throws -> ListCartsResponse {
        let customerID = try Validate.id(request.customerID, field: "customer_id")
        let page = try await store.read { reader in
            try await reader.page(
                CartTables.carts,
                RecordQuery(
                    index: CartTables.cartCustomer,
                    prefix: [.string(customerID)],
                    direction: .reverse,
                    pageSize: try Paging.pageSize(request.page, field: "page"),
                    pageToken: request.page?.pageToken,
                    filters: ["customer=\(customerID)"]
                )
            )
        }
        return ListCartsResponse(carts: page.records, nextPageToken: page.nextPageToken)
    }

    public func setCartItems(request: SetCartItemsRequest, context: RPCServerContext) async throws -> Cart {
        guard (1...100).contains(request.items.count) else {
            throw RPCError.invalidArgument(field: "items", "must be 1 to 100 changes, got \(request.items.count)")
        }
        for (index, change) in request.items.enumerated() {
            _ = try Validate.id(change.skuID, field: "items[\(index)].sku_id")
            guard !request.items[..<index].contains(where: { $0.skuID == change.skuID }) else {
                throw RPCError.invalidArgument(field: "items[\(index)].sku_id", "'\(change.skuID)' is there twice")
            }
            guard (0...999).contains(change.quantity) else {
                throw RPCError.invalidArgument(
                    field: "items[\(index)].quantity",
                    "must be 0 to 999, got \(change.quantity)"
                )
            }
        }
        let cartID = try Validate.id(request.cartID, field: "cart_id")
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: [Self.cartLock(cartID)]
        ) { transaction in
            var cart = try await transaction.require(
                CartTables.carts,
                cartID,
                field: "cart_id",
                expectedVersion: request.expectedVersion
            )
            for (index, change) in request.items.enumerated() {
                if let position = cart.items.firstIndex(where: { $0.skuID == change.skuID }) {
                    if change.quantity == 0 {
                        cart.items.remove(at: position)
                    } else {
                        cart.items[position].quantity = change.quantity
                        if let selected = change.selected { cart.items[position].selected = selected }
                        cart.items[position].updatedAt = transaction.now
                    }
                } else if change.quantity > 0 {
                    guard try await catalog.sku(change.skuID, in: transaction) != nil else {
                        throw RPCError(code: .notFound, message: "items[\(index)].sku_id: no SKU '\(change.skuID)'")
                    }
                    cart.items.append(
                        CartItem(
                            skuID: change.skuID,
                            quantity: change.quantity,
                            selected: change.selected ?? true,
                            addedAt: transaction.now,
                            updatedAt: transaction.now
                        )
                    )
                }
            }
            guard cart.items.count <= Self.maximumCartItems else {
                throw RPCError(
                    code: .resourceExhausted,
                    message:
                        "items: a cart holds at most \(Self.maximumCartItems) items; this change makes \(cart.items.count)"
                )
            }
            try await transaction.updateVersioned(CartTables.carts, &cart)
            return cart
        }
    }

    public func clearCart(request: ClearCartRequest, context: RPCServerContext) async throws -> Cart {
        let cartID = try Validate.id(request.cartID, field: "cart_id")
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: [Self.cartLock(cartID)]
        ) { transaction in
            var cart = try await transaction.require(CartTables.carts, cartID, field: "cart_id")
            cart.items = []
            try await transaction.updateVersioned(CartTables.carts, &cart)
            return cart
        }
    }

    public func deleteCart(request: DeleteCartRequest, context: RPCServerContext) async throws -> Empty {
        let cartID = try Validate.id(request.id, field: "id")
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: [Self.cartLock(cartID)]
        ) { transaction in
            guard let cart = try await transaction.delete(CartTables.carts, .string(cartID)) else {
                guard try await transaction.get(CartTables.deletedCarts, .string(cartID)) != nil else {
                    throw RPCError(code: .notFound, message: "id: no cart '\(cartID)'")
                }
                return Empty()
            }
            try await transaction.save(
                CartTables.deletedCarts,
                Cart(id: cart.id, customerID: cart.customerID, updatedAt: transaction.now)
            )
            return Empty()
        }
    }

    /// The selected items of a customer's cart, as checkout lines in cart order.
    func cartLines(_ cartID: String, customerID: String, field: String) async throws -> [CheckoutLine] {
        let id = try Validate.id(cartID, field: field)
        let cart = try await store.latest.require(CartTables.carts, id, field: field)
        guard cart.customerID == customerID else {
            throw RPCError.invalidArgument(field: field, "cart '\(id)' belongs to another customer")
        }
        let lines = cart.items.filter(\.selected).map { CheckoutLine(skuID: $0.skuID, quantity: $0.quantity) }
        guard !lines.isEmpty else {
            throw RPCError(code: .failedPrecondition, message: "\(field): cart '\(id)' has no selected item")
        }
        return lines
    }

    /// Takes the checked-out quantities out of the cart (an item the customer raised
    /// meanwhile keeps the difference); a cart deleted meanwhile is left alone.
    func removeCheckedOut(_ lines: [CheckoutLine], from cartID: String, in transaction: ServiceTransaction) async throws
    {
        guard var cart = try await transaction.get(CartTables.carts, .string(cartID)) else { return }
        for line in lines {
            guard let position = cart.items.firstIndex(where: { $0.skuID == line.skuID }) else { continue }
            let left = cart.items[position].quantity - line.quantity
            if left > 0 {
                cart.items[position].quantity = left
                cart.items[position].updatedAt = transaction.now
            } else {
                cart.items.remove(at: position)
            }
        }
        try await transaction.updateVersioned(CartTables.carts, &cart)
    }
}

import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

extension CrmServiceProvider {
    static let maximumAddresses = 20

    /// A delivery address: country, province, city and street required; recipient
    /// phone normalised like a customer's.
    func validateAddress(_ address: PostalAddress?, field: String) throws -> PostalAddress {
        guard var address = try Validate.address(address, field: field) else {
            throw RPCError.invalidArgument(field: field, "is required")
        }
        for (value, name) in [
            (address.countryCode, "country_code"), (address.province, "province"), (address.city, "city"),
            (address.street, "street"),
        ] where value.isEmpty {
            throw RPCError.invalidArgument(field: "\(field).\(name)", "is required")
        }
        address.recipientName = try Validate.text(address.recipientName, field: "\(field).recipient_name", max: 64)
        address.recipientPhone = try Validate.phone(address.recipientPhone, field: "\(field).recipient_phone")
        return address
    }

    func addresses(of customerID: String, in reader: some RecordReading) async throws -> [CustomerAddress] {
        try await reader.all(
            CRMTables.addresses,
            RecordQuery(index: CRMTables.addressCustomer, prefix: [.string(customerID)], pageSize: 500),
            limit: .max
        )
    }

    /// Makes `addressID` (or none, for "") the customer's default, keeping every
    /// address's is_default in step.
    func setDefaultAddress(
        _ addressID: String,
        of customer: inout Customer,
        in transaction: ServiceTransaction
    )
        async throws
    {
        guard customer.defaultAddressID != addressID else { return }
        for var address in try await addresses(of: customer.id, in: transaction)
        where address.isDefault != (address.id == addressID) {
            address.isDefault = address.id == addressID
            address.updatedAt = transaction.now
            try await transaction.update(CRMTables.addresses, address)
        }
        customer.defaultAddressID = addressID
    }

    /// An address that belongs to a customer who is not erased.
    private func changeableAddress(
        _ transaction: ServiceTransaction,
        _ id: String
    ) async throws -> (
        CustomerAddress, Customer
    ) {
        let address = try await transaction.require(CRMTables.addresses, id, field: "address_id")
        let customer = try await changeableCustomer(transaction, address.customerID, field: "address_id")
        return (address, customer)
    }

    public func createCustomerAddress(
        request: CreateCustomerAddressRequest,
        context: RPCServerContext
    ) async throws -> CustomerAddress {
        let label = try Validate.text(request.label, field: "label", max: 32)
        let postal = try validateAddress(request.address, field: "address")
        let created = try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: [Self.customerLock(request.customerID)]
        ) { transaction in
            var customer = try await changeableCustomer(transaction, request.customerID)
            let existing = try await addresses(of: customer.id, in: transaction)
            guard existing.count < Self.maximumAddresses else {
                throw RPCError(
                    code: .resourceExhausted,
                    message: "customer_id: customer '\(customer.id)' has \(Self.maximumAddresses) addresses already"
                )
            }
            var address = CustomerAddress(
                id: RecordIDs.make(prefix: "adr"),
                customerID: customer.id,
                label: label,
                address: postal,
                isDefault: false,
                createdAt: transaction.now,
                updatedAt: transaction.now
            )
            try await transaction.insert(CRMTables.addresses, address)
            if request.makeDefault || customer.defaultAddressID.isEmpty {
                try await setDefaultAddress(address.id, of: &customer, in: transaction)
                address.isDefault = true
                try await transaction.updateVersioned(CRMTables.customers, &customer)
            }
            return address
        }
        return PersonalData.shown(created, to: context)
    }

    public func getCustomerAddress(
        request: GetCustomerAddressRequest,
        context: RPCServerContext
    ) async throws -> CustomerAddress {
        PersonalData.shown(
            try await store.latest.require(CRMTables.addresses, request.addressID, field: "address_id"),
            to: context
        )
    }

    public func listCustomerAddresses(
        request: ListCustomerAddressesRequest,
        context: RPCServerContext
    ) async throws -> ListCustomerAddressesResponse {
        let all = try await store.read { reader in
            _ = try await reader.require(CRMTables.customers, request.customerID, field: "customer_id")
            return try await addresses(of: request.customerID, in: reader)
        }
        // The default first, then by age.
        let ordered = all.filter(\.isDefault) + all.filter { !$0.isDefault }
        let page = try Paging.page(ordered, request: request.page, field: "page", filters: [request.customerID])
        return ListCustomerAddressesResponse(
            addresses: page.items.map { PersonalData.shown($0, to: context) },
            nextPageToken: page.nextToken
        )
    }

    public func updateCustomerAddress(
        request: UpdateCustomerAddressRequest,
        context: RPCServerContext
    ) async throws -> CustomerAddress {
        let label = try request.label.map { try Validate.text($0, field: "label", max: 32) }
        let postal = try request.address.map { try validateAddress($0, field: "address") }
        let owner = try await store.latest.get(CRMTables.addresses, .string(request.addressID))?.customerID ?? ""
        let updated = try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: [Self.customerLock(owner)]
        ) { transaction in
            var (address, customer) = try await changeableAddress(transaction, request.addressID)
            if let label { address.label = label }
            if let postal { address.address = postal }
            address.updatedAt = transaction.now
            try await transaction.update(CRMTables.addresses, address)
            if request.makeDefault == true, !address.isDefault {
                try await setDefaultAddress(address.id, of: &customer, in: transaction)
                address.isDefault = true
                try await transaction.updateVersioned(CRMTables.customers, &customer)
            }
            return address
        }
        return PersonalData.shown(updated, to: context)
    }

    public func deleteCustomerAddress(
        request: DeleteCustomerAddressRequest,
        context: RPCServerContext
    ) async throws -> Empty {
        let owner = try await store.latest.get(CRMTables.addresses, .string(request.addressID))?.customerID ?? ""
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: [Self.customerLock(owner)]
        ) { transaction in
            var (address, customer) = try await changeableAddress(transaction, request.addressID)
            try await transaction.delete(CRMTables.addresses, .string(address.id))
            if customer.defaultAddressID == address.id {
                address.isDefault = false
                customer.defaultAddressID = ""
                try await transaction.updateVersioned(CRMTables.customers, &customer)
            }
            return Empty()
        }
    }
}

import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

extension CrmServiceProvider {
    static let maximumTags = 50

    /// Tags: 1 to 32 characters of [a-z0-9_-], sorted and without repeats.
    func validateTags(_ tags: [String], field: String) throws -> [String] {
        for (index, tag) in tags.enumerated() {
            guard (1...32).contains(tag.utf8.count),
                tag.utf8.allSatisfy({
                    ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f || $0 == 0x2d
                })
            else {
                throw RPCError.invalidArgument(field: "\(field)[\(index)]", "must be 1 to 32 characters of [a-z0-9_-]")
            }
        }
        return Array(Set(tags)).sorted()
    }

    /// Consents: known purposes, at most one each, sources of at most 64 characters.
    func validateConsents(_ consents: [ConsentGrant], field: String, now: Timestamp) throws -> [ConsentGrant] {
        var seen: Set<ConsentPurpose> = []
        return try consents.enumerated().map { index, grant in
            try Validate.known(grant.purpose, field: "\(field)[\(index)].purpose", noun: "purpose")
            guard grant.purpose != .unspecified else {
                throw RPCError.invalidArgument(field: "\(field)[\(index)].purpose", "is required")
            }
            guard seen.insert(grant.purpose).inserted else {
                throw RPCError.invalidArgument(field: "\(field)[\(index)].purpose", "is listed twice")
            }
            return ConsentGrant(
                purpose: grant.purpose,
                granted: grant.granted,
                source: try Validate.text(grant.source, field: "\(field)[\(index)].source", max: 64),
                updatedAt: now
            )
        }.sorted { $0.purpose.rawValue < $1.purpose.rawValue }
    }

    /// A birthday that exists and is not in the future.
    func validateBirthday(_ date: CalendarDate?, field: String) throws -> CalendarDate? {
        guard let date else { return nil }
        let checked = try Validate.date(date, field: field)
        guard CalendarDates.dayNumber(checked) <= CalendarDates.dayNumber(store.clock.today()) else {
            throw RPCError.invalidArgument(field: field, "must not be in the future")
        }
        return checked
    }

    /// ALREADY_EXISTS when another customer that is not erased holds the phone or email;
    /// the message names the field, never the value (personal data).
    func checkContactsFree(_ customer: Customer, in reader: some RecordReading) async throws {
        if !customer.phone.isEmpty,
            let holder = try await reader.lookup(CRMTables.customers, CRMTables.customerPhone, .string(customer.phone)),
            holder.id != customer.id
        {
            throw RPCError(
                code: .alreadyExists,
                message: "phone: the number is already used by customer '\(holder.id)'",
                fieldViolations: [.init(field: "phone", description: "taken")]
            )
        }
        if !customer.email.isEmpty,
            let holder = try await reader.lookup(CRMTables.customers, CRMTables.customerEmail, .string(customer.email)),
            holder.id != customer.id
        {
            throw RPCError(
                code: .alreadyExists,
                message: "email: the address is already used by customer '\(holder.id)'",
                fieldViolations: [.init(field: "email", description: "taken")]
            )
        }
    }

    public func createCustomer(request: CreateCustomerRequest, context: RPCServerContext) async throws -> Customer {
        let name = try Validate.text(request.displayName, field: "display_name", min: 1, max: 64)
        let phone = try Validate.phone(request.phone, field: "phone")
        let email = try ContactNormal.email(request.email, field: "email")
        guard !phone.isEmpty || !email.isEmpty else {
            throw RPCError.invalidArgument(field: "phone", "a customer needs a phone or an email")
        }
        let birthday = try validateBirthday(request.birthday, field: "birthday")
        let tags = try validateTags(request.tags, field: "tags")
        guard tags.count <= Self.maximumTags else {
            throw RPCError(code: .resourceExhausted, message: "tags: at most \(Self.maximumTags), got \(tags.count)")
        }
        let labels = try Validate.labels(request.labels, field: "labels", maxCount: 20)
        let created = try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            try await checkStore(request.homeStoreID, in: transaction, field: "home_store_id")
            let settings = try await settings(transaction)
            var customer = Customer(
                id: RecordIDs.make(prefix: "cus"),
                displayName: name,
                phone: phone,
                email: email,
                birthday: birthday,
                status: .active,
                consents: try validateConsents(request.consents, field: "consents", now: transaction.now),
                purchaseStats: CustomerPurchaseStats(
                    lifetimeSpend: Money(minorUnits: 0, currency: settings.currency),
                    qualifyingSpend: Money(minorUnits: 0, currency: settings.currency)
                ),
                tags: tags,
                homeStoreID: request.homeStoreID,
                labels: labels,
                createdAt: transaction.now,
                updatedAt: transaction.now,
                version: 1
            )
            try await checkContactsFree(customer, in: transaction)
            if let base = try await tier(forSpend: 0, in: transaction) {
                customer.tierID = base.id
                customer.tierSince = transaction.now
            }
            try await transaction.insert(CRMTables.customers, customer)
            return customer
        }
        return PersonalData.shown(created, to: context)
    }

    public func getCustomer(request: GetCustomerRequest, context: RPCServerContext) async throws -> Customer {
        PersonalData.shown(
            try await store.latest.require(CRMTables.customers, request.customerID, field: "customer_id"),
            to: context
        )
    }

    public func findCustomerByContact(
        request: FindCustomerByContactRequest,
        context: RPCServerContext
    ) async throws -> Customer {
        let found: Customer?
        switch request.contact {
        case .phone(let phone)?:
            let normal = try Validate.phone(phone, field: "phone")
            guard !normal.isEmpty else { throw RPCError.invalidArgument(field: "phone", "must not be empty") }
            found = try await store.latest.lookup(CRMTables.customers, CRMTables.customerPhone, .string(normal))
        case .email(let email)?:
            let normal = try ContactNormal.email(email, field: "email")
            guard !normal.isEmpty else { throw RPCError.invalidArgument(field: "email", "must not be empty") }
            found = try await store.latest.lookup(CRMTables.customers, CRMTables.customerEmail, .string(normal))
        case nil:
            throw RPCError.invalidArgument(field: "phone", "give exactly one of phone or email")
        }
        guard let found else {
            throw RPCError(code: .notFound, message: "no customer has this contact")
        }
        return PersonalData.shown(found, to: context)
    }

    public func listCustomers(
        request: ListCustomersRequest,
        context: RPCServerContext
    ) async throws
        -> ListCustomersResponse
    {
        let pageSize = try Paging.pageSize(request.page, field: "page")
        let tierID = request.tierID.isEmpty ? nil : try Validate.id(request.tierID, field: "tier_id")
        let tag = request.tag.isEmpty ? nil : try validateTags([request.tag], field: "tag")[0]
        let storeID = request.homeStoreID.isEmpty ? nil : try Validate.id(request.homeStoreID, field: "home_store_id")
        let status = try Validate.known(request.status, field: "status", noun: "status")
        let prefix = try Validate.text(request.displayNamePrefix, field: "display_name_prefix", max: 64).lowercased()
        let order = try Validate.known(request.sortOrder, field: "sort_order", noun: "order")
        let (start, end) = try Validate.timeRange(request.created, field: "created")
        let filters = [
            tierID ?? "", tag ?? "", storeID ?? "", "\(status.rawValue)", prefix, "\(start ?? -1)", "\(end ?? -1)",
            "\(order.rawValue)",
        ]
        let predicate: @Sendable (Customer) -> Bool = { customer in
            let time = Timestamps.nanos(customer.createdAt)
            return (status == .unspecified ? customer.status != .erased : customer.status == status)
                && (tierID == nil || customer.tierID == tierID!) && (tag == nil || customer.tags.contains(tag!))
                && (storeID == nil || customer.homeStoreID == storeID!)
                && (prefix.isEmpty || customer.displayName.lowercased().hasPrefix(prefix))
                && (start.map { time >= $0 } ?? true) && (end.map { time < $0 } ?? true)
        }
        // Through the most selective index the filters allow; ids sort by registration.
        var query = RecordQuery<Customer>(
            direction: order == .ascending ? .forward : .reverse,
            pageSize: pageSize,
            pageToken: request.page?.pageToken,
            filters: filters,
            predicate: predicate
        )
        if let tag {
            (query.index, query.prefix) = (CRMTables.customerTag, [.string(tag)])
        } else if let storeID {
            (query.index, query.prefix) = (CRMTables.customerHomeStore, [.string(storeID)])
        } else if let tierID {
            (query.index, query.prefix) = (CRMTables.customerTier, [.string(tierID)])
        }
        let page = try await store.read { try await $0.page(CRMTables.customers, query) }
        return ListCustomersResponse(
            customers: page.records.map { PersonalData.shown($0, to: context) },
            nextPageToken: page.nextPageToken
        )
    }

    public func updateCustomer(request: UpdateCustomerRequest, context: RPCServerContext) async throws -> Customer {
        let name = try request.displayName.map { try Validate.text($0, field: "display_name", min: 1, max: 64) }
        let phone = try request.phone.map { try Validate.phone($0, field: "phone") }
        let email = try request.email.map { try ContactNormal.email($0, field: "email") }
        let birthday = try validateBirthday(request.birthday, field: "birthday")
        if let status = request.status {
            try Validate.known(status, field: "status", noun: "status")
            guard status == .active || status == .blocked else {
                throw RPCError.invalidArgument(
                    field: "status",
                    "must be ACTIVE or BLOCKED (erasure goes through EraseCustomer)"
                )
            }
        }
        let labels = request.replaceLabels ? try Validate.labels(request.labels, field: "labels", maxCount: 20) : nil
        let updated = try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: [Self.customerLock(request.customerID)]
        ) { transaction in
            _ = try await changeableCustomer(transaction, request.customerID)
            return try await transaction.modify(
                CRMTables.customers,
                request.customerID,
                field: "customer_id",
                expectedVersion: request.expectedVersion
            ) { customer in
                if let name { customer.displayName = name }
                if let phone { customer.phone = phone }
                if let email { customer.email = email }
                guard !customer.phone.isEmpty || !customer.email.isEmpty else {
                    throw RPCError.invalidArgument(field: "phone", "a customer needs a phone or an email")
                }
                if let birthday { customer.birthday = birthday }
                if let status = request.status { customer.status = status }
                if let storeID = request.homeStoreID {
                    try await checkStore(storeID, in: transaction, field: "home_store_id")
                    customer.homeStoreID = storeID
                }
                if let address = request.defaultAddressID {
                    if !address.isEmpty {
                        let found = try await transaction.require(
                            CRMTables.addresses,
                            address,
                            field: "default_address_id"
                        )
                        guard found.customerID == customer.id else {
                            throw RPCError(
                                code: .notFound,
                                message: "default_address_id: customer '\(customer.id)' has no address '\(address)'"
                            )
                        }
                    }
                    try await setDefaultAddress(address, of: &customer, in: transaction)
                }
                if let labels { customer.labels = labels }
                try await checkContactsFree(customer, in: transaction)
            }
        }
        return PersonalData.shown(updated, to: context)
    }

    public func setCustomerConsent(
        request: SetCustomerConsentRequest,
        context: RPCServerContext
    ) async throws
        -> Customer
    {
        try Validate.known(request.purpose, field: "purpose", noun: "purpose")
        guard request.purpose != .unspecified else { throw RPCError.invalidArgument(field: "purpose", "is required") }
        let source = try Validate.text(request.source, field: "source", max: 64)
        let updated = try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: [Self.customerLock(request.customerID)]
        ) { transaction in
            _ = try await changeableCustomer(transaction, request.customerID)
            return try await transaction.modify(CRMTables.customers, request.customerID, field: "customer_id") {
                customer in
                customer.consents.removeAll { $0.purpose == request.purpose }
                customer.consents.append(
                    ConsentGrant(
                        purpose: request.purpose,
                        granted: request.granted,
                        source: source,
                        updatedAt: transaction.now
                    )
                )
                customer.consents.sort { $0.purpose.rawValue < $1.purpose.rawValue }
            }
        }
        return PersonalData.shown(updated, to: context)
    }

    public func updateCustomerTags(
        request: UpdateCustomerTagsRequest,
        context: RPCServerContext
    ) async throws
        -> Customer
    {
        let add = try validateTags(request.addTags, field: "add_tags")
        let remove = try validateTags(request.removeTags, field: "remove_tags")
        if let both = Set(add).intersection(remove).sorted().first {
            throw RPCError.invalidArgument(field: "remove_tags", "'\(both)' is also in add_tags")
        }
        let updated = try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: [Self.customerLock(request.customerID)]
        ) { transaction in
            _ = try await changeableCustomer(transaction, request.customerID)
            return try await transaction.modify(CRMTables.customers, request.customerID, field: "customer_id") {
                customer in
                let tags = Set(customer.tags).union(add).subtracting(remove)
                guard tags.count <= Self.maximumTags else {
                    throw RPCError(
                        code: .resourceExhausted,
                        message:
                            "add_tags: a customer has at most \(Self.maximumTags) tags; this would make \(tags.count)"
                    )
                }
                customer.tags = tags.sorted()
            }
        }
        return PersonalData.shown(updated, to: context)
    }

    /// What an erased customer is called.
    static let erasedName = "(erased)"

    public func eraseCustomer(request: EraseCustomerRequest, context: RPCServerContext) async throws -> Customer {
        let reason = try Validate.text(request.reason, field: "reason", min: 1, max: 500)
        let erased = try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: [Self.customerLock(request.customerID)]
        ) { transaction in
            var customer = try await transaction.require(CRMTables.customers, request.customerID, field: "customer_id")
            // Erasing twice changes nothing.
            guard customer.status != .erased else { return customer }
            // Addresses go; note texts are wiped (the notes stay, as a record that a
            // contact happened).
            let addresses = try await transaction.all(
                CRMTables.addresses,
                RecordQuery(index: CRMTables.addressCustomer, prefix: [.string(customer.id)], pageSize: 500),
                limit: .max
            )
            for address in addresses { try await transaction.delete(CRMTables.addresses, .string(address.id)) }
            try await transaction.forEachPage(
                CRMTables.notes,
                RecordQuery(prefix: [.string(customer.id)], pageSize: 500)
            ) { notes in
                for var note in notes where !note.text.isEmpty {
                    note.text = ""
                    try await transaction.update(CRMTables.notes, note)
                }
            }
            customer.displayName = Self.erasedName
            customer.phone = ""
            customer.email = ""
            customer.birthday = nil
            customer.defaultAddressID = ""
            customer.consents = customer.consents.map {
                ConsentGrant(purpose: $0.purpose, granted: false, source: "erasure", updatedAt: transaction.now)
            }
            customer.labels = [Label(key: "erasure_reason", value: reason)]
            customer.status = .erased
            try await transaction.updateVersioned(CRMTables.customers, &customer)
            return customer
        }
        return PersonalData.shown(erased, to: context)
    }
}

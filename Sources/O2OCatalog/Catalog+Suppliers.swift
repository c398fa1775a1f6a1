import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

extension CatalogServiceProvider {
    private func checkSupplierUnique(_ transaction: ServiceTransaction, _ supplier: Supplier) async throws {
        if let holder = try await transaction.lookup(
            CatalogTables.suppliers,
            CatalogTables.supplierName,
            .string(supplier.name.lowercased())
        ),
            holder.id != supplier.id
        {
            throw RPCError(
                code: .alreadyExists,
                message: "name: '\(supplier.name)' is already used by supplier '\(holder.id)'"
            )
        }
        if !supplier.registrationNumber.isEmpty,
            let holder = try await transaction.lookup(
                CatalogTables.suppliers,
                CatalogTables.supplierRegistration,
                .string(supplier.registrationNumber.lowercased())
            ),
            holder.id != supplier.id
        {
            throw RPCError(
                code: .alreadyExists,
                message:
                    "registration_number: '\(supplier.registrationNumber)' is already used by supplier '\(holder.id)'"
            )
        }
    }

    public func createSupplier(request: CreateSupplierRequest, context: RPCServerContext) async throws -> Supplier {
        let status: SupplierStatus
        switch request.status {
        case .unspecified, .candidate: status = .candidate
        case .active: status = .active
        default: throw RPCError.invalidArgument(field: "status", "a new supplier is CANDIDATE or ACTIVE")
        }
        var supplier = Supplier(
            name: try Validate.text(request.name, field: "name", min: 1, max: 200),
            registrationNumber: try Validate.code(
                request.registrationNumber,
                field: "registration_number",
                min: 0,
                max: 32,
                allowed: "-"
            ),
            contactName: try Validate.text(request.contactName, field: "contact_name", max: 64),
            contactPhone: try Validate.phone(request.contactPhone, field: "contact_phone"),
            contactEmail: try Validate.email(request.contactEmail, field: "contact_email"),
            address: try Validate.address(request.address, field: "address"),
            notes: try Validate.text(request.notes, field: "notes", max: 2000),
            status: status,
            evaluationSummary: SupplierEvaluationSummary(),
            version: 1
        )
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            supplier.id = RecordIDs.make(prefix: "sup")
            supplier.createdAt = transaction.now
            supplier.updatedAt = transaction.now
            try await checkSupplierUnique(transaction, supplier)
            try await transaction.insert(CatalogTables.suppliers, supplier)
            return supplier
        }
    }

    public func updateSupplier(request: UpdateSupplierRequest, context: RPCServerContext) async throws -> Supplier {
        if request.address != nil, request.clearAddress {
            throw RPCError.invalidArgument(field: "clear_address", "cannot be set together with address")
        }
        let name = try request.name.map { try Validate.text($0, field: "name", min: 1, max: 200) }
        let registration = try request.registrationNumber.map {
            try Validate.code($0, field: "registration_number", min: 0, max: 32, allowed: "-")
        }
        let contactName = try request.contactName.map { try Validate.text($0, field: "contact_name", max: 64) }
        let phone = try request.contactPhone.map { try Validate.phone($0, field: "contact_phone") }
        let email = try request.contactEmail.map { try Validate.email($0, field: "contact_email") }
        let address = try Validate.address(request.address, field: "address")
        let notes = try request.notes.map { try Validate.text($0, field: "notes", max: 2000) }
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            try await transaction.modify(
                CatalogTables.suppliers,
                request.supplierID,
                field: "supplier_id",
                expectedVersion: request.expectedVersion
            ) { supplier in
                if let name { supplier.name = name }
                if let registration { supplier.registrationNumber = registration }
                if let contactName { supplier.contactName = contactName }
                if let phone { supplier.contactPhone = phone }
                if let email { supplier.contactEmail = email }
                if let address { supplier.address = address }
                if request.clearAddress { supplier.address = nil }
                if let notes { supplier.notes = notes }
                try await checkSupplierUnique(transaction, supplier)
            }
        }
    }

    /// Which supplier statuses may follow which: any move but back to CANDIDATE (a
    /// relationship that ended may resume).
    static let supplierStatuses = StatusMachine<SupplierStatus>(
        "supplier",
        [
            .candidate: [.active, .suspended, .terminated], .active: [.suspended, .terminated],
            .suspended: [.active, .terminated], .terminated: [.active, .suspended],
        ]
    )

    public func changeSupplierStatus(
        request: ChangeSupplierStatusRequest,
        context: RPCServerContext
    ) async throws -> Supplier {
        switch request.status {
        case .candidate, .active, .suspended, .terminated: break
        default: throw RPCError.invalidArgument(field: "status", "must be CANDIDATE, ACTIVE, SUSPENDED or TERMINATED")
        }
        let reason = try Validate.text(request.reason, field: "reason", max: 500)
        if reason.isEmpty, request.status == .suspended || request.status == .terminated {
            throw RPCError.invalidArgument(field: "reason", "is required when suspending or terminating")
        }
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            var supplier = try await transaction.require(
                CatalogTables.suppliers,
                request.supplierID,
                field: "supplier_id",
                expectedVersion: request.expectedVersion
            )
            guard supplier.status != request.status else { return supplier }
            try Self.supplierStatuses.move(
                &supplier,
                to: request.status,
                field: "status",
                at: transaction.now,
                actor: context.actor
            )
            supplier.statusReason = reason
            try await transaction.updateVersioned(CatalogTables.suppliers, &supplier)
            return supplier
        }
    }

    public func listSuppliers(
        request: ListSuppliersRequest,
        context: RPCServerContext
    ) async throws -> ListSuppliersResponse {
        let keyword = try Validate.text(request.keyword, field: "keyword", max: 100).lowercased()
        let statuses = Set(request.statuses)
        let all = try await store.read { reader in try await reader.all(CatalogTables.suppliers) }
        var matching = all.filter { supplier in
            (statuses.isEmpty || statuses.contains(supplier.status))
                && (keyword.isEmpty || supplier.name.lowercased().contains(keyword)
                    || supplier.contactName.lowercased().contains(keyword)
                    || supplier.registrationNumber.lowercased().contains(keyword))
        }
        let sort = request.sort == .unspecified ? SupplierSort.name : request.sort
        let descending = request.order == .unspecified ? sort != .name : request.order == .descending
        matching.sort { a, b in
            switch sort {
            case .averageScore:
                let x = a.evaluationSummary?.evaluationCount ?? 0 > 0 ? a.evaluationSummary!.averageScore : nil
                let y = b.evaluationSummary?.evaluationCount ?? 0 > 0 ? b.evaluationSummary!.averageScore : nil
                switch (x, y) {
                case (nil, nil): return a.name < b.name
                case (nil, _): return false
                case (_, nil): return true
                case (let x?, let y?): return x == y ? a.name < b.name : (descending ? x > y : x < y)
                }
            case .createdAt:
                let x = a.createdAt?.seconds ?? 0
                let y = b.createdAt?.seconds ?? 0
                return x == y ? a.id < b.id : (descending ? x > y : x < y)
            default:
                let x = a.name.lowercased()
                let y = b.name.lowercased()
                return x == y ? a.id < b.id : (descending ? x > y : x < y)
            }
        }
        let page = try Paging.page(
            matching,
            request: request.page,
            field: "page",
            filters: [
                keyword, request.statuses.map { "\($0.rawValue)" }.joined(separator: ","), "\(sort.rawValue)",
                "\(descending)",
            ]
        )
        return ListSuppliersResponse(suppliers: page.items, nextPageToken: page.nextToken)
    }

    public func recordSupplierEvaluation(
        request: RecordSupplierEvaluationRequest,
        context: RPCServerContext
    ) async throws -> SupplierEvaluation {
        let date = try Validate.date(request.evaluatedOn, field: "evaluated_on")
        guard CalendarDates.dayNumber(date) <= CalendarDates.dayNumber(store.clock.today()) else {
            throw RPCError.invalidArgument(field: "evaluated_on", "must not be in the future")
        }
        guard (1...5).contains(request.score) else {
            throw RPCError.invalidArgument(field: "score", "must be 1 to 5, got \(request.score)")
        }
        let notes = try Validate.text(request.notes, field: "notes", max: 2000)
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            var supplier = try await transaction.require(
                CatalogTables.suppliers,
                request.supplierID,
                field: "supplier_id"
            )
            let evaluation = SupplierEvaluation(
                id: RecordIDs.make(prefix: "evl"),
                supplierID: supplier.id,
                evaluatedOn: date,
                score: request.score,
                notes: notes,
                recordedBy: context.actor,
                createdAt: transaction.now
            )
            try await transaction.insert(CatalogTables.evaluations, evaluation)
            var summary = supplier.evaluationSummary ?? SupplierEvaluationSummary()
            summary.averageScore =
                (summary.averageScore * Double(summary.evaluationCount) + Double(request.score))
                / Double(summary.evaluationCount + 1)
            summary.evaluationCount += 1
            if summary.lastEvaluatedOn.map({ CalendarDates.dayNumber($0) <= CalendarDates.dayNumber(date) }) ?? true {
                summary.lastEvaluatedOn = date
                summary.lastScore = request.score
            }
            supplier.evaluationSummary = summary
            try await transaction.update(CatalogTables.suppliers, supplier)
            return evaluation
        }
    }

    public func listSupplierEvaluations(
        request: ListSupplierEvaluationsRequest,
        context: RPCServerContext
    ) async throws -> ListSupplierEvaluationsResponse {
        let pageSize = try Paging.pageSize(request.page, field: "page")
        let from = try request.fromDate.map { try Validate.date($0, field: "from_date") }
        let to = try request.toDate.map { try Validate.date($0, field: "to_date") }
        if let from, let to, CalendarDates.dayNumber(to) < CalendarDates.dayNumber(from) {
            throw RPCError.invalidArgument(field: "to_date", "must not be before from_date")
        }
        return try await store.read { reader in
            let supplier = try await reader.require(CatalogTables.suppliers, request.supplierID, field: "supplier_id")
            let lower: KeyTuple? = from.map { [.int(Int64(CalendarDates.dayNumber($0)))] }
            let upper: KeyTuple? = to.map { [.int(Int64(CalendarDates.dayNumber($0) + 1))] }
            let query = RecordQuery<SupplierEvaluation>(
                prefix: [.string(supplier.id)],
                lowerBound: lower,
                upperBound: upper,
                direction: .reverse,
                pageSize: pageSize,
                pageToken: request.page?.pageToken,
                filters: [
                    supplier.id, from.map { "\(CalendarDates.dayNumber($0))" } ?? "",
                    to.map { "\(CalendarDates.dayNumber($0))" } ?? "",
                ]
            )
            let page = try await reader.page(CatalogTables.evaluations, query)
            // The summary covers every evaluation in the range, not just this page.
            var summary = SupplierEvaluationSummary()
            var total = 0.0
            for evaluation in try await reader.all(CatalogTables.evaluations, query) {
                if summary.evaluationCount == 0 {
                    summary.lastEvaluatedOn = evaluation.evaluatedOn
                    summary.lastScore = evaluation.score
                }
                summary.evaluationCount += 1
                total += Double(evaluation.score)
            }
            summary.averageScore = summary.evaluationCount == 0 ? 0 : total / Double(summary.evaluationCount)
            return ListSupplierEvaluationsResponse(
                evaluations: page.records,
                nextPageToken: page.nextPageToken,
                summary: summary
            )
        }
    }
}

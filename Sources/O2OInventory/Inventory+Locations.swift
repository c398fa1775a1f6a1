import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OStorage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Great-circle distances.
enum Geo {
    /// Metres between two points (haversine, mean earth radius).
    static func distance(_ a: GeoPoint, _ b: GeoPoint) -> Int64 {
        let radius = 6_371_008.8
        let (lat1, lat2) = (a.latitude * .pi / 180, b.latitude * .pi / 180)
        let dLat = lat2 - lat1
        let dLon = (b.longitude - a.longitude) * .pi / 180
        let h = sin(dLat / 2) * sin(dLat / 2) + cos(lat1) * cos(lat2) * sin(dLon / 2) * sin(dLon / 2)
        return Int64((2 * radius * asin(min(1, sqrt(h)))).rounded())
    }
}

extension InventoryServiceProvider {
    /// Every location; there are at most a few thousand.
    func allLocations(_ reader: some RecordReading) async throws -> [StockLocation] {
        try await reader.all(InventoryTables.locations, limit: .max)
    }

    private func validateSchedule(
        _ schedule: LocationOpeningSchedule?,
        field: String
    ) throws -> LocationOpeningSchedule? {
        guard let schedule else { return nil }
        guard schedule.hours.count <= 14 else {
            throw RPCError.invalidArgument(field: "\(field).hours", "at most 14 entries, got \(schedule.hours.count)")
        }
        for (index, hours) in schedule.hours.enumerated() {
            let path = "\(field).hours[\(index)]"
            guard (1...7).contains(hours.dayOfWeek) else {
                throw RPCError.invalidArgument(
                    field: "\(path).day_of_week",
                    "must be 1 (Monday) to 7 (Sunday), got \(hours.dayOfWeek)"
                )
            }
            guard (0...1439).contains(hours.opensAtMinute) else {
                throw RPCError.invalidArgument(
                    field: "\(path).opens_at_minute",
                    "must be 0 to 1439, got \(hours.opensAtMinute)"
                )
            }
            guard hours.closesAtMinute > hours.opensAtMinute, hours.closesAtMinute <= 1440 else {
                throw RPCError.invalidArgument(
                    field: "\(path).closes_at_minute",
                    "must be after opens_at_minute and at most 1440"
                )
            }
        }
        return schedule
    }

    private func validateTimeZone(_ value: String, field: String) throws -> String {
        let zone = value.trimmingWhitespace()
        if zone.isEmpty { return "Asia/Shanghai" }
        let allowed = zone.utf8.allSatisfy {
            $0 == 0x2F || $0 == 0x5F || $0 == 0x2D || $0 == 0x2B || ($0 >= 0x30 && $0 <= 0x39)
                || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A)
        }
        guard zone.count <= 64, allowed, zone == "UTC" || zone.contains("/") else {
            throw RPCError.invalidArgument(field: field, "is not an IANA time zone (\"Asia/Shanghai\")")
        }
        return zone
    }

    private func validateRadius(_ value: Int64, field: String) throws -> Int64 {
        guard (0...1_000_000).contains(value) else {
            throw RPCError.invalidArgument(field: field, "must be 0 to 1000000 metres, got \(value)")
        }
        return value
    }

    public func createStockLocation(
        request: CreateStockLocationRequest,
        context: RPCServerContext
    ) async throws -> StockLocation {
        guard let given = request.stockLocation else {
            throw RPCError.invalidArgument(field: "stock_location", "is required")
        }
        let field = "stock_location"
        switch given.kind {
        case .warehouse, .store: break
        default: throw RPCError.invalidArgument(field: "\(field).kind", "must be WAREHOUSE or STORE")
        }
        let givenStatus = try Validate.known(given.status, field: "\(field).status", noun: "status")
        let status: StockLocationStatus = givenStatus == .unspecified ? .open : givenStatus
        var address = try Validate.address(given.address, field: "\(field).address")
        address?.recipientName = ""
        address?.recipientPhone = ""
        address?.location = nil
        var location = StockLocation(
            code: try Validate.code(given.code, field: "\(field).code", min: 1, max: 32, allowed: "_-"),
            name: try Validate.text(given.name, field: "\(field).name", min: 1, max: 128),
            kind: given.kind,
            status: status,
            address: address,
            coordinates: try Validate.point(given.coordinates, field: "\(field).coordinates"),
            ships: given.ships,
            offersPickup: given.offersPickup,
            deliveryRadiusMeters: try validateRadius(
                given.deliveryRadiusMeters,
                field: "\(field).delivery_radius_meters"
            ),
            phone: try Validate.phone(given.phone, field: "\(field).phone"),
            timeZone: try validateTimeZone(given.timeZone, field: "\(field).time_zone"),
            openingSchedule: try validateSchedule(given.openingSchedule, field: "\(field).opening_schedule"),
            version: 1
        )
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            if let holder = try await transaction.lookup(
                InventoryTables.locations,
                InventoryTables.locationCode,
                .string(location.code.lowercased())
            ) {
                throw RPCError(
                    code: .alreadyExists,
                    message: "\(field).code: '\(location.code)' is already used by location '\(holder.id)'"
                )
            }
            location.id = RecordIDs.make(prefix: "loc")
            location.createdAt = transaction.now
            location.updatedAt = transaction.now
            try await transaction.insert(InventoryTables.locations, location)
            return location
        }
    }

    public func listStockLocations(
        request: ListStockLocationsRequest,
        context: RPCServerContext
    ) async throws -> ListStockLocationsResponse {
        try Validate.known(request.kind, field: "kind", noun: "kind")
        try Validate.known(request.status, field: "status", noun: "status")
        var matching = try await allLocations(store.latest).filter { location in
            (request.kind == .unspecified || location.kind == request.kind)
                && (request.status == .unspecified || location.status == request.status)
                && (request.ships.map { $0 == location.ships } ?? true)
                && (request.offersPickup.map { $0 == location.offersPickup } ?? true)
        }
        matching.sort { $0.code.lowercased() < $1.code.lowercased() }
        let filters = [
            "\(request.kind.rawValue)", "\(request.status.rawValue)", "\(request.ships.map { "\($0)" } ?? "")",
            "\(request.offersPickup.map { "\($0)" } ?? "")",
        ]
        let page = try Paging.page(matching, request: request.page, field: "page", filters: filters)
        return ListStockLocationsResponse(stockLocations: page.items, nextPageToken: page.nextToken)
    }

    public func updateStockLocation(
        request: UpdateStockLocationRequest,
        context: RPCServerContext
    ) async throws -> StockLocation {
        let name = try request.name.map { try Validate.text($0, field: "name", min: 1, max: 128) }
        if let status = request.status {
            switch status {
            case .open, .temporarilyClosed, .permanentlyClosed: break
            default:
                throw RPCError.invalidArgument(
                    field: "status",
                    "must be OPEN, TEMPORARILY_CLOSED or PERMANENTLY_CLOSED"
                )
            }
        }
        var address = try Validate.address(request.address, field: "address")
        address?.recipientName = ""
        address?.recipientPhone = ""
        address?.location = nil
        let coordinates = try request.coordinates.map { try Validate.point($0, field: "coordinates") }
        let radius = try request.deliveryRadiusMeters.map { try validateRadius($0, field: "delivery_radius_meters") }
        let phone = try request.phone.map { try Validate.phone($0, field: "phone") }
        let zone = try request.timeZone.map { try validateTimeZone($0, field: "time_zone") }
        let schedule = try validateSchedule(request.openingSchedule, field: "opening_schedule")
        return try await store.mutation(context, requestID: request.requestID, request: request) { transaction in
            try await transaction.modify(
                InventoryTables.locations,
                request.id,
                field: "id",
                expectedVersion: request.expectedVersion
            ) { location in
                if let name { location.name = name }
                if let status = request.status { location.status = status }
                if let address { location.address = address }
                if let coordinates { location.coordinates = coordinates }
                if let ships = request.ships { location.ships = ships }
                if let pickup = request.offersPickup { location.offersPickup = pickup }
                if let radius { location.deliveryRadiusMeters = radius }
                if let phone { location.phone = phone }
                if let zone { location.timeZone = zone }
                if let schedule { location.openingSchedule = schedule.hours.isEmpty ? nil : schedule }
            }
        }
    }

    /// Open locations that can serve a point in the given way, nearest first, with
    /// their distances.
    func servingLocations(
        _ locations: [StockLocation],
        near point: GeoPoint,
        radius: Int64,
        mode: StockFulfillmentMode,
        kinds: [StockLocationKind],
        only ids: Set<String> = []
    ) -> [(location: StockLocation, distance: Int64)] {
        var result: [(location: StockLocation, distance: Int64)] = []
        for location in locations where location.status == .open {
            if !kinds.isEmpty, !kinds.contains(location.kind) { continue }
            if !ids.isEmpty, !ids.contains(location.id) { continue }
            guard let coordinates = location.coordinates else { continue }
            let distance = Geo.distance(point, coordinates)
            if radius > 0, distance > radius { continue }
            // A store delivers only within its radius; a warehouse ships anywhere.
            let canShip =
                location.ships
                && (location.kind == .warehouse || location.deliveryRadiusMeters == 0
                    || distance <= location.deliveryRadiusMeters)
            switch mode {
            case .ship: if !canShip { continue }
            case .pickup: if !location.offersPickup { continue }
            default: if !canShip && !location.offersPickup { continue }
            }
            result.append((location, distance))
        }
        result.sort { $0.distance == $1.distance ? $0.location.code < $1.location.code : $0.distance < $1.distance }
        return result
    }

    func validateMode(_ mode: StockFulfillmentMode, field: String) throws {
        try Validate.known(mode, field: field, noun: "fulfillment mode")
    }

    func validateKinds(_ kinds: [StockLocationKind], field: String) throws {
        for (index, kind) in kinds.enumerated() where kind != .warehouse && kind != .store {
            throw RPCError.invalidArgument(field: "\(field)[\(index)]", "must be WAREHOUSE or STORE")
        }
    }

    public func findNearbyStockLocations(
        request: FindNearbyStockLocationsRequest,
        context: RPCServerContext
    ) async throws -> FindNearbyStockLocationsResponse {
        let point = try Validate.point(request.near, field: "near")
        let radius = try validateRadius(request.radiusMeters, field: "radius_meters")
        try validateMode(request.fulfillmentMode, field: "fulfillment_mode")
        try validateKinds(request.kinds, field: "kinds")
        guard (0...50).contains(request.maxResults) else {
            throw RPCError.invalidArgument(field: "max_results", "must be 1 to 50, got \(request.maxResults)")
        }
        let limit = request.maxResults == 0 ? 10 : Int(request.maxResults)
        let serving = servingLocations(
            try await allLocations(store.latest),
            near: point,
            radius: radius,
            mode: request.fulfillmentMode,
            kinds: request.kinds
        )
        return FindNearbyStockLocationsResponse(
            locations: serving.prefix(limit).map {
                NearbyStockLocation(stockLocation: $0.location, distanceMeters: $0.distance)
            }
        )
    }
}

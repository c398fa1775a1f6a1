public import O2OMessages
public import O2ORPC
import O2OServiceKit
import O2OStorage

extension OrderServiceProvider {
    static let maximumShipmentEvents = 200

    func shipments(of orderID: String, in reader: some RecordReading) async throws -> [Shipment] {
        try await reader.all(
            OrderTables.shipments,
            RecordQuery(index: OrderTables.shipmentOrder, prefix: [.string(orderID)], pageSize: 100),
            limit: 1000
        )
    }

    public func createShipment(request: CreateShipmentRequest, context: RPCServerContext) async throws -> Shipment {
        let locationID = try Validate.id(request.locationID, field: "location_id")
        let carrier = request.carrierCode
        guard (1...32).contains(carrier.utf8.count),
            carrier.utf8.allSatisfy({ ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f })
        else {
            throw RPCError.invalidArgument(field: "carrier_code", "must be 1 to 32 characters of A-Z, 0-9 and _")
        }
        let carrierName = try Validate.text(request.carrierName, field: "carrier_name", max: 64)
        let tracking = try Validate.text(request.trackingNumber, field: "tracking_number", max: 64)
        if tracking.isEmpty, carrier != "STORE" {
            throw RPCError.invalidArgument(field: "tracking_number", "is required unless carrier_code is STORE")
        }
        let shippedAt = try request.shippedAt.map { try Validate.timestamp($0, field: "shipped_at") }
        let actor = try context.actor(request.actor)
        var created: Shipment?
        let order = try await changeOrder(
            context,
            requestID: request.requestID,
            request: request,
            orderID: request.orderID,
            actor: actor
        ) { order, book in
            guard order.fulfillmentMode != .storePickup else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "order_id: order '\(order.id)' is collected at the store (STORE_PICKUP); it is not shipped"
                )
            }
            guard let index = order.fulfillmentParts.firstIndex(where: { $0.locationID == locationID }),
                index < order.reservationIDs.count
            else {
                throw RPCError.invalidArgument(
                    field: "location_id",
                    "'\(locationID)' is not a fulfilment location of order '\(order.id)'"
                )
            }
            let transaction = book.transaction
            let existing = try await shipments(of: order.id, in: transaction)
            guard !existing.contains(where: { $0.locationID == locationID }) else {
                throw RPCError(
                    code: .alreadyExists,
                    message: "location_id: order '\(order.id)' has shipped from '\(locationID)' already"
                )
            }
            guard order.status == .fulfilling else {
                throw RPCError(
                    code: .failedPrecondition,
                    message: "order_id: order '\(order.id)' is \(order.status.displayName); only FULFILLING orders ship"
                )
            }
            let part = order.fulfillmentParts[index]
            let reservation = try await reservations.commit(
                reservation: order.reservationIDs[index],
                actor: actor,
                requestID: request.requestID,
                note: "order \(order.orderNumber) shipped",
                in: transaction
            )
            let time = shippedAt ?? transaction.now
            let shipment = Shipment(
                id: RecordIDs.make(prefix: "shp"),
                orderID: order.id,
                locationID: locationID,
                carrierCode: carrier,
                carrierName: carrierName,
                trackingNumber: tracking,
                lines: part.lines.map { ShipmentLine(lineID: $0.lineID, skuID: $0.skuID, quantity: $0.quantity) },
                status: .shipped,
                events: [
                    ShipmentEvent(
                        status: .shipped,
                        occurredAt: time,
                        description: "handed over",
                        recordedAt: transaction.now,
                        actor: actor
                    )
                ],
                reservationID: reservation.id,
                shippedAt: time,
                requestID: request.requestID,
                createdBy: actor,
                createdAt: transaction.now,
                updatedAt: transaction.now,
                version: 1
            )
            try await transaction.insert(OrderTables.shipments, shipment)
            created = shipment
            for line in part.lines {
                guard let position = order.lines.firstIndex(where: { $0.lineID == line.lineID }) else { continue }
                order.lines[position].shippedQuantity = try Checked.add(
                    order.lines[position].shippedQuantity,
                    line.quantity,
                    field: "quantity"
                )
            }
            let text = "shipped from \(locationID) with \(carrier) \(tracking)"
            if existing.count + 1 >= Set(order.fulfillmentParts.map(\.locationID)).count {
                try await book.move(&order, to: .shipped, reason: text, shipmentID: shipment.id)
            } else {
                try await book.note(&order, kind: .shipment, reason: text, shipmentID: shipment.id)
            }
        }
        if let created { return created }
        // A retry: the order came back remembered; its shipment from this location is the answer.
        guard
            let shipment = try await shipments(of: order.id, in: store.latest).first(where: {
                $0.locationID == locationID
            })
        else { throw RPCError(code: .notFound, message: "location_id: no shipment from '\(locationID)'") }
        return shipment
    }

    public func recordShipmentEvent(
        request: RecordShipmentEventRequest,
        context: RPCServerContext
    ) async throws -> Shipment {
        let shipmentID = try Validate.id(request.shipmentID, field: "shipment_id")
        guard var event = request.event else { throw RPCError.invalidArgument(field: "event", "is required") }
        let status = try Validate.known(event.status, field: "event.status", noun: "shipment status")
        guard status != .unspecified, status != .shipped else {
            throw RPCError.invalidArgument(
                field: "event.status",
                status == .unspecified ? "is required" : "SHIPPED is recorded by CreateShipment"
            )
        }
        guard let occurred = event.occurredAt else {
            throw RPCError.invalidArgument(field: "event.occurred_at", "is required")
        }
        _ = try Validate.timestamp(occurred, field: "event.occurred_at")
        event.description = try Validate.text(event.description, field: "event.description", max: 512)
        event.place = try Validate.text(event.place, field: "event.place", max: 128)
        event.carrierEventID = try Validate.text(event.carrierEventID, field: "event.carrier_event_id", max: 64)
        let actor = try context.actor(request.actor)
        let current = try await store.latest.require(OrderTables.shipments, shipmentID, field: "shipment_id")
        let order = try await store.latest.require(OrderTables.orders, current.orderID, field: "shipment_id")
        return try await store.mutation(
            context,
            requestID: request.requestID,
            request: request,
            locking: try await locks(for: order)
        ) { transaction in
            var shipment = try await transaction.require(OrderTables.shipments, shipmentID, field: "shipment_id")
            if !event.carrierEventID.isEmpty,
                shipment.events.contains(where: { $0.carrierEventID == event.carrierEventID })
            {
                return shipment
            }
            guard shipment.events.count < Self.maximumShipmentEvents else {
                throw RPCError(
                    code: .resourceExhausted,
                    message: "shipment_id: shipment '\(shipment.id)' has \(Self.maximumShipmentEvents) events already"
                )
            }
            event.recordedAt = transaction.now
            event.actor = actor
            shipment.events.append(event)
            shipment.events.sort { Timestamps.nanos($0.occurredAt) < Timestamps.nanos($1.occurredAt) }
            // DELIVERED and RETURNED_TO_SENDER stay once reached.
            if shipment.status != .delivered, shipment.status != .returnedToSender {
                shipment.status = shipment.events.last?.status ?? status
                if let final = shipment.events.first(where: {
                    $0.status == .delivered || $0.status == .returnedToSender
                }) {
                    shipment.status = final.status
                }
            }
            if shipment.status == .delivered, shipment.deliveredAt == nil {
                shipment.deliveredAt = shipment.events.first { $0.status == .delivered }?.occurredAt
            }
            try await transaction.updateVersioned(OrderTables.shipments, &shipment)
            guard var order = try await transaction.get(OrderTables.orders, .string(shipment.orderID)) else {
                return shipment
            }
            let book = OrderBook(provider: self, transaction: transaction, actor: actor, requestID: request.requestID)
            let text =
                "\(shipment.carrierCode) \(shipment.trackingNumber): \(status.displayName)"
                + (event.description.isEmpty ? "" : " (\(event.description))")
            let all = try await shipments(of: order.id, in: transaction).map { $0.id == shipment.id ? shipment : $0 }
            if order.status == .shipped, all.allSatisfy({ $0.status == .delivered }) {
                try await book.move(&order, to: .delivered, reason: text, shipmentID: shipment.id)
            } else {
                try await book.note(&order, kind: .shipment, reason: text, shipmentID: shipment.id)
            }
            return shipment
        }
    }

    public func getShipment(request: GetShipmentRequest, context: RPCServerContext) async throws -> Shipment {
        try await store.latest.require(OrderTables.shipments, request.id, field: "id")
    }

    public func listShipments(
        request: ListShipmentsRequest,
        context: RPCServerContext
    ) async throws -> ListShipmentsResponse {
        _ = try Paging.pageSize(request.page, field: "page")
        let orderID = request.orderID.isEmpty ? nil : try Validate.id(request.orderID, field: "order_id")
        let tracking =
            request.trackingNumber.isEmpty ? nil : try Validate.id(request.trackingNumber, field: "tracking_number")
        let carrier = request.carrierCode.isEmpty ? nil : try Validate.id(request.carrierCode, field: "carrier_code")
        let locationID = request.locationID.isEmpty ? nil : try Validate.id(request.locationID, field: "location_id")
        let status = try Validate.known(request.status, field: "status", noun: "shipment status")
        let (start, end) = try Validate.timeRange(request.created, field: "created")
        let predicate: @Sendable (Shipment) -> Bool = { shipment in
            let created = Timestamps.nanos(shipment.createdAt)
            return (orderID == nil || shipment.orderID == orderID!)
                && (tracking == nil || shipment.trackingNumber == tracking!)
                && (carrier == nil || shipment.carrierCode == carrier!)
                && (locationID == nil || shipment.locationID == locationID!)
                && (status == .unspecified || shipment.status == status)
                && (start.map { created >= $0 } ?? true) && (end.map { created < $0 } ?? true)
        }
        let filters = [
            orderID ?? "", tracking ?? "", carrier ?? "", locationID ?? "", "\(status.rawValue)", "\(start ?? -1)",
            "\(end ?? -1)",
        ]
        let page = try await store.newestFirst(
            OrderTables.shipments,
            by: [(OrderTables.shipmentOrder, orderID), (OrderTables.shipmentTracking, tracking)],
            page: request.page,
            filters: filters,
            predicate: predicate
        )
        return ListShipmentsResponse(shipments: page.records, nextPageToken: page.nextPageToken)
    }
}

public import Logging
public import O2OMessages
public import O2ORPC
public import O2OStorage

/// The inventory service: locations, stock levels, basket availability, reservations,
/// the ledger, purchase orders, stock-takes, transfers and low-stock alerts.
///
/// Every change to on hand or reserved goes through `StockBook.apply` inside one
/// transaction with its ledger entry and alerts, and the transaction reads the stock
/// it changes, so the store's conflict checks make concurrent changes of the same
/// stock run one after the other: availability can never go negative. Callers that
/// touch the same stock first queue on in-process locks, so a hot SKU does not turn
/// into a storm of transaction retries.
public final class InventoryServiceProvider: InventoryServiceProtocol {
    let store: RecordStore
    let logger: Logger
    /// The currency of purchase costs (ISO 4217), the catalog's.
    let currency: String
    /// Wall-clock time; tests move it to expire reservations.
    let now: @Sendable () -> Timestamp
    let locks = KeyedLocks()
    let alertFeed = AlertFeed()

    /// - Parameters:
    ///   - currency: The currency of purchase costs.
    ///   - now: The clock reservations expire by.
    public init(
        store: RecordStore,
        currency: String = "CNY",
        logger: Logger,
        now: @escaping @Sendable () -> Timestamp = { Clock.now() }
    ) {
        self.store = store
        self.currency = currency
        self.logger = logger
        self.now = now
    }

    /// Runs a method body with error mapping.
    func run<Result>(_ context: RPCServerContext, _ body: () async throws -> Result) async throws -> Result {
        try await serve(context, logger: logger, body)
    }

    /// The lock name of one SKU's stock at one location.
    static func lockKey(location: String, sku: String) -> String { "\(location)\u{1}\(sku)" }

    /// Runs a mutation holding the locks of the stock it will change. Pass the release
    /// it gets as the mutation's `applied`: the next caller of the same stock then
    /// starts as soon as this one's writes are visible, not after its fsync.
    func withStockLocks<Result>(
        _ pairs: some Sequence<(location: String, sku: String)>,
        _ body: (_ release: KeyedLocks.Release) async throws -> Result
    ) async throws -> Result {
        try await locks.withLocks(pairs.map { Self.lockKey(location: $0.location, sku: $0.sku) }, body)
    }

    /// Who acts: the caller's principal and role, and the request's on_behalf_of.
    func actor(_ context: RPCServerContext, _ given: ChangeActor?) throws -> ChangeActor {
        var actor = context.actor
        actor.onBehalfOf = try Validate.text(given?.onBehalfOf ?? "", field: "actor.on_behalf_of", max: 128)
        return actor
    }

    // MARK: - Locations

    public func createStockLocation(
        request: CreateStockLocationRequest,
        context: RPCServerContext
    ) async throws -> StockLocation {
        try await run(context) { try await createStockLocationImpl(request, context) }
    }

    public func getStockLocation(
        request: GetStockLocationRequest,
        context: RPCServerContext
    ) async throws -> StockLocation {
        try await run(context) { try await requireLocation(store.latest, request.id, field: "id") }
    }

    public func listStockLocations(
        request: ListStockLocationsRequest,
        context: RPCServerContext
    ) async throws -> ListStockLocationsResponse {
        try await run(context) { try await listStockLocationsImpl(request) }
    }

    public func updateStockLocation(
        request: UpdateStockLocationRequest,
        context: RPCServerContext
    ) async throws -> StockLocation {
        try await run(context) { try await updateStockLocationImpl(request, context) }
    }

    public func findNearbyStockLocations(
        request: FindNearbyStockLocationsRequest,
        context: RPCServerContext
    ) async throws -> FindNearbyStockLocationsResponse {
        try await run(context) { try await findNearbyStockLocationsImpl(request) }
    }

    // MARK: - Stock levels

    public func getStockLevel(request: GetStockLevelRequest, context: RPCServerContext) async throws -> StockLevel {
        try await run(context) { try await getStockLevelImpl(request) }
    }

    public func batchGetStockLevels(
        request: BatchGetStockLevelsRequest,
        context: RPCServerContext
    ) async throws -> BatchGetStockLevelsResponse {
        try await run(context) { try await batchGetStockLevelsImpl(request) }
    }

    public func listStockLevels(
        request: ListStockLevelsRequest,
        context: RPCServerContext
    ) async throws -> ListStockLevelsResponse {
        try await run(context) { try await listStockLevelsImpl(request) }
    }

    public func batchGetSkuStockSummaries(
        request: BatchGetSkuStockSummariesRequest,
        context: RPCServerContext
    ) async throws -> BatchGetSkuStockSummariesResponse {
        try await run(context) { try await batchGetSkuStockSummariesImpl(request) }
    }

    public func setReorderThresholds(
        request: SetReorderThresholdsRequest,
        context: RPCServerContext
    ) async throws -> SetReorderThresholdsResponse {
        try await run(context) { try await setReorderThresholdsImpl(request, context) }
    }

    public func checkBasketAvailability(
        request: CheckBasketAvailabilityRequest,
        context: RPCServerContext
    ) async throws -> CheckBasketAvailabilityResponse {
        try await run(context) { try await checkBasketAvailabilityImpl(request) }
    }

    // MARK: - Reservations

    public func reserveStock(
        request: ReserveStockRequest,
        context: RPCServerContext
    ) async throws -> ReserveStockResponse {
        try await run(context) { try await reserveStockImpl(request, context) }
    }

    public func getStockReservation(
        request: GetStockReservationRequest,
        context: RPCServerContext
    ) async throws -> StockReservation {
        try await run(context) { try await requireReservation(store.latest, request.id, field: "id") }
    }

    public func listStockReservations(
        request: ListStockReservationsRequest,
        context: RPCServerContext
    ) async throws -> ListStockReservationsResponse {
        try await run(context) { try await listStockReservationsImpl(request) }
    }

    public func commitStockReservation(
        request: CommitStockReservationRequest,
        context: RPCServerContext
    ) async throws -> StockReservation {
        try await run(context) { try await commitStockReservationImpl(request, context) }
    }

    public func releaseStockReservation(
        request: ReleaseStockReservationRequest,
        context: RPCServerContext
    ) async throws -> StockReservation {
        try await run(context) { try await releaseStockReservationImpl(request, context) }
    }

    public func extendStockReservation(
        request: ExtendStockReservationRequest,
        context: RPCServerContext
    ) async throws -> StockReservation {
        try await run(context) { try await extendStockReservationImpl(request, context) }
    }

    // MARK: - Ledger

    public func listStockLedgerEntries(
        request: ListStockLedgerEntriesRequest,
        context: RPCServerContext
    ) async throws -> ListStockLedgerEntriesResponse {
        try await run(context) { try await listStockLedgerEntriesImpl(request) }
    }

    public func adjustStock(request: AdjustStockRequest, context: RPCServerContext) async throws -> AdjustStockResponse
    {
        try await run(context) { try await adjustStockImpl(request, context) }
    }

    // MARK: - Procurement

    public func createPurchaseOrder(
        request: CreatePurchaseOrderRequest,
        context: RPCServerContext
    ) async throws -> PurchaseOrder {
        try await run(context) { try await createPurchaseOrderImpl(request, context) }
    }

    public func getPurchaseOrder(
        request: GetPurchaseOrderRequest,
        context: RPCServerContext
    ) async throws -> PurchaseOrder {
        try await run(context) { try await getPurchaseOrderImpl(request) }
    }

    public func listPurchaseOrders(
        request: ListPurchaseOrdersRequest,
        context: RPCServerContext
    ) async throws -> ListPurchaseOrdersResponse {
        try await run(context) { try await listPurchaseOrdersImpl(request) }
    }

    public func updatePurchaseOrder(
        request: UpdatePurchaseOrderRequest,
        context: RPCServerContext
    ) async throws -> PurchaseOrder {
        try await run(context) { try await updatePurchaseOrderImpl(request, context) }
    }

    public func submitPurchaseOrder(
        request: SubmitPurchaseOrderRequest,
        context: RPCServerContext
    ) async throws -> PurchaseOrder {
        try await run(context) { try await submitPurchaseOrderImpl(request, context) }
    }

    public func cancelPurchaseOrder(
        request: CancelPurchaseOrderRequest,
        context: RPCServerContext
    ) async throws -> PurchaseOrder {
        try await run(context) { try await cancelPurchaseOrderImpl(request, context) }
    }

    public func receivePurchaseOrder(
        request: ReceivePurchaseOrderRequest,
        context: RPCServerContext
    ) async throws -> ReceivePurchaseOrderResponse {
        try await run(context) { try await receivePurchaseOrderImpl(request, context) }
    }

    // MARK: - Stock-takes

    public func openStockTake(request: OpenStockTakeRequest, context: RPCServerContext) async throws -> StockTake {
        try await run(context) { try await openStockTakeImpl(request, context) }
    }

    public func getStockTake(request: GetStockTakeRequest, context: RPCServerContext) async throws -> StockTake {
        try await run(context) { try await getStockTakeImpl(request) }
    }

    public func listStockTakes(
        request: ListStockTakesRequest,
        context: RPCServerContext
    ) async throws -> ListStockTakesResponse {
        try await run(context) { try await listStockTakesImpl(request) }
    }

    public func recordStockCounts(
        request: RecordStockCountsRequest,
        context: RPCServerContext
    ) async throws -> RecordStockCountsResponse {
        try await run(context) { try await recordStockCountsImpl(request, context) }
    }

    public func listStockTakeLines(
        request: ListStockTakeLinesRequest,
        context: RPCServerContext
    ) async throws -> ListStockTakeLinesResponse {
        try await run(context) { try await listStockTakeLinesImpl(request) }
    }

    public func postStockTake(request: PostStockTakeRequest, context: RPCServerContext) async throws -> StockTake {
        try await run(context) { try await postStockTakeImpl(request, context) }
    }

    public func cancelStockTake(request: CancelStockTakeRequest, context: RPCServerContext) async throws -> StockTake {
        try await run(context) { try await cancelStockTakeImpl(request, context) }
    }

    // MARK: - Transfers

    public func createStockTransfer(
        request: CreateStockTransferRequest,
        context: RPCServerContext
    ) async throws -> StockTransfer {
        try await run(context) { try await createStockTransferImpl(request, context) }
    }

    public func getStockTransfer(
        request: GetStockTransferRequest,
        context: RPCServerContext
    ) async throws -> StockTransfer {
        try await run(context) { try await getStockTransferImpl(request) }
    }

    public func listStockTransfers(
        request: ListStockTransfersRequest,
        context: RPCServerContext
    ) async throws -> ListStockTransfersResponse {
        try await run(context) { try await listStockTransfersImpl(request) }
    }

    public func shipStockTransfer(
        request: ShipStockTransferRequest,
        context: RPCServerContext
    ) async throws -> StockTransfer {
        try await run(context) { try await shipStockTransferImpl(request, context) }
    }

    public func receiveStockTransfer(
        request: ReceiveStockTransferRequest,
        context: RPCServerContext
    ) async throws -> StockTransfer {
        try await run(context) { try await receiveStockTransferImpl(request, context) }
    }

    public func cancelStockTransfer(
        request: CancelStockTransferRequest,
        context: RPCServerContext
    ) async throws -> StockTransfer {
        try await run(context) { try await cancelStockTransferImpl(request, context) }
    }

    // MARK: - Alerts

    public func listStockAlerts(
        request: ListStockAlertsRequest,
        context: RPCServerContext
    ) async throws -> ListStockAlertsResponse {
        try await run(context) { try await listStockAlertsImpl(request) }
    }

    public func watchStockAlerts(
        request: WatchStockAlertsRequest,
        responses: RPCResponseWriter<WatchStockAlertsResponse>,
        context: RPCServerContext
    ) async throws {
        try await run(context) { try await watchStockAlertsImpl(request, responses) }
    }
}

/// Inventory maintenance for operators: the ledger check and the expiry sweep.
public final class InventoryAdminServiceProvider: InventoryAdminServiceProtocol {
    let inventory: InventoryServiceProvider

    public init(inventory: InventoryServiceProvider) {
        self.inventory = inventory
    }

    public func checkStockLedger(
        request: CheckStockLedgerRequest,
        context: RPCServerContext
    ) async throws -> CheckStockLedgerResponse {
        try await inventory.run(context) { try await inventory.checkStockLedgerImpl(request) }
    }

    public func sweepExpiredStockReservations(
        request: SweepExpiredStockReservationsRequest,
        context: RPCServerContext
    ) async throws -> SweepExpiredStockReservationsResponse {
        try await inventory.run(context) { try await inventory.sweepExpiredStockReservationsImpl(request, context) }
    }
}

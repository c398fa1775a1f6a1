import O2OMessages
import O2ORPC

// Purchase orders, stock-takes and transfers: not built yet. Each answers UNIMPLEMENTED
// with what is missing, so clients learn it from the status rather than a hang.
extension InventoryServiceProvider {
    private func notYet(_ what: String) -> RPCError {
        RPCError(code: .unimplemented, message: "\(what) are not implemented by this server yet")
    }

    func createPurchaseOrderImpl(_ request: CreatePurchaseOrderRequest, _ context: RPCServerContext) async throws -> PurchaseOrder { throw notYet("purchase orders") }
    func getPurchaseOrderImpl(_ request: GetPurchaseOrderRequest) async throws -> PurchaseOrder { throw notYet("purchase orders") }
    func listPurchaseOrdersImpl(_ request: ListPurchaseOrdersRequest) async throws -> ListPurchaseOrdersResponse { throw notYet("purchase orders") }
    func updatePurchaseOrderImpl(_ request: UpdatePurchaseOrderRequest, _ context: RPCServerContext) async throws -> PurchaseOrder { throw notYet("purchase orders") }
    func submitPurchaseOrderImpl(_ request: SubmitPurchaseOrderRequest, _ context: RPCServerContext) async throws -> PurchaseOrder { throw notYet("purchase orders") }
    func cancelPurchaseOrderImpl(_ request: CancelPurchaseOrderRequest, _ context: RPCServerContext) async throws -> PurchaseOrder { throw notYet("purchase orders") }
    func receivePurchaseOrderImpl(_ request: ReceivePurchaseOrderRequest, _ context: RPCServerContext) async throws -> ReceivePurchaseOrderResponse { throw notYet("purchase orders") }

    func openStockTakeImpl(_ request: OpenStockTakeRequest, _ context: RPCServerContext) async throws -> StockTake { throw notYet("stock-takes") }
    func getStockTakeImpl(_ request: GetStockTakeRequest) async throws -> StockTake { throw notYet("stock-takes") }
    func listStockTakesImpl(_ request: ListStockTakesRequest) async throws -> ListStockTakesResponse { throw notYet("stock-takes") }
    func recordStockCountsImpl(_ request: RecordStockCountsRequest, _ context: RPCServerContext) async throws -> RecordStockCountsResponse { throw notYet("stock-takes") }
    func listStockTakeLinesImpl(_ request: ListStockTakeLinesRequest) async throws -> ListStockTakeLinesResponse { throw notYet("stock-takes") }
    func postStockTakeImpl(_ request: PostStockTakeRequest, _ context: RPCServerContext) async throws -> StockTake { throw notYet("stock-takes") }
    func cancelStockTakeImpl(_ request: CancelStockTakeRequest, _ context: RPCServerContext) async throws -> StockTake { throw notYet("stock-takes") }

    func createStockTransferImpl(_ request: CreateStockTransferRequest, _ context: RPCServerContext) async throws -> StockTransfer { throw notYet("stock transfers") }
    func getStockTransferImpl(_ request: GetStockTransferRequest) async throws -> StockTransfer { throw notYet("stock transfers") }
    func listStockTransfersImpl(_ request: ListStockTransfersRequest) async throws -> ListStockTransfersResponse { throw notYet("stock transfers") }
    func shipStockTransferImpl(_ request: ShipStockTransferRequest, _ context: RPCServerContext) async throws -> StockTransfer { throw notYet("stock transfers") }
    func receiveStockTransferImpl(_ request: ReceiveStockTransferRequest, _ context: RPCServerContext) async throws -> StockTransfer { throw notYet("stock transfers") }
    func cancelStockTransferImpl(_ request: CancelStockTransferRequest, _ context: RPCServerContext) async throws -> StockTransfer { throw notYet("stock transfers") }
}

import ArgumentParser
import Foundation
import Logging
import O2OMessages
import O2OPlatform
import O2ORPC
import O2OServiceKit
import O2OStorage

/// CreateTicket calls, each opening a ticket for one customer.
struct CreateTicketLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create-ticket",
        abstract: "CreateTicket calls, each opening a new ticket for one bench customer.",
        discussion: """
            Every call checks the customer, writes the ticket with its four indexes, starts its \
            two SLA clocks, and writes its history entry, its event and its request id, in one \
            change.
            """
    )

    @OptionGroup var load: LoadOptions
    @OptionGroup var server: ServerOptions

    func run() async throws {
        let workload = Workload(name: "create-ticket") { channel, _ in
            let run = nowNanoseconds()
            let customer = try await CrmServiceClient(transport: channel).createCustomer(
                CreateCustomerRequest(
                    requestID: "bench-ticket-customer-\(run)",
                    displayName: "压测顾客 Bench customer",
                    email: "bench-ticket-\(run)@example.com"
                )
            )
            return PreparedWorkload(
                call: { channel, worker, number in
                    let ticket = try await CareServiceClient(transport: channel).createTicket(
                        CreateTicketRequest(
                            requestID: "bench-\(run)-\(worker)-\(number)",
                            customerID: customer.id,
                            channel: .online,
                            category: .delivery,
                            severity: .medium,
                            subject: "配送超时 Delivery late",
                            description: "bench"
                        )
                    )
                    return ticket.status == .received
                },
                bytesPerCall: 0
            )
        }
        emit(try await workload.run(load: load, server: server), json: load.json)
    }
}

/// The SLA breach sweep over many open tickets, in-process on a RocksDB store.
struct SlaSweepLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sla-sweep",
        abstract: "Times the SLA breach sweep over many open tickets (in-process, RocksDB).",
        discussion: """
            Opens every domain over a scratch RocksDB store, opens --tickets tickets (--due of \
            them logged two days late, so their acknowledge deadline has passed), then times \
            one sweep that records the due breaches and one with nothing due. The sweep reads \
            only the clocks whose deadline passed: its cost follows --due, not --tickets.
            """
    )

    @Option(help: "Scratch directory (created; removed afterwards).") var dir: String = "/tmp/o2o-bench-sla"
    @Option(help: "Open tickets.") var tickets: Int = 100_000
    @Option(help: "Of them, tickets whose acknowledge deadline has passed.") var due: Int = 1_000
    @Option(help: "Tickets opened at once.") var concurrency: Int = 32

    func validate() throws {
        guard tickets > 0, (0...tickets).contains(due), concurrency > 0 else {
            throw ValidationError("--tickets must be positive, --due 0 to --tickets, --concurrency positive")
        }
    }

    func run() async throws {
        system("rm -rf '\(dir)' && mkdir -p '\(dir)'")
        defer { system("rm -rf '\(dir)'") }
        var logger = Logger(label: "o2o.bench")
        logger.logLevel = .critical
        let engine = try RocksDBEngine(path: dir, syncPolicy: .none)
        let store = ServiceStore(records: RecordStore(engine: engine))
        let platform = try await O2OPlatform.open(store: store, logger: logger)
        let transport = RPCInProcessTransport(
            services: platform.services,
            interceptors: [],
            errorMapping: ServiceErrorMapping(logger: logger)
        )
        let crm = CrmServiceClient(transport: transport)
        let care = CareServiceClient(transport: transport)
        let customer = try await crm.createCustomer(
            CreateCustomerRequest(requestID: "sweep-customer", displayName: "压测 Bench", email: "sweep@example.com")
        )
        let now = store.now()
        let late = Timestamps.adding(seconds: -2 * 86_400, to: now)
        var start = nowNanoseconds()
        let (total, dueCount, workers) = (tickets, due, concurrency)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var index = worker
                    while index < total {
                        _ = try await care.createTicket(
                            CreateTicketRequest(
                                requestID: "sweep-\(index)",
                                customerID: customer.id,
                                channel: .phone,
                                category: .delivery,
                                severity: .medium,
                                subject: "ticket \(index)",
                                receivedAt: index < dueCount ? late : nil
                            )
                        )
                        index += workers
                    }
                }
            }
            try await group.waitForAll()
        }
        printLine("opened \(tickets) tickets in \(format(Double(nowNanoseconds() - start) / 1e9, 1)) s")
        start = nowNanoseconds()
        var recorded = 0
        var rounds = 0
        var more = true
        while more {
            let round = try await platform.care.provider.sweepBreaches()
            recorded += round.recorded
            more = round.moreRemaining
            rounds += 1
        }
        let busy = Double(nowNanoseconds() - start) / 1e6
        start = nowNanoseconds()
        let idle = try await platform.care.provider.sweepBreaches()
        let empty = Double(nowNanoseconds() - start) / 1e6
        printLine(
            "sweep with \(due) due of \(tickets) open: \(recorded) breaches recorded in \(format(busy, 1)) ms "
                + "(\(rounds) rounds, \(format(recorded > 0 ? busy * 1000 / Double(recorded) : 0, 0)) µs per breach)"
        )
        printLine("sweep with nothing due of \(tickets) open: \(idle.recorded) recorded in \(format(empty, 2)) ms")
        try await engine.close()
    }
}

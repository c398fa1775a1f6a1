// o2o-bench: load generator for O2O's RPC server, printing the same RESULT fields as
// the baseline peers in ../shared/peers/rpc-baseline so that all three stand in one
// table.
import ArgumentParser

@main
struct O2OBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "o2o-bench",
        abstract: "Load generator for O2O: closed-loop workloads against o2o-server, and side-by-side comparisons.",
        discussion: """
            Every workload opens --conns connections with --inflight calls in flight each, warms up, \
            measures for --duration seconds and reports calls/s, MB/s, latency percentiles \
            (HdrHistogram), errors by status code and the server's CPU per 1,000 calls (from /proc). \
            Without --server it starts the o2o-server next to it on a free loopback port (with the \
            demo shop when the workload needs it) and stops it afterwards. --json prints one JSON \
            object in the baseline peers' field names.

            Examples:
              o2o-bench echo 200
              o2o-bench reserve --mode hot --store rocksdb
              o2o-bench redeem --mode distinct --store rocksdb
              o2o-bench get-product --server 127.0.0.1:7070 --json
              o2o-bench compare --duration 10
            """,
        subcommands: [
            PingLoad.self, EchoLoad.self, StreamLoad.self, GetProductLoad.self, SearchLoad.self, ReserveLoad.self,
            CreateCustomerLoad.self, Customer360Load.self, RedeemLoad.self, PricingLoad.self, QuoteLoad.self,
            CheckoutLoad.self, CreateTicketLoad.self, SlaSweepLoad.self, SalesStatisticsLoad.self,
            Compare.self,
            ServeEcho.self,
            StorageLoad.self,
        ]
    )
}

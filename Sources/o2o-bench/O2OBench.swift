// o2o-bench: load generator for O2O's RPC server, printing the same RESULT fields as
// the baseline peers in ../shared/peers/rpc-baseline so that all three stand in one
// table.
import ArgumentParser

@main
struct O2OBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "o2o-bench",
        abstract: "Load generator for O2O's RPC protocol.",
        subcommands: [EchoLoad.self, CatalogLoad.self, ReserveLoad.self, ServeEcho.self, StorageLoad.self]
    )
}

import O2OBuiltinServices
import O2OMessages
import O2ORPC
import Testing

@Suite("Built-in services (in-process)")
struct SystemServicesTests {
    private func transport(
        _ services: [any RPCService],
        interceptors: [any RPCServerInterceptor] = []
    ) -> RPCInProcessTransport {
        RPCInProcessTransport(services: services, interceptors: interceptors)
    }

    @Test("echo: every call kind through the in-process transport")
    func echo() async throws {
        let echo = EchoServiceClient(transport: transport([EchoServiceProvider()]))
        #expect(try await echo.echo(EchoMessage(sequence: 3)).sequence == 3)
        let count = try await echo.echoExpand(EchoExpandRequest(count: 10, payloadSize: 3)) { responses in
            var count = 0
            for try await _ in responses { count += 1 }
            return count
        }
        #expect(count == 10)
        let collected = try await echo.echoCollect { requests in
            for _ in 0..<5 { try await requests.write(EchoMessage(payload: [1, 2])) }
        }
        #expect(collected == EchoCollectResponse(count: 5, totalBytes: 10))
    }

    @Test("health: check and watch")
    func health() async throws {
        let status = HealthStatus(services: ["o2o.rpc.v1.EchoService"])
        let health = HealthServiceClient(
            transport: transport([HealthServiceProvider(status: status), EchoServiceProvider()])
        )
        #expect(try await health.checkHealth(HealthCheckRequest()).status == .serving)
        #expect(try await health.checkHealth(HealthCheckRequest(service: "nope")).status == .serviceUnknown)
        let seen = try await health.watchHealth(HealthCheckRequest(service: "o2o.rpc.v1.EchoService")) { responses in
            var seen: [ServingStatus] = []
            for try await response in responses {
                seen.append(response.status)
                if seen.count == 1 { status.set(.notServing, for: "o2o.rpc.v1.EchoService") }
                if seen.count == 2 { break }
            }
            return seen
        }
        #expect(seen == [.serving, .notServing])
    }

    @Test("reflection: services with kinds and roles, symbols with the types they need")
    func reflection() async throws {
        let router = RPCRouter(services: [EchoServiceProvider(), HealthServiceProvider(status: HealthStatus())])
        let reflection = ReflectionServiceProvider(
            services: router.services,
            policy: RPCAccessPolicy(),
            messageTypes: O2OSchemaRegistry.messageTypes,
            enumTypes: O2OSchemaRegistry.enumTypes
        )
        let client = ReflectionServiceClient(transport: transport([reflection]))
        let services = try await client.listServices(ListServicesRequest()).services
        #expect(services.map(\.name) == ["o2o.rpc.v1.EchoService", "o2o.rpc.v1.HealthService"])
        let chat = services[0].methods.first { $0.name == "EchoChat" }
        #expect(chat?.kind == .bidirectionalStreaming)
        #expect(chat?.requiredRole == .readonly)
        #expect(services[1].methods.first?.requiredRole == .unspecified)

        let described = try await client.describeSymbol(DescribeSymbolRequest(symbol: "EchoExpand"))
        #expect(described.resolvedName == "o2o.rpc.v1.EchoService/EchoExpand")
        #expect(described.messages.map(\.name) == ["o2o.rpc.v1.EchoExpandRequest", "o2o.rpc.v1.EchoMessage"])
        #expect(described.method?.doc.hasPrefix("Streams `count` messages") == true)

        let product = try await client.describeSymbol(DescribeSymbolRequest(symbol: "o2o.catalog.v1.Product"))
        #expect(product.messages.contains { $0.name == "o2o.common.v1.Money" })
        #expect(product.enums.contains { $0.name == "o2o.catalog.v1.ProductStatus" })

        let missing = try await expectError {
            _ = try await client.describeSymbol(DescribeSymbolRequest(symbol: "Nope"))
        }
        #expect(missing?.code == .notFound)
        #expect(missing?.message == "symbol: nothing named 'Nope'")
        let schema = try await client.getSchema(GetSchemaRequest())
        #expect(schema.messages.count == O2OSchemaRegistry.messageTypes.count)
    }

    @Test("metrics: calls, errors by code and latency per method")
    func metrics() async throws {
        let metrics = RPCMetrics()
        let echo = EchoServiceClient(
            transport: transport([EchoServiceProvider()], interceptors: [RPCMetricsInterceptor(metrics: metrics)])
        )
        for _ in 0..<10 { _ = try await echo.echo(EchoMessage()) }
        _ = try await expectError {
            _ = try await echo.echoExpand(EchoExpandRequest(count: 2_000_000)) { responses in
                for try await _ in responses {}
            }
        }
        let stats = metrics.snapshot()
        let unary = stats.first { $0.path == "/o2o.rpc.v1.EchoService/Echo" }
        #expect(unary?.calls == 10)
        #expect(unary?.errors == 0)
        let expand = stats.first { $0.path == "/o2o.rpc.v1.EchoService/EchoExpand" }
        #expect(expand?.errors == 1)
        #expect(expand?.byCode[.invalidArgument] == 1)
        #expect(metrics.callsInFlight == 0)
    }

    @Test("admin: method stats, paging of connections, idempotent backups")
    func admin() async throws {
        let metrics = RPCMetrics()
        metrics.register(EchoService.Method.allCases)
        let backups = BackupCounter()
        let backend = AdminBackend(
            serverInfo: { ServerInfo(version: "test") },
            connections: { (1...120).map { ConnectionInfo(id: UInt64($0)) } },
            metrics: metrics,
            startedAt: Timestamp(seconds: 1),
            createBackup: { directory in
                await backups.increment()
                return CreateBackupResponse(directory: "/backups/" + directory)
            },
            storageStats: { GetStorageStatsResponse(engine: "memory") }
        )
        let admin = AdminServiceClient(transport: transport([AdminServiceProvider(backend: backend)]))
        #expect(try await admin.getServerInfo(GetServerInfoRequest()).version == "test")
        let idle = try await admin.getMethodStats(GetMethodStatsRequest(includeIdle: true))
        #expect(idle.methods.count == 4)
        let first = try await admin.listConnections(ListConnectionsRequest())
        #expect(first.connections.count == 50)
        let second = try await admin.listConnections(
            ListConnectionsRequest(page: PageRequest(pageToken: first.nextPageToken))
        )
        let third = try await admin.listConnections(
            ListConnectionsRequest(page: PageRequest(pageToken: second.nextPageToken))
        )
        #expect(third.connections.map(\.id) == Array(101...120))
        #expect(third.nextPageToken.isEmpty)
        let badToken = try await expectError {
            _ = try await admin.listConnections(ListConnectionsRequest(page: PageRequest(pageToken: "x")))
        }
        #expect(badToken?.message == "page.page_token: not a page token this list issued")
        let one = try await admin.createBackup(CreateBackupRequest(requestID: "b-1", directory: "nightly"))
        let again = try await admin.createBackup(CreateBackupRequest(requestID: "b-1", directory: "nightly"))
        #expect(one == again)
        #expect(await backups.count == 1)
        let noID = try await expectError { _ = try await admin.createBackup(CreateBackupRequest(directory: "x")) }
        #expect(noID?.message == "request_id: must not be empty (an idempotency key)")
    }
}

actor BackupCounter {
    var count = 0
    func increment() { count += 1 }
}

extension EchoService.Method {
    static var allCases: [RPCMethodDescriptor] { EchoService.descriptor.methods }
}

func expectError(_ body: () async throws -> Void) async throws -> RPCError? {
    do {
        try await body()
        Issue.record("expected an error")
        return nil
    } catch let error as RPCError {
        return error
    }
}

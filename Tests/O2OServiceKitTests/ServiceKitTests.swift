import O2OCatalog
import O2ODemo
import O2OInventory
import O2OMessages
import O2ORPC
import O2OServiceKit
import O2OServiceTestSupport
import O2OStorage
import O2OTestSupport
import Synchronization
import Testing

/// A table of labels, as a stand-in for a domain's records.
private let labels = RecordTable<Label>(id: 9001, name: "labels", noun: "label", primaryKey: { .string($0.key) })

private func context(_ metadata: RPCMetadata = RPCMetadata()) -> RPCServerContext {
    RPCServerContext(
        method: EchoService.Method.echo,
        metadata: metadata,
        deadline: nil,
        peer: "test",
        requestID: "req-test"
    )
}

/// Counts what after-commit effects did.
private final class Effects: Sendable {
    let count = Atomic<Int>(0)
    func run() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}

@Suite("Service kit")
struct ServiceKitTests {
    @Test("the server's keyspace has no overlaps; a reused table id or a clashing raw prefix is refused by name")
    func keyspace() throws {
        let domains: [KeyspaceEntry] =
            KeyspaceEntry.recordLayer + KeyspaceEntry.table(labels, owner: "tests") + DemoData.keyspace
        try Keyspace.check(domains)
        let twin = RecordTable<Label>(id: 9001, name: "other_labels", primaryKey: { .string($0.value) })
        #expect {
            try Keyspace.check(domains + KeyspaceEntry.table(twin, owner: "another domain"))
        } throws: { error in
            let text = "\(error)"
            return text.contains("table labels (9001)") && text.contains("table other_labels (9001)")
                && text.contains("another domain")
        }
        // A raw prefix that covers every record key.
        #expect(throws: Keyspace.Conflict.self) {
            try Keyspace.check(domains + [KeyspaceEntry(prefix: [0x10], owner: "rogue", what: "everything")])
        }
    }

    @Test("every domain the harness composes, as the server does, passes the keyspace check")
    func composedKeyspace() async throws {
        // ServiceHarness runs the same check as o2o-server before it serves anything.
        try await ServiceHarness.run(.memory, transport: .inProcess) { _ in }
    }

    @Test("a status machine allows what its table lists and refuses the rest naming both states")
    func statusMachine() throws {
        let machine = StatusMachine<PurchaseOrderStatus>(
            "purchase order",
            [.draft: [.submitted, .cancelled], .submitted: [.received]]
        )
        #expect(machine.allows(.draft, .submitted))
        #expect(!machine.allows(.submitted, .draft))
        var order = PurchaseOrder(id: "po_1", status: .unspecified)
        machine.start(&order, at: .draft, time: Timestamp(seconds: 1), actor: .system)
        try machine.move(&order, to: .submitted, field: "id", at: Timestamp(seconds: 2), actor: .system, note: "go")
        #expect(order.status == .submitted)
        #expect(order.statusHistory.map(\.toStatus) == [.draft, .submitted])
        #expect(order.statusHistory.last?.fromStatus == .draft && order.statusHistory.last?.note == "go")
        #expect {
            try machine.move(&order, to: .cancelled, field: "id", at: Timestamp(seconds: 3), actor: .system)
        } throws: { error in
            (error as? RPCError)?.code == .failedPrecondition
                && (error as? RPCError)?.message
                    == "id: purchase order 'po_1' is SUBMITTED and cannot become CANCELLED (it can become RECEIVED)"
        }
        #expect(order.status == .submitted && order.statusHistory.count == 2, "a refused move changes nothing")
        order.status = .received
        #expect {
            try machine.check(order.status, .draft, field: "id", id: order.id)
        } throws: { ($0 as? RPCError)?.message.hasSuffix("(it is final)") == true }
        #expect {
            try machine.require(.received, in: [.draft], to: "be changed", field: "id", id: "po_1")
        } throws: {
            ($0 as? RPCError)?.message == "id: purchase order 'po_1' is RECEIVED; only DRAFT ones can be changed"
        }
    }

    @Test("a mutation commits once: a retry with its request id gets the first answer and runs no effect again")
    func mutationReplay() async throws {
        let store = ServiceStore(records: RecordStore(engine: MemoryEngine()))
        let effects = Effects()
        func put(_ value: String, requestID: String) async throws -> Label {
            try await store.mutation(context(), requestID: requestID, request: Label(key: "k", value: value)) {
                transaction in
                try await transaction.save(labels, Label(key: "k", value: value))
                transaction.afterCommit { effects.run() }
                return Label(key: "k", value: value)
            }
        }
        #expect(try await put("first", requestID: "r-1").value == "first")
        #expect(effects.value == 1)
        #expect(try await put("first", requestID: "r-1").value == "first", "the replay answers as the first call")
        #expect(effects.value == 1, "no effect for a replay")
        // The same id with another request is refused, and changes nothing.
        await #expect(throws: RecordError.self) { _ = try await put("second", requestID: "r-1") }
        #expect(try await store.latest.get(labels, .string("k"))?.value == "first")
        await #expect(throws: RPCError.self) { _ = try await put("x", requestID: "") }
        #expect(effects.value == 1)
    }

    @Test("a change that fails writes nothing and runs none of its effects")
    func failedChange() async throws {
        let store = ServiceStore(records: RecordStore(engine: MemoryEngine()))
        let effects = Effects()
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            try await store.transaction { transaction in
                try await transaction.save(labels, Label(key: "k", value: "v"))
                transaction.afterCommit { effects.run() }
                throw Refused()
            }
        }
        #expect(try await store.latest.get(labels, .string("k")) == nil)
        #expect(effects.value == 0)
    }

    @Test("modify reads, checks the expected version, and bumps version and update time once")
    func modify() async throws {
        let clock = AdjustableClock()
        let store = ServiceStore(records: RecordStore(engine: MemoryEngine()), clock: clock.clock)
        let table = RecordTable<Category>(id: 9002, name: "cats", noun: "category", primaryKey: { .string($0.id) })
        try await store.transaction { try await $0.insert(table, Category(id: "c1", name: "a", version: 1)) }
        clock.advance(seconds: 100)
        let changed = try await store.transaction { transaction in
            try await transaction.modify(table, "c1", field: "category_id", expectedVersion: 1) { $0.name = "b" }
        }
        #expect(changed.version == 2 && changed.name == "b")
        #expect((changed.updatedAt?.seconds ?? 0) >= clock.clock.now().seconds - 1)
        await #expect {
            try await store.transaction { transaction in
                try await transaction.modify(table, "c1", field: "category_id", expectedVersion: 1) { $0.name = "c" }
            }
        } throws: { ($0 as? RPCError)?.message == "expected_version: category 'c1' is at version 2, not 1" }
        await #expect {
            try await store.transaction { transaction in
                try await transaction.modify(table, "c9", field: "category_id") { $0.name = "c" }
            }
        } throws: { ($0 as? RPCError)?.message == "category_id: no category 'c9'" }
        #expect(try await store.latest.get(table, .string("c1"))?.name == "b")
    }

    @Test("the error mapping turns record and storage errors into statuses, never engine text")
    func errorMapping() async throws {
        let mapping = ServiceErrorMapping(logger: quietLogger)
        func status(of error: any Error) async -> RPCError? {
            mapping.map(error, context: context()) as? RPCError
        }
        #expect(
            await status(of: RecordError(.notFound, "cats: no record with this key", subject: "cats"))?.code
                == .notFound
        )
        #expect(await status(of: StorageError(.conflict, "Resource busy"))?.code == .aborted)
        let failure = await status(of: StorageError(.io, "IO error: /data/000123.sst: No space left on device"))
        #expect(failure?.code == .internalError)
        #expect(failure?.message == "storage error (request id req-test)")
    }
}

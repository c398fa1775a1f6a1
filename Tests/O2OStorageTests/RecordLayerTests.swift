import O2OMessages
import O2OStorage
import O2OTestProtos
import Synchronization
import Testing

/// A table of leaves: primary key `text`, a unique index on `number`, a non-unique
/// index on `colour`.
let leaves = RecordTable<ConformanceLeaf>(
    id: 1,
    name: "leaves",
    primaryKey: { KeyTuple.string($0.text) },
    indexes: [
        RecordIndex(id: 1, name: "number", unique: true) { leaf in leaf.number == 0 ? [] : [[.int(leaf.number)]] },
        RecordIndex(id: 2, name: "colour", unique: false) { leaf in [[.int(Int64(leaf.colour.rawValue))]] },
    ]
)

@Suite("Record layer")
struct RecordLayerTests {
    @Test("key tuples sort like their values and decode back", arguments: 0..<3)
    func keyTuples(seed: Int) {
        var generator = SystemRandomNumberGenerator()
        let integers =
            (0..<200).map { _ in Int64.random(in: Int64.min...Int64.max, using: &generator) } + [0, -1, 1, .min, .max]
        let sortedByEncoding = integers.sorted {
            compareBytes(KeyTuple([.int($0)]).encoded, KeyTuple([.int($1)]).encoded) < 0
        }
        #expect(sortedByEncoding == integers.sorted())
        let strings =
            ["", "a", "a\u{0}", "a\u{0}b", "ab", "b", "\u{0}", "长", "z"]
            + (0..<50).map { _ in String(Int.random(in: 0...1000, using: &generator)) }
        let byEncoding = strings.sorted {
            compareBytes(KeyTuple([.string($0)]).encoded, KeyTuple([.string($1)]).encoded) < 0
        }
        #expect(byEncoding == strings.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        // A tuple's encoding is a prefix of any longer tuple that starts with it.
        let short = KeyTuple([.string("sku"), .int(7)])
        let long = short.appending(.uint(42))
        #expect(long.encoded.starts(with: short.encoded))
        #expect(KeyTuple(decoding: long.encoded[...]) == long)
        #expect(KeyTuple(decoding: [0x09][...]) == nil)
    }

    @Test("insert, unique keys, update moving index entries, delete", arguments: EngineKind.allCases)
    func crud(kind: EngineKind) async throws {
        try await kind.withEngine { engine in
            let store = RecordStore(engine: engine)
            try await store.transaction { transaction in
                try await transaction.insert(leaves, ConformanceLeaf(text: "a", number: 1, colour: .red))
                try await transaction.insert(leaves, ConformanceLeaf(text: "b", number: 2, colour: .red))
            }
            let duplicateKey = await captureRecordError {
                try await store.transaction { try await $0.insert(leaves, ConformanceLeaf(text: "a", number: 9)) }
            }
            #expect(duplicateKey?.code == .alreadyExists)
            let duplicateNumber = await captureRecordError {
                try await store.transaction { try await $0.insert(leaves, ConformanceLeaf(text: "c", number: 2)) }
            }
            #expect(duplicateNumber?.message == "leaves.number: 2 is taken by another record")
            #expect(
                try await store.read { try await $0.get(leaves, .string("c")) } == nil,
                "nothing of a failed transaction is written"
            )

            try await store.transaction { transaction in
                try await transaction.update(leaves, ConformanceLeaf(text: "a", number: 3, colour: .green))
            }
            let byNew = try await store.read { try await $0.lookup(leaves, leaves.indexes[0], [.int(3)]) }
            #expect(byNew?.text == "a")
            #expect(try await store.read { try await $0.lookup(leaves, leaves.indexes[0], [.int(1)]) } == nil)
            // The freed number can be taken.
            try await store.transaction { try await $0.insert(leaves, ConformanceLeaf(text: "c", number: 1)) }
            let reds = try await store.read { reader in
                try await reader.page(leaves, RecordQuery(index: leaves.indexes[1], prefix: [.int(1)], pageSize: 10))
            }
            #expect(reds.records.map(\.text) == ["b"])
            let deleted = try await store.transaction { try await $0.delete(leaves, .string("b")) }
            #expect(deleted?.number == 2)
            #expect(try await store.read { try await $0.lookup(leaves, leaves.indexes[0], [.int(2)]) } == nil)
            let missing = await captureRecordError {
                try await store.transaction { try await $0.update(leaves, ConformanceLeaf(text: "nope")) }
            }
            #expect(missing?.code == .notFound)
        }
    }

    @Test(
        "paging with opaque tokens bound to the filters, both directions, with a predicate",
        arguments: EngineKind.allCases
    )
    func paging(kind: EngineKind) async throws {
        try await kind.withEngine { engine in
            let store = RecordStore(engine: engine)
            try await store.transaction { transaction in
                for index in 0..<250 {
                    try await transaction.insert(
                        leaves,
                        ConformanceLeaf(
                            text: String(format3(index)),
                            number: Int64(index + 1),
                            colour: index % 2 == 0 ? .red : .green
                        )
                    )
                }
            }
            var seen: [String] = []
            var token: String?
            var pages = 0
            repeat {
                let page = try await store.read {
                    try await $0.page(leaves, RecordQuery(pageSize: 100, pageToken: token))
                }
                seen += page.records.map(\.text)
                token = page.nextPageToken
                pages += 1
            } while !(token ?? "").isEmpty
            #expect(seen == (0..<250).map(format3))
            #expect(pages == 3)

            let reverse = try await store.read {
                try await $0.page(leaves, RecordQuery(direction: .reverse, pageSize: 5))
            }
            #expect(reverse.records.map(\.text) == ["249", "248", "247", "246", "245"])

            let first = try await store.read {
                try await $0.page(leaves, RecordQuery(pageSize: 10, filters: ["colour=red"]))
            }
            let misuse = await captureRecordError {
                _ = try await store.read {
                    try await $0.page(
                        leaves,
                        RecordQuery(pageSize: 10, pageToken: first.nextPageToken, filters: ["colour=green"])
                    )
                }
            }
            #expect(misuse?.code == .invalidPageToken)
            #expect(misuse?.message == "the page token was issued for other filters")
            let garbage = await captureRecordError {
                _ = try await store.read { try await $0.page(leaves, RecordQuery(pageSize: 10, pageToken: "!!")) }
            }
            #expect(garbage?.message == "not a page token this list issued")

            let greens = try await store.read { reader in
                try await reader.page(leaves, RecordQuery(pageSize: 7, predicate: { $0.colour == .green }))
            }
            #expect(greens.records.map(\.text) == ["001", "003", "005", "007", "009", "011", "013"])
            // A selective predicate stops at the examine limit and hands back a token.
            let bounded = try await store.read { reader in
                try await reader.page(
                    leaves,
                    RecordQuery(pageSize: 10, predicate: { $0.number > 240 }, examineLimit: 50)
                )
            }
            #expect(bounded.records.isEmpty)
            #expect(!bounded.nextPageToken.isEmpty)
        }
    }

    @Test("idempotency keys return the first result and refuse a different request", arguments: EngineKind.allCases)
    func idempotency(kind: EngineKind) async throws {
        try await kind.withEngine { engine in
            let store = RecordStore(engine: engine)
            let request = ConformanceLeaf(text: "request")
            let response = ConformanceLeaf(text: "response", number: 5)
            try await store.transaction { transaction in
                let before = try await transaction.rememberedResult(
                    scope: "/x/Create",
                    requestID: "r1",
                    request: request,
                    as: ConformanceLeaf.self
                )
                #expect(before == nil)
                transaction.rememberResult(scope: "/x/Create", requestID: "r1", request: request, response: response)
            }
            let again = try await store.transaction { transaction in
                try await transaction.rememberedResult(
                    scope: "/x/Create",
                    requestID: "r1",
                    request: request,
                    as: ConformanceLeaf.self
                )
            }
            #expect(again == response)
            let other = await captureRecordError {
                _ = try await store.transaction { transaction in
                    try await transaction.rememberedResult(
                        scope: "/x/Create",
                        requestID: "r1",
                        request: ConformanceLeaf(text: "other"),
                        as: ConformanceLeaf.self
                    )
                }
            }
            #expect(other?.message == "request_id 'r1' was already used for a different request")
        }
    }

    @Test("counters hand out each value once under concurrency", arguments: EngineKind.allCases)
    func counters(kind: EngineKind) async throws {
        try await kind.withEngine { engine in
            let store = RecordStore(engine: engine)
            let values = try await withThrowingTaskGroup(of: Int64.self, returning: [Int64].self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        try await store.transaction(maxAttempts: 1000) { try await $0.nextValue(of: "orders") }
                    }
                }
                var values: [Int64] = []
                for try await value in group { values.append(value) }
                return values
            }
            #expect(values.sorted() == Array(1...40))
        }
    }

    @Test("record ids sort by creation and never repeat")
    func ids() {
        let ids = (0..<20_000).map { _ in RecordIDs.make(prefix: "prd") }
        #expect(Set(ids).count == ids.count)
        #expect(ids == ids.sorted())
        #expect(ids[0].hasPrefix("prd_"))
        #expect(ids[0].count == 4 + 26)
        #expect(RecordIDs.make(prefix: "").count == 26)
    }
}

func format3(_ index: Int) -> String {
    let text = String(index)
    return String(repeating: "0", count: max(0, 3 - text.count)) + text
}

func captureRecordError(_ body: () async throws -> Void) async -> RecordError? {
    do {
        try await body()
        Issue.record("expected a RecordError")
        return nil
    } catch let error as RecordError {
        return error
    } catch {
        Issue.record("expected a RecordError, got \(error)")
        return nil
    }
}

import O2OMessages
import O2ORPC
import Testing

/// The platform schema documents itself: the reflection service and the shell show
/// these docs, so an undocumented element is a bug.
@Suite("Platform schema")
struct SchemaTests {
    @Test("every message, field, enum, value, service and method has a doc comment")
    func documented() {
        var missing: [String] = []
        for (name, type) in O2OSchemaRegistry.messageTypes {
            let schema = type._messageSchema
            if schema.doc.isEmpty { missing.append(name) }
            for field in schema.fields where field.doc.isEmpty { missing.append("\(name).\(field.name)") }
        }
        for (name, type) in O2OSchemaRegistry.enumTypes {
            let schema = type._enumSchema
            if schema.doc.isEmpty { missing.append(name) }
            for value in schema.values where value.doc.isEmpty { missing.append("\(name).\(value.name)") }
        }
        for service in O2OSchemaRegistry.services {
            if service.doc.isEmpty { missing.append(service.name) }
            for method in service.methods where method.doc.isEmpty { missing.append(method.path) }
        }
        #expect(missing.isEmpty, "undocumented: \(missing.sorted().joined(separator: ", "))")
    }

    @Test("method paths are unique and name existing message types")
    func methods() {
        var paths = Set<String>()
        for method in O2OSchemaRegistry.services.flatMap(\.methods) {
            #expect(paths.insert(method.path).inserted, "\(method.path) twice")
            #expect(O2OSchemaRegistry.messageTypes[method.requestType] != nil, "\(method.path) request")
            #expect(O2OSchemaRegistry.messageTypes[method.responseType] != nil, "\(method.path) response")
        }
        #expect(paths.contains("/o2o.catalog.v1.CatalogService/GetProduct"))
    }

    @Test("retryable mutations take a request id first; reads are marked")
    func idempotency() {
        var offenders: [String] = []
        for method in O2OSchemaRegistry.services.flatMap(\.methods) where method.idempotency == .idempotent {
            let request = O2OSchemaRegistry.messageTypes[method.requestType]!._messageSchema
            let first = request.fields.first { $0.number == 1 }
            if first?.name != "request_id" || first?.type != .string { offenders.append(method.path) }
        }
        #expect(offenders.isEmpty, "IDEMPOTENT methods without request_id = 1: \(offenders.joined(separator: ", "))")
        let readPrefixes = ["Get", "List", "Search", "Watch", "Check"]
        let reads = O2OSchemaRegistry.services.flatMap(\.methods).filter { method in
            readPrefixes.contains { method.method.hasPrefix($0) }
        }
        let unmarked = reads.filter { $0.idempotency != .noSideEffects }.map(\.path)
        #expect(unmarked.isEmpty, "reads not marked NO_SIDE_EFFECTS: \(unmarked.joined(separator: ", "))")
    }

    @Test("the wire messages of PROTOCOL.md exist with their fields")
    func wireMessages() {
        let header = WireCallHeader._messageSchema.fields.map(\.name)
        #expect(header == ["method", "timeout_micros", "metadata"])
        let trailers = WireTrailers._messageSchema.fields.map(\.name)
        #expect(trailers == ["code", "message", "field_violations", "retry_after_ms", "metadata"])
    }
}

import Foundation
import O2OMessages
import O2ORPC
import O2OTestSupport
import Testing

@testable import O2OFuzzing

@Suite("the request fuzzer over every method")
struct MethodFuzzTests {
    @Test("the same seed generates the same requests")
    func replay() {
        let schema = FuzzSchema()
        var first = RequestGenerator(schema: schema, seed: 7)
        var second = RequestGenerator(schema: schema, seed: 7)
        var other = RequestGenerator(schema: schema, seed: 8)
        var differs = false
        for method in schema.methods {
            let request = first.request(method.requestType)
            #expect(request == second.request(method.requestType), "\(method.path)")
            if request != other.request(method.requestType) { differs = true }
        }
        #expect(differs)
    }
}

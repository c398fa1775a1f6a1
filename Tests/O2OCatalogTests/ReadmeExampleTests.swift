import Foundation
import O2OClient
import O2OServiceTestSupport
import Testing

/// The README's client example, run against the demo shop. The test also checks that
/// the README still shows exactly this code, so the example an integrator pastes works.
@Suite("README client example")
struct ReadmeExampleTests {
    @Test("the example runs against the demo data and matches the README")
    func example() async throws {
        try await ServiceHarness.run(.memory, demo: true) { harness in
            let port = try #require(harness.port)
            // README example begins
            // One connection; calls run concurrently over it. The token is only needed when the
            // server has a token file; pass tls: O2OClientTLS() for a TLS server.
            try await withO2OClient(host: "127.0.0.1", port: port, timeout: .seconds(5)) { client in
                // Search the on-shelf products of a brand, cheapest first, 20 per page.
                let page = try await client.catalog.searchProducts(
                    SearchProductsRequest(
                        keyword: "蒙牛",
                        statuses: [.onShelf],
                        sort: .price,
                        page: PageRequest(pageSize: 20)
                    )
                )
                for hit in page.hits {
                    print(hit.product!.name, hit.minPrice!.minorUnits)
                }

                // Per-call deadline and metadata.
                let options = RPCCallOptions(
                    timeout: .seconds(2),
                    metadata: RPCMetadata(["x-caller": "pricing-job"])
                )
                let product = try await client.catalog.getProduct(
                    GetProductRequest(productID: page.hits[0].product!.id),
                    options: options
                )

                // Mutations carry a request id: sending the same request again (after a timeout,
                // say) returns the first answer and changes nothing twice.
                do {
                    _ = try await client.catalog.updateProduct(
                        UpdateProductRequest(
                            requestID: "reprice-2026-11-25-\(product.id)",
                            productID: product.id,
                            tags: CatalogStringList(values: ["促销"])
                        )
                    )
                } catch let error as RPCError {
                    // A status code and a message that names the field, e.g.
                    // INVALID_ARGUMENT: tags.values[0]: must not be empty
                    print(error.code, error.message)
                }

                // Client streaming: import products row by row; valid rows are committed and every
                // invalid one is reported with its row number, field and reason.
                let report = try await client.catalog.importProducts { writer in
                    try await writer.write(ImportProductsRequest(requestID: "import-2026-11-25", mode: .upsert))
                    try await writer.write(
                        ImportProductsRequest(row: ProductImportRow(rowNumber: 1, product: ProductSpec(name: "…")))
                    )
                }
                print(report.importedRows, report.errors.map { "\($0.rowNumber) \($0.field): \($0.reason)" })
            }
            // README example ends

            // What the example did, checked.
            let page = try await harness.client.catalog.searchProducts(
                SearchProductsRequest(keyword: "蒙牛", statuses: [.onShelf], sort: .price)
            )
            #expect(!page.hits.isEmpty && page.hits.allSatisfy { $0.product!.brand == "蒙牛" })
            let tagged = try await harness.client.catalog.getProduct(
                GetProductRequest(productID: page.hits[0].product!.id)
            )
            #expect(tagged.tags == ["促销"])
        }

        let source = try String(contentsOfFile: #filePath, encoding: .utf8)
        let readme = try String(
            contentsOfFile: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("README.md").path,
            encoding: .utf8
        )
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        let begin = try #require(lines.firstIndex { $0.hasSuffix("// README example begins") })
        let end = try #require(lines.firstIndex { $0.hasSuffix("// README example ends") })
        let indent = lines[begin].prefix { $0 == " " }.count
        let tested = lines[(begin + 1)..<end].map { $0.dropFirst(min(indent, $0.prefix { $0 == " " }.count)) }
            .joined(separator: "\n").replacingOccurrences(of: "port: port", with: "port: 7070")
        #expect(
            readme.contains("```swift\nimport O2OClient\n\n" + tested + "\n```"),
            "README's client example differs from this test's"
        )
    }
}

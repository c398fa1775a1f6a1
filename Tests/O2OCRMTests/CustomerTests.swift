import Foundation
import O2OClient
import O2OServiceTestSupport
import O2OTestSupport
import Testing

@Suite("CRM customers and personal data")
struct CustomerTests {
    @Test(
        "phones and emails are normalised: a reformatted duplicate is refused, and found",
        arguments: StoreKind.allCases
    )
    func contacts(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let customer = try await harness.customer("张伟", phone: "+86 138-0013-8000", email: "Zhang.Wei@Example.COM")
            #expect(customer.phone == "+8613800138000" && customer.email == "zhang.wei@example.com")
            for phone in ["13800138000", "0086 138 0013 8000", "+8613800138000", "(+86) 138.0013.8000"] {
                await expectStatus(.alreadyExists, containing: "phone") {
                    _ = try await harness.customer("李娜", phone: phone)
                }
                let found = try await harness.crm.findCustomerByContact(
                    FindCustomerByContactRequest(contact: .phone(phone))
                )
                #expect(found.id == customer.id)
            }
            await expectStatus(.alreadyExists, containing: "email") {
                _ = try await harness.customer("李娜", email: "ZHANG.WEI@example.com")
            }
            let byEmail = try await harness.crm.findCustomerByContact(
                FindCustomerByContactRequest(contact: .email("zhang.WEI@EXAMPLE.com"))
            )
            #expect(byEmail.id == customer.id)
            await expectStatus(.notFound) {
                _ = try await harness.crm.findCustomerByContact(
                    FindCustomerByContactRequest(contact: .phone("13900000000"))
                )
            }
            // Neither phone nor email; a malformed number; a landline is fine.
            await expectStatus(.invalidArgument, containing: "phone or an email") {
                _ = try await harness.crm.createCustomer(CreateCustomerRequest(requestID: rid(), displayName: "x"))
            }
            await expectStatus(.invalidArgument, containing: "phone") {
                _ = try await harness.customer("x", phone: "12345")
            }
            await expectStatus(.invalidArgument, containing: "11 digits") {
                _ = try await harness.customer("x", phone: "+86 138 0013 800")
            }
            let landline = try await harness.customer("北京门店", phone: "+86 10 6552 9988")
            #expect(landline.phone == "+861065529988")
            // A retry with the same request id returns the first customer.
            let request = CreateCustomerRequest(requestID: rid(), displayName: "王芳", phone: "13911112222")
            let first = try await harness.crm.createCustomer(request)
            #expect(try await harness.crm.createCustomer(request).id == first.id)
        }
    }

    @Test("updates, tags and consent: present fields change, bad input names the field", arguments: StoreKind.allCases)
    func updates(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let customer = try await harness.customer(tags: ["vip"])
            let renamed = try await harness.crm.updateCustomer(
                UpdateCustomerRequest(
                    requestID: rid(),
                    customerID: customer.id,
                    displayName: "赵敏",
                    email: "zhao.min@example.com",
                    expectedVersion: customer.version
                )
            )
            #expect(renamed.displayName == "赵敏" && renamed.version == customer.version + 1)
            await expectStatus(.failedPrecondition, containing: "version") {
                _ = try await harness.crm.updateCustomer(
                    UpdateCustomerRequest(
                        requestID: rid(),
                        customerID: customer.id,
                        displayName: "x",
                        expectedVersion: 1
                    )
                )
            }
            await expectStatus(.invalidArgument, containing: "phone or an email") {
                _ = try await harness.crm.updateCustomer(
                    UpdateCustomerRequest(requestID: rid(), customerID: customer.id, phone: "", email: "")
                )
            }
            let tagged = try await harness.crm.updateCustomerTags(
                UpdateCustomerTagsRequest(
                    requestID: rid(),
                    customerID: customer.id,
                    addTags: ["wholesale", "vip"],
                    removeTags: []
                )
            )
            #expect(tagged.tags == ["vip", "wholesale"])
            await expectStatus(.invalidArgument, containing: "add_tags") {
                _ = try await harness.crm.updateCustomerTags(
                    UpdateCustomerTagsRequest(
                        requestID: rid(),
                        customerID: customer.id,
                        addTags: ["x"],
                        removeTags: ["x"]
                    )
                )
            }
            await expectStatus(.invalidArgument, containing: "add_tags[0]") {
                _ = try await harness.crm.updateCustomerTags(
                    UpdateCustomerTagsRequest(requestID: rid(), customerID: customer.id, addTags: ["Not OK"])
                )
            }
            let consented = try await harness.crm.setCustomerConsent(
                SetCustomerConsentRequest(
                    requestID: rid(),
                    customerID: customer.id,
                    purpose: .marketingSms,
                    granted: true,
                    source: "app"
                )
            )
            #expect(consented.consents.map(\.purpose) == [.marketingSms] && consented.consents[0].granted)
            await expectStatus(.invalidArgument, containing: "purpose") {
                _ = try await harness.crm.setCustomerConsent(
                    SetCustomerConsentRequest(requestID: rid(), customerID: customer.id, purpose: .unrecognized(99))
                )
            }
            await expectStatus(.notFound, containing: "home_store_id") {
                _ = try await harness.crm.updateCustomer(
                    UpdateCustomerRequest(requestID: rid(), customerID: customer.id, homeStoreID: "loc_nowhere")
                )
            }
            let listed = try await harness.crm.listCustomers(ListCustomersRequest(tag: "wholesale"))
            #expect(listed.customers.map(\.id) == [customer.id])
            let byName = try await harness.crm.listCustomers(ListCustomersRequest(displayNamePrefix: "赵"))
            #expect(byName.customers.map(\.id) == [customer.id])
        }
    }

    @Test("readonly callers get personal data masked; admin and service see it in full")
    func masking() async throws {
        let tokens: [String: RPCPrincipal] = [
            "admin-token-0123456789": RPCPrincipal(name: "ops", role: .admin),
            "service-token-0123456789": RPCPrincipal(name: "pos", role: .service),
            "readonly-token-0123456789": RPCPrincipal(name: "dashboard", role: .readonly),
        ]
        try await ServiceHarness.run(.memory, tokens: tokens) { harness in
            let customer = try await harness.customer("张伟", phone: "13800138000", email: "zhang.wei@example.com")
            let address = try await harness.crm.createCustomerAddress(
                CreateCustomerAddressRequest(
                    requestID: rid(),
                    customerID: customer.id,
                    label: "home",
                    address: PostalAddress(
                        countryCode: "CN",
                        province: "上海市",
                        city: "上海市",
                        district: "浦东新区",
                        street: "张江路 88 号 12 室",
                        recipientName: "张伟",
                        recipientPhone: "13800138000"
                    )
                )
            )
            _ = try await harness.crm.addInteractionNote(
                AddInteractionNoteRequest(
                    requestID: rid(),
                    customerID: customer.id,
                    channel: .phone,
                    text: "他的新地址是张江路 88 号"
                )
            )
            try await harness.withClient(token: "service-token-0123456789") { service in
                let seen = try await service.crm.getCustomer(GetCustomerRequest(customerID: customer.id))
                #expect(seen.phone == "+8613800138000" && seen.email == "zhang.wei@example.com")
            }
            try await harness.withClient(token: "readonly-token-0123456789") { readonly in
                let seen = try await readonly.crm.getCustomer(GetCustomerRequest(customerID: customer.id))
                #expect(seen.phone == "+86138****8000" && seen.email == "z***@example.com" && seen.birthday == nil)
                let addresses = try await readonly.crm.listCustomerAddresses(
                    ListCustomerAddressesRequest(customerID: customer.id)
                ).addresses
                #expect(addresses.map(\.id) == [address.id])
                #expect(
                    addresses[0].address
                        == PostalAddress(countryCode: "CN", province: "上海市", city: "上海市", district: "浦东新区")
                )
                let notes = try await readonly.crm.listInteractionNotes(
                    ListInteractionNotesRequest(customerID: customer.id)
                )
                #expect(notes.notes.map(\.text) == ["(hidden)"])
                let view = try await readonly.crm.getCustomer360(GetCustomer360Request(customerID: customer.id))
                #expect(view.customer?.phone == "+86138****8000")
                let listed = try await readonly.crm.listCustomers(ListCustomersRequest())
                #expect(listed.customers.allSatisfy { !$0.phone.contains("00138000") })
                // Readonly cannot change anything.
                await expectStatus(.permissionDenied) {
                    _ = try await readonly.crm.updateCustomer(
                        UpdateCustomerRequest(requestID: rid(), customerID: customer.id, displayName: "x")
                    )
                }
            }
        }
    }

    @Test(
        "no personal value reaches the log, even at trace level, over a whole scenario",
        arguments: StoreKind.allCases
    )
    func nothingLogged(kind: StoreKind) async throws {
        let log = CapturedLog()
        let secrets = ["13800138000", "zhang.wei@example.com", "Zhang.Wei", "张江路 88 号", "密码是 1234 的客户"]
        try await ServiceHarness.run(kind, logger: log.logger) { harness in
            let customer = try await harness.crm.createCustomer(
                CreateCustomerRequest(
                    requestID: rid(),
                    displayName: "测试",
                    phone: "+86 138-0013-8000",
                    email: "Zhang.Wei@example.com",
                    birthday: CalendarDate(year: 1988, month: 8, day: 13)
                )
            )
            // Failures that concern the personal values must not repeat them.
            await expectStatus(.alreadyExists) { _ = try await harness.customer("x", phone: "13800138000") }
            await expectStatus(.alreadyExists) { _ = try await harness.customer("x", email: "zhang.wei@example.com") }
            await expectStatus(.notFound) {
                _ = try await harness.crm.findCustomerByContact(
                    FindCustomerByContactRequest(contact: .email("no.one@example.com"))
                )
            }
            _ = try await harness.crm.findCustomerByContact(
                FindCustomerByContactRequest(contact: .phone("13800138000"))
            )
            let address = try await harness.crm.createCustomerAddress(
                CreateCustomerAddressRequest(
                    requestID: rid(),
                    customerID: customer.id,
                    address: PostalAddress(
                        countryCode: "CN",
                        province: "上海市",
                        city: "上海市",
                        street: "张江路 88 号",
                        recipientPhone: "13800138000"
                    )
                )
            )
            await expectStatus(.invalidArgument) {
                _ = try await harness.crm.updateCustomerAddress(
                    UpdateCustomerAddressRequest(
                        requestID: rid(),
                        addressID: address.id,
                        address: PostalAddress(countryCode: "CN", province: "上海市", street: "张江路 88 号")
                    )
                )
            }
            _ = try await harness.crm.addInteractionNote(
                AddInteractionNoteRequest(
                    requestID: rid(),
                    customerID: customer.id,
                    channel: .phone,
                    text: "密码是 1234 的客户"
                )
            )
            _ = try await harness.crm.getCustomer360(GetCustomer360Request(customerID: customer.id))
            _ = try await harness.crm.eraseCustomer(
                EraseCustomerRequest(requestID: rid(), customerID: customer.id, reason: "ticket 42")
            )
        }
        let text = log.text
        #expect(text.contains("CreateCustomer"), "the log was captured")
        for secret in secrets { #expect(!text.contains(secret), "'\(secret)' appears in the log") }
    }

    @Test(
        "erasure wipes personal data from every read path, frees the contacts, keeps ids and ledgers",
        arguments: StoreKind.allCases
    )
    func erasure(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            try await harness.tiers()
            let customer = try await harness.customer(
                "张伟",
                phone: "13800138000",
                email: "zhang.wei@example.com",
                tags: ["vip"]
            )
            let address = try await harness.crm.createCustomerAddress(
                CreateCustomerAddressRequest(
                    requestID: rid(),
                    customerID: customer.id,
                    address: PostalAddress(countryCode: "CN", province: "上海市", city: "上海市", street: "张江路 88 号")
                )
            )
            _ = try await harness.crm.addInteractionNote(
                AddInteractionNoteRequest(
                    requestID: rid(),
                    customerID: customer.id,
                    channel: .inStore,
                    text: "张伟说他住张江路"
                )
            )
            try await harness.complete(customer.id, paying: 12_000)
            let erase = EraseCustomerRequest(requestID: rid(), customerID: customer.id, reason: "PIPL request 2026-12")
            let erased = try await harness.crm.eraseCustomer(erase)
            #expect(
                erased.status == .erased && erased.phone.isEmpty && erased.email.isEmpty
                    && erased.displayName == "(erased)"
            )
            #expect(try await harness.crm.eraseCustomer(erase) == erased, "a retry returns the same record")
            let again = try await harness.crm.eraseCustomer(
                EraseCustomerRequest(requestID: rid(), customerID: customer.id, reason: "again")
            )
            #expect(again.version == erased.version, "erasing twice changes nothing")
            // No read path shows the data.
            let read = try await harness.crm.getCustomer(GetCustomerRequest(customerID: customer.id))
            #expect(read.phone.isEmpty && read.email.isEmpty && read.birthday == nil)
            await expectStatus(.notFound) {
                _ = try await harness.crm.findCustomerByContact(
                    FindCustomerByContactRequest(contact: .phone("13800138000"))
                )
            }
            await expectStatus(.notFound) {
                _ = try await harness.crm.getCustomerAddress(GetCustomerAddressRequest(addressID: address.id))
            }
            #expect(
                try await harness.crm.listCustomerAddresses(ListCustomerAddressesRequest(customerID: customer.id))
                    .addresses.isEmpty
            )
            let notes = try await harness.crm.listInteractionNotes(ListInteractionNotesRequest(customerID: customer.id))
                .notes
            #expect(notes.count == 1 && notes[0].text.isEmpty)
            #expect(try await harness.crm.listCustomers(ListCustomersRequest(displayNamePrefix: "张")).customers.isEmpty)
            #expect(
                try await harness.crm.listCustomers(ListCustomersRequest()).customers.allSatisfy {
                    $0.id != customer.id
                }
            )
            let all = try await harness.crm.listCustomers(ListCustomersRequest(status: .erased)).customers
            #expect(all.map(\.id) == [customer.id])
            // The ledger stays; the record cannot change any more.
            #expect(
                try await harness.crm.listPointsEntries(ListPointsEntriesRequest(customerID: customer.id)).entries.count
                    == 1
            )
            await expectStatus(.failedPrecondition, containing: "erased") {
                _ = try await harness.crm.updateCustomer(
                    UpdateCustomerRequest(requestID: rid(), customerID: customer.id, displayName: "x")
                )
            }
            // The phone and email are free for a new registration.
            let newcomer = try await harness.customer("新顾客", phone: "13800138000", email: "zhang.wei@example.com")
            #expect(newcomer.id != customer.id)
            try await harness.expectPointsConsistent()
        }
    }

    @Test(
        "addresses: the first is the default, at most 20, deleting the default clears it",
        arguments: StoreKind.allCases
    )
    func addresses(kind: StoreKind) async throws {
        try await ServiceHarness.run(kind) { harness in
            let customer = try await harness.customer()
            func add(_ street: String, makeDefault: Bool = false) async throws -> CustomerAddress {
                try await harness.crm.createCustomerAddress(
                    CreateCustomerAddressRequest(
                        requestID: rid(),
                        customerID: customer.id,
                        address: PostalAddress(countryCode: "CN", province: "浙江省", city: "杭州市", street: street),
                        makeDefault: makeDefault
                    )
                )
            }
            let first = try await add("文三路 1 号")
            #expect(first.isDefault)
            let second = try await add("文三路 2 号", makeDefault: true)
            let listed = try await harness.crm.listCustomerAddresses(
                ListCustomerAddressesRequest(customerID: customer.id)
            ).addresses
            #expect(listed.map(\.id) == [second.id, first.id] && listed.map(\.isDefault) == [true, false])
            #expect(
                try await harness.crm.getCustomer(GetCustomerRequest(customerID: customer.id)).defaultAddressID
                    == second.id
            )
            await expectStatus(.invalidArgument, containing: "address.street") {
                _ = try await harness.crm.createCustomerAddress(
                    CreateCustomerAddressRequest(
                        requestID: rid(),
                        customerID: customer.id,
                        address: PostalAddress(countryCode: "CN", province: "浙江省", city: "杭州市")
                    )
                )
            }
            for index in 3...20 { _ = try await add("文三路 \(index) 号") }
            await expectStatus(.resourceExhausted) { _ = try await add("文三路 21 号") }
            _ = try await harness.crm.deleteCustomerAddress(
                DeleteCustomerAddressRequest(requestID: rid(), addressID: second.id)
            )
            #expect(
                try await harness.crm.getCustomer(GetCustomerRequest(customerID: customer.id)).defaultAddressID.isEmpty
            )
        }
    }
}

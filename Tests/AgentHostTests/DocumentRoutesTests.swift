import AgentHostTesting
import AsyncHTTPClient
import ChatBridge
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import AgentHost

/// A minimal valid PDF with one page and one text object, with a correct cross-reference table.
enum TinyPDF {
    static func make(_ text: String) -> [UInt8] {
        let stream = "BT /F1 18 Tf 72 720 Td (\(text)) Tj ET"
        let objects = [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
            "<< /Length \(stream.utf8.count) >>\nstream\n\(stream)\nendstream",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
        var pdf = "%PDF-1.4\n"
        var offsets: [Int] = []
        for (index, object) in objects.enumerated() {
            offsets.append(pdf.utf8.count)
            pdf += "\(index + 1) 0 obj\n\(object)\nendobj\n"
        }
        let xref = pdf.utf8.count
        pdf += "xref\n0 \(objects.count + 1)\n0000000000 65535 f \n"
        for offset in offsets { pdf += String(format: "%010d 00000 n \n", offset) }
        pdf += "trailer\n<< /Size \(objects.count + 1) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n"
        return Array(pdf.utf8)
    }
}

extension TestClientProtocol {
    func upload(_ workspace: String, name: String, mime: String?, data: [UInt8], headers: HTTPFields = [:]) async throws -> TestResponse {
        var body: [String: JSONValue] = ["name": .string(name), "content_base64": .string(Data(data).base64EncodedString())]
        if let mime { body["mime"] = .string(mime) }
        return try await send(.post, "/api/workspaces/\(workspace)/documents", headers: headers, json: JSONValue.object(body).serializedString)
    }

    /// A multipart upload whose file part has the given `Content-Disposition` parameters (after `form-data; name="file"; `).
    func uploadMultipart(_ workspace: String, disposition: String, mime: String, data: [UInt8]) async throws -> TestResponse {
        let boundary = "----agenthost-test-\(UUID().uuidString)"
        var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; \(disposition)\r\nContent-Type: \(mime)\r\n\r\n".utf8)
        body += data
        body += Array("\r\n--\(boundary)--\r\n".utf8)
        return try await execute(uri: "/api/workspaces/\(workspace)/documents", method: .post,
                                 headers: [.contentType: "multipart/form-data; boundary=\(boundary)"], body: ByteBuffer(bytes: body))
    }

    func uploadMultipart(_ workspace: String, filename: String, mime: String, data: [UInt8], extra: [String: String] = [:]) async throws -> TestResponse {
        let boundary = "----agenthost-test-\(UUID().uuidString)"
        var body: [UInt8] = []
        for (key, value) in extra {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(key)\"\r\n\r\n\(value)\r\n".utf8)
        }
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"\r\nContent-Type: \(mime)\r\n\r\n".utf8)
        body += data
        body += Array("\r\n--\(boundary)--\r\n".utf8)
        return try await execute(uri: "/api/workspaces/\(workspace)/documents", method: .post,
                                 headers: [.contentType: "multipart/form-data; boundary=\(boundary)"], body: ByteBuffer(bytes: body))
    }
}

@Suite("Documents API")
struct DocumentRoutesTests {
    @Test func uploadsEveryTypeAndReadsThemBack() async throws {
        let harness = try await TestHarness()
        try await harness.addWorkspace("Docs")
        try await harness.test { client in
            let uploads: [(String, String?, [UInt8], String, String)] = [
                ("notes.txt", "text/plain", Array("Plain words about otters.".utf8), "text/plain", "otters"),
                ("guide.md", nil, Array("# Guide\n\nMarkdown about beavers.".utf8), "text/markdown", "beavers"),
                ("page.html", "text/html", Array("<h1>Title</h1><script>x()</script><p>Herons &amp; egrets</p>".utf8), "text/html", "Herons & egrets"),
                ("table.csv", "text/csv", Array("animal,legs\nspider,8\n".utf8), "text/csv", "animal: spider"),
                ("data.json", "application/json", Array(#"{"bird": "puffin"}"#.utf8), "application/json", "bird: puffin"),
                ("scan.pdf", "application/pdf", TinyPDF.make("Pelicans fly in lines"), "application/pdf", "Pelicans fly in lines"),
            ]
            var ids: [Int] = []
            for (name, mime, data, expectedMime, expectedText) in uploads {
                let response = try await client.upload("docs", name: name, mime: mime, data: data)
                #expect(response.status == .created, "\(name): \(response.text)")
                let json = try response.json
                #expect(json["name"]?.stringValue == name)
                #expect(json["mime"]?.stringValue == expectedMime)
                #expect(json["size"]?.intValue == data.count)
                #expect(json["pinned"] == false)
                #expect(json["chunks"]?.intValue == 1)
                #expect(json["text"] == nil, "the list and upload answers leave the text out")
                let id = try #require(json["id"]?.intValue)
                ids.append(id)
                let shown = try await client.send(.get, "/api/workspaces/docs/documents/\(id)/")
                #expect(shown.status == .ok)
                #expect(try shown.json["text"]?.stringValue?.contains(expectedText) == true, "\(name): \(shown.text)")
            }
            // Multipart, with the name from a form field.
            let multipart = try await client.uploadMultipart("docs", filename: "raw.md", mime: "text/markdown",
                                                             data: Array("# Heading\n\nMultipart walruses.\r\n".utf8), extra: ["name": "Walruses"])
            #expect(multipart.status == .created, "\(multipart.text)")
            #expect(try multipart.json["name"] == "Walruses")
            let list = try await client.send(.get, "/api/workspaces/docs/documents")
            #expect(try list.json["documents"]?.arrayValue?.count == 7)
            let walrus = try #require(try multipart.json["id"]?.intValue)
            let walrusText = try await client.send(.get, "/api/workspaces/docs/documents/\(walrus)")
            #expect(try walrusText.json["text"]?.stringValue == "# Heading\n\nMultipart walruses.\n")
        }
    }

    @Test func badUploadsAreRefusedAndStoreNothing() async throws {
        let harness = try await TestHarness { $0.documents.maxBytes = 64 }
        try await harness.addWorkspace("Docs")
        try await harness.test { client in
            let empty = try await client.upload("docs", name: "e.txt", mime: "text/plain", data: [])
            #expect(empty.status == .badRequest && empty.errorCode == "validation_failed")
            #expect(try empty.json["error"]?["message"]?.stringValue?.contains("empty") == true)
            let oversize = try await client.upload("docs", name: "big.txt", mime: "text/plain", data: Array(repeating: 65, count: 65))
            #expect(oversize.status == .contentTooLarge && oversize.errorCode == "too_large")
            let wrongType = try await client.upload("docs", name: "p.png", mime: "image/png", data: [0x89, 0x50])
            #expect(wrongType.errorCode == "validation_failed")
            #expect(try wrongType.json["error"]?["message"]?.stringValue?.contains("Unsupported document type 'image/png'") == true)
            let unknownExtension = try await client.upload("docs", name: "archive.zip", mime: nil, data: [1, 2, 3])
            #expect(unknownExtension.errorCode == "validation_failed")
            let brokenPDF = try await client.upload("docs", name: "b.pdf", mime: "application/pdf", data: Array("%PDF-1.4\ngarbage".utf8))
            #expect(brokenPDF.errorCode == "validation_failed", "\(brokenPDF.text)")
            let notPDF = try await client.upload("docs", name: "n.pdf", mime: "application/pdf", data: Array("hello".utf8))
            #expect(notPDF.errorCode == "validation_failed")
            let badBase64 = try await client.send(.post, "/api/workspaces/docs/documents",
                                                  json: #"{"name": "x.txt", "mime": "text/plain", "content_base64": "!!!"}"#)
            #expect(badBase64.errorCode == "validation_failed")
            let missing = try await client.send(.post, "/api/workspaces/docs/documents", json: #"{"name": "x.txt"}"#)
            #expect(missing.errorCode == "validation_failed")
            let noWorkspace = try await client.upload("nope", name: "a.txt", mime: "text/plain", data: [65])
            #expect(noWorkspace.errorCode == "not_found")
        }
        let counts = try await harness.store.writer.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM documents")!, try Int.fetchOne(db, sql: "SELECT count(*) FROM document_chunks")!)
        }
        #expect(counts == (0, 0))
    }

    @Test func multipartFilenamesLoseTheirPathAndMayBeRFC5987() async throws {
        let harness = try await TestHarness()
        try await harness.addWorkspace("Docs")
        try await harness.test { client in
            let windows = try await client.uploadMultipart("docs", disposition: #"filename="C:\Users\ana\report.csv""#,
                                                           mime: "application/vnd.ms-excel", data: Array("city,country\nParis,France\n".utf8))
            #expect(windows.status == .created, "\(windows.text)")
            #expect(try windows.json["name"] == "report.csv")
            #expect(try windows.json["mime"] == "text/csv", "the known extension wins over an unsupported declared type")
            let relative = try await client.uploadMultipart("docs", filename: "../../etc/notes.md", mime: "text/markdown",
                                                            data: Array("# Notes\n\nText.".utf8))
            #expect(try relative.json["name"] == "notes.md")
            let extended = try await client.uploadMultipart(
                "docs", disposition: #"filename="EUR rates.md"; filename*=UTF-8''%E2%82%AC%20rates%3B%202025.md"#,
                mime: "application/octet-stream", data: Array("# Rates\n\nOne euro.".utf8))
            #expect(extended.status == .created, "\(extended.text)")
            #expect(try extended.json["name"] == "€ rates; 2025.md")
            #expect(try extended.json["mime"] == "text/markdown")
            let onlyDirectory = try await client.uploadMultipart("docs", filename: "../", mime: "text/plain", data: Array("x".utf8))
            #expect(onlyDirectory.errorCode == "validation_failed", "\(onlyDirectory.text)")
        }
    }

    @Test func multipartHeaderParameters() throws {
        let disposition = #"form-data; name="file"; filename="a;b=c \"q\".md"; filename*=utf-8'en'%C3%A9t%C3%A9.md"#
        #expect(MultipartForm.parameter("name", in: disposition) == "file")
        #expect(MultipartForm.parameter("filename", in: disposition) == #"a;b=c "q".md"#)
        #expect(MultipartForm.parameter("filename*", in: disposition).flatMap(MultipartForm.decodeExtended) == "été.md")
        #expect(MultipartForm.decodeExtended("ISO-8859-1''caf%E9.txt") == "café.txt")
        #expect(MultipartForm.decodeExtended("UTF-8''%FF.txt") == nil, "not UTF-8")
        #expect(MultipartForm.decodeExtended("no-quotes.txt") == nil)
        #expect(MultipartForm.parameter("boundary", in: "multipart/form-data; boundary=xyz") == "xyz")
        #expect(MultipartForm.baseName(#"C:\x\a.md"#) == "a.md")
        #expect(MultipartForm.baseName("../a.md") == "a.md")
        #expect(MultipartForm.baseName("/tmp/") == "tmp")
        #expect(MultipartForm.baseName("..") == "")
    }

    @Test func jsonUploadsMayReachTheDocumentLimit() async throws {
        // A body limit far below the base64 of the largest document: the upload route reads up to
        // what the largest document needs in JSON, so the document limit is what refuses.
        let harness = try await TestHarness { $0.maxBodySize = 1024; $0.documents.maxBytes = 4096 }
        try await harness.addWorkspace("Docs")
        #expect(DocumentsController.uploadLimit(bodyLimit: 1024, maxDocumentBytes: 4096) == 5464 + 65_536)
        #expect(DocumentsController.uploadLimit(bodyLimit: 1 << 30, maxDocumentBytes: 4096) == 1 << 30)
        func request(_ method: HTTPRequest.Method, _ path: String) -> Request {
            Request(head: HTTPRequest(method: method, scheme: "http", authority: "localhost", path: path), body: .init(buffer: ByteBuffer()))
        }
        #expect(DocumentsController.isUpload(request(.post, "/api/workspaces/docs/documents")))
        #expect(DocumentsController.isUpload(request(.post, "/api/workspaces/docs/documents/?x=1")))
        #expect(!DocumentsController.isUpload(request(.get, "/api/workspaces/docs/documents")))
        #expect(!DocumentsController.isUpload(request(.post, "/api/workspaces/docs/threads")))
        #expect(!DocumentsController.isUpload(request(.patch, "/api/workspaces/docs/documents/3")))
        #expect(!DocumentsController.isUpload(request(.post, "/api/workspaces/docs/notes/documents")))
        #expect(!DocumentsController.isUpload(request(.post, "/v1/documents")))
        try await harness.testLive { client in
            let port = try #require(client.port)
            // Streamed without Content-Length (chunked), so only the route's own limit applies.
            func post(_ body: [UInt8]) async throws -> (status: UInt, json: JSONValue) {
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/workspaces/docs/documents")
                request.method = .POST
                request.headers.add(name: "content-type", value: "application/json")
                let parts = stride(from: 0, to: body.count, by: 4096).map { ByteBuffer(bytes: body[$0..<min($0 + 4096, body.count)]) }
                let stream = AsyncStream<ByteBuffer> { continuation in
                    for part in parts { continuation.yield(part) }
                    continuation.finish()
                }
                request.body = .stream(stream, length: .unknown)
                let response = try await TestHarness.httpClient.execute(request, timeout: .seconds(20))
                let bytes = try await response.body.collect(upTo: 1 << 20)
                return (response.status.code, try JSONValue(parsing: bytes.readableBytesView))
            }
            func upload(_ size: Int) -> [UInt8] {
                let content = Data(repeating: UInt8(ascii: "a"), count: size).base64EncodedString()
                return JSONValue.object(["name": "big.txt", "mime": "text/plain", "content_base64": .string(content)]).serialized()
            }
            let largest = try await post(upload(4096))
            #expect(largest.status == 201, "\(largest.json)")
            #expect(largest.json["size"] == 4096)
            let over = try await post(upload(4097))
            #expect(over.status == 413)
            #expect(over.json["error"]?["code"] == "too_large")
            #expect(over.json["error"]?["message"]?.stringValue?.contains("the limit is 4096 bytes") == true, "\(over.json)")
            let huge = try await post(Array(repeating: UInt8(ascii: " "), count: 80_000))
            #expect(huge.status == 413)
            #expect(huge.json["error"]?["code"] == "too_large")
            #expect(huge.json["error"]?["message"]?.stringValue?.contains("A document may be at most 4096 bytes") == true, "\(huge.json)")
        }
        // With Content-Length too: RequestMiddleware lets uploads through to the route's own limit,
        // so a document of the maximum size fits in the JSON form although its base64 exceeds --max-body-size.
        try await harness.test { client in
            let content = Data(repeating: UInt8(ascii: "a"), count: 4096).base64EncodedString()
            let response = try await client.send(.post, "/api/workspaces/docs/documents",
                                                 json: #"{"name": "big.txt", "mime": "text/plain", "content_base64": "\#(content)"}"#)
            #expect(response.status == .created, "\(response.text)")
        }
    }

    @Test func missingPdftotextIsNamedInTheError() async throws {
        let missing = await #expect(throws: APIError.self) {
            var budget = ExtractedTextBudget(name: "a.pdf", uploadBytes: 1, ratio: 1, maxTextBytes: 1 << 20)
            _ = try await DocumentExtractor.pdfText(TinyPDF.make("x"), name: "a.pdf", tool: "/nonexistent/pdftotext", budget: &budget)
        }
        #expect(missing?.code == .validationFailed)
        #expect(missing?.message.contains("'pdftotext'") == true && missing?.message.contains("poppler-utils") == true)
    }

    @Test func pinDeleteAndOwnership() async throws {
        let harness = try await TestHarness()
        let ana = try await harness.addUser("ana")
        let bob = try await harness.addUser("bob")
        let admin = try await harness.addUser("root", role: .admin)
        let workspace = try await harness.addWorkspace("Docs")
        try await harness.test { client in
            let anaHeaders = try await harness.headers(for: ana)
            let bobHeaders = try await harness.headers(for: bob)
            let created = try await client.upload("docs", name: "otters.md", mime: "text/markdown",
                                                  data: Array("Otters hold hands while sleeping.".utf8), headers: anaHeaders)
            let id = try #require(try created.json["id"]?.intValue)
            #expect(try created.json["user_id"]?.intValue == Int(ana.id!))
            // Bob sees nothing of it; the admin sees it.
            #expect(try await client.send(.get, "/api/workspaces/docs/documents", headers: bobHeaders).json["documents"] == [])
            #expect(try await client.send(.get, "/api/workspaces/docs/documents/\(id)", headers: bobHeaders).errorCode == "not_found")
            #expect(try await client.send(.patch, "/api/workspaces/docs/documents/\(id)", headers: bobHeaders, json: #"{"pinned": true}"#).errorCode == "not_found")
            #expect(try await client.send(.delete, "/api/workspaces/docs/documents/\(id)", headers: bobHeaders).errorCode == "not_found")
            #expect(try await client.send(.get, "/api/workspaces/docs/documents/\(id)", headers: try await harness.headers(for: admin)).status == .ok)

            let pinned = try await client.send(.patch, "/api/workspaces/docs/documents/\(id)/", headers: anaHeaders, json: #"{"pinned": true}"#)
            #expect(try pinned.json["pinned"] == true)
            #expect(try await client.send(.patch, "/api/workspaces/docs/documents/\(id)", headers: anaHeaders, json: "{}").errorCode == "validation_failed")
            let retriever = harness.dependencies.retriever
            #expect(try await retriever.retrieve(query: "anything", workspace: workspace, ownerId: ana.id).chunks.map(\.pinned) == [true])

            let deleted = try await client.send(.delete, "/api/workspaces/docs/documents/\(id)", headers: anaHeaders)
            #expect(deleted.status == .noContent)
            #expect(try await retriever.retrieve(query: "otters sleeping", workspace: workspace, ownerId: ana.id).chunks.isEmpty)
            #expect(try await client.send(.get, "/api/workspaces/docs/documents/\(id)", headers: anaHeaders).errorCode == "not_found")
        }
    }
}

@Suite("Documents in chats")
struct DocumentChatTests {
    @Test func queryModeRefusesWithoutAMatchAndAnswersWithSourcesWithOne() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Docs") { $0.chatMode = .query; $0.queryRefusalResponse = "Not in the documents." }
            await upstream.enqueue(VendorStream.openAI(tokens: ["Twenty-five", " days."]))
            try await harness.test { client in
                let uploaded = try await client.upload("docs", name: "handbook.md", mime: "text/markdown",
                                                       data: Array("# Holidays\n\nEmployees get 25 days of paid holiday per year.".utf8))
                let documentId = try #require(try uploaded.json["id"]?.intValue)

                let refused = try await client.send(.post, "/api/chats/stream_chat", json: #"{"message": "Who won the football cup?", "workspace": "docs"}"#)
                #expect(refused.frames.map { $0["type"] } == ["chat_start", "chat_token", "chat_complete"])
                #expect(refused.frames.last?["response"] == "Not in the documents.")
                #expect(await upstream.exchanges.isEmpty)

                let answered = try await client.send(.post, "/api/chats/stream_chat", json: #"{"message": "How many holiday days do employees get?", "workspace": "docs"}"#)
                let frames = answered.frames
                #expect(frames.map { $0["type"] } == ["chat_start", "chat_token", "chat_token", "sources", "chat_complete"])
                let sources = try #require(frames[3]["sources"]?.arrayValue)
                #expect(sources.count == 1)
                #expect(sources[0]["title"] == "handbook.md")
                #expect(sources[0]["document_id"]?.intValue == documentId)
                #expect(sources[0]["chunk"]?.stringValue == "Employees get 25 days of paid holiday per year.")
                #expect(sources[0]["score"]?.doubleValue == 1)
                // The model saw the passage, and only it (query mode: no history).
                let messages = try #require(await upstream.exchanges.first?.body["messages"]?.arrayValue)
                #expect(messages.count == 2)
                // The passage comes with the heading it sits under.
                #expect(messages[0]["content"]?.stringValue?.contains("[1] handbook.md › Holidays\nEmployees get 25 days") == true)
                // Stored with the chat, and shown in history.
                let dbId = try #require(frames[4]["db_id"]?.intValue)
                let stored = try #require(try await harness.store.chat(id: Int64(dbId), viewer: .singleUser)?.chat)
                #expect(stored.sources == [ChatSource(title: "handbook.md", chunk: "Employees get 25 days of paid holiday per year.",
                                                      score: 1, documentId: Int64(documentId))])
                let history = try await client.send(.get, "/api/chats/history?workspace=docs")
                #expect(try history.json["history"]?.arrayValue?.last?["sources"]?.arrayValue?.first?["title"] == "handbook.md")
            }
        }
    }

    @Test func chatModeAddsPassagesToThePrompt() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Docs")
            try await harness.test { client in
                _ = try await client.upload("docs", name: "wifi.txt", mime: "text/plain", data: Array("The wifi password is hunter2.".utf8))
                let response = try await client.send(.post, "/api/chats/stream_chat", json: #"{"message": "what is the wifi password", "workspace": "docs"}"#)
                #expect(response.frames.contains { $0["type"] == "sources" })
                let system = try #require(await upstream.exchanges.first?.body["messages"]?.arrayValue?.first?["content"]?.stringValue)
                #expect(system.contains("hunter2"))
            }
        }
    }
}

@Suite("Document embeddings")
struct DocumentEmbeddingsTests {
    @Test func openAIEmbeddingsFormatOverARealSocketAndHybridSearch() async throws {
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            let settings = EmbeddingsSettings(baseURL: await upstream.baseURL + "/v1", model: "fake-embed", apiKey: "k", batchSize: 2)
            let embedder = OpenAIEmbeddings(settings: settings, client: TestHarness.httpClient)
            // Three inputs in two batches come back in order, as the local function computes them.
            let inputs = ["red kite", "otter", "colourful birds"]
            let vectors = try await embedder.embed(inputs)
            let local = HashingEmbedder(dimensions: 64)
            #expect(vectors.count == 3)
            for (vector, input) in zip(vectors, inputs) {
                #expect(zip(vector, local.vector(input)).allSatisfy { abs($0 - $1) < 1e-6 })
            }

            // Uploads through the API are embedded with the retriever's model; search fuses both rankings.
            let database = try AppDatabase.inMemory()
            let retriever = DocumentRetriever(store: SQLiteDocumentStore(writer: database), embedder: embedder)
            let dependencies = Dependencies(database: database, httpClient: TestHarness.httpClient, tools: try TestHarness.tools(),
                                            retriever: retriever)
            var configuration = AgentHost.Configuration()
            configuration.jwtSecret = TestHarness.secret
            let store = dependencies.chats as! SQLiteStore
            let workspace = try await store.createWorkspace(Workspace(name: "Birds", slug: "", topN: 5, similarityThreshold: 0.3) as Workspace)
            var logger = Logger(label: "test")
            logger.logLevel = .warning
            let app = try await buildApplication(configuration: configuration, dependencies: dependencies, logger: logger)
            try await app.test(.router) { client in
                for (name, text) in [("a.txt", "Colourful kingfishers dive for fish."), ("b.txt", "Trains leave the station hourly.")] {
                    let response = try await client.upload("birds", name: name, mime: "text/plain", data: Array(text.utf8))
                    #expect(response.status == .created, "\(response.text)")
                }
            }
            let models = try await database.read { db in try String.fetchAll(db, sql: "SELECT embedding_model FROM document_chunks") }
            #expect(models == ["fake-embed", "fake-embed"])
            // "colourful birds": lexically only "colourful" of two words is there (share 0.28, below the
            // 0.3 threshold); the vectors (the shared word and its trigrams) pass it with cosine ≈ 0.52.
            let lexical = try await retriever.search(query: "colourful birds", workspaceId: workspace.id!, limit: 5, threshold: 0.3, mode: .lexical)
            let hybrid = try await retriever.search(query: "colourful birds", workspaceId: workspace.id!, limit: 5, threshold: 0.3)
            #expect(lexical.isEmpty)
            #expect(hybrid.map(\.documentName) == ["a.txt"])
            #expect(hybrid.first?.lexicalScore.map { $0 > 0.2 && $0 < 0.3 } == true)
            #expect(hybrid.first?.vectorScore.map { $0 > 0.4 } == true)
            #expect(hybrid.first.map { $0.score == $0.vectorScore } == true, "the reported score is the better of the two")
            #expect(!hybrid.contains { $0.documentName == "b.txt" })
        }
    }
}

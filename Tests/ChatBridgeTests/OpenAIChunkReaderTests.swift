import Foundation
import Testing

@testable import ChatBridge

/// ``OpenAIChunkReader`` must give exactly what `JSONDecoder` gave for every chunk it takes, and
/// leave every chunk it does not take (odd or invalid) to `JSONDecoder`.
@Suite("OpenAI chunk reader")
struct OpenAIChunkReaderTests {
    typealias Chunk = OpenAIStreamDecoder.Chunk

    static func decodedByFoundation(_ text: String) -> Chunk? {
        try? JSONDecoder().decode(Chunk.self, from: Data(text.utf8))
    }

    /// Chunks as vendors send them: the reader takes each and reads what JSONDecoder reads.
    static let taken: [String] = [
        #"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","system_fingerprint":null,"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{"content":"tok12 "},"finish_reason":null}]}"#,
        #"{"choices":[{"delta":{"content":"quote \" backslash \\ slash \/ nl \n tab \t cr \r b \b f \f"}}]}"#,
        #"{"choices":[{"delta":{"content":"héllo 日本語 🎉 ß"}}]}"#,
        #"{"choices":[{"delta":{"content":"\u00e9\u65e5\ud83c\udf89\u0000\u001f\u007F"}}]}"#,
        #"{"choices":[{"delta":{"content":""}}]}"#,
        #"{"choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}"#,
        #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\": \"Paris\"}"}}]},"finish_reason":null}]}"#,
        #"{"choices":[{"delta":{"tool_calls":[{"index":1,"id":"b","function":{"name":"x","arguments":"{}"}},{"index":2,"id":null,"function":null}]}}]}"#,
        #"{"choices":[{"delta":{"tool_calls":[{"id":"no-index","function":{"name":"n"}}]}}]}"#,
        #"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
        #"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}"#,
        #"{"id":"x","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":200,"total_tokens":212,"prompt_tokens_details":{"cached_tokens":0}}}"#,
        #"{"usage":{"prompt_tokens":-3,"completion_tokens":null}}"#,
        #"{"error":{"message":"rate limited","type":"requests","code":429,"param":null}}"#,
        #"{"error":{"message":null}}"#,
        #"{"choices":null,"usage":null,"error":null}"#,
        #"{"choices":[{"delta":null,"finish_reason":null}]}"#,
        #"{}"#,
        " \n\t{ \"choices\" : [ { \"delta\" : { \"content\" : \"spaced\" } , \"finish_reason\" : null } ] }\r\n ",
        #"{"x":[1,-2.5e+3,0,0.5,1E9,true,false,null,{"a":[{},[]]},"s\"\u1234"],"choices":[],"y":{"z":{"w":[[[]]]}}}"#,
        #"{"choices":[{"delta":{"content":"a","reasoning_content":"b"},"extra":{"nested":[1,2,3]}}]}"#,
    ]

    @Test(arguments: taken)
    func readsVendorChunksAsJSONDecoderDoes(_ text: String) throws {
        let expected = try #require(Self.decodedByFoundation(text))
        let read = try #require(OpenAIChunkReader.read(text), "the reader should take this chunk")
        #expect(read == expected)
    }

    /// Every ASCII character and a sample of others as a token, escaped the ways servers escape.
    @Test func everyCharacterRoundTrips() throws {
        var scalars = (0...0x7F).compactMap(Unicode.Scalar.init)
        scalars += [0xA0, 0xE9, 0x2028, 0x2029, 0xFEFF, 0xFFFD, 0x1F600, 0x10FFFF].compactMap(Unicode.Scalar.init)
        for scalar in scalars {
            let token = "a" + String(Character(scalar)) + "z"
            var quoted: [UInt8] = []
            JSONValue.writeString(token, to: &quoted)
            let foundationQuoted = String(decoding: try JSONEncoder().encode(token), as: UTF8.self)
            let asciiEscaped = "\"" + token.unicodeScalars.map { scalar in
                scalar.value < 0x20 || scalar.value > 0x7E || scalar == "\"" || scalar == "\\"
                    ? String(scalar.utf16.map { String(format: "\\u%04x", $0) }.joined()) : String(scalar)
            }.joined() + "\""
            for encoded in [String(decoding: quoted, as: UTF8.self), foundationQuoted, asciiEscaped] {
                let text = #"{"choices":[{"delta":{"content":"# + encoded + #"}}]}"#
                let expected = try #require(Self.decodedByFoundation(text), "\(encoded)")
                let read = try #require(OpenAIChunkReader.read(text), "\(encoded)")
                #expect(read == expected, "\(encoded)")
                #expect(read.choices?.first?.delta?.content == token)
            }
        }
    }

    /// Valid chunks the reader leaves to JSONDecoder: the decoder's answer is unchanged.
    static let leftToFoundation: [String] = [
        #"{"choices":[],"choices":[{"delta":{"content":"dup"}}]}"#,
        #"{"cho\u0069ces":[{"delta":{"content":"escaped key"}}]}"#,
        #"{"choices":[{"delta":{"tool_calls":[{"index":1.0}]}}]}"#,
        #"{"usage":{"prompt_tokens":1e2,"completion_tokens":5}}"#,
        #"{"usage":{"prompt_tokens":-0,"completion_tokens":5}}"#,
        #"{"usage":{"prompt_tokens":99999999999999999999,"completion_tokens":5}}"#,
        // Syntax JSONDecoder may or may not accept: whatever it says stands.
        "{\"choices\":[{\"delta\":{\"content\":\"raw\u{1}control\"}}]}",
        #"{"choices":[{"delta":{"content":"\ud800"}}]}"#, #"{"choices":[{"delta":{"content":"\udc00x"}}]}"#,
        #"{"x":01,"choices":[]}"#, #"{"x":1.,"choices":[]}"#, #"{"x":.5,"choices":[]}"#,
        // Accepted by JSONDecoder (it is lenient there), not by the reader: still decoded.
        #"{"choices":[{"delta":{"content":"a"}},]}"#, #"{"x":-,"choices":[]}"#,
    ]

    @Test(arguments: leftToFoundation)
    func leavesOddChunksToJSONDecoder(_ text: String) throws {
        #expect(OpenAIChunkReader.read(text) == nil)
        switch Result(catching: { try OpenAIStreamDecoder.chunk(text) }) {
        case .success(let chunk): #expect(chunk == Self.decodedByFoundation(text))
        case .failure: #expect(Self.decodedByFoundation(text) == nil)
        }
    }

    /// Invalid chunks: not taken, and still the `provider_error` they were.
    static let invalid: [String] = [
        "", "not json", "[]", "null", #""text""#, "{", #"{"choices":[}"#, #"{"choices":[{"delta":{"content":5}}]}"#,
        #"{"choices":[]} x"#, #"{"choices":[{"delta":{"content":"\q"}}]}"#,
        #"{"choices":"many"}"#, #"{"error":"flat string"}"#, #"{"x":tru,"choices":[]}"#,
        #"{"choices":[{"delta":{"tool_calls":[{"index":"0"}]}}]}"#,
    ]

    @Test(arguments: invalid)
    func invalidChunksFailAsBefore(_ text: String) {
        #expect(OpenAIChunkReader.read(text) == nil)
        #expect(Self.decodedByFoundation(text) == nil)
        #expect(throws: APIError.self) { try OpenAIStreamDecoder.chunk(text) }
    }
}

import SwiftletMachinery
import Testing

@Suite struct ProtobufReaderTests {
    func failure(_ body: (inout ProtobufReader) throws -> Void, _ bytes: [UInt8]) -> String? {
        var reader = ProtobufReader(bytes)
        do {
            try body(&reader)
            return nil
        } catch {
            return (error as? ProtobufError)?.message ?? "\(error)"
        }
    }

    @Test func varints() throws {
        var reader = ProtobufReader([0x00, 0x01, 0x96, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        #expect(try reader.readVarint() == 0)
        #expect(try reader.readVarint() == 1)
        #expect(try reader.readVarint() == 150)
        #expect(try reader.readVarint() == .max)
        #expect(reader.isAtEnd)
        #expect(failure({ _ = try $0.readVarint() }, Array(repeating: 0xFF, count: 10) + [0x01]) == "proto: integer overflow")
        #expect(failure({ _ = try $0.readVarint() }, [0x80, 0x80]) == "unexpected EOF")
        #expect(failure({ _ = try $0.readVarint() }, []) == "unexpected EOF")
    }

    @Test func tags() throws {
        var reader = ProtobufReader([0x08, 0x12, 0xFA, 0x01, 0xF8, 0xFF, 0xFF, 0xFF, 0x0F])
        #expect(try reader.readTag() == (1, .varint))
        #expect(try reader.readTag() == (2, .lengthDelimited))
        #expect(try reader.readTag() == (31, .lengthDelimited))
        #expect(try reader.readTag() == (536_870_911, .varint))
        #expect(failure({ _ = try $0.readTag() }, [0x00]) == "proto: illegal tag 0 (wire type 0)")
        #expect(failure({ _ = try $0.readTag() }, [0x0F]) == "proto: illegal wireType 7")
        #expect(failure({ _ = try $0.readTag() }, [0x80, 0x80, 0x80, 0x80, 0x10]) == "proto: illegal tag 536870912 (wire type 0)")
    }

    @Test func fixedWidthAndLengthDelimited() throws {
        var reader = ProtobufReader([0x01, 0x02, 0x03, 0x04, 0x01, 0, 0, 0, 0, 0, 0, 0x80, 0x03, 0x61, 0x62, 0x63, 0x00])
        #expect(try reader.readFixed32() == 0x0403_0201)
        #expect(try reader.readFixed64() == 0x8000_0000_0000_0001)
        #expect(Array(try reader.readLengthDelimited()) == Array("abc".utf8))
        #expect(try reader.readLengthDelimited().isEmpty)
        #expect(reader.isAtEnd)
        #expect(failure({ _ = try $0.readFixed32() }, [1, 2, 3]) == "unexpected EOF")
        #expect(failure({ _ = try $0.readFixed64() }, [1, 2, 3, 4, 5, 6, 7]) == "unexpected EOF")
        #expect(failure({ _ = try $0.readLengthDelimited() }, [0x04, 0x61]) == "unexpected EOF")
        #expect(failure({ _ = try $0.readLengthDelimited() }, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
            == "unexpected EOF")
    }

    @Test func slicesKeepTheirOwnBounds() throws {
        let bytes: [UInt8] = [0x0A, 0x02, 0x08, 0x07, 0x10, 0x09]
        var outer = ProtobufReader(bytes)
        _ = try outer.readTag()
        var inner = try outer.nested(try outer.readLengthDelimited())
        #expect(inner.depth == 1)
        #expect(try inner.readTag() == (1, .varint))
        #expect(try inner.readVarint() == 7)
        #expect(inner.isAtEnd)
        #expect(try outer.readTag() == (2, .varint))
    }

    @Test func skippingEveryWireType() throws {
        var reader = ProtobufReader([
            0x08, 0x96, 0x01,  // 1: varint
            0x11, 1, 2, 3, 4, 5, 6, 7, 8,  // 2: fixed64
            0x1A, 0x02, 0x61, 0x62,  // 3: bytes
            0x23, 0x2B, 0x08, 0x01, 0x2C, 0x24,  // 4: a group holding group 5
            0x35, 1, 2, 3, 4,  // 6: fixed32
            0x38, 0x2A,  // 7: varint 42, read after the skips
        ])
        for _ in 0..<5 { try reader.skip(try reader.readTag().wireType) }
        #expect(try reader.readTag() == (7, .varint))
        #expect(try reader.readVarint() == 42)
        #expect(failure({ try $0.skip(.endGroup) }, []) == "proto: unexpected end group")
        #expect(failure({ try $0.skip(try $0.readTag().wireType) }, [0x23, 0x08]) == "unexpected EOF")
    }

    @Test func depthIsLimited() throws {
        let reader = ProtobufReader([], maxDepth: 2)
        let child = try reader.nested([])
        let grandchild = try child.nested([])
        #expect(throws: ProtobufError("proto: exceeded maximum recursion depth")) { try grandchild.nested([]) }
        let groups = Array(repeating: UInt8(0x0B), count: 3) + Array(repeating: UInt8(0x0C), count: 3)
        var shallow = ProtobufReader(groups, maxDepth: 2)
        #expect(throws: ProtobufError("proto: exceeded maximum recursion depth")) { try shallow.skip(try shallow.readTag().wireType) }
        var deepEnough = ProtobufReader(groups, maxDepth: 3)
        try deepEnough.skip(try deepEnough.readTag().wireType)
        #expect(deepEnough.isAtEnd)
    }
}

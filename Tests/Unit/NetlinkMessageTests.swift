@testable import AgentCore
@testable import Agent
import CLinuxShims
import Testing

@Suite("Netlink message encoding and parsing")
struct NetlinkMessageTests {
    @Test func headerLengthAttributesAndNestingAreLaidOutAsTheKernelExpects() {
        var message = NetlinkMessage(type: 16, flags: 0x605, sequence: 9)
        message.append(UInt32(0xAABBCCDD))
        message.beginNested(18)
        message.attribute(1, string: "vxlan")   // 4 + 6 bytes, padded to 12
        message.attribute(15, be16: 8472)        // 4 + 2, padded to 8
        message.endNested()
        let bytes = message.finished
        #expect(bytes.count == 16 + 4 + 4 + 12 + 8)
        #expect(Array(bytes[0..<4]) == [44, 0, 0, 0])         // total length, little-endian
        #expect(Array(bytes[4..<8]) == [16, 0, 0x05, 0x06])   // type 16, flags 0x605
        #expect(Array(bytes[8..<12]) == [9, 0, 0, 0])
        #expect(Array(bytes[20..<24]) == [24, 0, 18, 0])       // nested attribute covers both inner ones
        #expect(Array(bytes[24..<36]) == [10, 0, 1, 0] + Array("vxlan".utf8) + [0, 0, 0])
        #expect(Array(bytes[36..<44]) == [6, 0, 15, 0, 0x21, 0x18, 0, 0])  // 8472 big-endian

        let nested = NetlinkAttributes(bytes[20...]).nested(18)
        #expect(nested?.string(1) == "vxlan")
        #expect(nested?.be16(15) == 8472)
    }

    @Test func aLinkAnswerParsesNameMTUStateMACAndVXLANSettings() {
        var message = NetlinkMessage(type: 16, flags: 0, sequence: 1)
        message.append(UInt8(0)); message.append(UInt8(0)); message.append(UInt16(1))
        message.append(Int32(7)); message.append(UInt32(1)); message.append(UInt32(0))  // index 7, IFF_UP
        message.attribute(3, string: "flannel.1")
        message.attribute(4, u32: 1450)
        message.attribute(1, [0xc6, 0xd2, 0x32, 0x6f, 0x8f, 0x44])
        message.beginNested(18)
        message.attribute(1, string: "vxlan")
        message.beginNested(2)
        message.attribute(1, u32: 1)
        message.attribute(3, u32: 2)
        message.attribute(4, ipv4: IPv4Address("192.0.2.11")!)
        message.attribute(15, be16: 8472)
        message.attribute(7, u8: 0)
        message.endNested()
        message.endNested()
        let link = RouteNetlink.parseLink(message.finished[16...])
        #expect(link == KernelLink(device: KernelDevice(index: 7, name: "flannel.1"), mtu: 1450, isUp: true,
                                   mac: MACAddress("c6:d2:32:6f:8f:44"), kind: "vxlan",
                                   vxlan: .init(vni: 1, local: IPv4Address("192.0.2.11"), port: 8472, underlayIndex: 2, learning: false)))
    }

    @Test func truncatedOrLyingAnswersYieldNothingInsteadOfCrashing() {
        #expect(RouteNetlink.parseLink([1, 2, 3][...]) == nil)
        // An attribute claiming more bytes than there are stops the walk.
        let lying: [UInt8] = [0xff, 0x00, 3, 0, 0x41, 0x42]
        #expect(NetlinkAttributes(lying[...]).string(3) == nil)
        // A zero-length attribute does not loop forever.
        #expect(NetlinkAttributes([0, 0, 0, 0, 8, 0, 1, 0][...]).payloads.isEmpty)
        #expect(NetlinkAttributes.u32([1, 2, 3][...], 0) == nil)
    }

    /// NetlinkFrames is pure (fuzzed without the kernel headers): its constants are the kernel's.
    @Test func theFrameWalkersConstantsAreTheKernels() {
        #expect(NetlinkFrames.capped == Int(NLM_F_CAPPED))
        #expect(NetlinkFrames.ackTLVs == Int(NLM_F_ACK_TLVS))
        #expect(NetlinkFrames.messageAttribute == Int(NLMSGERR_ATTR_MSG.rawValue))
    }

    /// Two messages, the second unpadded and the third cut short: two frames, then the end.
    @Test func framesStopAtTheFirstMessageThatDoesNotFit() {
        var bytes: [UInt8] = []
        for (type, payload) in [(UInt16(16), [UInt8](repeating: 1, count: 4)), (UInt16(3), [2, 2, 2])] {
            let length = UInt32(16 + payload.count)
            bytes += withUnsafeBytes(of: length.littleEndian, Array.init) + withUnsafeBytes(of: type.littleEndian, Array.init)
            bytes += [0, 0] + withUnsafeBytes(of: UInt32(7).littleEndian, Array.init) + [0, 0, 0, 0] + payload
            bytes += [UInt8](repeating: 0, count: (4 - payload.count % 4) % 4)
        }
        bytes += withUnsafeBytes(of: UInt32(200).littleEndian, Array.init) + [UInt8](repeating: 0, count: 12)
        let frames = Array(NetlinkFrames(bytes[...]))
        #expect(frames.map(\.type) == [16, 3] && frames.map(\.payload.count) == [4, 3] && frames.allSatisfy { $0.sequence == 7 })
    }
}

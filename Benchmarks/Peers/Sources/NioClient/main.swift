import BenchCommon
import Foundation
import Histogram
import NIOCore
import NIOPosix

let args = Args()
let payloadSize = args.payload

final class FrameDecoder: ByteToMessageDecoder {
  typealias InboundOut = ByteBuffer
  func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
    guard let len = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
    let total = 4 + Int(len)
    guard buffer.readableBytes >= total else { return .needMoreData }
    let frame = buffer.readSlice(length: total)!
    context.fireChannelRead(Self.wrapInboundOut(frame))
    return .continue
  }
  func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
    .needMoreData
  }
}

/// Closed loop: keeps `inflight` requests outstanding on one connection; responses come back in FIFO order.
final class LoadHandler: ChannelInboundHandler {
  typealias InboundIn = ByteBuffer
  typealias OutboundOut = ByteBuffer
  let inflight: Int
  let measureStart: UInt64
  let end: UInt64
  let done: EventLoopPromise<(Histogram<UInt64>, UInt64, Int)>
  var sendTimes = CircularBuffer<UInt64>(initialCapacity: 128)
  var request: ByteBuffer
  var hist = makeHistogram()
  var calls: UInt64 = 0
  var errors = 0
  var outstanding = 0

  init(inflight: Int, measureStart: UInt64, end: UInt64, done: EventLoopPromise<(Histogram<UInt64>, UInt64, Int)>) {
    self.inflight = inflight; self.measureStart = measureStart; self.end = end; self.done = done
    var b = ByteBufferAllocator().buffer(capacity: 4 + payloadSize)
    b.writeInteger(UInt32(payloadSize))
    for i in 0..<payloadSize { b.writeInteger(UInt8(truncatingIfNeeded: i &* 31 &+ 7)) }
    self.request = b
  }
  private func send(_ context: ChannelHandlerContext) {
    sendTimes.append(nowNs())
    outstanding += 1
    context.write(Self.wrapOutboundOut(request), promise: nil)
  }
  func channelActive(context: ChannelHandlerContext) {
    for _ in 0..<inflight { send(context) }
    context.flush()
  }
  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let frame = Self.unwrapInboundIn(data)
    let e = nowNs()
    let s = sendTimes.removeFirst()
    outstanding -= 1
    if frame.readableBytes != 4 + payloadSize { errors += 1 }
    if e >= measureStart && e <= end { _ = hist.record(e - s); calls += 1 }
    if e < end {
      send(context)
    } else if outstanding == 0 {
      done.succeed((hist, calls, errors))
    }
  }
  func channelReadComplete(context: ChannelHandlerContext) {
    context.flush()
  }
  func errorCaught(context: ChannelHandlerContext, error: Error) {
    done.fail(error)
    context.close(promise: nil)
  }
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: min(args.conns, System.coreCount))
let t0 = nowNs()
let measureStart = t0 + UInt64(args.warmup * 1e9)
let end = measureStart + UInt64(args.duration * 1e9)
let sampler = CpuSampler(serverPid: args.serverPid, startNs: measureStart, endNs: end)
var futures: [EventLoopFuture<(Histogram<UInt64>, UInt64, Int)>] = []
var channels: [Channel] = []
for _ in 0..<args.conns {
  let loop = group.next()
  let done = loop.makePromise(of: (Histogram<UInt64>, UInt64, Int).self)
  futures.append(done.futureResult)
  let ch = try await ClientBootstrap(group: loop)
    .channelOption(.socketOption(.tcp_nodelay), value: 1)
    .channelInitializer { channel in
      channel.eventLoop.makeCompletedFuture {
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
        try channel.pipeline.syncOperations.addHandler(LoadHandler(inflight: args.inflight, measureStart: measureStart, end: end, done: done))
      }
    }
    .connect(host: "127.0.0.1", port: args.port).get()
  channels.append(ch)
}
var hist = makeHistogram()
var calls: UInt64 = 0
var errors = 0
for f in futures {
  let (h, n, e) = try await f.get()
  hist.add(h); calls += n; errors += e
}
let cpu = sampler.wait()
report(kind: "nio", args: args, hist: hist, calls: calls, windowNs: end - measureStart, cpu: cpu, errors: errors)
for ch in channels { try? await ch.close().get() }
try await group.shutdownGracefully()

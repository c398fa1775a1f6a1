public import NIOCore
import Synchronization

/// A queue of message buffers between a producer and one consumer, with an end:
/// finished (the consumer sees nil) or failed (the consumer sees the error).
///
/// Transports use it for a stream's inbound messages. It does not bound itself: the
/// producer bounds it, either with flow control (the NIO transport grants the peer
/// window only as the consumer takes messages, reported through `onConsume`) or by
/// awaiting `waitForSpace` (the in-process transport).
public final class RPCMessageQueue: RPCInboundMessageSource, Sendable {
    private struct State {
        var buffer: CircularBuffer<ByteBuffer> = CircularBuffer(initialCapacity: 4)
        var bufferedBytes = 0
        var end: End?
        var consumer: CheckedContinuation<ByteBuffer?, any Error>?
        var producers: [CheckedContinuation<Void, any Error>] = []
    }

    private enum End {
        case finished
        case failed(any Error)
    }

    private let state = Mutex(State())
    private let capacity: Int
    private let onConsume: (@Sendable (Int) -> Void)?

    /// - Parameters:
    ///   - capacity: Bytes above which `waitForSpace` suspends.
    ///   - onConsume: Called with a message's size each time the consumer takes one.
    public init(capacity: Int = 1 << 20, onConsume: (@Sendable (Int) -> Void)? = nil) {
        self.capacity = capacity
        self.onConsume = onConsume
    }

    /// Adds a message; ignored once the queue has ended.
    public func push(_ message: ByteBuffer) {
        let consumer: CheckedContinuation<ByteBuffer?, any Error>? = state.withLock { state in
            guard state.end == nil else { return nil }
            if let consumer = state.consumer {
                state.consumer = nil
                return consumer
            }
            state.buffer.append(message)
            state.bufferedBytes += message.readableBytes
            return nil
        }
        if let consumer {
            onConsume?(message.readableBytes)
            consumer.resume(returning: message)
        }
    }

    /// Ends the queue: the consumer gets the buffered messages, then nil.
    public func finish() { end(.finished) }

    /// Ends the queue with an error: the consumer gets the buffered messages, then the error.
    public func fail(_ error: any Error) { end(.failed(error)) }

    private func end(_ end: End) {
        let (consumer, producers):
            (CheckedContinuation<ByteBuffer?, any Error>?, [CheckedContinuation<Void, any Error>]) =
                state.withLock { state in
                    guard state.end == nil else { return (nil, []) }
                    state.end = end
                    let producers = state.producers
                    state.producers = []
                    let consumer = state.consumer
                    state.consumer = nil
                    return (consumer, producers)
                }
        for producer in producers { producer.resume() }
        guard let consumer else { return }
        switch end {
        case .finished: consumer.resume(returning: nil)
        case .failed(let error): consumer.resume(throwing: error)
        }
    }

    /// Suspends while more than `capacity` bytes are buffered.
    public func waitForSpace() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let ready = state.withLock { state in
                if state.bufferedBytes <= capacity || state.end != nil { return true }
                state.producers.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    public func next() async throws -> ByteBuffer? {
        // Fast path: a message is already there.
        enum Immediate {
            case message(ByteBuffer, wakeProducers: [CheckedContinuation<Void, any Error>])
            case end(End)
            case wait
        }
        let immediate: Immediate = state.withLock { state in
            if let message = state.buffer.popFirst() {
                state.bufferedBytes -= message.readableBytes
                var wake: [CheckedContinuation<Void, any Error>] = []
                if state.bufferedBytes <= capacity, !state.producers.isEmpty {
                    wake = state.producers
                    state.producers = []
                }
                return .message(message, wakeProducers: wake)
            }
            if let end = state.end { return .end(end) }
            return .wait
        }
        switch immediate {
        case .message(let message, let producers):
            for producer in producers { producer.resume() }
            onConsume?(message.readableBytes)
            return message
        case .end(.finished):
            return nil
        case .end(.failed(let error)):
            throw error
        case .wait:
            break
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ByteBuffer?, any Error>) in
                enum Resolution {
                    case message(ByteBuffer)
                    case end(End)
                    case cancelled
                    case parked
                }
                let resolution: Resolution = state.withLock { state in
                    if let message = state.buffer.popFirst() {
                        state.bufferedBytes -= message.readableBytes
                        return .message(message)
                    }
                    if let end = state.end { return .end(end) }
                    if Task.isCancelled { return .cancelled }
                    precondition(state.consumer == nil, "RPCMessageQueue has one consumer")
                    state.consumer = continuation
                    return .parked
                }
                switch resolution {
                case .message(let message):
                    onConsume?(message.readableBytes)
                    continuation.resume(returning: message)
                case .end(.finished): continuation.resume(returning: nil)
                case .end(.failed(let error)): continuation.resume(throwing: error)
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .parked: break
                }
            }
        } onCancel: {
            let consumer = state.withLock { state in
                let consumer = state.consumer
                state.consumer = nil
                return consumer
            }
            consumer?.resume(throwing: CancellationError())
        }
    }
}

import Foundation

/// The events of a generation that runs on a task of its own, in order, for one
/// consumer.
///
/// ``LanguageModel/generate(prompt:parameters:)``, ``LanguageModel/generateTokens(prompt:parameters:)``
/// and ``ChatSession/streamResponse(to:)-(String)`` return one. Its summary
/// (``GenerationEvent/info(_:)`` or ``TokenGenerationEvent/info(_:)``) always comes
/// last, also when generation was stopped early, so the consumer learns why it
/// stopped:
///
/// - Cancelling the consuming task stops generation before its next token; the loop
///   still receives the text of the token under way and then the summary, with
///   ``StopReason/cancelled``, and ends. (An `AsyncThrowingStream` would end at once
///   and drop the summary, which is why this type exists.)
/// - Breaking out of the loop, or dropping the stream, stops generation too; nobody is
///   left to read the summary.
/// - An error (an invalid parameter, a prompt too long for the context, a failed
///   forward pass) ends the loop by throwing.
///
/// Iterate it once, from one task: a second iterator shares the same events.
public struct GenerationStream<Element: Sendable>: AsyncSequence, Sendable {
    public typealias Failure = any Error

    /// Stops the producer when the last copy of the stream and its iterators is gone.
    private let consumer: Consumer

    /// A stream whose producer `start` creates: a task that feeds the channel it is
    /// given and finishes it.
    init(start: (Channel) -> Task<Void, Never>) {
        let channel = Channel()
        channel.attach(start(channel))
        consumer = Consumer(channel: channel)
    }

    /// Reads the events in order.
    public struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate let consumer: Consumer

        /// The next event; `nil` after the summary (or an error) has been delivered.
        public mutating func next() async throws -> Element? {
            try await consumer.channel.next()
        }
    }

    /// An iterator over the events.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(consumer: consumer)
    }

    fileprivate final class Consumer: Sendable {
        let channel: Channel
        init(channel: Channel) { self.channel = channel }
        deinit { channel.consumerLeft() }
    }

    /// The buffer between the producer task and the consumer. The producer never waits:
    /// events the consumer has not read yet queue up (one per token at most).
    final class Channel: @unchecked Sendable {
        private let lock = NSLock()
        // Everything below is guarded by `lock`.
        private var pending: [Element] = []
        private var pendingStart = 0
        private var waiting: CheckedContinuation<Element?, any Error>?
        /// Set by ``finish(throwing:)``; a failure is delivered once, then `.success`.
        private var end: Result<Void, any Error>?
        private var consumerGone = false
        private var cancelRequested = false
        private var producer: Task<Void, Never>?

        /// Keeps the producer task, to cancel it when the consumer asks.
        fileprivate func attach(_ task: Task<Void, Never>) {
            let cancel = lock.withLock {
                producer = task
                return cancelRequested
            }
            if cancel { task.cancel() }
        }

        /// Passes `element` to the consumer. Returns false once the consumer has gone
        /// (the producer should stop; the element is dropped).
        @discardableResult
        func yield(_ element: Element) -> Bool {
            lock.lock()
            if consumerGone || end != nil {
                lock.unlock()
                return false
            }
            if let waiting {
                self.waiting = nil
                lock.unlock()
                waiting.resume(returning: element)
            } else {
                pending.append(element)
                lock.unlock()
            }
            return true
        }

        /// Ends the stream after the events already passed, with `error` if given.
        func finish(throwing error: (any Error)? = nil) {
            lock.lock()
            guard end == nil else {
                lock.unlock()
                return
            }
            let waiting = self.waiting
            self.waiting = nil
            // A waiting consumer means nothing is pending: deliver the end now.
            end = waiting != nil || error == nil ? .success(()) : .failure(error!)
            lock.unlock()
            if let error {
                waiting?.resume(throwing: error)
            } else {
                waiting?.resume(returning: nil)
            }
        }

        /// The next event, waiting for the producer if need be. Cancelling the calling
        /// task cancels the producer, whose remaining events (the summary) still come.
        fileprivate func next() async throws -> Element? {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    lock.lock()
                    if pendingStart < pending.count {
                        let element = pending[pendingStart]
                        pendingStart += 1
                        if pendingStart == pending.count {
                            pending.removeAll(keepingCapacity: true)
                            pendingStart = 0
                        }
                        lock.unlock()
                        continuation.resume(returning: element)
                    } else if let end {
                        self.end = .success(())
                        lock.unlock()
                        continuation.resume(with: end.map { _ in nil as Element? })
                    } else {
                        precondition(waiting == nil, "a GenerationStream was iterated by two tasks at once")
                        waiting = continuation
                        lock.unlock()
                    }
                }
            } onCancel: {
                cancelProducer()
            }
        }

        private func cancelProducer() {
            let task = lock.withLock {
                cancelRequested = true
                return producer
            }
            task?.cancel()
        }

        /// The consumer dropped the stream: the producer's next ``yield(_:)`` returns
        /// false, and its task is cancelled.
        fileprivate func consumerLeft() {
            lock.withLock {
                consumerGone = true
                pending = []
                pendingStart = 0
            }
            cancelProducer()
        }
    }
}

extension AsyncSequence where Element == GenerationEvent {
    /// The text alone: each ``GenerationEvent/chunk(_:)``'s string, without the summary.
    ///
    /// ```swift
    /// for try await text in model.generate(prompt: "The capital of France is").text {
    ///     print(text, terminator: "")
    /// }
    /// ```
    ///
    /// Breaking out of the loop, or cancelling the task, stops the generation.
    public var text: AsyncCompactMapSequence<Self, String> {
        compactMap { $0.chunk }
    }
}

extension AsyncSequence where Element == TokenGenerationEvent {
    /// The tokens alone: each ``TokenGenerationEvent/token(_:)``'s id and text, without
    /// the summary.
    ///
    /// ```swift
    /// for try await token in model.generateTokens(prompt: "Once upon a time").tokens {
    ///     print(token.id, token.text)
    /// }
    /// ```
    ///
    /// Breaking out of the loop, or cancelling the task, stops the generation. Text
    /// released only when generation stopped (``GenerationInfo/text`` ends with it) is
    /// not in any token.
    public var tokens: AsyncCompactMapSequence<Self, GeneratedToken> {
        compactMap { $0.token }
    }
}

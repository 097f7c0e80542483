import Foundation
import Logging
import TensorCore
import Tokenizers

/// Generates for many requests at once with continuous batching, as a server does.
///
/// The scheduler owns a fixed number of slots, each a sequence with its own KV cache.
/// A thread of its own runs steps: each step is one forward pass (``ForwardBatch``) with
/// one token for every slot that is generating and, in the rows left, the next part of
/// the prompts of slots that are starting, so that a new prompt never stalls the others
/// for longer than a step. A finished slot takes the next request from a bounded queue at
/// once. A request whose prompt begins with tokens a free slot still holds (a system
/// prompt, the earlier turns of a chat) goes to that slot and processes only the rest.
///
/// ```swift
/// let scheduler = try BatchScheduler(model: model, configuration: .init(slotCount: 4))
/// let stream = try scheduler.submit(promptTokens: tokens, parameters: .greedy)
/// for try await event in stream {
///     if case let .token(token) = event { print(token.text, terminator: "") }
/// }
/// ```
///
/// Leaving the stream (or cancelling the task reading it) cancels the request and frees
/// its slot before the next step. Sampling, stop strings and text decoding are those of
/// ``TokenGenerator``, so a request gives the same tokens here as alone (up to the small
/// rounding differences of batched matrix products).
public final class BatchScheduler: @unchecked Sendable {
    /// The scheduler's size and limits.
    public struct Configuration: Sendable, Equatable {
        /// How many requests generate at once (llama.cpp's `--parallel`).
        public var slotCount: Int
        /// Each slot's context in tokens; `nil`: the model's, at most 4,096.
        public var context: Int?
        /// The most rows of one forward pass: one per generating slot, the rest for
        /// prompts.
        public var batchSize: Int
        /// The most requests waiting for a slot; ``submit(promptTokens:parameters:)``
        /// throws ``BatchSchedulerError/queueFull(limit:)`` beyond it.
        public var queueLimit: Int
        /// The KV cache's element type (`f32` or `f16`).
        public var cacheType: ElementType
        /// Whether a request may reuse the tokens a free slot still holds.
        public var reusesPrefixes: Bool

        public init(
            slotCount: Int = 4, context: Int? = nil, batchSize: Int = 256, queueLimit: Int = 64,
            cacheType: ElementType = .f32, reusesPrefixes: Bool = true
        ) {
            self.slotCount = slotCount
            self.context = context
            self.batchSize = batchSize
            self.queueLimit = queueLimit
            self.cacheType = cacheType
            self.reusesPrefixes = reusesPrefixes
        }
    }

    /// What a request's stream yields.
    public enum Event: Sendable, Equatable {
        /// A generated token and the text it made certain.
        case token(GeneratedToken)
        /// The end, once.
        case finished(Completion)
    }

    /// How a request ended.
    public struct Completion: Sendable, Equatable {
        /// The summary: tokens, text, timings, why it stopped.
        public var info: GenerationInfo
        /// Text released when generation stopped, after the last token's.
        public var trailingText: String
        /// How many prompt tokens were already in the slot's cache.
        public var cachedPromptTokens: Int
        /// How long the request waited for a slot.
        public var queueTime: Duration
    }

    /// A snapshot of the scheduler's load.
    public struct Status: Sendable, Equatable {
        public var slotCount: Int
        /// Slots generating or processing a prompt.
        public var busySlots: Int
        /// Requests waiting for a slot.
        public var queuedRequests: Int
        /// Forward passes run so far.
        public var steps: Int
        /// Whether new requests are refused (``shutDown()`` was called).
        public var isShuttingDown: Bool
    }

    /// The model it runs.
    public let model: LanguageModel
    public let configuration: Configuration
    /// Each slot's context.
    public let context: Int
    private let logger: Logger

    // Shared with the worker, under `condition`.
    private let condition = NSCondition()
    private var queue: [Job] = []
    private var cancelled: Set<Int> = []
    private var busySlots = 0
    private var steps = 0
    private var shuttingDown = false
    private var closed = false
    private var nextID = 0

    // The worker's own.
    private var slots: [Slot]
    private let workspace: BatchWorkspace
    private var useCounter: UInt64 = 0

    /// A scheduler with `configuration.slotCount` slots for `model`; its thread starts at
    /// once.
    ///
    /// - Throws: ``ModelError/invalidParameter(name:value:reason:)`` for a configuration
    ///   out of range; allocation errors of the caches.
    public init(model: LanguageModel, configuration: Configuration = Configuration(), logger: Logger = Logger(label: "swift-llama.scheduler")) throws {
        func check(_ condition: Bool, _ name: String, _ value: Int, _ reason: String) throws {
            if !condition { throw ModelError.invalidParameter(name: name, value: "\(value)", reason: reason) }
        }
        try check((1...256).contains(configuration.slotCount), "slotCount", configuration.slotCount, "must be in 1...256")
        try check(
            configuration.batchSize >= configuration.slotCount, "batchSize", configuration.batchSize,
            "must be at least the slot count \(configuration.slotCount)")
        try check(configuration.queueLimit >= 0, "queueLimit", configuration.queueLimit, "must not be negative")
        self.model = model
        self.configuration = configuration
        self.logger = logger
        let context = try model.resolveContext(configuration.context ?? min(model.configuration.contextLength, 4096))
        self.context = context
        slots = try (0..<configuration.slotCount).map { _ in
            Slot(state: try model.model.makeState(context: context, batchCapacity: 1, cacheType: configuration.cacheType))
        }
        workspace = try BatchWorkspace(
            configuration: model.configuration, rowCapacity: configuration.batchSize, sequenceCapacity: configuration.slotCount)
        let thread = Thread { self.run() }
        thread.name = "swift-llama scheduler"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Stops the scheduler's thread after the current step: queued and running requests
    /// end with ``BatchSchedulerError/shuttingDown``. The thread keeps the scheduler alive
    /// until then; call it when you are done with it.
    public func close() {
        condition.lock()
        shuttingDown = true
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Queues a request and returns its events: ``Event/token(_:)`` for each generated
    /// token, then ``Event/finished(_:)``. The stream throws if the request fails (a
    /// prompt that does not fit, an error of the forward pass).
    ///
    /// - Throws: ``BatchSchedulerError/queueFull(limit:)`` when the queue is full,
    ///   ``BatchSchedulerError/shuttingDown`` after ``shutDown()``, and
    ///   ``ModelError`` for parameters out of range, an empty prompt or one longer than a
    ///   slot's context.
    public func submit(promptTokens: [Int], parameters: GenerateParameters) throws -> Request {
        try parameters.validate()
        guard !promptTokens.isEmpty else { throw ModelError.emptyPrompt }
        guard promptTokens.count < context else { throw ModelError.promptTooLong(tokens: promptTokens.count, context: context) }
        let vocabulary = model.configuration.vocabularySize
        if let bad = promptTokens.first(where: { $0 < 0 || $0 >= vocabulary }) {
            throw ModelError.invalidParameter(name: "promptTokens", value: "\(bad)", reason: "is outside the vocabulary of \(vocabulary)")
        }
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: Event.self, throwing: Error.self)
        condition.lock()
        defer { condition.unlock() }
        guard !shuttingDown, !closed else { throw BatchSchedulerError.shuttingDown }
        // Requests beyond the free slots wait; at most `queueLimit` of them.
        guard busySlots + queue.count < configuration.slotCount + configuration.queueLimit else {
            throw BatchSchedulerError.queueFull(limit: configuration.queueLimit)
        }
        nextID += 1
        let job = Job(id: nextID, promptTokens: promptTokens, parameters: parameters, continuation: continuation)
        let id = job.id
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.cancel(id) }
        }
        queue.append(job)
        condition.signal()
        return Request(events: stream, id: id, scheduler: self)
    }

    /// A queued request: its events, and a way to cancel it.
    public struct Request: AsyncSequence, Sendable {
        public typealias Element = Event
        /// The request's events.
        public let events: AsyncThrowingStream<Event, Error>
        let id: Int
        weak var scheduler: BatchScheduler?

        public func makeAsyncIterator() -> AsyncThrowingStream<Event, Error>.AsyncIterator { events.makeAsyncIterator() }

        /// Cancels the request: it leaves the queue, or its slot is freed before the next
        /// step; its events end with ``StopReason/cancelled``.
        public func cancel() { scheduler?.cancel(id) }
    }

    /// The current load.
    public var status: Status {
        condition.lock()
        defer { condition.unlock() }
        return Status(
            slotCount: configuration.slotCount, busySlots: busySlots, queuedRequests: queue.count, steps: steps,
            isShuttingDown: shuttingDown)
    }

    /// Refuses new requests from now on; requests already queued or running go on.
    public func shutDown() {
        condition.lock()
        shuttingDown = true
        condition.unlock()
    }

    /// Cancels every queued and running request (their streams end with
    /// ``StopReason/cancelled``).
    public func cancelAll() {
        condition.lock()
        for job in queue { cancelled.insert(job.id) }
        for slot in slots { if let job = slot.job { cancelled.insert(job.id) } }
        condition.signal()
        condition.unlock()
    }

    /// Waits until no request is queued or running, or `timeout` has passed; returns
    /// whether it is idle.
    public func waitUntilIdle(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let status = self.status
            if status.busySlots == 0 && status.queuedRequests == 0 { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        let status = self.status
        return status.busySlots == 0 && status.queuedRequests == 0
    }

    private func cancel(_ id: Int) {
        condition.lock()
        cancelled.insert(id)
        condition.signal()
        condition.unlock()
    }

    // MARK: - The worker

    private final class Job {
        let id: Int
        let promptTokens: [Int]
        let parameters: GenerateParameters
        let continuation: AsyncThrowingStream<Event, Error>.Continuation
        let enqueued = ContinuousClock.now
        var generator: TokenGenerator?
        var cachedPromptTokens = 0
        var queueTime = Duration.zero

        init(id: Int, promptTokens: [Int], parameters: GenerateParameters, continuation: AsyncThrowingStream<Event, Error>.Continuation) {
            self.id = id
            self.promptTokens = promptTokens
            self.parameters = parameters
            self.continuation = continuation
        }
    }

    private struct Slot {
        let state: InferenceState
        /// The tokens in the state's cache.
        var cachedTokens: [Int] = []
        var job: Job?
        var lastUsed: UInt64 = 0
    }

    private func run() {
        while true {
            condition.lock()
            while !closed && queue.isEmpty && cancelled.isEmpty && busySlots == 0 { condition.wait() }
            if closed {
                let waiting = queue
                queue.removeAll()
                condition.unlock()
                for job in waiting { job.continuation.finish(throwing: BatchSchedulerError.shuttingDown) }
                for index in slots.indices where slots[index].job != nil {
                    fail(slot: index, BatchSchedulerError.shuttingDown)
                }
                return
            }
            let cancelledNow = cancelled
            cancelled.removeAll()
            queue.removeAll { job in
                guard cancelledNow.contains(job.id) else { return false }
                job.continuation.finish(throwing: CancellationError())
                return true
            }
            var started: [Int] = []
            while !queue.isEmpty, let free = chooseSlot(for: queue[0]) {
                slots[free].job = queue.removeFirst()
                busySlots += 1
                started.append(free)
            }
            condition.unlock()

            for index in started { start(slot: index) }
            for index in slots.indices {
                if let job = slots[index].job, cancelledNow.contains(job.id) {
                    let trailing = job.generator?.stopDriven(.cancelled) ?? ""
                    finish(slot: index, trailingText: trailing)
                }
            }
            step()
        }
    }

    /// The free slot for `job`: the one that holds the longest beginning of its prompt,
    /// else the one unused longest.
    private func chooseSlot(for job: Job) -> Int? {
        var best: (index: Int, shared: Int, lastUsed: UInt64)?
        for (index, slot) in slots.enumerated() where slot.job == nil {
            let shared = configuration.reusesPrefixes ? commonPrefixLength(slot.cachedTokens, job.promptTokens) : 0
            if let current = best, (shared, current.lastUsed) <= (current.shared, slot.lastUsed) { continue }
            best = (index, shared, slot.lastUsed)
        }
        return best?.index
    }

    /// Sets up the generator of the job just given to slot `index`, keeping the part of
    /// the slot's cache that begins its prompt (all but the last prompt token at most,
    /// whose logits the first token needs).
    private func start(slot index: Int) {
        guard let job = slots[index].job else { return }
        job.queueTime = job.enqueued.duration(to: .now)
        let prompt = job.promptTokens
        let reused = configuration.reusesPrefixes ? min(commonPrefixLength(slots[index].cachedTokens, prompt), prompt.count - 1) : 0
        slots[index].state.cache.trim(to: reused)
        slots[index].cachedTokens.removeSubrange(reused...)
        job.cachedPromptTokens = reused
        do {
            job.generator = try TokenGenerator(
                model: model.model, tokenizer: model.tokenizer, parameters: job.parameters, prompt: prompt,
                newTokens: Array(prompt[reused...]), state: slots[index].state)
        } catch {
            fail(slot: index, error)
        }
    }

    /// One forward pass: a token for each generating slot, then prompt parts in the rows
    /// left, oldest request first.
    private func step() {
        var entries: [(state: InferenceState, tokens: ArraySlice<Int>)] = []
        var owners: [Int] = []
        var rowsLeft = configuration.batchSize
        // Generating slots first: one row each.
        for (index, slot) in slots.enumerated() {
            guard let generator = slot.job?.generator, generator.hasProcessedPrompt else { continue }
            let input = generator.pendingInput(limit: 1)
            guard !input.isEmpty else { continue }
            entries.append((slot.state, input))
            owners.append(index)
            rowsLeft -= input.count
        }
        let starting = slots.indices.filter { slots[$0].job?.generator.map { !$0.hasProcessedPrompt } ?? false }
            .sorted { slots[$0].job!.id < slots[$1].job!.id }
        for index in starting where rowsLeft > 0 {
            let input = slots[index].job!.generator!.pendingInput(limit: rowsLeft)
            guard !input.isEmpty else { continue }
            entries.append((slots[index].state, input))
            owners.append(index)
            rowsLeft -= input.count
        }
        guard !entries.isEmpty else { return }
        do {
            try model.model.forward(entries, workspace: workspace)
        } catch {
            logger.error("a batched forward pass failed", metadata: ["error": "\(error)", "sequences": "\(entries.count)"])
            for index in owners {
                slots[index].state.cache.reset()
                slots[index].cachedTokens.removeAll()
                fail(slot: index, error)
            }
            return
        }
        condition.lock()
        steps += 1
        condition.unlock()
        for (entry, index) in zip(entries, owners) {
            guard let job = slots[index].job, let generator = job.generator else { continue }
            slots[index].cachedTokens += entry.tokens
            do {
                switch try generator.processed(entry.tokens.count) {
                case .prompt: break
                case let .token(token):
                    if case .terminated = job.continuation.yield(.token(token)) {
                        cancel(job.id)
                    }
                    if generator.stopReason != nil { finish(slot: index, trailingText: generator.trailingText) }
                case .stopped:
                    finish(slot: index, trailingText: generator.trailingText)
                }
            } catch {
                fail(slot: index, error)
            }
        }
    }

    /// Ends slot `index`'s request normally and frees the slot.
    private func finish(slot index: Int, trailingText: String) {
        guard let job = slots[index].job else { return }
        if let info = job.generator?.info {
            job.continuation.yield(
                .finished(Completion(info: info, trailingText: trailingText, cachedPromptTokens: job.cachedPromptTokens, queueTime: job.queueTime)))
        }
        job.continuation.finish()
        release(slot: index)
    }

    /// Ends slot `index`'s request with `error` and frees the slot.
    private func fail(slot index: Int, _ error: Error) {
        guard let job = slots[index].job else { return }
        job.continuation.finish(throwing: error)
        release(slot: index)
    }

    private func release(slot index: Int) {
        useCounter += 1
        slots[index].lastUsed = useCounter
        slots[index].job = nil
        // What the cache holds is what went through the model.
        slots[index].cachedTokens.removeSubrange(min(slots[index].cachedTokens.count, slots[index].state.position)...)
        condition.lock()
        busySlots -= 1
        condition.unlock()
    }
}

/// Why ``BatchScheduler/submit(promptTokens:parameters:)`` refused a request.
public enum BatchSchedulerError: Error, Equatable, CustomStringConvertible {
    /// The queue holds its limit of waiting requests.
    case queueFull(limit: Int)
    /// The scheduler is shutting down.
    case shuttingDown

    public var description: String {
        switch self {
        case let .queueFull(limit): "the queue is full (\(limit) requests are waiting)"
        case .shuttingDown: "the server is shutting down"
        }
    }
}

/// How many tokens `a` and `b` share at the start.
func commonPrefixLength(_ a: [Int], _ b: [Int]) -> Int {
    var n = 0
    while n < a.count, n < b.count, a[n] == b[n] { n += 1 }
    return n
}

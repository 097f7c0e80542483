import CoreMetrics
import Foundation
import LLM
import Prometheus

/// The server's Prometheus metrics, recorded through swift-metrics into a registry of
/// its own (so that several servers in one process keep theirs apart) and written by
/// `GET /metrics` in Prometheus's text format.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let promptTokens: CoreMetrics.Counter
    private let cachedPromptTokens: CoreMetrics.Counter
    private let generatedTokens: CoreMetrics.Counter
    private let timeToFirstToken: CoreMetrics.Timer
    private let requestDuration: CoreMetrics.Timer
    private let tokensPerSecond: CoreMetrics.Recorder
    private let slotsBusy: CoreMetrics.Gauge
    private let slotsTotal: CoreMetrics.Gauge
    private let queueLength: CoreMetrics.Gauge

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        ]
        factory.defaultValueHistogramBuckets = [1, 2, 5, 10, 20, 50, 100, 200, 500]
        self.factory = factory
        promptTokens = CoreMetrics.Counter(label: "llama_prompt_tokens_total", factory: factory)
        cachedPromptTokens = CoreMetrics.Counter(label: "llama_prompt_tokens_cached_total", factory: factory)
        generatedTokens = CoreMetrics.Counter(label: "llama_generated_tokens_total", factory: factory)
        timeToFirstToken = CoreMetrics.Timer(label: "llama_time_to_first_token_seconds", factory: factory)
        requestDuration = CoreMetrics.Timer(label: "llama_request_duration_seconds", factory: factory)
        tokensPerSecond = CoreMetrics.Recorder(label: "llama_generation_tokens_per_second", aggregate: true, factory: factory)
        slotsBusy = CoreMetrics.Gauge(label: "llama_slots_busy", factory: factory)
        slotsTotal = CoreMetrics.Gauge(label: "llama_slots_total", factory: factory)
        queueLength = CoreMetrics.Gauge(label: "llama_queue_length", factory: factory)
    }

    /// Counts a finished request by route and HTTP status.
    func request(route: String, status: Int) {
        CoreMetrics.Counter(label: "llama_requests_total", dimensions: [("route", route), ("status", "\(status)")], factory: factory)
            .increment()
    }

    /// Records a generation that ran to its end (or was stopped).
    func generation(_ completion: BatchScheduler.Completion, duration: Duration) {
        let info = completion.info
        promptTokens.increment(by: Int64(info.promptTokens.count))
        cachedPromptTokens.increment(by: Int64(completion.cachedPromptTokens))
        generatedTokens.increment(by: Int64(info.generatedTokens.count))
        if !info.generatedTokens.isEmpty {
            timeToFirstToken.recordNanoseconds(nanoseconds(completion.queueTime + info.timeToFirstToken))
        }
        if info.generatedTokens.count > 1 { tokensPerSecond.record(info.generationTokensPerSecond) }
        requestDuration.recordNanoseconds(nanoseconds(duration))
    }

    /// The text of `GET /metrics`, with the scheduler's load as it is now.
    func exposition(_ status: BatchScheduler.Status) -> [UInt8] {
        slotsBusy.record(status.busySlots)
        slotsTotal.record(status.slotCount)
        queueLength.record(status.queuedRequests)
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    private func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

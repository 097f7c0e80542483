/// Which keys each query of an ``Attention`` may see.
public enum AttentionMask: Sendable {
    /// Every query sees every key.
    case none
    /// Query `i` sits at position `firstQueryPosition + i` and sees the keys at positions
    /// up to its own; with a `window`, only the last `window` of them (key position `j`
    /// is seen when `position − window < j ≤ position`), as sliding-window layers do.
    case causal(firstQueryPosition: Int, window: Int? = nil)
    /// An `f32` tensor of shape `[queries, keys]` added to the scores before the softmax
    /// (`-infinity` hides a key).
    case additive(Tensor)

    /// Whether query `query` may see key `key` under a positional mask (always true for
    /// ``none`` and ``additive(_:)``).
    @inlinable
    public func allows(query: Int, key: Int) -> Bool {
        switch self {
        case .none, .additive:
            return true
        case let .causal(first, window):
            let position = first + query
            guard key <= position else { return false }
            if let window { return position - key < window }
            return true
        }
    }
}

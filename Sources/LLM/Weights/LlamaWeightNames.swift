/// The names of a Llama model's tensors in each kind of checkpoint.
public struct LlamaWeightNames: Sendable {
    public var embedding: String
    public var outputNorm: String
    public var output: String
    /// Per layer: attention norm, q, k, v, o, feed-forward norm, gate, up, down.
    public var layer: @Sendable (Int) -> Layer

    public struct Layer: Sendable {
        public var attentionNorm, query, key, value, attentionOutput: String
        public var feedForwardNorm, gate, up, down: String
    }

    /// llama.cpp's GGUF names (`blk.N.attn_q.weight`, …).
    public static let gguf = LlamaWeightNames(
        embedding: "token_embd.weight", outputNorm: "output_norm.weight", output: "output.weight"
    ) { i in
        Layer(
            attentionNorm: "blk.\(i).attn_norm.weight", query: "blk.\(i).attn_q.weight", key: "blk.\(i).attn_k.weight",
            value: "blk.\(i).attn_v.weight", attentionOutput: "blk.\(i).attn_output.weight",
            feedForwardNorm: "blk.\(i).ffn_norm.weight", gate: "blk.\(i).ffn_gate.weight", up: "blk.\(i).ffn_up.weight",
            down: "blk.\(i).ffn_down.weight")
    }

    /// Hugging Face transformers' names (`model.layers.N.self_attn.q_proj.weight`, …).
    public static let huggingFace = LlamaWeightNames(
        embedding: "model.embed_tokens.weight", outputNorm: "model.norm.weight", output: "lm_head.weight"
    ) { i in
        let p = "model.layers.\(i)."
        return Layer(
            attentionNorm: p + "input_layernorm.weight", query: p + "self_attn.q_proj.weight",
            key: p + "self_attn.k_proj.weight", value: p + "self_attn.v_proj.weight",
            attentionOutput: p + "self_attn.o_proj.weight", feedForwardNorm: p + "post_attention_layernorm.weight",
            gate: p + "mlp.gate_proj.weight", up: p + "mlp.up_proj.weight", down: p + "mlp.down_proj.weight")
    }

    /// Meta's names, as llama2.c uses them (`layers.N.attention.wq.weight`; w1 = gate,
    /// w2 = down, w3 = up).
    public static let meta = LlamaWeightNames(
        embedding: "tok_embeddings.weight", outputNorm: "norm.weight", output: "output.weight"
    ) { i in
        let p = "layers.\(i)."
        return Layer(
            attentionNorm: p + "attention_norm.weight", query: p + "attention.wq.weight", key: p + "attention.wk.weight",
            value: p + "attention.wv.weight", attentionOutput: p + "attention.wo.weight",
            feedForwardNorm: p + "ffn_norm.weight", gate: p + "feed_forward.w1.weight", up: p + "feed_forward.w3.weight",
            down: p + "feed_forward.w2.weight")
    }

    public init(embedding: String, outputNorm: String, output: String, layer: @escaping @Sendable (Int) -> Layer) {
        self.embedding = embedding
        self.outputNorm = outputNorm
        self.output = output
        self.layer = layer
    }
}

import Tokenizers

/// What every fuzz target that builds a tokenizer does with it: a short encode and
/// decode, and a chat prompt whose messages spell special tokens in every template.
public func exercise(_ tokenizer: any Tokenizer) {
    _ = try? tokenizer.decode(tokenizer.encode("Hello world, <s>héllo\n  ✓"))
    for template in ChatTemplate.allCases {
        _ = template.encode([.system("Be <s> brief"), .user("hi</s><|im_end|>\n<start_of_turn>model")], with: tokenizer)
    }
}

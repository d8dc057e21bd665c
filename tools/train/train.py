#!/usr/bin/env python3
"""
BitNet b1.58 quantization-aware training of the bundled KJV model (architecture `bitnet-b1.58`,
exactly the graph packages/bitnet-inference/src/forward/ForwardPass.ts runs).

    /usr/bin/python3 tools/train/kjv_data.py --out /tmp/kjv-train
    nice -n 19 /usr/bin/python3 tools/train/train.py --data /tmp/kjv-train --out /tmp/kjv-run \
        --steps 1800 --time-budget 4800 --threads 1 > /tmp/kjv-run.log 2>&1 &
    (tools/train/retrain.sh holds the exact options of the shipped model.)
    # then export (TypeScript, the project's GGUF writer):
    npx tsc -p tools/tsconfig.json && node tools/dist/train/export-gguf.js --run /tmp/kjv-run --quant i2_s --out M.gguf

Graph per layer (pre-norm, RMSNorm eps 1e-5, NEOX RoPE, GQA, ReLU² FFN, sub-norms, tied output):
    n = attn_norm(x); q,k,v = BitLinear(n); a = Attn(RoPE(q), RoPE(k), v)
    x = x + W_o · attn_sub_norm(a)
    m = ffn_norm(x);  h = relu(W_gate·m)² ⊙ (W_up·m)
    x = x + W_down · ffn_sub_norm(h)
    logits = token_embd · output_norm(x)
BitLinear (QAT, straight-through estimator for both quantizers):
    weights: γ = mean|W| (per tensor), W_q = clamp(round(W/γ), -1, 1) · γ
    activations: per token s = 127 / max(|x|, 1e-5), x_q = clamp(round(x·s), -128, 127) / s

Evaluation (`ExactModel`, `perplexity_exact`) replays the engine's arithmetic on the exported weights: ternary codes
and f32 γ exactly as written to I2_S, f16 token embedding, f32 RMSNorm, int8 per-token activations
with ties-to-even rounding, integer dot products, K/V/Q and softmax weights rounded to f16, the final
normed state rounded to f16 before the F16 output matrix. Perplexity scheme (shared with the engine's
bitnet-perplexity): the text's tokens (no BOS) are cut into consecutive windows of ctx-1 tokens; each
window is run from an empty cache as [BOS] + window and every token of the window is scored once
(the first from BOS alone). ppl = exp(mean NLL over all scored tokens).
"""
import argparse
import json
import math
import os
import time

import sys


def _threads_from_argv():
    for i, a in enumerate(sys.argv):
        if a == '--threads' and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
        if a.startswith('--threads='):
            return a.split('=', 1)[1]
    return '1'


# OpenBLAS / OpenMP size their pools at load: pin them before torch is imported, or a "1 thread" run
# still uses every core through BLAS.
for _v in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ[_v] = _threads_from_argv()

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MATMULS = ['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down']


def act_quant_ste(x):
    s = 127.0 / x.abs().amax(dim=-1, keepdim=True).clamp(min=1e-5)
    q = (x * s).round().clamp(-128, 127) / s
    return x + (q - x).detach()


def weight_ternary(w):
    """(codes in {-1,0,1} as float, γ) for a weight matrix; γ = mean|W| in f32."""
    g = w.abs().mean().clamp(min=1e-5)
    return (w / g).round().clamp(-1, 1), g


def weight_quant_ste(w):
    c, g = weight_ternary(w)
    return w + (c * g - w).detach()


class BitLinear(nn.Module):
    def __init__(self, cols, rows, std):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(rows, cols) * std)

    def forward(self, x):
        return F.linear(act_quant_ste(x), weight_quant_ste(self.weight))


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(T, head_dim, base):
    half = head_dim // 2
    inv = base ** (-torch.arange(0, half, dtype=torch.float64) * 2 / head_dim)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]
    return torch.cos(ang).float(), torch.sin(ang).float()


def rope_neox(x, cos, sin):
    # x: B, H, T, hd ; pairs (i, i + hd/2)
    half = x.shape[-1] // 2
    x0, x1 = x[..., :half], x[..., half:]
    return torch.cat([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim=-1)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, ff, hd = c['dim'], c['ff'], c['dim'] // c['heads']
        kv = c['kv_heads'] * hd
        std = 0.02
        out_std = 0.02 / math.sqrt(2 * c['layers'])
        self.attn_norm = RMSNorm(d, c['eps'])
        self.attn_q = BitLinear(d, d, std)
        self.attn_k = BitLinear(d, kv, std)
        self.attn_v = BitLinear(d, kv, std)
        self.attn_sub_norm = RMSNorm(d, c['eps'])
        self.attn_output = BitLinear(d, d, out_std)
        self.ffn_norm = RMSNorm(d, c['eps'])
        self.ffn_gate = BitLinear(d, ff, std)
        self.ffn_up = BitLinear(d, ff, std)
        self.ffn_sub_norm = RMSNorm(ff, c['eps'])
        self.ffn_down = BitLinear(ff, d, out_std)
        self.c = c

    def forward(self, x, cos, sin, mask):
        c = self.c
        B, T, D = x.shape
        H, KV = c['heads'], c['kv_heads']
        hd = D // H
        n = self.attn_norm(x)
        q = self.attn_q(n).view(B, T, H, hd).transpose(1, 2)
        k = self.attn_k(n).view(B, T, KV, hd).transpose(1, 2)
        v = self.attn_v(n).view(B, T, KV, hd).transpose(1, 2)
        q = rope_neox(q, cos, sin)
        k = rope_neox(k, cos, sin)
        g = H // KV
        k = k.repeat_interleave(g, dim=1)
        v = v.repeat_interleave(g, dim=1)
        att = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(hd))
        att = att.masked_fill(mask, float('-inf')).softmax(-1)
        a = (att @ v).transpose(1, 2).reshape(B, T, D)
        x = x + self.attn_output(self.attn_sub_norm(a))
        m = self.ffn_norm(x)
        h = F.relu(self.ffn_gate(m)).square() * self.ffn_up(m)
        return x + self.ffn_down(self.ffn_sub_norm(h))


class Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.token_embd = nn.Parameter(torch.randn(c['vocab'], c['dim']) * 0.02)
        self.blocks = nn.ModuleList([Block(c) for _ in range(c['layers'])])
        self.output_norm = RMSNorm(c['dim'], c['eps'])

    def forward(self, ids):
        B, T = ids.shape
        hd = self.c['dim'] // self.c['heads']
        cos, sin = rope_tables(T, hd, self.c['rope_base'])
        mask = torch.ones(T, T, dtype=torch.bool).triu(1)
        x = self.token_embd[ids]
        for b in self.blocks:
            x = b(x, cos, sin, mask)
        return self.output_norm(x) @ self.token_embd.t()


# ---------------------------------------------------------------- exact (engine) evaluation

def f16r(x):
    return x.to(torch.float16).to(torch.float32)


def export_tensors(model):
    """What the GGUF holds: name -> ('f32', array) or ('trits', int8 codes rows×cols, γ f32)."""
    out = {'token_embd.weight': ('f32', model.token_embd.detach().float().numpy().copy()),
           'output_norm.weight': ('f32', model.output_norm.weight.detach().float().numpy().copy())}
    for i, b in enumerate(model.blocks):
        for norm in ['attn_norm', 'attn_sub_norm', 'ffn_norm', 'ffn_sub_norm']:
            out[f'blk.{i}.{norm}.weight'] = ('f32', getattr(b, norm).weight.detach().float().numpy().copy())
        for mm in MATMULS:
            w = getattr(b, mm).weight.detach().float()
            codes, g = weight_ternary(w)
            out[f'blk.{i}.{mm}.weight'] = ('trits', codes.to(torch.int8).numpy().copy(), np.float32(g.item()))
    return out


class ExactModel:
    """The engine's arithmetic on exported tensors (see the module docstring)."""

    def __init__(self, c, tensors):
        self.c = c
        t = tensors
        self.emb = f16r(torch.from_numpy(t['token_embd.weight'][1]))
        self.out_norm = torch.from_numpy(t['output_norm.weight'][1])
        self.layers = []
        for i in range(c['layers']):
            L = {}
            for norm in ['attn_norm', 'attn_sub_norm', 'ffn_norm', 'ffn_sub_norm']:
                L[norm] = torch.from_numpy(t[f'blk.{i}.{norm}.weight'][1])
            for mm in MATMULS:
                _, codes, g = t[f'blk.{i}.{mm}.weight']
                L[mm] = (torch.from_numpy(codes.astype(np.float64)), torch.tensor(g, dtype=torch.float32))
            self.layers.append(L)

    def rms(self, x, w):
        eps = torch.tensor(self.c['eps'], dtype=torch.float32)
        mean = (x.double() * x.double()).mean(-1, keepdim=True).float()  # f32 squares summed in double
        scale = 1.0 / torch.sqrt(mean + eps)
        return (x * scale) * w

    @staticmethod
    def linear(x, wq):
        codes, g = wq
        amax = x.abs().amax(-1, keepdim=True)
        s = (127.0 / amax.clamp(min=1e-5)).float()
        q = torch.round(x * s).clamp(-128, 127)  # torch.round: half to even, like nearest_int
        dot = (q.double() @ codes.t()).float()  # exact integer sums
        return (dot / s) * g

    def rope_f32(self, T):
        """ggml's angles: θ_0 = p, θ_{i+1} = θ_i · f32(base^(-2/hd)), all f32 (see Rope.ts)."""
        hd = self.c['dim'] // self.c['heads']
        half = hd // 2
        s = np.float32(np.float32(self.c['rope_base']) ** np.float32(-2.0 / hd))
        th = np.zeros((T, half), dtype=np.float32)
        for p in range(T):
            t = np.float32(p)
            for i in range(half):
                th[p, i] = t
                t = np.float32(t * s)
        th64 = th.astype(np.float64)
        return torch.from_numpy(np.cos(th64).astype(np.float32)), torch.from_numpy(np.sin(th64).astype(np.float32))

    def logits(self, ids):
        """All positions' logits for one sequence (1-D LongTensor), from an empty cache."""
        c = self.c
        T = ids.shape[0]
        D, H, KV = c['dim'], c['heads'], c['kv_heads']
        hd = D // H
        cos, sin = self.rope_f32(T)
        mask = torch.ones(T, T, dtype=torch.bool).triu(1)
        x = self.emb[ids]
        for L in self.layers:
            n = self.rms(x, L['attn_norm'])
            q = self.linear(n, L['attn_q']).view(T, H, hd).transpose(0, 1)
            k = self.linear(n, L['attn_k']).view(T, KV, hd).transpose(0, 1)
            v = self.linear(n, L['attn_v']).view(T, KV, hd).transpose(0, 1)
            q = f16r(rope_neox(q, cos, sin))
            k = f16r(rope_neox(k, cos, sin))
            v = f16r(v)
            g = H // KV
            k = k.repeat_interleave(g, dim=0)
            v = v.repeat_interleave(g, dim=0)
            sc = (q.double() @ k.double().transpose(-1, -2)).float() * np.float32(1.0 / math.sqrt(hd))
            p = sc.masked_fill(mask, float('-inf')).softmax(-1)
            a = (f16r(p).double() @ v.double()).float().transpose(0, 1).reshape(T, D)
            x = x + self.linear(self.rms(a, L['attn_sub_norm']), L['attn_output'])
            m = self.rms(x, L['ffn_norm'])
            h = F.relu(self.linear(m, L['ffn_gate'])).square() * self.linear(m, L['ffn_up'])
            x = x + self.linear(self.rms(h, L['ffn_sub_norm']), L['ffn_down'])
        n = f16r(self.rms(x, self.out_norm))
        return (n.double() @ self.emb.double().t()).float()


def windows(ids, ctx):
    """Consecutive windows of ctx-1 tokens (the last may be shorter)."""
    step = ctx - 1
    return [ids[i:i + step] for i in range(0, len(ids), step)]


def perplexity_exact(exact, ids, ctx, bos, max_windows=None):
    nll, n = 0.0, 0
    for wi, w in enumerate(windows(ids, ctx)):
        if max_windows is not None and wi >= max_windows:
            break
        seq = torch.tensor([bos] + list(w[:-1]), dtype=torch.long)
        lp = exact.logits(seq).double().log_softmax(-1)
        tgt = torch.tensor(list(w), dtype=torch.long)
        nll -= lp[torch.arange(len(w)), tgt].sum().item()
        n += len(w)
    return math.exp(nll / n), n


@torch.no_grad()
def perplexity_qat(model, ids, ctx, bos, max_windows=None):
    """The training graph's own (float, fake-quantized) perplexity with the same window scheme."""
    nll, n = 0.0, 0
    for wi, w in enumerate(windows(ids, ctx)):
        if max_windows is not None and wi >= max_windows:
            break
        seq = torch.tensor([[bos] + list(w[:-1])], dtype=torch.long)
        lp = model(seq)[0].double().log_softmax(-1)
        nll -= lp[torch.arange(len(w)), torch.tensor(list(w))].sum().item()
        n += len(w)
    return math.exp(nll / n), n


def save_export(run_dir, c, tensors, info):
    """export.bin (tensors back to back) + export.json (config, tensor index, training and eval info)."""
    index = []
    off = 0
    with open(os.path.join(run_dir, 'export.bin'), 'wb') as f:
        for name, t in tensors.items():
            if t[0] == 'f32':
                a = np.ascontiguousarray(t[1], dtype='<f4')
                entry = {'name': name, 'kind': 'f32', 'shape': list(a.shape)}
            else:
                a = np.ascontiguousarray(t[1], dtype=np.int8)
                entry = {'name': name, 'kind': 'trits', 'shape': list(a.shape), 'scale': float(t[2])}
            b = a.tobytes()
            entry['offset'] = off
            entry['bytes'] = len(b)
            f.write(b)
            off += len(b)
            index.append(entry)
    with open(os.path.join(run_dir, 'export.json'), 'w') as f:
        json.dump({'config': c, 'tensors': index, **info}, f, indent=1)


def lr_at(step, progress, peak, warmup):
    """Linear warmup over `warmup` steps, then cosine from peak to peak/10 as progress goes 0 -> 1."""
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--dim', type=int, default=256)
    ap.add_argument('--ff', type=int, default=768)
    ap.add_argument('--layers', type=int, default=4)
    ap.add_argument('--heads', type=int, default=4)
    ap.add_argument('--kv-heads', type=int, default=2)
    ap.add_argument('--ctx', type=int, default=256)
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--steps', type=int, default=3000)
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--warmup', type=int, default=150)
    ap.add_argument('--wd', type=float, default=0.05)
    ap.add_argument('--seed', type=int, default=1234)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--eval-every', type=int, default=250)
    ap.add_argument('--ckpt-every', type=int, default=250)
    ap.add_argument('--test-windows', type=int, default=8, help='windows of the held-out prefix the engine test evaluates')
    ap.add_argument('--time-budget', type=float, default=0,
                    help='seconds of training; the cosine schedule follows max(step/steps, elapsed/budget) and training '
                         'stops at whichever end comes first, so a slow or shared machine still finishes its schedule')
    ap.add_argument('--replay-lr', default='', help='export.json of an earlier run: repeat its exact per-step learning rates '
                    '(and step count), reproducing a time-budgeted run bit for bit')
    ap.add_argument('--bench', type=int, default=0, help='only time N steps and exit')
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)
    tok = json.load(open(os.path.join(args.data, 'tokenizer.json')))
    train_ids = np.load(os.path.join(args.data, 'train.ids.npy')).astype(np.int64)
    held_ids = np.load(os.path.join(args.data, 'heldout.ids.npy')).astype(np.int64).tolist()
    bos = tok['bos_token_id']
    c = {'dim': args.dim, 'ff': args.ff, 'layers': args.layers, 'heads': args.heads, 'kv_heads': args.kv_heads,
         'vocab': len(tok['tokens']), 'ctx': args.ctx, 'rope_base': 10000.0, 'eps': 1e-5}
    model = Model(c)
    n_params = sum(p.numel() for p in model.parameters())
    n_ternary = sum(getattr(b, mm).weight.numel() for b in model.blocks for mm in MATMULS)
    print(f'config {c}; {n_params} parameters ({n_ternary} ternary); {len(train_ids)} training tokens', flush=True)

    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and n != 'token_embd']
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() == 2 and n != 'token_embd')]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': args.wd}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    ckpt_path = os.path.join(args.out, 'checkpoint.pt')
    replay = json.load(open(args.replay_lr))['training']['lr_per_step'] if args.replay_lr else None
    if replay:
        args.steps = len(replay)
        args.time_budget = 0
    lrs = []
    step = 0
    elapsed_before = 0.0
    if os.path.exists(ckpt_path) and not args.bench:
        ck = torch.load(ckpt_path)
        model.load_state_dict(ck['model'])
        opt.load_state_dict(ck['opt'])
        step = ck['step']
        lrs = ck.get('lrs', [])
        elapsed_before = ck['elapsed']
        rng.bit_generator.state = ck['rng']
        torch.set_rng_state(ck['torch_rng'])
        print(f'resumed at step {step}', flush=True)

    T = args.ctx
    n_windows = len(train_ids) - (T - 1)

    def save_ckpt():
        torch.save({'model': model.state_dict(), 'opt': opt.state_dict(), 'step': step, 'elapsed': elapsed,
                    'rng': rng.bit_generator.state, 'torch_rng': torch.get_rng_state(), 'config': c, 'lrs': lrs}, ckpt_path + '.tmp')
        os.replace(ckpt_path + '.tmp', ckpt_path)

    t0 = time.time()
    elapsed = elapsed_before
    losses = []
    steps_total = args.bench or args.steps
    while step < steps_total:
        if replay:
            lr = replay[step]
        else:
            progress = (step - args.warmup) / max(1, args.steps - args.warmup)
            if args.time_budget:
                progress = max(progress, elapsed / args.time_budget)
            lr = lr_at(step, progress, args.lr, args.warmup)
        lrs.append(lr)
        for g in opt.param_groups:
            g['lr'] = lr
        starts = rng.integers(0, n_windows, size=args.batch)
        tgt = np.stack([train_ids[s:s + T] for s in starts])
        inp = np.concatenate([np.full((args.batch, 1), bos), tgt[:, :-1]], axis=1)
        logits = model(torch.from_numpy(inp))
        loss = F.cross_entropy(logits.reshape(-1, c['vocab']), torch.from_numpy(tgt).reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        losses.append(loss.item())
        elapsed = elapsed_before + time.time() - t0
        if args.bench:
            print(f'step {step} loss {loss.item():.3f} {elapsed / step:.2f} s/step', flush=True)
            continue
        if step % 25 == 0:
            print(f'step {step}/{args.steps} loss {np.mean(losses[-25:]):.4f} lr {lr:.2e} elapsed {elapsed:.0f}s', flush=True)
        if step % args.eval_every == 0 or step == args.steps:
            model.eval()
            ppl, _ = perplexity_qat(model, held_ids, T, bos, max_windows=args.test_windows)
            model.train()
            print(f'eval step {step}: held-out (first {args.test_windows} windows) QAT ppl {ppl:.3f}', flush=True)
        if step % args.ckpt_every == 0 or step == args.steps:
            save_ckpt()
        if args.time_budget and elapsed >= args.time_budget and step >= args.warmup:
            print(f'time budget reached at step {step}', flush=True)
            save_ckpt()
            break
    if args.bench:
        return

    model.eval()
    tensors = export_tensors(model)
    exact = ExactModel(c, tensors)
    t1 = time.time()
    ppl_test, n_test = perplexity_exact(exact, held_ids, T, bos, max_windows=args.test_windows)
    ppl_full, n_full = perplexity_exact(exact, held_ids, T, bos)
    ppl_qat, _ = perplexity_qat(model, held_ids, T, bos)
    print(f'exact held-out ppl: first {args.test_windows} windows ({n_test} tokens) {ppl_test:.4f}; '
          f'all ({n_full} tokens) {ppl_full:.4f}; QAT graph all {ppl_qat:.4f} ({time.time() - t1:.0f}s)', flush=True)
    # greedy continuation of the README prompt, with the exact arithmetic (for the log)
    prompt = [bos] + [int(i) for i in _encode(args.data, 'And God said')]
    ids = list(prompt)
    for _ in range(48):
        ids.append(int(exact.logits(torch.tensor(ids))[-1].argmax()))
    words = ''.join(tok['tokens'][i] for i in ids[1:])
    print('greedy: ' + _decode_bytes(words), flush=True)
    info = {
        'training': {
            'steps': step, 'planned_steps': args.steps, 'batch': args.batch, 'ctx': T, 'tokens_seen': step * args.batch * T,
            'train_tokens': int(len(train_ids)), 'seed': args.seed, 'lr': args.lr, 'warmup': args.warmup, 'weight_decay': args.wd,
            'threads': args.threads, 'seconds': round(elapsed, 1), 'parameters': n_params, 'ternary_parameters': n_ternary,
            'final_train_loss': float(np.mean(losses[-50:])) if losses else None,
            'time_budget': args.time_budget, 'lr_per_step': lrs,
            'split': 'train: Genesis 1:1 .. 3 John 1:14 (30,673 verses); held out: Jude 1:1 .. Revelation 22:21 (429 verses), never trained on',
        },
        'eval': {
            'scheme': 'tokens of the text (no BOS) in consecutive windows of ctx-1; each window run as [BOS]+window from an empty cache; every token scored once',
            'window_tokens': T - 1,
            'heldout_tokens': n_full, 'heldout_ppl': ppl_full,
            'test_windows': args.test_windows, 'test_tokens': n_test, 'test_ppl': ppl_test,
            'heldout_ppl_qat_graph': ppl_qat,
        },
    }
    save_export(args.out, c, tensors, info)
    print(f'wrote {args.out}/export.json and export.bin', flush=True)


def _encode(data_dir, text):
    import importlib.util
    spec = importlib.util.spec_from_file_location('kjv_data', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'kjv_data.py'))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    tok = json.load(open(os.path.join(data_dir, 'tokenizer.json')))
    merges = [tuple(s.split(' ', 1)) for s in tok['merges']]
    return m.Bpe(tok['tokens'], merges).encode(text)


def _decode_bytes(s):
    import importlib.util
    spec = importlib.util.spec_from_file_location('kjv_data', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'kjv_data.py'))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    inv = {v: k for k, v in m.BYTE_CHAR.items()}
    return bytes(inv[ch] for ch in s).decode('utf-8', errors='replace')


if __name__ == '__main__':
    main()
